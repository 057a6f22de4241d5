"""Training panel (placeholder shell; the full panel is built in the training issue)."""
from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QLabel, QVBoxLayout, QWidget


class TrainPanel(QWidget):
    sigModelSaved = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("trainPanel")
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Training"))
        self.device_combo = QComboBox(self)
        self.device_combo.setObjectName("deviceCombo")
        layout.addWidget(self.device_combo)

    def set_devices(self, devices: list[tuple[str, str]]) -> None:
        self.device_combo.clear()
        self.device_combo.addItem("auto — best available", "auto")
        for dev_id, label in devices:
            self.device_combo.addItem(label, dev_id)

    def is_training(self) -> bool:
        return False

    def stop_and_wait(self, timeout_ms: int = 60000) -> None:
        pass
