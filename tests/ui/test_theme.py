"""View → Theme, live, through the real window: dark → light → dark switches every palette
role, every widget (style-sheeted ones too), new plots and the Models tab's own colours, and
the texts stay readable in both palettes."""
from __future__ import annotations

import pytest
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication, QLabel, QMenu, QWidget

ROLES = QPalette.ColorRole
PAIRS = ((ROLES.WindowText, ROLES.Window), (ROLES.Text, ROLES.Base), (ROLES.ButtonText, ROLES.Button),
         (ROLES.HighlightedText, ROLES.Highlight), (ROLES.ToolTipText, ROLES.ToolTipBase),
         (ROLES.PlaceholderText, ROLES.Base))


def _luminance(c: QColor) -> float:
    def lin(v: float) -> float:
        return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4
    return 0.2126 * lin(c.redF()) + 0.7152 * lin(c.greenF()) + 0.0722 * lin(c.blueF())


def contrast(a: QColor, b: QColor) -> float:
    hi, lo = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def _theme_action(window, name: str):
    for top in window.menuBar().actions():
        if top.text().replace("&", "") == "View":
            for action in top.menu().actions():
                if isinstance(action.menu(), QMenu) and action.text().replace("&", "") == "Theme":
                    return next(a for a in action.menu().actions() if a.text() == name)
    raise AssertionError("no View → Theme menu")


def _snapshot(window) -> dict:
    out = {}
    for w in [window, *window.findChildren(QWidget)]:
        p = w.palette()
        out[id(w)] = (w.metaObject().className(), w.objectName(), p.color(ROLES.Window).name(),
                      p.color(ROLES.Base).name(), p.color(ROLES.WindowText).name(), p.color(ROLES.Text).name())
    return out


@pytest.mark.timeout(120)
def test_dark_light_dark_live(main_window, qtbot, imgen_home):
    import pyqtgraph as pg

    from imgen_desktop.ui.theme import _DARK, _LIGHT, theme_notifier

    window = main_window()
    app = QApplication.instance()
    panel = window.findChild(QWidget, "modelsPanel")
    qtbot.waitUntil(lambda: panel.table.rowCount() >= 4, timeout=30_000)  # the built-ins
    probe = QLabel("a label with a style sheet of its own", window)  # as any panel may have
    probe.setObjectName("sheetProbe")
    probe.setStyleSheet("QLabel { padding: 2px; }")
    window.statusBar().addWidget(probe)
    with qtbot.waitSignal(theme_notifier().sigThemeChanged, timeout=5000):
        _theme_action(window, "Dark").trigger()  # every widget styles itself for dark once
    dark = _snapshot(window)
    styled = [w for w in window.findChildren(QWidget) if w.styleSheet()]
    assert styled, "the window has style-sheeted widgets (the canvas page, the Start button …)"

    for name, c in (("Light", _LIGHT), ("Dark", _DARK)):
        with qtbot.waitSignal(theme_notifier().sigThemeChanged, timeout=5000):
            _theme_action(window, name).trigger()
        assert _theme_action(window, name).isChecked()
        pal = app.palette()
        assert pal.color(ROLES.Window).name() == c.window and pal.color(ROLES.Base).name() == c.base
        assert pal.color(ROLES.Text).name() == c.text and pal.color(ROLES.WindowText).name() == c.text
        for fg, bg in PAIRS:  # every text readable on its background
            assert contrast(pal.color(fg), pal.color(bg)) >= 4.5, (name, fg, bg)
        for role in ("text", "muted", "ok", "warn", "bad"):  # the named colours used for texts too
            for bg in (c.window, c.base):
                assert contrast(QColor(getattr(c, role)), QColor(bg)) >= 4.5, (name, role, bg)
        # plain widgets and style-sheeted ones alike follow the switch
        table = panel.table
        assert table.palette().color(ROLES.Base).name() == c.base
        assert table.palette().color(ROLES.Text).name() == c.text
        # style-sheeted widgets keep none of the other palette's colours (Qt freezes the palette
        # a sheet was applied with; the switch must re-apply them)
        other = _DARK if c is _LIGHT else _LIGHT
        stale = {other.window, other.base, other.banner_info, other.banner_error}
        left = [(w.objectName(), w.palette().color(ROLES.Window).name()) for w in styled
                if w.palette().color(ROLES.Window).name() in stale]
        assert not left, left
        assert probe.palette().color(ROLES.Window).name() == c.window
        # new plots get the theme's colours
        assert QColor(pg.getConfigOption("background")).name() == c.base
        assert QColor(pg.getConfigOption("foreground")).name() == c.muted
        # the Models tab's own colours: a built-in row is muted, readable on the table's base
        row = next(r for r in range(table.rowCount()) if "(built-in)" in table.item(r, 0).text())
        fg = table.item(row, 0).foreground().color()
        assert fg.name() == c.muted and contrast(fg, QColor(c.base)) >= 3.0

    assert _snapshot(window) == dark  # back to dark: every widget exactly as before, no restart
    assert (imgen_home / "settings.ini").read_text().count("theme=dark") == 1


def test_error_text_is_in_the_theme_colour(main_window, qtbot):
    from imgen_desktop.ui.theme import _DARK, _LIGHT, apply_theme

    window = main_window()
    panel = window.findChild(QWidget, "modelsPanel")
    panel._error("Could not rename “a”: it is locked")  # what a failed rename shows
    panel._error_box.close()
    assert _DARK.bad in panel.info.text()
    apply_theme(QApplication.instance(), "light")
    assert _LIGHT.bad in panel.info.text() and "it is locked" in panel.info.text()
    apply_theme(QApplication.instance(), "dark")


def test_disabled_controls_look_disabled_in_both_palettes(qtbot):
    """A disabled slider or button must not be drawn like an enabled one (same face, same groove)."""
    from PySide6.QtGui import QPalette
    from PySide6.QtWidgets import QApplication

    from imgen_desktop.ui.theme import apply_theme

    app = QApplication.instance() or QApplication([])
    for theme in ("dark", "light"):
        apply_theme(app, theme)
        pal = app.palette()
        for role in (QPalette.ColorRole.Button, QPalette.ColorRole.Highlight, QPalette.ColorRole.ButtonText):
            assert pal.color(QPalette.ColorGroup.Disabled, role) != pal.color(QPalette.ColorGroup.Active, role), (theme, role)
    apply_theme(app, "dark")
