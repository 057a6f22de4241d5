"""The run log: what the trainer is doing, warnings and errors, in theme colours."""
from __future__ import annotations

import html
import sys
import time

from PySide6.QtWidgets import QPlainTextEdit, QWidget

from imgen_desktop.ui.theme import colors


class RunLog(QPlainTextEdit):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("runLog")
        self.setReadOnly(True)
        self.setMaximumBlockCount(5000)
        self.setPlaceholderText("The run log: what the trainer is doing, warnings and errors.")

    def log(self, message: str, level: str = "info") -> None:
        if level == "debug":
            sys.stderr.write(message + "\n")
            return
        c = colors()
        colour = {"warning": c.warn, "error": c.bad}.get(level)
        text = html.escape(message).replace("\n", "<br>")
        body = f"<span style='color:{colour}'>{text}</span>" if colour else text
        self.appendHtml(f"<span style='color:{c.muted}'>{time.strftime('%H:%M:%S')}</span> {body}")
