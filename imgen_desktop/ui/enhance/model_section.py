"""Sidebar: the model picker and one line about the chosen model."""
from __future__ import annotations

from PySide6.QtCore import QSignalBlocker, Qt
from PySide6.QtWidgets import QComboBox, QPushButton, QVBoxLayout, QWidget

from imgen_desktop.core.enhance import ModelChoice
from imgen_desktop.ui.enhance.state import EnhanceState
from imgen_desktop.ui.enhance.widgets import hint_label, section_title


def model_label(c: ModelChoice) -> str:
    """What the picker shows: name, task and scale."""
    label = c.label
    if c.task not in label.lower() or (c.task == "upscale" and str(c.scale) not in label):
        label = f"{label} — {c.title}"
    return label


def model_details(c: ModelChoice) -> str:
    where = "built-in" if c.builtin else "your model"
    extra = []
    if c.needs_mask:
        extra.append("paint the area to fill")
    if c.takes_noise_level:
        extra.append("adjustable strength")
    if c.takes_variation:
        extra.append("can sample variations")
    details = " · ".join([c.family.upper(), c.title, where] + extra)
    return f"{details}\n{c.description}" if c.description else details


class ModelSection(QWidget):
    def __init__(self, state: EnhanceState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(section_title("Model", self))
        self.combo = QComboBox(self)
        self.combo.setObjectName("modelCombo")
        self.combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.combo.setMinimumContentsLength(16)
        self.combo.addItem("Loading models…")
        lay.addWidget(self.combo)
        self.info = hint_label("", self)
        self.info.setObjectName("modelInfoLabel")
        lay.addWidget(self.info)
        self.compare_button = QPushButton("Compare models…", self)
        self.compare_button.setObjectName("compareModelsButton")
        self.compare_button.setToolTip("Run 2 to 4 models on this photo and see the results side by side")
        lay.addWidget(self.compare_button)
        self.combo.currentIndexChanged.connect(self._on_combo_changed)
        state.sigModelsChanged.connect(self._on_models_changed)
        state.sigModelChanged.connect(self._on_model_changed)
        state.sigBusyChanged.connect(lambda: self.combo.setEnabled(not state.busy))
        for sig in (state.sigBusyChanged, state.sigPhotoChanged, state.sigBatchChanged, state.sigModelsChanged):
            sig.connect(self._refresh_compare)
        self._refresh_compare()

    def _refresh_compare(self) -> None:
        s = self.state
        self.compare_button.setVisible(s.photo is not None and not s.batch)
        self.compare_button.setEnabled(not s.busy and sum(not m.needs_mask for m in s.models) >= 2)

    def _on_models_changed(self) -> None:
        with QSignalBlocker(self.combo):
            self.combo.clear()
            for c in self.state.models:
                self.combo.addItem(model_label(c))
                self.combo.setItemData(self.combo.count() - 1, f"{model_details(c)}\n{c.spec}", Qt.ItemDataRole.ToolTipRole)
            if not self.state.models:
                self.combo.addItem("No models yet — train one on the Train tab")
        self._on_model_changed()

    def _on_model_changed(self) -> None:
        c = self.state.model
        index = self.state.models.index(c) if c in self.state.models else -1
        with QSignalBlocker(self.combo):
            self.combo.setCurrentIndex(max(0, index) if self.state.models else 0)
        self.info.setText(model_details(c) if c is not None else "")
        self.combo.setToolTip(model_details(c) if c is not None else "")

    def _on_combo_changed(self, index: int) -> None:
        models = self.state.models
        self.state.set_model(models[index] if 0 <= index < len(models) else None)
