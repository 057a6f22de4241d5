"""The main window shell: areas, menus, About, remembered geometry, device status."""
from __future__ import annotations

from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QMenu, QMessageBox, QTabWidget, QWidget

AREAS = ("enhanceCanvas", "trainPanel", "modelsPanel")


def _menu(window, title: str) -> QMenu:
    for action in window.menuBar().actions():
        if action.text().replace("&", "") == title:
            return action.menu()
    raise AssertionError(f"no {title} menu; have {[a.text() for a in window.menuBar().actions()]}")


def _action(menu: QMenu, text: str):
    for action in menu.actions():
        if action.text().replace("&", "").rstrip("…").rstrip(".").startswith(text):
            return action
    raise AssertionError(f"no {text!r} in {menu.title()}: {[a.text() for a in menu.actions()]}")


def test_window_has_its_three_areas_as_tabs(main_window):
    window = main_window()
    assert window.objectName() == "MainWindow" and window.isVisible()
    assert window.windowTitle() == "Imgen Desktop"
    assert not window.windowIcon().isNull()
    tabs = window.findChild(QTabWidget, "mainTabs")
    assert tabs is not None and tabs.count() >= 3
    labels = [tabs.tabText(i) for i in range(tabs.count())]
    for name in AREAS:
        area = window.findChild(QWidget, name)
        assert area is not None, name
        index = tabs.indexOf(area)
        assert index >= 0, f"{name} is not a tab"
        tabs.setCurrentIndex(index)
        assert area.isVisible(), name
    assert any("Enhance" in t for t in labels) and any("Train" in t for t in labels) and "Models" in labels


def test_menus_and_shortcuts(main_window):
    window = main_window()
    file_menu = _menu(window, "File")
    assert _action(file_menu, "Open").shortcut() == QKeySequence("Ctrl+O")
    assert _action(file_menu, "Save").shortcut() == QKeySequence("Ctrl+S")
    assert _action(file_menu, "Quit") is not None
    _menu(window, "View")
    assert _action(_menu(window, "Help"), "About") is not None


def test_view_menu_switches_areas(main_window):
    window = main_window()
    tabs = window.findChild(QTabWidget, "mainTabs")
    view = _menu(window, "View")
    _action(view, "Models").trigger()
    assert tabs.currentWidget().objectName() == "modelsPanel"
    _action(view, "Train").trigger()
    assert tabs.currentWidget().objectName() == "trainPanel"


def test_device_status_updates_after_scan_and_about_shows_versions(main_window, qtbot):
    import torch
    from PySide6 import __version__ as pyside_version
    from PySide6.QtCore import qVersion

    window = main_window()
    label = window.findChild(QWidget, "deviceStatus")
    assert label is not None
    qtbot.waitUntil(lambda: "detecting" not in label.text(), timeout=120_000)
    assert label.text().startswith("Device: ")
    assert "cpu" in label.toolTip()
    if not torch.cuda.is_available():
        assert "cpu —" in label.text()

    _action(_menu(window, "Help"), "About").trigger()
    box = window.findChild(QMessageBox, "aboutBox")
    qtbot.waitUntil(box.isVisible, timeout=5000)
    text = box.text()
    assert "Imgen Desktop" in text and "0.1.0" in text
    assert torch.__version__ in text and qVersion() in text and pyside_version in text
    assert "cpu" in text and "detecting" not in text
    box.close()


def test_geometry_and_tab_remembered_across_windows(main_window, imgen_home):
    first = main_window()
    first.resize(1100, 700)  # the default is 1280 x 820
    assert (first.width(), first.height()) == (1100, 700)
    tabs = first.findChild(QTabWidget, "mainTabs")
    tabs.setCurrentIndex(2)
    first.close()
    assert (imgen_home / "settings.ini").is_file()

    second = main_window()
    assert (second.width(), second.height()) == (1100, 700)
    assert second.findChild(QTabWidget, "mainTabs").currentIndex() == 2


def test_last_folders_remembered(imgen_home, tmp_path):
    from imgen_desktop.ui.settings import last_folder, remember_folder

    assert last_folder("open", "fallback") == "fallback"
    remember_folder("open", str(tmp_path))
    assert last_folder("open") == str(tmp_path)
    assert "folders" in (imgen_home / "settings.ini").read_text()


def test_closed_window_never_starts_a_scan(main_window, qtbot):
    window = main_window(show=False)
    window.close()
    qtbot.wait(2500)  # past the fallback timer that starts the scan of a never-shown window
    assert not window._scanner.isRunning() and not window._scanner.isFinished()


def test_unshown_window_still_scans_devices(main_window, qtbot):
    window = main_window(show=False)
    label = window.findChild(QWidget, "deviceStatus")
    qtbot.waitUntil(lambda: label.text().startswith("Device: "), timeout=120_000)


# --- settings that are damaged, and a second launch ----------------------------------------------

CORRUPT_INI = """[window]
tab=abc
geometry=this is not a saved geometry
[ui]
theme=purple
[enhance]
quality=high
model=@Invalid()
[files]
recent=42
[train]
family=zzz
task=@Variant(garbage)
preset=no such preset
dataset=@Invalid()
[folders]
open=@ByteArray(\\0\\x1)
"""


def test_a_damaged_settings_file_never_stops_the_start(main_window, imgen_home):
    from PySide6.QtGui import QPalette
    from PySide6.QtWidgets import QApplication, QSpinBox

    (imgen_home / "settings.ini").write_text(CORRUPT_INI)
    window = main_window()
    assert window.isVisible()
    assert window.findChild(QTabWidget, "mainTabs").currentIndex() == 0
    assert QApplication.instance().palette().color(QPalette.ColorRole.Window).lightness() < 128  # dark default
    quality = [s for s in window.findChildren(QSpinBox) if s.maximum() == 100 and s.minimum() == 1]
    assert quality and all(1 <= s.value() <= 100 for s in quality)
    window.recent_menu.aboutToShow.emit()
    assert [a.text() for a in window.recent_menu.actions() if a.text()] == ["No recent files", "&Clear the list"]


def test_typed_setting_readers(imgen_home):
    from imgen_desktop.ui import settings as st

    (imgen_home / "settings.ini").write_text(
        "[a]\nint=12\nbad=abc\nbig=999\nflt=0.5\nnan=nan\nyes=true\nno=off\nmaybe=perhaps\ns=dark\n")
    assert st.read_int("a/int", 3, 0, 100) == 12 and st.read_int("a/bad", 3) == 3
    assert st.read_int("a/big", 3, 0, 100) == 3 and st.read_int("a/missing", 7) == 7
    assert st.read_float("a/flt", 1.0, 0.0, 1.0) == 0.5 and st.read_float("a/nan", 1.0) == 1.0
    assert st.read_float("a/bad", 2.5) == 2.5
    assert st.read_bool("a/yes", False) is True and st.read_bool("a/no", True) is False
    assert st.read_bool("a/maybe", True) is True
    assert st.read_str("a/s", "x", ("dark", "light")) == "dark" and st.read_str("a/int", "x", ("dark",)) == "x"
    assert st.read_bytes("a/s") is None


def test_a_second_launch_restores_tab_geometry_theme_and_recent_files(main_window, qtbot, imgen_home):
    from PySide6.QtGui import QPalette
    from PySide6.QtWidgets import QApplication

    from imgen_desktop.core.paths import resource_path

    photo = str(resource_path("photos", "coffee.png"))
    first = main_window()
    first.resize(1100, 700)
    first.findChild(QTabWidget, "mainTabs").setCurrentIndex(1)
    _action(_menu(first, "View").actions()[-1].menu(), "Light").trigger()
    with qtbot.waitSignal(first.canvas.sigPhotoLoaded, timeout=30_000):
        first.open_paths([photo])
    first.findChild(QTabWidget, "mainTabs").setCurrentIndex(1)
    first.close()

    app = QApplication.instance()
    app.setPalette(QPalette())  # as a new process starts: nothing carried over but settings.ini
    second = main_window()
    assert (second.width(), second.height()) == (1100, 700)
    assert second.findChild(QTabWidget, "mainTabs").currentIndex() == 1
    assert app.palette().color(QPalette.ColorRole.Window).name() == "#f0f0f2"  # light
    assert second.theme_actions["light"].isChecked()
    second.recent_menu.aboutToShow.emit()
    recent = [a.data() for a in second.recent_menu.actions() if a.data()]
    assert recent == [photo]
    _action(_menu(second, "View").actions()[-1].menu(), "Dark").trigger()


# --- File menu: Open folder, Open recent ---------------------------------------------------------

def _photos(tmp_path, n):
    import shutil

    from imgen_desktop.core.paths import resource_path

    paths = []
    for i in range(n):
        p = tmp_path / f"photo {i} & more.png"
        shutil.copyfile(resource_path("photos", "coffee.png"), p)
        paths.append(str(p))
    return paths


def test_open_folder_opens_a_batch(main_window, qtbot, monkeypatch, tmp_path):
    from PySide6.QtWidgets import QFileDialog

    _photos(tmp_path, 2)
    window = main_window()
    window.findChild(QTabWidget, "mainTabs").setCurrentIndex(2)
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(tmp_path))
    action = _action(_menu(window, "File"), "Open folder")
    assert action.shortcut() == QKeySequence("Ctrl+Shift+O")
    action.trigger()
    assert window.findChild(QTabWidget, "mainTabs").currentWidget().objectName() == "enhanceCanvas"
    qtbot.waitUntil(lambda: len(window.canvas.batch_paths()) == 2, timeout=30_000)


def test_open_recent_lists_forgets_stale_files_and_clears(main_window, qtbot, tmp_path):
    import os

    a, b, c = _photos(tmp_path, 3)
    window = main_window()
    for path in (a, b, c):
        with qtbot.waitSignal(window.canvas.sigPhotoLoaded, timeout=30_000):
            window.open_paths([path])
    menu = window.recent_menu
    menu.aboutToShow.emit()
    entries = [x for x in menu.actions() if x.data()]
    assert [x.data() for x in entries] == [c, b, a]  # newest first
    assert entries[0].text() == "&1 photo 2 && more.png"  # '&' in a name is shown, not a mnemonic
    os.remove(b)
    menu.aboutToShow.emit()
    assert [x.data() for x in menu.actions() if x.data()] == [c, a]  # the stale one is gone
    with qtbot.waitSignal(window.canvas.sigPhotoLoaded, timeout=30_000):
        next(x for x in menu.actions() if x.data() == a).trigger()
    assert window.canvas.photo().source == a
    menu.aboutToShow.emit()
    assert [x.data() for x in menu.actions() if x.data()] == [a, c]
    next(x for x in menu.actions() if x.objectName() == "clearRecentAction").trigger()
    menu.aboutToShow.emit()
    assert not [x for x in menu.actions() if x.data()]


def test_keyboard_shortcuts_dialog_lists_every_shortcut(main_window, qtbot):
    from PySide6.QtGui import QAction
    from PySide6.QtWidgets import QDialog

    window = main_window()
    action = _action(_menu(window, "Help"), "Keyboard shortcuts")
    action.trigger()
    dialog = window.findChild(QDialog, "shortcutsDialog")
    qtbot.waitUntil(dialog.isVisible, timeout=5000)
    rows = dialog.rows()
    native = QKeySequence.SequenceFormat.NativeText
    assert ("File", "Open image", QKeySequence("Ctrl+O").toString(native)) in rows
    assert ("View", "Models", QKeySequence("Ctrl+3").toString(native)) in rows
    assert ("Help", "Keyboard shortcuts", QKeySequence("Ctrl+/").toString(native)) in rows
    listed = {(what, keys) for _, what, keys in rows}
    for act in window.findChildren(QAction):  # every action with keys, wherever it lives
        if act.shortcuts() and act.text():
            keys = ", ".join(s.toString(native) for s in act.shortcuts())
            assert (act.text().replace("&", "").rstrip("…"), keys) in listed, act.text()
    dialog.close()


# --- quitting --------------------------------------------------------------------------------

def test_quit_asks_about_an_unsaved_result_and_a_running_training(main_window, monkeypatch):
    window = main_window()
    asked = []
    # the canvas's confirm_discard (Save / Discard / Cancel): Cancel keeps the window open
    monkeypatch.setattr(window.canvas, "confirm_discard", lambda: asked.append("result") or False, raising=False)
    _action(_menu(window, "File"), "Quit").trigger()
    assert window.isVisible() and asked == ["result"]

    monkeypatch.setattr(window.canvas, "confirm_discard", lambda: asked.append("result") or True, raising=False)
    monkeypatch.setattr(window.train_panel, "is_training", lambda: True)
    stopped = []
    monkeypatch.setattr(window.train_panel, "stop_and_wait", lambda: stopped.append(True))
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: asked.append("training") or QMessageBox.StandardButton.No)
    _action(_menu(window, "File"), "Quit").trigger()
    assert window.isVisible() and asked[-2:] == ["result", "training"] and not stopped
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: asked.append("training") or QMessageBox.StandardButton.Yes)
    del asked[:]
    window.close()  # closed by code (not the user): only the training is asked about
    assert not window.isVisible() and stopped == [True] and asked == ["training"]


def test_quit_with_a_real_unsaved_result_asks_save_discard_cancel(main_window, qtbot, tmp_path):
    from enhance_helpers import answer_box, apply_and_wait, choose_upscale_x2, png

    window = main_window()
    canvas = window.canvas
    with qtbot.waitSignal(canvas.sigPhotoLoaded, timeout=30_000):
        window.open_paths([str(png(tmp_path / "small.png", 24, 16))])
    choose_upscale_x2(canvas, qtbot)
    apply_and_wait(canvas, qtbot)
    assert canvas.has_unsaved_result()
    seen: list[str] = []
    timer = answer_box(qtbot, "discardBox", QMessageBox.StandardButton.Cancel, seen)
    _action(_menu(window, "File"), "Quit").trigger()
    timer.stop()
    assert seen and window.isVisible()  # asked; Cancel keeps the window and the result
    timer = answer_box(qtbot, "discardBox", QMessageBox.StandardButton.Discard)
    assert window.quit() is True
    timer.stop()
    assert not window.isVisible()


def test_the_window_opens_without_importing_torch_or_pyqtgraph(tmp_path):
    """Start-up stays fast: torch is imported after the first paint (device scan), pyqtgraph when
    a plot is first needed, never by building the window."""
    import os
    import subprocess
    import sys

    code = ("import sys\n"
            "from imgen_desktop.app import create_main_window\n"
            "w = create_main_window()\n"
            "print(sorted(m for m in ('torch', 'pyqtgraph') if m in sys.modules))\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "IMGEN_HOME": str(tmp_path)})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "[]"
