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
    from PySide6.QtCore import QTimer

    QTimer.singleShot(1500, _clean_stale_temporaries)  # after the first paint
    files = [a for a in argv if not a.startswith("-") and os.path.exists(a)]
    if files:
        window.open_paths(files)
    from PySide6.QtWidgets import QApplication

    return QApplication.instance().exec()


def _clean_stale_temporaries() -> None:
    """Temporaries that interrupted atomic writes left in models/ and runs/ (ours only, stale only)."""
    try:
        from imgen_desktop.core.atomic import clean_data_root
        from imgen_desktop.core.paths import data_root

        clean_data_root(data_root())
    except Exception:  # noqa: BLE001 - housekeeping never stops the app
        pass


if __name__ == "__main__":
    raise SystemExit(main())
