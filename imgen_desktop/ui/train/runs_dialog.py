"""The runs dialog: earlier runs (from ``core.runs``) with the step they reached, to continue one."""
from __future__ import annotations

import time

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView, QDialog, QDialogButtonBox, QLabel, QPushButton, QTreeWidget, QTreeWidgetItem, QVBoxLayout,
    QWidget,
)

from imgen_desktop.core import tasks as vocab
from imgen_desktop.core.runs import RunSummary, metric_label

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
