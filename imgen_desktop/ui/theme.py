"""Dark and light palettes (Fusion style), switchable live; the choice is remembered.

Widgets that paint their own colours (plots, health lights, banners, the compare view's
checkerboard) never hard-code them: they read :func:`colors` and re-style themselves when
:func:`theme_notifier` emits ``sigThemeChanged`` (also when the palette changes on its own).
"""
from __future__ import annotations

import gc
import html
import sys
from dataclasses import dataclass

import shiboken6
from PySide6.QtCore import QEvent, QObject, Signal
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

from imgen_desktop.ui.settings import read_str, write_value

THEMES = ("system", "dark", "light")


@dataclass(frozen=True)
class ThemeColors:
    """Named colours for custom painting, as '#rrggbb' strings (usable in style sheets too)."""

    dark: bool
    window: str
    base: str  # input / plot background
    text: str
    muted: str  # secondary text, axis labels
    grid: str
    accent: str
    ok: str
    warn: str
    bad: str
    unknown: str  # a light that has not been evaluated
    banner_info: str
    banner_error: str
    curves: tuple[str, ...]  # distinct curve colours, in order


_DARK = ThemeColors(
    dark=True, window="#2b2b2f", base="#252528", text="#e1e1e1", muted="#9a9aa0", grid="#3c3c42",
    accent="#4080dc", ok="#3fae5a", warn="#e0a020", bad="#f06a6a", unknown="#6e6e74",
    banner_info="#2f4a6b", banner_error="#6b2f2f",
    curves=("#4fa3ff", "#ff8c42", "#5ad17a", "#e860c8", "#f2d04b", "#9b8cff", "#4fd6d6", "#ff6b6b"),
)
_LIGHT = ThemeColors(
    dark=False, window="#f0f0f2", base="#ffffff", text="#1e1e1e", muted="#5f5f66", grid="#d8d8de",
    accent="#2a64c4", ok="#267a3b", warn="#8f5c00", bad="#c43232", unknown="#a0a0a6",
    banner_info="#dce8f7", banner_error="#f7dcdc",
    curves=("#1f6fd1", "#d9601a", "#2e9a4a", "#b83aa0", "#a88a00", "#6a55d9", "#138a8a", "#c43232"),
)


def _palette(c: ThemeColors) -> QPalette:
    p = QPalette()
    window, base, text = QColor(c.window), QColor(c.base), QColor(c.text)
    alt = QColor(c.base).darker(110) if not c.dark else QColor(45, 45, 50)
    button = QColor(53, 53, 58) if c.dark else QColor(228, 228, 232)
    disabled = QColor(120, 120, 120) if c.dark else QColor(150, 150, 150)
    roles = {
        QPalette.ColorRole.Window: window,
        QPalette.ColorRole.WindowText: text,
        QPalette.ColorRole.Base: base,
        QPalette.ColorRole.AlternateBase: alt,
        QPalette.ColorRole.ToolTipBase: QColor(60, 60, 64) if c.dark else QColor(255, 255, 220),
        QPalette.ColorRole.ToolTipText: text,
        QPalette.ColorRole.Text: text,
        QPalette.ColorRole.Button: button,
        QPalette.ColorRole.ButtonText: text,
        QPalette.ColorRole.BrightText: QColor(255, 80, 80),
        QPalette.ColorRole.Highlight: QColor("#3470d0") if c.dark else QColor(c.accent),  # white text readable
        QPalette.ColorRole.HighlightedText: QColor(255, 255, 255),
        QPalette.ColorRole.Link: QColor(100, 160, 255) if c.dark else QColor(20, 80, 190),
        QPalette.ColorRole.PlaceholderText: QColor(140, 140, 140) if c.dark else QColor(108, 108, 114),
        QPalette.ColorRole.Light: button.lighter(130),
        QPalette.ColorRole.Midlight: button.lighter(115),
        QPalette.ColorRole.Mid: button.darker(130),
        QPalette.ColorRole.Dark: button.darker(160),
        QPalette.ColorRole.Shadow: QColor(0, 0, 0),
    }
    for role, color in roles.items():
        for group in (QPalette.ColorGroup.Active, QPalette.ColorGroup.Inactive):
            p.setColor(group, role, color)
        p.setColor(QPalette.ColorGroup.Disabled, role, color)
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText, QPalette.ColorRole.WindowText):
        p.setColor(QPalette.ColorGroup.Disabled, role, disabled)
    # a disabled control must look disabled: flat button face, grey highlight (slider groove,
    # selection), no bright edges
    disabled_button = QColor(window).lighter(105) if c.dark else QColor(window).darker(102)
    p.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Button, disabled_button)
    p.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Highlight, disabled)
    p.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.HighlightedText, QColor(c.window))
    p.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Light, disabled_button)
    p.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Base, QColor(window))
    return p


class ThemeNotifier(QObject):
    """Emits ``sigThemeChanged(theme)`` after the application palette has been switched."""

    sigThemeChanged = Signal(str)


_NOTIFIER: ThemeNotifier | None = None


def theme_notifier() -> ThemeNotifier:
    global _NOTIFIER
    if _NOTIFIER is None:
        _NOTIFIER = ThemeNotifier()
    return _NOTIFIER


def current_theme() -> str:
    return read_str("ui/theme", "dark", THEMES)


def apply_theme(app: QApplication, theme: str | None = None) -> str:
    """Switch the whole application to ``theme`` (live), remember it, tell custom painters."""
    theme = theme if theme in THEMES else current_theme()
    app.setStyle("Fusion")
    if theme == "dark":
        app.setPalette(_palette(_DARK))
    elif theme == "light":
        app.setPalette(_palette(_LIGHT))
    else:
        app.setPalette(app.style().standardPalette())
    # deliver the palette change to every widget now (Qt posts it), so that what the slots of
    # sigThemeChanged read from their widgets is already the new palette
    app.sendPostedEvents(None, QEvent.Type.ApplicationPaletteChange)
    c = colors(app)
    _configure_plots(c)
    # A widget with a style sheet keeps the palette it had when the sheet was last applied
    # (Qt resolves it once): re-apply every sheet so those widgets follow the switch too.
    # (no garbage collection meanwhile: collecting a closed window's wrappers would delete widgets
    # that are still in this list)
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        for widget in app.allWidgets():
            if not shiboken6.isValid(widget):  # deleted on the C++ side since the list was made
                continue
            sheet = widget.styleSheet()
            if sheet:
                widget.setStyleSheet(sheet)
    finally:
        if was_enabled:
            gc.enable()
    write_value("ui/theme", theme)
    theme_notifier().sigThemeChanged.emit(theme)
    return theme


def _configure_plots(c: ThemeColors) -> None:
    """pyqtgraph's global defaults, so plots created from now on match the palette. pyqtgraph is
    imported lazily (it costs start-up time): until a module imports it, there is nothing to set;
    those modules call :func:`configure_plots` when they do."""
    pg = sys.modules.get("pyqtgraph")
    if pg is not None:
        pg.setConfigOptions(background=c.base, foreground=c.muted)


def configure_plots() -> None:
    """Set pyqtgraph's defaults to the palette in use now (call after importing pyqtgraph; before
    a QApplication exists there is no palette yet, and apply_theme sets them later)."""
    if QApplication.instance() is not None:
        _configure_plots(colors())


def coloured(text: str, role: str = "bad") -> str:
    """``text`` (escaped) as rich text in the theme colour ``role`` ("bad", "warn", "ok", "muted")."""
    return f"<span style='color:{getattr(colors(), role)}'>{html.escape(text)}</span>"


def is_dark(app: QApplication | None = None) -> bool:
    app = app or QApplication.instance()
    return app.palette().color(QPalette.ColorRole.Window).lightness() < 128


def colors(app: QApplication | None = None) -> ThemeColors:
    """The named colours that go with the palette in use now."""
    return _DARK if is_dark(app) else _LIGHT
