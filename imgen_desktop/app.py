"""Entry points: the GUI (``imgen-desktop``, ``python -m imgen_desktop``) and create_main_window().

torch is imported lazily, after the window is painted, so the window appears fast.
"""
from __future__ import annotations

import os
import sys
from typing import Sequence

from imgen_desktop import APP_ID, APP_NAME, __version__


def _ensure_app():
    from PySide6.QtGui import QGuiApplication, QIcon
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    if app is None:
        app = QApplication(sys.argv[:1])
    app.setApplicationName(APP_NAME)
    app.setOrganizationName("Imgen")
    app.setApplicationVersion(__version__)
    QGuiApplication.setDesktopFileName(APP_ID)
    from imgen_desktop.core.paths import resource_path

    icon = resource_path("icons", "imgen-desktop.png")
    if icon.exists():
        app.setWindowIcon(QIcon(str(icon)))
    return app


def create_main_window():
    """The main window, built but not shown (a QApplication is created if needed)."""
    _ensure_app()
    from imgen_desktop.ui.main_window import MainWindow

    return MainWindow()


def main(argv: Sequence[str] | None = None) -> int:
    import multiprocessing

    multiprocessing.freeze_support()  # a frozen bundle re-runs itself as the training child process
    argv = list(sys.argv[1:] if argv is None else argv)
    if "--self-test" in argv:
        from imgen_desktop.selftest import run_self_test

        return run_self_test()
    if "--version" in argv:
        print(f"{APP_NAME} {__version__}")
        return 0
    app = _ensure_app()
    from imgen_desktop.ui.main_window import MainWindow
    from imgen_desktop.ui.theme import apply_theme

    apply_theme(app)
    window = MainWindow()
    window.show()
    files = [a for a in argv if not a.startswith("-") and os.path.exists(a)]
    if files:
        window.open_paths(files)
    return app.exec()


if __name__ == "__main__":
    raise SystemExit(main())
