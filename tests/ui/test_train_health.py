"""Training health in the real window: a VAE with a huge beta lights up posterior collapse;
the light's detail shows its curve and a remedy restarts the run from its checkpoint."""
from __future__ import annotations

import json

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QLineEdit, QPlainTextEdit, QPushButton

pytestmark = pytest.mark.timeout(300)


def _set_vae(panel, name: str, beta: float, steps: int) -> None:
    family = panel.findChild(QComboBox, "familyCombo")
    family.setCurrentIndex(family.findData("vae"))
    task = panel.findChild(QComboBox, "taskCombo")
    task.setCurrentIndex(task.findData("generate"))
    panel.findChild(QLineEdit, "datasetEdit").setText("builtin:digits")
    for key, value in dict(image_size=16, batch_size=32, steps=steps, sample_every=10, checkpoint_every=10,
                           kl_warmup=0).items():
        panel.fields[key].put(value)
    panel.fields["beta"].put(beta)
    panel.findChild(QLineEdit, "runNameEdit").setText(name)


def test_posterior_collapse_light_and_restart_remedy(qtbot, main_window, imgen_home):
    window = main_window()
    panel = window.train_panel
    window.tabs.setCurrentWidget(panel)
    qtbot.waitUntil(lambda: panel.preset_combo.count() > 0, timeout=10_000)
    _set_vae(panel, "ui-vae-beta", beta=100.0, steps=30)
    strip = panel.health_strip
    assert list(strip.lights) == ["health.active_units"]

    with qtbot.waitSignal(panel.sigRunEnded, timeout=240_000):
        qtbot.mouseClick(panel.findChild(QPushButton, "startButton"), Qt.MouseButton.LeftButton)
    light = strip.lights["health.active_units"]
    assert light.state == "bad", light.toolTip()
    assert "0.00" in light.text()
    log = panel.findChild(QPlainTextEdit, "runLog").toPlainText()
    assert "posterior collapse" in log and "lower β to 0.5" in log
    assert "--" not in log  # remedies in the GUI's words, not CLI flags

    # the light opens its curve, explanation and remedies
    qtbot.mouseClick(light, Qt.MouseButton.LeftButton)
    detail = strip.detail
    assert detail is not None and detail.isVisible()
    xs, ys = detail.curve.getData()
    assert list(xs) == [10, 20, 30] and max(ys) <= 1
    labels = [label for label, _ in __import__("imgen_desktop.core.health", fromlist=["x"]).remedies_for("vae")]
    row = labels.index("Lower beta to 0.5")
    # "restart from last checkpoint" continues the same run with the remedy
    with qtbot.waitSignal(panel.sigRunEnded, timeout=240_000):
        qtbot.mouseClick(detail.findChild(QPushButton, f"remedyRestart_{row}"), Qt.MouseButton.LeftButton)
    assert panel.fields["beta"].get() == pytest.approx(0.5)
    config = json.loads((imgen_home / "runs" / "ui-vae-beta" / "config.json").read_text())
    assert config["beta"] == 0.5
    steps = [json.loads(line)["step"] for line in (imgen_home / "runs" / "ui-vae-beta" / "metrics.jsonl").read_text().splitlines()]
    assert steps == sorted(set(steps)) and steps[-1] > 30  # the same run went on past its old end
