"""Dark and light palettes (Fusion style); the choice is remembered."""
from __future__ import annotations

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

from imgen_desktop.ui.settings import app_settings

THEMES = ("system", "dark", "light")


def _dark_palette() -> QPalette:
    p = QPalette()
    base, alt, text = QColor(37, 37, 40), QColor(45, 45, 50), QColor(225, 225, 225)
    p.setColor(QPalette.ColorRole.Window, QColor(43, 43, 47))
    p.setColor(QPalette.ColorRole.WindowText, text)
    p.setColor(QPalette.ColorRole.Base, base)
    p.setColor(QPalette.ColorRole.AlternateBase, alt)
    p.setColor(QPalette.ColorRole.ToolTipBase, QColor(60, 60, 64))
    p.setColor(QPalette.ColorRole.ToolTipText, text)
    p.setColor(QPalette.ColorRole.Text, text)
    p.setColor(QPalette.ColorRole.Button, QColor(53, 53, 58))
    p.setColor(QPalette.ColorRole.ButtonText, text)
    p.setColor(QPalette.ColorRole.BrightText, QColor(255, 80, 80))
    p.setColor(QPalette.ColorRole.Highlight, QColor(64, 128, 220))
    p.setColor(QPalette.ColorRole.HighlightedText, QColor(255, 255, 255))
    p.setColor(QPalette.ColorRole.Link, QColor(100, 160, 255))
    p.setColor(QPalette.ColorRole.PlaceholderText, QColor(140, 140, 140))
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText, QPalette.ColorRole.WindowText):
        p.setColor(QPalette.ColorGroup.Disabled, role, QColor(120, 120, 120))
    return p


def current_theme() -> str:
    value = str(app_settings().value("ui/theme", "dark"))
    return value if value in THEMES else "dark"


def apply_theme(app: QApplication, theme: str | None = None) -> str:
    theme = theme or current_theme()
    app.setStyle("Fusion")
    if theme == "dark":
        app.setPalette(_dark_palette())
    elif theme == "light":
        app.setPalette(app.style().standardPalette())
    else:
        app.setPalette(QPalette())
    s = app_settings()
    s.setValue("ui/theme", theme)
    s.sync()
    return theme


def is_dark(app: QApplication | None = None) -> bool:
    app = app or QApplication.instance()
    return app.palette().color(QPalette.ColorRole.Window).lightness() < 128
