"""Sidebar: the inpaint brush (size, Undo, Clear) and where the mask is shown."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QSlider, QVBoxLayout, QWidget

from imgen_desktop.ui.enhance.widgets import hint_label, section_title
from imgen_desktop.ui.mask_painter import MaskPainter

PAINT_HINT = "Paint over what should be filled in. Drag with the middle button to pan."
HIDDEN_HINT = "The mask is hidden over the result and kept for the next Apply; choose Before to see or change it."


class MaskSection(QWidget):
    def __init__(self, mask: MaskPainter, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("maskBox")
        self.mask = mask
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(section_title("Area to fill", self))
        self.hint = hint_label(PAINT_HINT, self)
        self.hint.setObjectName("maskHint")
        lay.addWidget(self.hint)
        row = QHBoxLayout()
        row.addWidget(QLabel("Brush", self))
        self.brush_slider = QSlider(Qt.Orientation.Horizontal, self)
        self.brush_slider.setObjectName("brushSlider")
        self.brush_slider.setRange(2, 400)
        self.brush_slider.setValue(40)
        self.brush_slider.setToolTip("Brush diameter in photo pixels ( [ and ] change it)")
        self.brush_value = QLabel("40 px", self)
        self.brush_value.setMinimumWidth(44)
        row.addWidget(self.brush_slider, 1)
        row.addWidget(self.brush_value)
        lay.addLayout(row)
        buttons = QHBoxLayout()
        self.undo_button = QPushButton("Undo", self)
        self.undo_button.setObjectName("undoMaskButton")
        self.undo_button.setToolTip("Undo the last brush stroke (Ctrl+Z)")
        self.clear_button = QPushButton("Clear", self)
        self.clear_button.setObjectName("clearMaskButton")
        buttons.addWidget(self.undo_button)
        buttons.addWidget(self.clear_button)
        lay.addLayout(buttons)
        self.brush_slider.valueChanged.connect(self._on_brush_changed)
        self.undo_button.clicked.connect(self.mask.undo)
        self.clear_button.clicked.connect(self.mask.clear)
        self.mask.sigChanged.connect(lambda: self.undo_button.setEnabled(self.mask.can_undo()))
        self.mask.brush_size = self.brush_slider.value()

    def _on_brush_changed(self, value: int) -> None:
        self.mask.brush_size = int(value)
        self.brush_value.setText(f"{value} px")

    def step_brush(self, factor: float) -> None:
        if self.isVisible():
            self.brush_slider.setValue(max(2, round(self.brush_slider.value() * factor)))

    def set_editable(self, editable: bool) -> None:
        self.hint.setText(PAINT_HINT if editable else HIDDEN_HINT)
        for w in (self.brush_slider, self.undo_button, self.clear_button):
            w.setEnabled(editable)
        if editable:
            self.undo_button.setEnabled(self.mask.can_undo())
