"""Background threads for the training UI.

:class:`TrainWorker` is a ``QThread`` that runs ``core.trainer.train`` in a child process
(``core.process_runner``: the training loop never shares the GUI process's GIL, so the window
stays responsive) and re-emits the engine's plain-data events as Qt signals (other slow calls
use ``ui.workers.WorkerPool``). It touches no widget: all it
hands over is plain data (dicts, str, numbers, uint8 numpy arrays). Every exception is caught
inside ``run`` and reported as a signal, so a bug never takes the window down.
"""
from __future__ import annotations

import dataclasses
import threading
import time
import traceback
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal

from imgen_desktop.ui.workers import error_text as _short_error


class TrainWorker(QThread):
    """Runs one training (or resumed) run; signals carry plain data only."""

    sigProgress = Signal(dict)  # step, total, elapsed_s, eta_s, images_per_s
    sigMetrics = Signal(int, dict)
    sigSamples = Signal(int, object, str, int)  # step, uint8 NHWC array, kind, columns
    sigLog = Signal(str, str)  # message, level
    sigHealth = Signal(dict)
    sigCheckpoint = Signal(int, str)
    sigFinished = Signal(dict)  # events.Finished as a dict
    sigFailed = Signal(str)

    PROGRESS_INTERVAL_S = 0.05  # at most ~20 progress updates a second reach the GUI
    STOP_GRACE_S = 45.0  # after Stop, the child has this long to save and exit before it is ended

    def __init__(self, config: Any, resume: bool = False, parent: QObject | None = None) -> None:
        super().__init__(parent)
        from imgen_desktop.core.process_runner import ProcessControlToken

        self.config = config
        self.resume = resume
        self.token = ProcessControlToken()  # shared with the training process
        self._last_progress = 0.0
        self._pending_progress: dict | None = None
        self._lock = threading.Lock()
        self.result: dict | None = None

    # --- control (any thread) -----------------------------------------------------------
    def pause(self) -> None:
        self.token.pause()

    def resume_training(self) -> None:
        self.token.resume()

    def stop(self) -> None:
        self.token.stop()

    def request_sample(self) -> None:
        self.token.request_sample()

    # --- the thread -----------------------------------------------------------------------
    def run(self) -> None:  # noqa: D401 (Qt API)
        """Start the training process and forward its events until it ends; no training here."""
        try:
            from imgen_desktop.core.events import Failed, Finished
            from imgen_desktop.core.process_runner import train_in_process

            result = train_in_process(self.config, self._on_event, self.token, resume=self.resume,
                                      stop_grace_s=self.STOP_GRACE_S)  # the child is gone when it returns
            self._flush_progress()
            if isinstance(result, Finished):
                self.result = dataclasses.asdict(result)
                self.sigFinished.emit(self.result)
            elif isinstance(result, Failed):
                self.sigFailed.emit(result.message or "training failed")
            else:
                self.sigFailed.emit(f"training ended without a result ({result!r})")
        except BaseException as exc:  # noqa: BLE001 - report everything, never crash the GUI
            self.sigLog.emit(traceback.format_exc(), "debug")
            self.sigFailed.emit(_short_error(exc))

    def _on_event(self, event: Any) -> None:
        """One event from the training process (handled on this worker thread)."""
        from imgen_desktop.core import events as ev

        try:
            if isinstance(event, ev.Progress):
                data = dataclasses.asdict(event)
                now = time.monotonic()
                if now - self._last_progress >= self.PROGRESS_INTERVAL_S or event.step >= event.total:
                    self._last_progress = now
                    self._pending_progress = None
                    self.sigProgress.emit(data)
                else:
                    self._pending_progress = data
            elif isinstance(event, ev.Metrics):
                self.sigMetrics.emit(int(event.step), {k: float(v) for k, v in event.values.items()})
            elif isinstance(event, ev.Samples):
                self.sigSamples.emit(int(event.step), event.images, str(event.kind), int(getattr(event, "columns", 0) or 0))
            elif isinstance(event, ev.Log):
                self.sigLog.emit(str(event.message), str(event.level))
            elif isinstance(event, ev.Health):
                self.sigHealth.emit(dataclasses.asdict(event))
            elif isinstance(event, ev.CheckpointSaved):
                self.sigCheckpoint.emit(int(event.step), str(event.path))
            # Finished / Failed end the run (see run)
        except Exception as exc:  # a bad event must not kill the run
            self.sigLog.emit(f"could not forward an event: {_short_error(exc)}", "warning")

    def _flush_progress(self) -> None:
        if self._pending_progress is not None:
            self.sigProgress.emit(self._pending_progress)
            self._pending_progress = None


# FunctionWorker / WorkerPool moved to ui.workers (one worker helper for the whole UI).
from imgen_desktop.ui.workers import FunctionWorker, WorkerPool  # noqa: E402,F401
