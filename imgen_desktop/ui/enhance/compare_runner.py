"""Runs a comparison of models for the canvas: the :class:`CompareWorker` and the state's busy /
progress, the :class:`ModelComparePage`'s panes, and "Keep this one" (the chosen result becomes
the state's result, as if Apply had made it)."""
from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from imgen_desktop.core.enhance import EnhanceOptions, ModelChoice
from imgen_desktop.ui.enhance.model_compare import CompareWorker, ModelComparePage
from imgen_desktop.ui.enhance.state import EnhanceState
from imgen_desktop.ui.workers import keep_alive, running


class CompareRunner(QObject):
    sigFinished = Signal(int, int)  # results, failures
    sigKept = Signal()

    def __init__(self, state: EnhanceState, page: ModelComparePage, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.state, self.page = state, page
        self._worker: CompareWorker | None = None
        self._done = self._failed = 0
        page.sigCancel.connect(self.cancel)
        page.sigKeep.connect(self.keep)

    def is_busy(self) -> bool:
        return self._worker is not None

    def start(self, choices: list[ModelChoice], options: EnhanceOptions) -> bool:
        s = self.state
        if self._worker is not None or s.busy or s.photo is None or not 2 <= len(choices) <= 4:
            return False
        self._done = self._failed = 0
        self._cancelled = False
        w = CompareWorker(s.photo, choices, options)
        w.sigStarted.connect(self._on_started)
        w.sigProgress.connect(self._on_progress)
        w.sigDone.connect(self._on_done)
        w.sigFailed.connect(self._on_failed)
        w.sigCancelled.connect(self._on_cancelled)
        w.finished.connect(self._on_worker_finished)
        self._worker = keep_alive(w)
        self.page.start(choices)
        s.clear_banner()
        s.set_busy("compare", f"Comparing {len(choices)} models on {s.photo.name}…")
        w.start()
        return True

    def _on_started(self, i: int, n: int, label: str) -> None:
        self.page.set_started(i, n, label)
        self.state.set_progress_text(f"Model {i + 1} of {n}: {label}…")

    def _on_progress(self, i: int, done: int, total: int) -> None:
        self.page.set_tiles(i, done, total)

    def _on_done(self, i: int, photo, image, seconds: float) -> None:
        self._done += 1
        self.page.set_result(i, photo, image, seconds)

    def _on_failed(self, i: int, message: str) -> None:
        self._failed += 1
        self.page.set_failed(i, message)

    def _on_cancelled(self) -> None:
        self._cancelled = True
        self.page.finish("Cancelled — the results so far are shown.")

    def _on_worker_finished(self) -> None:
        self._worker = None
        if not self._cancelled:
            failed = f", {self._failed} failed" if self._failed else ""
            self.page.finish(f"{self._done} results{failed}. Zoom and pan move all panes together.")
        self.state.end_busy("")
        self.page.set_running(False)
        self.sigFinished.emit(self._done, self._failed)

    def cancel(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            self.page.cancel_button.setEnabled(False)
            self.page.progress.setText("Cancelling…")

    def keep(self, i: int) -> None:
        """Make the result of model ``i`` the result (back on the photo page)."""
        photo = self.page.pane_photo(i)
        if photo is None or self._worker is not None:
            return
        c = self.page.choices[i]
        self.state.set_model(c)
        self.state.set_result(photo, self.page.panes[i + 1].view.before_image(), saved="", task=(c.task, c.scale))
        self.state.info(f"Kept the result of {c.label}. Save… writes it; drag the divider to compare.", cause="apply")
        self.sigKept.emit()

    def shutdown(self, timeout_ms: int = 30000) -> None:
        w = self._worker
        if w is not None:
            w.cancel()
            if running(w):
                w.wait(timeout_ms)
