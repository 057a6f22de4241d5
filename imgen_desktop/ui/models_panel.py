"""Models panel (placeholder shell)."""
from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget


class ModelsPanel(QWidget):
    sigModelsChanged = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("modelsPanel")
        QVBoxLayout(self).addWidget(QLabel("Models"))

    def refresh(self) -> None:
        pass
