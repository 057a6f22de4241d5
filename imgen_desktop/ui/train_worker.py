"""Background threads for the training UI.

:class:`TrainWorker` is a ``QThread`` that runs ``core.trainer.train`` in a child process
(``core.process_runner``: the training loop never shares the GUI process's GIL, so the window
stays responsive) and re-emits the engine's plain-data events as Qt signals;
:class:`FunctionWorker` runs any slow call (dataset description, model listing, sampling) off
the GUI thread. Neither touches a widget: all they
hand over is plain data (dicts, str, numbers, uint8 numpy arrays). Every exception is caught
inside ``run`` and reported as a signal, so a bug never takes the window down.
"""
from __future__ import annotations

import atexit
import dataclasses
import threading
import time
import traceback
from typing import Any, Callable

from PySide6.QtCore import QObject, QThread, Signal


def _short_error(exc: BaseException) -> str:
    from imgen_desktop.core.errors import ImgenError

    if isinstance(exc, ImgenError):
        return str(exc)
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


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


class FunctionWorker(QThread):
    """Runs ``fn(*args, **kwargs)`` off the GUI thread; emits sigDone(result) or sigError(message).

    ``tag`` lets the receiver ignore results of requests that have since been superseded.
    """

    sigDone = Signal(object, object)  # result, tag
    sigError = Signal(str, object)  # message, tag

    def __init__(self, fn: Callable, *args: Any, tag: Any = None, parent: QObject | None = None, **kwargs: Any) -> None:
        super().__init__(parent)
        self.fn, self.args, self.kwargs, self.tag = fn, args, kwargs, tag

    def run(self) -> None:
        try:
            result = self.fn(*self.args, **self.kwargs)
        except BaseException as exc:  # noqa: BLE001
            self.sigError.emit(_short_error(exc), self.tag)
            return
        self.sigDone.emit(result, self.tag)


# Every running FunctionWorker is referenced here until its thread has finished, so that a
# QThread is never destroyed while it runs, even if the widget that started it goes away first.
_ALIVE: set[FunctionWorker] = set()


@atexit.register
def _wait_for_workers(timeout_ms: int = 30000) -> None:
    """At exit, let running workers finish (a QThread destroyed while running aborts the process)."""
    for worker in list(_ALIVE):
        try:
            worker.wait(timeout_ms)
        except RuntimeError:  # already deleted on the C++ side
            pass


def _release(worker: FunctionWorker) -> None:
    _ALIVE.discard(worker)
    worker.deleteLater()


class WorkerPool(QObject):
    """Starts FunctionWorkers and keeps them alive until they finish (a QThread must outlive its run)."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._workers: set[FunctionWorker] = set()

    def start(self, fn: Callable, *args: Any, on_done: Callable | None = None, on_error: Callable | None = None,
              tag: Any = None, **kwargs: Any) -> FunctionWorker:
        worker = FunctionWorker(fn, *args, tag=tag, **kwargs)
        if on_done is not None:
            worker.sigDone.connect(on_done)
        if on_error is not None:
            worker.sigError.connect(on_error)
        # one slot, in this order: out of the pool's set before deleteLater is posted
        worker.finished.connect(lambda w=worker: (self._workers.discard(w), _release(w)))
        _ALIVE.add(worker)
        self._workers.add(worker)
        worker.start()
        return worker

    def busy(self) -> bool:
        return any(_running(w) for w in list(self._workers))

    def wait_all(self, timeout_ms: int = 10000) -> bool:
        deadline = time.monotonic() + timeout_ms / 1000
        for worker in list(self._workers):
            left = max(0, int((deadline - time.monotonic()) * 1000))
            try:
                if not worker.wait(left):
                    return False
            except RuntimeError:  # finished and already deleted (its finished slot runs on its own thread)
                self._workers.discard(worker)
        return True


def _running(worker: FunctionWorker) -> bool:
    try:
        return worker.isRunning()
    except RuntimeError:  # already deleted: it has finished
        return False
