"""LossPlot: buffers that double, drawing on a timer (not per event), history reload, smoothing."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg

from imgen_desktop.ui.loss_plot import LossPlot, _Series


def test_series_buffers_double_and_keep_values():
    s = _Series(capacity=4)
    for i in range(11):
        s.append(i, 10.0 - i, alpha=0.0)
    assert s.n == 11 and s.capacity == 16
    np.testing.assert_array_equal(s.x[:11], np.arange(11))
    np.testing.assert_array_equal(s.y[:11], 10.0 - np.arange(11))
    np.testing.assert_array_equal(s.smooth[:11], s.y[:11])  # alpha 0 = raw


def test_plot_is_a_plotwidget_with_one_curve_per_loss_term(qtbot):
    plot = LossPlot()
    qtbot.addWidget(plot)
    assert isinstance(plot, pg.PlotWidget) and plot.objectName() == "lossPlot"
    for step in range(1, 3001):
        plot.add_point(step, {"loss.g": 1.0 / step, "loss.d": 0.5, "health.diversity": 0.9, "lr": 2e-4})
    assert set(plot.curves) == {"loss.g", "loss.d"}  # only loss.* terms, each created once
    assert plot.series["loss.g"].capacity == 4096 and plot.point_count("loss.g") == 3000
    legend_labels = [label.text for _, label in plot.legend.items]
    assert legend_labels == ["g", "d"]


def test_curves_update_from_the_timer_not_per_event(qtbot, monkeypatch):
    plot = LossPlot()
    qtbot.addWidget(plot)
    plot.add_point(1, {"loss.g": 2.0})
    curve = plot.curves["loss.g"]
    calls = []
    real_set_data = curve.setData
    monkeypatch.setattr(curve, "setData", lambda *a, **k: (calls.append(len(a[0])), real_set_data(*a, **k)))
    for step in range(2, 501):  # a burst of 500 events between two timer ticks
        plot.add_point(step, {"loss.g": 2.0 / step})
    assert calls == []  # nothing drawn per event
    assert plot.timer.isActive() and plot.timer.interval() <= 50
    qtbot.waitUntil(lambda: len(calls) > 0, timeout=2000)
    assert calls == [500]  # one setData with everything buffered
    x, y = curve.getData()
    np.testing.assert_array_equal(x, np.arange(1, 501))
    np.testing.assert_allclose(y, 2.0 / np.arange(1, 501))
    qtbot.wait(3 * plot.REFRESH_MS)
    assert calls == [500]  # no redraw when nothing changed


def test_history_reload_replaces_curves(qtbot):
    plot = LossPlot()
    qtbot.addWidget(plot)
    plot.add_point(1, {"loss.old": 5.0})
    history = [{"step": s, "loss.g": 1.0 + s, "loss.d": 2.0, "elapsed_s": 0.1 * s} for s in range(10, 110, 10)]
    history.append({"note": "no step"})
    plot.load_history(history)
    assert set(plot.curves) == {"loss.g", "loss.d"}
    x, y = plot.curves["loss.g"].getData()  # drawn at once, no need to wait for the timer
    np.testing.assert_array_equal(x, np.arange(10, 110, 10))
    np.testing.assert_array_equal(y, 1.0 + np.arange(10, 110, 10))
    plot.add_point(110, {"loss.g": 0.5})  # a resumed run continues the same curve
    plot.flush()
    x, _ = plot.curves["loss.g"].getData()
    assert x[-1] == 110 and len(x) == 11


def test_smoothing_and_log_scale(qtbot):
    plot = LossPlot()
    qtbot.addWidget(plot)
    rng = np.random.default_rng(0)
    noisy = 1.0 + rng.normal(0, 0.5, 400)
    for step, v in enumerate(noisy):
        plot.add_point(step, {"loss.g": float(v)})
    plot.flush()
    _, raw = plot.curves["loss.g"].getData()
    plot.set_smoothing(0.9)
    _, smooth = plot.curves["loss.g"].getData()
    assert np.std(smooth[50:]) < 0.5 * np.std(raw[50:])
    assert abs(smooth[0] - raw[0]) < 1e-9  # bias-corrected EMA starts at the first value
    plot.set_smoothing(0.0)
    _, back = plot.curves["loss.g"].getData()
    np.testing.assert_allclose(back, noisy)  # raw values were kept
    controls = plot.make_controls()
    qtbot.addWidget(controls)
    controls.log_check.setChecked(True)
    assert plot.is_log_scale()
    controls.smoothing_slider.setValue(50)
    assert plot.smoothing == 0.5
