"""One vocabulary of tasks and model families, read by config, presets, enhance, the CLI and the UI.

Adding a task or a family means teaching the engine about it and adding one line here; every
label, verb, output-name tag and capability the rest of the code shows comes from these tables.
Pure Python: importing this module imports neither torch nor Qt.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Task:
    name: str  # the id used in configs, metadata and the CLI
    label: str  # what a user reads ("Upscale")
    verb: str  # what the app is doing ("Upscaling")
    tag: str  # output-name suffix ("denoised"); upscale uses "x{scale}"
    needs_mask: bool = False
    has_scale: bool = False
    enhances: bool = True  # False for generate: it makes new images rather than fixing a photo
    trainable: bool = True  # False for tasks only imported (community) models do
    description: str = ""

    def output_tag(self, scale: int = 1) -> str:
        return f"x{int(scale)}" if self.has_scale else self.tag

    def title(self, scale: int = 1) -> str:
        """Short label with the scale where it matters: "Upscale ×2", "Denoise"."""
        return f"{self.label} \u00d7{int(scale)}" if self.has_scale else self.label

    def cli_title(self, scale: int = 1) -> str:
        """ASCII form for terminals: "upscale x2", "denoise"."""
        return f"{self.name} x{int(scale)}" if self.has_scale else self.name


@dataclass(frozen=True)
class Family:
    name: str
    label: str
    description: str = ""


TASK_LIST: tuple[Task, ...] = (
    Task("generate", "Generate", "Generating", "generated", enhances=False,
         description="new images like the training pictures"),
    Task("upscale", "Upscale", "Upscaling", "x", has_scale=True,
         description="enlarge a photo 2x or 4x"),
    Task("denoise", "Denoise", "Denoising", "denoised",
         description="remove noise and grain"),
    Task("inpaint", "Inpaint", "Inpainting", "inpainted", needs_mask=True,
         description="fill a painted area"),
    Task("faces", "Restore faces", "Restoring faces", "faces", trainable=False,
         description="restore faces in a portrait (imported face-restoration models)"),
)

FAMILY_LIST: tuple[Family, ...] = (
    Family("gan", "GAN", "generator and discriminator trained against each other"),
    Family("vae", "VAE", "variational autoencoder"),
    Family("rnn", "RNN", "recurrent model (DRAW canvas / recurrent refinement)"),
)

SCALES: tuple[int, ...] = (2, 4)

TASKS_BY_NAME: dict[str, Task] = {t.name: t for t in TASK_LIST}
FAMILIES_BY_NAME: dict[str, Family] = {f.name: f for f in FAMILY_LIST}
TASKS: tuple[str, ...] = tuple(TASKS_BY_NAME)
FAMILIES: tuple[str, ...] = tuple(FAMILIES_BY_NAME)
ENHANCE_TASKS: tuple[str, ...] = tuple(t.name for t in TASK_LIST if t.enhances)
TRAIN_TASKS: tuple[str, ...] = tuple(t.name for t in TASK_LIST if t.trainable)


def task(name: str) -> Task:
    """The Task called ``name``; an unknown name raises KeyError with the valid ones."""
    try:
        return TASKS_BY_NAME[name]
    except KeyError:
        raise KeyError(f"unknown task {name!r}; choose one of {', '.join(TASKS)}") from None


def family(name: str) -> Family:
    try:
        return FAMILIES_BY_NAME[name]
    except KeyError:
        raise KeyError(f"unknown family {name!r}; choose one of {', '.join(FAMILIES)}") from None


def task_title(name: str, scale: int = 1) -> str:
    t = TASKS_BY_NAME.get(name)
    return t.title(scale) if t else str(name)


def task_cli_title(name: str, scale: int = 1) -> str:
    t = TASKS_BY_NAME.get(name)
    return t.cli_title(scale) if t else str(name)


def output_tag(name: str, scale: int = 1) -> str:
    t = TASKS_BY_NAME.get(name)
    return t.output_tag(scale) if t else "enhanced"
