"""The loss plot's data side: append-only buffers (step, training time, value, EMA-smoothed
value), stable colours per metric key and per compared run, and plain-number axes."""
from __future__ import annotations

import math
import zlib

import numpy as np
import pyqtgraph as pg

from imgen_desktop.ui.theme import colors

# a fixed palette slot per known loss key (keys that appear together differ); others: a hash
# the validation curves share the last slot (no training term uses it), the training side dashed
COLOUR_SLOTS = {"loss.d": 0, "loss.g": 1, "loss.l1": 2, "loss.kl": 3, "loss.gp": 3, "loss.recon": 4, "loss.adv": 4,
                "loss.total": 5, "loss.pixel": 6, "loss.pixel_first": 1, "loss.l2": 6, "loss.mse": 6,
                "val.loss": 7, "val.train": 7}
CURVE_STYLES = {"val.train": "dash"}  # live-run curves drawn other than solid
CURVE_WIDTHS = {"val.loss": 2.5, "val.train": 2.0}  # the validation pair stands out from the terms


def colour_index(key: str, n: int) -> int:
    """A stable palette slot for a metric key: the same colour live, resumed, in every run."""
    if key in COLOUR_SLOTS:
        return COLOUR_SLOTS[key] % n
    return zlib.crc32(key.encode("utf-8")) % n


def curve_colour(key: str) -> str:
    palette = colors().curves
    return palette[colour_index(key, len(palette))]


def run_colour(slot: int) -> str:
    """The colour of compared run number ``slot`` (all its curves share it; dashes tell metrics apart)."""
    palette = colors().curves
    return palette[slot % len(palette)]


class PlainAxis(pg.AxisItem):
    """Tick labels as plain numbers, also on a log axis (0.05, 1, 40 rather than 4·10¹)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.enableAutoSIPrefix(False)

    def logTickStrings(self, values, scale, spacing):  # noqa: N802 (pyqtgraph API)
        return [f"{10 ** v:.3g}" if math.isfinite(v) and abs(v) < 300 else "" for v in values]


class Series:
    """Append-only (step, time, value) buffers that double when full, plus an EMA-smoothed copy."""

    def __init__(self, capacity: int = 1024) -> None:
        self.x = np.empty(capacity, dtype=np.float64)
        self.t = np.empty(capacity, dtype=np.float64)  # active training seconds (NaN: unknown)
        self.y = np.empty(capacity, dtype=np.float64)
        self.smooth = np.empty(capacity, dtype=np.float64)
        self.n = 0
        self._ema = 0.0
        self._ema_weight = 0.0  # for the bias correction of the first points

    @classmethod
    def from_arrays(cls, steps, times, values, alpha: float) -> "Series":
        """A full series at once (a past run's curve read by ``core.runs.read_curves``)."""
        n = len(steps)
        s = cls(max(1, n))
        s.x[:n] = np.asarray(steps, dtype=np.float64)
        s.t[:n] = np.asarray(times, dtype=np.float64) if times is not None else np.nan
        s.y[:n] = np.asarray(values, dtype=np.float64)
        s.n = n
        s.resmooth(alpha)
        return s

    @property
    def capacity(self) -> int:
        return len(self.x)

    def append(self, step: float, value: float, alpha: float, time: float = math.nan) -> None:
        if self.n == self.capacity:
            for name in ("x", "t", "y", "smooth"):
                old = getattr(self, name)
                new = np.empty(2 * len(old), dtype=old.dtype)
                new[: self.n] = old[: self.n]
                setattr(self, name, new)
        self.x[self.n] = step
        self.t[self.n] = time
        self.y[self.n] = value
        self.smooth[self.n] = self._smoothed(value, alpha)
        self.n += 1

    def xs(self, mode: str) -> np.ndarray:
        """The x values for ``mode`` ("step" or "time")."""
        return self.t[: self.n] if mode == "time" else self.x[: self.n]

    def _smoothed(self, value: float, alpha: float) -> float:
        if not math.isfinite(value):
            return value
        self._ema = alpha * self._ema + (1.0 - alpha) * value
        self._ema_weight = alpha * self._ema_weight + (1.0 - alpha)
        return self._ema / self._ema_weight if self._ema_weight > 0 else value

    def resmooth(self, alpha: float) -> None:
        self._ema = self._ema_weight = 0.0
        for i in range(self.n):
            self.smooth[i] = self._smoothed(float(self.y[i]), alpha)


def nice_ceiling(value: float) -> float:
    """The smallest of 1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8 (times a power of ten) that is >= ``value``."""
    if value <= 0:
        return 1.0
    power = 10.0 ** math.floor(math.log10(value))
    for m in (1.0, 1.2, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0):
        if m * power >= value * (1 - 1e-12):
            return m * power
    return 10.0 * power
