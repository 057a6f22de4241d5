"""Runs enhancement jobs for the canvas: one photo, or a batch of files into a folder.

It owns the worker threads (kept alive by :func:`ui.workers.keep_alive` until they end) and
writes what happens into the :class:`EnhanceState`; the views follow the state.
"""
from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from imgen_desktop.core.enhance import EnhanceOptions, ModelChoice
from imgen_desktop.ui.enhance.jobs import BatchWorker, EnhanceWorker
from imgen_desktop.ui.enhance.state import DONE, FAILED, SKIPPED, WAITING, WORKING, EnhanceState, fmt_seconds
from imgen_desktop.ui.workers import keep_alive, running


class EnhanceRunner(QObject):
    sigResultReady = Signal()
    sigBatchFinished = Signal(int, int)  # ok (written or already done), failed
    sigCancelled = Signal()
    sigFailed = Signal(str)

    def __init__(self, state: EnhanceState, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self._worker: EnhanceWorker | BatchWorker | None = None
        self._photo_name = ""
        self._task: tuple[str, int] = ("", 1)

    def is_busy(self) -> bool:
        return self._worker is not None

    # --- one photo ----------------------------------------------------------------------------
    def apply(self, photo, choice: ModelChoice, options: EnhanceOptions) -> None:
        # bound methods of this QObject (GUI thread): the worker's signals arrive queued
        w = EnhanceWorker(photo, choice, options)
        w.sigProgress.connect(self._on_progress)
        w.sigStatus.connect(self._on_status)
        w.sigResult.connect(self._on_result)
        w.sigFailed.connect(self._on_failed)
        w.sigCancelled.connect(self._on_photo_cancelled)
        self._photo_name = photo.name
        self._task = (choice.task, choice.scale)
        self._start(w, "apply", f"{choice.verb} {photo.name}…")

    def _on_progress(self, done: int, total: int) -> None:
        self.state.set_tiles(done, total)

    def _on_status(self, text: str) -> None:
        self.state.set_progress_text(text)

    def _on_photo_cancelled(self) -> None:
        self._on_cancelled("Cancelled — the photo was not changed and nothing was written.")

    def _on_batch_cancelled(self) -> None:
        self._on_cancelled(self.state.batch_summary(cancelled=True), batch=True)

    def _on_result(self, result, image) -> None:
        seconds = self.state.elapsed()
        self.state.set_result(result, image, saved="", task=self._task)
        self.state.end_busy("")
        self.state.info(f"{self._photo_name} done in {fmt_seconds(seconds)}. Drag the divider to compare; "
                        "Space shows before / after.", cause="apply")
        self.sigResultReady.emit()

    # --- a batch ------------------------------------------------------------------------------
    def start_batch(self, out_dir: str, choice: ModelChoice, options: EnhanceOptions, inputs: list[str] | None = None) -> None:
        """Enhance the batch into ``out_dir``; ``inputs``: what to give the engine (the folders
        that were opened, so their sub-folders are kept), default the state's."""
        s = self.state
        s.reset_batch_items()
        s.batch_out = str(out_dir)
        s.set_resume(None)
        w = BatchWorker(inputs or s.batch_inputs or s.batch_paths(), out_dir, choice, options)
        w.sigResumed.connect(self._on_resumed)
        w.sigFileStarted.connect(self._on_file_started)
        w.sigFileProgress.connect(self._on_file_progress)
        w.sigFileDone.connect(self._on_file_done)
        w.sigFileFailed.connect(self._on_file_failed)
        w.sigFinished.connect(self._on_batch_finished)
        w.sigFailed.connect(self._on_failed)
        w.sigCancelled.connect(self._on_batch_cancelled)
        self._start(w, "batch", f"Enhancing {len(s.batch)} photos into {out_dir}…")

    def _on_resumed(self, done: int, left: int, failed: int) -> None:
        self.state.info(f"Continuing the unfinished batch: {done} done, {left} left, {failed} failed.", cause="batch")

    def pause(self) -> None:
        if self._worker is not None and hasattr(self._worker, "pause") and not self.state.paused:
            self._worker.pause()
            self.state.set_paused(True)
            self.state.set_progress_text("Paused after the current tile — Resume to go on.")

    def resume(self) -> None:
        if self._worker is not None and self.state.paused:
            self._worker.resume()
            self.state.set_paused(False)
            self.state.set_progress_text("Resumed…")

    def _on_file_started(self, src: str, _target: str) -> None:
        i = self.state.batch_index(src)
        self.state.update_item(i, status=WORKING, progress="")
        self.state.set_tiles(0, 1, (max(0, i), len(self.state.batch)))

    def _on_file_progress(self, src: str, done: int, total: int) -> None:
        s = self.state
        i = s.batch_index(src)
        s.update_item(i, progress=f"tile {min(done + 1, max(1, total))} of {total}")
        s.set_tiles(done, total, (max(0, i), len(s.batch)))

    def _on_file_done(self, src: str, output: str, status: str, seconds: float) -> None:
        self.state.update_item(self.state.batch_index(src), status=SKIPPED if status == "skipped" else DONE,
                               output=output, seconds=seconds, progress="")

    def _on_file_failed(self, src: str, message: str) -> None:
        self.state.update_item(self.state.batch_index(src), status=FAILED, error=message, progress="")

    def _on_batch_finished(self) -> None:
        s = self.state
        counts = s.batch_counts()
        summary = s.batch_summary()
        s.end_busy(summary)
        if counts[FAILED]:
            s.show_banner("warning", summary, cause="batch")
        else:
            s.info(summary, cause="batch")
        self.sigBatchFinished.emit(counts[DONE] + counts[SKIPPED], counts[FAILED])

    # --- common ---------------------------------------------------------------------------------
    def _start(self, worker, kind: str, text: str) -> None:
        self._worker = keep_alive(worker)
        worker.finished.connect(self._on_worker_finished)
        self.state.clear_banner()  # the next action: old messages go
        self.state.set_busy(kind, text)
        worker.start()

    def _on_failed(self, message: str) -> None:
        for i, item in enumerate(self.state.batch):
            if item.status == WORKING:
                self.state.update_item(i, status=WAITING, progress="")
        self.state.end_busy("")
        self.state.error(message, cause="apply")
        self.sigFailed.emit(message)

    def _on_cancelled(self, text: str, batch: bool = False) -> None:
        if batch:
            for i, item in enumerate(self.state.batch):
                if item.status == WORKING:
                    self.state.update_item(i, status=WAITING, progress="")
        self.state.end_busy(text)
        self.sigCancelled.emit()

    def _on_worker_finished(self) -> None:
        worker = self.sender()
        if worker is None or self._worker is worker:
            self._worker = None
            if self.state.busy:  # ended without a final signal (should not happen)
                self.state.end_busy("")

    def cancel(self) -> None:
        if self._worker is not None and not self.state.cancelling:
            self._worker.cancel()
            self.state.set_cancelling()

    def shutdown(self, timeout_ms: int = 30000) -> None:
        worker = self._worker
        if worker is not None:
            worker.cancel()
            if running(worker):
                worker.wait(timeout_ms)

