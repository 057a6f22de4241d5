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

Curves are named in words (``core.runs.metric_label``: ``loss.d`` -> "Discriminator") in a
legend above the data area; each key keeps its colour in every run (a function of the key, not
of the order curves appeared); smoothing draws the raw values faintly under the smoothed curve;
axes show plain numbers (no SI prefix, no 10^x on the log axis); colours follow the theme live.
"""
from __future__ import annotations

import math
import zlib

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QTimer, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QCheckBox, QGraphicsItem, QHBoxLayout, QLabel, QSlider, QWidget

from imgen_desktop.core.runs import metric_label
from imgen_desktop.ui.theme import colors, theme_notifier

# a fixed palette slot per known loss key (keys that appear together differ); others: a hash
COLOUR_SLOTS = {"loss.d": 0, "loss.g": 1, "loss.l1": 2, "loss.kl": 3, "loss.gp": 3, "loss.recon": 4, "loss.adv": 4,
                "loss.total": 5, "loss.pixel": 6, "loss.pixel_first": 7, "loss.l2": 6, "loss.mse": 6}


def colour_index(key: str, n: int) -> int:
    """A stable palette slot for a metric key: the same colour live, resumed, in every run."""
    if key in COLOUR_SLOTS:
        return COLOUR_SLOTS[key] % n
    return zlib.crc32(key.encode("utf-8")) % n


def curve_colour(key: str) -> str:
    palette = colors().curves
    return palette[colour_index(key, len(palette))]


class PlainAxis(pg.AxisItem):
    """Tick labels as plain numbers, also on a log axis (0.05, 1, 40 rather than 4·10¹)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.enableAutoSIPrefix(False)

    def logTickStrings(self, values, scale, spacing):  # noqa: N802 (pyqtgraph API)
        return [f"{10 ** v:.3g}" if math.isfinite(v) and abs(v) < 300 else "" for v in values]


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
        super().__init__(parent, axisItems={"left": PlainAxis("left"), "bottom": PlainAxis("bottom")})
        self.setObjectName("lossPlot")
        self.prefixes = prefixes
        self.series: dict[str, _Series] = {}
        self.curves: dict[str, pg.PlotDataItem] = {}
        self.raw_curves: dict[str, pg.PlotDataItem] = {}  # faint raw values under a smoothed curve
        self._dirty: set[str] = set()
        self._smoothing = 0.0  # EMA factor in [0, 1); 0 = raw values
        self.setAntialiasing(False)
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
        # the legend sits in the plot's title row, above the data: curves never run under it
        self.legend = pg.LegendItem(offset=None, colCount=3, horSpacing=12, verSpacing=-6)
        item.layout.removeItem(item.titleLabel)
        item.titleLabel.setVisible(False)
        item.layout.addItem(self.legend, 0, 1)
        self._placeholder = pg.TextItem("Loss curves appear here when training starts", anchor=(0.5, 0.5))
        self.addItem(self._placeholder)
        self._placeholder.setPos(0.5, 0.5)
        theme_notifier().sigThemeChanged.connect(self._on_theme_changed)
        self._on_theme_changed("")
        self.timer = QTimer(self)
        self.timer.setInterval(self.REFRESH_MS)
        self.timer.timeout.connect(self._on_refresh_timer)
        self.timer.start()

    def _on_theme_changed(self, _theme: str) -> None:
        """Background, axes, legend text and curve colours from the theme now in use."""
        c = colors()
        self.setBackground(c.base)
        item = self.getPlotItem()
        for name in ("left", "bottom"):
            axis = item.getAxis(name)
            axis.setPen(pg.mkPen(c.muted))
            axis.setTextPen(pg.mkPen(c.text))
            axis.label.setDefaultTextColor(QColor(c.text))
            axis.picture = None
            axis.update()
        self.legend.setLabelTextColor(c.text)
        for _sample, label in self.legend.items:
            label.setText(label.text, color=c.text)
        self._placeholder.setColor(c.muted)
        for key in self.curves:
            self._style_curve(key)

    def _style_curve(self, key: str) -> None:
        colour = curve_colour(key)
        self.curves[key].setPen(pg.mkPen(colour, width=1.5))
        faint = QColor(colour)
        faint.setAlpha(70)
        self.raw_curves[key].setPen(pg.mkPen(faint, width=1))

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
        for curve in self.raw_curves.values():
            self.removeItem(curve)
        self._fit_legend()
        self.series.clear()
        self.curves.clear()
        self.raw_curves.clear()
        self._dirty.clear()
        self._following = True
        if self._placeholder.scene() is None:
            self.addItem(self._placeholder)

    def _add_curve(self, key: str) -> _Series:
        series = _Series()
        self.series[key] = series
        raw = self.plot([], [])  # first, so it lies under the smoothed curve
        raw.setVisible(self._smoothing > 0)
        curve = self.plot([], [])
        self.legend.addItem(curve, metric_label(key))
        self._fit_legend()
        for c in (raw, curve):
            c.setClipToView(True)
            c.setDownsampling(auto=True, method="peak")
        self.curves[key], self.raw_curves[key] = curve, raw
        self._style_curve(key)
        if self._placeholder.scene() is not None:
            self.removeItem(self._placeholder)
        self.sigCurveAdded.emit(key)
        return series

    def _fit_legend(self) -> None:
        """Give the legend's row in the plot layout the height its entries need."""
        from PySide6.QtCore import Qt as _Qt

        self.legend.layout.invalidate()
        h = self.legend.layout.effectiveSizeHint(_Qt.SizeHint.PreferredSize).height() if self.legend.items else 0
        self.legend.setMinimumHeight(h)
        self.legend.setMaximumHeight(h)

    def label(self, key: str) -> str:
        """The words the legend shows for ``key``."""
        return metric_label(key)

    # --- display ------------------------------------------------------------------------------
    def _on_refresh_timer(self) -> None:
        if self._dirty:
            self.flush()

    def flush(self) -> None:
        """Push buffered points to the curves now (the timer does this ~25 times a second)."""
        for key in self._dirty:
            series = self.series[key]
            x = series.x[: series.n]
            # views into the buffers: setData copies what it needs
            if self._smoothing > 0:
                self.curves[key].setData(x, series.smooth[: series.n])
                self.raw_curves[key].setData(x, series.y[: series.n])
            else:
                self.curves[key].setData(x, series.y[: series.n])
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
            y = series.y[: series.n]  # the raw values are drawn too (faintly, when smoothed)
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
        for key, raw in self.raw_curves.items():
            raw.setVisible(alpha > 0)
            if alpha == 0:
                raw.setData([], [])
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
