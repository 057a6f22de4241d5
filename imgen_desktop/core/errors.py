"""User-facing errors: each carries one clear sentence that the CLI prints and the GUI shows."""


class ImgenError(Exception):
    """A failure the user can understand and act on (bad input, missing model, ...)."""


class ImageError(ImgenError):
    """An image could not be read or written."""


class ModelError(ImgenError):
    """A model file is missing, corrupt, foreign or incompatible."""


class DatasetError(ImgenError):
    """A dataset is missing, empty or unreadable."""


class TrainingError(ImgenError):
    """Training could not continue (non-finite loss, out of memory, ...)."""


class Cancelled(ImgenError):
    """The user cancelled a long operation."""
