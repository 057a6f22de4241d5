"""The Generate view (``generateView``): new pictures from a generative model, reseed,
interpolate between two of them, save. Loading and sampling run off the GUI thread."""
from __future__ import annotations

import math
import random
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPalette, QPen
from PySide6.QtWidgets import (
    QFileDialog, QHBoxLayout, QLabel, QPushButton, QSizePolicy, QSpinBox, QVBoxLayout, QWidget,
)

from imgen_desktop.ui.sample_grid import ImageView, to_qimage
from imgen_desktop.ui.settings import last_folder, remember_folder
from imgen_desktop.ui.workers import WorkerPool


class TileGrid(QWidget):
    """Images in a grid, crisply scaled; click tiles to select (at most two)."""

    sigSelectionChanged = Signal(list)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("generateTiles")
        self.images: list[np.ndarray] = []
        self._qimages = []
        self.selected: list[int] = []
        self.placeholder = "Pick a model trained to generate pictures to see its samples here."
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(200, 200)

    def set_images(self, images: np.ndarray | list[np.ndarray]) -> None:
        self.images = [np.asarray(im) for im in images]
        self._qimages = [to_qimage(im) for im in self.images]
        self.selected = []
        self.sigSelectionChanged.emit([])
        self.update()

    def _layout(self) -> tuple[int, float, float, int, float, float]:
        n = len(self._qimages)
        cols = max(1, math.ceil(math.sqrt(n)))
        rows = math.ceil(n / cols)
        iw, ih = self._qimages[0].width(), self._qimages[0].height()
        gap = 4
        cell = min((self.width() - gap * (cols + 1)) / (cols * iw), (self.height() - gap * (rows + 1)) / (rows * ih))
        if cell >= 1:
            cell = math.floor(cell)
        tw, th = iw * cell, ih * cell
        x0 = (self.width() - (cols * tw + (cols - 1) * gap)) / 2
        y0 = (self.height() - (rows * th + (rows - 1) * gap)) / 2
        return cols, tw, th, gap, x0, y0

    def tile_rect(self, i: int) -> QRectF:
        cols, tw, th, gap, x0, y0 = self._layout()
        r, c = divmod(i, cols)
        return QRectF(x0 + c * (tw + gap), y0 + r * (th + gap), tw, th)

    def tile_at(self, pos: QPointF) -> int:
        for i in range(len(self._qimages)):
            if self.tile_rect(i).contains(pos):
                return i
        return -1

    def mousePressEvent(self, event) -> None:  # noqa: N802 (Qt API)
        i = self.tile_at(event.position())
        if i < 0:
            return
        if i in self.selected:
            self.selected.remove(i)
        else:
            self.selected = (self.selected + [i])[-2:]
        self.sigSelectionChanged.emit(list(self.selected))
        self.update()

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt API)
        painter = QPainter(self)
        if not self._qimages:
            painter.setPen(self.palette().color(QPalette.ColorRole.PlaceholderText))
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, self.placeholder)
            painter.end()
            return
        for i, img in enumerate(self._qimages):
            rect = self.tile_rect(i)
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, rect.width() < img.width())
            painter.drawImage(rect, img)
            if i in self.selected:
                painter.setPen(QPen(QColor("#ffb020"), 3))
                painter.drawRect(rect.adjusted(-2, -2, 2, 2))
                painter.drawText(rect.adjusted(4, 2, 0, 0), Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop,
                                 "AB"[self.selected.index(i)])
        painter.end()


class GenerateView(QWidget):
    """Samples from one generate model: a grid of single-seed tiles, reseed, interpolate, save."""

    sigBusy = Signal(bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("generateView")
        self._pool = WorkerPool(self)
        self._model = None  # core.generate.GeneratorModel (lives in worker threads only for compute)
        self._model_name: str | None = None
        self._request = 0
        self.seed = 0
        self.seeds: list[int] = []
        self.interpolation: np.ndarray | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.title = QLabel("<b>Generate</b>", self)
        self.title.setObjectName("generateTitle")
        layout.addWidget(self.title)
        self.tiles = TileGrid(self)
        self.tiles.sigSelectionChanged.connect(self._on_selection_changed)
        layout.addWidget(self.tiles, 3)
        self.hint = QLabel("Click two pictures, then Interpolate to morph one into the other.", self)
        self.hint.setObjectName("generateHint")
        self.hint.setWordWrap(True)
        layout.addWidget(self.hint)
        self.strip = ImageView(self, "")
        self.strip.setObjectName("interpolationView")
        self.strip.setMinimumHeight(60)
        self.strip.hide()
        layout.addWidget(self.strip, 1)
        row = QHBoxLayout()
        row.addWidget(QLabel("Pictures", self))
        self.count_spin = QSpinBox(self)
        self.count_spin.setObjectName("generateCount")
        self.count_spin.setRange(1, 64)
        self.count_spin.setValue(16)
        self.count_spin.setToolTip("How many pictures to generate")
        row.addWidget(self.count_spin)
        self.reseed_button = QPushButton("Reseed", self)
        self.reseed_button.setObjectName("reseedButton")
        self.reseed_button.setToolTip("New random pictures")
        self.reseed_button.clicked.connect(lambda: self.reseed())
        row.addWidget(self.reseed_button)
        self.interp_button = QPushButton("Interpolate", self)
        self.interp_button.setObjectName("interpolateButton")
        self.interp_button.setToolTip("Show the path in latent space between the two selected pictures (A → B)")
        self.interp_button.clicked.connect(lambda: self.interpolate())
        row.addWidget(self.interp_button)
        self.save_button = QPushButton("Save images…", self)
        self.save_button.setObjectName("saveImagesButton")
        self.save_button.setToolTip("Save the pictures (and the interpolation, if shown) as PNG files in a folder")
        self.save_button.clicked.connect(self._on_save)
        row.addWidget(self.save_button)
        row.addStretch(1)
        layout.addLayout(row)
        self.status = QLabel("", self)
        self.status.setObjectName("generateStatus")
        self.status.setWordWrap(True)
        layout.addWidget(self.status)
        self._set_enabled(False)

    # --- public ---------------------------------------------------------------------------
    def set_model(self, name: str | None, path: str | None = None) -> None:
        """Show samples of store model ``name`` (or clear with None). Loads in a worker."""
        self._request += 1
        self._model, self._model_name = None, name
        self.tiles.set_images([])
        self.strip.hide()
        self.interpolation = None
        self._set_enabled(False)
        if not name:
            self.title.setText("<b>Generate</b>")
            self.status.setText("")
            return
        self.title.setText(f"<b>Generate</b> — {name}")
        self.status.setText("loading the model…")
        spec = path or name
        n, seed = self.count_spin.value(), self.seed

        def load_and_sample(spec=spec, n=n, seed=seed):
            from imgen_desktop.core.generate import load_generator

            model = load_generator(spec, "cpu")
            return model, [model.sample(1, seed + i)[0] for i in range(n)]
        self.sigBusy.emit(True)
        self._pool.start(load_and_sample, on_done=self._on_loaded, on_error=self._on_error, tag=self._request)

    def reseed(self) -> None:
        if self._model is None:
            return
        self.seed = random.randrange(0, 2**31 - 1 - 64)
        self._sample()

    def interpolate(self, steps: int = 8) -> None:
        if self._model is None or len(self.seeds) < 2:
            return
        sel = self.tiles.selected if len(self.tiles.selected) == 2 else [0, 1]
        a, b = self.seeds[sel[0]], self.seeds[sel[1]]
        model = self._model
        self._run(lambda: model.interpolate(a, b, steps), self._on_interpolated, f"interpolating seed {a} → {b}…")

    def save_images(self, folder: str | Path) -> list[Path]:
        """Write the tiles (and interpolation frames) as PNGs into ``folder``; returns the paths."""
        from PySide6.QtGui import QImage

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        base = self._model_name or "sample"
        written = []
        for seed, img in zip(self.seeds, self.tiles.images):
            path = folder / f"{base}-seed{seed}.png"
            if not to_qimage(img).save(str(path)):
                raise OSError(f"could not write {path}")
            written.append(path)
        if self.interpolation is not None:
            for i, img in enumerate(self.interpolation):
                path = folder / f"{base}-interp{i:02d}.png"
                if not to_qimage(img).save(str(path)):
                    raise OSError(f"could not write {path}")
                written.append(path)
        return written

    def busy(self) -> bool:
        return self._pool.busy()

    # --- internals --------------------------------------------------------------------------
    def _set_enabled(self, on: bool) -> None:
        for b in (self.reseed_button, self.save_button, self.count_spin):
            b.setEnabled(on)
        self.interp_button.setEnabled(on and len(self.seeds) >= 2)

    def _run(self, fn, on_done, message: str) -> None:
        self._request += 1
        self._set_enabled(False)
        self.status.setText(message)
        self.sigBusy.emit(True)
        self._pool.start(fn, on_done=on_done, on_error=self._on_error, tag=self._request)

    def _sample(self) -> None:
        model, n, seed = self._model, self.count_spin.value(), self.seed
        self._run(lambda: [model.sample(1, seed + i)[0] for i in range(n)], self._on_sampled, "generating…")

    def _on_loaded(self, result: Any, tag: Any) -> None:
        if tag != self._request:
            return
        self._model, images = result
        self._show(images)

    def _on_sampled(self, images: Any, tag: Any) -> None:
        if tag == self._request:
            self._show(images)

    def _show(self, images: list[np.ndarray]) -> None:
        self.seeds = [self.seed + i for i in range(len(images))]
        self.tiles.set_images(images)
        self.strip.hide()
        self.interpolation = None
        meta = getattr(self._model, "meta", {}) or {}
        h, w = images[0].shape[:2] if images else (0, 0)
        self.status.setText(f"{len(images)} pictures, {w}x{h}, seeds {self.seed}–{self.seed + len(images) - 1}"
                            f" · {str(meta.get('family', '')).upper()} trained {meta.get('steps', '?')} steps")
        self._set_enabled(True)
        self.sigBusy.emit(False)

    def _on_interpolated(self, frames: Any, tag: Any) -> None:
        if tag != self._request:
            return
        from imgen_desktop.ui.sample_grid import grid_image

        self.interpolation = np.asarray(frames)
        self.strip.set_image(grid_image(self.interpolation, columns=len(self.interpolation)))
        self.strip.show()
        self.status.setText(f"interpolation: {len(self.interpolation)} steps")
        self._set_enabled(True)
        self.sigBusy.emit(False)

    def _on_error(self, message: str, tag: Any) -> None:
        if tag != self._request:
            return
        self.status.setText(f"<span style='color:#e05050'>{message}</span>")
        self._set_enabled(self._model is not None)
        self.sigBusy.emit(False)

    def _on_selection_changed(self, selected: list) -> None:
        if len(selected) == 2:
            self.hint.setText(f"Interpolate from A (seed {self.seeds[selected[0]]}) to B (seed {self.seeds[selected[1]]}).")
        else:
            self.hint.setText("Click two pictures, then Interpolate to morph one into the other.")

    def _on_save(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Save the pictures into", last_folder("generated", str(Path.home())))
        if not folder:
            return
        remember_folder("generated", folder)
        try:
            written = self.save_images(folder)
        except OSError as exc:
            self.status.setText(f"<span style='color:#e05050'>{exc}</span>")
            return
        self.status.setText(f"saved {len(written)} pictures to {folder}")

    def shutdown(self, timeout_ms: int = 5000) -> None:
        self._pool.wait_all(timeout_ms)
