"""numpy / core Photo <-> QImage conversions (no torch; safe off the GUI thread)."""
from __future__ import annotations

from PySide6.QtGui import QImage


def photo_to_qimage(photo) -> QImage:
    """A core Photo as the view shows it (8-bit RGBA, display colours); safe off the GUI thread."""
    from imgen_desktop.core.imageio import to_display_rgba8

    return rgba_to_qimage(to_display_rgba8(photo))


def rgba_to_qimage(rgba) -> QImage:
    """An HxWx4 uint8 array -> a QImage that owns a copy of the pixels."""
    import numpy as np

    arr = np.ascontiguousarray(rgba, dtype=np.uint8)
    h, w = arr.shape[:2]
    return QImage(arr.data, w, h, w * 4, QImage.Format.Format_RGBA8888).copy()


def qimage_to_array(image: QImage):
    """A QImage -> uint8/uint16 numpy array: HxW (gray), HxWx3 (opaque colour) or HxWx4."""
    import numpy as np

    if image.isNull():
        raise ValueError("empty image")
    fmt = image.format()
    if fmt in (QImage.Format.Format_Grayscale8, QImage.Format.Format_Grayscale16):
        dtype = np.uint8 if fmt == QImage.Format.Format_Grayscale8 else np.uint16
        h, w, bpl = image.height(), image.width(), image.bytesPerLine()
        buf = np.frombuffer(image.constBits(), dtype=np.uint8, count=bpl * h).reshape(h, bpl)
        return buf.view(dtype)[:, :w].copy()
    img = image.convertToFormat(QImage.Format.Format_RGBA8888)
    h, w, bpl = img.height(), img.width(), img.bytesPerLine()
    buf = np.frombuffer(img.constBits(), dtype=np.uint8, count=bpl * h).reshape(h, bpl)
    arr = buf[:, : w * 4].reshape(h, w, 4).copy()
    if (arr[:, :, 3] == 255).all():
        return np.ascontiguousarray(arr[:, :, :3])
    return arr
