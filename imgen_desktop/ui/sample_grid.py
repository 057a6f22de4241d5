"""The ``sampleGrid``: the latest samples of a training run, one page per kind, crisply scaled."""
from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPalette
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QPushButton, QSizePolicy, QVBoxLayout, QWidget

KIND_LABELS = {
    "samples": "Samples",
    "reconstructions": "Reconstructions",
    "canvas": "Canvas build-up",
    "enhanced": "Enhanced (input | output | target)",
}


def grid_image(images: np.ndarray, columns: int = 0, pad: int = 1) -> np.ndarray:
    """uint8 (N, H, W, C) -> one uint8 (rows*H, cols*W, C) mosaic with ``pad`` px gaps (numpy only)."""
    images = np.asarray(images)
    if images.ndim == 3:  # (N, H, W) grayscale
        images = images[..., None]
    if images.ndim != 4 or len(images) == 0:
        raise ValueError(f"expected (N, H, W, C) images, got shape {images.shape}")
    n, h, w, c = images.shape
    cols = columns if columns and columns > 0 else max(1, math.ceil(math.sqrt(n)))
    rows = math.ceil(n / cols)
    out = np.zeros((rows * h + (rows - 1) * pad, cols * w + (cols - 1) * pad, c), dtype=np.uint8)
    for i in range(n):
        r, k = divmod(i, cols)
        out[r * (h + pad): r * (h + pad) + h, k * (w + pad): k * (w + pad) + w] = images[i]
    return out


def to_qimage(image: np.ndarray) -> QImage:
    """uint8 HxW, HxWx1, HxWx3 or HxWx4 -> a QImage that owns a copy of the pixels."""
    image = np.ascontiguousarray(image, dtype=np.uint8)
    if image.ndim == 3 and image.shape[2] == 1:
        image = np.ascontiguousarray(image[..., 0])
    h, w = image.shape[:2]
    if image.ndim == 2:
        fmt, bpl = QImage.Format.Format_Grayscale8, w
    elif image.shape[2] == 3:
        fmt, bpl = QImage.Format.Format_RGB888, 3 * w
    elif image.shape[2] == 4:
        fmt, bpl = QImage.Format.Format_RGBA8888, 4 * w
    else:
        raise ValueError(f"cannot show an image with shape {image.shape}")
    return QImage(image.data, w, h, bpl, fmt).copy()


class ImageView(QWidget):
    """Paints one image fitted to the widget: nearest-neighbour zoom from 2x up (small digits
    stay crisp), bilinear filtering for smaller factors and when shrinking."""

    def __init__(self, parent: QWidget | None = None, placeholder: str = "") -> None:
        super().__init__(parent)
        self._image: QImage | None = None
        self.placeholder = placeholder
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(120, 120)

    def set_image(self, image: np.ndarray | QImage | None) -> None:
        self._image = image if (image is None or isinstance(image, QImage)) else to_qimage(image)
        self.update()

    def image(self) -> QImage | None:
        return self._image

    def target_rect(self) -> QRectF:
        if self._image is None:
            return QRectF()
        iw, ih = self._image.width(), self._image.height()
        scale = min(self.width() / iw, self.height() / ih)
        w, h = iw * scale, ih * scale
        return QRectF((self.width() - w) / 2, (self.height() - h) / 2, w, h)

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt API)
        painter = QPainter(self)
        if self._image is None:
            painter.setPen(self.palette().color(QPalette.ColorRole.PlaceholderText))
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, self.placeholder)
            painter.end()
            return
        rect = self.target_rect()
        # nearest-neighbour from 2x up (crisp pixels); bilinear below that (no uneven pixel rows)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, rect.width() < 2 * self._image.width())
        painter.fillRect(rect, QColor(0, 0, 0))
        painter.drawImage(rect, self._image)
        painter.end()


class SampleGrid(QWidget):
    """Latest images per kind (samples / reconstructions / canvas / enhanced), step shown."""

    sigSampleNow = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("sampleGrid")
        self._latest: dict[str, tuple[int, np.ndarray]] = {}  # kind -> (step, mosaic)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        self.kind_combo = QComboBox(self)
        self.kind_combo.setObjectName("sampleKindCombo")
        self.kind_combo.setToolTip("Which pictures to show: the model's samples, reconstructions, RNN canvas build-up or enhancement triplets")
        self.kind_combo.currentIndexChanged.connect(self._on_kind_changed)
        row.addWidget(self.kind_combo, 1)
        self.kind_combo.setVisible(False)  # shown with the first pictures (an empty chooser says nothing)
        self.step_label = QLabel("no samples yet", self)
        self.step_label.setObjectName("sampleStepLabel")
        row.addWidget(self.step_label)
        self.sample_button = QPushButton("Sample now", self)
        self.sample_button.setObjectName("sampleNowButton")
        self.sample_button.setToolTip("Ask the running training for fresh samples at the next step")
        self.sample_button.setEnabled(False)
        self.sample_button.clicked.connect(self.sigSampleNow)
        row.addWidget(self.sample_button)
        layout.addLayout(row)
        self.view = ImageView(self, "Samples from the model appear here while it trains.")
        self.view.setObjectName("sampleView")
        layout.addWidget(self.view, 1)

    def add_samples(self, step: int, images: np.ndarray, kind: str = "samples", columns: int = 0) -> None:
        mosaic = grid_image(images, columns)
        self._latest[kind] = (int(step), mosaic)
        if self.kind_combo.findData(kind) < 0:
            self.kind_combo.addItem(KIND_LABELS.get(kind, kind.capitalize()), kind)
            self.kind_combo.setVisible(True)
        if self.current_kind() in (None, kind):
            if self.current_kind() is None:
                self.kind_combo.setCurrentIndex(self.kind_combo.findData(kind))
            self._show(kind)

    def current_kind(self) -> str | None:
        return self.kind_combo.currentData()

    def latest(self, kind: str = "samples") -> tuple[int, np.ndarray] | None:
        return self._latest.get(kind)

    def kinds(self) -> list[str]:
        return [self.kind_combo.itemData(i) for i in range(self.kind_combo.count())]

    def clear(self) -> None:
        self._latest.clear()
        self.kind_combo.blockSignals(True)
        self.kind_combo.clear()
        self.kind_combo.blockSignals(False)
        self.kind_combo.setVisible(False)
        self.view.set_image(None)
        self.step_label.setText("no samples yet")

    def set_running(self, running: bool) -> None:
        self.sample_button.setEnabled(running)

    def _on_kind_changed(self, _index: int) -> None:
        kind = self.current_kind()
        if kind is not None:
            self._show(kind)

    def _show(self, kind: str) -> None:
        entry = self._latest.get(kind)
        if entry is None:
            return
        step, mosaic = entry
        self.view.set_image(mosaic)
        self.step_label.setText(f"step {step}")
