"""Sidebar: what the result is, Save… with the JPEG/WebP quality, and "use result as photo"."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QHBoxLayout, QPushButton, QSpinBox, QVBoxLayout, QWidget

from imgen_desktop.ui.enhance.photo_view import describe_photo
from imgen_desktop.ui.enhance.state import EnhanceState
from imgen_desktop.ui.enhance.widgets import hint_label, section_title
from imgen_desktop.ui.settings import app_settings


class SaveSection(QWidget):
    def __init__(self, state: EnhanceState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(section_title("Result", self))
        self.result_label = hint_label("No result yet.", self)
        self.result_label.setObjectName("resultInfoLabel")
        lay.addWidget(self.result_label)
        row = QHBoxLayout()
        self.save_button = QPushButton("Save…", self)
        self.save_button.setObjectName("saveButton")
        self.save_button.setToolTip("Save the result as PNG, JPEG, WebP or TIFF (Ctrl+S); alpha, colour profile and EXIF are kept")
        self.quality_spin = QSpinBox(self)
        self.quality_spin.setObjectName("qualitySpin")
        self.quality_spin.setRange(1, 100)
        self.quality_spin.setPrefix("quality ")
        self.quality_spin.setToolTip("JPEG and WebP quality (WebP 100 = lossless); PNG and TIFF are always lossless")
        self.quality_spin.setValue(int(app_settings().value("enhance/quality", 92) or 92))
        row.addWidget(self.save_button, 1)
        row.addWidget(self.quality_spin)
        lay.addLayout(row)
        self.chain_button = QPushButton("Use result as the new photo", self)
        self.chain_button.setObjectName("chainButton")
        self.chain_button.setToolTip("Continue from the result, e.g. denoise first, then upscale")
        lay.addWidget(self.chain_button)
        self.quality_spin.valueChanged.connect(lambda v: app_settings().setValue("enhance/quality", int(v)))
        for sig in (state.sigResultChanged, state.sigBusyChanged, state.sigPhotoChanged, state.sigBlendChanged):
            sig.connect(self.refresh)
        self.refresh()

    def refresh(self) -> None:
        s = self.state
        has_result = s.result is not None
        self.save_button.setEnabled(has_result and not s.busy and not s.saving)
        self.save_button.setText("Saving…" if s.saving else "Save…")
        self.chain_button.setVisible(has_result)
        self.chain_button.setEnabled(has_result and not s.busy)
        if not has_result:
            self.result_label.setText("No result yet.")
            return
        text = describe_photo(s.result, "Result")
        if s.blended is not None:
            text += "\nBlended with the original (Save writes the blend)"
        if s.result_saved:
            text += f"\nSaved as {Path(s.result_saved).name}"
        elif s.result is not None:
            text += "\nNot saved yet"
        self.result_label.setText(text)
