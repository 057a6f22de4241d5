"""Background threads for the canvas: list models, enhance one photo, enhance a batch of files.

Every ``run`` catches every exception and reports it as a signal with one clear sentence;
signals carry plain data only (the core ``Photo`` dataclass: numpy arrays + bytes, str,
numbers, lists of dicts). ``core.enhance`` / ``core.imageio`` (which pull torch) are imported
inside ``run`` so importing this module never imports torch.
"""
from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import QThread, Signal

from imgen_desktop.core.control import ControlToken
from imgen_desktop.ui.workers import error_text, is_cancel
from imgen_desktop.core.enhance import output_name  # noqa: F401 (torch-free at import; used by the canvas)


def friendly_error(exc: BaseException) -> str:
    return error_text(exc, "Enhancement failed")


_is_cancel = is_cancel


def _options(model, tile, mask, noise_level, variation_seed, passes=None) -> dict:
    kwargs: dict = {"tile": tile, "passes": passes}
    if model.task == "inpaint":
        kwargs["mask"] = mask
    if noise_level is not None and model.task == "denoise":
        kwargs["noise_level"] = noise_level
    if variation_seed is not None:
        kwargs["variation_seed"] = variation_seed
    return kwargs


def _takes_noise_level(path: str) -> bool:
    """Whether a model file's network accepts a noise strength (its ``noise_hint`` parameter)."""
    if not path:
        return False
    try:
        from imgen_desktop.core.store import read_meta

        return bool(read_meta(path).get("arch_params", {}).get("noise_hint", False))
    except Exception:  # noqa: BLE001 - unreadable files are reported when they are opened
        return False


class ModelLister(QThread):
    """Lists the enhancement models (reading headers imports torch, so off the GUI thread)."""

    sigListed = Signal(list, str)  # list of dicts (spec, label, task, scale, family, builtin), error

    def run(self) -> None:
        try:
            from imgen_desktop.core.enhance import list_enhancement_models

            choices = [
                {
                    "spec": str(c.spec),
                    "label": str(c.label),
                    "task": str(c.task),
                    "scale": int(getattr(c, "scale", 1) or 1),
                    "family": str(getattr(c, "family", "")),
                    "builtin": bool(getattr(c, "builtin", False)),
                    "noise_level": _takes_noise_level(getattr(c, "path", "")),
                }
                for c in list_enhancement_models()
            ]
            self.sigListed.emit(choices, "")
        except Exception as exc:  # the canvas shows it; the app keeps running
            self.sigListed.emit([], f"Could not list the enhancement models: {friendly_error(exc)}")


class EnhanceWorker(QThread):
    """Runs one model over one photo with per-tile progress and a cancel token."""

    sigProgress = Signal(int, int)  # tiles done, total
    sigStatus = Signal(str)
    sigResult = Signal(object, object)  # core.imageio.Photo, its display QImage (made here, off the GUI thread)
    sigFailed = Signal(str)
    sigCancelled = Signal()

    def __init__(self, photo, spec: str, device: str = "auto", tile: int | None = None, mask=None,
                 noise_level: float | None = None, variation_seed: int | None = None, passes: int | None = None,
                 parent=None) -> None:
        super().__init__(parent)
        self.passes = passes
        self.photo = photo
        self.spec = spec
        self.device = device
        self.tile = tile
        self.mask = mask
        self.noise_level = noise_level
        self.variation_seed = variation_seed
        self.token = ControlToken()

    def cancel(self) -> None:
        self.token.cancel()

    def run(self) -> None:
        try:
            from imgen_desktop.core.enhance import enhance_photo, open_model

            self.sigStatus.emit("Loading the model…")
            model = open_model(self.spec, device=self.device)
            if self.token.cancelled:
                self.sigCancelled.emit()
                return
            self.sigStatus.emit(f"Enhancing on {getattr(model, 'device', self.device)}…")
            result = enhance_photo(
                self.photo, model,
                progress=lambda done, total: self.sigProgress.emit(int(done), int(total)),
                token=self.token,
                **_options(model, self.tile, self.mask, self.noise_level, self.variation_seed, self.passes),
            )
            if self.token.cancelled:
                self.sigCancelled.emit()
                return
            from imgen_desktop.ui.compare_view import photo_to_qimage

            self.sigResult.emit(result, photo_to_qimage(result))
        except BaseException as exc:  # noqa: BLE001 - report everything, never crash the app
            if _is_cancel(exc):
                self.sigCancelled.emit()
            else:
                self.sigFailed.emit(friendly_error(exc))


class BatchWorker(QThread):
    """Enhances several files into a folder; a bad file is reported and the others continue."""

    sigFileStarted = Signal(int)
    sigFileProgress = Signal(int, int, int)  # index, tiles done, total
    sigFileDone = Signal(int, str, float)  # index, output path, seconds
    sigFileFailed = Signal(int, str)  # index, message
    sigFinished = Signal(int, int)  # ok, failed
    sigFailed = Signal(str)  # the whole batch could not start (model unreadable, ...)
    sigCancelled = Signal()

    def __init__(self, paths: list[str], out_dir: str, spec: str, device: str = "auto", tile: int | None = None,
                 fmt: str | None = None, quality: int = 95, noise_level: float | None = None,
                 variation_seed: int | None = None, passes: int | None = None, parent=None) -> None:
        super().__init__(parent)
        self.passes = passes
        self.paths = [str(p) for p in paths]
        self.out_dir = str(out_dir)
        self.spec = spec
        self.device = device
        self.tile = tile
        self.fmt = fmt
        self.quality = int(quality)
        self.noise_level = noise_level
        self.variation_seed = variation_seed
        self.token = ControlToken()

    def cancel(self) -> None:
        self.token.cancel()

    def run(self) -> None:
        try:
            from imgen_desktop.core.enhance import enhance_photo, open_model
            from imgen_desktop.core.imageio import load_image, save_image

            model = open_model(self.spec, device=self.device)
            if model.task == "inpaint":
                raise ValueError("inpainting needs a painted mask per photo; enhance those one at a time")
        except BaseException as exc:  # noqa: BLE001
            self.sigFailed.emit(str(exc) if isinstance(exc, ValueError) else friendly_error(exc))
            return
        ok = failed = 0
        out_dir = Path(self.out_dir)
        for i, path in enumerate(self.paths):
            if self.token.cancelled:
                self.sigCancelled.emit()
                return
            self.sigFileStarted.emit(i)
            started = time.monotonic()
            try:
                photo = load_image(path)
                result = enhance_photo(
                    photo, model,
                    progress=lambda done, total, i=i: self.sigFileProgress.emit(i, int(done), int(total)),
                    token=self.token,
                    **_options(model, self.tile, None, self.noise_level, self.variation_seed, self.passes),
                )
                if self.token.cancelled:
                    self.sigCancelled.emit()
                    return
                target = out_dir / output_name(Path(path), model.task, int(getattr(model, "scale", 1) or 1), self.fmt)
                saved = save_image(result, target, format=self.fmt, quality=self.quality)
                ok += 1
                self.sigFileDone.emit(i, str(saved), time.monotonic() - started)
            except BaseException as exc:  # noqa: BLE001
                if _is_cancel(exc):
                    self.sigCancelled.emit()
                    return
                failed += 1
                self.sigFileFailed.emit(i, friendly_error(exc))
        self.sigFinished.emit(ok, failed)
