"""Live loss curves: one pyqtgraph curve per loss term, fed from buffers on a UI timer.

Training can report hundreds of steps a second; redrawing on each would stall the window.
So :meth:`LossPlot.add_point` only appends into preallocated numpy buffers (doubling when
full) and a ~25 Hz ``QTimer`` calls ``setData`` on the curves that changed (STYLE.md).

Redrawing the curves is cheap; regenerating the axes (tick layout, labels, grid) is what costs,
about 4 ms per axis in Python on every range change. pyqtgraph's auto-range changes both ranges
on every new point (x grows each step), so instead the plot *follows* the data itself: x ends
at the next round number past the last step (so it changes some ten times a decade), and y
only re-ranges when a point leaves it or the data fills less than half of it. Panning or
zooming by hand stops the following; the plot's "A" button (or :meth:`follow_data`) resumes it.
"""
from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import QCheckBox, QGraphicsItem, QHBoxLayout, QLabel, QSlider, QWidget

# distinguishable on dark and light backgrounds
_COLOURS = ("#4e9cff", "#ff7f3f", "#3fcf7f", "#e0508f", "#c9b23a", "#9a7bff", "#3fc9d0", "#b0b0b0")


class _Series:
    """Append-only (step, value) buffers that double when full, plus an EMA-smoothed copy."""

    def __init__(self, capacity: int = 1024) -> None:
        self.x = np.empty(capacity, dtype=np.float64)
        self.y = np.empty(capacity, dtype=np.float64)
        self.smooth = np.empty(capacity, dtype=np.float64)
        self.n = 0
        self._ema = 0.0
        self._ema_weight = 0.0  # for the bias correction of the first points

    @property
    def capacity(self) -> int:
        return len(self.x)

    def append(self, step: float, value: float, alpha: float) -> None:
        if self.n == self.capacity:
            for name in ("x", "y", "smooth"):
                old = getattr(self, name)
                new = np.empty(2 * len(old), dtype=old.dtype)
                new[: self.n] = old[: self.n]
                setattr(self, name, new)
        self.x[self.n] = step
        self.y[self.n] = value
        self.smooth[self.n] = self._smoothed(value, alpha)
        self.n += 1

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


class LossPlot(pg.PlotWidget):
    """The ``lossPlot``: x = step, one curve per ``loss.*`` metric, legend, EMA smoothing, log y."""

    sigCurveAdded = Signal(str)
    REFRESH_MS = 40  # ~25 Hz

    def __init__(self, parent: QWidget | None = None, prefixes: tuple[str, ...] = ("loss.",)) -> None:
        super().__init__(parent)
        self.setObjectName("lossPlot")
        self.prefixes = prefixes
        self.series: dict[str, _Series] = {}
        self.curves: dict[str, pg.PlotDataItem] = {}
        self._dirty: set[str] = set()
        self._smoothing = 0.0  # EMA factor in [0, 1); 0 = raw values
        self.setAntialiasing(False)
        self.setBackground(None)
        item = self.getPlotItem()
        item.showGrid(x=True, y=True, alpha=0.2)
        # The axes draw the grid, so each spans the whole plot and repaints with every curve
        # update; replaying their QPicture cost ~5 ms each time. Cached as pixmaps, they are
        # redrawn only when their range or size changes.
        for name in ("left", "bottom"):
            item.getAxis(name).setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        item.setLabel("bottom", "step")
        item.setLabel("left", "loss")
        item.setClipToView(True)
        item.setDownsampling(auto=True, mode="peak")
        self._following = True
        item.getViewBox().disableAutoRange()
        item.getViewBox().sigRangeChangedManually.connect(self._on_range_changed_by_hand)
        item.autoBtn.clicked.connect(self.follow_data)  # after pyqtgraph's own handler: ours wins
        self.legend = item.addLegend(offset=(-10, 10), brush=pg.mkBrush(30, 30, 34, 170))
        self._placeholder = pg.TextItem("Loss curves appear here when training starts", anchor=(0.5, 0.5), color="#888")
        self.addItem(self._placeholder)
        self._placeholder.setPos(0.5, 0.5)
        self.timer = QTimer(self)
        self.timer.setInterval(self.REFRESH_MS)
        self.timer.timeout.connect(self._on_refresh_timer)
        self.timer.start()

    # --- data in --------------------------------------------------------------------------
    def wants(self, key: str) -> bool:
        return any(key.startswith(p) for p in self.prefixes)

    def add_point(self, step: int, values: dict) -> None:
        """Buffer one step's metrics (cheap; drawing happens on the timer)."""
        for key, value in values.items():
            if not self.wants(key):
                continue
            try:
                value = float(value)
            except (TypeError, ValueError):
                continue
            series = self.series.get(key)
            if series is None:
                series = self._add_curve(key)
            series.append(float(step), value, self._smoothing)
            self._dirty.add(key)

    def load_history(self, records: list[dict]) -> None:
        """Replace the curves with a run's history (``core.trainer.load_metrics`` output)."""
        self.reset()
        for rec in records:
            if "step" in rec:
                self.add_point(int(rec["step"]), rec)
        self.flush()

    def reset(self) -> None:
        for curve in self.curves.values():
            self.legend.removeItem(curve)
            self.removeItem(curve)
        self.series.clear()
        self.curves.clear()
        self._dirty.clear()
        self._following = True
        if self._placeholder.scene() is None:
            self.addItem(self._placeholder)

    def _add_curve(self, key: str) -> _Series:
        series = _Series()
        self.series[key] = series
        colour = _COLOURS[(len(self.curves)) % len(_COLOURS)]
        label = key.split(".", 1)[1] if "." in key else key
        curve = self.plot([], [], pen=pg.mkPen(colour, width=1.5), name=label)
        curve.setClipToView(True)
        curve.setDownsampling(auto=True, method="peak")
        self.curves[key] = curve
        if self._placeholder.scene() is not None:
            self.removeItem(self._placeholder)
        self.sigCurveAdded.emit(key)
        return series

    # --- display ------------------------------------------------------------------------------
    def _on_refresh_timer(self) -> None:
        if self._dirty:
            self.flush()

    def flush(self) -> None:
        """Push buffered points to the curves now (the timer does this ~25 times a second)."""
        for key in self._dirty:
            series = self.series[key]
            y = series.smooth if self._smoothing > 0 else series.y
            # views into the buffers: setData copies what it needs
            self.curves[key].setData(series.x[: series.n], y[: series.n])
        self._dirty.clear()
        if self._following:
            self._follow()

    # --- ranges ----------------------------------------------------------------------------------
    @property
    def following(self) -> bool:
        """True while the view follows the data (until the user pans or zooms)."""
        return self._following

    def follow_data(self, *_args) -> None:
        """Follow the data again (the "A" button does this)."""
        self._following = True
        self.getPlotItem().getViewBox().disableAutoRange()
        self._follow(force=True)

    def _on_range_changed_by_hand(self, *_args) -> None:
        self._following = False

    def _data_bounds(self) -> tuple[float, float, float] | None:
        """(last step, lowest, highest) of the displayed values; in log10 when the y axis is logarithmic."""
        log = self.is_log_scale()
        x_max, lo, hi = -math.inf, math.inf, -math.inf
        for series in self.series.values():
            if series.n == 0:
                continue
            x_max = max(x_max, float(series.x[series.n - 1]))
            y = (series.smooth if self._smoothing > 0 else series.y)[: series.n]
            y = y[np.isfinite(y)]
            if log:
                y = np.log10(y[y > 0])
            if len(y):
                lo, hi = min(lo, float(y.min())), max(hi, float(y.max()))
        if not math.isfinite(x_max) or not math.isfinite(lo):
            return None
        return x_max, lo, hi

    def _follow(self, force: bool = False) -> None:
        bounds = self._data_bounds()
        if bounds is None:
            return
        x_max, lo, hi = bounds
        vb = self.getPlotItem().getViewBox()
        (x0, x1), (y0, y1) = vb.viewRange()
        x_end = nice_ceiling(max(x_max, 1.0) * 1.02)
        new_x = None if (x1 == x_end and x0 == 0.0 and not force) else (0.0, x_end)
        new_y = None
        span = hi - lo
        if force or lo < y0 or hi > y1 or span < 0.5 * (y1 - y0):
            pad = span * 0.1 if span > 0 else max(abs(hi) * 0.1, 1e-3)
            # room on the side the curve is heading: losses mostly fall
            new_y = (lo - 2.5 * pad if lo < y0 else lo - pad, hi + 2.5 * pad if hi > y1 else hi + pad)
        if new_x is not None or new_y is not None:
            vb.setRange(xRange=new_x, yRange=new_y, padding=0.0, update=True)

    def set_smoothing(self, alpha: float) -> None:
        """EMA smoothing factor in [0, 0.999]; 0 shows raw values."""
        alpha = min(max(float(alpha), 0.0), 0.999)
        if alpha == self._smoothing:
            return
        self._smoothing = alpha
        for key, series in self.series.items():
            series.resmooth(alpha)
            self._dirty.add(key)
        self.flush()

    @property
    def smoothing(self) -> float:
        return self._smoothing

    def set_log_scale(self, on: bool) -> None:
        self.getPlotItem().setLogMode(x=False, y=bool(on))
        if self._following:
            self._follow(force=True)

    def is_log_scale(self) -> bool:
        return bool(self.getPlotItem().ctrl.logYCheck.isChecked())

    def point_count(self, key: str) -> int:
        series = self.series.get(key)
        return series.n if series else 0

    def make_controls(self, parent: QWidget | None = None) -> QWidget:
        """A small row with the smoothing slider and the log-scale toggle for this plot."""
        box = QWidget(parent)
        box.setObjectName("lossPlotControls")
        row = QHBoxLayout(box)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(QLabel("Smoothing", box))
        slider = QSlider(box)
        slider.setObjectName("smoothingSlider")
        slider.setOrientation(pg.QtCore.Qt.Orientation.Horizontal)
        slider.setRange(0, 99)
        slider.setValue(int(round(self._smoothing * 100)))
        slider.setMaximumWidth(140)
        slider.setToolTip("Exponential moving average of the curves (0 = raw values). Raw values are kept.")
        slider.valueChanged.connect(lambda v: self.set_smoothing(v / 100.0))
        row.addWidget(slider)
        log = QCheckBox("Log scale", box)
        log.setObjectName("logScaleCheck")
        log.setToolTip("Logarithmic y axis (useful when losses span orders of magnitude)")
        log.toggled.connect(self.set_log_scale)
        row.addWidget(log)
        row.addStretch(1)
        box.smoothing_slider = slider
        box.log_check = log
        return box
