"""The Health strip: lights per family, values, state colours, detail curve and remedies."""
from imgen_desktop.ui.health_strip import COLOURS, HealthStrip


def test_lights_follow_family_metrics_and_events(qtbot):
    strip = HealthStrip()
    qtbot.addWidget(strip)
    strip.set_family("vae")
    assert list(strip.lights) == ["health.active_units"]
    strip.on_metrics(100, {"loss.total": 3.0, "health.active_units": 7})
    light = strip.lights["health.active_units"]
    assert "7.00" in light.text()
    strip.on_health({"key": "health.active_units", "state": "bad", "explanation": "collapse!", "remedies": ("lower beta",)})
    assert light.state == "bad" and COLOURS["bad"] in light.styleSheet()
    assert "collapse!" in light.toolTip()

    strip.set_family("gan")
    assert set(strip.lights) == {"health.diversity", "health.d_gap"}
    strip.on_metrics(5, {"health.d_real": 0.9, "health.d_fake": 0.1})
    steps, values = strip.history("health.d_gap")
    assert list(steps) == [5] and abs(values[0] - 0.8) < 1e-9


def test_detail_shows_curve_and_emits_remedy(qtbot):
    strip = HealthStrip()
    qtbot.addWidget(strip)
    strip.set_family("gan")
    for step, value in ((100, 0.9), (200, 0.6), (300, 0.2)):
        strip.on_metrics(step, {"health.diversity": value})
    detail = strip.show_detail("health.diversity")
    qtbot.addWidget(detail)
    xs, ys = detail.curve.getData()
    assert list(xs) == [100, 200, 300] and list(ys) == [0.9, 0.6, 0.2]
    with qtbot.waitSignal(strip.sigRemedy) as blocker:
        from PySide6.QtWidgets import QPushButton

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
    assert COLOURS["none"] in light.styleSheet()
    assert len(strip.history("health.diversity")[0]) == 0
    sheet = light.styleSheet()
    strip.on_metrics(200, {"health.diversity": 0.8})
    assert light.styleSheet() is sheet or light.styleSheet() == sheet  # a new value alone does not re-style
