"""The Health strip: one traffic light per diagnostic of the running family.

Lights follow ``Health`` events (ok / warn / bad, decided with hysteresis by
``core.health.HealthMonitor``); values follow ``health.*`` metrics. Clicking a light opens its
curve, the explanation and one-click remedies (``sigRemedy(changes, restart)``).
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
    QGridLayout,
)

from imgen_desktop.core import health

COLOURS = {"ok": "#3fb950", "warn": "#d29922", "bad": "#f85149", "none": "#6e7681"}


def _fmt(value: float) -> str:
    if value != value:  # NaN
        return "–"
    if abs(value) >= 1000 or (0 < abs(value) < 0.01):
        return f"{value:.1e}"
    return f"{value:.2f}" if abs(value) < 10 else f"{value:.0f}"


class HealthLight(QToolButton):
    def __init__(self, rule: health.Rule, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.rule = rule
        self._colour = ""  # the colour its style sheet was last set for
        self.setObjectName(f"health_{rule.key.split('.', 1)[1]}")
        self.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.reset()

    def reset(self) -> None:
        """Back to "not evaluated yet" (a new run)."""
        self.state = "none"
        self.value = float("nan")
        self.explanation = "No evaluation yet: diagnostics are computed each time samples are drawn."
        self.remedies: tuple[str, ...] = ()
        self._refresh()

    def set_value(self, value: float) -> None:
        self.value = float(value)
        self._refresh()

    def set_state(self, state: str, explanation: str, remedies: tuple[str, ...]) -> None:
        self.state = state
        self.explanation = explanation
        self.remedies = tuple(remedies)
        self._refresh()

    def _refresh(self) -> None:
        colour = COLOURS.get(self.state, COLOURS["none"])
        short = self.rule.title.split(" (")[0]
        self.setText(f"●  {short}: {_fmt(self.value)}")
        if colour != self._colour:  # a new style sheet re-polishes the widget: only when the state changes
            self._colour = colour
            self.setStyleSheet(
                f"QToolButton {{ color: {colour}; border: 1px solid {colour}; border-radius: 10px; padding: 2px 8px; }}"
            )
        self.setToolTip(f"<b>{self.rule.title}</b><br>{self.explanation}<br><i>Click for the curve and remedies.</i>")


class HealthDetail(QDialog):
    """A diagnostic's curve, explanation and remedies."""

    sigRemedy = Signal(dict, bool)

    def __init__(self, light: HealthLight, steps: np.ndarray, values: np.ndarray, family: str, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("healthDetail")
        self.setWindowTitle(light.rule.title)
        self.resize(560, 420)
        layout = QVBoxLayout(self)
        self.plot = pg.PlotWidget(self)
        self.plot.setObjectName("healthPlot")
        self.plot.setLabel("bottom", "step")
        self.plot.setLabel("left", light.rule.key)
        self.plot.showGrid(x=True, y=True, alpha=0.2)
        self.curve = self.plot.plot(steps, values, pen=pg.mkPen(COLOURS.get(light.state, "#58a6ff"), width=2), symbol="o", symbolSize=5)
        for level, colour in ((light.rule.warn, COLOURS["warn"]), (light.rule.bad, COLOURS["bad"])):
            self.plot.addItem(pg.InfiniteLine(pos=level, angle=0, pen=pg.mkPen(colour, style=Qt.PenStyle.DashLine)))
        layout.addWidget(self.plot, 1)
        text = QLabel(f"<b>{light.state.upper() if light.state != 'none' else 'Not evaluated yet'}</b> — {light.explanation}", self)
        text.setWordWrap(True)
        layout.addWidget(text)
        if light.rule.remedies:
            layout.addWidget(QLabel("<b>Remedies:</b> " + "; ".join(light.rule.remedies), self, wordWrap=True))
        grid = QGridLayout()
        for row, (label, changes) in enumerate(health.remedies_for(family)):
            grid.addWidget(QLabel(label, self), row, 0)
            nxt = QPushButton("Use for next run", self)
            nxt.setObjectName(f"remedyNext_{row}")
            nxt.clicked.connect(lambda _=False, c=changes: self._emit(c, False))
            restart = QPushButton("Restart from last checkpoint", self)
            restart.setObjectName(f"remedyRestart_{row}")
            restart.clicked.connect(lambda _=False, c=changes: self._emit(c, True))
            grid.addWidget(nxt, row, 1)
            grid.addWidget(restart, row, 2)
        layout.addLayout(grid)

    def _emit(self, changes: dict, restart: bool) -> None:
        self.sigRemedy.emit(dict(changes), restart)
        self.accept()


class HealthStrip(QWidget):
    """Traffic lights for the current family's diagnostics."""

    sigRemedy = Signal(dict, bool)  # config changes, restart-from-checkpoint?

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("healthStrip")
        self._layout = QHBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._title = QLabel("<b>Health</b>", self)
        self._title.setToolTip(
            "Live diagnostics of each family's known failure: GAN mode collapse, VAE posterior "
            "collapse, RNN vanishing/exploding gradients."
        )
        self._layout.addWidget(self._title)
        self._layout.addStretch(1)
        self.family = ""
        self.lights: dict[str, HealthLight] = {}
        self._history: dict[str, tuple[list[int], list[float]]] = {}
        self.detail: HealthDetail | None = None

    def set_family(self, family: str) -> None:
        if family == self.family:
            return
        self.clear()
        self.family = family
        for rule in health.rules_for(family):
            light = HealthLight(rule, self)
            light.clicked.connect(lambda _=False, k=rule.key: self.show_detail(k))
            self.lights[rule.key] = light
            self._layout.insertWidget(self._layout.count() - 1, light)

    def clear(self) -> None:
        for light in self.lights.values():
            light.setParent(None)
            light.deleteLater()
        self.lights.clear()
        self._history.clear()
        self.family = ""

    def reset(self) -> None:
        """A new run of the same family: lights back to "not evaluated", curves emptied. The
        lights are kept (re-creating and re-styling them stalled the window when Start was pressed)."""
        self._history.clear()
        for light in self.lights.values():
            light.reset()

    def on_metrics(self, step: int, values: dict) -> None:
        hv = {k: v for k, v in values.items() if k.startswith("health.")}
        if not hv:
            return
        for key, value in health.derived_values(hv).items():
            steps, vals = self._history.setdefault(key, ([], []))
            steps.append(int(step))
            vals.append(float(value))
            if key in self.lights:
                self.lights[key].set_value(value)

    def on_health(self, event: dict) -> None:
        light = self.lights.get(event.get("key", ""))
        if light is not None:
            light.set_state(event["state"], event.get("explanation", ""), tuple(event.get("remedies", ())))

    def load_history(self, rows: list[dict]) -> None:
        """Reload curves from ``metrics.jsonl`` rows (on resume) and replay the rules."""
        monitor = health.HealthMonitor(self.family)
        for row in rows:
            values = {k: v for k, v in row.items() if k.startswith("health.")}
            if values:
                self.on_metrics(int(row.get("step", 0)), values)
                for ev in monitor.update(int(row.get("step", 0)), values):
                    self.on_health({"key": ev.key, "state": ev.state, "explanation": ev.explanation, "remedies": ev.remedies})

    def history(self, key: str) -> tuple[np.ndarray, np.ndarray]:
        steps, vals = self._history.get(key, ([], []))
        return np.asarray(steps, dtype=float), np.asarray(vals, dtype=float)

    def show_detail(self, key: str) -> HealthDetail:
        light = self.lights[key]
        steps, vals = self.history(key)
        self.detail = HealthDetail(light, steps, vals, self.family, self)
        self.detail.sigRemedy.connect(self.sigRemedy)
        self.detail.show()
        return self.detail
