"""The Train tab: the config form and run controls on the left; progress, health lights, the loss
plot, samples and the run log on the right. Wires a :class:`TrainWorker` (training in a child
process) to plain state objects and the views that show them; torch is never imported here.
"""
from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QHBoxLayout, QMessageBox, QSplitter, QTabWidget, QVBoxLayout, QWidget

from imgen_desktop.core import runs as core_runs
from imgen_desktop.core import tasks as vocab
from imgen_desktop.core.config import TrainConfig
from imgen_desktop.ui.sample_grid import SampleGrid
from imgen_desktop.ui.train.compare import CompareRuns
from imgen_desktop.ui.train.config_form import ConfigForm
from imgen_desktop.ui.train.remedies import RemedyMixin
from imgen_desktop.ui.train.queue_panel import QueueMixin
from imgen_desktop.ui.train.run_controls import RunButtons, RunProgress
from imgen_desktop.ui.train.run_log import RunLog
from imgen_desktop.ui.train.runs_dialog import ResumeMixin
from imgen_desktop.ui.train.messages import error_box, name_taken_box
from imgen_desktop.ui.train.state import FormState, RunState, gui_message
from imgen_desktop.ui.train_worker import TrainWorker
from imgen_desktop.ui.workers import WorkerPool


class TrainPanel(QueueMixin, ResumeMixin, RemedyMixin, QWidget):
    """The training panel (objectName ``trainPanel``)."""

    sigModelSaved = Signal(str)
    sigRunFinished = Signal(str)  # the run's name, when it finished or stopped (not when it failed)
    sigRunStarted = Signal(dict)  # the TrainConfig as a dict
    sigRunEnded = Signal()  # the worker thread has ended (finished, stopped or failed)
    sigMetrics = Signal(int, dict)
    sigHealth = Signal(dict)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("trainPanel")
        self.form_state = FormState()
        self.run = RunState()
        self.worker: TrainWorker | None = None
        self.runs: list[core_runs.RunSummary] = []
        self._pool = WorkerPool(self)
        self._error_box: QMessageBox | None = None
        self._pending_restart: TrainConfig | None = None
        self._loss_plot = None
        self._health_strip = None
        self._build()
        QTimer.singleShot(1500, self._ensure_plot)  # ready before anyone needs it, after the first paint

    # ------------------------------------------------------------------ construction
    def _build(self) -> None:
        outer = QHBoxLayout(self)
        outer.setContentsMargins(6, 6, 6, 6)
        splitter = QSplitter(Qt.Orientation.Horizontal, self)
        splitter.setObjectName("trainSplitter")
        outer.addWidget(splitter)
        left = QWidget(splitter)
        lv = QVBoxLayout(left)
        lv.setContentsMargins(0, 0, 0, 0)
        self.form = ConfigForm(self.form_state, left)
        lv.addWidget(self.form, 1)
        self.buttons = RunButtons(left)
        lv.addWidget(self.buttons)
        left.setMinimumWidth(320)

        right = QWidget(splitter)
        rv = QVBoxLayout(right)
        rv.setContentsMargins(0, 0, 0, 0)
        self.progress_view = RunProgress(right)
        rv.addWidget(self.progress_view)
        self.health_strip_host = QHBoxLayout()
        self.health_strip_host.setObjectName("healthStripHost")
        rv.addLayout(self.health_strip_host)
        vsplit = QSplitter(Qt.Orientation.Vertical, right)
        hsplit = QSplitter(Qt.Orientation.Horizontal, vsplit)
        self._plot_box = QWidget(hsplit)
        self._plot_box.setObjectName("lossPlotBox")
        self._plot_layout = QVBoxLayout(self._plot_box)
        self._plot_layout.setContentsMargins(0, 0, 0, 0)
        self.sample_grid = SampleGrid(hsplit)
        self.sample_grid.sigSampleNow.connect(self._on_sample_now)
        hsplit.addWidget(self._plot_box)
        hsplit.addWidget(self.sample_grid)
        hsplit.setSizes([560, 420])
        self.bottom_tabs = QTabWidget(vsplit)
        self.bottom_tabs.setObjectName("trainBottomTabs")
        self.run_log = RunLog(self.bottom_tabs)
        self.compare = CompareRuns(lambda: self.loss_plot, self.bottom_tabs)
        self.bottom_tabs.addTab(self.run_log, "Log")
        self.bottom_tabs.addTab(self.compare, "Compare runs")
        self.compare.refresh_button.clicked.connect(self.refresh_runs)
        self.compare.sigComparedChanged.connect(lambda: self.sample_grid.set_compared(self.compare.grids))
        self.compare.sigError.connect(lambda m: self.log(m, "warning"))
        self.sample_grid.sigSaved.connect(lambda p: self.log(f"Saved the sample grid as {p}."))
        self.sample_grid.sigError.connect(self._show_error)
        vsplit.addWidget(hsplit)
        vsplit.addWidget(self.bottom_tabs)
        vsplit.setStretchFactor(0, 4)
        vsplit.setStretchFactor(1, 1)
        vsplit.setSizes([500, 150])
        self._runs_listed_once = False
        rv.addWidget(vsplit, 1)
        splitter.addWidget(left)
        splitter.addWidget(right)
        splitter.setStretchFactor(0, 0)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([340, 900])

        # the controls other code and tests reach by name
        f = self.form
        self.fields = f.fields
        self.family_combo, self.task_combo, self.scale_combo = f.family_combo, f.task_combo, f.scale_combo
        self.preset_combo, self.device_combo, self.name_edit = f.preset_combo, f.device_combo, f.name_edit
        self.dataset_edit, self.dataset_info = f.dataset_edit, f.dataset_info
        b = self.buttons
        self.start_button, self.pause_button, self.stop_button, self.resume_button = (
            b.start_button, b.pause_button, b.stop_button, b.resume_button)
        self.progress = self.progress_view.progress
        self.speed_label = self.progress_view.speed_label
        b.sigStart.connect(self._on_start)
        b.sigPauseToggled.connect(self._on_pause_toggled)
        b.sigStop.connect(self._on_stop)
        b.sigResumeRun.connect(self._on_resume_run)
        f.name_edit.textEdited.connect(self._on_name_edited)
        f.family_combo.currentIndexChanged.connect(self._on_family_changed)
        self._build_queue(lv)  # "Add to queue" under the run buttons, the Queue tab (ui/train/queue_panel.py)

    # ------------------------------------------------------------------ the loss plot and health strip (lazy)
    @property
    def loss_plot(self):
        """The ``lossPlot`` (a pyqtgraph PlotWidget), created on first use."""
        return self._ensure_plot()

    @property
    def health_strip(self):
        self._ensure_plot()
        return self._health_strip

    def _ensure_plot(self):
        if self._loss_plot is None:
            from imgen_desktop.ui.health_strip import HealthStrip  # imports pyqtgraph (~0.3 s)
            from imgen_desktop.ui.loss_plot import LossPlot

            self._loss_plot = LossPlot(self._plot_box)
            self._plot_layout.addWidget(self._loss_plot, 1)
            self.plot_controls = self._loss_plot.make_controls(self._plot_box)
            self._plot_layout.addWidget(self.plot_controls)
            strip = HealthStrip(self)
            strip.set_family(self.form_state.family)
            strip.sigRemedy.connect(self._on_remedy)
            self.health_strip_host.addWidget(strip, 1)
            self._health_strip = strip
        return self._loss_plot

    def showEvent(self, event) -> None:  # noqa: N802 (Qt API)
        self._ensure_plot()
        if not self._runs_listed_once:
            self._runs_listed_once = True
            self.refresh_runs()
        super().showEvent(event)

    # ------------------------------------------------------------------ public API
    def set_devices(self, devices: list[tuple[str, str]]) -> None:
        self.form.set_devices(devices)

    def is_training(self) -> bool:
        return self.worker is not None and self.worker.isRunning()

    def stop_and_wait(self, timeout_ms: int = 60000) -> bool:
        """Stop a running training (it saves a checkpoint and the model) and wait for it."""
        if self.worker is None:
            return True
        self.worker.stop()
        done = self.worker.wait(timeout_ms)
        self._pool.wait_all(min(timeout_ms, 5000))
        self.compare.shutdown(2000)
        self.form.dataset.wait(2000)
        return bool(done)

    def refresh_runs(self) -> None:
        """Re-read the runs in the data root (off the GUI thread) into :attr:`runs`."""
        self._pool.start(core_runs.list_runs, on_done=self._on_runs_listed, tag="runs")

    def config(self) -> TrainConfig:
        """The TrainConfig the form describes (a copy)."""
        cfg = self.form_state.config
        return dataclasses.replace(cfg, extra=dict(cfg.extra))

    def set_config(self, cfg: TrainConfig) -> None:
        """Show ``cfg`` in the form (without re-applying a preset)."""
        self.form_state.config = dataclasses.replace(cfg, extra=dict(cfg.extra))
        self.form.show_state()

    def log(self, message: str, level: str = "info") -> None:
        self.run_log.log(message, level)

    # ------------------------------------------------------------------ run control
    def _show_run(self) -> None:
        self.buttons.show_state(self.run)
        self.progress_view.show_state(self.run)
        self.form.setEnabled(not self.run.busy)
        self.sample_grid.set_running(self.run.busy)
        self._queue_show_buttons()

    def _on_name_edited(self, text: str) -> None:
        if self.run.resume_name and text.strip() != self.run.resume_name:
            self.run.resume_name = ""
            self._show_run()

    def _on_family_changed(self, _i: int) -> None:
        if self._health_strip is not None and not self.is_training():
            self._health_strip.set_family(self.form_state.family)

    def checked_config(self):
        """The form's config if it can run (None after showing why not): Start and Add to queue."""
        cfg = self.config()
        try:
            if not (cfg.lr > 0):  # also catches text that is not a number (NaN)
                raise ValueError("the learning rate must be a positive number, e.g. 0.0002")
            if not cfg.data:
                raise ValueError("choose the pictures to learn from (a folder or a built-in set)")
            cfg.validate()
        except Exception as exc:
            self._show_error(gui_message(str(exc)))
            return None
        return cfg

    def _on_start(self) -> None:
        if self._queue_refuses_start() or self.is_training():
            return
        cfg = self.checked_config()
        if cfg is None:
            return
        resume = bool(self.run.resume_name)
        if resume:
            cfg.name = self.run.resume_name
        elif cfg.name and core_runs.run_exists(cfg.name):
            self._show_exists(cfg.name)
            return
        elif not cfg.name:
            from imgen_desktop.core.trainer import auto_name  # torch-free

            cfg.name = auto_name(cfg)  # named here, so remedies and Continue know the run
        if not resume:
            self.loss_plot.reset()
            self.sample_grid.clear()
            self.health_strip.set_family(cfg.family)
            self.health_strip.reset()
        self.sample_grid.run_name = cfg.name
        self.loss_plot.set_run_name(cfg.name)
        self.form_state.run_started()  # the next Start makes a new run unless a name is typed
        self.form.show_state()
        self.run.start(cfg.name, cfg.steps, resume)
        self._show_run()
        scale = f" ×{cfg.scale}" if vocab.task(cfg.task).has_scale else ""
        self.log(("Continuing run " if resume else "Starting run ") + f"“{cfg.name}”: {vocab.family(cfg.family).label} "
                 f"{vocab.task(cfg.task).label}{scale} on {cfg.data}, {cfg.steps:,} steps, device {cfg.device}")
        worker = TrainWorker(cfg, resume=resume, parent=self)
        self.connect_run_signals(worker)
        worker.sigFailed.connect(self._on_failed)
        self.worker = worker
        self.sigRunStarted.emit(cfg.to_dict())
        worker.start()

    def connect_run_signals(self, worker) -> None:
        """What every training worker (a single run or the queue's) feeds: plot, samples, log,
        health strip, checkpoints, the end of a run and of the thread."""
        worker.sigProgress.connect(self._on_progress)
        worker.sigMetrics.connect(self._on_metrics)
        worker.sigSamples.connect(self._on_samples)
        worker.sigLog.connect(self._on_worker_log)
        worker.sigHealth.connect(self._on_health)
        worker.sigCheckpoint.connect(self._on_checkpoint)
        worker.sigFinished.connect(self._on_finished)
        worker.finished.connect(self._on_thread_finished)

    def _on_pause_toggled(self) -> None:
        if self.worker is None:
            return
        if self.run.phase == "paused":
            self.worker.resume_training()
            self.run.resume()
            self.log("Resumed.")
        else:
            self.worker.pause()
            self.run.pause()
            self.log("Paused (the model stays loaded; press Resume to go on).")
        self._show_run()

    def _on_stop(self) -> None:
        if self.worker is None or self.run.phase == "stopping":
            return
        self.worker.stop()
        self.run.stop()
        self._show_run()
        self.log("Stopping: saving a checkpoint and the model so far…")

    def _on_sample_now(self) -> None:
        if self.worker is not None:
            self.worker.request_sample()

    # ------------------------------------------------------------------ worker signals
    def _on_progress(self, p: dict) -> None:
        self.run.on_progress(int(p.get("step", 0)), int(p.get("total", 0) or 1), float(p.get("elapsed_s", 0.0) or 0.0),
                             float(p.get("images_per_s", 0.0) or 0.0))
        self.progress_view.show_state(self.run)
        if self.run.phase == "running" and not self.pause_button.isEnabled():
            self._show_run()

    def _on_metrics(self, step: int, values: dict) -> None:
        self.loss_plot.add_point(step, values, self.run.elapsed_s)
        self.health_strip.on_metrics(step, values)
        self.sigMetrics.emit(step, values)

    def _on_samples(self, step: int, images: Any, kind: str, columns: int = 0) -> None:
        try:
            self.sample_grid.add_samples(step, np.asarray(images), kind, columns)
        except Exception as exc:
            self.log(f"could not show {kind}: {exc}", "warning")

    def _on_worker_log(self, message: str, level: str) -> None:
        self.log(gui_message(message) if level != "debug" else message, level)

    def _on_checkpoint(self, step: int, _path: str) -> None:
        self.log(f"Checkpoint saved at step {step:,}.")

    def _on_finished(self, result: dict) -> None:
        stopped = bool(result.get("stopped_early"))
        self.run.finished(int(result.get("step", self.run.step)), stopped)
        self._record_speed()
        name = result.get("model_name", "")
        where = "the Models tab" + (" and the Enhance tab" if vocab.task(self.worker.config.task).enhances else "") \
            if self.worker is not None else "the Models tab"
        self.log(f"{self.run.ended}." + (f" Model saved as “{name}” — find it on {where}." if name else ""))
        self._show_run()
        if name:
            self.sigModelSaved.emit(name)
        self.sigRunFinished.emit(self.run.run_name)

    def _record_speed(self) -> None:
        if self.worker is None or self.run.images_per_s <= 0:
            return
        cfg = self.worker.config
        device = cfg.device if cfg.device != "auto" else self.form.device_for_estimate()[0]
        try:
            core_runs.record_speed(cfg.family, cfg.task, device, cfg.image_size, cfg.width, self.run.images_per_s)
        except OSError as exc:
            self.log(f"could not remember the training speed: {exc}", "warning")
        self.form.reload_speeds()

    def _on_failed(self, message: str) -> None:
        self.run.failed()
        self._show_run()
        if "already exists" in message and self.worker is not None:
            self._show_exists(self.worker.config.name)
        else:
            self._show_error(gui_message(message))

    def _on_thread_finished(self) -> None:
        worker = self.sender() or self.worker
        if worker is self.worker:
            self.worker = None
            self.run.ended_thread()
            self._show_run()
            self.refresh_runs()
            self.sigRunEnded.emit()
            if self._pending_restart is not None:
                QTimer.singleShot(0, lambda cfg=self._pending_restart: self._restart_from_checkpoint(cfg))
        if worker is not None:
            worker.deleteLater()

    def _on_runs_listed(self, runs: Any, _tag: Any) -> None:
        self.runs = list(runs)
        self.compare.set_runs(self.runs)

    # ------------------------------------------------------------------ errors
    def _show_error(self, message: str, title: str = "Training problem") -> QMessageBox:
        self.log(message, "error")
        if self._error_box is not None:
            self._error_box.close()
        self._error_box = error_box(self, message, title)
        return self._error_box

    def _show_exists(self, name: str) -> QMessageBox:
        return name_taken_box(self, name)
