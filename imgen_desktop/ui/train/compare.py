"""Compare runs: a list of past runs (from ``core.runs``) to tick; each ticked run's loss curves
are read off the GUI thread and overlaid on the loss plot (one colour per run), and its sample
grids are offered to the sample timeline for side-by-side viewing at the same step."""
from __future__ import annotations

import time
from typing import Any, Callable

from PySide6.QtCore import QSignalBlocker, Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QAbstractItemView, QHBoxLayout, QLabel, QPushButton, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget

from imgen_desktop.core import runs as core_runs
from imgen_desktop.core import tasks as vocab
from imgen_desktop.ui.theme import theme_notifier
from imgen_desktop.ui.workers import WorkerPool

COLUMNS = ("Run", "Model", "Pictures", "Steps", "Final losses", "Date")


def compare_row(run: core_runs.RunSummary) -> list[str]:
    family = vocab.FAMILIES_BY_NAME.get(run.family)
    model = f"{family.label if family else run.family.upper()} {vocab.task_title(run.task, run.scale)}".strip()
    steps = f"{run.steps_reached:,}" + (f" / {run.steps_planned:,}" if run.steps_planned else "")
    losses = ", ".join(f"{core_runs.metric_label(k)} {v:.3g}" for k, v in run.final_losses.items())
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(run.updated)) if run.updated else ""
    return [run.name, model, run.dataset, steps, losses, when]


def read_loss_curves(name: str) -> dict[str, tuple]:
    """A run's loss curves (``loss.*`` and the validation curves) as plain numpy (steps, times,
    values) (runs in a worker thread)."""
    curves = core_runs.read_curves(name)
    return {k: (c.steps, c.times, c.values) for k, c in curves.items() if core_runs.is_loss_curve(k)}


def read_grids(name: str) -> list[tuple[int, str, str]]:
    return [(g.step, g.kind, g.path) for g in core_runs.sample_grids(name)]


class CompareRuns(QWidget):
    """The ``compareRuns`` view: tick runs in ``compareRunList`` to overlay them on ``plot()``."""

    sigComparedChanged = Signal()  # the ticked runs, or their sample grids, changed
    sigError = Signal(str)

    def __init__(self, plot: Callable[[], Any], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("compareRuns")
        self._plot = plot
        self._pool = WorkerPool(self)
        self._slots: dict[str, int] = {}  # run -> its colour slot, for as long as it is ticked
        self.grids: dict[str, list[tuple[int, str, str]]] = {}  # ticked run -> its saved sample grids
        self._loading: set[str] = set()
        v = QVBoxLayout(self)
        v.setContentsMargins(0, 0, 0, 0)
        top = QHBoxLayout()
        self.hint = QLabel("Tick runs to overlay their loss curves on the plot and see their samples side by side.", self)
        self.hint.setWordWrap(True)
        top.addWidget(self.hint, 1)
        self.refresh_button = QPushButton("Refresh", self)
        self.refresh_button.setObjectName("compareRefreshButton")
        self.refresh_button.setToolTip("Read the list of runs in the data folder again")
        top.addWidget(self.refresh_button)
        v.addLayout(top)
        self.tree = QTreeWidget(self)
        self.tree.setObjectName("compareRunList")
        self.tree.setColumnCount(len(COLUMNS))
        self.tree.setHeaderLabels(list(COLUMNS))
        self.tree.setRootIsDecorated(False)
        self.tree.setUniformRowHeights(True)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.tree.itemChanged.connect(self._on_item_changed)
        v.addWidget(self.tree, 1)
        theme_notifier().sigThemeChanged.connect(self._on_theme_changed)

    # --- the list -------------------------------------------------------------------------------
    def set_runs(self, runs: list[core_runs.RunSummary]) -> None:
        """Show ``runs`` (ticks of runs still listed are kept)."""
        ticked = set(self.checked())
        with QSignalBlocker(self.tree):
            self.tree.clear()
            for run in runs:
                item = QTreeWidgetItem(compare_row(run))
                item.setData(0, Qt.ItemDataRole.UserRole, run.name)
                item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
                item.setCheckState(0, Qt.CheckState.Checked if run.name in ticked else Qt.CheckState.Unchecked)
                item.setToolTip(0, run.problem or f"{run.name}: tick to compare")
                item.setToolTip(4, compare_row(run)[4])
                self.tree.addTopLevelItem(item)
            for i in range(len(COLUMNS)):
                self.tree.resizeColumnToContents(i)
        self.hint.setText("Tick runs to overlay their loss curves on the plot and see their samples side by side."
                          if runs else "No runs yet: the runs you train appear here, to compare their curves and samples.")
        listed = {r.name for r in runs}
        for name in ticked - listed:
            self._untick(name)
        self._restyle()

    def run_names(self) -> list[str]:
        return [self.tree.topLevelItem(i).data(0, Qt.ItemDataRole.UserRole) for i in range(self.tree.topLevelItemCount())]

    def checked(self) -> list[str]:
        out = []
        for i in range(self.tree.topLevelItemCount()):
            item = self.tree.topLevelItem(i)
            if item.checkState(0) == Qt.CheckState.Checked:
                out.append(item.data(0, Qt.ItemDataRole.UserRole))
        return out

    def set_checked(self, name: str, on: bool = True) -> bool:
        """Tick (or untick) run ``name`` as the user would; False if it is not listed."""
        for i in range(self.tree.topLevelItemCount()):
            item = self.tree.topLevelItem(i)
            if item.data(0, Qt.ItemDataRole.UserRole) == name:
                item.setCheckState(0, Qt.CheckState.Checked if on else Qt.CheckState.Unchecked)
                return True
        return False

    def is_loading(self) -> bool:
        return bool(self._loading)

    # --- ticking ------------------------------------------------------------------------------------
    def _on_item_changed(self, item: QTreeWidgetItem, column: int) -> None:
        if column != 0:
            return
        name = item.data(0, Qt.ItemDataRole.UserRole)
        if item.checkState(0) == Qt.CheckState.Checked:
            if name not in self._slots:
                self._tick(name)
        else:
            self._untick(name)

    def _tick(self, name: str) -> None:
        used = set(self._slots.values())
        self._slots[name] = next(i for i in range(1, 1000) if i not in used)
        self._loading.add(name)
        self._pool.start(read_loss_curves, name, on_done=self._on_curves_read, on_error=self._on_read_failed,
                         tag=name, context=f"Could not read the curves of “{name}”")
        self._pool.start(read_grids, name, on_done=self._on_grids_read, tag=name)

    def _untick(self, name: str) -> None:
        self._slots.pop(name, None)
        self._loading.discard(name)
        self.grids.pop(name, None)
        self._plot().remove_overlay(name)
        self._restyle()
        self.sigComparedChanged.emit()

    def _on_curves_read(self, curves: Any, name: Any) -> None:
        self._loading.discard(name)
        if name not in self._slots:  # unticked meanwhile
            return
        self._plot().set_overlay(name, curves, self._slots[name])
        self._restyle()

    def _on_read_failed(self, message: str, name: Any) -> None:
        self._loading.discard(name)
        self.set_checked(name, False)
        self.sigError.emit(message)

    def _on_grids_read(self, grids: Any, name: Any) -> None:
        if name in self._slots:
            self.grids[name] = list(grids)
            order = sorted(self.grids, key=lambda n: self._slots.get(n, 0))  # side by side in the order ticked
            self.grids = {n: self.grids[n] for n in order}
            self.sigComparedChanged.emit()

    def _on_theme_changed(self, _theme: str) -> None:
        self._restyle()

    def _restyle(self) -> None:
        """A ticked run's name in its curve colour (the list doubles as the colour key)."""
        from imgen_desktop.ui.loss_series import run_colour  # imports pyqtgraph: not at start-up

        with QSignalBlocker(self.tree):
            for i in range(self.tree.topLevelItemCount()):
                item = self.tree.topLevelItem(i)
                slot = self._slots.get(item.data(0, Qt.ItemDataRole.UserRole))
                item.setForeground(0, QColor(run_colour(slot)) if slot is not None else self.palette().text())

    def shutdown(self, timeout_ms: int = 5000) -> None:
        self._pool.wait_all(timeout_ms)
