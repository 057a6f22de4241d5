"""The Models tab, through the real window: the user's models (and a corrupt file) with the
built-ins, rename / import with a name dialog that fixes a clash, delete, Show in folder, use on
canvas, auto-refresh. Every change goes through core's ModelStore."""
from __future__ import annotations

import shutil
import time

import pytest
from models_helpers import open_models_tab, row_of, save_real_generator, shipped_builtins
from PySide6.QtCore import Qt
from PySide6.QtGui import QDesktopServices, QGuiApplication
from PySide6.QtWidgets import QComboBox, QFileDialog, QLineEdit, QMessageBox, QPushButton, QTabWidget

pytestmark = pytest.mark.timeout(180)
BUILTINS = shipped_builtins()


@pytest.fixture
def window(main_window, qtbot, imgen_home, make_model_file):
    from imgen_desktop.core.paths import models_dir

    root = models_dir()
    save_real_generator(root)
    make_model_file(root / "sharp-x2.safetensors", steps=4321)
    (root / "broken.safetensors").write_bytes(b"\x00\x01 this is not a safetensors file")
    win = main_window()
    win.resize(1280, 800)
    return win


def _panel(window, qtbot):
    return open_models_tab(window, qtbot, rows=3 + len(BUILTINS))


def _name_dialog(panel, qtbot):
    qtbot.waitUntil(lambda: panel.findChild(QLineEdit, "modelNameEdit") is not None, timeout=5000)
    edit = panel.findChild(QLineEdit, "modelNameEdit")
    return edit.window(), edit


def test_lists_models_builtins_and_a_corrupt_file(window, qtbot):
    panel = _panel(window, qtbot)
    t = panel.table
    r = row_of(panel, "tiny-gan")
    assert [t.item(r, c).text() for c in (0, 1, 2, 5)] == ["tiny-gan", "GAN", "generate", "123"]
    assert t.item(r, 3).text().startswith(time.strftime("%Y-")) and t.item(r, 4).text().endswith("KB")
    r = row_of(panel, "sharp-x2")
    assert t.item(r, 2).text() == "upscale ×2" and t.item(r, 5).text() == "4,321"
    r = row_of(panel, "broken")
    err = t.item(r, 0)
    assert "unreadable" in err.text() and "broken.safetensors" in err.text()
    assert err.foreground().color().red() > 180 and t.item(r, 1).text() == ""
    assert "1 unreadable" in panel.info.text() and f"{len(BUILTINS)} built-in" in panel.info.text()
    panel.select("broken")
    assert panel.selected_name() == "broken" and "not a valid safetensors file" in panel.info.text()

    # built-ins: listed after the user's models, marked, usable, not renamable or removable
    rows = {name: row_of(panel, name) for name in BUILTINS}
    assert min(rows.values()) == 3
    assert t.item(rows["builtin:denoise"], 0).text() == "denoise (built-in)"
    assert t.item(rows["builtin:upscale-x4"], 2).text() == "upscale ×4"
    panel.select("builtin:denoise")
    assert panel.buttons["use"].isEnabled()
    assert not panel.buttons["rename"].isEnabled() and not panel.buttons["delete"].isEnabled()
    assert "built-in" in panel.info.text()
    panel.buttons["use"].click()  # -> the Enhance tab, with that model chosen
    tabs = window.findChild(QTabWidget, "mainTabs")
    assert tabs.currentWidget().objectName() == "enhanceCanvas"
    combo = window.findChild(QComboBox, "modelCombo")
    qtbot.waitUntil(lambda: "Denoise" in combo.currentText(), timeout=60_000)


def test_rename_goes_through_the_store_and_offers_a_free_name(window, qtbot, monkeypatch):
    from imgen_desktop.core.store import ModelStore

    calls = []
    real_rename = ModelStore.rename
    monkeypatch.setattr(ModelStore, "rename", lambda self, a, b: calls.append((a, b)) or real_rename(self, a, b))
    panel = _panel(window, qtbot)
    panel.select("sharp-x2")
    panel.buttons["rename"].click()
    dialog, edit = _name_dialog(panel, qtbot)
    ok = next(b for b in dialog.findChildren(QPushButton) if b.text() == "Rename")
    message = dialog.findChild(type(panel.info), "modelNameMessage")
    suggestion = dialog.findChild(QPushButton, "useFreeNameButton")

    edit.setText("tiny-gan")  # taken: said at once, with a free name to use
    assert not ok.isEnabled()
    assert "already exists" in message.text() and "--name" not in message.text()
    assert suggestion.isVisible() and suggestion.text() == "Use “tiny-gan-2”"
    edit.setText("?bad/name")
    assert not ok.isEnabled() and "letters, digits" in message.text() and not suggestion.isVisible()
    edit.setText("tiny-gan")
    suggestion.click()
    assert edit.text() == "tiny-gan-2" and ok.isEnabled() and not message.isVisible()
    with qtbot.waitSignal(panel.sigModelsChanged, timeout=5000):
        ok.click()
    assert calls == [("sharp-x2", "tiny-gan-2")]
    assert (panel.root / "tiny-gan-2.safetensors").is_file() and not (panel.root / "sharp-x2.safetensors").exists()
    assert panel.selected_name() == "tiny-gan-2"


def test_import_with_a_taken_name_asks_for_another(window, qtbot, monkeypatch, tmp_path):
    panel = _panel(window, qtbot)
    outside = tmp_path / "tiny-gan.safetensors"  # same name as a model in the store
    shutil.copyfile(panel.root / "tiny-gan.safetensors", outside)
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(outside), ""))
    panel.buttons["import"].click()
    dialog, edit = _name_dialog(panel, qtbot)
    note = dialog.findChild(type(panel.info), "modelNameNote")
    assert "already" in note.text() and "--name" not in note.text()
    assert edit.text() == "tiny-gan-2"
    ok = next(b for b in dialog.findChildren(QPushButton) if b.text() == "Import")
    assert ok.isEnabled()
    edit.setText("from outside")
    ok.click()
    qtbot.waitUntil(lambda: panel.selected_name() == "from outside", timeout=5000)
    assert (panel.root / "from outside.safetensors").is_file()
    assert "Imported tiny-gan.safetensors as “from outside”" in panel.info.text()


def test_delete_asks_and_uses_the_store(window, qtbot, monkeypatch):
    from imgen_desktop.core.store import ModelStore

    removed = []
    real_remove = ModelStore.remove
    monkeypatch.setattr(ModelStore, "remove", lambda self, n: removed.append(n) or real_remove(self, n))
    panel = _panel(window, qtbot)
    panel.select("broken")
    assert not panel.buttons["use"].isEnabled() and not panel.buttons["export"].isEnabled()
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.No)
    panel.buttons["delete"].click()
    assert (panel.root / "broken.safetensors").exists() and removed == []  # declined
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    panel.buttons["delete"].click()
    assert removed == ["broken"] and not (panel.root / "broken.safetensors").exists()
    assert sorted(i.name for i in panel.infos) == ["sharp-x2", "tiny-gan"]


def test_show_in_folder_falls_back_to_the_clipboard(window, qtbot, monkeypatch):
    panel = _panel(window, qtbot)
    opened = []
    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: opened.append(url.toLocalFile()) or False)
    QGuiApplication.clipboard().setText("before")
    panel.select("tiny-gan")
    panel.buttons["reveal"].click()
    assert opened == [str(panel.root)]
    assert QGuiApplication.clipboard().text() == str(panel.root)
    assert "copied to the clipboard" in panel.info.text() and str(panel.root) in panel.info.text()

    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: opened.append(url.toLocalFile()) or True)
    QGuiApplication.clipboard().setText("before")
    panel.buttons["reveal"].click()  # a file manager opened: nothing else happens
    assert QGuiApplication.clipboard().text() == "before" and len(opened) == 2


def test_folder_is_watched(window, qtbot, tmp_path):
    panel = _panel(window, qtbot)
    copy = tmp_path / "elsewhere.safetensors"
    shutil.copyfile(panel.root / "tiny-gan.safetensors", copy)
    with qtbot.waitSignal(panel.sigModelsChanged, timeout=15_000):
        shutil.copyfile(copy, panel.root / "from-cli.safetensors")
    assert "from-cli" in [i.name for i in panel.infos]
    assert panel.table.item(row_of(panel, "from-cli"), 0).flags() & Qt.ItemFlag.ItemIsSelectable
