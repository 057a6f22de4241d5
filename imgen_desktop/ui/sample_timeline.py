"""Helpers of the sample timeline: the nearest saved step, reading a saved grid, saving the grid
shown (through ``core.imageio``, atomically, run in a worker) and the full-size window."""
from __future__ import annotations

import bisect

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QFileDialog, QLabel, QScrollArea, QVBoxLayout, QWidget




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


class GridActionsMixin:
    """The sample grid's "Open full size" and "Save as…" for the grid shown."""

    def open_full_size(self) -> QWidget | None:
        source = self.shown_source()
        image = as_qimage(source) if source is not None else None
        if image is None:
            return None
        dlg = FullSizeDialog(image, f"{self.run_name or 'Samples'} · step {self.shown_step()}", self)
        dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dlg.show()
        return dlg

    def save_shown(self, path: str | None = None) -> None:
        """Save the grid shown (asks where when ``path`` is None); sigSaved(path) or sigError(text)."""
        source = self.shown_source()
        if source is None:
            return
        if path is None:
            from imgen_desktop.ui.settings import last_folder, remember_folder

            name = f"{self.run_name or 'samples'}_step_{self.shown_step():06d}.png"
            path, _ = QFileDialog.getSaveFileName(self, "Save sample grid", f"{last_folder('samples')}/{name}".lstrip("/"),
                                                  "Pictures (*.png *.jpg *.jpeg *.webp *.tif *.tiff)")
            if not path:
                return
            import os

            remember_folder("samples", os.path.dirname(path))
        if self._pool is None:
            from imgen_desktop.ui.workers import WorkerPool

            self._pool = WorkerPool(self)
        source = source if isinstance(source, str) else np.array(source)
        self._pool.start(save_grid, source, path, on_done=lambda p, _t: self.sigSaved.emit(str(p)),
                         on_error=lambda m, _t: self.sigError.emit(m), context="Could not save the sample grid")
