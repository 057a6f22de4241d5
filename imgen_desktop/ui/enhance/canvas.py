"""The Enhance tab: drop / open / paste a photo (or several), pick a model, Apply, compare, Save.

Layout: a banner strip on top; the photo area on the left (the drop screen until there is
something to show, then :class:`PhotoView`); a scrolling sidebar on the right (photo and batch,
model, options, inpaint brush, Apply and progress, result and Save). All of them are views of
one :class:`EnhanceState`; this class turns user actions into state changes and jobs
(:class:`EnhanceRunner` for enhancing, a :class:`WorkerPool` for opening and saving files).
The public surface is listed in the team's CANVAS_API notes and kept stable.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QFrame, QHBoxLayout, QPushButton, QScrollArea, QSizePolicy, QStackedWidget, QVBoxLayout, QWidget,
)

from imgen_desktop.core.batch import mask_for
from imgen_desktop.core.enhance import EnhanceOptions, ModelChoice
from imgen_desktop.core.errors import ImgenError
from imgen_desktop.ui.enhance import files
from imgen_desktop.ui.enhance.actions import ActionsMixin
from imgen_desktop.ui.enhance.autosave_section import AutoSaveSection
from imgen_desktop.ui.enhance.banner import BannerView
from imgen_desktop.ui.enhance.blend_controller import BlendController
from imgen_desktop.ui.enhance.blend_painter import BlendPainter
from imgen_desktop.ui.enhance.compare_runner import CompareRunner
from imgen_desktop.ui.enhance.model_compare import ModelComparePage
from imgen_desktop.ui.enhance.blend_section import BlendSection
from imgen_desktop.ui.enhance.batch_list import BatchList
from imgen_desktop.ui.enhance.empty_state import EmptyState, sample_photos
from imgen_desktop.ui.enhance.jobs import ModelLister
from imgen_desktop.ui.enhance.mask_section import MaskSection
from imgen_desktop.ui.enhance.model_section import ModelSection
from imgen_desktop.ui.enhance.options_section import OptionsSection
from imgen_desktop.ui.enhance.photo_view import PhotoView
from imgen_desktop.ui.enhance.resume_strip import ResumeStrip
from imgen_desktop.ui.enhance.run_section import RunSection
from imgen_desktop.ui.enhance.save_section import SaveSection
from imgen_desktop.ui.enhance.state import EnhanceState
from imgen_desktop.ui.enhance.runner import EnhanceRunner
from imgen_desktop.ui.enhance.widgets import section_title
from imgen_desktop.ui.mask_painter import MaskPainter
from imgen_desktop.ui.settings import app_settings
from imgen_desktop.ui.workers import WorkerPool, keep_alive

SIDEBAR_WIDTH = 300


class EnhanceCanvas(files.FilesMixin, ActionsMixin, QWidget):
    sigPhotoLoaded = Signal(str)  # source name
    sigPhotoOpened = Signal(str)  # file path (for recent files)
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
        self.state = EnhanceState(self)
        self.mask = MaskPainter(self)
        self.runner = EnhanceRunner(self.state, self)
        self._io = WorkerPool(self)
        self._lister: ModelLister | None = None
        self._list_again = False
        self._pending_select: str | None = None
        self._load_seq = 0
        self._build()
        self._connect()
        QTimer.singleShot(0, self.refresh_models)

    # --- construction ----------------------------------------------------------------------
    def _build(self) -> None:
        s = self.state
        outer = QVBoxLayout(self)
        outer.setContentsMargins(8, 8, 8, 8)
        self.banner = BannerView(s, self)
        outer.addWidget(self.banner)
        root = QHBoxLayout()
        outer.addLayout(root, 1)
        self.stack = QStackedWidget(self)
        self.empty = EmptyState(self)
        for path in sample_photos():
            act = self.empty.sample_menu.addAction(path.name)
            act.triggered.connect(lambda _=False, p=str(path): self.open_paths([p]))
        self.blend = BlendPainter(self)
        self.photo_view = PhotoView(s, self.mask, self, blend=self.blend)
        self.blender = BlendController(s, self.blend, self.photo_view, self)
        self.compare_page = ModelComparePage(s, self)
        self.comparer = CompareRunner(s, self.compare_page, self)
        self.view = self.photo_view.view
        self.stack.addWidget(self.empty)
        self.stack.addWidget(self.photo_view)
        self.stack.addWidget(self.compare_page)
        root.addWidget(self.stack, 1)

        side = QWidget(self)
        side.setObjectName("canvasSidebar")
        lay = QVBoxLayout(side)
        lay.setContentsMargins(8, 0, 8, 0)
        lay.addWidget(section_title("Photo", side))
        row = QHBoxLayout()
        self.open_button = QPushButton("Open…", side)
        self.open_button.setObjectName("sideOpenButton")
        self.open_button.setToolTip("Open one photo, or several to enhance them all (Ctrl+O)")
        self.paste_button = QPushButton("Paste", side)
        self.paste_button.setObjectName("pasteButton")
        self.paste_button.setToolTip("Paste an image or image files from the clipboard (Ctrl+V)")
        row.addWidget(self.open_button)
        row.addWidget(self.paste_button)
        lay.addLayout(row)
        self.batch = BatchList(s, side)
        self.resume_strip = ResumeStrip(s, side)
        self.model_section = ModelSection(s, side)
        self.options = OptionsSection(s, side)
        self.mask_section = MaskSection(self.mask, side)
        self.run_section = RunSection(s, side)
        self.save_section = SaveSection(s, side)
        self.blend_section = BlendSection(s, self.blend, side)
        self.autosave = AutoSaveSection(side)
        for w in (self.batch, self.resume_strip, self.model_section, self.options, self.mask_section, self.run_section, self.save_section, self.blend_section,
                  self.autosave):
            lay.addWidget(w)
        lay.addStretch(1)
        scroll = QScrollArea(self)
        scroll.setObjectName("sidebarScroll")
        scroll.setWidget(side)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setFixedWidth(SIDEBAR_WIDTH)
        scroll.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Expanding)
        root.addWidget(scroll)
        self.sidebar_scroll = scroll
        # widgets tests and the main window reach by name
        self.model_combo, self.apply_button = self.model_section.combo, self.run_section.apply_button
        self.cancel_button, self.save_button = self.run_section.cancel_button, self.save_section.save_button
        for key, slot in (
            ("Ctrl+Return", self.apply), ("Ctrl+Enter", self.apply), ("Escape", self.cancel),
            ("Ctrl+Z", self._on_undo_mask), ("[", lambda: self.mask_section.step_brush(1 / 1.25)),
            ("]", lambda: self.mask_section.step_brush(1.25)),
        ):
            sc = QShortcut(QKeySequence(key), self)
            sc.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            sc.activated.connect(slot)

    def _connect(self) -> None:
        s = self.state
        self.empty.open_button.clicked.connect(self.open_dialog)
        self.empty.sample_button.clicked.connect(self.open_sample)
        self.open_button.clicked.connect(self.open_dialog)
        self.paste_button.clicked.connect(self.paste)
        self.photo_view.close_button.clicked.connect(self.close_photo)
        self.run_section.apply_button.clicked.connect(self.apply)
        self.run_section.cancel_button.clicked.connect(self.cancel)
        self.run_section.pause_button.clicked.connect(self.toggle_pause)
        self.resume_strip.continue_button.clicked.connect(self.continue_batch)
        self.blend_section.sigPaintingChanged.connect(self.photo_view.set_blending)
        self.blend_section.sigPaintingChanged.connect(
            lambda on: on and QTimer.singleShot(0, lambda: self.sidebar_scroll.ensureWidgetVisible(self.blend_section, 0, 0)))
        self.model_section.compare_button.clicked.connect(self.open_compare)
        self.compare_page.sigRun.connect(self.compare_models)
        self.compare_page.sigBack.connect(self.close_compare)
        self.comparer.sigKept.connect(self.close_compare)
        self.save_section.save_button.clicked.connect(lambda: self.save_result())
        self.save_section.chain_button.clicked.connect(self.use_result_as_photo)
        self.batch.sigItemChosen.connect(self._on_batch_item_chosen)
        self.options.sigTileChanged.connect(self._on_tile_changed)
        self.runner.sigResultReady.connect(self._on_result_ready)
        self.runner.sigBatchFinished.connect(self._on_batch_finished)
        self.runner.sigCancelled.connect(self.sigCancelled)
        s.sigBannerChanged.connect(self._on_banner_changed)
        s.sigModelChanged.connect(self._on_model_changed)
        s.sigBusyChanged.connect(self._on_busy_changed)
        for sig in (s.sigPhotoChanged, s.sigBatchChanged):
            sig.connect(self._on_content_changed)
        for sig in (s.sigResultChanged, s.sigModelChanged, s.sigPhotoChanged, s.sigBusyChanged, s.sigBatchChanged,
                    self.view.sigModeChanged, self.mask.sigChanged):
            sig.connect(self._on_mask_state_changed)
        self._on_content_changed()
        self._on_model_changed()

    # --- public API -----------------------------------------------------------------------------
    def photo(self):
        return self.state.photo

    def result(self):
        return self.state.result

    def is_busy(self) -> bool:
        return self.runner.is_busy() or self.comparer.is_busy()

    def is_loading(self) -> bool:
        return bool(self.state.loading)

    def is_saving(self) -> bool:
        return bool(self.state.saving)

    def is_listing_models(self) -> bool:
        return self._lister is not None

    def error_text(self) -> str:
        return self.state.error_text()

    def clear_error(self) -> None:
        self.state.clear_banner()

    def show_error(self, message: str, cause: str = "") -> None:
        self.state.error(message, cause)

    def has_unsaved_result(self) -> bool:
        return self.state.has_unsaved_result()

    def current_model(self) -> ModelChoice | None:
        return self.state.model

    def tile_value(self) -> int | None:
        return self.options.tile_value()

    def batch_items(self):
        return list(self.state.batch)

    def batch_paths(self) -> list[str]:
        return self.state.batch_paths()

    def refresh_models(self) -> None:
        """Re-read the list of enhancement models (off the GUI thread; it imports torch)."""
        if self._lister is not None:
            self._list_again = True
            return
        self._lister = keep_alive(ModelLister())
        self._lister.sigListed.connect(self._on_models_listed)
        self._lister.finished.connect(self._on_lister_finished)
        self._lister.start()

    def select_model(self, spec_or_name: str) -> bool:
        """Select a model by spec (``builtin:denoise``), store name or file path."""
        if self.state.select_model(spec_or_name):
            self._pending_select = None
            return True
        self._pending_select = spec_or_name
        self.refresh_models()
        return False

    def set_devices(self, devices: list[tuple[str, str]]) -> None:
        self.options.set_devices(devices)

    def shutdown(self) -> None:
        """Cancel and join every worker (called when the window closes)."""
        self.runner.shutdown()
        self.comparer.shutdown()
        if self._lister is not None:
            self._lister.wait(30000)
        self._io.wait_all(60000)  # a save in progress finishes (never a half-written file)

    # --- models --------------------------------------------------------------------------------
    def _on_models_listed(self, choices: list, error: str) -> None:
        s = self.state
        current = s.model.spec if s.model else None
        s.set_models(choices, error)
        for key in (self._pending_select, current, str(app_settings().value("enhance/model", "") or "")):
            if key and s.select_model(key):
                break
        else:
            s.set_model(s.models[0] if s.models else None)
        if self._pending_select and s.find_model(self._pending_select) >= 0:
            self._pending_select = None
        if error:
            s.error(error, cause="models")
        else:
            s.clear_banner("models")
        self.sigModelsListed.emit()

    def _on_lister_finished(self) -> None:
        self._lister = None
        if self._list_again:
            self._list_again = False
            self.refresh_models()

    def _on_model_changed(self) -> None:
        c = self.state.model
        if c is not None:
            app_settings().setValue("enhance/model", c.spec)
        self.photo_view.mask_wanted = bool(c and c.needs_mask)

    # --- apply / cancel ---------------------------------------------------------------------------
    def _options(self) -> EnhanceOptions | None:
        try:
            tile = self.options.tile_value()
        except ValueError as exc:
            self.state.error(str(exc), cause="tile")
            return None
        try:
            template = self.autosave.template()
        except ImgenError as exc:
            self.state.error(self.autosave.template_error() or str(exc), cause="tile")
            return None
        return EnhanceOptions(tile=tile, passes=self.options.passes(), noise_level=self.options.noise_level(),
                              variation_seed=self.options.variation_seed_value(), device=self.options.device(),
                              quality=self.save_section.quality_spin.value(), format=self.autosave.fmt(),
                              name_template=template)

    def apply(self) -> None:
        """Run the chosen model on the photo (or the batch) in a worker thread."""
        s = self.state
        if self.is_busy():
            return
        if s.batch:
            self.start_batch()
            return
        if s.loading:
            return s.error(f"{Path(s.loading).name} is still opening; Apply again when it shows.", "apply")
        if s.photo is None:
            return s.error("Open a photo first: drop one here, use Open…, or try a sample photo.", "apply")
        if s.model is None:
            return s.error("Choose a model first (none is available yet).", "apply")
        options = self._options()
        if options is None:
            return
        if s.model.needs_mask:
            if self.mask.is_empty():
                return s.error("Paint over the area to fill first (the brush is active on the photo).", "apply")
            options.mask = self.mask.mask_array()
        self.runner.apply(s.photo, s.model, options)
        self.cancel_button.setFocus()

    def cancel(self) -> None:
        self.runner.cancel()
        self.comparer.cancel()

    def start_batch(self, out_dir: str | None = None) -> bool:
        """Enhance every batch file into ``out_dir`` (asks for it when None)."""
        s = self.state
        if self.is_busy() or not s.batch:
            return False
        if s.model is None:
            s.error("Choose a model first (none is available yet).", "apply")
            return False
        if s.model.needs_mask and not any(mask_for(p) for p in s.batch_paths()):
            s.error("Inpainting a batch needs each photo's mask beside it (photo.mask.png, white = fill); "
                    "or open the photos one at a time and paint the area.", "apply")
            return False
        options = self._options()
        if options is None:
            return False
        out_dir = out_dir or self.ask_batch_folder()
        if not out_dir:
            return False
        overwrite = self.ask_existing_outputs(out_dir, s.model, options)
        if overwrite is None:
            return False
        options.overwrite = overwrite
        self.runner.start_batch(out_dir, s.model, options)
        return True

    def _on_result_ready(self) -> None:
        self.close_compare()  # Apply from the comparison page: show its result
        self.view.setFocus(Qt.FocusReason.OtherFocusReason)  # Space / digits act on the view at once
        b = self.state.banner
        self._status(b.text if b is not None else "Done.")
        self.sigResultReady.emit()
        if self.autosave.enabled():
            self.auto_save()

    def _on_batch_finished(self, ok: int, failed: int) -> None:
        self._status(self.state.batch_summary())
        row = self.batch.list.currentRow()
        if 0 <= row < len(self.state.batch) and self.state.batch[row].reviewable:
            self._on_batch_item_chosen(row)
        self.sigBatchFinished.emit(ok, failed)

    # --- view updates -------------------------------------------------------------------------
    def _on_content_changed(self) -> None:
        if self.stack.currentWidget() is self.compare_page and self.state.photo is not None and not self.state.batch:
            return  # a photo shown again (e.g. kept result) is handled by close_compare
        self.stack.setCurrentIndex(1 if self.state.has_content() else 0)

    def _on_busy_changed(self) -> None:
        busy = bool(self.state.busy)
        for w in (self.open_button, self.paste_button, self.photo_view.close_button):
            w.setEnabled(not busy)

    def _on_mask_state_changed(self, *_args) -> None:
        s = self.state
        self.mask_section.setVisible(bool(s.model and s.model.needs_mask and s.photo is not None and not s.batch))
        self.photo_view.refresh_mask()
        self.mask_section.set_editable(self.photo_view.mask_editable())

    def _on_undo_mask(self) -> None:
        if self.mask_section.isVisible() and self.photo_view.mask_editable():
            self.mask.undo()

    def _on_tile_changed(self) -> None:
        try:
            self.options.tile_value()
        except ValueError:
            return
        self.state.clear_banner("tile")  # the value is valid now: its message goes

    def _on_banner_changed(self) -> None:
        b = self.state.banner
        if b is not None:
            self._status(b.text)
            if b.kind == "error":
                self.sigError.emit(b.text)

    def _status(self, text: str) -> None:
        bar = getattr(self.window(), "statusBar", None)
        if callable(bar):
            bar().showMessage(text, 10000)

    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(1200, 760)
