"""Shared by the theme tests of the Train views."""
from __future__ import annotations


def switch_theme(qtbot, theme: str) -> None:
    """apply_theme live; fails on any error a view raises while it follows the switch (also from
    views of windows that earlier tests closed: their slots must be gone with them)."""
    from PySide6.QtWidgets import QApplication

    from imgen_desktop.ui.theme import apply_theme

    with qtbot.capture_exceptions() as errors:
        apply_theme(QApplication.instance(), theme)
    assert not errors, errors
