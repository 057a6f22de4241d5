"""Sidebar: the files of a batch with their status (wrapped, never a sideways scrollbar), and a
detail line with the whole message of the selected file. Done files can be clicked to review
the result against the original."""
from __future__ import annotations

from PySide6.QtCore import QSignalBlocker, Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QAbstractItemView, QListWidget, QListWidgetItem, QVBoxLayout, QWidget

from imgen_desktop.ui.enhance.state import DONE, FAILED, SKIPPED, EnhanceState
from imgen_desktop.ui.enhance.widgets import hint_label, section_title
from imgen_desktop.ui.theme import colors, theme_notifier


class BatchList(QWidget):
    sigItemChosen = Signal(int)

    def __init__(self, state: EnhanceState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        self.title = section_title("", self)
        self.title.setObjectName("batchLabel")
        lay.addWidget(self.title)
        self.list = QListWidget(self)
        self.list.setObjectName("batchList")
        self.list.setToolTip("Click a photo to preview it; once enhanced, to compare it with its result")
        self.list.setMinimumHeight(120)
        self.list.setWordWrap(True)
        self.list.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.list.setResizeMode(QListWidget.ResizeMode.Adjust)
        lay.addWidget(self.list)
        self.detail = hint_label("", self)
        self.detail.setObjectName("batchDetail")
        self.detail.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.detail.setEnabled(True)
        lay.addWidget(self.detail)
        self.list.currentRowChanged.connect(self._on_row_changed)
        state.sigBatchChanged.connect(self._on_batch_changed)
        state.sigBatchItemChanged.connect(self._on_item_changed)
        theme_notifier().sigThemeChanged.connect(self._on_theme_changed)  # a bound slot: disconnected when the widget goes
        self._on_batch_changed()

    def _on_batch_changed(self) -> None:
        items = self.state.batch
        with QSignalBlocker(self.list):
            self.list.clear()
            for i in range(len(items)):
                self.list.addItem(QListWidgetItem())
                self._on_item_changed(i)
        self.title.setText(f"{len(items)} photos to enhance together" if items else "")
        self.setVisible(bool(items))
        self._update_detail()

    def _on_item_changed(self, index: int) -> None:
        item, data = self.list.item(index), self.state.batch[index] if index < len(self.state.batch) else None
        if item is None or data is None:
            return
        item.setText(data.text())
        item.setToolTip(f"{data.path}\n{data.error or data.status_text()}" + (f"\n→ {data.output}" if data.output else ""))
        self._colour(item, data.status)
        if index == self.list.currentRow():
            self._update_detail(index)
        if data.status == "working":
            self.list.scrollToItem(item)

    def _colour(self, item: QListWidgetItem, status: str) -> None:
        c = colors()
        colour = {FAILED: c.bad, DONE: c.ok, SKIPPED: c.ok}.get(status)
        item.setForeground(QColor(colour) if colour else self.palette().text().color())

    def _on_theme_changed(self, _theme: str) -> None:
        self._recolour()

    def _recolour(self) -> None:
        for i, data in enumerate(self.state.batch):
            item = self.list.item(i)
            if item is not None:
                self._colour(item, data.status)

    def _update_detail(self, index: int | None = None) -> None:
        index = self.list.currentRow() if index is None else index
        items = self.state.batch
        if not (0 <= index < len(items)):
            self.detail.setText("")
            return
        data = items[index]
        text = f"✗ {data.error}" if data.error else f"{data.name}: {data.status_text()}"
        if data.reviewable:
            text += " — shown beside the original"
        self.detail.setText(text)

    def _on_row_changed(self, row: int) -> None:
        self._update_detail(row)
        if row >= 0:
            self.sigItemChosen.emit(row)

    def select(self, row: int) -> None:
        self.list.setCurrentRow(row)
