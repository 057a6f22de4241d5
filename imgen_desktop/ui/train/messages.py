"""The Train panel's message boxes: one sentence, non-modal, and for a taken run name a
Resume button (GUI words, never CLI flags)."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QWidget

from imgen_desktop.core import runs as core_runs
from imgen_desktop.ui.train.state import exists_message


def error_box(parent: QWidget, message: str, title: str) -> QMessageBox:
    box = QMessageBox(QMessageBox.Icon.Warning, title, message, QMessageBox.StandardButton.Ok, parent)
    box.setObjectName("trainErrorBox")
    box.setWindowModality(Qt.WindowModality.NonModal)
    box.show()
    return box


def name_taken_box(panel, name: str) -> QMessageBox:
    """"A run named X already exists — Resume it, or choose another name", with both as buttons."""
    if not core_runs.read_run(name).resumable:  # a model (or a run without a checkpoint) has the name
        box = panel._show_error(f"The name “{name}” is taken by an existing model or run — choose another name.",
                                title="Name taken")
        panel.name_edit.setFocus()
        panel.name_edit.selectAll()
        return box
    box = panel._show_error(exists_message(name), title="Run name taken")
    box.setStandardButtons(QMessageBox.StandardButton.NoButton)
    resume = box.addButton(f"Resume “{name}”", QMessageBox.ButtonRole.AcceptRole)
    resume.setObjectName("resumeExistingButton")
    other = box.addButton("Choose another name", QMessageBox.ButtonRole.RejectRole)
    other.setObjectName("otherNameButton")
    resume.clicked.connect(lambda: panel.prepare_resume(name))
    other.clicked.connect(lambda: (panel.name_edit.setFocus(), panel.name_edit.selectAll()))
    return box
