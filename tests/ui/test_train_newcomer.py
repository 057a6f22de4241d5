"""What a newcomer hit on the Train tab, driven through the real window: train, tweak, train
again; a taken name; remembered choices; the cost of a preset; the layout at 1024x700; the
Continue dialog; remedies kept over a task change; health lights on a healthy run."""
from __future__ import annotations

import json

import pytest
from PySide6.QtCore import QPoint, Qt, QTimer
from PySide6.QtWidgets import QApplication, QLabel, QLineEdit, QMessageBox, QPushButton, QTreeWidget, QWidget

from imgen_desktop.core.config import TrainConfig
from theme_helpers import switch_theme

pytestmark = pytest.mark.timeout(300)


def _panel(qtbot, main_window, show=True):
    window = main_window(show=show)
    panel = window.train_panel
    window.tabs.setCurrentWidget(panel)
    return window, panel


def _tiny_vae(panel, steps: int = 8) -> None:
    panel.family_combo.setCurrentIndex(panel.family_combo.findData("vae"))
    panel.task_combo.setCurrentIndex(panel.task_combo.findData("generate"))
    panel.preset_combo.setCurrentIndex(panel.preset_combo.findData("quick"))
    panel.dataset_edit.setText("builtin:digits")
    for key, value in dict(image_size=16, batch_size=16, steps=steps, width=8, sample_every=4, checkpoint_every=0,
                           kl_warmup=0, latent_dim=8).items():
        panel.fields[key].put(value)


def _fake_run(home, name, planned=300, reached=120, family="gan"):
    folder = home / "runs" / name
    (folder / "samples").mkdir(parents=True)
    (folder / "config.json").write_text(TrainConfig(name=name, family=family, steps=planned, image_size=16).to_json())
    rows = [{"step": s, "time": 0.1 * s, "loss.d": 1.0, "loss.g": 2.0} for s in range(10, reached + 1, 10)]
    (folder / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (folder / "checkpoint.pt").write_bytes(b"not read in this test")
    return folder


def test_train_change_lr_train_again_makes_two_runs(qtbot, main_window, imgen_home):
    window, panel = _panel(qtbot, main_window)
    _tiny_vae(panel)
    start = panel.findChild(QPushButton, "startButton")
    with qtbot.waitSignal(panel.sigRunFinished, timeout=240_000) as first:
        qtbot.mouseClick(start, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: start.isEnabled(), timeout=30_000)
    name_edit = panel.findChild(QLineEdit, "runNameEdit")
    assert name_edit.text() == ""  # not the last run's name: the next Start makes a new run
    assert "ETA" not in panel.findChild(QLabel, "trainSpeed").text()
    # the health light judged the healthy run from its first evaluation (it stayed grey before)
    light = panel.health_strip.lights["health.active_units"]
    assert light.state in ("ok", "warn", "bad"), light.toolTip()
    # the legend speaks words
    assert {label.text for _, label in panel.loss_plot.legend.items} >= {"KL divergence"}
    # the speed of this run was measured and now prices the preset
    assert json.loads((imgen_home / "speeds.json").read_text())
    cost = panel.findChild(QLabel, "presetCost").text()
    assert "on the CPU" in cost and "min" in cost and "idle 2-core" not in cost  # measured here, not the typical figure

    panel.fields["lr"].put(5e-4)
    with qtbot.waitSignal(panel.sigRunFinished, timeout=240_000) as second:
        qtbot.mouseClick(start, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: start.isEnabled(), timeout=30_000)
    assert panel.findChild(QMessageBox, "trainErrorBox") is None or not panel.findChild(QMessageBox, "trainErrorBox").isVisible()
    names = [first.args[0], second.args[0]]
    assert names[0] != names[1]
    for name in names:
        assert (imgen_home / "models" / f"{name}.safetensors").is_file()
    assert json.loads((imgen_home / "runs" / names[1] / "config.json").read_text())["lr"] == pytest.approx(5e-4)


def test_a_taken_name_is_explained_in_gui_words_with_a_resume_button(qtbot, main_window, imgen_home):
    _fake_run(imgen_home, "taken", planned=300, reached=120)
    window, panel = _panel(qtbot, main_window)
    panel.findChild(QLineEdit, "runNameEdit").setText("taken")
    panel.findChild(QPushButton, "startButton").click()
    assert not panel.is_training()
    box = panel.findChild(QMessageBox, "trainErrorBox")
    assert box is not None and box.isVisible()
    assert "“taken” already exists" in box.text() and "Resume it" in box.text() and "--" not in box.text()
    box.findChild(QPushButton, "resumeExistingButton").click()
    start = panel.findChild(QPushButton, "startButton")
    assert start.text() == "▶  Continue “taken”"
    assert panel.progress.value() == 120 and panel.progress.maximum() == 300  # the step reached, of the planned
    qtbot.waitUntil(lambda: panel.loss_plot.point_count("loss.g") == 12, timeout=20_000)


def test_continue_dialog_shows_step_reached_and_the_buttons_it_names(qtbot, main_window, imgen_home):
    _fake_run(imgen_home, "half-done", planned=300, reached=120)
    window, panel = _panel(qtbot, main_window)
    seen = {}

    def interact():
        dlg = QApplication.activeModalWidget()
        if dlg is None or dlg.objectName() != "resumeRunDialog":
            QTimer.singleShot(50, interact)
            return
        tree = dlg.findChild(QTreeWidget, "runList")
        item = tree.topLevelItem(0)
        seen["row"] = [item.text(i) for i in range(tree.columnCount())]
        seen["header"] = [tree.headerItem().text(i) for i in range(tree.columnCount())]
        seen["text"] = " ".join(label.text() for label in dlg.findChildren(QLabel))
        seen["buttons"] = [b.text() for b in dlg.findChildren(QPushButton)]
        dlg.findChild(QPushButton, "loadRunButton").click()
    QTimer.singleShot(0, interact)
    panel.findChild(QPushButton, "resumeRunButton").click()
    assert "120 / 300" in seen["row"] and "Steps reached / planned" in seen["header"]
    assert "Load run" in seen["buttons"] and "Load run" in seen["text"]
    start = panel.findChild(QPushButton, "startButton")
    assert "Continue" in seen["text"] and start.text().startswith("▶  Continue")  # the button it names exists


def test_family_task_and_preset_are_remembered(qtbot, main_window):
    window, panel = _panel(qtbot, main_window, show=False)
    panel.family_combo.setCurrentIndex(panel.family_combo.findData("rnn"))
    panel.preset_combo.setCurrentIndex(panel.preset_combo.findData("quality"))
    window.close()
    window2, panel2 = _panel(qtbot, main_window, show=False)
    assert panel2.family_combo.currentData() == "rnn" and panel2.preset_combo.currentData() == "quality"
    assert panel2.config().family == "rnn" and panel2.config().steps == 6000


def test_cpu_keeps_a_standard_preset_of_minutes_and_says_what_a_preset_costs(qtbot, main_window):
    """The GAN's standard preset takes ~5 minutes on a 2-core CPU: a newcomer keeps it (quick's
    samples are half-formed); a preset over 15 minutes there gets the suggestion."""
    window, panel = _panel(qtbot, main_window, show=False)
    panel.set_devices([("cpu", "CPU (2 cores)")])
    assert panel.preset_combo.currentData() == "standard"
    cost = panel.findChild(QLabel, "presetCost")
    assert "min" in cost.text() and "on the CPU" in cost.text() and "3,600 steps" in cost.text()
    assert "suggested" not in cost.text()
    panel.preset_combo.setCurrentIndex(panel.preset_combo.findData("quick"))
    assert "300 steps" in cost.text() and "suggested" not in cost.text()


def test_a_slow_cpu_starts_on_quick(qtbot, main_window):
    """Where this machine measured the GAN at 50 pictures/s, standard would take over an hour:
    the first launch picks quick."""
    from imgen_desktop.core import runs

    window, panel = _panel(qtbot, main_window, show=False)
    panel.form._speeds = {runs.speed_key("gan", "generate", "cpu", 32, 32): {"images_per_s": 50.0, "time": 1.0}}
    panel.set_devices([("cpu", "CPU (2 cores)")])
    assert panel.preset_combo.currentData() == "quick"
    panel.preset_combo.setCurrentIndex(panel.preset_combo.findData("standard"))
    cost = panel.findChild(QLabel, "presetCost")
    assert "about 1 h 17 min on the CPU" in cost.text()  # 3,600 steps x 64 pictures at 50 a second
    assert "quick is the suggested preset (over 15 minutes)" in cost.text()


def test_form_fits_1024x700_with_device_and_run_name_in_view(qtbot, main_window):
    window, panel = _panel(qtbot, main_window)
    window.resize(1024, 700)
    qtbot.waitUntil(lambda: window.height() <= 700, timeout=5000)
    qtbot.wait(50)  # one layout pass (no signal for it)
    for name in ("datasetEdit", "familyCombo", "taskCombo", "presetCombo", "deviceCombo", "runNameEdit", "startButton",
                 "stopButton"):
        w = panel.findChild(QWidget, name)
        assert w.isVisible(), name
        bottom = w.mapTo(window, QPoint(0, w.height())).y()
        assert bottom <= window.height(), (name, bottom)
        assert w.visibleRegion().boundingRect().height() >= w.height() - 1, name  # not clipped by a scroll area


def test_a_remedy_for_the_next_run_survives_a_task_change(qtbot, main_window):
    window, panel = _panel(qtbot, main_window)
    panel.family_combo.setCurrentIndex(panel.family_combo.findData("gan"))
    panel.task_combo.setCurrentIndex(panel.task_combo.findData("generate"))
    strip = panel.health_strip
    detail = strip.show_detail("health.diversity")
    button = detail.findChild(QPushButton, "remedyNext_0")
    assert button.text() == "Use hinge loss for the next run"
    button.click()
    assert panel.fields["gan_loss"].get() == "hinge"
    panel.task_combo.setCurrentIndex(panel.task_combo.findData("upscale"))
    assert panel.config().gan_loss == "hinge" and panel.fields["gan_loss"].get() == "hinge"  # kept over the preset
    note = panel.findChild(QLabel, "remedyNote")
    assert note.isVisibleTo(panel) and "hinge" in note.text()
    panel.family_combo.setCurrentIndex(panel.family_combo.findData("vae"))
    assert "dropped" in note.text()  # said, not silent




def test_curves_of_a_resumed_run_in_words_with_their_colours_and_plain_ticks(qtbot, main_window, imgen_home):
    from PySide6.QtWidgets import QCheckBox, QSlider

    from imgen_desktop.ui.loss_plot import curve_colour
    from imgen_desktop.ui.theme import colors

    _fake_run(imgen_home, "curves", planned=300, reached=200)
    window, panel = _panel(qtbot, main_window)
    plot = panel.loss_plot
    plot.add_point(1, {"loss.g": 2.0})  # a live run that reported the generator first
    plot.add_point(2, {"loss.d": 1.0})
    live = {k: c.opts["pen"].color().name() for k, c in plot.curves.items()}
    panel.prepare_resume("curves")
    qtbot.waitUntil(lambda: plot.point_count("loss.g") == 20, timeout=20_000)
    assert [label.text for _, label in plot.legend.items] == ["Discriminator", "Generator"]
    assert {k: c.opts["pen"].color().name() for k, c in plot.curves.items()} == live  # same colours resumed
    slider = panel.findChild(QSlider, "smoothingSlider")
    slider.setValue(80)
    assert plot.raw_curves["loss.g"].isVisible() and plot.curves["loss.g"].isVisible()  # raw kept, faintly
    panel.findChild(QCheckBox, "logScaleCheck").setChecked(True)
    left = plot.getPlotItem().getAxis("left")
    assert "x0.0" not in left.labelString() and left.tickStrings([1.0, 0.0], 1.0, 1.0) == ["10", "1"]
    switch_theme(qtbot, "light")
    try:
        assert plot.curves["loss.g"].opts["pen"].color().name() == curve_colour("loss.g") in colors().curves
        assert plot.backgroundBrush().color().name() == colors().base
    finally:
        switch_theme(qtbot, "dark")
