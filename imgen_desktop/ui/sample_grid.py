"""The ``sampleGrid``: a run's sample grids, one page per kind, crisply scaled, with a timeline
slider over every grid saved (live: it grows as grids arrive), compared runs side by side at the
same step (each at its nearest saved step), "Open full size" and "Save as…"."""
from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QRectF, QSignalBlocker, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPalette
from PySide6.QtWidgets import (
    QComboBox, QHBoxLayout, QLabel, QPushButton, QSizePolicy, QSlider, QVBoxLayout, QWidget,
)

from imgen_desktop.ui.sample_timeline import GridActionsMixin, as_qimage, nearest

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
        self.align_top = False
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
        top = 0.0 if self.align_top else (self.height() - h) / 2  # side by side: right under the run's name
        return QRectF((self.width() - w) / 2, top, w, h)

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


class SampleGrid(GridActionsMixin, QWidget):
    """Sample grids per kind (samples / reconstructions / canvas / enhanced) with a step timeline."""

    sigSampleNow = Signal()
    sigShown = Signal(int)  # the step now shown (of the current run, or the timeline's step)
    sigSaved = Signal(str)
    sigError = Signal(str)
    LIVE_IN_MEMORY = 48  # older live grids are shown from the files the trainer saved

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("sampleGrid")
        self._latest: dict[str, tuple[int, np.ndarray]] = {}  # kind -> (step, mosaic)
        self._history: dict[str, list[tuple[int, object]]] = {}  # kind -> [(step, mosaic or file)]
        self._compared: dict[str, list[tuple[int, str, str]]] = {}  # run -> [(step, kind, file)]
        self._steps: list[int] = []  # the timeline's steps (the current run's and the compared runs')
        self._follow = True  # at the timeline's end: show each new grid as it arrives
        self.run_name = ""
        self._pool = None
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
        self.panes_row = QHBoxLayout()
        self.panes_row.setSpacing(4)
        self.main_box = QWidget(self)
        mv = QVBoxLayout(self.main_box)
        mv.setContentsMargins(0, 0, 0, 0)
        self.main_label = QLabel("", self.main_box)  # the run's name, while others are compared
        self.main_label.setObjectName("mainSampleLabel")
        self.main_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.main_label.setVisible(False)
        mv.addWidget(self.main_label)
        self.view = ImageView(self.main_box, "Samples from the model appear here while it trains.")
        self.view.setObjectName("sampleView")
        mv.addWidget(self.view, 1)
        self.panes_row.addWidget(self.main_box, 1)
        self.panes: dict[str, tuple[QWidget, QLabel, ImageView]] = {}  # compared run -> its pane
        layout.addLayout(self.panes_row, 1)
        trow = QHBoxLayout()
        self.timeline = QSlider(Qt.Orientation.Horizontal, self)
        self.timeline.setObjectName("sampleTimeline")
        self.timeline.setToolTip("Scrub through every saved sample grid, step by step (drag, or use the arrow keys)")
        self.timeline.setRange(0, 0)
        self.timeline.setPageStep(1)
        self.timeline.valueChanged.connect(self._on_timeline_changed)
        trow.addWidget(self.timeline, 1)
        self.position_label = QLabel("", self)
        self.position_label.setObjectName("timelineLabel")
        trow.addWidget(self.position_label)
        self.open_button = QPushButton("Open full size", self)
        self.open_button.setObjectName("openSampleButton")
        self.open_button.setToolTip("Show the grid shown here at a whole-number zoom in its own window")
        self.open_button.clicked.connect(self.open_full_size)
        self.save_button = QPushButton("Save as…", self)
        self.save_button.setObjectName("saveSampleButton")
        self.save_button.setToolTip("Save the grid shown here as a picture")
        self.save_button.clicked.connect(lambda: self.save_shown())
        for b in (self.open_button, self.save_button):
            trow.addWidget(b)
        layout.addLayout(trow)
        self._show_controls()

    # --- pictures in ------------------------------------------------------------------------------
    def add_samples(self, step: int, images: np.ndarray, kind: str = "samples", columns: int = 0) -> None:
        mosaic = grid_image(images, columns)
        self._latest[kind] = (int(step), mosaic)
        entries = self._history.setdefault(kind, [])
        entries[:] = [e for e in entries if e[0] != int(step)] + [(int(step), mosaic)]
        self._spill(entries, kind)
        self._add_kind(kind)
        self._rebuild_steps()
        if self.current_kind() == kind and self._follow:
            self._go_to_end()

    def _spill(self, entries: list, kind: str) -> None:
        """Keep the newest grids in memory; older ones are read back from the trainer's files."""
        if not self.run_name or len(entries) <= self.LIVE_IN_MEMORY:
            return
        from imgen_desktop.core.runs import sample_grid_path

        step, source = entries[-self.LIVE_IN_MEMORY - 1]
        path = sample_grid_path(self.run_name, step, kind)
        if not isinstance(source, str) and path.is_file():
            entries[-self.LIVE_IN_MEMORY - 1] = (step, str(path))

    def set_history(self, grids: list[tuple[int, str, str]]) -> None:
        """Show a past run's saved grids, (step, kind, file) each (``core.runs.sample_grids``)."""
        self.clear()
        for step, kind, path in sorted(grids, key=lambda g: (g[1] != "samples", g[1], g[0])):  # samples first
            self._history.setdefault(kind, []).append((int(step), path))
            self._add_kind(kind)
        self._rebuild_steps()
        self._go_to_end()

    def set_compared(self, runs: dict[str, list[tuple[int, str, str]]]) -> None:
        """Compared runs' saved grids, shown side by side with this run's at the same step."""
        self._compared = {name: sorted(grids) for name, grids in runs.items()}
        for name in list(self.panes):
            if name not in self._compared:
                box, _label, _view = self.panes.pop(name)
                box.hide()
                self.panes_row.removeWidget(box)
                box.deleteLater()
        for name in self._compared:
            if name not in self.panes:
                self.panes[name] = self._make_pane(name)
            for _step, kind, _path in self._compared[name]:
                self._add_kind(kind)
        self._rebuild_steps()
        self._show_at(self.shown_step())

    def _make_pane(self, name: str) -> tuple[QWidget, QLabel, ImageView]:
        box = QWidget(self)
        v = QVBoxLayout(box)
        v.setContentsMargins(0, 0, 0, 0)
        label = QLabel(name, box)
        label.setObjectName("comparedSampleLabel")
        label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)  # long names never widen the row
        v.addWidget(label)
        view = ImageView(box, f"{name} saved no such pictures")
        view.setObjectName("comparedSampleView")
        view.align_top = True
        view.setMinimumSize(80, 80)
        v.addWidget(view, 1)
        self.panes_row.addWidget(box, 1)
        box.setVisible(self.isVisible())
        return box, label, view

    # --- reading -----------------------------------------------------------------------------------
    def current_kind(self) -> str | None:
        return self.kind_combo.currentData()

    def latest(self, kind: str = "samples") -> tuple[int, np.ndarray] | None:
        return self._latest.get(kind)

    def kinds(self) -> list[str]:
        return [self.kind_combo.itemData(i) for i in range(self.kind_combo.count())]

    def timeline_steps(self) -> list[int]:
        """Every step the timeline can show, in order."""
        return list(self._steps)

    def shown_step(self) -> int | None:
        return self._steps[self.timeline.value()] if self._steps else None

    def shown_source(self):
        """The grid shown in the main pane (or, without one, in the first compared pane): a mosaic or a file."""
        kind, step = self.current_kind(), self.shown_step()
        if step is None:
            return None
        entry = nearest(self._history.get(kind, []), step)
        if entry is None:
            for grids in self._compared.values():
                entry = nearest([(s, p) for s, k, p in grids if k == kind], step)
                if entry is not None:
                    break
        return None if entry is None else entry[1]

    def compared_shown(self) -> dict[str, int | None]:
        """Compared run -> the step of the grid its pane shows (None: it has none of this kind)."""
        kind, step = self.current_kind(), self.shown_step()
        out = {}
        for name, grids in self._compared.items():
            entry = nearest([(s, p) for s, k, p in grids if k == kind], step) if step is not None else None
            out[name] = None if entry is None else entry[0]
        return out

    # --- the timeline ---------------------------------------------------------------------------------
    def set_step(self, step: int) -> None:
        """Move the timeline to the saved step nearest ``step``."""
        if self._steps:
            entry = nearest([(s, i) for i, s in enumerate(self._steps)], int(step))
            self.timeline.setValue(entry[1])

    def _rebuild_steps(self) -> None:
        kind = self.current_kind()
        steps = {s for s, _ in self._history.get(kind, [])}
        for grids in self._compared.values():
            steps.update(s for s, k, _p in grids if k == kind)
        shown = self.shown_step()
        self._steps = sorted(steps)
        with QSignalBlocker(self.timeline):
            self.timeline.setRange(0, max(0, len(self._steps) - 1))
            if shown is not None and not self._follow:
                self.set_step(shown)
        self._show_controls()

    def _go_to_end(self) -> None:
        with QSignalBlocker(self.timeline):
            self.timeline.setValue(self.timeline.maximum())
        self._follow = True
        self._show_at(self.shown_step())

    def _on_timeline_changed(self, index: int) -> None:
        self._follow = index >= self.timeline.maximum()
        self._show_at(self.shown_step())

    def _show_at(self, step: int | None) -> None:
        kind = self.current_kind()
        entry = nearest(self._history.get(kind, []), step) if step is not None else None
        self.main_box.setVisible(entry is not None or not self._compared)
        self.main_label.setVisible(bool(self._compared) and entry is not None)
        self.view.align_top = bool(self._compared)
        if entry is not None:
            self.main_label.setText(f"{self.run_name or 'This run'} · step {entry[0]}")
            self.view.set_image(as_qimage(entry[1]))
            self.step_label.setText(f"step {entry[0]}")
        elif step is not None:
            self.step_label.setText(f"step {step}")
        for name, when in self.compared_shown().items():
            _box, label, view = self.panes[name]
            grids = [(s, p) for s, k, p in self._compared[name] if k == kind]
            source = nearest(grids, when)[1] if when is not None else None
            view.set_image(as_qimage(source) if source is not None else None)
            label.setText(f"{name} · step {when}" if when is not None else name)
        self._show_controls()
        if step is not None:
            self.sigShown.emit(step)

    def _show_controls(self) -> None:
        n = len(self._steps)
        self.timeline.setEnabled(n > 1)
        self.position_label.setText(f"{self.timeline.value() + 1} / {n}" if n else "")
        has = self.shown_source() is not None if n else False
        self.open_button.setEnabled(has)
        self.save_button.setEnabled(has)

    # --- state ----------------------------------------------------------------------------------------------
    def _add_kind(self, kind: str) -> None:
        if self.kind_combo.findData(kind) < 0:
            with QSignalBlocker(self.kind_combo):
                self.kind_combo.addItem(KIND_LABELS.get(kind, kind.capitalize()), kind)
                if self.kind_combo.count() == 1:
                    self.kind_combo.setCurrentIndex(0)
            self.kind_combo.setVisible(True)

    def clear(self) -> None:
        """Forget this run's grids (compared runs stay)."""
        self._latest.clear()
        self._history.clear()
        self._follow = True
        with QSignalBlocker(self.kind_combo):
            self.kind_combo.clear()
        self.kind_combo.setVisible(False)
        self.view.set_image(None)
        self.step_label.setText("no samples yet")
        for grids in self._compared.values():
            for _s, kind, _p in grids:
                self._add_kind(kind)
        self._rebuild_steps()
        self._show_at(self.shown_step())

    def set_running(self, running: bool) -> None:
        self.sample_button.setEnabled(running)

    def _on_kind_changed(self, _index: int) -> None:
        if self.current_kind() is not None:
            self._rebuild_steps()
            self._go_to_end()

