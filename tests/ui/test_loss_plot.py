"""LossPlot: buffers that double, drawing on a timer (not per event), history reload, smoothing."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg

from imgen_desktop.ui.loss_plot import LossPlot, _Series
from theme_helpers import switch_theme


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
    assert legend_labels == ["Generator", "Discriminator"]  # words, not internal keys


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


def test_nice_ceiling():
    from imgen_desktop.ui.loss_plot import nice_ceiling

    assert [nice_ceiling(v) for v in (1, 7, 101, 1001, 2600, 0.03, 0)] == [1, 8, 120, 1200, 3000, 0.03, 1]


def test_view_follows_the_data_with_few_range_changes_and_stops_when_the_user_pans(qtbot):
    """The axes (and their grid) are redrawn only when the range changes: the view follows the
    data in round steps instead of re-fitting on every point, and lets go when the user pans."""
    plot = LossPlot()
    qtbot.addWidget(plot)
    plot.resize(600, 400)
    plot.show()
    vb = plot.getPlotItem().getViewBox()
    changes = []
    vb.sigRangeChanged.connect(lambda *_: changes.append(1))
    assert not any(vb.autoRangeEnabled())  # pyqtgraph's per-point auto-range is off
    rng = np.random.default_rng(1)
    for step in range(1, 2001):
        plot.add_point(step, {"loss.g": 2.0 * np.exp(-step / 500) + 0.05 * rng.random(), "loss.d": 1.0 + 0.05 * rng.random()})
        if step % 10 == 0:
            plot.flush()  # as the timer would: 200 redraws
        (x0, x1), (y0, y1) = vb.viewRange()
        if step % 10 == 0:
            assert x0 == 0 and step <= x1 <= 1.6 * step + 10  # the newest point is in view, not squeezed
            ys = [plot.series[k].y[: plot.series[k].n] for k in plot.series]
            assert y0 <= min(y.min() for y in ys) and max(y.max() for y in ys) <= y1  # every point in view
    assert plot.following
    assert len(changes) < 40, len(changes)  # pyqtgraph's auto-range changed it on every one of the 200 flushes
    # the log axis: the range is in log10 units and still covers the data
    plot.set_log_scale(True)
    (_, _), (y0, y1) = vb.viewRange()
    assert y0 <= np.log10(0.05) + 0.5 and y1 >= 0.3 and y1 < 1.0
    plot.set_log_scale(False)
    # panning by hand stops the following; the "A" button resumes it
    vb.translateBy(x=-500)  # what a mouse drag does (emits sigRangeChangedManually via the mouse handlers)
    vb.sigRangeChangedManually.emit([True, True])
    assert not plot.following
    before = vb.viewRange()
    for step in range(2001, 2101):
        plot.add_point(step, {"loss.g": 0.05, "loss.d": 1.0})
    plot.flush()
    assert vb.viewRange() == before  # the user's view is left alone
    plot.getPlotItem().autoBtn.clicked.emit(plot.getPlotItem().autoBtn)
    assert plot.following
    (x0, x1), _ = vb.viewRange()
    assert x0 == 0 and x1 >= 2100


def test_legend_speaks_words_and_sits_above_the_data(qtbot):
    plot = LossPlot()
    qtbot.addWidget(plot)
    plot.resize(600, 400)
    plot.show()
    for step in range(1, 50):
        plot.add_point(step, {"loss.l1": 0.1, "loss.kl": 0.5, "loss.recon": 0.2, "loss.d": 1.0})
    plot.flush()
    assert [label.text for _, label in plot.legend.items] == ["Reconstruction (L1)", "KL divergence", "Reconstruction", "Discriminator"]
    vb = plot.getPlotItem().getViewBox()

    def legend_above_data():  # the plot's layout settles on the event loop
        legend_rect = plot.legend.mapRectToScene(plot.legend.boundingRect())
        data_rect = vb.mapRectToScene(vb.boundingRect())
        return legend_rect.height() > 30 and legend_rect.bottom() <= data_rect.top() + 1
    qtbot.waitUntil(legend_above_data, timeout=3000)  # two rows of entries, and the curves never run under them
    colours = {plot.curves[k].opts["pen"].color().name() for k in plot.curves}
    assert len(colours) == 4


def test_colour_is_a_function_of_the_key_not_of_the_order(qtbot):
    live, resumed = LossPlot(), LossPlot()
    qtbot.addWidget(live)
    qtbot.addWidget(resumed)
    live.add_point(1, {"loss.d": 1.0})
    live.add_point(2, {"loss.g": 2.0})
    resumed.load_history([{"step": 1, "loss.g": 2.0, "loss.d": 1.0}])
    for key in ("loss.d", "loss.g"):
        assert live.curves[key].opts["pen"].color().name() == resumed.curves[key].opts["pen"].color().name()
    assert live.curves["loss.d"].opts["pen"].color().name() != live.curves["loss.g"].opts["pen"].color().name()


def test_smoothing_keeps_the_raw_curve_visible_faintly(qtbot):
    plot = LossPlot()
    qtbot.addWidget(plot)
    rng = np.random.default_rng(0)
    for step in range(300):
        plot.add_point(step, {"loss.g": 1.0 + float(rng.normal(0, 0.3))})
    plot.set_smoothing(0.9)
    raw = plot.raw_curves["loss.g"]
    assert raw.isVisible()
    _, raw_y = raw.getData()
    np.testing.assert_allclose(raw_y, plot.series["loss.g"].y[:300])
    assert raw.opts["pen"].color().alpha() < 128 <= plot.curves["loss.g"].opts["pen"].color().alpha()
    plot.set_smoothing(0.0)
    assert not raw.isVisible()


def test_axes_show_plain_numbers(qtbot):
    plot = LossPlot()
    qtbot.addWidget(plot)
    for step in range(1, 200):
        plot.add_point(step, {"loss.l1": 0.004 + 0.001 / step})
    plot.flush()
    left = plot.getPlotItem().getAxis("left")
    assert not left.autoSIPrefix and "x0.001" not in left.labelString()
    plot.set_log_scale(True)
    assert left.tickStrings([-2.0, 0.0, 1.0, np.log10(40)], 1.0, 1.0) == ["0.01", "1", "10", "40"]


def test_colours_follow_a_live_theme_switch(qtbot):

    from imgen_desktop.ui.theme import colors

    switch_theme(qtbot, "dark")
    plot = LossPlot()
    qtbot.addWidget(plot)
    plot.add_point(1, {"loss.g": 1.0})
    dark = plot.curves["loss.g"].opts["pen"].color().name()
    try:
        switch_theme(qtbot, "light")
        assert plot.backgroundBrush().color().name() == colors().base
        assert plot.curves["loss.g"].opts["pen"].color().name() != dark
        assert plot.curves["loss.g"].opts["pen"].color().name() in colors().curves
    finally:
        switch_theme(qtbot, "dark")
