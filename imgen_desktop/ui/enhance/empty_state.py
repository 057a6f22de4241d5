"""The drop screen shown before any photo: "Drop a photo here — or open one", Open…, samples."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QMenu, QPushButton, QSizePolicy, QToolButton, QVBoxLayout, QWidget

from imgen_desktop.ui.theme import theme_notifier

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".tif", ".tiff", ".bmp", ".gif")


def sample_photos() -> list[Path]:
    """Photos the app ships: the held-out test photos first (chelsea leading), then the others."""
    from imgen_desktop.core.paths import resource_path

    found: list[Path] = []
    for folder in (resource_path("photos", "test"), resource_path("photos")):
        if folder.is_dir():
            found += sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    preferred = [p for p in found if p.stem == "chelsea"]
    return preferred + [p for p in found if p not in preferred]


class EmptyState(QFrame):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("emptyState")
        self._restyle()
        theme_notifier().sigThemeChanged.connect(self._on_theme_changed)  # a bound slot: disconnected when the widget goes
        layout = QVBoxLayout(self)
        layout.addStretch(2)
        title = QLabel("Drop a photo here — or open one", self)
        font = title.font()
        font.setPointSizeF(font.pointSizeF() * 1.8)
        title.setFont(font)
        title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        title.setWordWrap(True)
        subtitle = QLabel(
            "Upscale, denoise or fill in part of a photo with a built-in model or one you trained. "
            "PNG, JPEG, WebP, TIFF · drop several files or a folder to enhance them all · paste with Ctrl+V", self)
        subtitle.setAlignment(Qt.AlignmentFlag.AlignCenter)
        subtitle.setWordWrap(True)
        subtitle.setEnabled(False)
        subtitle.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        row = QHBoxLayout()
        row.addStretch(1)
        self.open_button = QPushButton("Open…", self)
        self.open_button.setObjectName("openButton")
        self.open_button.setMinimumWidth(140)
        self.sample_button = QToolButton(self)
        self.sample_button.setObjectName("sampleButton")
        self.sample_button.setText("Try a sample photo")
        self.sample_button.setPopupMode(QToolButton.ToolButtonPopupMode.MenuButtonPopup)
        self.sample_button.setMinimumHeight(self.open_button.sizeHint().height())
        self.sample_menu = QMenu(self.sample_button)
        self.sample_button.setMenu(self.sample_menu)
        row.addWidget(self.open_button)
        row.addSpacing(12)
        row.addWidget(self.sample_button)
        row.addStretch(1)
        layout.addWidget(title)
        layout.addSpacing(8)
        layout.addWidget(subtitle)
        layout.addSpacing(24)
        layout.addLayout(row)
        layout.addStretch(3)

    def _on_theme_changed(self, _theme: str) -> None:
        self._restyle()

    def _restyle(self) -> None:
        self.setStyleSheet("")  # set again after a theme switch: style sheets freeze the palette
        self.setStyleSheet(
            "#emptyState { border: 2px dashed palette(mid); border-radius: 14px; }"
            "#emptyState[dragOver=\"true\"] { border-color: palette(highlight); }"
        )

    def set_drag_over(self, on: bool) -> None:
        self.setProperty("dragOver", bool(on))
        self.style().unpolish(self)
        self.style().polish(self)
