"""The Models tab imports a community .pth (spandrel) through its Import dialog, lists it like
ours, and exports it to ONNX; a hostile pickle is refused with the one-line message."""
from __future__ import annotations

import pytest
from PySide6.QtWidgets import QFileDialog, QMessageBox


@pytest.fixture
def panel(qtbot, imgen_home):
    from imgen_desktop.ui.models_panel import ModelsPanel

    widget = ModelsPanel()
    qtbot.addWidget(widget)
    widget.resize(1100, 700)
    widget.show()
    yield widget
    widget.shutdown()


def _compact_pth(path):
    import torch

    from imgen_desktop.core import community

    community._spandrel()
    from spandrel.architectures.Compact import Compact

    torch.manual_seed(0)
    torch.save(Compact(num_feat=8, num_conv=2, upscale=4).state_dict(), str(path))
    return path


def test_import_dialog_takes_a_pth_lists_it_and_exports_onnx(qtbot, panel, tmp_path, monkeypatch):
    src = _compact_pth(tmp_path / "4x-compact.pth")
    seen = {}

    def open_name(parent, title, folder, filters):
        seen["filters"] = filters
        return str(src), ""

    monkeypatch.setattr(QFileDialog, "getOpenFileName", open_name)
    panel.buttons["import"].click()
    assert "*.pth" in seen["filters"] and "*.ckpt" in seen["filters"] and "*.safetensors" in seen["filters"]
    qtbot.waitUntil(lambda: [i.name for i in panel.infos] == ["4x-compact"], timeout=30_000)
    t = panel.table
    assert [t.item(0, c).text() for c in (0, 1)] == ["4x-compact", "COMPACT"]
    assert t.item(0, 2).text() == "upscale ×4"
    assert panel.buttons["use"].isEnabled()

    out = tmp_path / "compact.onnx"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(out), ""))
    panel.select("4x-compact")
    panel.buttons["export"].click()
    qtbot.waitUntil(lambda: "Exported to" in panel.info.text() or "Could not" in panel.info.text(), timeout=60_000)
    assert "Exported to" in panel.info.text(), panel.info.text()
    assert out.stat().st_size > 0


def test_a_hostile_pickle_is_refused_in_the_dialog(qtbot, panel, tmp_path, monkeypatch):
    import torch

    marker = tmp_path / "ran"

    class Payload:
        def __reduce__(self):
            import os

            return os.system, (f"touch {marker}",)

    evil = tmp_path / "evil.pth"
    torch.save({"w": Payload()}, str(evil))
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(evil), ""))
    panel.buttons["import"].click()  # the import runs in a worker: the window stays responsive
    qtbot.waitUntil(lambda: panel.findChild(QMessageBox, "modelsErrorBox") is not None, timeout=30_000)
    assert "evil.pth was refused" in panel.info.text()
    box = panel.findChild(QMessageBox, "modelsErrorBox")
    assert box.text().count("evil.pth") == 1 and "\n" not in box.text()
    assert not marker.exists() and panel.infos == []
    box.close()


def test_the_train_tab_does_not_offer_the_import_only_faces_task(qtbot):
    from PySide6.QtWidgets import QComboBox

    from imgen_desktop.core import presets
    from imgen_desktop.ui.train.config_form import ConfigForm
    from imgen_desktop.ui.train.state import FormState

    form = ConfigForm(FormState(presets=presets))
    qtbot.addWidget(form)
    combo = form.findChild(QComboBox, "taskCombo")
    tasks = [combo.itemData(i) for i in range(combo.count())]
    assert tasks == ["generate", "upscale", "denoise", "inpaint"]
