"""The Train tab: small views over plain state objects (see ``state.py``)."""
from imgen_desktop.ui.train.panel import TrainPanel

__all__ = ["TrainPanel"]
