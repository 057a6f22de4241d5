"""Sidebar: blend with a brush — paint where the original should show through the result (and
where the result should come back), with brush size and softness, Undo and Reset. The blend is
what Save writes; the view shows it as the "after" picture while painting."""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QButtonGroup, QHBoxLayout, QLabel, QPushButton, QRadioButton, QSlider, QVBoxLayout, QWidget

from imgen_desktop.ui.enhance.blend_painter import BlendPainter
from imgen_desktop.ui.enhance.state import EnhanceState
from imgen_desktop.ui.enhance.widgets import hint_label, section_title

HINT_OFF = "Paint parts of the original back into the result, e.g. a face an upscaler changed too much."
HINT_ON = "Paint on the photo. Drag with the middle button to pan. Save writes the blend."


class BlendSection(QWidget):
    sigPaintingChanged = Signal(bool)

    def __init__(self, state: EnhanceState, painter: BlendPainter, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("blendBox")
        self.state, self.painter = state, painter
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 6, 0, 0)
        lay.addWidget(section_title("Blend with the original", self))
        self.hint = hint_label(HINT_OFF, self)
        lay.addWidget(self.hint)
        self.paint_button = QPushButton("Paint with a brush", self)
        self.paint_button.setObjectName("blendButton")
        self.paint_button.setCheckable(True)
        self.paint_button.setToolTip("Paint on the result where the original should show through")
        lay.addWidget(self.paint_button)
        self.controls = QWidget(self)
        c = QVBoxLayout(self.controls)
        c.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        row.addWidget(QLabel("Brush shows", self.controls))
        self.original_radio = QRadioButton("Original", self.controls)
        self.original_radio.setObjectName("blendOriginalRadio")
        self.result_radio = QRadioButton("Result", self.controls)
        self.result_radio.setObjectName("blendResultRadio")
        self.original_radio.setChecked(True)
        group = QButtonGroup(self)
        group.addButton(self.original_radio)
        group.addButton(self.result_radio)
        row.addWidget(self.original_radio)
        row.addWidget(self.result_radio)
        row.addStretch(1)
        c.addLayout(row)
        self.size_slider, self.size_value = self._slider(c, "Size", "blendSizeSlider", 4, 600, painter.brush_size,
                                                         "Brush diameter in result pixels")
        self.soft_slider, self.soft_value = self._slider(c, "Softness", "blendSoftnessSlider", 0, 100,
                                                         round(painter.softness * 100), "0 = a hard edge, 100 = fades from the centre")
        buttons = QHBoxLayout()
        self.undo_button = QPushButton("Undo", self.controls)
        self.undo_button.setObjectName("blendUndoButton")
        self.reset_button = QPushButton("Reset", self.controls)
        self.reset_button.setObjectName("blendResetButton")
        self.reset_button.setToolTip("Back to the plain result")
        buttons.addWidget(self.undo_button)
        buttons.addWidget(self.reset_button)
        c.addLayout(buttons)
        lay.addWidget(self.controls)
        self.paint_button.toggled.connect(self._on_painting_changed)
        self.original_radio.toggled.connect(self._on_target_changed)
        self.size_slider.valueChanged.connect(self._on_size_changed)
        self.soft_slider.valueChanged.connect(self._on_softness_changed)
        self.undo_button.clicked.connect(painter.undo)
        self.reset_button.clicked.connect(painter.clear)
        painter.sigChanged.connect(self._refresh_buttons)
        for sig in (state.sigResultChanged, state.sigBusyChanged, state.sigBatchChanged, state.sigPhotoChanged):
            sig.connect(self.refresh)
        self.refresh()

    def _slider(self, lay, text, name, lo, hi, value, tip):
        row = QHBoxLayout()
        label = QLabel(text, self.controls)
        label.setMinimumWidth(58)
        row.addWidget(label)
        s = QSlider(Qt.Orientation.Horizontal, self.controls)
        s.setObjectName(name)
        s.setRange(lo, hi)
        s.setValue(int(value))
        s.setToolTip(tip)
        v = QLabel("", self.controls)
        v.setMinimumWidth(44)
        row.addWidget(s, 1)
        row.addWidget(v)
        lay.addLayout(row)
        return s, v

    def painting(self) -> bool:
        return self.paint_button.isChecked() and self.isVisibleTo(self.parentWidget())

    def refresh(self) -> None:
        s = self.state
        available = s.result is not None and s.photo is not None and not s.busy and not s.batch
        self.setVisible(available)
        if not available and self.paint_button.isChecked():
            self.paint_button.setChecked(False)
        self._refresh_buttons()

    def _refresh_buttons(self) -> None:
        on = self.paint_button.isChecked()
        self.controls.setVisible(on)
        self.hint.setText(HINT_ON if on else HINT_OFF)
        self.paint_button.setText("Done painting" if on else "Paint with a brush")
        self.undo_button.setEnabled(self.painter.can_undo())
        self.reset_button.setEnabled(not self.painter.is_empty())
        self.size_value.setText(f"{self.size_slider.value()} px")
        self.soft_value.setText(f"{self.soft_slider.value()} %")

    def set_painting(self, on: bool) -> None:
        self.paint_button.setChecked(bool(on))

    def _on_painting_changed(self, on: bool) -> None:
        self._refresh_buttons()
        self.sigPaintingChanged.emit(bool(on))

    def _on_target_changed(self, original: bool) -> None:
        self.painter.reveal = bool(original)

    def _on_size_changed(self, value: int) -> None:
        self.painter.brush_size = int(value)
        self._refresh_buttons()
        self.sigPaintingChanged.emit(self.paint_button.isChecked())  # the brush cursor follows

    def _on_softness_changed(self, value: int) -> None:
        self.painter.softness = value / 100
        self._refresh_buttons()

    def set_brush(self, size: int | None = None, softness: float | None = None, reveal: bool | None = None) -> None:
        if size is not None:
            self.size_slider.setValue(int(size))
        if softness is not None:
            self.soft_slider.setValue(round(softness * 100))
        if reveal is not None:
            (self.original_radio if reveal else self.result_radio).setChecked(True)
