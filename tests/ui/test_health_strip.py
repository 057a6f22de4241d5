"""The Health strip: lights per family, values, state colours from the first evaluation on,
detail curve with a human axis, remedies in words, theme colours."""
from PySide6.QtWidgets import QPushButton

from imgen_desktop.ui.health_strip import HealthStrip, state_colour
from theme_helpers import switch_theme


def test_lights_follow_family_metrics_and_events(qtbot):
    strip = HealthStrip()
    qtbot.addWidget(strip)
    strip.set_family("vae")
    assert list(strip.lights) == ["health.active_units"]
    strip.on_metrics(100, {"loss.total": 3.0, "health.active_units": 7})
    light = strip.lights["health.active_units"]
    assert "7.00" in light.text()
    strip.on_health({"key": "health.active_units", "state": "bad", "explanation": "collapse!", "remedies": ("lower beta",)})
    assert light.state == "bad" and state_colour("bad") in light.styleSheet()
    assert "collapse!" in light.toolTip()

    strip.set_family("gan")
    assert set(strip.lights) == {"health.diversity", "health.d_gap"}
    strip.on_metrics(5, {"health.d_real": 0.9, "health.d_fake": 0.1})
    steps, values = strip.history("health.d_gap")
    assert list(steps) == [5] and abs(values[0] - 0.8) < 1e-9


def test_a_healthy_run_lights_up_green_at_its_first_evaluation(qtbot):
    """The trainer only sends a Health event when a state changes, and every track starts "ok":
    the strip must judge the metrics itself, or a healthy run stays grey for ever."""
    strip = HealthStrip()
    qtbot.addWidget(strip)
    for family, step, values in (("vae", 10, {"health.active_units": 6}),
                                 ("rnn", 10, {"health.grad_norm": 0.3, "health.grad_ratio": 0.5}),
                                 ("gan", 300, {"health.diversity": 0.9, "health.d_real": 0.6, "health.d_fake": 0.4})):
        strip.set_family(family)
        strip.on_metrics(step, values)
        for key, light in strip.lights.items():
            assert light.state == "ok", (family, key, light.toolTip())
            assert state_colour("ok") in light.styleSheet()
            assert "OK" in light.toolTip()


def test_an_early_evaluation_says_it_is_warming_up(qtbot):
    strip = HealthStrip()
    qtbot.addWidget(strip)
    strip.set_family("gan")
    strip.on_metrics(50, {"health.diversity": 0.01, "health.d_real": 0.6, "health.d_fake": 0.4})
    light = strip.lights["health.diversity"]
    assert light.state == "none" and "step 200" in light.toolTip()  # an untrained generator is not judged
    assert "0.01" in light.text()


def test_detail_shows_curve_with_human_axis_and_remedies_in_words(qtbot):
    strip = HealthStrip()
    qtbot.addWidget(strip)
    strip.set_family("gan")
    for step, value in ((100, 0.9), (200, 0.6), (300, 0.2)):
        strip.on_metrics(step, {"health.diversity": value})
    detail = strip.show_detail("health.diversity")
    qtbot.addWidget(detail)
    xs, ys = detail.curve.getData()
    assert list(xs) == [100, 200, 300] and list(ys) == [0.9, 0.6, 0.2]
    left = detail.plot.getPlotItem().getAxis("left")
    assert not left.autoSIPrefix and "health." not in left.labelText and "diversity" in left.labelText.lower()
    buttons = [b.text() for b in detail.findChildren(QPushButton)]
    assert "Use hinge loss for the next run" in buttons
    assert not any("--" in t for t in buttons) and "--" not in detail.state_label.text()
    with qtbot.waitSignal(strip.sigRemedy) as blocker:
        detail.findChild(QPushButton, "remedyRestart_0").click()
    changes, restart = blocker.args
    assert changes == {"gan_loss": "hinge"} and restart is True


def test_history_reload_replays_rules(qtbot):
    strip = HealthStrip()
    qtbot.addWidget(strip)
    strip.set_family("rnn")
    rows = [{"step": s, "loss.total": 1.0, "health.grad_norm": 1e6} for s in (10, 20, 30)]
    strip.load_history(rows)
    assert strip.lights["health.grad_norm"].state == "bad"
    assert list(strip.history("health.grad_norm")[0]) == [10, 20, 30]


def test_reset_for_a_new_run_keeps_the_lights_and_clears_their_state(qtbot):
    strip = HealthStrip()
    qtbot.addWidget(strip)
    strip.set_family("gan")
    before = dict(strip.lights)
    strip.on_metrics(100, {"health.diversity": 0.1})
    strip.on_health({"key": "health.diversity", "state": "bad", "explanation": "collapse", "remedies": ("x",)})
    strip.reset()
    assert strip.lights == before  # the same widgets: no re-creation (and re-styling) when Start is pressed
    light = strip.lights["health.diversity"]
    assert light.state == "none" and light.remedies == () and "–" in light.text()
    assert state_colour("none") in light.styleSheet()
    assert len(strip.history("health.diversity")[0]) == 0
    sheet = light.styleSheet()
    strip.on_metrics(150, {"health.diversity": 0.8})  # before min_step: a value, no state yet
    assert light.styleSheet() == sheet  # a new value alone does not re-style


def test_lights_follow_a_live_theme_switch(qtbot):

    switch_theme(qtbot, "dark")
    strip = HealthStrip()
    qtbot.addWidget(strip)
    strip.set_family("vae")
    strip.on_metrics(10, {"health.active_units": 6})
    light = strip.lights["health.active_units"]
    dark_ok = state_colour("ok")
    assert dark_ok in light.styleSheet()
    switch_theme(qtbot, "light")
    try:
        assert state_colour("ok") != dark_ok and state_colour("ok") in light.styleSheet()
    finally:
        switch_theme(qtbot, "dark")
