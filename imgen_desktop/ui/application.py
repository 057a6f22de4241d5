"""The QApplication and the main window, set up the same way for the GUI, tests and the self-test.

(It lives here, not in ``imgen_desktop.app``, so that ``selftest`` can open the window without
importing the entry-point module that imports ``selftest``.)
"""
from __future__ import annotations

import sys


def ensure_app():
    """The QApplication (created on first use), named, with the app icon."""
    from PySide6.QtGui import QGuiApplication, QIcon
    from PySide6.QtWidgets import QApplication

    from imgen_desktop import APP_ID, APP_NAME, __version__
    from imgen_desktop.core.paths import resource_path

    app = QApplication.instance()
    if app is None:
        app = QApplication(sys.argv[:1])
    app.setApplicationName(APP_NAME)
    app.setOrganizationName("Imgen")
    app.setApplicationVersion(__version__)
    QGuiApplication.setDesktopFileName(APP_ID)
    icon = resource_path("icons", "imgen-desktop.png")
    if icon.exists():
        app.setWindowIcon(QIcon(str(icon)))
    return app


def create_main_window():
    """The main window, built but not shown, in the remembered theme.

    Invalid values in settings.ini are dropped first, so a damaged file never stops the start.
    """
    app = ensure_app()
    from imgen_desktop.ui.settings import sanitize_settings
    from imgen_desktop.ui.theme import apply_theme

    sanitize_settings()
    apply_theme(app)
    from imgen_desktop.ui.main_window import MainWindow

    return MainWindow()
