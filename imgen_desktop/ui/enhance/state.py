"""What the Enhance tab shows, as plain data with change signals (no widgets here).

The views read this object and redraw from its signals; the canvas changes it in response to
user actions and worker results. Everything here can be unit-tested without a window.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, replace
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from imgen_desktop.core.enhance import LARGE_OUTPUT_BYTES, ModelChoice, OutputEstimate, estimate_output

INFO_TIMEOUT_MS = 8000  # info banners go away by themselves after this long

WAITING, WORKING, DONE, SKIPPED, FAILED = "waiting", "working", "done", "skipped", "failed"


def fmt_seconds(s: float) -> str:
    if s < 60:
        return f"{max(1, round(s))} s"
    return f"{int(s // 60)} min {int(s % 60):02d} s"


@dataclass(frozen=True)
class BatchItem:
    """One file of a batch and what happened to it."""

    path: str
    status: str = WAITING
    output: str = ""
    error: str = ""
    seconds: float = 0.0
    progress: str = ""  # "tile 2 of 4" while it runs

    @property
    def name(self) -> str:
        return Path(self.path).name

    @property
    def reviewable(self) -> bool:
        """Its result exists on disk and can be compared with the original."""
        return self.status in (DONE, SKIPPED) and bool(self.output)

    def status_text(self) -> str:
        if self.status == WORKING:
            return f"working… {self.progress}".strip()
        if self.status == DONE:
            return f"✓ saved as {Path(self.output).name} ({fmt_seconds(self.seconds)})"
        if self.status == SKIPPED:
            return f"✓ already done: {Path(self.output).name}"
        if self.status == FAILED:
            error = self.error
            if error.startswith(self.name + ": "):  # the list already names the file
                error = error[len(self.name) + 2:]
            return f"✗ {error}"
        return "waiting"

    def text(self) -> str:
        return f"{self.name} — {self.status_text()}"


@dataclass(frozen=True)
class Banner:
    kind: str  # "error" | "warning" | "info"
    text: str
    cause: str = ""  # what makes it go away: "load", "tile", "apply", "save", "batch", "models"
    timeout_ms: int = 0  # 0: stays until its cause goes or it is closed


class EnhanceState(QObject):
    sigPhotoChanged = Signal()
    sigResultChanged = Signal()
    sigBatchChanged = Signal()  # the list itself (new files)
    sigBatchItemChanged = Signal(int)
    sigModelsChanged = Signal()
    sigModelChanged = Signal()
    sigBusyChanged = Signal()
    sigProgressChanged = Signal()
    sigBannerChanged = Signal()
    sigResumeChanged = Signal()  # the offer to continue an unfinished batch
    sigPausedChanged = Signal()
    sigBlendChanged = Signal()  # the blended result (original painted back in)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.photo = None  # core.imageio.Photo: the "before"
        self.photo_image = None  # its display QImage
        self.photo_error = ""  # a batch file that could not be previewed
        self.result = None  # Photo: the "after"
        self.result_image = None
        self.result_saved = ""  # the file the result is in ("" = not saved)
        self.result_task: tuple[str, int] = ("", 1)
        self.batch: list[BatchItem] = []
        self.batch_out = ""
        self.batch_inputs: list[str] = []  # what was opened (folders kept: their layout is kept in the output)
        self.resume = None  # core.batch.BatchManifest of an unfinished batch of these photos, or None
        self.paused = False
        self.blended = None  # Photo: the result with the original painted back in (what Save writes)
        self.blended_image = None
        self.models: list[ModelChoice] = []
        self.models_error = ""
        self.model: ModelChoice | None = None
        self.busy = ""  # "" | "apply" | "batch"
        self.cancelling = False
        self.loading = ""  # the file being opened
        self.saving = ""  # the file being written
        self.progress_text = ""
        self.progress_done = 0
        self.progress_total = 0  # 0: busy without a count yet
        self.banner: Banner | None = None
        self._started = 0.0

    # --- photo and result ----------------------------------------------------------------
    def set_photo(self, photo, image=None) -> None:
        """A new "before": drops the result; banners about the old photo go."""
        self.photo, self.photo_image, self.photo_error = photo, image, ""
        self.result = self.result_image = None
        self.result_saved = ""
        if self.banner is not None and self.banner.cause != "models":
            self.banner = None
            self.sigBannerChanged.emit()
        if not self.batch and not self.busy and self.progress_text:
            self.progress_text = ""  # "Cancelled…" was about the previous photo
            self.sigProgressChanged.emit()
        self.sigPhotoChanged.emit()
        self.sigResultChanged.emit()

    def set_photo_error(self, message: str) -> None:
        """A batch file that cannot be previewed: the photo area says so (it stays a batch)."""
        self.photo = self.photo_image = None
        self.result = self.result_image = None
        self.result_saved = ""
        self.photo_error = message
        self.sigPhotoChanged.emit()
        self.sigResultChanged.emit()

    def clear_photo(self) -> None:
        self.set_photo(None, None)
        self.set_batch([])

    def set_result(self, photo, image, saved: str = "", task: tuple[str, int] | None = None) -> None:
        self.result, self.result_image, self.result_saved = photo, image, saved
        self.set_blend(None, None)
        if task is not None:
            self.result_task = task
        self.sigResultChanged.emit()

    def mark_saved(self, path: str) -> None:
        self.result_saved = str(path)
        self.sigResultChanged.emit()

    def set_saving(self, path: str) -> None:
        self.saving = str(path or "")
        self.sigResultChanged.emit()

    def set_loading(self, path: str) -> None:
        self.loading = str(path or "")
        self.sigBusyChanged.emit()

    def set_blend(self, photo, image) -> None:
        """The blended result (None: none; the plain result is saved)."""
        if photo is None and self.blended is None:
            return
        self.blended, self.blended_image = photo, image
        if photo is not None:
            self.result_saved = ""  # the blend is a new picture: not saved yet
        self.sigBlendChanged.emit()
        self.sigResultChanged.emit()

    def output_photo(self):
        """What Save writes: the blend when there is one, else the result."""
        return self.blended if self.blended is not None else self.result

    def output_image(self):
        return self.blended_image if self.blended is not None else self.result_image

    def has_unsaved_result(self) -> bool:
        return self.result is not None and not self.result_saved

    def has_content(self) -> bool:
        """Something to show in the photo area (a photo, or a batch even if its preview failed)."""
        return self.photo is not None or bool(self.batch)

    # --- batch -------------------------------------------------------------------------------
    def set_batch(self, paths: list[str], inputs: list[str] | None = None) -> None:
        self.batch = [BatchItem(str(Path(p).expanduser())) for p in paths]
        self.batch_inputs = [str(p) for p in (inputs if inputs is not None else paths)]
        self.batch_out = ""
        self.set_resume(None)
        if not self.busy:
            self.progress_text = ""
            self.sigProgressChanged.emit()
        self.sigBatchChanged.emit()

    def batch_paths(self) -> list[str]:
        return [item.path for item in self.batch]

    def batch_index(self, path: str) -> int:
        key = str(Path(path).expanduser())
        for i, item in enumerate(self.batch):
            if item.path == key:
                return i
        return -1

    def update_item(self, index: int, **changes) -> None:
        if 0 <= index < len(self.batch):
            self.batch[index] = replace(self.batch[index], **changes)
            self.sigBatchItemChanged.emit(index)

    def reset_batch_items(self) -> None:
        for i in range(len(self.batch)):
            self.update_item(i, status=WAITING, output="", error="", seconds=0.0, progress="")

    def batch_counts(self) -> dict[str, int]:
        counts = {WAITING: 0, WORKING: 0, DONE: 0, SKIPPED: 0, FAILED: 0}
        for item in self.batch:
            counts[item.status] = counts.get(item.status, 0) + 1
        return counts

    def batch_summary(self, cancelled: bool = False) -> str:
        c, n = self.batch_counts(), len(self.batch)
        written, skipped, failed = c[DONE], c[SKIPPED], c[FAILED]
        where = f" in {self.batch_out}" if self.batch_out else ""
        if cancelled:
            head = f"Cancelled: {written} of {n} photos were written{where}" if written else "Cancelled: no photo was written"
        else:
            head = f"{written + skipped} of {n} photos saved{where}"
        parts = [head]
        if skipped:
            parts.append(f"{skipped} already done and kept")
        if failed:
            parts.append(f"{failed} failed (see the list)")
        return "; ".join(parts) + "."

    def set_resume(self, manifest) -> None:
        if manifest is not self.resume:
            self.resume = manifest
            self.sigResumeChanged.emit()

    def set_paused(self, paused: bool) -> None:
        self.paused = bool(paused)
        self.sigPausedChanged.emit()
        self.sigBusyChanged.emit()

    # --- models ------------------------------------------------------------------------------
    def set_models(self, models: list[ModelChoice], error: str = "") -> None:
        self.models = sorted(models, key=lambda c: not c.builtin)  # built-ins first, order kept
        self.models_error = error
        if self.model is not None:
            self.model = next((m for m in self.models if m.spec == self.model.spec), None)
        self.sigModelsChanged.emit()
        self.sigModelChanged.emit()

    def find_model(self, key: str) -> int:
        """Index in :attr:`models` of a spec (``builtin:denoise``), name, file path or label; -1."""
        key_l = str(key or "").strip().lower()
        if not key_l:
            return -1
        for i, m in enumerate(self.models):
            spec = m.spec.lower()
            names = {spec, spec.removeprefix("builtin:"), Path(spec).stem.lower(), m.label.lower()}
            if m.path:
                names |= {m.path.lower(), Path(m.path).stem.lower()}
            if key_l in names or Path(key_l).stem in names:
                return i
        return -1

    def select_model(self, key: str) -> bool:
        i = self.find_model(key)
        if i < 0:
            return False
        self.set_model(self.models[i])
        return True

    def set_model(self, model: ModelChoice | None) -> None:
        if model != self.model:
            self.model = model
            self.sigModelChanged.emit()

    # --- busy / progress -----------------------------------------------------------------------
    def set_busy(self, kind: str, text: str = "") -> None:
        self.busy, self.cancelling = kind, False
        self._started = time.monotonic()
        self.progress_done = self.progress_total = 0
        self.progress_text = text
        self.sigBusyChanged.emit()
        self.sigProgressChanged.emit()

    def elapsed(self) -> float:
        return time.monotonic() - self._started

    def set_progress_text(self, text: str) -> None:
        self.progress_text = text
        self.sigProgressChanged.emit()

    def set_tiles(self, done: int, total: int, photo: tuple[int, int] | None = None) -> None:
        """Tiles of the photo being enhanced (``photo``: index, count in a batch) -> one line:
        "Tile 2 of 4 · ETA 3 s" or "Photo 1 of 3 · tile 2 of 4 · ETA 8 s"."""
        total = max(1, int(total))
        done = max(0, min(int(done), total))
        current = min(done + 1, total)
        if photo is None:
            self.progress_done, self.progress_total = done, total
            overall = done / total
            head = f"Tile {current} of {total}" if done < total else f"Tile {total} of {total} · finishing…"
        else:
            i, n = photo
            self.progress_done, self.progress_total = i * total + done, n * total
            overall = (i + done / total) / max(1, n)
            head = f"Photo {i + 1} of {n} · tile {current} of {total}"
        eta = ""
        if 0 < overall < 1:
            elapsed = self.elapsed()
            eta = f" · ETA {fmt_seconds(elapsed / overall * (1 - overall))}"
        self.progress_text = head + (eta if done < total or photo is not None else "")
        self.sigProgressChanged.emit()

    def end_busy(self, text: str = "") -> None:
        self.busy, self.cancelling, self.paused = "", False, False
        self.progress_text = text
        self.progress_done = self.progress_total = 0
        self.sigBusyChanged.emit()
        self.sigProgressChanged.emit()

    def set_cancelling(self) -> None:
        self.cancelling = True
        self.progress_text = "Cancelling…"
        self.sigBusyChanged.emit()
        self.sigProgressChanged.emit()

    # --- banners -------------------------------------------------------------------------------
    def show_banner(self, kind: str, text: str, cause: str = "") -> None:
        timeout = INFO_TIMEOUT_MS if kind == "info" else 0
        self.banner = Banner(kind, text, cause, timeout)
        self.sigBannerChanged.emit()

    def error(self, text: str, cause: str = "") -> None:
        self.show_banner("error", text, cause)

    def info(self, text: str, cause: str = "") -> None:
        self.show_banner("info", text, cause)

    def clear_banner(self, cause: str | None = None) -> None:
        """Hide the banner (only one with that ``cause`` when given)."""
        if self.banner is None or (cause is not None and self.banner.cause != cause):
            return
        self.banner = None
        self.sigBannerChanged.emit()

    def error_text(self) -> str:
        return self.banner.text if self.banner is not None and self.banner.kind == "error" else ""

    # --- derived -------------------------------------------------------------------------------
    def output_estimate(self) -> OutputEstimate | None:
        if self.photo is None or self.model is None:
            return None
        return estimate_output(self.photo.width, self.photo.height, self.photo.channels,
                               self.model.scale if self.model.task == "upscale" else 1)

    def output_is_large(self) -> bool:
        est = self.output_estimate()
        return est is not None and est.bytes > LARGE_OUTPUT_BYTES
