"""The enhancement canvas: drop / open / paste a photo, pick a model, Apply, compare, Save.

Layout: the photo area on the left (an inviting empty state until a photo is loaded, then
the before/after :class:`CompareView` with its view bar), a sidebar on the right (photo
info, batch list, model and options, inpaint brush, Apply / Cancel / progress, Save).
Enhancement runs in :mod:`enhance_worker` threads; ``core`` modules that pull torch are
imported only inside those threads or lazily inside handlers. Opening and saving photos run
in worker threads too (decoding a 12-megapixel JPEG stalled the window for 0.4 s, writing a
4-megapixel PNG for 2 s): :meth:`EnhanceCanvas.load_file` and :meth:`EnhanceCanvas.save_result`
return at once and finish with ``sigPhotoLoaded`` / ``sigSaved`` or an error message.
"""
from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import QSize, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QGuiApplication, QImage, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QButtonGroup, QCheckBox, QComboBox, QFileDialog, QFormLayout, QFrame, QHBoxLayout, QLabel,
    QListWidget, QListWidgetItem, QMenu, QProgressBar, QPushButton, QScrollArea, QSizePolicy,
    QSlider, QSpinBox, QStackedWidget, QToolButton, QVBoxLayout, QWidget,
)

from imgen_desktop.core.enhance import default_passes  # torch-free at import
from imgen_desktop.ui.compare_view import CompareView, photo_to_qimage, qimage_to_array
from imgen_desktop.ui.enhance_worker import BatchWorker, EnhanceWorker, ModelLister, friendly_error, output_name
from imgen_desktop.ui.mask_painter import MaskPainter
from imgen_desktop.ui.settings import app_settings, last_folder, remember_folder
from imgen_desktop.ui.workers import WorkerPool

OPEN_FILTER = "Images (*.png *.jpg *.jpeg *.webp *.tif *.tiff *.bmp *.gif);;All files (*)"
SAVE_FILTERS = {
    "PNG image (*.png)": ("PNG", ".png"),
    "JPEG image (*.jpg *.jpeg)": ("JPEG", ".jpg"),
    "WebP image (*.webp)": ("WEBP", ".webp"),
    "TIFF image (*.tif *.tiff)": ("TIFF", ".tif"),
}
PASSES_CHOICES = (("Auto", None), ("1 (fastest)", 1), ("2 (mirrored)", 2), ("4 (best)", 4))
TILE_CHOICES = (("Auto", None), ("Whole image", 0), ("256 px", 256), ("512 px", 512), ("1024 px", 1024))
TASK_WORDS = {"upscale": "Upscale", "denoise": "Denoise", "inpaint": "Inpaint"}
BUSY_WORDS = {"upscale": "Upscaling", "denoise": "Denoising", "inpaint": "Inpainting"}
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".tif", ".tiff", ".bmp", ".gif")


def task_text(task: str, scale: int) -> str:
    return f"upscale ×{scale}" if task == "upscale" else task


def model_label(choice: dict) -> str:
    """What the model picker shows: name, task and scale (and 'built-in')."""
    label = choice["label"]
    tt = task_text(choice["task"], choice["scale"])
    if choice["task"] not in label.lower() or (choice["task"] == "upscale" and f"{choice['scale']}" not in label):
        label = f"{label} — {tt}"
    return label


def describe_photo(photo, prefix: str = "") -> str:
    """``chelsea.png · 451 × 300 px · 8-bit RGB · alpha · ICC profile``."""
    colour = {1: "gray", 3: "RGB"}.get(photo.channels, f"{photo.channels} channels")
    parts = [f"{photo.width} × {photo.height} px", f"{photo.bit_depth}-bit {colour}"]
    if photo.alpha is not None:
        parts.append("alpha")
    parts.append("ICC profile" if photo.icc else "no ICC profile")
    head = prefix or photo.name
    return f"{head} · " + " · ".join(parts)


def _fmt_seconds(s: float) -> str:
    if s < 60:
        return f"{max(1, round(s))} s"
    return f"{int(s // 60)} min {int(s % 60):02d} s"


def _section(title: str) -> QLabel:
    label = QLabel(title)
    font = label.font()
    font.setBold(True)
    label.setFont(font)
    label.setContentsMargins(0, 8, 0, 0)
    return label


class EmptyState(QFrame):
    """"Drop a photo here — or open one", with Open… and a sample photo one click away."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("emptyState")
        self.setStyleSheet(
            "#emptyState { border: 2px dashed palette(mid); border-radius: 14px; }"
            "#emptyState[dragOver=\"true\"] { border-color: palette(highlight); }"
        )
        layout = QVBoxLayout(self)
        layout.addStretch(2)
        title = QLabel("Drop a photo here — or open one")
        font = title.font()
        font.setPointSizeF(font.pointSizeF() * 1.8)
        title.setFont(font)
        title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        subtitle = QLabel(
            "Upscale, denoise or fill in part of a photo with a built-in model or one you trained.\n"
            "PNG, JPEG, WebP, TIFF · drop several files or a folder to enhance them all · paste with Ctrl+V"
        )
        subtitle.setAlignment(Qt.AlignmentFlag.AlignCenter)
        subtitle.setEnabled(False)
        row = QHBoxLayout()
        row.addStretch(1)
        self.open_button = QPushButton("Open…")
        self.open_button.setObjectName("openButton")
        self.open_button.setMinimumWidth(140)
        self.sample_button = QToolButton()
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

    def set_drag_over(self, on: bool) -> None:
        self.setProperty("dragOver", bool(on))
        self.style().unpolish(self)
        self.style().polish(self)


def sample_photos() -> list[Path]:
    """Photos the app ships: the held-out test photos first, then the others."""
    from imgen_desktop.core.paths import resource_path

    found: list[Path] = []
    for folder in (resource_path("photos", "test"), resource_path("photos")):
        if folder.is_dir():
            found += sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    preferred = [p for p in found if p.stem == "chelsea"]
    return preferred + [p for p in found if p not in preferred]


class EnhanceCanvas(QWidget):
    """The Enhance tab. Public API used by the main window and tests is documented per method."""

    sigPhotoLoaded = Signal(str)  # source name
    sigResultReady = Signal()
    sigSaved = Signal(str)
    sigError = Signal(str)
    sigModelsListed = Signal()
    sigBatchFinished = Signal(int, int)  # ok, failed
    sigCancelled = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("enhanceCanvas")
        self.setAcceptDrops(True)
        self._photo = None  # core.imageio.Photo (the "before")
        self._result = None  # Photo (the "after")
        self._result_task = ("", 1)
        self._batch_paths: list[str] = []
        self._models: list[dict] = []
        self._pending_select: str | None = None
        self._worker: EnhanceWorker | None = None
        self._batch_worker: BatchWorker | None = None
        self._lister: ModelLister | None = None
        self._refresh_again = False
        self._started = 0.0
        self._tiles_started = 0.0
        self._batch_state: dict = {}
        self._io = WorkerPool(self)  # opening and saving photos
        self._load_seq = 0
        self._loading: str | None = None  # the file being opened
        self._saving: str | None = None  # the file being written
        self.mask = MaskPainter(self)
        self._build()
        self._connect()
        self._update_controls()
        QTimer.singleShot(0, self.refresh_models)

    # --- construction -----------------------------------------------------------------------
    def _build(self) -> None:
        root = QHBoxLayout(self)
        root.setContentsMargins(8, 8, 8, 8)

        # left: empty state | view
        self.stack = QStackedWidget(self)
        self.empty = EmptyState(self)
        for path in sample_photos():
            act = self.empty.sample_menu.addAction(path.name)
            act.triggered.connect(lambda _=False, p=str(path): self.open_paths([p]))
        self.stack.addWidget(self.empty)
        view_page = QWidget(self)
        vlay = QVBoxLayout(view_page)
        vlay.setContentsMargins(0, 0, 0, 0)
        vlay.setSpacing(4)
        bar = QHBoxLayout()
        view_page.setStyleSheet(
            "QToolButton { padding: 3px 10px; }"
            "QToolButton:checked { background: palette(highlight); color: palette(highlighted-text); border-radius: 3px; }"
        )
        self.mode_group = QButtonGroup(self)
        self.mode_buttons: dict[str, QToolButton] = {}
        for mode, text, tip in (
            ("before", "Before", "Show the original photo (Space toggles before/after)"),
            ("split", "Split", "Before on the left, result on the right; drag the divider (S)"),
            ("after", "After", "Show the result (Space toggles before/after)"),
        ):
            b = QToolButton(self)
            b.setObjectName(f"{mode}Button")
            b.setText(text)
            b.setToolTip(tip)
            b.setCheckable(True)
            self.mode_group.addButton(b)
            self.mode_buttons[mode] = b
            bar.addWidget(b)
        bar.addSpacing(16)
        self.fit_button = QToolButton(self)
        self.fit_button.setObjectName("fitButton")
        self.fit_button.setText("Fit")
        self.fit_button.setToolTip("Fit the photo in the window (Ctrl+0, F)")
        self.actual_button = QToolButton(self)
        self.actual_button.setObjectName("actualSizeButton")
        self.actual_button.setText("100%")
        self.actual_button.setToolTip("One photo pixel per screen pixel (1); wheel zooms at the cursor, drag pans")
        self.zoom_label = QLabel("", self)
        self.zoom_label.setObjectName("zoomLabel")
        self.zoom_label.setMinimumWidth(48)
        bar.addWidget(self.fit_button)
        bar.addWidget(self.actual_button)
        bar.addWidget(self.zoom_label)
        bar.addStretch(1)
        self.close_photo_button = QToolButton(self)
        self.close_photo_button.setObjectName("closePhotoButton")
        self.close_photo_button.setText("Close photo")
        self.close_photo_button.setToolTip("Back to the drop area")
        bar.addWidget(self.close_photo_button)
        vlay.addLayout(bar)
        self.view = CompareView(self)
        vlay.addWidget(self.view, 1)
        self.info_label = QLabel("", self)
        self.info_label.setObjectName("infoLabel")
        self.info_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        vlay.addWidget(self.info_label)
        self.stack.addWidget(view_page)
        root.addWidget(self.stack, 1)

        # right: the sidebar
        side = QWidget(self)
        side.setObjectName("canvasSidebar")
        s = QVBoxLayout(side)
        s.setContentsMargins(8, 0, 4, 0)

        self.error_label = QLabel("", side)
        self.error_label.setObjectName("canvasError")
        self.error_label.setWordWrap(True)
        self.error_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.error_label.setStyleSheet(
            "#canvasError { background: #6b2020; color: #ffe3e3; border-radius: 6px; padding: 8px; }"
        )
        self.error_label.hide()
        s.addWidget(self.error_label)

        s.addWidget(_section("Photo"))
        row = QHBoxLayout()
        self.open_button = QPushButton("Open…", side)
        self.open_button.setObjectName("sideOpenButton")
        self.open_button.setToolTip("Open one photo, or several to enhance them all (Ctrl+O)")
        self.paste_button = QPushButton("Paste", side)
        self.paste_button.setObjectName("pasteButton")
        self.paste_button.setToolTip("Paste an image or image files from the clipboard (Ctrl+V)")
        row.addWidget(self.open_button)
        row.addWidget(self.paste_button)
        s.addLayout(row)
        self.batch_label = QLabel("", side)
        self.batch_label.setObjectName("batchLabel")
        self.batch_list = QListWidget(side)
        self.batch_list.setObjectName("batchList")
        self.batch_list.setToolTip("Click a photo to preview it; Apply enhances them all into a folder")
        self.batch_list.setMinimumHeight(120)
        s.addWidget(self.batch_label)
        s.addWidget(self.batch_list)

        s.addWidget(_section("Model"))
        self.model_combo = QComboBox(side)
        self.model_combo.setObjectName("modelCombo")
        self.model_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.model_combo.setMinimumContentsLength(18)
        self.model_combo.addItem("Loading models…")
        s.addWidget(self.model_combo)
        self.model_info = QLabel("", side)
        self.model_info.setObjectName("modelInfoLabel")
        self.model_info.setWordWrap(True)
        self.model_info.setEnabled(False)
        s.addWidget(self.model_info)

        form = self._form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        noise_row = QHBoxLayout()
        self.noise_auto = QCheckBox("Auto", side)
        self.noise_auto.setObjectName("noiseAutoCheck")
        self.noise_auto.setChecked(True)
        self.noise_auto.setToolTip("Let the model judge how noisy the photo is")
        self.noise_slider = QSlider(Qt.Orientation.Horizontal, side)
        self.noise_slider.setObjectName("noiseSlider")
        self.noise_slider.setRange(1, 50)
        self.noise_slider.setValue(25)
        self.noise_slider.setToolTip("Noise strength (sigma on a 0–255 scale): higher removes more, and smooths more")
        self.noise_value = QLabel("25", side)
        self.noise_value.setMinimumWidth(22)
        noise_row.addWidget(self.noise_auto)
        noise_row.addWidget(self.noise_slider, 1)
        noise_row.addWidget(self.noise_value)
        self.noise_row = QWidget(side)
        self.noise_row.setLayout(noise_row)
        noise_row.setContentsMargins(0, 0, 0, 0)
        form.addRow("Noise", self.noise_row)

        var_row = QHBoxLayout()
        var_row.setContentsMargins(0, 0, 0, 0)
        self.variation_check = QCheckBox("Sample", side)
        self.variation_check.setObjectName("variationCheck")
        self.variation_check.setToolTip("VAE models: draw a different plausible result (off = the most likely one)")
        self.variation_seed = QSpinBox(side)
        self.variation_seed.setObjectName("variationSeed")
        self.variation_seed.setRange(0, 999_999)
        self.variation_seed.setPrefix("seed ")
        self.variation_seed.setEnabled(False)
        var_row.addWidget(self.variation_check)
        var_row.addWidget(self.variation_seed, 1)
        self.variation_row = QWidget(side)
        self.variation_row.setLayout(var_row)
        form.addRow("Variation", self.variation_row)

        self.tile_combo = QComboBox(side)
        self.tile_combo.setObjectName("tileCombo")
        self.tile_combo.setEditable(True)
        self.tile_combo.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        for text, value in TILE_CHOICES:
            self.tile_combo.addItem(text, value)
        self.tile_combo.setToolTip(
            "Large photos are processed in overlapping tiles (no seams).\n"
            "Auto picks a size from the free memory; type a number of pixels, or 0 for the whole image at once.\n"
            "Smaller tiles use less memory."
        )
        form.addRow("Tiles", self.tile_combo)
        self.passes_combo = QComboBox(side)
        self.passes_combo.setObjectName("passesCombo")
        for text, value in PASSES_CHOICES:
            self.passes_combo.addItem(text, value)
        self.passes_combo.setToolTip(
            "Also run the photo mirrored (and upside down) and average the results: a little\n"
            "cleaner, each pass takes as long as the first. Auto: 4 passes for denoising, 1 otherwise."
        )
        form.addRow("Passes", self.passes_combo)
        self.device_combo = QComboBox(side)
        self.device_combo.setObjectName("canvasDeviceCombo")
        self.device_combo.addItem("Auto (best available)", "auto")
        self.device_combo.setToolTip("Where the model runs")
        form.addRow("Device", self.device_combo)
        s.addLayout(form)

        # inpaint brush
        self.mask_box = QWidget(side)
        self.mask_box.setObjectName("maskBox")
        m = QVBoxLayout(self.mask_box)
        m.setContentsMargins(0, 0, 0, 0)
        m.addWidget(_section("Area to fill"))
        hint = QLabel("Paint over what should be filled in. Drag with the middle button to pan.", self.mask_box)
        hint.setWordWrap(True)
        hint.setEnabled(False)
        m.addWidget(hint)
        brush_row = QHBoxLayout()
        brush_row.addWidget(QLabel("Brush", self.mask_box))
        self.brush_slider = QSlider(Qt.Orientation.Horizontal, self.mask_box)
        self.brush_slider.setObjectName("brushSlider")
        self.brush_slider.setRange(2, 400)
        self.brush_slider.setValue(40)
        self.brush_slider.setToolTip("Brush diameter in photo pixels ( [ and ] change it)")
        self.brush_value = QLabel("40 px", self.mask_box)
        self.brush_value.setMinimumWidth(44)
        brush_row.addWidget(self.brush_slider, 1)
        brush_row.addWidget(self.brush_value)
        m.addLayout(brush_row)
        mrow = QHBoxLayout()
        self.undo_mask_button = QPushButton("Undo", self.mask_box)
        self.undo_mask_button.setObjectName("undoMaskButton")
        self.undo_mask_button.setToolTip("Undo the last brush stroke (Ctrl+Z)")
        self.clear_mask_button = QPushButton("Clear", self.mask_box)
        self.clear_mask_button.setObjectName("clearMaskButton")
        mrow.addWidget(self.undo_mask_button)
        mrow.addWidget(self.clear_mask_button)
        m.addLayout(mrow)
        s.addWidget(self.mask_box)

        s.addSpacing(10)
        self.apply_button = QPushButton("Apply", side)
        self.apply_button.setObjectName("applyButton")
        self.apply_button.setDefault(True)
        self.apply_button.setMinimumHeight(36)
        font = self.apply_button.font()
        font.setBold(True)
        self.apply_button.setFont(font)
        self.apply_button.setToolTip("Run the model on the photo (Ctrl+Enter)")
        self.cancel_button = QPushButton("Cancel", side)
        self.cancel_button.setObjectName("cancelButton")
        self.cancel_button.setMinimumHeight(36)
        self.cancel_button.setToolTip("Stop now; nothing is written (Esc)")
        self.cancel_button.hide()
        s.addWidget(self.apply_button)
        s.addWidget(self.cancel_button)
        self.progress = QProgressBar(side)
        self.progress.setObjectName("enhanceProgress")
        self.progress.setTextVisible(True)
        self.progress.hide()
        self.eta_label = QLabel("", side)
        self.eta_label.setObjectName("etaLabel")
        self.eta_label.setWordWrap(True)
        s.addWidget(self.progress)
        s.addWidget(self.eta_label)

        s.addWidget(_section("Result"))
        self.result_label = QLabel("No result yet.", side)
        self.result_label.setObjectName("resultInfoLabel")
        self.result_label.setWordWrap(True)
        self.result_label.setEnabled(False)
        s.addWidget(self.result_label)
        save_row = QHBoxLayout()
        self.save_button = QPushButton("Save…", side)
        self.save_button.setObjectName("saveButton")
        self.save_button.setToolTip("Save the result as PNG, JPEG, WebP or TIFF (Ctrl+S); alpha, colour profile and EXIF are kept")
        self.quality_spin = QSpinBox(side)
        self.quality_spin.setObjectName("qualitySpin")
        self.quality_spin.setRange(1, 100)
        self.quality_spin.setPrefix("quality ")
        self.quality_spin.setToolTip("JPEG and WebP quality (WebP 100 = lossless); PNG and TIFF are always lossless")
        self.quality_spin.setValue(int(app_settings().value("enhance/quality", 92) or 92))
        save_row.addWidget(self.save_button, 1)
        save_row.addWidget(self.quality_spin)
        s.addLayout(save_row)
        self.chain_button = QPushButton("Use result as the new photo", side)
        self.chain_button.setObjectName("chainButton")
        self.chain_button.setToolTip("Continue from the result, e.g. denoise first, then upscale")
        s.addWidget(self.chain_button)
        s.addStretch(1)

        scroll = QScrollArea(self)
        scroll.setWidget(side)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setFixedWidth(330)
        scroll.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Expanding)
        root.addWidget(scroll)

        for key, slot in (
            ("Ctrl+Return", self.apply), ("Ctrl+Enter", self.apply), ("Escape", self.cancel),
            ("Ctrl+0", self.view.fit), ("Ctrl+=", self.view.zoom_in), ("Ctrl++", self.view.zoom_in),
            ("Ctrl+-", self.view.zoom_out), ("F", self.view.fit), ("1", self.view.actual_size),
            ("Ctrl+Z", self._on_undo_mask), ("[", lambda: self._step_brush(1 / 1.25)),
            ("]", lambda: self._step_brush(1.25)),
        ):
            sc = QShortcut(QKeySequence(key), self)
            sc.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            sc.activated.connect(slot)

    def _connect(self) -> None:
        self.empty.open_button.clicked.connect(self.open_dialog)
        self.empty.sample_button.clicked.connect(self.open_sample)
        self.open_button.clicked.connect(self.open_dialog)
        self.paste_button.clicked.connect(self.paste)
        self.close_photo_button.clicked.connect(self.close_photo)
        for mode, b in self.mode_buttons.items():
            b.clicked.connect(lambda _=False, m=mode: self.view.set_mode(m))
        self.view.sigModeChanged.connect(self._on_view_mode_changed)
        self.view.sigZoomChanged.connect(self._on_zoom_changed)
        self.fit_button.clicked.connect(self.view.fit)
        self.actual_button.clicked.connect(self.view.actual_size)
        self.model_combo.currentIndexChanged.connect(self._on_model_changed)
        self.noise_auto.toggled.connect(lambda on: self.noise_slider.setEnabled(not on))
        self.noise_slider.valueChanged.connect(lambda v: self.noise_value.setText(str(v)))
        self.variation_check.toggled.connect(self.variation_seed.setEnabled)
        self.brush_slider.valueChanged.connect(self._on_brush_changed)
        self.undo_mask_button.clicked.connect(self.mask.undo)
        self.clear_mask_button.clicked.connect(self.mask.clear)
        self.mask.sigChanged.connect(self._on_mask_changed)
        self.view.sigPaintPressed.connect(self.mask.begin_stroke)
        self.view.sigPaintMoved.connect(self.mask.stroke_to)
        self.view.sigPaintReleased.connect(self.mask.end_stroke)
        self.apply_button.clicked.connect(self.apply)
        self.cancel_button.clicked.connect(self.cancel)
        self.save_button.clicked.connect(lambda: self.save_result())
        self.quality_spin.valueChanged.connect(lambda v: app_settings().setValue("enhance/quality", int(v)))
        self.chain_button.clicked.connect(self.use_result_as_photo)
        self.batch_list.currentRowChanged.connect(self._on_batch_row_changed)
        self.noise_slider.setEnabled(False)
        self.noise_row.setEnabled(True)
        self.mask.brush_size = self.brush_slider.value()

    # --- public API (main window, tests) ----------------------------------------------------
    def photo(self):
        return self._photo

    def result(self):
        return self._result

    def is_busy(self) -> bool:
        return self._worker is not None or self._batch_worker is not None

    def is_loading(self) -> bool:
        """A photo is being opened (in the background)."""
        return self._loading is not None

    def is_saving(self) -> bool:
        """The result is being written (in the background)."""
        return self._saving is not None

    def open_dialog(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(self, "Open photos", last_folder("open"), OPEN_FILTER)
        if paths:
            remember_folder("open", str(Path(paths[0]).parent))
            self.open_paths(paths)

    def open_sample(self) -> None:
        photos = sample_photos()
        if not photos:
            self.show_error("No sample photos were found in the app's resources folder.")
            return
        self.open_paths([str(photos[0])])

    def open_paths(self, paths: list[str]) -> None:
        """One file: open it. Several files and/or folders: a batch (the first is previewed)."""
        if self.is_busy():
            self.show_error("Wait for the current job to finish (or cancel it) before opening other photos.")
            return
        files: list[str] = []
        folder_given = False
        for raw in paths:
            p = Path(raw)
            if p.is_dir():
                folder_given = True
                from imgen_desktop.core.imageio import find_images

                files += [str(f) for f in find_images(p)]
            else:
                files.append(str(p))
        if not files:
            self.show_error("No images found" + (" in that folder." if folder_given else "."))
            return
        if len(files) == 1 and not folder_given:
            self._set_batch([])
            self.load_file(files[0])
        else:
            self._set_batch(files)
            self.batch_list.setCurrentRow(0)

    def load_file(self, path: str) -> None:
        """Open one photo in the background; it replaces the current one when decoded
        (``sigPhotoLoaded``). A bad file shows its error and keeps what was there. Opening
        another file before this one is done supersedes it."""
        self._load_seq += 1
        self._loading = str(path)
        self._status(f"Opening {Path(path).name}…")
        self.view.setCursor(Qt.CursorShape.BusyCursor)
        self._io.start(_read_photo, str(path), on_done=self._on_photo_read, on_error=self._on_photo_failed, tag=self._load_seq)

    def _load_ended(self, tag) -> bool:
        """True (and the busy state cleared) if ``tag`` is the latest open request."""
        if tag != self._load_seq:
            return False  # a newer request superseded this one
        self._loading = None
        self.view.unsetCursor()
        return True

    def _on_photo_read(self, result, tag) -> None:
        if self._load_ended(tag):
            photo, image = result
            self.set_photo(photo, image)

    def _on_photo_failed(self, message: str, tag) -> None:
        if self._load_ended(tag):
            self._status("")
            self.show_error(message)

    def set_photo(self, photo, display: QImage | None = None) -> None:
        """Show a core Photo as the 'before' (clears any result and mask). ``display``: its
        picture as :func:`photo_to_qimage` makes it, if already made off the GUI thread."""
        self.clear_error()
        self._photo = photo
        self._result = None
        self.view.set_images(display if display is not None else photo_to_qimage(photo), None)
        self.mask.reset(photo.width, photo.height)
        self.mask.set_display_size(self.view.display_size())
        self.stack.setCurrentIndex(1)
        self._update_info()
        self._update_controls()
        self.view.setFocus()
        self._status(f"Opened {photo.name}")
        self.sigPhotoLoaded.emit(photo.name)

    def close_photo(self) -> None:
        if self.is_busy():
            return
        self._photo = None
        self._result = None
        self._set_batch([])
        self.view.set_images(None, None)
        self.view.set_overlay(None)
        self.stack.setCurrentIndex(0)
        self._update_info()
        self._update_controls()

    def paste(self) -> None:
        """Paste image data, or image files / URLs, from the clipboard."""
        clipboard = QGuiApplication.clipboard()
        mime = clipboard.mimeData()
        if mime is not None and mime.hasUrls():
            paths = [u.toLocalFile() for u in mime.urls() if u.isLocalFile()]
            if paths:
                self.open_paths(paths)
                return
        if mime is not None and mime.hasImage():
            image = clipboard.image()
            if not image.isNull():
                self.load_qimage(image, "pasted image")
                return
        if mime is not None and mime.hasText():
            paths = []
            for line in mime.text().splitlines():
                line = line.strip()
                if line.startswith("file:"):
                    line = QUrl(line).toLocalFile()
                if line and Path(line).exists():
                    paths.append(line)
            if paths:
                self.open_paths(paths)
                return
        self.show_error("The clipboard holds no image and no image file to paste.")

    def load_qimage(self, image: QImage, name: str = "pasted image") -> bool:
        try:
            from imgen_desktop.core.imageio import photo_from_array

            photo = photo_from_array(qimage_to_array(image), source=name)
        except Exception as exc:  # noqa: BLE001
            self.show_error(f"The pasted image could not be used ({friendly_error(exc)}).")
            return False
        self._set_batch([])
        self.set_photo(photo)
        return True

    def refresh_models(self) -> None:
        """Re-read the list of enhancement models (off the GUI thread; it imports torch)."""
        if self._lister is not None:
            self._refresh_again = True
            return
        self._lister = ModelLister(self)
        self._lister.sigListed.connect(self._on_models_listed)
        self._lister.finished.connect(self._on_lister_finished)
        self._lister.start()

    def select_model(self, spec_or_name: str) -> bool:
        """Select a model by spec (``builtin:denoise``), store name or file path."""
        index = self._find_model(spec_or_name)
        if index < 0:
            self._pending_select = spec_or_name
            self.refresh_models()
            return False
        self._pending_select = None
        self.model_combo.setCurrentIndex(index)
        return True

    def set_devices(self, devices: list[tuple[str, str]]) -> None:
        current = self.device_combo.currentData()
        self.device_combo.blockSignals(True)
        self.device_combo.clear()
        self.device_combo.addItem("Auto (best available)", "auto")
        for dev_id, label in devices:
            self.device_combo.addItem(label, dev_id)
        idx = self.device_combo.findData(current)
        self.device_combo.setCurrentIndex(max(0, idx))
        self.device_combo.blockSignals(False)

    def shutdown(self) -> None:
        """Cancel and join every worker (called when the window closes)."""
        for worker in (self._worker, self._batch_worker):
            if worker is not None:
                worker.cancel()
        for worker in (self._worker, self._batch_worker, self._lister):
            if worker is not None:
                worker.wait(30000)
        self._io.wait_all(60000)  # a save in progress finishes (never a half-written file)

    # --- model choice -------------------------------------------------------------------
    def current_model(self) -> dict | None:
        data = self.model_combo.currentData()
        return data if isinstance(data, dict) else None

    def _find_model(self, key: str) -> int:
        key_l = str(key).strip().lower()
        for i in range(self.model_combo.count()):
            data = self.model_combo.itemData(i)
            if not isinstance(data, dict):
                continue
            spec = data["spec"].lower()
            names = {spec, spec.removeprefix("builtin:"), Path(spec).stem.lower(), data["label"].lower()}
            if key_l in names or Path(key_l).stem in names:
                return i
        return -1

    def _on_models_listed(self, choices: list, error: str) -> None:
        current = self.current_model()
        current_spec = current["spec"] if current else None
        self._models = sorted(choices, key=lambda c: (not c["builtin"],))  # built-ins first, order kept
        self.model_combo.blockSignals(True)
        self.model_combo.clear()
        for c in self._models:
            self.model_combo.addItem(model_label(c), c)
            self.model_combo.setItemData(
                self.model_combo.count() - 1,
                f"{c['family'].upper()} · {task_text(c['task'], c['scale'])} · {c['spec']}",
                Qt.ItemDataRole.ToolTipRole,
            )
        if not self._models:
            self.model_combo.addItem("No models yet — train one on the Train tab")
        self.model_combo.blockSignals(False)
        index = self._find_model(self._pending_select) if self._pending_select else -1
        if index < 0 and current_spec:
            index = self._find_model(current_spec)
        if index < 0:
            saved = str(app_settings().value("enhance/model", "") or "")
            index = self._find_model(saved) if saved else -1
        if index >= 0 and self._pending_select and self._find_model(self._pending_select) == index:
            self._pending_select = None
        self.model_combo.setCurrentIndex(max(0, index))
        self._on_model_changed()
        if error:
            self.show_error(error)
        self.sigModelsListed.emit()

    def _on_lister_finished(self) -> None:
        self._lister = None
        if self._refresh_again:
            self._refresh_again = False
            self.refresh_models()

    def _on_model_changed(self, *_args) -> None:
        c = self.current_model()
        if c is not None:
            app_settings().setValue("enhance/model", c["spec"])
            where = "built-in" if c["builtin"] else "your model"
            self.model_info.setText(f"{c['family'].upper()} · {task_text(c['task'], c['scale'])} · {where}")
        else:
            self.model_info.setText("")
        self._update_controls()

    # --- apply / cancel ---------------------------------------------------------------------
    def tile_value(self) -> int | None:
        """Auto -> None, Whole image -> 0, a number -> that many pixels; raises ValueError."""
        text = self.tile_combo.currentText().strip()
        idx = self.tile_combo.findText(text)
        if idx >= 0:
            return self.tile_combo.itemData(idx)
        digits = text.lower().removesuffix("px").strip()
        if digits.isdigit():
            value = int(digits)
            if value == 0 or value >= 32:
                return value
        raise ValueError(f"Tile size {text!r} is not valid: choose Auto, Whole image, or a number of pixels (at least 32).")

    def apply(self) -> None:
        """Run the chosen model on the photo (or the batch) in a worker thread."""
        if self.is_busy():
            return
        if self._batch_paths:
            self.start_batch()
            return
        self.clear_error()
        c = self.current_model()
        if self._loading is not None:
            self.show_error(f"{Path(self._loading).name} is still opening; Apply again when it shows.")
            return
        if self._photo is None:
            self.show_error("Open a photo first: drop one here, use Open…, or try a sample photo.")
            return
        if c is None:
            self.show_error("Choose a model first (none is available yet).")
            return
        try:
            tile = self.tile_value()
        except ValueError as exc:
            self.show_error(str(exc))
            return
        mask = None
        if c["task"] == "inpaint":
            if self.mask.is_empty():
                self.show_error("Paint over the area to fill first (the brush is active on the photo).")
                return
            mask = self.mask.mask_array()
        self._worker = EnhanceWorker(
            self._photo, c["spec"], self.device_combo.currentData() or "auto", tile, mask,
            self._noise_level(c), self._variation_seed(c), self.passes_combo.currentData(), parent=self,
        )
        self._worker.sigProgress.connect(self._on_progress)
        self._worker.sigStatus.connect(self._on_worker_status)
        self._worker.sigResult.connect(self._on_result)
        self._worker.sigFailed.connect(self._on_failed)
        self._worker.sigCancelled.connect(self._on_cancelled)
        self._worker.finished.connect(self._on_worker_finished)
        self._result_task = (c["task"], int(c["scale"]))
        self._start_busy(f"{BUSY_WORDS.get(c['task'], 'Enhancing')} {self._photo.name}…")
        self._worker.start()

    def cancel(self) -> None:
        for worker in (self._worker, self._batch_worker):
            if worker is not None:
                worker.cancel()
                self.cancel_button.setEnabled(False)
                self.eta_label.setText("Cancelling…")

    def _noise_level(self, c: dict) -> float | None:
        if c["task"] != "denoise" or not c.get("noise_level") or self.noise_auto.isChecked():
            return None
        return float(self.noise_slider.value())

    def _variation_seed(self, c: dict) -> int | None:
        if c["family"] != "vae" or not self.variation_check.isChecked():
            return None
        return int(self.variation_seed.value())

    def _start_busy(self, text: str) -> None:
        self._started = time.monotonic()
        self._tiles_started = 0.0
        self.progress.setRange(0, 0)  # busy until the first tile reports
        self.progress.setFormat("")
        self.progress.show()
        self.eta_label.setText(text)
        self.cancel_button.setEnabled(True)
        self._update_controls()
        self._status(text)

    def _stop_busy(self) -> None:
        self.progress.hide()
        self._update_controls()

    def _on_worker_status(self, text: str) -> None:
        self.eta_label.setText(text)

    def _eta_text(self, done: int, total: int, started: float) -> str:
        if done <= 0 or total <= 0:
            return ""
        elapsed = time.monotonic() - started
        left = elapsed / done * (total - done)
        return f"about {_fmt_seconds(left)} left" if done < total else "finishing…"

    def _on_progress(self, done: int, total: int) -> None:
        if self._tiles_started == 0.0:
            self._tiles_started = time.monotonic()
        self.progress.setRange(0, max(1, total))
        self.progress.setValue(done)
        self.progress.setFormat(f"{done} / {total} tiles")
        eta = self._eta_text(done, total, self._started)
        self.eta_label.setText(f"Tile {done} of {total} · {eta}" if eta else f"Tile {done} of {total}")

    def _on_result(self, photo, display: QImage) -> None:
        self._result = photo
        self.view.set_after(display, mode="split")
        self.mask.set_display_size(self.view.display_size())
        self.view.set_overlay(None)
        seconds = time.monotonic() - self._started
        self.eta_label.setText(f"Done in {_fmt_seconds(seconds)}. Drag the divider to compare; Space flips before/after.")
        self._status(f"{self._photo.name if self._photo else 'photo'} enhanced in {_fmt_seconds(seconds)}")
        self._update_info()
        self.sigResultReady.emit()

    def _on_failed(self, message: str) -> None:
        self.eta_label.setText("")
        self.show_error(message)

    def _on_cancelled(self) -> None:
        self.eta_label.setText("Cancelled — nothing was changed or written.")
        self._status("Cancelled.")
        self.sigCancelled.emit()

    def _on_worker_finished(self) -> None:
        worker, self._worker = self._worker, None
        if worker is not None:
            worker.deleteLater()
        self._stop_busy()

    # --- batch ---------------------------------------------------------------------------------
    def _set_batch(self, paths: list[str]) -> None:
        self._batch_paths = list(paths)
        self.batch_list.blockSignals(True)
        self.batch_list.clear()
        for p in self._batch_paths:
            item = QListWidgetItem(f"{Path(p).name} — waiting")
            item.setToolTip(p)
            self.batch_list.addItem(item)
        self.batch_list.blockSignals(False)
        self.batch_label.setText(f"{len(paths)} photos to enhance together" if paths else "")
        self._update_controls()

    def batch_paths(self) -> list[str]:
        return list(self._batch_paths)

    def _on_batch_row_changed(self, row: int) -> None:
        if 0 <= row < len(self._batch_paths) and not self.is_busy():
            self.load_file(self._batch_paths[row])

    def start_batch(self, out_dir: str | None = None) -> bool:
        """Enhance every batch file into ``out_dir`` (asks for it when None)."""
        if self.is_busy() or not self._batch_paths:
            return False
        self.clear_error()
        c = self.current_model()
        if c is None:
            self.show_error("Choose a model first (none is available yet).")
            return False
        if c["task"] == "inpaint":
            self.show_error("Inpainting needs a painted area on each photo: open the photos one at a time.")
            return False
        try:
            tile = self.tile_value()
        except ValueError as exc:
            self.show_error(str(exc))
            return False
        if out_dir is None:
            out_dir = QFileDialog.getExistingDirectory(self, "Save the enhanced photos in…", last_folder("batch", last_folder("save")))
            if not out_dir:
                return False
        remember_folder("batch", out_dir)
        self._batch_worker = BatchWorker(
            self._batch_paths, out_dir, c["spec"], self.device_combo.currentData() or "auto", tile,
            None, self.quality_spin.value(), self._noise_level(c), self._variation_seed(c),
            self.passes_combo.currentData(), parent=self,
        )
        w = self._batch_worker
        w.sigFileStarted.connect(self._on_batch_file_started)
        w.sigFileProgress.connect(self._on_batch_file_progress)
        w.sigFileDone.connect(self._on_batch_file_done)
        w.sigFileFailed.connect(self._on_batch_file_failed)
        w.sigFinished.connect(self._on_batch_finished)
        w.sigFailed.connect(self._on_failed)
        w.sigCancelled.connect(self._on_cancelled)
        w.finished.connect(self._on_batch_worker_finished)
        for i in range(self.batch_list.count()):
            self._set_item(i, "waiting")
        self._batch_state = {"ok": 0, "failed": 0, "out": out_dir}
        self._start_busy(f"Enhancing {len(self._batch_paths)} photos into {out_dir}…")
        self.progress.setRange(0, len(self._batch_paths) * 100)
        self.progress.setValue(0)
        self.progress.setFormat(f"0 / {len(self._batch_paths)} photos")
        w.start()
        return True

    def _set_item(self, i: int, status: str, tip: str | None = None) -> None:
        item = self.batch_list.item(i)
        if item is None:
            return
        item.setText(f"{Path(self._batch_paths[i]).name} — {status}")
        if tip is not None:
            item.setToolTip(tip)

    def batch_status(self, i: int) -> str:
        item = self.batch_list.item(i)
        return item.text().split(" — ", 1)[1] if item is not None and " — " in item.text() else ""

    def _on_batch_file_started(self, i: int) -> None:
        self._set_item(i, "working…")
        self.batch_list.scrollToItem(self.batch_list.item(i))
        self.progress.setValue(i * 100)
        self.progress.setFormat(f"{i} / {len(self._batch_paths)} photos")

    def _on_batch_file_progress(self, i: int, done: int, total: int) -> None:
        n = len(self._batch_paths)
        self._set_item(i, f"tile {done} / {total}")
        frac = done / max(1, total)
        self.progress.setValue(int((i + frac) * 100))
        overall = (i + frac) / n
        elapsed = time.monotonic() - self._started
        eta = f" · about {_fmt_seconds(elapsed / overall * (1 - overall))} left" if overall > 0.01 else ""
        self.eta_label.setText(f"Photo {i + 1} of {n} · tile {done} of {total}{eta}")

    def _on_batch_file_done(self, i: int, out_path: str, seconds: float) -> None:
        self._batch_state["ok"] += 1
        self._set_item(i, f"✓ saved as {Path(out_path).name} ({_fmt_seconds(seconds)})", out_path)

    def _on_batch_file_failed(self, i: int, message: str) -> None:
        self._batch_state["failed"] += 1
        self._set_item(i, f"✗ {message}", message)
        item = self.batch_list.item(i)
        if item is not None:
            item.setForeground(Qt.GlobalColor.red)

    def _on_batch_finished(self, ok: int, failed: int) -> None:
        n = len(self._batch_paths)
        self.progress.setValue(n * 100)
        text = f"{ok} of {n} photos saved in {self._batch_state.get('out', '')}"
        if failed:
            text += f"; {failed} failed (see the list)"
        self.eta_label.setText(text + ".")
        self._status(text)
        self.sigBatchFinished.emit(ok, failed)

    def _on_batch_worker_finished(self) -> None:
        worker, self._batch_worker = self._batch_worker, None
        if worker is not None:
            worker.deleteLater()
        self._stop_busy()

    # --- save / chain ---------------------------------------------------------------------
    def default_save_name(self) -> str:
        src = Path(self._photo.source) if self._photo is not None and self._photo.source else Path("photo.png")
        if not src.suffix:
            src = src.with_suffix(".png")
        return output_name(src, *self._result_task)

    def save_result(self, path: str | None = None, quality: int | None = None) -> str | None:
        """Save the result (asks where when ``path`` is None) in the background; returns the
        path being written. ``sigSaved(path)`` follows when the file is complete (it is written
        atomically: a failed or interrupted save leaves no partial file), or an error message."""
        if self._result is None:
            self.show_error("Nothing to save yet: Apply a model first.")
            return None
        if self._saving is not None:
            self.show_error(f"Still saving {Path(self._saving).name}; try again when it is written.")
            return None
        fmt = None
        if path is None:
            folder = last_folder("save", str(Path(self._photo.source).parent) if self._photo and Path(self._photo.source).parent.is_dir() else "")
            name = self.default_save_name()
            start = str(Path(folder) / name) if folder else name
            ext = Path(name).suffix.lower()
            selected = next((f for f, (_, e) in SAVE_FILTERS.items() if ext in f), next(iter(SAVE_FILTERS)))
            path, chosen = QFileDialog.getSaveFileName(self, "Save the result", start, ";;".join(SAVE_FILTERS), selected)
            if not path:
                return None
            fmt_ext = SAVE_FILTERS.get(chosen)
            if fmt_ext and Path(path).suffix.lower() not in (".png", ".jpg", ".jpeg", ".webp", ".tif", ".tiff"):
                path += fmt_ext[1]
        self._saving = str(path)
        self._status(f"Saving {Path(path).name}…")
        self._update_controls()
        self._io.start(_write_photo, self._result, str(path), fmt, int(quality or self.quality_spin.value()),
                       on_done=self._on_saved, on_error=self._on_save_failed, tag=str(path))
        return str(path)

    def _on_saved(self, written: str, _tag) -> None:
        self._saving = None
        remember_folder("save", str(Path(written).parent))
        self._status(f"Saved {written}")
        self.result_label.setText(f"{self.result_label.text()}\nSaved as {Path(written).name}")
        self._update_controls()
        self.sigSaved.emit(str(written))

    def _on_save_failed(self, message: str, _tag) -> None:
        self._saving = None
        self._status("")
        self.show_error(message)
        self._update_controls()

    def use_result_as_photo(self) -> None:
        if self._result is None or self.is_busy():
            return
        result = self._result
        if self._photo is not None and self._photo.source and not result.source:
            result.source = self._photo.source
        self.set_photo(result, self.view.after_image())  # the view already shows it: no new conversion

    # --- mask ---------------------------------------------------------------------------------
    def _on_brush_changed(self, value: int) -> None:
        self.mask.brush_size = int(value)
        self.brush_value.setText(f"{value} px")
        self._update_brush_cursor()

    def _step_brush(self, factor: float) -> None:
        if self.mask_box.isVisible():
            self.brush_slider.setValue(max(2, round(self.brush_slider.value() * factor)))

    def _update_brush_cursor(self) -> None:
        size = self.view.display_size()
        if size is None or self._photo is None:
            return
        display_per_photo = size.width() / max(1, self._photo.width)
        self.view.set_brush_size(self.mask.brush_size * display_per_photo * self.view.zoom())

    def _on_undo_mask(self) -> None:
        if self.mask_box.isVisible():
            self.mask.undo()

    def _on_mask_changed(self) -> None:
        c = self.current_model()
        inpaint = c is not None and c["task"] == "inpaint"
        show = inpaint and self._photo is not None and (self._result is None or self.view.mode() != "after")
        self.view.set_overlay(self.mask.overlay() if show and not self.mask.is_empty() else None)
        self.undo_mask_button.setEnabled(self.mask.can_undo())

    # --- view --------------------------------------------------------------------------------
    def _on_view_mode_changed(self, mode: str) -> None:
        b = self.mode_buttons.get(mode)
        if b is not None:
            b.setChecked(True)

    def _on_zoom_changed(self, zoom: float) -> None:
        self.zoom_label.setText(f"{zoom * 100:.0f}%")
        self._update_brush_cursor()

    # --- drag and drop -------------------------------------------------------------------
    def dragEnterEvent(self, event) -> None:  # noqa: N802
        mime = event.mimeData()
        if (mime.hasUrls() and any(u.isLocalFile() for u in mime.urls())) or mime.hasImage():
            event.acceptProposedAction()
            self.empty.set_drag_over(True)
        else:
            event.ignore()

    def dragMoveEvent(self, event) -> None:  # noqa: N802
        event.acceptProposedAction()

    def dragLeaveEvent(self, event) -> None:  # noqa: N802
        self.empty.set_drag_over(False)

    def dropEvent(self, event) -> None:  # noqa: N802
        self.empty.set_drag_over(False)
        mime = event.mimeData()
        paths = [u.toLocalFile() for u in mime.urls() if u.isLocalFile()] if mime.hasUrls() else []
        if paths:
            event.acceptProposedAction()
            self.open_paths(paths)
        elif mime.hasImage():
            event.acceptProposedAction()
            image = mime.imageData()
            if isinstance(image, QImage):
                self.load_qimage(image, "dropped image")
        else:
            event.ignore()

    # --- state ----------------------------------------------------------------------------------
    def show_error(self, message: str) -> None:
        self.error_label.setText(message)
        self.error_label.show()
        self._status(message)
        self.sigError.emit(message)

    def clear_error(self) -> None:
        self.error_label.hide()
        self.error_label.setText("")

    def error_text(self) -> str:
        return self.error_label.text() if not self.error_label.isHidden() else ""

    def _status(self, text: str) -> None:
        window = self.window()
        bar = getattr(window, "statusBar", None)
        if callable(bar):
            bar().showMessage(text, 10000)

    def _update_info(self) -> None:
        if self._photo is None:
            self.info_label.setText("")
            self.result_label.setText("No result yet.")
            return
        before = describe_photo(self._photo)
        if self._result is not None:
            after = describe_photo(self._result, "result")
            self.info_label.setText(f"{before}    →    {after}")
            self.result_label.setText(after[0].upper() + after[1:])
        else:
            self.info_label.setText(before)
            self.result_label.setText("No result yet.")

    def _update_controls(self) -> None:
        busy = self.is_busy()
        c = self.current_model()
        has_photo = self._photo is not None
        has_result = self._result is not None
        batch = bool(self._batch_paths)
        self.apply_button.setVisible(not busy)
        self.cancel_button.setVisible(busy)
        self.apply_button.setEnabled(c is not None and (has_photo or batch))
        if c is not None:
            word = TASK_WORDS.get(c["task"], "Apply")
            if c["task"] == "upscale":
                word += f" ×{c['scale']}"
            if batch:
                word += f" {len(self._batch_paths)} photos…"
            self.apply_button.setText(word)
        else:
            self.apply_button.setText("Apply")
        self.save_button.setEnabled(has_result and not busy and self._saving is None)
        self.save_button.setText("Saving…" if self._saving is not None else "Save…")
        self.chain_button.setEnabled(has_result and not busy)
        self.chain_button.setVisible(has_result)
        for b in self.mode_buttons.values():
            b.setEnabled(has_result)
        if not has_result:
            self.mode_buttons["after"].setChecked(False)
            self.mode_group.setExclusive(False)
            for b in self.mode_buttons.values():
                b.setChecked(False)
            self.mode_group.setExclusive(True)
        else:
            self.mode_buttons[self.view.mode()].setChecked(True)
        self.batch_label.setVisible(batch)
        self.batch_list.setVisible(batch)
        for w in (self.model_combo, self.tile_combo, self.passes_combo, self.device_combo, self.noise_row, self.variation_row,
                  self.open_button, self.paste_button, self.close_photo_button, self.batch_list):
            w.setEnabled(not busy)
        task = c["task"] if c else ""
        self.passes_combo.setItemText(0, f"Auto ({default_passes(task)})")
        self._set_form_row_visible(self.noise_row, task == "denoise" and bool(c.get("noise_level")))
        self._set_form_row_visible(self.variation_row, bool(c) and c["family"] == "vae")
        inpaint = task == "inpaint" and has_photo and not batch
        self.mask_box.setVisible(inpaint)
        self.view.set_paint_mode(inpaint and not busy)
        self._update_brush_cursor()
        self._on_mask_changed()

    def _set_form_row_visible(self, field: QWidget, visible: bool) -> None:
        self._form.setRowVisible(field, visible)

    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(1200, 760)


# --- worker-thread functions (no widgets: they run in WorkerPool threads) ------------------------
def _read_photo(path: str):
    """Decode a photo and make its display picture (worker thread) -> (Photo, QImage)."""
    from imgen_desktop.core.errors import ImgenError
    from imgen_desktop.core.imageio import load_image

    try:
        photo = load_image(path)
    except ImgenError:
        raise
    except Exception as exc:  # noqa: BLE001 - any decoder problem is a bad file for the user
        raise ImgenError(f"{Path(path).name}: could not be opened ({exc}).") from None
    return photo, photo_to_qimage(photo)


def _write_photo(photo, path: str, fmt, quality: int) -> str:
    """Write the result (worker thread; ``save_image`` writes atomically) -> the written path."""
    from imgen_desktop.core.errors import ImgenError
    from imgen_desktop.core.imageio import save_image

    try:
        return str(save_image(photo, path, format=fmt, quality=quality))
    except ImgenError:
        raise
    except OSError as exc:
        raise ImgenError(f"Could not save {Path(path).name}: {exc.strerror or exc}.") from None
    except Exception as exc:  # noqa: BLE001
        raise ImgenError(friendly_error(exc)) from None
