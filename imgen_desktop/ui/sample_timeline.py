"""Helpers of the sample timeline: the nearest saved step, reading a saved grid, saving the grid
shown (through ``core.imageio``, atomically, run in a worker) and the full-size window."""
from __future__ import annotations

import bisect

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QScrollArea, QVBoxLayout, QWidget

Source = "np.ndarray | str"  # a mosaic in memory, or the path of a grid the trainer saved


def nearest(entries: list[tuple[int, object]], step: int) -> tuple[int, object] | None:
    """The entry of ``entries`` (sorted by step) whose step is nearest ``step`` (the earlier on a tie)."""
    if not entries:
        return None
    steps = [e[0] for e in entries]
    i = bisect.bisect_left(steps, step)
    if i == 0:
        return entries[0]
    if i == len(entries):
        return entries[-1]
    before, after = entries[i - 1], entries[i]
    return before if step - before[0] <= after[0] - step else after


def as_qimage(source) -> QImage | None:
    """A QImage of a mosaic or of a saved grid file (None if the file cannot be read)."""
    if isinstance(source, QImage):
        return source
    if isinstance(source, str):
        image = QImage(source)
        return None if image.isNull() else image
    from imgen_desktop.ui.sample_grid import to_qimage

    return to_qimage(np.asarray(source))


def save_grid(source, path: str) -> str:
    """Write the grid ``source`` (mosaic or saved file) to ``path`` atomically; runs in a worker."""
    from imgen_desktop.core import imageio

    photo = imageio.load_image(source) if isinstance(source, str) else imageio.photo_from_array(np.asarray(source))
    return str(imageio.save_image(photo, path))


class FullSizeDialog(QDialog):
    """One sample grid at a whole-number zoom (crisp pixels), scrollable when larger than the window."""

    def __init__(self, image: QImage, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("sampleFullSizeDialog")
        self.setWindowTitle(title)
        zoom = max(1, min(8, 768 // max(1, image.width(), image.height())))
        pixmap = QPixmap.fromImage(image.scaled(image.width() * zoom, image.height() * zoom,
                                                Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.FastTransformation))
        v = QVBoxLayout(self)
        label = QLabel(self)
        label.setObjectName("sampleFullSizeImage")
        label.setPixmap(pixmap)
        label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        scroll = QScrollArea(self)
        scroll.setWidget(label)
        scroll.setWidgetResizable(True)
        v.addWidget(scroll, 1)
        v.addWidget(QLabel(f"{image.width()} × {image.height()} px, shown at {zoom}×", self))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        v.addWidget(buttons)
        self.zoom = zoom
        self.resize(min(pixmap.width() + 60, 1000), min(pixmap.height() + 110, 900))
