"""The Train panel's training queue: "Add to queue" under Start, the Queue tab under the plot, and
running the queue through :class:`~imgen_desktop.ui.train.queue_worker.QueueWorker` — the panel's
``worker`` like a Start run, so the live plot, samples, Pause and Stop work the same for the
entry that trains, and there are never two trainings at once:

* Start is refused while the queue runs (here, or in another window or terminal);
* Run queue during a Start run waits for it and then starts (Pause queue cancels the wait);
* Pause queue lets the entry training now finish, then starts no further one (the rest wait);
  Stop & save stops the entry training now (it continues from its checkpoint) and the queue.

The queue lives in the data root (``core.queue``); the view re-reads it when the file changes,
so edits from ``imgen queue`` or another window show, and after a crash an entry left "running"
shows as waiting again ("interrupted at step N"), as ``core.queue`` recovers it.
"""
from __future__ import annotations

import os
from typing import Any

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QPushButton

from imgen_desktop.core import runs as core_runs
from imgen_desktop.core import tasks as vocab
from imgen_desktop.core.config import TrainConfig
from imgen_desktop.core.errors import ImgenError
from imgen_desktop.ui.train.queue_state import QueueSummary, entry_row
from imgen_desktop.ui.train.queue_view import QueueView
from imgen_desktop.ui.train.queue_worker import QueueWorker
from imgen_desktop.ui.train.state import gui_message

POLL_MS = 1500


class QueueMixin:
    """Mixed into TrainPanel (uses its form, run state, worker wiring and log)."""

    def _build_queue(self, left_layout) -> None:
        self.add_queue_button = QPushButton("+  Add to queue", self)
        self.add_queue_button.setObjectName("addToQueueButton")
        self.add_queue_button.setToolTip("Queue a training with these settings; the queue trains its entries one after "
                                         "another (see the Queue tab under the plot)")
        self.add_queue_button.clicked.connect(self._on_add_to_queue)
        left_layout.addWidget(self.add_queue_button)
        self.queue_view = QueueView(self.bottom_tabs)
        self.bottom_tabs.addTab(self.queue_view, "Queue")
        v = self.queue_view
        v.sigRun.connect(self._on_queue_run)
        v.sigPauseToggled.connect(self._on_queue_pause_toggled)
        v.sigMove.connect(self._on_queue_move)
        v.sigRemove.connect(lambda i: self._queue_edit(lambda q: q.remove(i)))
        v.sigRetry.connect(lambda i: self._queue_edit(lambda q: q.retry(i)))
        v.sigClearFinished.connect(lambda: self._queue_edit(lambda q: q.clear_finished()))
        v.sigLoad.connect(self._on_queue_load)
        self.queue_entries: list = []
        self._queue_stamp: Any = None
        self._queue_wait_for_run = False
        self._queue_live: tuple[int, int] | None = None  # (entry id, live step) of the entry training here
        self._queue_timer = QTimer(self)
        self._queue_timer.setInterval(POLL_MS)
        self._queue_timer.timeout.connect(self._on_queue_poll)
        self._queue_timer.start()
        self.reload_queue()  # a restarted app shows the queue as it was left

    # ------------------------------------------------------------------ public
    def training_queue(self):
        from imgen_desktop.core.queue import TrainingQueue

        return TrainingQueue()

    def queue_running(self) -> bool:
        """True while this window runs the queue (until its thread's end has been handled)."""
        return isinstance(self.worker, QueueWorker)

    def reload_queue(self) -> None:
        """Re-read the queue from the data root and show it."""
        queue = self.training_queue()
        try:
            if queue.path.is_file() or self.queue_running():
                self.queue_entries, paused = queue.entries(), queue.paused
                elsewhere = not self.queue_running() and queue.running
            else:  # no queue yet: touch nothing in the data root
                self.queue_entries, paused, elsewhere = [], False, False
        except ImgenError as exc:
            self.log(gui_message(str(exc)), "warning")
            return
        for line in queue.warnings:
            self.log(gui_message(line), "warning")
        self._queue_stamp = self._queue_file_stamp(queue.path)
        here = self.queue_running()
        live = self._queue_live
        rows = [entry_row(e, i, live[1] if live and live[0] == e.id else None, live=here)
                for i, e in enumerate(self.queue_entries, 1)]
        summary = QueueSummary(self.queue_entries, here, elsewhere, paused, self._queue_wait_for_run)
        self.queue_view.show_rows(rows, summary)
        n = len(self.queue_entries)
        index = self.bottom_tabs.indexOf(self.queue_view)
        self.bottom_tabs.setTabText(index, f"Queue ({n})" if n else "Queue")
        self._queue_show_buttons()

    @staticmethod
    def _queue_file_stamp(path) -> Any:
        try:
            st = os.stat(path)
            return (st.st_mtime_ns, st.st_size)
        except OSError:
            return None

    def _on_queue_poll(self) -> None:
        if self._queue_file_stamp(self.training_queue().path) != self._queue_stamp or \
                (not self.queue_running() and self.queue_view.summary.running_elsewhere):
            self.reload_queue()

    # ------------------------------------------------------------------ hooks the panel calls
    def _queue_show_buttons(self) -> None:
        """While the queue runs, Start / Continue a run stay off and the form stays editable
        (so more trainings can be queued)."""
        if self.queue_running():
            self.start_button.setEnabled(False)
            self.resume_button.setEnabled(False)
            self.start_button.setToolTip("The queue is training: add these settings to the queue instead")
            self.form.setEnabled(True)
        self.add_queue_button.setEnabled(not self.run.busy or self.queue_running())

    def _queue_refuses_start(self) -> bool:
        """Start while the queue runs (in another process too): a clear refusal."""
        if self.queue_running():
            self._show_error("The queue is training now; add these settings to the queue instead, or stop the queue first.",
                             title="The queue is running")
            return True
        try:
            queue = self.training_queue()
            elsewhere = queue.path.is_file() and queue.running  # a runner always writes queue.json first
        except ImgenError:
            elsewhere = False
        if elsewhere:
            self._show_error("The training queue is running in another window or terminal; wait for it to end, or add "
                             "these settings to the queue.", title="The queue is running")
            return True
        return False

    # ------------------------------------------------------------------ adding and editing
    def _on_add_to_queue(self) -> None:
        cfg = self.checked_config()
        if cfg is None:
            return
        resume = bool(self.run.resume_name) and not self.run.busy
        if resume:
            cfg.name = self.run.resume_name
        queue = self.training_queue()
        try:
            entry = queue.add(cfg, resume=resume)
        except (ImgenError, ValueError) as exc:
            self._show_error(gui_message(str(exc)), title="Cannot queue this training")
            return
        for line in queue.warnings:
            self.log(gui_message(line), "warning")
        self.log(f"Queued entry {entry.id}: {entry.describe()}" + (f" as “{cfg.name}”" if cfg.name else "") + ".")
        self.form_state.run_started()  # a remedy is used up; the next entry gets its own name
        self.form.show_state()
        if resume:
            self.run.resume_name = ""
            self._show_run()
        self.bottom_tabs.setCurrentWidget(self.queue_view)
        self.reload_queue()
        self.queue_view.select(entry.id)

    def _queue_edit(self, change) -> None:
        try:
            change(self.training_queue())
        except ImgenError as exc:
            self._show_error(gui_message(str(exc)), title="Queue")
        self.reload_queue()

    def _on_queue_move(self, entry_id: int, delta: int) -> None:
        ids = [e.id for e in self.queue_entries]
        if entry_id in ids:
            self._queue_edit(lambda q: q.move(entry_id, ids.index(entry_id) + 1 + delta))
            self.queue_view.select(entry_id)

    def _on_queue_load(self, entry_id: int) -> None:
        entry = next((e for e in self.queue_entries if e.id == entry_id), None)
        if entry is None or (self.run.busy and not self.queue_running()):
            return
        cfg = TrainConfig.from_dict(entry.config.to_dict())
        cfg.name = ""
        self.set_config(cfg)
        self.log(f"Loaded the settings of queue entry {entry_id} into the form: change them and add them again, "
                 "or press Start.")

    # ------------------------------------------------------------------ running
    def _on_queue_run(self) -> None:
        if self.queue_running():
            return
        if self.is_training():
            self._queue_wait_for_run = True
            self.log("A training is running: the queue starts when it ends.")
            self.sigRunEnded.connect(self._on_queue_wait_over)
            self.reload_queue()
            return
        self._start_queue()

    def _on_queue_wait_over(self) -> None:
        self.sigRunEnded.disconnect(self._on_queue_wait_over)
        if self._queue_wait_for_run:
            self._queue_wait_for_run = False
            QTimer.singleShot(0, self._start_queue)

    def _on_queue_pause_toggled(self) -> None:
        if self._queue_wait_for_run:
            self._queue_wait_for_run = False
            self.log("The queue will not start after this training.")
            self.reload_queue()
            return
        if not self.queue_running():
            return
        paused = not self.queue_view.summary.paused
        self._queue_edit(lambda q: q.set_paused(paused))
        self.log("The queue pauses when the entry training now ends; the rest wait." if paused
                 else "The queue goes on after this entry.")

    def _start_queue(self) -> None:
        if self.is_training():
            return
        queue = self.training_queue()
        try:
            queue.set_paused(False)
        except ImgenError as exc:
            self._show_error(gui_message(str(exc)), title="Queue")
            return
        worker = QueueWorker(str(queue.path), parent=self)
        self.connect_run_signals(worker)
        worker.sigProgress.connect(self._on_queue_progress)
        worker.sigEntryFailed.connect(self._on_queue_entry_failed)
        worker.sigFailed.connect(self._on_queue_failed)
        worker.sigEntry.connect(self._on_queue_entry)
        worker.sigQueueEnded.connect(self._on_queue_ended)
        worker.finished.connect(self.reload_queue)
        self.worker = worker
        self.log("Running the queue.")
        worker.start()
        self._show_run()
        self.reload_queue()

    def _on_queue_entry(self, data: dict) -> None:
        from imgen_desktop.core.queue import QueueEntry

        entry = QueueEntry.from_dict(data)
        if entry.state == "running":
            self._queue_entry_started(entry)
        else:
            self._queue_live = None
            level = "warning" if entry.state == "failed" else "info"
            self.log(f"Queue entry {entry.id} {entry.state}: {gui_message(entry.message)}", level)
        self.reload_queue()

    def _queue_entry_started(self, entry) -> None:
        cfg = TrainConfig.from_dict(entry.config.to_dict())
        cfg.name = entry.run_name
        resume = entry.resume or core_runs.read_run(cfg.name).steps_reached > 0
        if self.worker is not None:
            self.worker.config, self.worker.resume = cfg, resume
        self._queue_live = (entry.id, entry.step)
        self.loss_plot.reset()
        self.sample_grid.clear()
        self.health_strip.set_family(cfg.family)
        self.health_strip.reset()
        self.sample_grid.run_name = cfg.name
        self.loss_plot.set_run_name(cfg.name)
        self.run.start(cfg.name, cfg.steps, resume)
        if resume:
            self._pool.start(core_runs.load_curves, cfg.name, on_done=self._on_history_loaded, tag=cfg.name)
        self._show_run()
        position = next((i for i, e in enumerate(self.queue_entries, 1) if e.id == entry.id), entry.id)
        self.log(f"Queue entry {position} of {len(self.queue_entries)}: " + ("continuing " if resume else "starting ")
                 + f"“{cfg.name}” — {vocab.family(cfg.family).label} {vocab.task_title(cfg.task, cfg.scale)} on {cfg.data}, "
                 f"{cfg.steps:,} steps" + (f" ({gui_message(entry.message)})" if entry.message else ""))
        self.sigRunStarted.emit(cfg.to_dict())

    def _on_queue_progress(self, p: dict) -> None:
        if self._queue_live is not None:
            entry_id = self._queue_live[0]
            step = int(p.get("step", 0))
            self._queue_live = (entry_id, step)
            self.queue_view.set_live_step(entry_id, f"{step:,} / {int(p.get('total', 0) or 0):,}")

    def _on_queue_entry_failed(self, message: str) -> None:
        self.run.failed()
        self._show_run()
        self.log(f"This entry failed (the queue goes on): {gui_message(message)}", "error")

    def _on_queue_failed(self, message: str) -> None:
        self._show_error(gui_message(message), title="The queue could not run")

    def _on_queue_ended(self, report: dict) -> None:
        done, failed, stopped = (len(report.get(k, [])) for k in ("done", "failed", "stopped"))
        counts = f"{done} done" + (f", {failed} failed" if failed else "") + (f", {stopped} stopped" if stopped else "")
        if stopped:
            self.log(f"Queue stopped ({counts}); press Run queue to continue from the stopped entry's checkpoint.")
        elif report.get("paused"):
            self.log(f"Queue paused ({counts}); the rest wait — press Run queue to go on.")
        else:
            self.log(f"Queue finished: {counts}.", "warning" if failed else "info")
