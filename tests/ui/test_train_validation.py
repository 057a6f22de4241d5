"""The validation split in the real window: the form's control, the validation curves in the
loss plot (with their legend entries), and the overfitting light of the Health strip."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QDoubleSpinBox, QLineEdit, QPushButton

pytestmark = pytest.mark.timeout(300)


def _digits(folder, n: int) -> str:
    folder.mkdir()
    with np.load("resources/data/digits.npz") as data:
        for i, img in enumerate(data["images"][:n]):
            Image.fromarray(img).save(folder / f"d{i}.png")
    return str(folder)


def test_a_run_with_a_split_draws_the_validation_curve_and_warns_of_overfitting(qtbot, main_window, imgen_home,
                                                                                  tmp_path, monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    window = main_window()
    panel = window.train_panel
    window.tabs.setCurrentWidget(panel)
    qtbot.waitUntil(lambda: panel.preset_combo.count() > 0, timeout=10_000)
    family = panel.findChild(QComboBox, "familyCombo")
    family.setCurrentIndex(family.findData("vae"))
    panel.findChild(QLineEdit, "datasetEdit").setText(_digits(tmp_path / "eight", 8))
    for key, value in dict(image_size=8, batch_size=16, steps=100, sample_every=10, checkpoint_every=0, kl_warmup=0,
                           width=32, latent_dim=16, lr=0.01).items():
        panel.fields[key].put(value)
    share = panel.findChild(QDoubleSpinBox, "val_splitEdit")
    assert share.isVisible() and share.suffix() == " %" and "overfitting" in share.toolTip()
    assert share.text() == "off"  # the default: every picture trains
    share.setValue(25)  # as a user types it: 25 %
    panel.findChild(QLineEdit, "runNameEdit").setText("ui-val")
    strip = panel.health_strip
    assert "health.overfit" not in strip.lights  # only runs that hold pictures out have the light

    with qtbot.waitSignal(panel.sigRunEnded, timeout=240_000):
        qtbot.mouseClick(panel.findChild(QPushButton, "startButton"), Qt.MouseButton.LeftButton)
    plot = panel.loss_plot
    assert plot.point_count("val.loss") == 10 and plot.point_count("val.train") == 10
    legend = [label.text for _sample, label in plot.legend.items]
    assert "Validation (held-out)" in legend and "Training, same measure" in legend
    assert plot.curves["val.train"].opts["pen"].style() == Qt.PenStyle.DashLine
    light = strip.lights["health.overfit"]
    assert light.state in ("warn", "bad") and light.text().endswith("%"), light.text()
    detail = strip.show_detail("health.overfit")
    assert "more pictures" in detail.findChild(type(detail.state_label), "healthAdvice").text()
    detail.close()
    assert (imgen_home / "runs" / "ui-val" / "split.json").is_file()

    strip.reset()  # the next run (no split): the light goes away again
    assert "health.overfit" not in strip.lights
