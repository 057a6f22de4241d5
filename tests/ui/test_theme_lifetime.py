"""A live theme switch after a window has gone must not call into its deleted widgets."""
from __future__ import annotations

from PySide6.QtWidgets import QApplication


def test_theme_switch_after_window_deleted(qtbot):
    from imgen_desktop.app import create_main_window
    from imgen_desktop.ui.theme import apply_theme, is_dark

    window = create_main_window()
    window.show()
    qtbot.waitExposed(window)
    window.close()
    scanner = getattr(window, "_scanner", None)
    if scanner is not None:
        assert scanner.wait(120_000)
    window.deleteLater()
    qtbot.waitUntil(lambda: not any(w.objectName() == "MainWindow" for w in QApplication.topLevelWidgets()))
    app = QApplication.instance()
    # pytest-qt fails the test if a slot raises ("Internal C++ object already deleted")
    apply_theme(app, "light")
    assert not is_dark(app)
    apply_theme(app, "dark")
    assert is_dark(app)
