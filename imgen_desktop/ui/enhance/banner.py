"""The message strip at the top of the tab: an error, warning or note, with a close button.

It shows :attr:`EnhanceState.banner`; the state clears it when its cause goes (a new photo, a
valid value, the next action), info notes time out, and × closes any of them.
"""
from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QSizePolicy, QToolButton, QWidget

from imgen_desktop.ui.enhance.state import EnhanceState
from imgen_desktop.ui.theme import colors, theme_notifier


class BannerView(QFrame):
    def __init__(self, state: EnhanceState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("enhanceBanner")
        self.state = state
        lay = QHBoxLayout(self)
        lay.setContentsMargins(10, 6, 6, 6)
        self.label = QLabel("", self)
        self.label.setObjectName("bannerText")
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.close_button = QToolButton(self)
        self.close_button.setObjectName("bannerClose")
        self.close_button.setText("✕")
        self.close_button.setToolTip("Dismiss this message")
        self.close_button.setAutoRaise(True)
        lay.addWidget(self.label, 1)
        lay.addWidget(self.close_button, 0, Qt.AlignmentFlag.AlignTop)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._on_timeout)
        self.close_button.clicked.connect(lambda: self.state.clear_banner())
        state.sigBannerChanged.connect(self._on_banner_changed)
        theme_notifier().sigThemeChanged.connect(self._on_theme_changed)  # a bound slot: disconnected when the widget goes
        self._on_banner_changed()

    def _on_theme_changed(self, _theme: str) -> None:
        self._restyle()

    def _restyle(self) -> None:
        c = colors()
        b = self.state.banner
        kind = b.kind if b is not None else "info"
        bg = {"error": c.banner_error, "warning": c.banner_error, "info": c.banner_info}[kind]
        edge = {"error": c.bad, "warning": c.warn, "info": c.accent}[kind]
        self.setStyleSheet(
            f"#enhanceBanner {{ background: {bg}; border-left: 4px solid {edge}; border-radius: 4px; }}"
            f"#enhanceBanner QLabel, #enhanceBanner QToolButton {{ color: {c.text}; background: transparent; }}"
        )

    def _on_banner_changed(self) -> None:
        b = self.state.banner
        self._timer.stop()
        if b is None:
            self.label.setText("")
            self.hide()
            return
        self.label.setText(b.text)
        self.setProperty("kind", b.kind)
        self._restyle()
        self.show()
        if b.timeout_ms > 0:
            self._timer.start(b.timeout_ms)

    def _on_timeout(self) -> None:
        b = self.state.banner
        if b is not None and b.timeout_ms > 0:
            self.state.clear_banner()
