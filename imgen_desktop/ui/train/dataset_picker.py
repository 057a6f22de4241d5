"""The pictures to learn from: a folder or a built-in set, with a count, thumbnails and a note
(e.g. that a task switched to another built-in set). Described off the GUI thread."""
from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QSignalBlocker, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QPixmap
from PySide6.QtWidgets import QHBoxLayout, QLabel, QLineEdit, QMenu, QToolButton, QVBoxLayout, QWidget

from imgen_desktop.ui.sample_grid import to_qimage
from imgen_desktop.ui.settings import app_settings, last_folder, remember_folder
from imgen_desktop.ui.theme import colors
from imgen_desktop.ui.train.state import BUILTIN_DATASETS
from imgen_desktop.ui.workers import WorkerPool


class DatasetEdit(QLineEdit):
    """A path or ``builtin:NAME``; accepts a folder dropped from the file manager."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("datasetEdit")
        self.setAcceptDrops(True)
        self.setPlaceholderText("builtin:digits, or a folder of pictures (drop one here)")

    def dragEnterEvent(self, event) -> None:  # noqa: N802 (Qt API)
        if event.mimeData().hasUrls() and any(u.isLocalFile() for u in event.mimeData().urls()):
            event.acceptProposedAction()
        else:
            super().dragEnterEvent(event)

    def dropEvent(self, event) -> None:  # noqa: N802 (Qt API)
        urls = [u for u in event.mimeData().urls() if u.isLocalFile()]
        if not urls:
            return super().dropEvent(event)
        path = Path(urls[0].toLocalFile())
        self.setText(str(path if path.is_dir() else path.parent))
        event.acceptProposedAction()


class DatasetPicker(QWidget):
    """``sigChanged(spec)`` when the text changes; :meth:`set_spec` / :meth:`set_note` from the state."""

    sigChanged = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("datasetPicker")
        self._pool = WorkerPool(self)
        self._seq = 0
        v = QVBoxLayout(self)
        v.setContentsMargins(0, 0, 0, 0)
        v.setSpacing(2)
        v.addWidget(QLabel("<b>Pictures to learn from</b>", self))
        row = QHBoxLayout()
        self.edit = DatasetEdit(self)
        self.edit.setToolTip("A folder of pictures (searched recursively), or a built-in set: "
                             + ", ".join(b for b, _ in BUILTIN_DATASETS))
        self.edit.textChanged.connect(self._on_text_changed)
        row.addWidget(self.edit, 1)
        builtin = QToolButton(self)
        builtin.setObjectName("builtinDatasetButton")
        builtin.setText("Built-in")
        builtin.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QMenu(builtin)
        for spec, label in BUILTIN_DATASETS:
            act = QAction(label, menu)
            act.triggered.connect(lambda _=False, s=spec: self.edit.setText(s))
            menu.addAction(act)
        builtin.setMenu(menu)
        builtin.setToolTip("Use one of the small picture sets that ship with the app")
        row.addWidget(builtin)
        browse = QToolButton(self)
        browse.setObjectName("datasetBrowseButton")
        browse.setText("Folder…")
        browse.setToolTip("Choose a folder of pictures")
        browse.clicked.connect(self._on_browse_clicked)
        row.addWidget(browse)
        v.addLayout(row)
        info_row = QHBoxLayout()
        info_row.setSpacing(3)
        self.info = QLabel("", self)
        self.info.setObjectName("datasetInfo")
        info_row.addWidget(self.info)
        self.thumb_labels: list[QLabel] = []
        for _ in range(6):
            lab = QLabel(self)
            lab.setFixedSize(26, 26)
            lab.setAlignment(Qt.AlignmentFlag.AlignCenter)
            self.thumb_labels.append(lab)
            info_row.addWidget(lab)
        info_row.addStretch(1)
        v.addLayout(info_row)
        self.note = QLabel("", self)
        self.note.setObjectName("datasetNote")
        self.note.setWordWrap(True)
        self.note.setVisible(False)
        v.addWidget(self.note)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(400)
        self._timer.timeout.connect(self._describe)

    def spec(self) -> str:
        return self.edit.text().strip()

    def set_spec(self, spec: str) -> None:
        """Show ``spec`` (from the state) without echoing it back; it is still described."""
        if spec != self.spec():
            with QSignalBlocker(self.edit):
                self.edit.setText(spec)
            self._start_describe(spec)

    def set_note(self, text: str) -> None:
        c = colors()
        self.note.setText(f"<span style='color:{c.warn}'>Note: {html.escape(text)}</span>" if text else "")
        self.note.setVisible(bool(text))

    def wait(self, timeout_ms: int = 5000) -> None:
        self._pool.wait_all(timeout_ms)

    def _on_text_changed(self, text: str) -> None:
        self._start_describe(text.strip())
        self.sigChanged.emit(text.strip())

    def _start_describe(self, spec: str) -> None:
        self._timer.start()
        self.info.setText("looking at the pictures…" if spec else "")

    def _on_browse_clicked(self) -> None:
        from PySide6.QtWidgets import QFileDialog

        folder = QFileDialog.getExistingDirectory(self, "Folder of pictures to learn from", last_folder("dataset", str(Path.home())))
        if folder:
            self.edit.setText(folder)

    def _describe(self) -> None:
        spec = self.spec()
        self._seq += 1
        for lab in self.thumb_labels:
            lab.clear()
        if not spec:
            self.info.setText("Choose a folder of pictures or a built-in set.")
            return
        if not spec.startswith("builtin:") and Path(spec).is_dir():
            remember_folder("dataset", spec)
        app_settings().setValue("train/dataset", spec)

        def describe(spec=spec):
            from imgen_desktop.core.datasets import describe as _describe

            return _describe(spec, max_thumbs=len(self.thumb_labels))
        self._pool.start(describe, on_done=self._on_described, on_error=self._on_describe_failed, tag=self._seq)

    def _on_described(self, info: Any, tag: Any) -> None:
        if tag != self._seq:
            return  # superseded by a newer request
        colour = "grayscale" if getattr(info, "channels", 3) == 1 else "colour"
        text = f"<b>{info.count:,}</b> pictures ({colour})"
        if getattr(info, "skipped", 0):
            text += f", <span style='color:{colors().warn}'>{info.skipped} unreadable skipped</span>"
        self.info.setText(text)
        self.info.setToolTip(getattr(info, "name", ""))
        for lab, thumb in zip(self.thumb_labels, list(getattr(info, "thumbnails", []))[: len(self.thumb_labels)]):
            img = to_qimage(np.asarray(thumb))
            mode = Qt.TransformationMode.FastTransformation if img.width() < 26 else Qt.TransformationMode.SmoothTransformation
            lab.setPixmap(QPixmap.fromImage(img).scaled(24, 24, Qt.AspectRatioMode.KeepAspectRatio, mode))

    def _on_describe_failed(self, message: str, tag: Any) -> None:
        if tag == self._seq:
            self.info.setText(f"<span style='color:{colors().bad}'>{html.escape(message)}</span>")
