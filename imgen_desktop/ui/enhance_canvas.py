"""Enhancement canvas (placeholder shell; the full canvas is built in the enhancement issue)."""
from __future__ import annotations

from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget


class EnhanceCanvas(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("enhanceCanvas")
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Drop a photo here — or open one"))

    def open_dialog(self) -> None:
        pass

    def open_paths(self, paths: list[str]) -> None:
        pass

    def save_result(self) -> None:
        pass

    def paste(self) -> None:
        pass

    def refresh_models(self) -> None:
        pass

    def select_model(self, name: str) -> None:
        pass

    def set_devices(self, devices: list[tuple[str, str]]) -> None:
        pass

    def shutdown(self) -> None:
        pass
