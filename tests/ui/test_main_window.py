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
