"""Entry points: the GUI (``imgen-desktop``, ``python -m imgen_desktop``) and create_main_window().

torch is imported lazily, after the window is painted, so the window appears fast. The Qt set-up
itself lives in :mod:`imgen_desktop.ui.application` (which ``selftest`` uses too, so the two
modules do not import each other).
"""
from __future__ import annotations

import os
import sys
from typing import Sequence

from imgen_desktop import APP_NAME, __version__


def create_main_window():
    """The main window, built but not shown (a QApplication is created if needed)."""
    from imgen_desktop.ui.application import create_main_window as _create

    return _create()


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
    from imgen_desktop.core.errors import ImgenError

    try:
        window = create_main_window()
    except ImgenError as exc:  # e.g. a data folder that cannot be created: say so, in a window
        from PySide6.QtWidgets import QApplication, QMessageBox

        _app = QApplication.instance() or QApplication([APP_NAME])
        QMessageBox.critical(None, APP_NAME, f"{APP_NAME} cannot start: {exc}")
        return 1
    window.show()
    files = [a for a in argv if not a.startswith("-") and os.path.exists(a)]
    if files:
        window.open_paths(files)
    from PySide6.QtWidgets import QApplication

    return QApplication.instance().exec()


if __name__ == "__main__":
    raise SystemExit(main())
