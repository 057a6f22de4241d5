"""The runs dialog: earlier runs (from ``core.runs``) with the step they reached, to continue one."""
from __future__ import annotations

import time
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView, QDialog, QDialogButtonBox, QLabel, QPushButton, QTreeWidget, QTreeWidgetItem, QVBoxLayout,
    QWidget,
)

from imgen_desktop.core import runs as core_runs
from imgen_desktop.core import tasks as vocab
from imgen_desktop.core.runs import RunSummary, metric_label
from imgen_desktop.ui.train.compare import read_grids
from imgen_desktop.ui.train.state import gui_message

COLUMNS = ("Run", "Model", "Steps reached / planned", "Pictures", "Last loss", "Updated")


def run_row(run: RunSummary) -> list[str]:
    family = vocab.FAMILIES_BY_NAME.get(run.family)
    what = f"{family.label if family else run.family.upper()} {vocab.task_title(run.task, run.scale)}".strip()
    steps = f"{run.steps_reached:,} / {run.steps_planned:,}" if run.steps_planned else f"{run.steps_reached:,}"
    if run.finished:
        steps += " (finished)"
    loss = ", ".join(f"{metric_label(k)} {v:.3g}" for k, v in list(run.final_losses.items())[:2])
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(run.updated)) if run.updated else ""
    return [run.name, what, steps, run.dataset, loss, when]


class RunsDialog(QDialog):
    """Pick a run; ``chosen()`` is its name after ``exec()`` returned Accepted."""

    def __init__(self, runs: list[RunSummary], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("resumeRunDialog")
        self.setWindowTitle("Continue an earlier run")
        v = QVBoxLayout(self)
        v.addWidget(QLabel("Pick a run and press <b>Load run</b>: its settings and curves are loaded. "
                           "Then press <b>▶ Continue</b> under the settings to train on from its last checkpoint "
                           "(raise Steps first to train past the planned end).", self, wordWrap=True))
        self.tree = QTreeWidget(self)
        self.tree.setObjectName("runList")
        self.tree.setColumnCount(len(COLUMNS))
        self.tree.setHeaderLabels(list(COLUMNS))
        self.tree.setRootIsDecorated(False)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.runs = list(runs)
        for run in self.runs:
            item = QTreeWidgetItem(run_row(run))
            item.setData(0, Qt.ItemDataRole.UserRole, run.name)
            if not run.resumable:
                item.setDisabled(True)
                item.setToolTip(0, run.problem or "no checkpoint to continue from")
            self.tree.addTopLevelItem(item)
        for i in range(len(COLUMNS)):
            self.tree.resizeColumnToContents(i)
        first = next((i for i, r in enumerate(self.runs) if r.resumable), None)
        if first is not None:
            self.tree.setCurrentItem(self.tree.topLevelItem(first))
        v.addWidget(self.tree, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel, self)
        self.load_button = QPushButton("Load run", self)
        self.load_button.setObjectName("loadRunButton")
        self.load_button.setDefault(True)
        self.load_button.setEnabled(first is not None)
        buttons.addButton(self.load_button, QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        self.tree.itemDoubleClicked.connect(lambda item, _c: item.isDisabled() or self.accept())
        self.tree.currentItemChanged.connect(lambda item, _p: self.load_button.setEnabled(item is not None and not item.isDisabled()))
        v.addWidget(buttons)
        self.resize(820, 360)

    def chosen(self) -> str | None:
        item = self.tree.currentItem()
        return None if item is None or item.isDisabled() else item.data(0, Qt.ItemDataRole.UserRole)


class ResumeMixin:
    """The Train panel's "Continue a run…": pick a run, load its settings, curves and sample grids."""

    def _on_resume_run(self) -> None:
        self.runs = core_runs.list_runs()
        if not self.runs:
            self._show_error("There is no earlier run to continue yet: start one first.", title="Nothing to continue")
            return
        dlg = RunsDialog(self.runs, self)
        if dlg.exec() == RunsDialog.DialogCode.Accepted and dlg.chosen():
            self.prepare_resume(dlg.chosen())

    def prepare_resume(self, name: str) -> None:
        """Load run ``name``'s settings and curves; the next Start continues it."""
        from imgen_desktop.core.errors import ImgenError
        from imgen_desktop.core.trainer import load_run_config

        try:
            cfg = load_run_config(name)
        except ImgenError as exc:
            self._show_error(gui_message(str(exc)))
            return
        summary = core_runs.read_run(name)
        cfg.name = name
        self.set_config(cfg)
        self.run.resume_name = name
        self.run.run_name, self.run.step, self.run.total = name, summary.steps_reached, cfg.steps
        self.run.ended = f"Loaded at step {summary.steps_reached:,} of {cfg.steps:,}"
        self._show_run()
        self.loss_plot.reset()
        self.sample_grid.clear()
        self.health_strip.set_family(cfg.family)
        self.health_strip.reset()
        self.log(f"Loaded run “{name}” (step {summary.steps_reached:,} of {cfg.steps:,}): press ▶ Continue to train on "
                 "from its last checkpoint.")
        self.sample_grid.run_name = name
        self.loss_plot.set_run_name(name)
        self._pool.start(core_runs.load_curves, name, on_done=self._on_history_loaded,
                         on_error=lambda m, _t: self.log(f"could not read the curves: {m}", "warning"), tag=name)
        self._pool.start(read_grids, name, on_done=self._on_grids_loaded, tag=name)

    def _on_grids_loaded(self, grids: Any, tag: Any) -> None:
        if self.run.run_name == tag and not self.is_training():
            self.sample_grid.set_history(list(grids))

    def _on_history_loaded(self, records: Any, tag: Any) -> None:
        if self.worker is not None and self.worker.config.name != tag:
            return
        self.loss_plot.load_history(list(records))
        self.health_strip.load_history(list(records))
        if records:
            self.log(f"Reloaded {len(records)} curve points up to step {int(records[-1].get('step', 0)):,}.")
