"""Compare models on one photo: pick 2-4 enhancement models, run them one after another (progress,
cancel), and see the original and every result side by side with synchronised zoom and pan, each
labelled with its model and the time it took; "Keep this one" makes a result the result.

:class:`CompareWorker` runs in a thread through ``core.enhance`` (the path Apply uses);
:class:`ModelComparePage` is the view (a page of the canvas's photo area).
"""
from __future__ import annotations

import time

from PySide6.QtCore import QSignalBlocker, Qt, QThread, Signal
from PySide6.QtWidgets import (
    QGridLayout, QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QPushButton, QVBoxLayout, QWidget,
)

from imgen_desktop.core.control import ControlToken
from imgen_desktop.core.enhance import EnhanceOptions, ModelChoice
from imgen_desktop.ui.compare_view import CompareView
from imgen_desktop.ui.enhance.jobs import _open_model, friendly_error
from imgen_desktop.ui.enhance.state import EnhanceState, fmt_seconds
from imgen_desktop.ui.enhance.widgets import ElidedLabel
from imgen_desktop.ui.qimages import photo_to_qimage
from imgen_desktop.ui.workers import is_cancel

MAX_MODELS = 4


class CompareWorker(QThread):
    sigStarted = Signal(int, int, str)  # index, count, model label
    sigProgress = Signal(int, int, int)  # index, tiles done, total
    sigDone = Signal(int, object, object, float)  # index, Photo, QImage, seconds of inference
    sigFailed = Signal(int, str)  # index, message (the others still run)
    sigCancelled = Signal()

    def __init__(self, photo, choices: list[ModelChoice], options: EnhanceOptions, parent=None) -> None:
        super().__init__(parent)
        self.photo, self.choices, self.options = photo, list(choices), options
        self.token = ControlToken()

    def cancel(self) -> None:
        self.token.cancel()

    def run(self) -> None:
        from imgen_desktop.core.enhance import enhance_photo

        n = len(self.choices)
        for i, choice in enumerate(self.choices):
            if self.token.cancelled:
                self.sigCancelled.emit()
                return
            self.sigStarted.emit(i, n, choice.label)
            try:
                model = _open_model(choice, self.options.device)
                started = time.monotonic()
                out = enhance_photo(self.photo, model, token=self.token,
                                    progress=lambda d, t, i=i: self.sigProgress.emit(i, int(d), int(t)),
                                    **self.options.run_kwargs(model))
                seconds = time.monotonic() - started
                self.sigDone.emit(i, out, photo_to_qimage(out), seconds)
            except BaseException as exc:  # noqa: BLE001 - one model failing does not stop the others
                if is_cancel(exc) or self.token.cancelled:
                    self.sigCancelled.emit()
                    return
                self.sigFailed.emit(i, friendly_error(exc))


class _Pane(QWidget):
    """One pane: the model's name, then its size and time with "Keep this one", then the view."""

    def __init__(self, index: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(2)
        self.label = ElidedLabel("", self)
        self.label.setObjectName(f"comparePaneLabel{index}")
        font = self.label.font()
        font.setBold(True)
        self.label.setFont(font)
        lay.addWidget(self.label)
        row = QHBoxLayout()
        self.detail = ElidedLabel("", self)
        self.detail.setObjectName(f"comparePaneDetail{index}")
        row.addWidget(self.detail, 1)
        self.keep_button = QPushButton("Keep this one", self)
        self.keep_button.setObjectName(f"keepButton{index}")
        self.keep_button.setToolTip("Use this result (Save writes it; you can blend it with the original)")
        row.addWidget(self.keep_button)
        lay.addLayout(row)
        self.view = CompareView(self)
        self.view.setObjectName(f"comparePane{index}")
        self.view.setMinimumSize(160, 120)
        lay.addWidget(self.view, 1)
        self.photo = None

    def set_text(self, name: str, detail: str) -> None:
        self.label.setText(name)
        self.detail.setText(detail)


class ModelComparePage(QWidget):
    """The side-by-side page; the canvas runs the worker and calls :meth:`set_result`."""

    sigRun = Signal(list)  # the ModelChoices to compare
    sigCancel = Signal()
    sigBack = Signal()
    sigKeep = Signal(int)  # index of the chosen model

    def __init__(self, state: EnhanceState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("modelComparePage")
        self.state = state
        self.choices: list[ModelChoice] = []
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        top = QHBoxLayout()
        self.back_button = QPushButton("← Back to the photo", self)
        self.back_button.setObjectName("compareBackButton")
        top.addWidget(self.back_button)
        self.title = QLabel("Compare models", self)
        font = self.title.font()
        font.setBold(True)
        self.title.setFont(font)
        top.addWidget(self.title)
        top.addStretch(1)
        self.progress = QLabel("", self)
        self.progress.setObjectName("compareProgress")
        top.addWidget(self.progress)
        self.run_button = QPushButton("Compare", self)
        self.run_button.setObjectName("compareRunButton")
        self.cancel_button = QPushButton("Cancel", self)
        self.cancel_button.setObjectName("compareCancelButton")
        self.cancel_button.hide()
        top.addWidget(self.run_button)
        top.addWidget(self.cancel_button)
        lay.addLayout(top)
        body = QHBoxLayout()
        side = QVBoxLayout()
        hint = QLabel(f"Tick 2 to {MAX_MODELS} models:", self)
        hint.setObjectName("compareHint")
        side.addWidget(hint)
        self.model_list = QListWidget(self)
        self.model_list.setObjectName("compareModelList")
        self.model_list.setMaximumWidth(190)
        self.model_list.setWordWrap(True)
        self.model_list.setToolTip("They run one after another on this photo (built-in, trained and imported models)")
        side.addWidget(self.model_list, 1)
        body.addLayout(side)
        self.grid = QGridLayout()
        self.grid.setSpacing(6)
        self.panes = [_Pane(i, self) for i in range(MAX_MODELS + 1)]
        for pane in self.panes:
            pane.view.sigViewChanged.connect(lambda p=pane: self._on_view_changed(p))
            pane.view.sigZoomChanged.connect(lambda _z, p=pane: self._on_view_changed(p))
        for i, pane in enumerate(self.panes[1:]):
            pane.keep_button.clicked.connect(lambda _=False, k=i: self.sigKeep.emit(k))
        keep = self.panes[0].keep_button  # the original has nothing to keep; its row keeps the height
        policy = keep.sizePolicy()
        policy.setRetainSizeWhenHidden(True)
        keep.setSizePolicy(policy)
        keep.hide()
        body.addLayout(self.grid, 1)
        lay.addLayout(body, 1)
        self._syncing = False
        self.back_button.clicked.connect(self.sigBack)
        self.run_button.clicked.connect(lambda: self.sigRun.emit(self.checked()))
        self.cancel_button.clicked.connect(self.sigCancel)
        self.model_list.itemChanged.connect(self._on_checks_changed)
        state.sigModelsChanged.connect(self.refresh_models)
        self.refresh_models()
        self._layout_panes(0)

    # --- the model list --------------------------------------------------------------------
    def refresh_models(self) -> None:
        checked = {c.spec for c in self.checked()}
        with QSignalBlocker(self.model_list):
            self.model_list.clear()
            for c in self.state.models:
                if c.needs_mask:
                    continue  # inpainting needs a painted area: compared on the photo page
                item = QListWidgetItem(c.label)
                item.setData(Qt.ItemDataRole.UserRole, c)
                item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
                item.setCheckState(Qt.CheckState.Checked if c.spec in checked else Qt.CheckState.Unchecked)
                self.model_list.addItem(item)
        self._on_checks_changed()

    def checked(self) -> list[ModelChoice]:
        out = []
        for i in range(self.model_list.count()):
            item = self.model_list.item(i)
            if item.checkState() == Qt.CheckState.Checked:
                out.append(item.data(Qt.ItemDataRole.UserRole))
        return out

    def set_checked(self, specs: list[str]) -> None:
        with QSignalBlocker(self.model_list):
            for i in range(self.model_list.count()):
                item = self.model_list.item(i)
                on = item.data(Qt.ItemDataRole.UserRole).spec in specs
                item.setCheckState(Qt.CheckState.Checked if on else Qt.CheckState.Unchecked)
        self._on_checks_changed()

    def _on_checks_changed(self, *_args) -> None:
        n = len(self.checked())
        full = n >= MAX_MODELS
        with QSignalBlocker(self.model_list):
            for i in range(self.model_list.count()):
                item = self.model_list.item(i)
                enabled = not full or item.checkState() == Qt.CheckState.Checked
                flags = item.flags()
                item.setFlags(flags | Qt.ItemFlag.ItemIsEnabled if enabled else flags & ~Qt.ItemFlag.ItemIsEnabled)
        busy = bool(self.state.busy)
        self.run_button.setEnabled(2 <= n <= MAX_MODELS and not busy and self.state.photo is not None)
        self.run_button.setText(f"Compare {n} models" if n >= 2 else "Compare")

    # --- panes -----------------------------------------------------------------------------------
    def _layout_panes(self, n_models: int) -> None:
        for pane in self.panes:
            self.grid.removeWidget(pane)
            pane.hide()
        shown = self.panes[: 1 + max(1, n_models)]
        cols = 2 if len(shown) in (2, 4) else 3 if len(shown) in (3, 5, 6) else 1
        for k, pane in enumerate(shown):
            self.grid.addWidget(pane, k // cols, k % cols)
            pane.show()

    def first_shown(self, state: EnhanceState) -> None:
        """Opened for a photo: the original shows at once; results of another photo go."""
        if self.panes[0].view.before_image() is not state.photo_image:
            self.choices = []
            self._layout_panes(0)
            self.panes[0].set_text("Original", f"{state.photo.width} × {state.photo.height}")
            self.panes[0].view.set_images(state.photo_image, None)
            self.panes[0].view.set_mode("before")
            self.panes[1].set_text("No result yet", "Tick models on the left, then Compare")
            self.panes[1].keep_button.setEnabled(False)
            self.panes[1].view.set_images(None, None)
            self.panes[1].view.set_placeholder("The results appear here, one after another.")
            self.progress.setText("")
        self._on_checks_changed()

    def start(self, choices: list[ModelChoice]) -> None:
        """A comparison starts: the original in the first pane, one waiting pane per model."""
        s = self.state
        self.choices = list(choices)
        self._layout_panes(len(choices))
        first = self.panes[0]
        first.set_text("Original", f"{s.photo.width} × {s.photo.height}" if s.photo is not None else "")
        first.view.set_images(s.photo_image, None)
        first.view.set_mode("before")
        for i, c in enumerate(choices):
            pane = self.panes[i + 1]
            pane.photo = None
            pane.set_text(c.label, "waiting")
            pane.view.set_images(None, None)
            pane.view.set_placeholder("Waiting…")
            pane.keep_button.setEnabled(False)
        self.set_running(True)

    def set_running(self, running: bool) -> None:
        self.run_button.setVisible(not running)
        self.cancel_button.setVisible(running)
        self.cancel_button.setEnabled(running)
        self.model_list.setEnabled(not running)
        self.back_button.setEnabled(not running)
        self._on_checks_changed()

    def set_started(self, i: int, n: int, label: str) -> None:
        self.progress.setText(f"Model {i + 1} of {n}: {label}…")
        self.panes[i + 1].set_text(label, "running…")
        self.panes[i + 1].view.set_placeholder("Running…")

    def set_tiles(self, i: int, done: int, total: int) -> None:
        n = len(self.choices)
        self.progress.setText(f"Model {i + 1} of {n} · tile {min(done + 1, total)} of {total}")

    def set_result(self, i: int, photo, image, seconds: float) -> None:
        pane, c = self.panes[i + 1], self.choices[i]
        pane.photo = photo
        pane.set_text(c.label, f"{photo.width} × {photo.height} · {fmt_seconds(seconds)}")
        pane.label.setToolTip(f"{c.label}\n{photo.width} × {photo.height} px, enhanced in {seconds:.2f} s on this computer")
        pane.view.set_placeholder("")
        pane.view.set_images(image, None)
        pane.view.set_mode("before")
        pane.keep_button.setEnabled(True)
        self._on_view_changed(self.panes[0])  # line it up with the others

    def set_failed(self, i: int, message: str) -> None:
        pane = self.panes[i + 1]
        pane.set_text(self.choices[i].label, "failed")
        pane.view.set_placeholder(message)

    def finish(self, text: str) -> None:
        self.progress.setText(text)
        self.set_running(False)

    def pane_photo(self, i: int):
        return self.panes[i + 1].photo

    def pane_label(self, i: int) -> str:
        pane = self.panes[i + 1]
        return f"{pane.label.full_text()} · {pane.detail.full_text()}"

    def _on_view_changed(self, source: _Pane) -> None:
        if self._syncing or not source.view.has_image():
            return
        self._syncing = True
        try:
            rect = source.view.image_rect()
            for pane in self.panes:
                if pane is not source and pane.isVisible() and pane.view.has_image():
                    pane.view.set_image_rect(rect)
        finally:
            self._syncing = False
