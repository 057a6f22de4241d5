"""The Models area (``modelsPanel``): the user's model store as a table, and a Generate view.

Reading model headers imports torch (safetensors' torch binding), so listing runs in a worker
thread; the folder is watched so models that appear (a finished training, a CLI import) show
up by themselves.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import QFileSystemWatcher, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QBrush, QColor, QDesktopServices
from PySide6.QtWidgets import (
    QAbstractItemView, QFileDialog, QHBoxLayout, QHeaderView, QInputDialog, QLabel, QMessageBox, QPushButton,
    QSplitter, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget,
)

from imgen_desktop.core.config import ENHANCE_TASKS
from imgen_desktop.ui.generate_view import GenerateView
from imgen_desktop.ui.settings import last_folder, remember_folder
from imgen_desktop.ui.workers import WorkerPool

COLUMNS = ("Name", "Family", "Task", "Created", "Size", "Steps")


def _fmt_size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"


def _list_store(root: str) -> list:
    from imgen_desktop.core.store import ModelStore

    return ModelStore(root).list()


class ModelsPanel(QWidget):
    sigModelsChanged = Signal()
    sigUseModel = Signal(str)  # apply this enhancement model on the canvas

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("modelsPanel")
        from imgen_desktop.core.paths import models_dir

        self.root = models_dir()
        self.infos: list = []
        self._pool = WorkerPool(self)
        self._seq = 0
        self._loaded_once = False
        self._build()
        self.watcher = QFileSystemWatcher([str(self.root)], self)
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(300)
        self._debounce.timeout.connect(self.refresh)
        self.watcher.directoryChanged.connect(lambda _p: self._debounce.start())
        QTimer.singleShot(0, self.refresh)

    def _build(self) -> None:
        outer = QHBoxLayout(self)
        outer.setContentsMargins(6, 6, 6, 6)
        splitter = QSplitter(Qt.Orientation.Horizontal, self)
        outer.addWidget(splitter)
        left = QWidget(splitter)
        v = QVBoxLayout(left)
        v.setContentsMargins(0, 0, 0, 0)
        bar = QHBoxLayout()
        self.buttons: dict[str, QPushButton] = {}
        for key, text, tip, slot in (
            ("use", "Use on canvas", "Open the Enhance tab with this model selected", self._on_use),
            ("rename", "Rename…", "Give the model another name", self._on_rename),
            ("delete", "Delete…", "Delete the model file (asks first)", self._on_delete),
            ("reveal", "Show in folder", "Open the models folder in the file manager", self._on_reveal),
            ("import", "Import…", "Add a .safetensors model made by Imgen Desktop", self._on_import),
            ("export", "Export…", "Save a copy as .safetensors, or convert it to ONNX", self._on_export),
        ):
            b = QPushButton(text, left)
            b.setObjectName(f"model{key.capitalize()}Button")
            b.setToolTip(tip)
            b.clicked.connect(slot)
            bar.addWidget(b)
            self.buttons[key] = b
        bar.addStretch(1)
        v.addLayout(bar)
        self.table = QTableWidget(0, len(COLUMNS), left)
        self.table.setObjectName("modelsTable")
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.setSortingEnabled(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for i in range(1, len(COLUMNS)):
            header.setSectionResizeMode(i, QHeaderView.ResizeMode.ResizeToContents)
        self.table.itemSelectionChanged.connect(self._on_selection_changed)
        self.table.cellDoubleClicked.connect(lambda r, c: self._on_rename() if c == 0 else None)
        v.addWidget(self.table, 1)
        self.info = QLabel("", left)
        self.info.setObjectName("modelsInfo")
        self.info.setWordWrap(True)
        self.info.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        v.addWidget(self.info)
        self.generate_view = GenerateView(splitter)
        splitter.addWidget(left)
        splitter.addWidget(self.generate_view)
        splitter.setSizes([620, 520])
        self._update_buttons()

    # --- listing --------------------------------------------------------------------------
    def refresh(self) -> None:
        """Re-read the store (in a worker thread); the table updates when it answers."""
        self._seq += 1
        self._pool.start(_list_store, str(self.root), on_done=self._on_listed, on_error=self._on_list_failed, tag=self._seq)

    def refresh_now(self) -> None:
        """Re-read the store on this thread (for callers that need the table current at once)."""
        self._seq += 1
        self._on_listed(_list_store(str(self.root)), self._seq)

    def _on_listed(self, infos: Any, tag: Any) -> None:
        if tag != self._seq:
            return
        selected = self.selected_name()
        old = [(i.name, i.size_bytes, i.error) for i in self.infos]
        self.infos = list(infos)
        self.table.setRowCount(len(self.infos))
        for row, info in enumerate(self.infos):
            self._fill_row(row, info)
        self.table.resizeRowsToContents()
        names = [i.name for i in self.infos]
        if selected in names:
            self.table.selectRow(names.index(selected))
        ok = sum(1 for i in self.infos if i.ok)
        bad = len(self.infos) - ok
        self.info.setText(f"{ok} model{'s' if ok != 1 else ''} in {self.root}" + (f" · {bad} unreadable" if bad else "")
                          if self.infos else f"No models yet in {self.root}. Train one on the Train tab, or import one.")
        self._update_buttons()
        changed = old != [(i.name, i.size_bytes, i.error) for i in self.infos]
        if changed and self._loaded_once:
            self.sigModelsChanged.emit()
        self._loaded_once = True
        if not self.watcher.directories():  # the folder was re-created
            self.watcher.addPath(str(self.root))

    def _on_list_failed(self, message: str, tag: Any) -> None:
        if tag == self._seq:
            self.info.setText(f"<span style='color:#e05050'>Could not list the models: {message}</span>")

    def _fill_row(self, row: int, info: Any) -> None:
        name_item = QTableWidgetItem(info.name)
        name_item.setData(Qt.ItemDataRole.UserRole, info.name)
        name_item.setToolTip(str(info.path))
        self.table.setItem(row, 0, name_item)
        if not info.ok:
            # the error goes in the (stretching) name column so it does not widen the others
            name_item.setText(f"{info.name} — unreadable: {info.error}")
            name_item.setForeground(QBrush(QColor("#e05050")))
            name_item.setToolTip(f"{info.path}\n{info.error}")
            for col in range(1, len(COLUMNS)):
                self.table.setItem(row, col, QTableWidgetItem(""))
            self.table.item(row, 4).setText(_fmt_size(info.size_bytes))
            return
        task = info.task + (f" ×{info.scale}" if info.task == "upscale" else "")
        created = time.strftime("%Y-%m-%d %H:%M", time.localtime(info.created)) if info.created else "?"
        values = (str(info.family).upper(), task, created, _fmt_size(info.size_bytes), f"{info.steps:,}")
        for col, text in enumerate(values, start=1):
            item = QTableWidgetItem(text)
            if col >= 4:
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.table.setItem(row, col, item)

    # --- selection ----------------------------------------------------------------------
    def selected_name(self) -> str | None:
        rows = self.table.selectionModel().selectedRows() if self.table.selectionModel() else []
        if not rows:
            return None
        item = self.table.item(rows[0].row(), 0)
        return item.data(Qt.ItemDataRole.UserRole) if item else None

    def selected_info(self):
        name = self.selected_name()
        return next((i for i in self.infos if i.name == name), None)

    def select(self, name: str) -> bool:
        for row, info in enumerate(self.infos):
            if info.name == name:
                self.table.selectRow(row)
                return True
        return False

    def _on_selection_changed(self) -> None:
        self._update_buttons()
        info = self.selected_info()
        if info is not None and info.ok and info.task == "generate":
            if self.generate_view._model_name != info.name:
                self.generate_view.set_model(info.name, str(info.path))
        elif info is not None and info.ok:
            self.generate_view.set_model(None)
            self.generate_view.status.setText(f"“{info.name}” is an enhancement model: use it on the Enhance tab.")
        else:
            self.generate_view.set_model(None)
        if info is not None and info.ok:
            meta = info.meta
            self.info.setText(f"<b>{info.name}</b>: {info.describe().split(' — ', 1)[-1]}, dataset {meta.get('dataset', '?')}, "
                              f"architecture {meta.get('arch', '?')}")
        elif info is not None:
            self.info.setText(f"<span style='color:#e05050'>{info.name}: {info.error}</span>")

    def _update_buttons(self) -> None:
        info = self.selected_info()
        has = info is not None
        self.buttons["rename"].setEnabled(has)
        self.buttons["delete"].setEnabled(has)
        self.buttons["export"].setEnabled(has and info.ok)
        self.buttons["use"].setEnabled(has and info.ok and info.task in ENHANCE_TASKS)

    # --- actions --------------------------------------------------------------------------
    def _store(self):
        from imgen_desktop.core.store import ModelStore

        return ModelStore(self.root)

    def rename_model(self, old: str, new: str) -> None:
        """Rename in the store (raises ModelError with a clear message)."""
        from imgen_desktop.core.store import SUFFIX, validate_name

        new = validate_name(new)
        src, dst = self.root / f"{old}{SUFFIX}", self.root / f"{new}{SUFFIX}"
        if not src.is_file():
            from imgen_desktop.core.errors import ModelError

            raise ModelError(f"no model named {old!r}")
        if dst.exists():
            from imgen_desktop.core.errors import ModelError

            raise ModelError(f"a model named {new!r} already exists")
        src.rename(dst)  # also works for unreadable files, so they can be renamed aside
        self.refresh_now()
        self.select(new)

    def delete_model(self, name: str) -> None:
        path = self.root / f"{name}.safetensors"
        if path.is_file():
            path.unlink()
        self.refresh_now()

    def _on_rename(self) -> None:
        name = self.selected_name()
        if not name:
            return
        new, ok = QInputDialog.getText(self, "Rename model", f"New name for “{name}”:", text=name)
        if not ok or not new.strip() or new.strip() == name:
            return
        try:
            self.rename_model(name, new.strip())
        except Exception as exc:
            self._error(str(exc))

    def _on_delete(self) -> None:
        name = self.selected_name()
        if not name:
            return
        answer = QMessageBox.question(self, "Delete model", f"Delete the model “{name}”? This cannot be undone.",
                                      QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                                      QMessageBox.StandardButton.No)
        if answer != QMessageBox.StandardButton.Yes:
            return
        if self.generate_view._model_name == name:
            self.generate_view.set_model(None)
        try:
            self.delete_model(name)
        except OSError as exc:
            self._error(f"could not delete {name}: {exc}")

    def _on_reveal(self) -> None:
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.root)))

    def _on_import(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Import a model", last_folder("models", str(Path.home())),
                                              "Imgen Desktop models (*.safetensors)")
        if not path:
            return
        remember_folder("models", str(Path(path).parent))
        try:
            info = self._store().import_file(path)
        except Exception as exc:
            self._error(str(exc))
            return
        self.refresh_now()
        self.select(info.name)

    def _on_export(self) -> None:
        info = self.selected_info()
        if info is None or not info.ok:
            return
        start = str(Path(last_folder("export", str(Path.home()))) / f"{info.name}.safetensors")
        out, _ = QFileDialog.getSaveFileName(self, "Export model", start, "safetensors (*.safetensors);;ONNX (*.onnx)")
        if not out:
            return
        remember_folder("export", str(Path(out).parent))
        self.info.setText(f"exporting {info.name} to {out}…")
        root = str(self.root)

        def export(name=info.name, out=out):
            from imgen_desktop.core.store import ModelStore

            return str(ModelStore(root).export(name, out))
        self._pool.start(export, on_done=lambda p, _t: self.info.setText(f"exported to {p}"),
                         on_error=lambda m, _t: self._error(m))

    def _on_use(self) -> None:
        info = self.selected_info()
        if info is not None and info.ok and info.task in ENHANCE_TASKS:
            self.sigUseModel.emit(info.name)

    def _error(self, message: str) -> None:
        self.info.setText(f"<span style='color:#e05050'>{message}</span>")
        box = QMessageBox(QMessageBox.Icon.Warning, "Models", message, QMessageBox.StandardButton.Ok, self)
        box.setObjectName("modelsErrorBox")
        box.setWindowModality(Qt.WindowModality.NonModal)
        box.show()
        self._error_box = box

    def shutdown(self, timeout_ms: int = 5000) -> None:
        self._pool.wait_all(timeout_ms)
        self.generate_view.shutdown(timeout_ms)
