"""One way to run slow work off the GUI thread, and one way to word its errors.

* :func:`error_text` turns any exception into one sentence for the user (ImgenError text as is,
  out-of-memory with a remedy, otherwise "Type: first line").
* :class:`FunctionWorker` runs ``fn(*args, **kwargs)`` in a ``QThread`` and reports
  ``sigDone(result, tag)`` or ``sigError(message, tag)``; every exception is caught in ``run``.
* :class:`WorkerPool` starts them and keeps each alive until its thread has finished (a
  ``QThread`` destroyed while running aborts the process), like Anki's ``QueryOp``: the
  operation delegates to the core, success / failure come back on the GUI thread.

Workers never touch a widget: they hand over plain data only.
"""
from __future__ import annotations

import atexit
import time
from typing import Any, Callable

from PySide6.QtCore import QObject, QThread, Signal


def first_line(exc: BaseException) -> str:
    """The first non-empty line of an exception's text ("" if it has none)."""
    text = str(exc).strip()
    return text.splitlines()[0].strip() if text else ""


def is_cancel(exc: BaseException) -> bool:
    from imgen_desktop.core.errors import Cancelled

    return isinstance(exc, Cancelled)


def error_text(exc: BaseException, context: str = "") -> str:
    """One sentence for the user.

    ``context`` ("Enhancement failed") prefixes errors that are not our own ImgenError, whose
    text is already written for users.
    """
    from imgen_desktop.core.errors import ImgenError

    if isinstance(exc, ImgenError):
        return str(exc)
    text = first_line(exc)
    if isinstance(exc, MemoryError) or "out of memory" in text.lower():
        return "Out of memory: choose a smaller tile size (or the CPU device) and try again."
    if context:
        return f"{context}: {text[:300] or type(exc).__name__}"
    return f"{type(exc).__name__}: {text[:300]}" if text else type(exc).__name__


class FunctionWorker(QThread):
    """Runs ``fn(*args, **kwargs)`` off the GUI thread; emits sigDone(result) or sigError(message).

    ``tag`` lets the receiver ignore results of requests that have since been superseded.
    """

    sigDone = Signal(object, object)  # result, tag
    sigError = Signal(str, object)  # message, tag

    def __init__(self, fn: Callable, *args: Any, tag: Any = None, context: str = "",
                 parent: QObject | None = None, **kwargs: Any) -> None:
        super().__init__(parent)
        self.fn, self.args, self.kwargs, self.tag, self.context = fn, args, kwargs, tag, context

    def run(self) -> None:
        try:
            result = self.fn(*self.args, **self.kwargs)
        except BaseException as exc:  # noqa: BLE001 - report everything, never crash the GUI
            self.sigError.emit(error_text(exc, self.context), self.tag)
            return
        self.sigDone.emit(result, self.tag)


# Every running worker is referenced here until its thread has finished, so that a QThread is
# never destroyed while it runs, even if the widget that started it goes away first.
_ALIVE: set[QThread] = set()


@atexit.register
def _wait_for_workers(timeout_ms: int = 30000) -> None:
    """At exit, let running workers finish (a QThread destroyed while running aborts the process)."""
    for worker in list(_ALIVE):
        try:
            worker.wait(timeout_ms)
        except RuntimeError:  # already deleted on the C++ side
            pass


def keep_alive(worker: QThread) -> QThread:
    """Hold a reference to ``worker`` until its thread finishes, then deleteLater it."""
    _ALIVE.add(worker)
    worker.finished.connect(lambda w=worker: _release(w))
    return worker


def _release(worker: QThread) -> None:
    _ALIVE.discard(worker)
    try:
        worker.deleteLater()
    except RuntimeError:
        pass


class WorkerPool(QObject):
    """Starts FunctionWorkers and keeps them alive until they finish (a QThread must outlive its run)."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._workers: set[FunctionWorker] = set()

    def start(self, fn: Callable, *args: Any, on_done: Callable | None = None, on_error: Callable | None = None,
              tag: Any = None, context: str = "", **kwargs: Any) -> FunctionWorker:
        worker = FunctionWorker(fn, *args, tag=tag, context=context, **kwargs)
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
        return any(running(w) for w in list(self._workers))

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


def running(worker: QThread) -> bool:
    try:
        return worker.isRunning()
    except RuntimeError:  # already deleted: it has finished
        return False
