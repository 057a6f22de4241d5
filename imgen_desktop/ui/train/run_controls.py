"""Run controls: Start / Continue, Pause, Stop, Resume run…; and the progress bar with the
smoothed ETA (or how the last run ended). Both show a :class:`RunState`."""
from __future__ import annotations

from PySide6.QtCore import QSignalBlocker, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QVBoxLayout, QWidget

from imgen_desktop.ui.theme import colors, theme_notifier
from imgen_desktop.ui.train.state import IDLE, PAUSED, STOPPING, RunState


class RunButtons(QWidget):
    sigStart = Signal()
    sigPauseToggled = Signal()
    sigStop = Signal()
    sigResumeRun = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("runControls")
        v = QVBoxLayout(self)
        v.setContentsMargins(0, 0, 0, 0)
        v.setSpacing(4)
        self.start_button = QPushButton("▶  Start training", self)
        self.start_button.setObjectName("startButton")
        self.start_button.setMinimumHeight(36)
        font = QFont(self.start_button.font())
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.1)
        self.start_button.setFont(font)
        self.start_button.setToolTip("Start training with these settings")
        self.start_button.clicked.connect(self.sigStart)
        v.addWidget(self.start_button)
        row = QHBoxLayout()
        self.pause_button = QPushButton("Pause", self)
        self.pause_button.setObjectName("pauseButton")
        self.pause_button.setToolTip("Pause training (the model stays loaded); press Resume to go on")
        self.pause_button.clicked.connect(self.sigPauseToggled)
        self.stop_button = QPushButton("Stop && save", self)
        self.stop_button.setObjectName("stopButton")
        self.stop_button.setToolTip("Stop training, save a checkpoint and the model so far")
        self.stop_button.clicked.connect(self.sigStop)
        self.resume_button = QPushButton("Continue a run…", self)
        self.resume_button.setObjectName("resumeRunButton")
        self.resume_button.setToolTip("Pick an earlier run to continue from its last checkpoint (same step counter and curves)")
        self.resume_button.clicked.connect(self.sigResumeRun)
        for b in (self.pause_button, self.stop_button, self.resume_button):
            row.addWidget(b)
        v.addLayout(row)
        theme_notifier().sigThemeChanged.connect(self._on_theme_changed)
        self._on_theme_changed("")
        self.show_state(RunState())

    def _on_theme_changed(self, _theme: str) -> None:
        c = colors()
        self.start_button.setStyleSheet(
            f"QPushButton#startButton {{ background: {c.ok}; color: white; border-radius: 4px; }}"
            f"QPushButton#startButton:disabled {{ background: {c.grid}; color: {c.muted}; }}")

    def show_state(self, run: RunState) -> None:
        idle = run.phase == IDLE
        for button, enabled in ((self.start_button, idle), (self.resume_button, idle),
                                (self.pause_button, not idle and run.phase != STOPPING),
                                (self.stop_button, not idle and run.phase != STOPPING)):
            with QSignalBlocker(button):
                button.setEnabled(enabled)
        self.pause_button.setText("Resume" if run.phase == PAUSED else "Pause")
        if run.resume_name:
            self.start_button.setText(f"▶  Continue “{run.resume_name}”")
            self.start_button.setToolTip("Continue this run from its last checkpoint (same step counter and curves)")
        else:
            self.start_button.setText("▶  Start training")
            self.start_button.setToolTip("Start a new run with these settings")


class RunProgress(QWidget):
    """The ``trainProgress`` bar and the ETA / speed (or "Stopped at step N") beside it."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        self.progress = QProgressBar(self)
        self.progress.setObjectName("trainProgress")
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setFormat("ready")
        self.progress.setTextVisible(True)
        row.addWidget(self.progress, 1)
        self.speed_label = QLabel("", self)
        self.speed_label.setObjectName("trainSpeed")
        self.speed_label.setMinimumWidth(240)
        row.addWidget(self.speed_label)
        self._text = ""

    def show_state(self, run: RunState) -> None:
        total = max(run.total, 1)
        if self.progress.maximum() != total:
            self.progress.setRange(0, total)
        self.progress.setValue(min(run.step, total))
        fmt = run.progress_format()
        if self.progress.format() != fmt:
            self.progress.setFormat(fmt)
        text = run.speed_text()
        if text != self._text:  # a label's text change relayouts the row: only when it changed
            self._text = text
            self.speed_label.setText(text)
