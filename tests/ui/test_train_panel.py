"""The Train area from the real main window: a real (tiny) GAN run on builtin:digits."""
from __future__ import annotations

import re

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QLabel, QLineEdit, QMessageBox, QPlainTextEdit, QProgressBar, QPushButton

pytestmark = pytest.mark.timeout(240)


def _set_tiny_gan(panel, steps: int) -> None:
    family = panel.findChild(QComboBox, "familyCombo")
    family.setCurrentIndex(family.findData("gan"))
    task = panel.findChild(QComboBox, "taskCombo")
    task.setCurrentIndex(task.findData("generate"))
    panel.findChild(QLineEdit, "datasetEdit").setText("builtin:digits")
    panel.fields["image_size"].put(32)
    panel.fields["width"].put(8)
    panel.fields["z_dim"].put(16)
    panel.fields["batch_size"].put(16)
    panel.fields["steps"].put(steps)
    panel.fields["sample_every"].put(10)
    panel.fields["checkpoint_every"].put(0)
    panel.fields["ema"].put(0.0)
    device = panel.findChild(QComboBox, "deviceCombo")
    device.setCurrentIndex(device.findData("auto"))
    panel.findChild(QLineEdit, "runNameEdit").setText("ui-gan")


def test_gan_run_start_pause_resume_stop(qtbot, main_window, imgen_home):
    window = main_window()
    panel = window.train_panel
    window.tabs.setCurrentWidget(panel)
    qtbot.waitUntil(lambda: panel.preset_combo.count() > 0, timeout=10_000)  # presets loaded
    _set_tiny_gan(panel, steps=400)  # metrics every 4 steps; Stop ends it long before the end
    cfg = panel.config()
    assert (cfg.family, cfg.task, cfg.image_size, cfg.width, cfg.steps, cfg.sample_every) == ("gan", "generate", 32, 8, 400, 10)

    start = panel.findChild(QPushButton, "startButton")
    pause = panel.findChild(QPushButton, "pauseButton")
    stop = panel.findChild(QPushButton, "stopButton")
    progress = panel.findChild(QProgressBar, "trainProgress")
    plot = window.findChild(object, "lossPlot")
    assert plot is panel.loss_plot
    qtbot.mouseClick(start, Qt.MouseButton.LeftButton)
    assert panel.is_training() and not start.isEnabled() and pause.isEnabled() and stop.isEnabled()

    # curve points arrive in the loss plot (drawn by its timer, so inspect the curve data)
    def curves_have_points():
        data = [c.getData() for c in plot.curves.values()]
        return len(data) >= 2 and all(x is not None and len(x) >= 2 for x, _ in data)
    qtbot.waitUntil(curves_have_points, timeout=120_000)
    speed = panel.findChild(QLabel, "trainSpeed")
    qtbot.waitUntil(lambda: re.match(r"ETA \d+:\d\d", speed.text()) is not None, timeout=60_000)  # a smoothed ETA
    assert set(plot.curves) >= {"loss.g", "loss.d"}
    x, y = plot.curves["loss.g"].getData()
    assert np.all(np.diff(x) > 0) and np.all(np.isfinite(y))
    # samples arrive in the grid, with the step shown
    qtbot.waitUntil(lambda: panel.sample_grid.latest("samples") is not None, timeout=60_000)
    step, mosaic = panel.sample_grid.latest("samples")
    assert step % 10 == 0 and mosaic.dtype == np.uint8 and mosaic.shape[0] >= 32
    assert panel.sample_grid.step_label.text() == f"step {panel.sample_grid.latest(panel.sample_grid.current_kind())[0]}"

    # Pause: the step counter stops advancing; Resume: it moves again
    qtbot.mouseClick(pause, Qt.MouseButton.LeftButton)
    assert pause.text() == "Resume"
    qtbot.wait(1200)  # let the current step and queued progress signals drain
    paused_at = progress.value()
    points_at = plot.point_count("loss.g")
    qtbot.wait(1500)
    assert progress.value() == paused_at
    assert plot.point_count("loss.g") == points_at
    assert panel.is_training()  # paused keeps the model loaded
    qtbot.mouseClick(pause, Qt.MouseButton.LeftButton)
    assert pause.text() == "Pause"
    qtbot.waitUntil(lambda: progress.value() > paused_at, timeout=60_000)

    # Stop: the model is exported to the store and shows in the Models panel
    with qtbot.waitSignal(panel.sigModelSaved, timeout=120_000) as saved:
        qtbot.mouseClick(stop, Qt.MouseButton.LeftButton)
    assert saved.args == ["ui-gan"]
    qtbot.waitUntil(lambda: start.isEnabled(), timeout=30_000)  # the thread has ended
    assert not panel.is_training() and not pause.isEnabled() and not stop.isEnabled()
    speed = panel.findChild(QLabel, "trainSpeed").text()
    assert speed.startswith("Stopped at step ") and "ETA" not in speed  # no stale ETA after Stop
    assert progress.text().startswith("stopped at step")
    assert (imgen_home / "models" / "ui-gan.safetensors").is_file()
    assert (imgen_home / "runs" / "ui-gan" / "metrics.jsonl").is_file()
    models = window.models_panel
    qtbot.waitUntil(lambda: any(i.name == "ui-gan" and i.ok for i in models.infos), timeout=30_000)
    row = [i.name for i in models.infos].index("ui-gan")
    assert models.table.item(row, 1).text() == "GAN"
    assert models.table.item(row, 2).text() == "generate"
    assert "Model saved as “ui-gan”" in panel.findChild(QPlainTextEdit, "runLog").toPlainText()

    # Resume run: curves come back from metrics.jsonl; Continue picks up the step counter
    last = plot.point_count("loss.g")
    panel.prepare_resume("ui-gan")
    assert start.text().startswith("▶  Continue")
    qtbot.waitUntil(lambda: plot.point_count("loss.g") > 0, timeout=30_000)
    assert plot.point_count("loss.g") >= last - 1
    resumed_from = int(plot.series["loss.g"].x[plot.point_count("loss.g") - 1])
    qtbot.mouseClick(start, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: plot.point_count("loss.g") > last + 1, timeout=120_000)
    xs = plot.series["loss.g"].x[: plot.point_count("loss.g")]
    assert np.all(np.diff(xs) > 0) and xs[-1] > resumed_from  # one continuous curve
    with qtbot.waitSignal(panel.sigModelSaved, timeout=120_000):
        panel.findChild(QPushButton, "stopButton").click()
    qtbot.waitUntil(lambda: start.isEnabled(), timeout=30_000)


def test_bad_dataset_shows_error_and_start_reenables(qtbot, main_window, tmp_path):
    window = main_window()
    panel = window.train_panel
    qtbot.waitUntil(lambda: panel.preset_combo.count() > 0, timeout=10_000)
    _set_tiny_gan(panel, steps=20)
    missing = tmp_path / "no such folder"
    panel.findChild(QLineEdit, "datasetEdit").setText(str(missing))
    # the picker describes the dataset off the GUI thread and shows the problem
    qtbot.waitUntil(lambda: "no such folder" in panel.dataset_info.text() or "not" in panel.dataset_info.text(), timeout=20_000)
    start = panel.findChild(QPushButton, "startButton")
    with qtbot.waitSignal(panel.sigRunEnded, timeout=60_000):
        qtbot.mouseClick(start, Qt.MouseButton.LeftButton)
    assert start.isEnabled() and not panel.is_training()
    box = panel.findChild(QMessageBox, "trainErrorBox")
    assert box is not None and box.isVisible() and not box.isModal()
    log = panel.findChild(QPlainTextEdit, "runLog").toPlainText()
    assert str(missing.name) in box.text() or "folder" in box.text().lower()
    assert box.text().splitlines()[0] in log
    assert list((window.models_panel.root).glob("*.safetensors")) == []
    box.close()


def test_invalid_setting_is_refused_before_starting(qtbot, main_window):
    window = main_window(show=False)
    panel = window.train_panel
    panel.fields["lr"].widget.setText("fast please")
    panel.findChild(QPushButton, "startButton").click()
    assert not panel.is_training()
    box = panel.findChild(QMessageBox, "trainErrorBox")
    assert box is not None and "learning rate" in box.text()
    box.close()
    # Add to queue checks the same way: nothing is queued
    panel.findChild(QPushButton, "addToQueueButton").click()
    box = panel.findChild(QMessageBox, "trainErrorBox")
    assert box is not None and "learning rate" in box.text()
    box.close()
    assert panel.training_queue().entries() == []


def test_options_follow_family_and_task(qtbot, main_window):
    window = main_window(show=True)
    panel = window.train_panel
    qtbot.waitUntil(lambda: panel.preset_combo.count() > 0, timeout=10_000)
    family, task = panel.family_combo, panel.task_combo
    family.setCurrentIndex(family.findData("gan"))
    task.setCurrentIndex(task.findData("generate"))
    presets = [panel.preset_combo.itemData(i) for i in range(panel.preset_combo.count())]
    assert "classic" in presets
    assert panel.fields["gan_loss"].widget.isVisibleTo(panel) and not panel.fields["beta"].widget.isVisibleTo(panel)
    panel.preset_combo.setCurrentIndex(panel.preset_combo.findData("classic"))
    cfg = panel.config()
    assert (cfg.gan_loss, cfg.z_dim, cfg.width, cfg.batch_size, cfg.ema, cfg.beta1) == ("bce", 100, 64, 64, 0.0, 0.5)
    family.setCurrentIndex(family.findData("vae"))
    assert panel.fields["beta"].widget.isVisibleTo(panel) and not panel.fields["gan_loss"].widget.isVisibleTo(panel)
    assert "classic" not in [panel.preset_combo.itemData(i) for i in range(panel.preset_combo.count())]
    task.setCurrentIndex(task.findData("upscale"))
    assert panel.scale_combo.isVisibleTo(panel)
    assert panel.dataset_edit.text() == "builtin:photos"  # digits are too small to learn upscaling from
    note = panel.findChild(QLabel, "datasetNote")
    assert note.isVisibleTo(panel) and "builtin:digits" in note.text() and "builtin:photos" in note.text()  # said, not silent
    family.setCurrentIndex(family.findData("rnn"))
    assert panel.fields["clip_grad"].widget.isVisibleTo(panel)
    assert panel.health_strip_host.objectName() == "healthStripHost"
