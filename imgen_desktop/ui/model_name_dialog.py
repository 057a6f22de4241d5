"""A dialog that asks for a model name and says at once what is wrong with it (empty, not
allowed, already taken) — with a free name to use instead — so a clash is fixed in place."""
from __future__ import annotations

import html
from typing import Callable

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QHBoxLayout, QLabel, QLineEdit, QPushButton, QVBoxLayout, QWidget

NAME_RULE = "A name can use letters, digits, spaces and . _ + - (up to 100 characters) and starts with a letter or digit."


def name_problem(name: str, taken: Callable[[str], bool], current: str | None = None) -> str:
    """Why ``name`` cannot be used ("" if it can)."""
    from imgen_desktop.core.errors import ModelError
    from imgen_desktop.core.store import validate_name

    name = name.strip()
    if not name:
        return "Type a name for the model."
    try:
        validate_name(name)
    except ModelError:
        return NAME_RULE
    if name != current and taken(name):
        return f"A model named “{name}” already exists. Choose another name."
    return ""


def free_name(name: str, taken: Callable[[str], bool]) -> str:
    """``name``, or ``name-2``, ``name-3`` … the first one not taken."""
    base = name.strip() or "model"
    if not taken(base):
        return base
    i = 2
    while taken(f"{base}-{i}"):
        i += 1
    return f"{base}-{i}"


class ModelNameDialog(QDialog):
    """``sigNameChosen(name)`` when accepted with a usable name."""

    sigNameChosen = Signal(str)

    def __init__(self, parent: QWidget, title: str, prompt: str, initial: str, taken: Callable[[str], bool],
                 ok_text: str = "OK", current: str | None = None, note: str = "") -> None:
        super().__init__(parent)
        self.setObjectName("modelNameDialog")
        self.setWindowTitle(title)
        self.setModal(True)
        self._taken, self._current = taken, current
        layout = QVBoxLayout(self)
        if note:
            self.note = QLabel(note, self)
            self.note.setObjectName("modelNameNote")
            self.note.setWordWrap(True)
            layout.addWidget(self.note)
        layout.addWidget(QLabel(prompt, self))
        self.edit = QLineEdit(initial, self)
        self.edit.setObjectName("modelNameEdit")
        self.edit.selectAll()
        self.edit.setMinimumWidth(420)
        layout.addWidget(self.edit)
        self.message = QLabel("", self)
        self.message.setObjectName("modelNameMessage")
        self.message.setWordWrap(True)
        layout.addWidget(self.message)
        row = QHBoxLayout()
        self.suggest_button = QPushButton("", self)
        self.suggest_button.setObjectName("useFreeNameButton")
        self.suggest_button.clicked.connect(self._on_suggestion_used)
        row.addWidget(self.suggest_button)
        row.addStretch(1)
        layout.addLayout(row)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self)
        self.ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setText(ok_text)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        self.edit.textChanged.connect(self._on_name_changed)
        self._on_name_changed(initial)

    def name(self) -> str:
        return self.edit.text().strip()

    def _on_name_changed(self, text: str) -> None:
        from imgen_desktop.ui.theme import colors

        problem = name_problem(text, self._taken, self._current)
        self.message.setText(f"<span style='color:{colors().bad}'>{html.escape(problem)}</span>" if problem else "")
        self.message.setVisible(bool(problem))
        taken = bool(problem) and "already exists" in problem
        self._suggestion = free_name(text, self._taken) if taken else ""
        self.suggest_button.setText(f"Use “{self._suggestion}”")
        self.suggest_button.setVisible(taken)
        self.ok_button.setEnabled(not problem and text.strip() != (self._current or ""))
        self.adjustSize()  # room for the message (it wraps)

    def _on_suggestion_used(self) -> None:
        if self._suggestion:
            self.edit.setText(self._suggestion)

    def accept(self) -> None:
        if not self.ok_button.isEnabled():
            return
        super().accept()
        self.sigNameChosen.emit(self.name())
