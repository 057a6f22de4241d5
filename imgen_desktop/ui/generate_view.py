"""The Generate view (``generateView``): new pictures from a generative model, reseed,
interpolate between two of them, save. Loading, sampling and saving run off the GUI thread;
saving goes through core.generate.save_images, the code (and file names) of ``imgen generate``."""
from __future__ import annotations

import html
import math
import random
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QPainter, QPalette, QPen
from PySide6.QtWidgets import (
    QFileDialog, QHBoxLayout, QLabel, QPushButton, QSizePolicy, QSpinBox, QVBoxLayout, QWidget,
)

from imgen_desktop.ui.sample_grid import ImageView, to_qimage
from imgen_desktop.ui.settings import last_folder, remember_folder
from imgen_desktop.ui.theme import colors, coloured, theme_notifier
from imgen_desktop.ui.workers import WorkerPool


class TileGrid(QWidget):
    """Images in a grid, crisply scaled; click tiles to select (at most two)."""

    EMPTY = "Select a model trained to generate pictures (task “generate”) to see its pictures here."

    sigSelectionChanged = Signal(list)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("generateTiles")
        self.images: list[np.ndarray] = []
        self._qimages = []
        self.selected: list[int] = []
        self.placeholder = self.EMPTY
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
                painter.setPen(QPen(QColor(colors().accent), 3))
                painter.drawRect(rect.adjusted(-2, -2, 2, 2))
                painter.drawText(rect.adjusted(4, 2, 0, 0), Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop,
                                 "AB"[self.selected.index(i)])
        painter.end()


class GenerateView(QWidget):
    """Samples from one generate model: a grid of single-seed tiles, reseed, interpolate, save."""

    sigBusy = Signal(bool)
    sigSaved = Signal(list)  # the paths written
    RESAMPLE_DELAY_MS = 250  # after the picture count changes (typing "16" is two changes)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("generateView")
        self._pool = WorkerPool(self)
        self._model = None  # core.generate.GeneratorModel (lives in worker threads only for compute)
        self._model_name: str | None = None
        self._request = 0
        self._message = ("", "")
        self.seed = 0
        self.seeds: list[int] = []
        self.interpolation: np.ndarray | None = None
        self.interpolation_seeds: tuple[int, int] | None = None
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
        self.count_spin.setToolTip("How many pictures to generate (they change as you change the number)")
        self._resample = QTimer(self)
        self._resample.setSingleShot(True)
        self._resample.setInterval(self.RESAMPLE_DELAY_MS)
        self._resample.timeout.connect(self._sample)
        self.count_spin.valueChanged.connect(self._on_count_changed)
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
        row.addStretch(1)
        layout.addLayout(row)
        save_row = QHBoxLayout()
        self.save_grid_button = QPushButton("Save grid…", self)
        self.save_grid_button.setObjectName("saveGridButton")
        self.save_grid_button.setToolTip("Save the pictures as one PNG sheet (as imgen generate -o FILE.png)")
        self.save_grid_button.clicked.connect(self._on_save_grid)
        save_row.addWidget(self.save_grid_button)
        self.save_button = QPushButton("Save images to folder…", self)
        self.save_button.setObjectName("saveImagesButton")
        self.save_button.setToolTip("Save each picture as its own PNG in a folder (as imgen generate -o FOLDER), "
                                    "and the interpolation, if shown")
        self.save_button.clicked.connect(self._on_save_folder)
        save_row.addWidget(self.save_button)
        save_row.addStretch(1)
        layout.addLayout(save_row)
        self.status = QLabel("", self)
        self.status.setObjectName("generateStatus")
        self.status.setWordWrap(True)
        layout.addWidget(self.status)
        theme_notifier().sigThemeChanged.connect(self._on_theme_changed)
        self._set_enabled(False)

    # --- public ---------------------------------------------------------------------------
    def model_name(self) -> str | None:
        return self._model_name

    def set_model(self, name: str | None, path: str | None = None) -> None:
        """Show samples of store model ``name`` (or clear with None). Loads in a worker."""
        self._request += 1
        self._resample.stop()
        self._model, self._model_name = None, name
        self.seeds = []
        self.tiles.set_images([])
        self.strip.hide()
        self.interpolation = None
        self._set_enabled(False)
        self._set_title()
        self.tiles.placeholder = TileGrid.EMPTY if not name else f"Loading “{name}” and making its pictures…"
        self.tiles.update()
        if not name:
            self.set_message("")
            return
        self.set_message("Loading the model…")
        spec = path or name
        n, seed = self.count_spin.value(), self.seed

        def load_and_sample(spec=spec, n=n, seed=seed):
            from imgen_desktop.core.generate import load_generator

            model = load_generator(spec, "cpu")
            return model, model.sample(n, seed)
        self.sigBusy.emit(True)
        self._pool.start(load_and_sample, on_done=self._on_loaded, on_error=self._on_error, tag=self._request,
                         context="Could not load the model")

    def model_renamed(self, name: str, path: str | None = None) -> None:
        """The model shown was renamed: show the new name, keep the pictures."""
        self._model_name = name
        self._set_title()

    def set_message(self, text: str, role: str = "") -> None:
        self._message = (text, role)
        self.status.setText(coloured(text, role) if role else html.escape(text))

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
        self.interpolation_seeds = (a, b)
        self._run(lambda: model.interpolate(a, b, steps), self._on_interpolated, f"Interpolating seed {a} → {b}…")

    def save(self, out: str | Path) -> None:
        """Save in a worker, as ``imgen generate -o OUT`` does: OUT ``*.png`` is one grid sheet,
        anything else a folder of PNGs (with the interpolation frames too, if shown).
        ``sigSaved(paths)`` when written; an error shows in the status line."""
        if not self.tiles.images:
            return
        images, seed, interp = np.stack(self.tiles.images), self.seeds[0], self.interpolation
        a = self.interpolation_seeds[0] if self.interpolation_seeds else seed

        def write(out=Path(out)):
            from imgen_desktop.core.generate import save_images

            written = save_images(images, out, seed)
            if interp is not None and out.suffix.lower() != ".png":
                written += save_images(interp, out, a, interpolate=True)
            return out.suffix.lower() == ".png", [str(p) for p in written]
        self.set_message(f"Saving to {out}…")
        self._pool.start(write, on_done=self._on_saved, on_error=self._on_save_failed, context="Saving failed")

    def busy(self) -> bool:
        return self._pool.busy()

    # --- internals --------------------------------------------------------------------------
    def _set_title(self) -> None:
        name = self._model_name
        self.title.setText("<b>Generate</b>" + (f" — {html.escape(name)}" if name else ""))

    def _set_enabled(self, on: bool) -> None:
        for b in (self.reseed_button, self.save_button, self.save_grid_button):
            b.setEnabled(on)
        self.count_spin.setEnabled(self._model is not None)  # stays usable while pictures are made
        self.interp_button.setEnabled(on and len(self.seeds) >= 2)

    def _run(self, fn, on_done, message: str) -> None:
        self._request += 1
        self._set_enabled(False)
        self.set_message(message)
        self.sigBusy.emit(True)
        self._pool.start(fn, on_done=on_done, on_error=self._on_error, tag=self._request, context="Generating failed")

    def _sample(self) -> None:
        if self._model is None:
            return
        model, n, seed = self._model, self.count_spin.value(), self.seed
        self._run(lambda: model.sample(n, seed), self._on_sampled, f"Generating {n} pictures…")

    def _on_count_changed(self, _value: int) -> None:
        if self._model is not None:
            self._resample.start()

    def _on_loaded(self, result: Any, tag: Any) -> None:
        if tag != self._request:
            return
        self._model, images = result
        self._show(images)
        if len(images) != self.count_spin.value():  # the count changed while the model loaded
            self._resample.start()

    def _on_sampled(self, images: Any, tag: Any) -> None:
        if tag == self._request:
            self._show(images)

    def _show(self, images) -> None:
        images = list(images)
        self.seeds = [self.seed + i for i in range(len(images))]
        self.tiles.set_images(images)
        self.strip.hide()
        self.interpolation = None
        meta = getattr(self._model, "meta", {}) or {}
        h, w = images[0].shape[:2] if images else (0, 0)
        self.set_message(f"{len(images)} pictures, {w}x{h}, seeds {self.seed}–{self.seed + len(images) - 1}"
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
        self.set_message(f"Interpolation: {len(self.interpolation)} steps")
        self._set_enabled(True)
        self.sigBusy.emit(False)

    def _on_error(self, message: str, tag: Any) -> None:
        if tag != self._request:
            return
        self.set_message(message, "bad")
        if self._model is None:
            self.tiles.placeholder = "This model could not be loaded (the reason is below)."
            self.tiles.update()
        self._set_enabled(self._model is not None)
        self.sigBusy.emit(False)

    def _on_saved(self, result: Any, _tag: Any) -> None:
        grid, paths = result
        if grid:
            self.set_message(f"Saved a grid of {len(self.seeds)} pictures to {paths[0]}")
        else:
            self.set_message(f"Saved {len(paths)} pictures to {Path(paths[0]).parent}")
        self.sigSaved.emit(list(paths))

    def _on_save_failed(self, message: str, _tag: Any) -> None:
        self.set_message(message, "bad")

    def _on_theme_changed(self, _theme: str) -> None:
        self.set_message(*self._message)
        self.tiles.update()

    def _on_selection_changed(self, selected: list) -> None:
        if len(selected) == 2:
            self.hint.setText(f"Interpolate from A (seed {self.seeds[selected[0]]}) to B (seed {self.seeds[selected[1]]}).")
        else:
            self.hint.setText("Click two pictures, then Interpolate to morph one into the other.")

    def _on_save_grid(self) -> None:
        start = Path(last_folder("generated", str(Path.home()))) / f"{self._model_name or 'samples'}_{self.seed}.png"
        out, _ = QFileDialog.getSaveFileName(self, "Save the pictures as one grid", str(start), "PNG image (*.png)")
        if not out:
            return
        if not out.lower().endswith(".png"):
            out += ".png"
        remember_folder("generated", str(Path(out).parent))
        self.save(out)

    def _on_save_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Save the pictures into", last_folder("generated", str(Path.home())))
        if not folder:
            return
        remember_folder("generated", folder)
        self.save(folder)

    def shutdown(self, timeout_ms: int = 5000) -> None:
        self._resample.stop()
        self._pool.wait_all(timeout_ms)
