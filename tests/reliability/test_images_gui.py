"""The image corpus dropped on the canvas, one file after another, in one real main window:
valid files open (sigPhotoLoaded, no error banner), hostile ones show one clear line naming the
file (sigError, error_text()), nothing hangs (a FIFO used to block the loader thread and then
the window's close), and the window keeps working afterwards.

Written against the canvas's public surface only (see _notes/CANVAS_API.md)."""
from __future__ import annotations

import re

from PySide6.QtWidgets import QWidget


def _open(qtbot, window, canvas, path) -> tuple[str, str]:
    """Open ``path`` as a drop would; returns ("loaded", name) or ("error", message)."""
    got: list[tuple[str, str]] = []

    def loaded(name: str) -> None:
        got.append(("loaded", name))

    def failed(message: str) -> None:
        got.append(("error", message))

    canvas.sigPhotoLoaded.connect(loaded)
    canvas.sigError.connect(failed)
    try:
        window.open_paths([str(path)])
        qtbot.waitUntil(lambda: bool(got), timeout=20_000)
    finally:
        canvas.sigPhotoLoaded.disconnect(loaded)
        canvas.sigError.disconnect(failed)
    return got[0]


def test_the_corpus_on_the_canvas(qtbot, main_window, corpus):
    folder, cases = corpus
    window = main_window()
    canvas = window.findChild(QWidget, "enhanceCanvas")
    assert canvas is not None
    problems = []
    for case in (c for c in cases if c.gui):
        kind, text = _open(qtbot, window, canvas, folder / case.name)
        if case.kind == "valid":
            if kind != "loaded" or canvas.error_text():
                problems.append(f"{case.name}: {kind} {text!r}")
        else:
            ok = kind == "error" and "\n" not in text and text.startswith(f"{case.name}: ") and re.search(case.error, text)
            if not ok or canvas.error_text() != text:
                problems.append(f"{case.name}: {kind} {text!r} (banner {canvas.error_text()!r})")
    assert not problems, "\n".join(problems)
    # still usable: a good photo opens after all that, and the error banner goes away
    assert _open(qtbot, window, canvas, folder / "alpha.png") == ("loaded", "alpha.png")
    assert canvas.error_text() == "" and canvas.photo() is not None and canvas.photo().has_alpha
