"""Plain-data events the engine emits while training or enhancing.

The CLI prints them; the GUI worker re-emits them as Qt signals. They carry only plain Python
values and uint8 numpy arrays, never tensors, so they can cross threads safely.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Union

import numpy as np


@dataclass(frozen=True)
class Progress:
    step: int
    total: int
    elapsed_s: float
    eta_s: float | None
    images_per_s: float


@dataclass(frozen=True)
class Metrics:
    """Scalar values at a step, e.g. ``{"loss.g": 1.2, "loss.d": 0.6, "health.diversity": 0.9}``."""

    step: int
    values: dict[str, float]


@dataclass(frozen=True)
class Samples:
    """Images to show: ``images`` is uint8 (N, H, W, C) with C in {1, 3}.

    ``kind`` is what they are: "samples", "reconstructions", "canvas" (RNN build-up),
    "enhanced" (degraded | output | target triplets for enhancement tasks).
    """

    step: int
    images: np.ndarray
    kind: str = "samples"
    columns: int = 0  # preferred grid width; 0 = square-ish


@dataclass(frozen=True)
class CheckpointSaved:
    step: int
    path: str


@dataclass(frozen=True)
class Log:
    message: str
    level: str = "info"  # info | warning | error


@dataclass(frozen=True)
class Health:
    """A diagnostic changed state (ok / warn / bad)."""

    step: int
    key: str
    state: str
    value: float
    explanation: str
    remedies: tuple[str, ...] = ()


@dataclass(frozen=True)
class Finished:
    step: int
    model_name: str
    model_path: str
    run_dir: str
    stopped_early: bool = False
    summary: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Failed:
    step: int
    message: str
    run_dir: str = ""


Event = Union[Progress, Metrics, Samples, CheckpointSaved, Log, Health, Finished, Failed]
EventCallback = Callable[[Event], None]
