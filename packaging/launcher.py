"""Entry script of the PyInstaller bundle.

``ImgenDesktop`` opens the window (``--self-test`` and ``--version`` as in ``imgen-desktop``);
``ImgenDesktop --cli ARGS...`` is the ``imgen`` command-line tool (the .deb's ``/usr/bin/imgen``).
"""
import multiprocessing
import sys

if __name__ == "__main__":
    multiprocessing.freeze_support()  # torch DataLoader workers on Windows/macOS (spawn)
    if len(sys.argv) > 1 and sys.argv[1] == "--cli":
        del sys.argv[1]
        from imgen_desktop.cli import main
    else:
        from imgen_desktop.app import main
    raise SystemExit(main())
