"""The Health strip: one traffic light per diagnostic of the running family.

Each light shows its diagnostic's state (ok / warn / bad) from its first evaluation on: the
strip runs the same :class:`core.health.HealthMonitor` rules over the ``health.*`` metrics it
receives (the trainer emits a ``Health`` event only when a state *changes*, and every track
starts "ok", so a healthy run never sent one), and the trainer's events, when they come, agree
with it. Clicking a light opens its curve, the explanation and one-click remedies
(``sigRemedy(changes, restart)``), worded for the GUI. Colours follow the theme live.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QDialog, QGridLayout, QHBoxLayout, QLabel, QPushButton, QToolButton, QVBoxLayout, QWidget

from imgen_desktop.core import health
from imgen_desktop.core.runs import metric_label
from imgen_desktop.ui.theme import colors, configure_plots, theme_notifier
from imgen_desktop.ui.train.remedies import remedy_words

configure_plots()  # pyqtgraph has just been imported: the palette's plot defaults


def state_colour(state: str) -> str:
    """The theme's colour for a light's state (``none`` = not evaluated yet)."""
    c = colors()
    return {"ok": c.ok, "warn": c.warn, "bad": c.bad}.get(state, c.unknown)


STATE_WORDS = {"ok": "OK", "warn": "Warning", "bad": "Problem", "none": "Not evaluated yet"}


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

    def set_value(self, value: float, step: int | None = None) -> None:
        self.value = float(value)
        if self.state == "none" and step is not None and step < self.rule.min_step:
            self.explanation = (f"Warming up: an untrained model is judged from step {self.rule.min_step:,} on "
                                f"(now step {step:,}).")
        self._refresh()

    def set_state(self, state: str, explanation: str, remedies: tuple[str, ...] = ()) -> None:
        self.state = state
        self.explanation = explanation
        self.remedies = tuple(remedies)
        self._refresh()

    def restyle(self) -> None:
        self._colour = ""
        self._refresh()

    def _refresh(self) -> None:
        colour = state_colour(self.state)
        short = self.rule.title.split(" (")[0]
        unit = f" {self.rule.unit}" if self.rule.unit and self.value == self.value else ""
        self.setText(f"●  {short}: {_fmt(self.value)}{unit}")
        if colour != self._colour:  # a new style sheet re-polishes the widget: only when the colour changes
            self._colour = colour
            self.setStyleSheet(
                f"QToolButton {{ color: {colour}; border: 1px solid {colour}; border-radius: 10px; padding: 2px 8px; }}"
            )
        self.setToolTip(f"<b>{self.rule.title}</b> — {STATE_WORDS.get(self.state, self.state)}<br>{self.explanation}"
                        "<br><i>Click for the curve and remedies.</i>")


class HealthDetail(QDialog):
    """A diagnostic's curve, explanation and remedies (as buttons, in words)."""

    sigRemedy = Signal(dict, bool)

    def __init__(self, light: HealthLight, steps: np.ndarray, values: np.ndarray, family: str, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("healthDetail")
        self.setWindowTitle(light.rule.title)
        self.resize(620, 440)
        c = colors()
        layout = QVBoxLayout(self)
        self.plot = pg.PlotWidget(self)
        self.plot.setObjectName("healthPlot")
        self.plot.setBackground(c.base)
        item = self.plot.getPlotItem()
        for name, text in (("bottom", "step"), ("left", metric_label(light.rule.key))):
            axis = item.getAxis(name)
            axis.enableAutoSIPrefix(False)  # plain numbers, no "x0.001" in the label
            axis.setPen(pg.mkPen(c.muted))
            axis.setTextPen(pg.mkPen(c.text))
            item.setLabel(name, text, color=c.text)
        self.plot.showGrid(x=True, y=True, alpha=0.2)
        self.curve = self.plot.plot(steps, values, pen=pg.mkPen(c.accent, width=2), symbol="o", symbolSize=5,
                                    symbolBrush=pg.mkBrush(c.accent), symbolPen=None)
        for level, colour in ((light.rule.warn, c.warn), (light.rule.bad, c.bad)):
            self.plot.addItem(pg.InfiniteLine(pos=level, angle=0, pen=pg.mkPen(colour, style=Qt.PenStyle.DashLine)))
        layout.addWidget(self.plot, 1)
        state = light.state
        self.state_label = QLabel(
            f"<b style='color:{state_colour(state)}'>{STATE_WORDS.get(state, state)}</b> — {light.explanation}", self)
        self.state_label.setObjectName("healthState")
        self.state_label.setWordWrap(True)
        layout.addWidget(self.state_label)
        options = health.remedies_for(family, light.rule.key)
        if light.rule.optional:  # its own remedies (overfitting: more data, augmentation, stop earlier)
            advice = QLabel(f"<b>What helps</b> — {health.plain_remedies(light.rule.remedies)}.", self, wordWrap=True)
            advice.setObjectName("healthAdvice")
            layout.addWidget(advice)
        if options:
            layout.addWidget(QLabel("<b>Remedies</b> — for a new run, or to continue this run from its last "
                                    "checkpoint with the change:", self, wordWrap=True))
        grid = QGridLayout()
        for row, (label, changes) in enumerate(options):
            words = remedy_words(label)
            nxt = QPushButton(f"{words} for the next run", self)
            nxt.setObjectName(f"remedyNext_{row}")
            nxt.clicked.connect(lambda _=False, ch=changes: self._emit(ch, False))
            restart = QPushButton("Restart from the last checkpoint with it", self)
            restart.setObjectName(f"remedyRestart_{row}")
            restart.setToolTip(f"{words}, and continue the run from its last checkpoint")
            restart.clicked.connect(lambda _=False, ch=changes: self._emit(ch, True))
            grid.addWidget(nxt, row, 0)
            grid.addWidget(restart, row, 1)
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
            "collapse, RNN vanishing/exploding gradients; and overfitting when the run holds "
            "pictures out for validation."
        )
        self._layout.addWidget(self._title)
        self._layout.addStretch(1)
        self.family = ""
        self.lights: dict[str, HealthLight] = {}
        self._history: dict[str, tuple[list[int], list[float]]] = {}
        self._monitor = health.HealthMonitor("")
        self.detail: HealthDetail | None = None
        theme_notifier().sigThemeChanged.connect(self._on_theme_changed)

    def set_family(self, family: str) -> None:
        if family == self.family:
            return
        self.clear()
        self.family = family
        self._monitor = health.HealthMonitor(family)
        for rule in health.rules_for(family, optional=False):
            self._add_light(rule)

    def _add_light(self, rule: health.Rule) -> HealthLight:
        light = HealthLight(rule, self)
        light.clicked.connect(lambda _=False, k=rule.key: self.show_detail(k))
        self.lights[rule.key] = light
        self._layout.insertWidget(self._layout.count() - 1, light)
        return light

    def _add_optional_lights(self, keys) -> None:
        """Lights only some runs feed (overfitting, with a validation split) appear with their first value."""
        for rule in health.rules_for(self.family):
            if rule.optional and rule.key in keys and rule.key not in self.lights:
                self._add_light(rule)

    def _drop_optional_lights(self) -> None:
        for key in [k for k, light in self.lights.items() if light.rule.optional]:
            light = self.lights.pop(key)
            light.setParent(None)
            light.deleteLater()

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
        self._monitor = health.HealthMonitor(self.family)
        self._drop_optional_lights()  # the next run may hold no pictures out
        for light in self.lights.values():
            light.reset()

    def on_metrics(self, step: int, values: dict) -> None:
        hv = {k: v for k, v in values.items() if k.startswith("health.")}
        if not hv:
            return
        self._add_optional_lights(hv)
        for key, value in health.derived_values(hv).items():
            steps, vals = self._history.setdefault(key, ([], []))
            steps.append(int(step))
            vals.append(float(value))
            if key in self.lights:
                self.lights[key].set_value(value, int(step))
        self._monitor.update(int(step), hv)
        for key, (state, _value) in self._monitor.states().items():
            light = self.lights.get(key)
            if light is not None and light.state != state:
                light.set_state(state, light.rule.explanation[state], light.rule.remedies if state != "ok" else ())

    def on_health(self, event: dict) -> None:
        light = self.lights.get(event.get("key", ""))
        if light is not None:
            light.set_state(event["state"], event.get("explanation", ""), tuple(event.get("remedies", ())))

    def load_history(self, rows: list[dict]) -> None:
        """Reload curves from ``metrics.jsonl`` rows (on resume) and replay the rules."""
        self.reset()
        for row in rows:
            values = {k: v for k, v in row.items() if k.startswith("health.")}
            if values:
                self.on_metrics(int(row.get("step", 0)), values)

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

    def _on_theme_changed(self, _theme: str) -> None:
        for light in self.lights.values():
            light.restyle()
