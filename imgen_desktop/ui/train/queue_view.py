"""The queue view (objectName ``queueView``), a tab under the Train tab's plot: a status line,
the entries in order (position, run, model, preset, pictures, state, steps) and the buttons
Run queue / Pause queue, Move up / Move down, Remove, Run again, Clear finished.

It shows rows from :mod:`imgen_desktop.ui.train.queue_state` and emits what the user asked for
(the entry's id); the Train panel's :class:`~imgen_desktop.ui.train.queue_panel.QueueMixin`
does it. Double-clicking an entry sends its id to load its settings into the form.
"""
from __future__ import annotations

from PySide6.QtCore import QSignalBlocker, Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView, QHBoxLayout, QHeaderView, QLabel, QPushButton, QTreeWidget, QTreeWidgetItem, QVBoxLayout,
    QWidget,
)

from imgen_desktop.ui.theme import colors, theme_notifier
from imgen_desktop.ui.train.queue_state import COLUMNS, QueueRow, QueueSummary

STATE_COLUMN, STEPS_COLUMN = COLUMNS.index("State"), COLUMNS.index("Steps")


class QueueView(QWidget):
    sigRun = Signal()
    sigPauseToggled = Signal()
    sigMove = Signal(int, int)  # entry id, -1 (up) / +1 (down)
    sigRemove = Signal(int)
    sigRetry = Signal(int)
    sigClearFinished = Signal()
    sigLoad = Signal(int)  # load the entry's settings into the form

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("queueView")
        v = QVBoxLayout(self)
        v.setContentsMargins(2, 2, 2, 2)
        v.setSpacing(3)
        top = QHBoxLayout()
        self.run_button = self._button("▶  Run queue", "queueRunButton",
                                       "Train the waiting entries one after another (a failed one does not stop the queue)")
        self.pause_button = self._button("Pause queue", "queuePauseButton",
                                         "Let the entry training now finish, then start no further entry; the rest wait")
        self.pause_button.setCheckable(True)
        self.status = QLabel("", self)
        self.status.setObjectName("queueStatus")
        self.status.setWordWrap(True)
        top.addWidget(self.run_button)
        top.addWidget(self.pause_button)
        top.addWidget(self.status, 1)
        v.addLayout(top)
        row = QHBoxLayout()
        self.tree = QTreeWidget(self)
        self.tree.setObjectName("queueList")
        self.tree.setColumnCount(len(COLUMNS))
        self.tree.setHeaderLabels(list(COLUMNS))
        self.tree.setRootIsDecorated(False)
        self.tree.setUniformRowHeights(True)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        header = self.tree.header()
        header.setStretchLastSection(False)
        for i in range(len(COLUMNS)):
            header.setSectionResizeMode(i, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(STATE_COLUMN, QHeaderView.ResizeMode.Stretch)
        self.tree.currentItemChanged.connect(self._on_selection_changed)
        self.tree.itemDoubleClicked.connect(lambda item, _c: self.sigLoad.emit(int(item.data(0, Qt.ItemDataRole.UserRole))))
        row.addWidget(self.tree, 1)
        side = QVBoxLayout()
        side.setSpacing(2)
        self.up_button = self._button("Move up", "queueUpButton", "Run this entry earlier")
        self.down_button = self._button("Move down", "queueDownButton", "Run this entry later")
        self.remove_button = self._button("Remove", "queueRemoveButton", "Take this entry out of the queue")
        self.retry_button = self._button("Run again", "queueRetryButton",
                                         "Queue a failed or stopped entry again (a stopped one continues from its checkpoint)")
        self.clear_button = self._button("Clear finished", "queueClearButton",
                                         "Remove the entries that are done (failed ones stay until you remove them)")
        for b in (self.up_button, self.down_button, self.remove_button, self.retry_button, self.clear_button):
            side.addWidget(b)
        side.addStretch(1)
        row.addLayout(side)
        v.addLayout(row, 1)
        self.run_button.clicked.connect(self.sigRun)
        self.pause_button.clicked.connect(self.sigPauseToggled)
        self.up_button.clicked.connect(lambda: self._emit_selected(self.sigMove, -1))
        self.down_button.clicked.connect(lambda: self._emit_selected(self.sigMove, 1))
        self.remove_button.clicked.connect(lambda: self._emit_selected(self.sigRemove))
        self.retry_button.clicked.connect(lambda: self._emit_selected(self.sigRetry))
        self.clear_button.clicked.connect(self.sigClearFinished)
        self.rows: list[QueueRow] = []
        self.summary = QueueSummary()
        theme_notifier().sigThemeChanged.connect(self._on_theme_changed)
        self.show_rows([], QueueSummary())

    def _button(self, text: str, name: str, tip: str) -> QPushButton:
        b = QPushButton(text, self)
        b.setObjectName(name)
        b.setToolTip(tip)
        return b

    # ------------------------------------------------------------------ showing
    def show_rows(self, rows: list[QueueRow], summary: QueueSummary) -> None:
        """Show ``rows`` (keeping the selected entry selected) and the buttons for ``summary``."""
        selected = self.selected_id()
        self.rows, self.summary = list(rows), summary
        with QSignalBlocker(self.tree):
            if [r.id for r in rows] != self._ids():
                self.tree.clear()
                for r in rows:
                    item = QTreeWidgetItem(r.cells)
                    item.setData(0, Qt.ItemDataRole.UserRole, r.id)
                    self.tree.addTopLevelItem(item)
            for i, r in enumerate(rows):
                item = self.tree.topLevelItem(i)
                for col, text in enumerate(r.cells):
                    if item.text(col) != text:
                        item.setText(col, text)
                for col in range(len(COLUMNS)):
                    item.setToolTip(col, r.tooltip)
                item.setToolTip(STATE_COLUMN, r.cells[STATE_COLUMN] + "\n\n" + r.tooltip)
                self._colour(item, r.state)
                if r.id == selected:
                    self.tree.setCurrentItem(item)
        self.status.setText(summary.text())
        self._show_buttons()

    def set_live_step(self, entry_id: int, text: str) -> None:
        for i, r in enumerate(self.rows):
            if r.id == entry_id and r.state == "running":
                item = self.tree.topLevelItem(i)
                if item is not None and item.text(STEPS_COLUMN) != text:
                    item.setText(STEPS_COLUMN, text)

    def _colour(self, item: QTreeWidgetItem, state: str) -> None:
        c = colors()
        colour = {"running": c.accent, "failed": c.bad, "done": c.ok, "stopped": c.warn}.get(state)
        brush = QBrush(QColor(colour)) if colour else QBrush()
        item.setForeground(STATE_COLUMN, brush)
        font = item.font(0)
        font.setBold(state == "running")
        for col in range(len(COLUMNS)):
            item.setFont(col, font)

    def _on_theme_changed(self, _theme: str) -> None:
        for i, r in enumerate(self.rows):
            item = self.tree.topLevelItem(i)
            if item is not None:
                self._colour(item, r.state)

    def _show_buttons(self) -> None:
        s = self.summary
        row = self.selected_row()
        busy = s.running_here or s.running_elsewhere
        runnable = s.count("queued", "stopped") > 0
        self.run_button.setEnabled(not busy and not s.waiting_for_run and runnable)
        self.run_button.setText("▶  Run queue")
        with QSignalBlocker(self.pause_button):
            self.pause_button.setEnabled(s.running_here or s.waiting_for_run)
            self.pause_button.setChecked(bool(s.running_here and s.paused))
        if s.waiting_for_run:
            self.pause_button.setText("Don't start the queue")
        elif s.running_here and s.paused:
            self.pause_button.setText("Pausing after this entry (click to go on)")
        else:
            self.pause_button.setText("Pause queue after this entry")
        index = next((i for i, r in enumerate(self.rows) if row is not None and r.id == row.id), -1)
        self.up_button.setEnabled(index > 0)
        self.down_button.setEnabled(0 <= index < len(self.rows) - 1)
        self.remove_button.setEnabled(row is not None and row.state != "running")
        self.retry_button.setEnabled(row is not None and row.state in ("failed", "stopped"))
        self.clear_button.setEnabled(s.count("done") > 0)

    # ------------------------------------------------------------------ selection
    def _ids(self) -> list[int]:
        return [int(self.tree.topLevelItem(i).data(0, Qt.ItemDataRole.UserRole)) for i in range(self.tree.topLevelItemCount())]

    def selected_id(self) -> int | None:
        item = self.tree.currentItem()
        return None if item is None else int(item.data(0, Qt.ItemDataRole.UserRole))

    def selected_row(self) -> QueueRow | None:
        sid = self.selected_id()
        return next((r for r in self.rows if r.id == sid), None)

    def select(self, entry_id: int) -> bool:
        for i in range(self.tree.topLevelItemCount()):
            item = self.tree.topLevelItem(i)
            if int(item.data(0, Qt.ItemDataRole.UserRole)) == entry_id:
                self.tree.setCurrentItem(item)
                return True
        return False

    def _on_selection_changed(self, _item, _previous) -> None:
        self._show_buttons()

    def _emit_selected(self, signal, *extra) -> None:
        sid = self.selected_id()
        if sid is not None:
            signal.emit(sid, *extra)
