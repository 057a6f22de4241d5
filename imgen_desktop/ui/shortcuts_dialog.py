"""Help → Keyboard shortcuts: a table made from the window's own QActions (and the QShortcuts
that describe themselves with ``whatsThis``), so it always lists what the keys really do."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QDialog, QDialogButtonBox, QHeaderView, QMainWindow, QMenu, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget,
)


def _plain(text: str) -> str:
    return text.replace("&&", "\0").replace("&", "").replace("\0", "&").rstrip("…").rstrip(".").strip()


def _keys(seqs: list[QKeySequence]) -> str:
    return ", ".join(s.toString(QKeySequence.SequenceFormat.NativeText) for s in seqs if not s.isEmpty())


def _menu_actions(menu: QMenu, path: str):
    for action in menu.actions():
        if action.menu() is not None:
            yield from _menu_actions(action.menu(), f"{path} → {_plain(action.text())}")
        elif not action.isSeparator():
            yield path, action


def _area_of(window: QMainWindow, obj) -> str:
    """The tab (area) a widget-owned shortcut belongs to, or "Window"."""
    tabs = getattr(window, "tabs", None)
    widget = obj.parent() if not isinstance(obj, QWidget) else obj
    while widget is not None and tabs is not None:
        index = tabs.indexOf(widget) if isinstance(widget, QWidget) else -1
        if index >= 0:
            return tabs.tabText(index).replace("&", "")
        widget = widget.parent()
    return "Window"


def shortcut_rows(window: QMainWindow) -> list[tuple[str, str, str]]:
    """(where, what, keys) for every shortcut the window defines, menus first."""
    rows, seen = [], set()
    for top in window.menuBar().actions():
        if top.menu() is None:
            continue
        for path, action in _menu_actions(top.menu(), _plain(top.text())):
            keys = _keys(action.shortcuts())
            if keys and id(action) not in seen:
                seen.add(id(action))
                rows.append((path, _plain(action.text()), keys))
    for action in window.findChildren(QAction):
        keys = _keys(action.shortcuts())
        if keys and id(action) not in seen and action.text():
            seen.add(id(action))
            rows.append((_area_of(window, action), _plain(action.text()), keys))
    for shortcut in window.findChildren(QShortcut):
        keys = _keys([shortcut.key()])
        if keys and shortcut.whatsThis():
            rows.append((_area_of(window, shortcut), shortcut.whatsThis(), keys))
    return rows


class ShortcutsDialog(QDialog):
    def __init__(self, window: QMainWindow) -> None:
        super().__init__(window)
        self.setObjectName("shortcutsDialog")
        self.setWindowTitle("Keyboard shortcuts")
        layout = QVBoxLayout(self)
        rows = shortcut_rows(window)
        self.table = QTableWidget(len(rows), 3, self)
        self.table.setObjectName("shortcutsTable")
        self.table.setHorizontalHeaderLabels(("Where", "Action", "Shortcut"))
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QTableWidget.SelectionMode.NoSelection)
        self.table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        for r, row in enumerate(rows):
            for c, text in enumerate(row):
                item = QTableWidgetItem(text)
                if c == 2:
                    font = item.font()
                    font.setBold(True)
                    item.setFont(font)
                self.table.setItem(r, c, item)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        layout.addWidget(self.table)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.resize(560, min(640, 90 + 30 * len(rows)))
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, False)

    def rows(self) -> list[tuple[str, str, str]]:
        return [tuple(self.table.item(r, c).text() for c in range(3)) for r in range(self.table.rowCount())]
