"""The canvas's model picker offers a sharp built-in next to the faithful one, with one line on
the difference (issue 17). The sharp file is a tiny model made here: the shipped installation
may not have one yet."""
from __future__ import annotations

import shutil

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QLabel

from imgen_desktop.core import enhance
from imgen_desktop.core.paths import resource_path

SHARP = "Sharp: crisper edges and texture (GAN-trained); may invent detail. The faithful model stays closest to the original."


def test_picker_lists_sharp_next_to_faithful_with_its_description(qtbot, main_window, imgen_home, tmp_path, monkeypatch, make_model_file):
    folder = tmp_path / "models"
    folder.mkdir()
    for name in enhance.BUILTIN_NAMES:
        shutil.copy(resource_path("models", f"{name}.safetensors"), folder / f"{name}.safetensors")
    make_model_file(folder / "upscale-x4-sharp.safetensors", scale=4, builtin=True, description=SHARP)
    monkeypatch.setattr(enhance, "builtin_path", lambda name: folder / f"{name}.safetensors")
    window = main_window()
    combo = window.findChild(QComboBox, "modelCombo")
    info = window.findChild(QLabel, "modelInfoLabel")
    qtbot.waitUntil(lambda: any("sharp" in combo.itemText(i) for i in range(combo.count())), timeout=30000)
    texts = [combo.itemText(i) for i in range(combo.count())]
    faithful = texts.index("Upscale ×4 (built-in)")
    assert texts[faithful + 1] == "Upscale ×4, sharp (built-in)"
    assert SHARP in combo.itemData(faithful + 1, Qt.ItemDataRole.ToolTipRole)
    assert "Faithful" in combo.itemData(faithful, Qt.ItemDataRole.ToolTipRole)
    combo.setCurrentIndex(faithful + 1)
    qtbot.waitUntil(lambda: SHARP in info.text())
    assert SHARP in combo.toolTip()
    combo.setCurrentIndex(faithful)
    qtbot.waitUntil(lambda: "Faithful" in info.text())
