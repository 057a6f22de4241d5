"""The canvas's file side: open (dialog, paths, folders, samples), paste, drop, save, and the
questions that protect work (an unsaved result; outputs already in a batch folder).

A mixin of :class:`EnhanceCanvas`: it uses the canvas's ``state``, ``_io`` pool and views.
Decoding and writing run in worker threads; nothing here blocks the window.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QUrl
from PySide6.QtGui import QGuiApplication, QImage
from PySide6.QtWidgets import QFileDialog, QMessageBox

from imgen_desktop.core.enhance import ModelChoice, output_name
from imgen_desktop.core.errors import ImgenError
from imgen_desktop.ui.model_import import split_models
from imgen_desktop.ui.qimages import photo_to_qimage, qimage_to_array
from imgen_desktop.ui.enhance.empty_state import sample_photos
from imgen_desktop.ui.enhance.jobs import existing_outputs, friendly_error, read_pair, read_photo, write_photo
from imgen_desktop.ui.settings import last_folder, remember_folder

OPEN_FILTER = "Images (*.png *.jpg *.jpeg *.webp *.tif *.tiff *.bmp *.gif);;All files (*)"
SAVE_FILTERS = {
    "PNG image (*.png)": ("PNG", ".png"),
    "JPEG image (*.jpg *.jpeg)": ("JPEG", ".jpg"),
    "WebP image (*.webp)": ("WEBP", ".webp"),
    "TIFF image (*.tif *.tiff)": ("TIFF", ".tif"),
}
SAVE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".tif", ".tiff")


def _same_file(a: str, b: str) -> bool:
    try:
        return bool(a and b) and Path(a).resolve() == Path(b).resolve()
    except OSError:
        return False


class FilesMixin:
    _review_output = ""

    # --- opening --------------------------------------------------------------------------------
    def open_dialog(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(self, "Open photos", last_folder("open"), OPEN_FILTER)
        if paths:
            remember_folder("open", str(Path(paths[0]).parent))
            self.open_paths(paths)

    def open_sample(self) -> None:
        photos = sample_photos()
        if not photos:
            self.state.error("No sample photos were found in the app's resources folder.", "load")
            return
        self.open_paths([str(photos[0])])

    def open_paths(self, paths: list[str]) -> None:
        """One file: open it. Several files and/or folders: a batch (the first is previewed).
        Asks first when an unsaved result would be replaced."""
        if self.is_busy():
            self.state.error("Wait for the current job to finish (or cancel it) before opening other photos.", "load")
            return
        from imgen_desktop.core.imageio import find_images

        found: list[str] = []
        folder_given = False
        for raw in paths:
            p = Path(raw)
            if p.is_dir():
                folder_given = True
                found += [str(f) for f in find_images(p)]
            else:
                found.append(str(p))
        if len(found) > 1:  # inpaint masks (a.mask.png beside a.png) are never photos of a batch (core.batch)
            from imgen_desktop.core.batch import is_mask_file

            found = [f for f in found if not is_mask_file(f)]
        if not found:
            self.state.error("No images found" + (" in that folder." if folder_given else "."), "load")
            return
        if not self.confirm_discard():
            return
        if len(found) == 1 and not folder_given:
            self.state.set_batch([])
            self.load_file(found[0])
        else:
            from imgen_desktop.core.batch import find_unfinished

            self.state.set_photo(None, None)
            self.state.set_batch(found, inputs=[str(p) for p in paths])
            manifest = find_unfinished(found)
            self.state.set_resume(manifest)
            if manifest is not None:  # what that batch finished shows as done (and can be reviewed)
                rows = {str(Path(item.path).resolve()): i for i, item in enumerate(self.state.batch)}
                for e in manifest.files:
                    if e.status in ("done", "skipped") and Path(e.output).is_file() and e.input in rows:
                        self.state.update_item(rows[e.input], status="skipped", output=e.output)
            self.batch.select(0)

    def load_file(self, path: str) -> None:
        """Open one photo in the background; it replaces the current one when decoded
        (``sigPhotoLoaded``). A bad file shows its error and keeps what was there. Opening
        another file before this one is done supersedes it."""
        self._load_seq += 1
        self.state.set_loading(str(path))
        self._status(f"Opening {Path(path).name}…")
        self._io.start(read_photo, str(path), on_done=self._on_photo_read, on_error=self._on_photo_failed, tag=self._load_seq)

    def _on_photo_read(self, result, tag) -> None:
        if tag == self._load_seq:
            self.state.set_loading("")
            photo, image = result
            self._show_photo(photo, image)
            if photo.source:
                self.sigPhotoOpened.emit(str(photo.source))

    def _on_photo_failed(self, message: str, tag) -> None:
        if tag == self._load_seq:
            self.state.set_loading("")
            self.state.error(message, cause="load")

    def paste(self) -> None:
        """Paste image data, or image files / paths, from the clipboard (asks first when an
        unsaved result would be replaced)."""
        clipboard = QGuiApplication.clipboard()
        mime = clipboard.mimeData()
        paths: list[str] = []
        if mime is not None and mime.hasUrls():
            paths = [u.toLocalFile() for u in mime.urls() if u.isLocalFile()]
        if not paths and mime is not None and mime.hasImage():
            image = clipboard.image()
            if not image.isNull():
                if self.confirm_discard():
                    self.load_qimage(image, "pasted image")
                return
        if not paths and mime is not None and mime.hasText():
            for line in mime.text().splitlines():
                line = line.strip()
                if line.startswith("file:"):
                    line = QUrl(line).toLocalFile()
                if line and Path(line).exists():
                    paths.append(line)
        if paths:
            self.open_paths(paths)
            return
        self.state.error("The clipboard holds no image and no image file to paste.", "load")

    def load_qimage(self, image: QImage, name: str = "pasted image") -> bool:
        try:
            from imgen_desktop.core.imageio import photo_from_array

            photo = photo_from_array(qimage_to_array(image), source=name)
        except Exception as exc:  # noqa: BLE001
            self.state.error(f"The pasted image could not be used ({friendly_error(exc)}).", "load")
            return False
        self.state.set_batch([])
        self._show_photo(photo)
        return True

    def close_photo(self) -> None:
        if self.is_busy() or not self.confirm_discard():
            return
        self.state.clear_photo()

    def use_result_as_photo(self) -> None:
        s = self.state
        if s.result is None or self.is_busy():
            return
        result, image = s.result, s.result_image
        if s.photo is not None and s.photo.source and not result.source:
            result.source = s.photo.source
        self._show_photo(result, image)

    # --- drag and drop -------------------------------------------------------------------------
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
            models, photos = split_models(paths)
            if models:  # weights files are imported (and chosen here), never opened as photos
                self.import_dropped_models(models)
            if photos:
                self.open_paths(photos)
        elif mime.hasImage():
            event.acceptProposedAction()
            image = mime.imageData()
            if isinstance(image, QImage) and self.confirm_discard():
                self.load_qimage(image, "dropped image")
        else:
            event.ignore()

    # --- model files dropped here -----------------------------------------------------------------
    _model_importer = None

    def set_model_importer(self, importer) -> None:
        """``importer(paths, select)`` imports model files dropped on the canvas (the main window's)."""
        self._model_importer = importer

    def import_dropped_models(self, paths: list[str]) -> None:
        if self._model_importer is None:  # a canvas on its own, without the Models tab
            self.state.error(f"{Path(paths[0]).name} is a model file: import it on the Models tab.", "import")
            return
        self._model_importer(list(paths), True)

    def show_import_started(self, file: str) -> None:
        self.state.info(f"Importing the model {file}…", "import")

    def show_imported(self, line: str) -> None:
        self.state.info(line, "import")

    def show_import_failed(self, message: str) -> None:
        self.state.error(message, "import")

    # --- saving -----------------------------------------------------------------------------------
    def default_save_name(self) -> str:
        s = self.state
        src = Path(s.photo.source) if s.photo is not None and s.photo.source else Path("photo.png")
        if not src.suffix:
            src = src.with_suffix(".png")
        return output_name(src, *s.result_task)

    def save_result(self, path: str | None = None, quality: int | None = None) -> str | None:
        """Save the result (asks where when ``path`` is None) in the background; returns the
        path being written. ``sigSaved(path)`` follows when the file is complete (written
        atomically: a failed save leaves no partial file), or an error banner."""
        s = self.state
        if s.result is None:
            s.error("Nothing to save yet: Apply a model first.", "save")
            return None
        if s.saving:
            s.error(f"Still saving {Path(s.saving).name}; try again when it is written.", "save")
            return None
        source = str(s.photo.source) if s.photo is not None and s.photo.source else ""
        if path is None:
            folder = last_folder("save", str(Path(source).parent) if source and Path(source).parent.is_dir() else "")
            name = self.default_save_name()
            start = str(Path(folder) / name) if folder else name
            ext = Path(name).suffix.lower()
            selected = next((f for f, (_, e) in SAVE_FILTERS.items() if ext in f), next(iter(SAVE_FILTERS)))
            path, chosen = QFileDialog.getSaveFileName(self, "Save the result", start, ";;".join(SAVE_FILTERS), selected)
            if not path:
                return None
            fmt_ext = SAVE_FILTERS.get(chosen)
            if fmt_ext and Path(path).suffix.lower() not in SAVE_SUFFIXES:
                path += fmt_ext[1]
        if _same_file(str(path), source):
            s.error(f"{Path(path).name} is the original photo: save the result under another name.", "save")
            return None
        s.clear_banner("save")
        s.set_saving(str(path))
        self._status(f"Saving {Path(path).name}…")
        fmt = self.autosave.fmt() if Path(path).suffix.lower() not in SAVE_SUFFIXES else None
        out = s.output_photo()
        self._io.start(write_photo, out, str(path), fmt, int(quality or self.save_section.quality_spin.value()),
                       on_done=self._on_saved, on_error=self._on_save_failed, tag=out)
        return str(path)

    def _on_saved(self, written: str, result) -> None:
        s = self.state
        s.set_saving("")
        remember_folder("save", str(Path(written).parent))
        if result is s.output_photo():
            s.mark_saved(written)
        self._status(f"Saved {written}")
        self.sigSaved.emit(str(written))

    def _on_save_failed(self, message: str, _tag) -> None:
        self.state.set_saving("")
        self.state.error(message, cause="save")

    def auto_save_path(self) -> str:
        """Where auto-save writes the current result (a free name in the folder); ImgenError
        with one sentence when the folder or the template is not usable."""
        from imgen_desktop.core.batch import render_name
        from imgen_desktop.core.enhance import output_tag

        s = self.state
        folder = self.autosave.folder()
        if not folder:
            raise ImgenError("Auto-save is on but no folder is chosen: choose one under Output files.")
        src = Path(s.photo.source) if s.photo is not None and s.photo.source else Path("photo.png")
        fmt = self.autosave.fmt()
        ext = "." + fmt.replace("jpeg", "jpg").replace("tiff", "tif") if fmt else src.suffix.lower()
        if ext not in SAVE_SUFFIXES:
            ext = ".png"
        task, scale = s.result_task
        m = s.model
        key = (Path(m.path).stem if m.path else m.spec.removeprefix("builtin:")) if m is not None else task
        name = render_name(self.autosave.template(), src, task_tag=output_tag(task, scale), model=key, scale=scale, ext=ext)
        target, k = Path(folder).expanduser() / name, 2
        while target.exists() or _same_file(str(target), str(src)):
            target = target.with_name(f"{Path(name).stem}-{k}{ext}")
            k += 1
        return str(target)

    def auto_save(self) -> str | None:
        try:
            path = self.auto_save_path()
        except ImgenError as exc:
            self.state.error(str(exc)[:1].upper() + str(exc)[1:].rstrip(".") + ".", "save")
            return None
        return self.save_result(path)

    # --- questions --------------------------------------------------------------------------------
    def confirm_discard(self) -> bool:
        """True = go ahead. With an unsaved result, asks Save / Discard / Cancel first (Save
        opens the save dialog; cancelling it cancels)."""
        if not self.state.has_unsaved_result():
            return True
        name = self.state.photo.name if self.state.photo is not None else "the photo"
        box = QMessageBox(QMessageBox.Icon.Question, "Unsaved result", f"The enhanced {name} has not been saved.", parent=self)
        box.setObjectName("discardBox")
        box.setInformativeText("Save it before going on?")
        save = box.addButton(QMessageBox.StandardButton.Save)
        discard = box.addButton(QMessageBox.StandardButton.Discard)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(save)
        box.exec()
        clicked = box.clickedButton()
        if clicked is save:
            return self.save_result() is not None
        return clicked is discard

    def ask_batch_folder(self) -> str:
        out_dir = QFileDialog.getExistingDirectory(self, "Save the enhanced photos in…", last_folder("batch", last_folder("save")))
        if out_dir:
            remember_folder("batch", out_dir)
        return out_dir

    def ask_existing_outputs(self, out_dir: str, choice: ModelChoice, options=None) -> bool | None:
        """Outputs already in ``out_dir``: keep them (False), replace them (True) or cancel (None)."""
        try:
            existing = existing_outputs(self.state.batch_inputs or self.state.batch_paths(), out_dir, choice, options)
        except Exception as exc:  # noqa: BLE001 - e.g. an output that would replace an input
            self.state.error(friendly_error(exc), "batch")
            return None
        if not existing:
            return False
        n = len(self.state.batch)
        box = QMessageBox(QMessageBox.Icon.Question, "Results already there",
                          f"{len(existing)} of the {n} results are already in {out_dir}.", parent=self)
        box.setObjectName("existingOutputsBox")
        box.setInformativeText("Keep them (those photos are skipped), or enhance those photos again and replace them?")
        keep = box.addButton("Keep them", QMessageBox.ButtonRole.AcceptRole)
        replace = box.addButton("Replace them", QMessageBox.ButtonRole.DestructiveRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(keep)
        box.exec()
        clicked = box.clickedButton()
        return False if clicked is keep else True if clicked is replace else None

    # --- batch review ---------------------------------------------------------------------------
    def _on_batch_item_chosen(self, row: int) -> None:
        if not (0 <= row < len(self.state.batch)):
            return
        item = self.state.batch[row]
        self._load_seq += 1
        if item.reviewable:
            self._review_output = item.output
            self._io.start(read_pair, item.path, item.output, on_done=self._on_pair_read,
                           on_error=self._on_preview_failed, tag=self._load_seq)
        else:
            self._io.start(read_photo, item.path, on_done=self._on_preview_read,
                           on_error=self._on_preview_failed, tag=self._load_seq)
        self.state.set_loading(item.path)

    def _on_preview_read(self, result, tag) -> None:
        if tag == self._load_seq:
            self.state.set_loading("")
            self._show_photo(*result)

    def _on_pair_read(self, result, tag) -> None:
        if tag != self._load_seq:
            return
        self.state.set_loading("")
        photo, image, out, out_image, error = result
        self._show_photo(photo, image)
        if out is not None:
            self.state.set_result(out, out_image, saved=self._review_output)
        elif error:
            self.state.error(error, cause="load")

    def _on_preview_failed(self, message: str, tag) -> None:
        if tag == self._load_seq:
            self.state.set_loading("")
            self.state.set_photo_error(message)
            self._status(message)

    def _show_photo(self, photo, image: QImage | None = None) -> None:
        self.state.set_photo(photo, image if image is not None else photo_to_qimage(photo))
        self.view.setFocus()
        self._status(f"Opened {photo.name}")
        self.sigPhotoLoaded.emit(photo.name)
