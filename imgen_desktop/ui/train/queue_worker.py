"""The queue's worker thread: :meth:`TrainingQueue.run_all` with each entry trained in the training
child process, exactly as the Start button's :class:`~imgen_desktop.ui.train_worker.TrainWorker`
does (it is one, with a different ``run``), so the live plot, samples and controls work the same.

Signals carry plain data: ``sigEntry(dict)`` when an entry starts and when it ends (the entry as
``QueueEntry.to_dict()``), ``sigFinished(dict)`` after each entry that finished or stopped,
``sigEntryFailed(str)`` after one that failed (the queue goes on), ``sigFailed(str)`` only when the
queue itself could not run (e.g. it runs in another process), ``sigQueueEnded(dict)`` with the
report at the end. Pause / Stop act on the entry training now (Stop also ends the queue run).
"""
from __future__ import annotations

import dataclasses
import traceback
from typing import Any

from PySide6.QtCore import QObject, Signal

from imgen_desktop.ui.train_worker import TrainWorker
from imgen_desktop.ui.workers import error_text


class QueueWorker(TrainWorker):
    sigEntry = Signal(dict)
    sigEntryFailed = Signal(str)
    sigQueueEnded = Signal(dict)  # QueueReport as a dict

    def __init__(self, queue_path: str | None = None, parent: QObject | None = None) -> None:
        super().__init__(config=None, resume=False, parent=parent)
        self.queue_path = queue_path

    def run(self) -> None:  # noqa: D401 (Qt API)
        try:
            from imgen_desktop.core.queue import TrainingQueue

            queue = TrainingQueue(self.queue_path)
            report = queue.run_all(self._on_event, self.token, on_entry=self._on_entry, train_fn=self._train)
            self.sigQueueEnded.emit(dataclasses.asdict(report))
        except BaseException as exc:  # noqa: BLE001 - report everything, never crash the GUI
            self.sigLog.emit(traceback.format_exc(), "debug")
            self.sigFailed.emit(error_text(exc))

    def _on_entry(self, entry: Any) -> None:
        self.sigEntry.emit(entry.to_dict())

    def _train(self, config: Any, on_event: Any, token: Any, resume: bool = False) -> Any:
        """One entry, in the training child process (the Start button's path)."""
        from imgen_desktop.core.events import Failed, Finished
        from imgen_desktop.core.process_runner import train_in_process

        result = train_in_process(config, on_event, token, resume=resume, stop_grace_s=self.STOP_GRACE_S)
        self._flush_progress()
        if isinstance(result, Finished):
            self.sigFinished.emit(dataclasses.asdict(result))
        elif isinstance(result, Failed):
            self.sigEntryFailed.emit(result.message or "training failed")
        return result
