"""Sidebar: the output size before Apply, Apply / Cancel, and one progress line."""
from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QVBoxLayout, QWidget

from imgen_desktop.ui.enhance.state import EnhanceState
from imgen_desktop.ui.theme import colors, theme_notifier


class RunSection(QWidget):
    def __init__(self, state: EnhanceState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 10, 0, 0)
        self.estimate = QLabel("", self)
        self.estimate.setObjectName("outputSizeLabel")
        self.estimate.setWordWrap(True)
        self.estimate.setToolTip("The size of the result, and the memory it takes while it is made")
        lay.addWidget(self.estimate)
        self.apply_button = QPushButton("Apply", self)
        self.apply_button.setObjectName("applyButton")
        self.apply_button.setDefault(True)
        self.apply_button.setMinimumHeight(36)
        font = self.apply_button.font()
        font.setBold(True)
        self.apply_button.setFont(font)
        self.apply_button.setToolTip("Run the model on the photo (Ctrl+Enter)")
        self.cancel_button = QPushButton("Cancel", self)
        self.cancel_button.setObjectName("cancelButton")
        self.cancel_button.setMinimumHeight(36)
        self.cancel_button.setToolTip("Stop now (Esc)")
        self.cancel_button.hide()
        self.pause_button = QPushButton("Pause", self)
        self.pause_button.setObjectName("pauseBatchButton")
        self.pause_button.setMinimumHeight(36)
        self.pause_button.setToolTip("Pause the batch after the current tile; Resume goes on where it stopped")
        self.pause_button.hide()
        lay.addWidget(self.apply_button)
        row = QHBoxLayout()
        row.addWidget(self.pause_button)
        row.addWidget(self.cancel_button)
        lay.addLayout(row)
        self.progress = QProgressBar(self)
        self.progress.setObjectName("enhanceProgress")
        self.progress.setTextVisible(False)  # the one progress text is the line below
        self.progress.setMaximumHeight(8)
        self.progress.hide()
        self.progress_label = QLabel("", self)
        self.progress_label.setObjectName("progressLabel")
        self.progress_label.setWordWrap(True)
        lay.addWidget(self.progress)
        lay.addWidget(self.progress_label)
        for sig in (state.sigPhotoChanged, state.sigModelChanged, state.sigBatchChanged, state.sigBusyChanged,
                    state.sigResultChanged):
            sig.connect(self.refresh)
        state.sigProgressChanged.connect(self._on_progress_changed)
        theme_notifier().sigThemeChanged.connect(self._on_theme_changed)  # a bound slot: disconnected when the widget goes
        self.refresh()

    def refresh(self) -> None:
        s = self.state
        c = s.model
        busy = bool(s.busy)
        self.apply_button.setVisible(not busy)
        self.cancel_button.setVisible(busy)
        self.cancel_button.setEnabled(busy and not s.cancelling)
        self.pause_button.setVisible(s.busy == "batch")
        self.pause_button.setEnabled(not s.cancelling)
        self.pause_button.setText("Resume" if s.paused else "Pause")
        self.apply_button.setEnabled(c is not None and (s.photo is not None or bool(s.batch)) and not s.loading)
        word = c.title if c is not None else "Apply"
        if s.batch:
            word += f" {len(s.batch)} photos…"
        self.apply_button.setText(word)
        self.progress.setVisible(busy)
        self._refresh_estimate()

    def _on_theme_changed(self, _theme: str) -> None:
        self._refresh_estimate()

    def _refresh_estimate(self) -> None:
        s = self.state
        est = s.output_estimate() if not s.batch else None
        if est is None:
            self.estimate.setText(f"Each photo: {s.model.title}" if s.batch and s.model else "")
            self.estimate.setVisible(bool(s.batch and s.model))
            self.estimate.setStyleSheet("")
            return
        large = s.output_is_large()
        self.estimate.setText(est.text() + (" — large: consider a smaller scale or a crop" if large else ""))
        self.estimate.setProperty("warn", large)
        c = colors()
        self.estimate.setStyleSheet(f"color: {c.warn}; font-weight: bold;" if large else f"color: {c.muted};")
        self.estimate.setVisible(True)

    def _on_progress_changed(self) -> None:
        s = self.state
        if s.busy:
            self.progress.setRange(0, s.progress_total)  # 0, 0: busy without a count yet
            self.progress.setValue(s.progress_done)
        self.progress_label.setText(s.progress_text)
        self.progress_label.setVisible(bool(s.progress_text))
        self.cancel_button.setEnabled(bool(s.busy) and not s.cancelling)
