"""Background work of the Enhance tab: list models, enhance one photo, enhance a batch, and the
functions that open and save photos in WorkerPool threads.

Every ``run`` catches every exception and reports one sentence (:func:`ui.workers.error_text`);
signals carry plain data only (core ``Photo`` dataclasses, ``ModelChoice``, str, numbers).
``core.enhance`` / ``core.imageio`` pull torch only inside the threads.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QThread, Signal

from imgen_desktop.core.control import ControlToken
from imgen_desktop.core.enhance import EnhanceOptions, ModelChoice
from imgen_desktop.core.errors import ImgenError
from imgen_desktop.ui.qimages import photo_to_qimage
from imgen_desktop.ui.workers import error_text, is_cancel


def friendly_error(exc: BaseException) -> str:
    return error_text(exc, "Enhancement failed")


def _check_model_file(choice: ModelChoice) -> None:
    """A model picked from the list whose file has gone since: say so in the app's words."""
    if choice.path and not Path(choice.path).is_file():
        raise ImgenError(f"The model “{choice.label}” is no longer there (its file was removed); choose another model.")


def _open_model(choice: ModelChoice, device: str):
    from imgen_desktop.core.enhance import open_model

    _check_model_file(choice)
    return open_model(choice.path or choice.spec, device=device)


class ModelLister(QThread):
    """Lists the enhancement models (reading headers imports torch, so off the GUI thread)."""

    sigListed = Signal(list, str)  # list of ModelChoice, error

    def run(self) -> None:
        try:
            from imgen_desktop.core.enhance import list_enhancement_models

            self.sigListed.emit(list(list_enhancement_models()), "")
        except BaseException as exc:  # noqa: BLE001 - the canvas shows it; the app keeps running
            self.sigListed.emit([], f"Could not list the enhancement models: {friendly_error(exc)}")


class EnhanceWorker(QThread):
    """Runs one model over one photo with per-tile progress and a cancel token."""

    sigProgress = Signal(int, int)  # tiles done, total
    sigStatus = Signal(str)
    sigResult = Signal(object, object)  # core Photo, its display QImage (made here, off the GUI thread)
    sigFailed = Signal(str)
    sigCancelled = Signal()

    def __init__(self, photo, choice: ModelChoice, options: EnhanceOptions, parent=None) -> None:
        super().__init__(parent)
        self.photo, self.choice, self.options = photo, choice, options
        self.token = ControlToken()

    def cancel(self) -> None:
        self.token.cancel()

    def run(self) -> None:
        try:
            from imgen_desktop.core.enhance import enhance_photo

            self.sigStatus.emit("Loading the model…")
            model = _open_model(self.choice, self.options.device)
            if self.token.cancelled:
                self.sigCancelled.emit()
                return
            result = enhance_photo(
                self.photo, model, token=self.token,
                progress=lambda done, total: self.sigProgress.emit(int(done), int(total)),
                **self.options.run_kwargs(model),
            )
            if self.token.cancelled:
                self.sigCancelled.emit()
                return
            self.sigResult.emit(result, photo_to_qimage(result))
        except BaseException as exc:  # noqa: BLE001 - report everything, never crash the app
            if is_cancel(exc):
                self.sigCancelled.emit()
            else:
                self.sigFailed.emit(friendly_error(exc))


class BatchWorker(QThread):
    """Enhances files into a folder through ``core.enhance.enhance_files`` (the CLI's path:
    unique output names, inputs never overwritten, complete outputs kept)."""

    sigFileStarted = Signal(str, str)  # input path, output path
    sigFileProgress = Signal(str, int, int)  # input path, tiles done, total
    sigFileDone = Signal(str, str, str, float)  # input path, output path, "done" | "skipped", seconds
    sigFileFailed = Signal(str, str)  # input path, message
    sigFinished = Signal()
    sigFailed = Signal(str)  # the whole batch could not run (model unreadable, …)
    sigCancelled = Signal()
    sigResumed = Signal(int, int, int)  # an unfinished batch continues: done, left, failed

    def __init__(self, paths: list[str], out_dir: str, choice: ModelChoice, options: EnhanceOptions, parent=None) -> None:
        super().__init__(parent)
        self.paths, self.out_dir, self.choice, self.options = [str(p) for p in paths], str(out_dir), choice, options
        self.token = ControlToken()

    def cancel(self) -> None:
        self.token.cancel()

    def pause(self) -> None:
        self.token.pause()  # the engine waits at the next tile or file

    def resume(self) -> None:
        self.token.resume()

    def run(self) -> None:
        try:
            from imgen_desktop.core.enhance import enhance_files

            model = _open_model(self.choice, self.options.device)
            enhance_files(
                self.paths, self.out_dir, model, self.options, token=self.token,
                on_file_started=self._on_file_started,
                on_file_progress=lambda _i, done, total: self.sigFileProgress.emit(self._current, int(done), int(total)),
                on_file_done=lambda _i, r: self.sigFileDone.emit(r.input, r.output, r.status, float(r.seconds)),
                on_file_failed=lambda _i, r: self.sigFileFailed.emit(r.input, r.error),
                on_resumed=lambda c: self.sigResumed.emit(c.done, c.left, c.failed),
            )
        except BaseException as exc:  # noqa: BLE001
            if is_cancel(exc):
                self.sigCancelled.emit()
            else:
                self.sigFailed.emit(friendly_error(exc))
            return
        self.sigFinished.emit()

    _current = ""  # the input being enhanced (worker thread only)

    def _on_file_started(self, _i: int, _n: int, src, target) -> None:
        self._current = str(src)
        self.sigFileStarted.emit(str(src), str(target))


def existing_outputs(paths: list[str], out_dir: str, choice: ModelChoice, options: EnhanceOptions | None = None) -> list[str]:
    """Outputs of a batch into ``out_dir`` that are already there (GUI thread: no decoding)."""
    from imgen_desktop.core.enhance import plan_outputs

    key = Path(choice.path).stem if choice.path else choice.spec.removeprefix("builtin:")
    pairs, _missing, _single = plan_outputs(paths, out_dir, choice.task, choice.scale, options or EnhanceOptions(), model=key)
    return [str(t) for _s, t in pairs if t.exists()]


# --- WorkerPool functions (no widgets: they run in worker threads) -------------------------------

def read_photo(path: str):
    """Decode a photo and make its display picture -> (Photo, QImage)."""
    from imgen_desktop.core.imageio import load_image

    try:
        photo = load_image(path)
    except ImgenError:
        raise
    except Exception as exc:  # noqa: BLE001 - any decoder problem is a bad file for the user
        raise ImgenError(f"{Path(path).name}: could not be opened ({exc}).") from None
    return photo, photo_to_qimage(photo)


def read_pair(path: str, output: str):
    """A batch item to review: the original and its result -> (Photo, QImage, Photo | None, QImage | None, str)."""
    photo, image = read_photo(path)
    try:
        result, result_image = read_photo(output)
    except ImgenError as exc:
        return photo, image, None, None, str(exc)
    return photo, image, result, result_image, ""


def write_photo(photo, path: str, fmt, quality: int) -> str:
    """Write the result (``save_image`` writes atomically) -> the written path."""
    from imgen_desktop.core.imageio import save_image

    try:
        return str(save_image(photo, path, format=fmt, quality=quality))
    except ImgenError:
        raise
    except OSError as exc:
        raise ImgenError(f"Could not save {Path(path).name}: {exc.strerror or exc}.") from None
