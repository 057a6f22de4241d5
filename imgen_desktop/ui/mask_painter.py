"""The inpaint mask: paint with a round brush, undo, clear; export as HxW uint8 (255 = fill).

The mask lives in the photo's pixel grid (a ``QImage`` in 8-bit grayscale, painted with
``QPainter``). Strokes arrive in *display* coordinates from :class:`CompareView` and are
scaled to the photo grid, so painting works the same whatever the zoom or result size.
"""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QObject, QPointF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPen

from imgen_desktop.ui.undo import UndoHistory

MAX_UNDO = 30
OVERLAY_RGBA = (255, 40, 90, 140)


class MaskPainter(QObject):
    """Holds one mask and its undo history; emits ``sigChanged`` after every edit."""

    sigChanged = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._mask: QImage | None = None
        self._undo: UndoHistory[QImage] = UndoHistory(MAX_UNDO)
        self._last: QPointF | None = None
        self._display_size = QSize()
        self.brush_size = 40  # diameter in photo pixels

    # --- setup ---------------------------------------------------------------------
    def reset(self, width: int, height: int) -> None:
        """A new, empty mask for a photo of ``width`` x ``height``."""
        self._mask = QImage(int(width), int(height), QImage.Format.Format_Grayscale8)
        self._mask.fill(0)
        self._undo.clear()
        self._last = None
        self.sigChanged.emit()

    def set_display_size(self, size: QSize | None) -> None:
        """The size of the view's display space (the result's size when there is one)."""
        self._display_size = QSize(size) if size is not None else QSize()

    def size(self) -> QSize:
        return self._mask.size() if self._mask is not None else QSize()

    def _to_mask(self, x: float, y: float) -> QPointF:
        if self._mask is None or self._display_size.isEmpty():
            return QPointF(x, y)
        sx = self._mask.width() / self._display_size.width()
        sy = self._mask.height() / self._display_size.height()
        return QPointF(x * sx, y * sy)

    # --- painting --------------------------------------------------------------------
    def begin_stroke(self, x: float, y: float) -> None:
        if self._mask is None:
            return
        self._undo.push(self._mask.copy())
        self._last = self._to_mask(x, y)
        self._draw(self._last, self._last)

    def stroke_to(self, x: float, y: float) -> None:
        if self._mask is None or self._last is None:
            return
        point = self._to_mask(x, y)
        self._draw(self._last, point)
        self._last = point

    def end_stroke(self) -> None:
        self._last = None

    def _draw(self, a: QPointF, b: QPointF) -> None:
        p = QPainter(self._mask)
        p.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        pen = QPen(QColor(255, 255, 255), float(self.brush_size))
        pen.setCapStyle(Qt.PenCapStyle.RoundCap)
        pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
        p.setPen(pen)
        if a == b:
            r = self.brush_size / 2
            p.setBrush(QColor(255, 255, 255))
            p.setPen(Qt.PenStyle.NoPen)
            p.drawEllipse(a, r, r)
        else:
            p.drawLine(a, b)
        p.end()
        self.sigChanged.emit()

    def undo(self) -> bool:
        previous = self._undo.pop()
        if previous is None:
            return False
        self._mask = previous
        self.sigChanged.emit()
        return True

    def can_undo(self) -> bool:
        return bool(self._undo)

    def clear(self) -> None:
        if self._mask is None:
            return
        if not self.is_empty():
            self._undo.push(self._mask.copy())
        self._mask.fill(0)
        self.sigChanged.emit()

    # --- export --------------------------------------------------------------------------
    def mask_array(self) -> np.ndarray | None:
        """The mask as an HxW uint8 array (255 = fill, 0 = keep), or None without a photo."""
        if self._mask is None:
            return None
        img = self._mask
        h, w = img.height(), img.width()
        buf = np.frombuffer(img.constBits(), dtype=np.uint8, count=img.bytesPerLine() * h)
        arr = buf.reshape(h, img.bytesPerLine())[:, :w].copy()
        return np.where(arr >= 128, 255, 0).astype(np.uint8)

    def is_empty(self) -> bool:
        arr = self.mask_array()
        return arr is None or not arr.any()

    def coverage(self) -> float:
        arr = self.mask_array()
        return 0.0 if arr is None else float((arr > 0).mean())

    def overlay(self) -> QImage | None:
        """A translucent colour image of the mask for drawing over the photo (Qt-side, fast)."""
        if self._mask is None:
            return None
        alpha = self._mask.copy()
        alpha.reinterpretAsFormat(QImage.Format.Format_Alpha8)
        img = QImage(self._mask.size(), QImage.Format.Format_ARGB32_Premultiplied)
        img.fill(QColor(*OVERLAY_RGBA))
        p = QPainter(img)
        p.setCompositionMode(QPainter.CompositionMode.CompositionMode_DestinationIn)
        p.drawImage(0, 0, alpha)
        p.end()
        return img
