"""Sidebar: the offer to continue an unfinished batch of the photos just opened (after a cancel,
a crash of the app or of the machine), with its counts: "12 done, 30 left, 1 failed"."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QPushButton, QVBoxLayout, QWidget

from imgen_desktop.ui.enhance.state import EnhanceState
from imgen_desktop.ui.enhance.widgets import hint_label


class ResumeStrip(QWidget):
    def __init__(self, state: EnhanceState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("resumeStrip")
        self.state = state
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 6, 0, 0)
        self.label = hint_label("", self)
        self.label.setObjectName("resumeLabel")
        self.label.setEnabled(True)
        lay.addWidget(self.label)
        self.continue_button = QPushButton("Continue the unfinished batch", self)
        self.continue_button.setObjectName("continueBatchButton")
        self.continue_button.setToolTip("Finish the batch with the same model and settings; finished photos are not redone")
        lay.addWidget(self.continue_button)
        state.sigResumeChanged.connect(self.refresh)
        state.sigBusyChanged.connect(self.refresh)
        self.refresh()

    def refresh(self) -> None:
        m = self.state.resume
        self.setVisible(m is not None and not self.state.busy)
        if m is None:
            return
        counts = m.counts(check_outputs=True)
        self.label.setText(f"An unfinished batch of these photos is in {Path(m.out_dir).name}/: {counts.text()}.")
        self.continue_button.setToolTip(f"Into {m.out_dir}, with the same model and settings; finished photos are not redone")
