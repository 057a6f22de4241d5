"""The Models area (``modelsPanel``): the user's models and the built-in ones as a table, and a
Generate view. Every change goes through core's ModelStore (the CLI's ``imgen models`` code).

Listing reads every file's header, so it runs in a worker thread; the folder is watched so
models that appear (a finished training, a CLI import) show up by themselves.
"""
from __future__ import annotations

import html
import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import QFileSystemWatcher, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QBrush, QColor, QDesktopServices, QGuiApplication
from PySide6.QtWidgets import (
    QAbstractItemView, QFileDialog, QHBoxLayout, QHeaderView, QLabel, QMessageBox, QPushButton,
    QSplitter, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget,
)

from imgen_desktop.core.tasks import ENHANCE_TASKS, task_title
from imgen_desktop.ui.generate_view import GenerateView
from imgen_desktop.ui.model_import import ModelImporter, details_text, steps_text
from imgen_desktop.ui.model_name_dialog import ModelNameDialog
from imgen_desktop.ui.settings import last_folder, remember_folder
from imgen_desktop.ui.theme import colors, coloured, theme_notifier
from imgen_desktop.ui.workers import WorkerPool, error_text

COLUMNS = ("Name", "Family", "Task", "Created", "Size", "Steps")


def _fmt_size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"


def _list_store(root: str) -> tuple[list, list]:
    """(the store's models, the built-in models present in this installation)."""
    from imgen_desktop.core.enhance import ALL_BUILTIN_NAMES, BUILTIN_PREFIX, builtin_path
    from imgen_desktop.core.errors import ModelError
    from imgen_desktop.core.store import ModelInfo, ModelStore, read_meta

    builtins = []
    for name in ALL_BUILTIN_NAMES:
        path = builtin_path(name)
        try:
            builtins.append(ModelInfo(BUILTIN_PREFIX + name, path, {**read_meta(path), "builtin": True},
                                      path.stat().st_size))
        except (ModelError, OSError):
            continue  # not shipped in this installation
    return ModelStore(root).list(), builtins


class ModelsPanel(QWidget):
    sigModelsChanged = Signal()
    sigUseModel = Signal(str)  # apply this enhancement model on the canvas

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("modelsPanel")
        from imgen_desktop.core.paths import models_dir

        self.root = models_dir()
        self.infos: list = []  # the store's models (ModelInfo)
        self.builtin_infos: list = []  # the built-in models, named builtin:NAME
        self._message = ("", "")  # the info line: (text, colour role or "" for plain rich text)
        self._pool = WorkerPool(self)
        self._seq = 0
        self._loaded_once = False
        self.importer = ModelImporter(self.root, self.ask_name, self)
        self.importer.sigStarted.connect(self._on_import_started)
        self.importer.sigImported.connect(self._on_imported)
        self.importer.sigFailed.connect(self._on_import_failed)
        self._build()
        self.watcher = QFileSystemWatcher([str(self.root)], self)
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(300)
        self._debounce.timeout.connect(self.refresh)
        self.watcher.directoryChanged.connect(lambda _p: self._debounce.start())
        theme_notifier().sigThemeChanged.connect(self._on_theme_changed)
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
            ("reveal", "Show in folder", "Open the folder that holds the model in the file manager", self._on_reveal),
            ("import", "Import…", "Add a model made by Imgen Desktop, or a community model (.pth, .pt, .ckpt or "
             ".safetensors of ESRGAN, SwinIR, SCUNet, LaMa, …)", self._on_import),
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
        self.table.cellDoubleClicked.connect(self._on_cell_double_clicked)
        v.addWidget(self.table, 1)
        self.info = QLabel("", left)
        self.info.setObjectName("modelsInfo")
        self.info.setWordWrap(True)
        self.info.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.info.setTextFormat(Qt.TextFormat.RichText)
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

    def rows(self) -> list:
        """The ModelInfo of each table row, in order: the user's models, then the built-ins."""
        return self.infos + self.builtin_infos

    def _on_listed(self, listing: Any, tag: Any) -> None:
        if tag != self._seq:
            return
        selected = self.selected_name()
        old = [(i.name, i.size_bytes, i.error) for i in self.infos]
        self.infos, self.builtin_infos = list(listing[0]), list(listing[1])
        rows = self.rows()
        self.table.setRowCount(len(rows))
        for row, info in enumerate(rows):
            self._fill_row(row, info)
        self.table.resizeRowsToContents()
        if selected is not None:
            self.select(selected)
        ok = sum(1 for i in self.infos if i.ok)
        bad = len(self.infos) - ok
        builtins = f" · {len(self.builtin_infos)} built-in" if self.builtin_infos else ""
        if self.infos:
            self._say(f"{ok} model{'s' if ok != 1 else ''} of yours in {self.root}{builtins}"
                      + (f" · {bad} unreadable" if bad else ""))
        else:
            self._say(f"No models of yours yet in {self.root}{builtins}. Train one on the Train tab, or import one.")
        self._on_selection_changed()
        changed = old != [(i.name, i.size_bytes, i.error) for i in self.infos]
        if changed and self._loaded_once:
            self.sigModelsChanged.emit()
        self._loaded_once = True
        if not self.watcher.directories():  # the folder was re-created
            self.watcher.addPath(str(self.root))

    def _on_list_failed(self, message: str, tag: Any) -> None:
        if tag == self._seq:
            self._say(f"Could not list the models: {message}", "bad")

    def _fill_row(self, row: int, info: Any) -> None:
        c = colors()
        builtin = info in self.builtin_infos
        shown = f"{info.name.split(':', 1)[-1]} (built-in)" if builtin else info.name
        name_item = QTableWidgetItem(shown)
        name_item.setData(Qt.ItemDataRole.UserRole, info.name)
        name_item.setToolTip(f"Ships with the app; in the terminal: --model {info.name}\n{info.path}" if builtin
                             else str(info.path))
        self.table.setItem(row, 0, name_item)
        if not info.ok:
            # the error goes in the (stretching) name column so it does not widen the others
            name_item.setText(f"{info.name} — unreadable: {info.error}")
            name_item.setForeground(QBrush(QColor(c.bad)))
            name_item.setToolTip(f"{info.path}\n{info.error}")
            for col in range(1, len(COLUMNS)):
                self.table.setItem(row, col, QTableWidgetItem(""))
            self.table.item(row, 4).setText(_fmt_size(info.size_bytes))
            return
        task = task_title(info.task, info.scale).lower()  # "upscale ×2", "restore faces"
        created = time.strftime("%Y-%m-%d %H:%M", time.localtime(info.created)) if info.created else "?"
        values = (str(info.family).upper(), task, created, _fmt_size(info.size_bytes), steps_text(info.meta, info.steps))
        for col, text in enumerate(values, start=1):
            item = QTableWidgetItem(text)
            if col >= 4:
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.table.setItem(row, col, item)
        if builtin:
            for col in range(len(COLUMNS)):
                item = self.table.item(row, col)
                item.setForeground(QBrush(QColor(c.muted)))
                font = item.font()
                font.setItalic(True)
                item.setFont(font)

    def _say(self, text: str, role: str = "") -> None:
        """The info line under the table; ``role`` colours it (escaped) in the theme's colour."""
        self._message = (text, role)
        self.info.setText(coloured(text, role) if role else text)

    def _on_theme_changed(self, _theme: str) -> None:
        for row, info in enumerate(self.rows()):
            self._fill_row(row, info)
        self._say(*self._message)

    # --- selection ----------------------------------------------------------------------
    def selected_name(self) -> str | None:
        """The selected model's name (``builtin:NAME`` for a built-in), or None."""
        rows = self.table.selectionModel().selectedRows() if self.table.selectionModel() else []
        if not rows:
            return None
        item = self.table.item(rows[0].row(), 0)
        return item.data(Qt.ItemDataRole.UserRole) if item else None

    def selected_info(self):
        name = self.selected_name()
        return next((i for i in self.rows() if i.name == name), None)

    def is_builtin(self, info: Any) -> bool:
        return info is not None and info in self.builtin_infos

    def select(self, name: str) -> bool:
        for row, info in enumerate(self.rows()):
            if info.name == name:
                self.table.selectRow(row)
                return True
        return False

    def _on_selection_changed(self) -> None:
        self._update_buttons()
        info = self.selected_info()
        view = self.generate_view
        if info is not None and info.ok and info.task == "generate":
            if view.model_name() != info.name:
                view.set_model(info.name, str(info.path))
        elif info is not None and info.ok:
            view.set_model(None)
            view.set_message(f"“{info.name.split(':', 1)[-1]}” is an enhancement model: select it and press "
                             "Use on canvas to apply it on the Enhance tab.")
        elif view.model_name() is not None and view.model_name() not in [i.name for i in self.infos]:
            view.set_model(None)  # its model is gone
        if info is not None and info.ok:
            meta = info.meta
            self._message = ("", "")
            self.info.setText(f"<b>{html.escape(info.name)}</b>: "
                              + html.escape(details_text(info.meta, self.is_builtin(info))))
        elif info is not None:
            self._say(f"{info.name}: {info.error}", "bad")

    def _update_buttons(self) -> None:
        info = self.selected_info()
        mine = info is not None and not self.is_builtin(info)
        self.buttons["rename"].setEnabled(mine)
        self.buttons["delete"].setEnabled(mine)
        self.buttons["export"].setEnabled(mine and info.ok)
        self.buttons["use"].setEnabled(info is not None and info.ok and info.task in ENHANCE_TASKS)
        for key, tip in (("rename", "Give the model another name"), ("delete", "Delete the model file (asks first)")):
            self.buttons[key].setToolTip("Built-in models cannot be renamed or deleted" if self.is_builtin(info) else tip)

    def _on_cell_double_clicked(self, _row: int, column: int) -> None:
        info = self.selected_info()
        if info is not None and info.ok and info.task in ENHANCE_TASKS:
            self._on_use()
        elif column == 0 and info is not None and not self.is_builtin(info):
            self._on_rename()

    # --- actions --------------------------------------------------------------------------
    def _store(self):
        from imgen_desktop.core.store import ModelStore

        return ModelStore(self.root)

    def _taken(self, name: str) -> bool:
        from imgen_desktop.core.errors import ModelError

        try:
            return self._store().exists(name)
        except ModelError:
            return False

    def rename_model(self, old: str, new: str) -> None:
        """Rename through the store (raises ModelError with a clear message); keeps the selection."""
        shown = self.generate_view.model_name() == old
        info = self._store().rename(old, new)
        if shown:
            self.generate_view.model_renamed(info.name, str(info.path))
        self.refresh_now()
        self.select(info.name)

    def delete_model(self, name: str) -> None:
        if self.generate_view.model_name() == name:
            self.generate_view.set_model(None)
        self._store().remove(name)
        self.refresh_now()

    def ask_name(self, title: str, prompt: str, initial: str, ok_text: str, on_chosen, current: str | None = None,
                 note: str = "") -> ModelNameDialog:
        """Open the name dialog (window-modal, not blocking); ``on_chosen(name)`` when accepted."""
        dialog = ModelNameDialog(self, title, prompt, initial, self._taken, ok_text, current, note)
        dialog.sigNameChosen.connect(on_chosen)
        dialog.finished.connect(dialog.deleteLater)
        dialog.open()
        self._name_dialog = dialog
        return dialog

    def _on_rename(self) -> None:
        info = self.selected_info()
        if info is None or self.is_builtin(info):
            return
        name = info.name

        def rename(new: str, old=name) -> None:
            try:
                self.rename_model(old, new)
            except Exception as exc:  # noqa: BLE001 - the store's message, in a box
                self._error(f"Could not rename “{old}”: {error_text(exc)}")
        self.ask_name("Rename model", f"New name for “{name}”:", name, "Rename", rename, current=name)

    def _on_delete(self) -> None:
        info = self.selected_info()
        if info is None or self.is_builtin(info):
            return
        name = info.name
        answer = QMessageBox.question(self, "Delete model", f"Delete the model “{name}”? This cannot be undone.",
                                      QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                                      QMessageBox.StandardButton.No)
        if answer != QMessageBox.StandardButton.Yes:
            return
        try:
            self.delete_model(name)
        except Exception as exc:  # noqa: BLE001
            self._error(f"Could not delete “{name}”: {error_text(exc)}")

    def _on_reveal(self) -> None:
        info = self.selected_info()
        folder = info.path.parent if info is not None else self.root
        if QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder))):
            return
        QGuiApplication.clipboard().setText(str(folder))
        self._say(f"No file manager could be opened, so the folder's path was copied to the clipboard: {folder}", "warn")

    def _on_import(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Import a model", last_folder("models", str(Path.home())),
                                              "Models (*.safetensors *.pth *.pt *.ckpt);;All files (*)")
        if not path:
            return
        remember_folder("models", str(Path(path).parent))
        self.import_model(path, context="dialog")

    def import_model(self, path: str, name: str | None = None, context: object = None) -> None:
        """Import a model file (ours or a community one) in the background (see ModelImporter)."""
        self.importer.import_file(path, name, context)

    def _on_import_started(self, file: str, _context: object) -> None:
        self._say(f"Importing {file}… (reading the weights and recognising the architecture)")

    def _on_imported(self, name: str, line: str, _context: object) -> None:
        self.refresh_now()
        self.select(name)
        self._say(line)

    def _on_import_failed(self, message: str, context: object) -> None:
        # Import…: a box as for every other action; a drop: the window says it where it was dropped
        self._error(message) if context == "dialog" else self._say(message, "bad")

    def _on_export(self) -> None:
        info = self.selected_info()
        if info is None or not info.ok or self.is_builtin(info):
            return
        start = str(Path(last_folder("export", str(Path.home()))) / f"{info.name}.safetensors")
        out, _ = QFileDialog.getSaveFileName(self, "Export model", start, "safetensors (*.safetensors);;ONNX (*.onnx)")
        if not out:
            return
        remember_folder("export", str(Path(out).parent))
        self._say(f"Exporting “{info.name}” to {out}…")
        root = str(self.root)

        def export(name=info.name, out=out):
            from imgen_desktop.core.store import ModelStore

            # the save dialog has already asked before replacing a file; the store itself still
            # refuses to write into its own folder
            return str(ModelStore(root).export(name, out, overwrite=True))
        self._pool.start(export, on_done=lambda p, _t: self._say(f"Exported to {p}"),
                         on_error=lambda m, _t, n=info.name: self._error(f"Could not export “{n}”: {m}"))

    def _on_use(self) -> None:
        info = self.selected_info()
        if info is not None and info.ok and info.task in ENHANCE_TASKS:
            self.sigUseModel.emit(info.name)

    def _error(self, message: str) -> None:
        self._say(message, "bad")
        box = QMessageBox(QMessageBox.Icon.Warning, "Models", message, QMessageBox.StandardButton.Ok, self)
        box.setObjectName("modelsErrorBox")
        box.setWindowModality(Qt.WindowModality.NonModal)
        box.show()
        self._error_box = box

    def shutdown(self, timeout_ms: int = 5000) -> None:
        self._pool.wait_all(timeout_ms)
        self.importer.wait(max(timeout_ms, 60000))  # an import in progress finishes (its file is written atomically)
        self.generate_view.shutdown(timeout_ms)
