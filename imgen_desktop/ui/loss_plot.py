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

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QCheckBox, QComboBox, QGraphicsItem, QHBoxLayout, QLabel, QSlider, QWidget

from imgen_desktop.ui.loss_overlays import OverlayMixin
from imgen_desktop.core.runs import VAL_CURVES
from imgen_desktop.ui.loss_series import (  # noqa: F401 (re-exported)
    COLOUR_SLOTS, CURVE_STYLES, CURVE_WIDTHS, PlainAxis, Series, colour_index, curve_colour, nice_ceiling, run_colour,
)
from imgen_desktop.ui.theme import colors, configure_plots, theme_notifier

configure_plots()  # pyqtgraph has just been imported: the palette's plot defaults

_Series = Series  # the name older code and tests use
DASHES = (Qt.PenStyle.SolidLine, Qt.PenStyle.DashLine, Qt.PenStyle.DotLine, Qt.PenStyle.DashDotLine,
          Qt.PenStyle.DashDotDotLine)

class LossPlot(OverlayMixin, pg.PlotWidget):
    """The ``lossPlot``: x = step, one curve per ``loss.*`` metric and the validation curves
    (``val.loss`` on held-out pictures, ``val.train`` the same loss on training pictures, dashed),
    legend, EMA smoothing, log y."""

    sigCurveAdded = Signal(str)
    REFRESH_MS = 40  # ~25 Hz

    def __init__(self, parent: QWidget | None = None, prefixes: tuple[str, ...] = ("loss.",)) -> None:
        super().__init__(parent, axisItems={"left": PlainAxis("left"), "bottom": PlainAxis("bottom")})
        self.setObjectName("lossPlot")
        self.prefixes = prefixes
        self.series: dict[str, _Series] = {}
        self.curves: dict[str, pg.PlotDataItem] = {}
        self.raw_curves: dict[str, pg.PlotDataItem] = {}  # faint raw values under a smoothed curve
        # compared past runs: run name -> key -> series, and their curves by (run, key)
        self.overlays: dict[str, dict[str, Series]] = {}
        self.overlay_curves: dict[tuple[str, str], pg.PlotDataItem] = {}
        self.overlay_raw: dict[tuple[str, str], pg.PlotDataItem] = {}
        self._run_slots: dict[str, int] = {}
        self._x_mode = "step"
        self.run_name = ""
        self._dirty: set = set()
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
        item = self.getPlotItem()
        if item is None:  # closed: pyqtgraph has let go of its plot item
            return
        c = colors()
        self.setBackground(c.base)
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
        for cid in list(self.curves) + list(self.overlay_curves):
            self._style_curve(cid)

    def _items(self, cid) -> tuple[Series, pg.PlotDataItem, pg.PlotDataItem]:
        """(series, curve, faint raw curve) of a curve id: a live key, or (run, key) of a compared run."""
        if isinstance(cid, tuple):
            return self.overlays[cid[0]][cid[1]], self.overlay_curves[cid], self.overlay_raw[cid]
        return self.series[cid], self.curves[cid], self.raw_curves[cid]

    def _style_curve(self, cid) -> None:
        if isinstance(cid, tuple):  # a compared run: the run's colour, a dash per metric
            colour = run_colour(self._run_slots.get(cid[0], 0))
            keys = sorted(self.overlays[cid[0]])
            style = DASHES[keys.index(cid[1]) % len(DASHES)]
        elif self.overlays:  # comparing: the live run is one run among others, in one colour too
            colour, style = run_colour(0), DASHES[sorted(self.series).index(cid) % len(DASHES)]
        else:
            colour = curve_colour(cid)
            style = Qt.PenStyle.DashLine if CURVE_STYLES.get(cid) == "dash" else Qt.PenStyle.SolidLine
        _series, curve, raw = self._items(cid)
        width = CURVE_WIDTHS.get(cid if not isinstance(cid, tuple) else cid[1], 1.5)
        curve.setPen(pg.mkPen(colour, width=width, style=style))
        faint = QColor(colour)
        faint.setAlpha(70)
        raw.setPen(pg.mkPen(faint, width=1))

    # --- data in --------------------------------------------------------------------------
    def wants(self, key: str) -> bool:
        return any(key.startswith(p) for p in self.prefixes) or ("loss." in self.prefixes and key in VAL_CURVES)

    def add_point(self, step: int, values: dict, time: float | None = None) -> None:
        """Buffer one step's metrics (cheap; drawing happens on the timer); ``time`` = training seconds."""
        t = math.nan if time is None else float(time)
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
            series.append(float(step), value, self._smoothing, t)
            self._dirty.add(key)

    def load_history(self, records: list[dict]) -> None:
        """Replace the curves with a run's history (``core.trainer.load_metrics`` output)."""
        self.reset()
        for rec in records:
            if "step" in rec:
                self.add_point(int(rec["step"]), rec, rec.get("time") if isinstance(rec.get("time"), (int, float)) else None)
        self.flush()

    def reset(self) -> None:
        """Clear the live run's curves (compared runs stay)."""
        for curve in self.curves.values():
            self.legend.removeItem(curve)
            self.removeItem(curve)
        for curve in self.raw_curves.values():
            self.removeItem(curve)
        self._fit_legend()
        self.series.clear()
        self.curves.clear()
        self.raw_curves.clear()
        self._dirty = {cid for cid in self._dirty if isinstance(cid, tuple)}
        self._following = True
        self._show_placeholder()

    def _show_placeholder(self) -> None:
        empty = not self.curves and not self.overlay_curves
        if empty and self._placeholder.scene() is None:
            self.addItem(self._placeholder)
        elif not empty and self._placeholder.scene() is not None:
            self.removeItem(self._placeholder)

    def _add_curve(self, key: str) -> _Series:
        series = _Series()
        self.series[key] = series
        self.curves[key], self.raw_curves[key] = self._new_curves(self.label(key))
        self._style_curve(key)
        self._show_placeholder()
        self.sigCurveAdded.emit(key)
        return series

    def _new_curves(self, name: str) -> tuple[pg.PlotDataItem, pg.PlotDataItem]:
        raw = self.plot([], [])  # first, so it lies under the smoothed curve
        raw.setVisible(self._smoothing > 0)
        curve = self.plot([], [])
        curve.setObjectName(name)  # the legend's words; also how set_curve_visible finds it
        self.legend.addItem(curve, name)
        self._fit_legend()
        for c in (raw, curve):
            c.setClipToView(True)
            c.setDownsampling(auto=True, method="peak")
        return curve, raw

    # --- display ------------------------------------------------------------------------------
    def _on_refresh_timer(self) -> None:
        # a click on a legend sample hides / shows its curve: the faint raw copy follows it here
        for cid in list(self.curves) + list(self.overlay_curves):
            _series, curve, raw = self._items(cid)
            want = curve.isVisible() and self._smoothing > 0
            if raw.isVisible() != want:
                raw.setVisible(want)
        if self._dirty:
            self.flush()

    def flush(self) -> None:
        """Push buffered points to the curves now (the timer does this ~25 times a second)."""
        for cid in self._dirty:
            series, curve, raw = self._items(cid)
            x = series.xs(self._x_mode)
            # views into the buffers: setData copies what it needs; NaN (no time known) breaks the line
            if self._smoothing > 0:
                curve.setData(x, series.smooth[: series.n], connect="finite")
                raw.setData(x, series.y[: series.n], connect="finite")
            else:
                curve.setData(x, series.y[: series.n], connect="finite")
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
        shown = [s for k, s in self.series.items() if self.curves[k].isVisible()]
        shown += [s for (run, k), c in self.overlay_curves.items() if c.isVisible() for s in (self.overlays[run][k],)]
        for series in shown:
            if series.n == 0:
                continue
            xs = series.xs(self._x_mode)
            xs = xs[np.isfinite(xs)]
            if len(xs):
                x_max = max(x_max, float(xs.max()))
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
        for cid in list(self.curves) + list(self.overlay_curves):
            series, curve, raw = self._items(cid)
            raw.setVisible(alpha > 0 and curve.isVisible())
            if alpha == 0:
                raw.setData([], [])
            series.resmooth(alpha)
            self._dirty.add(cid)
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
        row.addWidget(QLabel("Align on", box))
        align = QComboBox(box)
        align.setObjectName("alignCombo")
        align.addItem("Step", "step")
        align.addItem("Training time", "time")
        align.setToolTip("Line up the curves of compared runs by step, or by seconds of training")
        align.currentIndexChanged.connect(lambda _i: self.set_x_mode(align.currentData()))
        row.addWidget(align)
        row.addStretch(1)
        box.smoothing_slider = slider
        box.log_check = log
        box.align_combo = align
        return box
