"""The blend mask: where the original shows through the result (HxW uint8, 255 = original).

Strokes come in display coordinates from :class:`CompareView` (the result's pixel grid) like the
inpaint brush's. The brush has a size (diameter in result pixels) and a softness (0 = a hard
edge, 1 = fading from the centre); ``reveal`` paints the original in, otherwise the result back.
Dabs are combined with max (reveal) / min (restore), so going over a spot again never builds
up beyond the brush's own profile. The canvas turns the mask into pixels with
:func:`core.blend.blend_photos`.
"""
from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QObject, QSize, Signal
from PySide6.QtGui import QImage

from imgen_desktop.ui.undo import UndoHistory

MAX_UNDO = 12


class BlendPainter(QObject):
    sigChanged = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._mask: np.ndarray | None = None
        self._undo: UndoHistory[np.ndarray] = UndoHistory(MAX_UNDO)
        self._last: tuple[float, float] | None = None
        self._display_size = QSize()
        self.brush_size = 60
        self.softness = 0.5
        self.reveal = True  # paint the original in (False: paint the result back)

    def reset(self, width: int, height: int) -> None:
        self._mask = np.zeros((int(height), int(width)), np.uint8)
        self._undo.clear()
        self._last = None
        self.sigChanged.emit()

    def drop(self) -> None:
        self._mask, self._last = None, None
        self._undo.clear()

    def set_display_size(self, size: QSize | None) -> None:
        self._display_size = QSize(size) if size is not None else QSize()

    def _to_mask(self, x: float, y: float) -> tuple[float, float]:
        if self._mask is None or self._display_size.isEmpty():
            return x, y
        h, w = self._mask.shape
        return x * w / self._display_size.width(), y * h / self._display_size.height()

    # --- painting -----------------------------------------------------------------------------
    def begin_stroke(self, x: float, y: float) -> None:
        if self._mask is None:
            return
        self._undo.push(self._mask.copy())
        self._last = self._to_mask(x, y)
        self._dab(*self._last)
        self.sigChanged.emit()

    def stroke_to(self, x: float, y: float) -> None:
        if self._mask is None or self._last is None:
            return
        (x0, y0), (x1, y1) = self._last, self._to_mask(x, y)
        step = max(1.0, self.brush_size / 6)
        n = max(1, int(math.hypot(x1 - x0, y1 - y0) / step))
        for k in range(1, n + 1):
            self._dab(x0 + (x1 - x0) * k / n, y0 + (y1 - y0) * k / n)
        self._last = (x1, y1)
        self.sigChanged.emit()

    def end_stroke(self) -> None:
        self._last = None

    def _dab(self, cx: float, cy: float) -> None:
        m = self._mask
        r = max(0.5, self.brush_size / 2)
        h, w = m.shape
        x0, x1 = max(0, int(cx - r)), min(w, int(math.ceil(cx + r)) + 1)
        y0, y1 = max(0, int(cy - r)), min(h, int(math.ceil(cy + r)) + 1)
        if x0 >= x1 or y0 >= y1:
            return
        yy, xx = np.mgrid[y0:y1, x0:x1]
        d = np.hypot(xx + 0.5 - cx, yy + 0.5 - cy) / r  # 0 at the centre, 1 at the edge
        hard = 1.0 - min(max(self.softness, 0.0), 1.0)
        weight = np.clip((1.0 - d) / max(1e-6, 1.0 - hard), 0.0, 1.0) if hard < 1 else (d <= 1).astype(np.float32)
        value = (weight * 255 + 0.5).astype(np.uint8)
        region = m[y0:y1, x0:x1]
        if self.reveal:
            np.maximum(region, value, out=region)
        else:
            np.minimum(region, 255 - value, out=region)

    # --- history / export ---------------------------------------------------------------------------
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
        if self._mask is None or not self._mask.any():
            return
        self._undo.push(self._mask.copy())  # bounded like every other edit
        self._mask[:] = 0
        self.sigChanged.emit()

    def mask_array(self) -> np.ndarray | None:
        """A copy of the mask (HxW uint8; 255 = the original shows), or None without a result."""
        return None if self._mask is None else self._mask.copy()

    def is_empty(self) -> bool:
        return self._mask is None or not self._mask.any()

    def overlay(self, rgb: tuple[int, int, int], strength: float = 0.35) -> QImage | None:
        """A translucent tint of where the original shows, to draw over the result while painting."""
        if self._mask is None or not self._mask.any():
            return None
        h, w = self._mask.shape
        a = (self._mask.astype(np.float32) * strength).astype(np.uint8)
        argb = np.empty((h, w, 4), np.uint8)  # premultiplied BGRA in memory (little-endian ARGB32)
        for k, v in enumerate(reversed(rgb)):
            argb[:, :, k] = (a.astype(np.uint16) * v // 255).astype(np.uint8)
        argb[:, :, 3] = a
        img = QImage(argb.data, w, h, 4 * w, QImage.Format.Format_ARGB32_Premultiplied)
        return img.copy()

    def size(self) -> QSize:
        return QSize(self._mask.shape[1], self._mask.shape[0]) if self._mask is not None else QSize()
