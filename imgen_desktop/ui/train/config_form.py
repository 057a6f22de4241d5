"""The run configuration form: pictures, family / task / preset with what it costs here, device,
run name, and the detailed settings in a scroll area (so Device and Run name stay in view).

The form shows a :class:`~imgen_desktop.ui.train.state.FormState`; every widget change goes
into the state (``_on_<thing>_changed``) and :meth:`ConfigForm.show_state` puts the state back
into the widgets under ``QSignalBlocker`` (no feedback loops).
"""
from __future__ import annotations

import html
import math
from typing import Any

from PySide6.QtCore import QSignalBlocker, Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox, QComboBox, QDoubleSpinBox, QFormLayout, QFrame, QGridLayout, QLabel, QLineEdit, QScrollArea, QSpinBox,
    QVBoxLayout, QWidget,
)

from imgen_desktop.core import presets as preset_table
from imgen_desktop.core import runs as core_runs
from imgen_desktop.core import tasks as vocab
from imgen_desktop.ui.settings import app_settings
from imgen_desktop.ui.theme import colors, theme_notifier
from imgen_desktop.ui.train.dataset_picker import DatasetPicker
from imgen_desktop.ui.train.state import FIELDS, FormState

# On a CPU the Train tab suggests (and on first launch picks) the quick preset when the chosen one
# would take longer than this; the standard generative presets (5-7 minutes on 2 cores) stay.
CPU_PRESET_MINUTES = 15


class Field:
    """One settings widget, read and written as plain values."""

    def __init__(self, spec, widget: QWidget, label: QLabel) -> None:
        self.spec, self.name, self.widget, self.label_widget = spec, spec.name, widget, label

    def get(self) -> Any:
        w, kind = self.widget, self.spec.kind
        if kind == "text_float":
            try:
                return float(w.text())
            except ValueError:
                return float("nan")
        if kind == "bool":
            return w.isChecked()
        if kind == "choice":
            return w.currentData()
        if kind == "percent":
            return round(w.value() / 100.0, 4)
        return w.value()

    def put(self, value: Any) -> None:
        """Set the widget as a user would: the form's state follows."""
        self._set(value)

    def show(self, value: Any) -> None:
        """Show a value from the state (signals blocked: no echo back into the state)."""
        with QSignalBlocker(self.widget):
            self._set(value)

    def _set(self, value: Any) -> None:
        w, kind = self.widget, self.spec.kind
        if kind == "text_float":
            if not (isinstance(value, float) and math.isnan(value)):
                w.setText(f"{float(value):g}")
        elif kind == "bool":
            w.setChecked(bool(value))
        elif kind == "choice":
            w.setCurrentIndex(max(w.findData(value), 0))
        elif kind == "int":
            w.setValue(int(value))
        elif kind == "percent":
            w.setValue(float(value) * 100.0)
        else:
            w.setValue(float(value))


class ConfigForm(QWidget):
    """Shows and edits a FormState. ``sigChanged`` after every edit (for the cost hint)."""

    sigChanged = Signal()

    def __init__(self, state: FormState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("trainConfigForm")
        self.state = state
        state.presets = preset_table
        self.fields: dict[str, Field] = {}
        self._devices: list[tuple[str, str]] = []
        self._speeds = core_runs.load_speeds()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        self.dataset = DatasetPicker(self)
        self.dataset.sigChanged.connect(self._on_dataset_changed)
        self.dataset_edit = self.dataset.edit
        self.dataset_info = self.dataset.info
        layout.addWidget(self.dataset)
        layout.addLayout(self._build_choice_grid())
        self.settings_scroll = self._build_settings()
        layout.addWidget(self.settings_scroll, 1)
        theme_notifier().sigThemeChanged.connect(self._on_theme_changed)
        self._restore()

    # ------------------------------------------------------------------ construction
    def _note(self, name: str) -> QLabel:
        label = QLabel("", self)
        label.setObjectName(name)
        label.setWordWrap(True)
        label.setVisible(False)
        return label

    def _build_choice_grid(self) -> QGridLayout:
        g = QGridLayout()
        g.setVerticalSpacing(4)
        self.family_combo = QComboBox(self)
        self.family_combo.setObjectName("familyCombo")
        for fam in vocab.FAMILY_LIST:
            self.family_combo.addItem(fam.label, fam.name)
            self.family_combo.setItemData(self.family_combo.count() - 1, fam.description, Qt.ItemDataRole.ToolTipRole)
        self.family_combo.setToolTip(preset_table.PARAM_HELP["family"])
        self.task_combo = QComboBox(self)
        self.task_combo.setObjectName("taskCombo")
        for t in (t for t in vocab.TASK_LIST if t.trainable):  # not "Restore faces" (imported models only)
            self.task_combo.addItem(t.label, t.name)
            self.task_combo.setItemData(self.task_combo.count() - 1, t.description, Qt.ItemDataRole.ToolTipRole)
        self.task_combo.setToolTip(preset_table.PARAM_HELP["task"])
        self.scale_combo = QComboBox(self)
        self.scale_combo.setObjectName("scaleCombo")
        for s in vocab.SCALES:
            self.scale_combo.addItem(f"×{s}", s)
        self.scale_combo.setToolTip("Upscaling factor")
        self.preset_combo = QComboBox(self)
        self.preset_combo.setObjectName("presetCombo")
        self.preset_combo.setToolTip("quick: a first look in minutes; standard: good default; quality: longer and bigger; "
                                     "classic (GAN): the Radford et al. DCGAN settings")
        self.cost_label = self._note("presetCost")
        self.device_combo = QComboBox(self)
        self.device_combo.setObjectName("deviceCombo")
        self.device_combo.setToolTip("Where to train: a GPU is much faster than the CPU")
        self.name_edit = QLineEdit(self)
        self.name_edit.setObjectName("runNameEdit")
        self.name_edit.setPlaceholderText("automatic (a new name for each run)")
        self.name_edit.setToolTip("Name of the run and of the model it saves (letters, digits, '.', '_', '-'); "
                                  "leave empty for a new name each time")
        self.remedy_note = self._note("remedyNote")
        self.scale_label = QLabel("Scale", self)
        rows = (("Family", self.family_combo), ("Task", self.task_combo), (self.scale_label, self.scale_combo),
                ("Preset", self.preset_combo), (None, self.cost_label), ("Device", self.device_combo),
                ("Run name", self.name_edit), (None, self.remedy_note))
        for r, (label, widget) in enumerate(rows):
            if label is not None:
                g.addWidget(label if isinstance(label, QLabel) else QLabel(label, self), r, 0)
            g.addWidget(widget, r, 1)
        g.setColumnStretch(1, 1)
        self.family_combo.currentIndexChanged.connect(self._on_family_changed)
        self.task_combo.currentIndexChanged.connect(self._on_task_changed)
        self.scale_combo.currentIndexChanged.connect(self._on_scale_changed)
        self.preset_combo.currentIndexChanged.connect(self._on_preset_changed)
        self.device_combo.currentIndexChanged.connect(self._on_device_changed)
        self.name_edit.textChanged.connect(self._on_name_changed)
        self.set_devices([])
        return g

    def _build_settings(self) -> QScrollArea:
        scroll = QScrollArea(self)
        scroll.setObjectName("trainSettings")
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.StyledPanel)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        box = QWidget()
        self.settings_box = box
        form = QFormLayout(box)
        form.setContentsMargins(6, 4, 6, 4)
        form.setVerticalSpacing(3)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.FieldsStayAtSizeHint)
        self.family_title = QLabel("", box)
        for spec in FIELDS:
            if spec.group == "family" and spec is next(f for f in FIELDS if f.group == "family"):
                form.addRow(self.family_title)
            widget = self._make_widget(spec)
            label = QLabel(spec.label, box)
            tip = preset_table.PARAM_HELP.get(spec.name, "")
            widget.setToolTip(tip)
            label.setToolTip(tip)
            form.addRow(label, widget)
            self.fields[spec.name] = Field(spec, widget, label)
        scroll.setWidget(box)
        return scroll

    def _make_widget(self, spec) -> QWidget:
        changed = lambda *_a, n=spec.name: self._on_field_changed(n)  # noqa: E731
        if spec.kind == "int":
            w = QSpinBox()
            w.setRange(int(spec.lo), int(spec.hi))
            w.setSingleStep(int(spec.step))
            w.setGroupSeparatorShown(spec.hi >= 10000)
            w.valueChanged.connect(changed)
        elif spec.kind == "percent":
            w = QDoubleSpinBox()
            w.setRange(spec.lo, spec.hi)
            w.setDecimals(spec.decimals)
            w.setSingleStep(spec.step)
            w.setSuffix(" %")
            w.setSpecialValueText("off")  # 0 %
            w.valueChanged.connect(changed)
        elif spec.kind == "float":
            w = QDoubleSpinBox()
            w.setRange(spec.lo, spec.hi)
            w.setDecimals(spec.decimals)
            w.setSingleStep(spec.step)
            w.valueChanged.connect(changed)
        elif spec.kind == "bool":
            w = QCheckBox()
            w.toggled.connect(changed)
        elif spec.kind == "choice":
            w = QComboBox()
            for text, value in spec.choices:
                w.addItem(text, value)
            w.currentIndexChanged.connect(changed)
        else:
            w = QLineEdit()
            w.setMaximumWidth(110)
            w.textChanged.connect(changed)
        w.setObjectName(f"{spec.name}{'Check' if spec.kind == 'bool' else 'Combo' if spec.kind == 'choice' else 'Edit'}")
        return w

    # ------------------------------------------------------------------ state -> widgets
    def show_state(self) -> None:
        st, cfg = self.state, self.state.config
        for combo, value in ((self.family_combo, cfg.family), (self.task_combo, cfg.task), (self.scale_combo, cfg.scale)):
            with QSignalBlocker(combo):
                combo.setCurrentIndex(max(combo.findData(value), 0))
        with QSignalBlocker(self.preset_combo):
            self.preset_combo.clear()
            for n in st.preset_names():
                self.preset_combo.addItem(n, n)
            self.preset_combo.setCurrentIndex(max(self.preset_combo.findData(cfg.preset), 0))
        self.dataset.set_spec(cfg.data)
        with QSignalBlocker(self.name_edit):
            if self.name_edit.text().strip() != cfg.name:
                self.name_edit.setText(cfg.name)
        with QSignalBlocker(self.device_combo):
            i = self.device_combo.findData(cfg.device)
            self.device_combo.setCurrentIndex(max(i, 0))
        for name, f in self.fields.items():
            f.show(getattr(cfg, name))
        visible = set(st.visible_fields())
        for f in self.fields.values():
            f.widget.setVisible(f.name in visible)
            f.label_widget.setVisible(f.name in visible)
        self.family_title.setText(f"<b>{vocab.family(cfg.family).label} options</b>")
        upscale = vocab.task(cfg.task).has_scale
        self.scale_combo.setVisible(upscale)
        self.scale_label.setVisible(upscale)
        self.dataset.set_note(st.dataset_note)
        self._show_note(self.remedy_note, st.remedy_note)
        self.show_cost()

    def _show_note(self, label: QLabel, text: str) -> None:
        c = colors()
        label.setText(f"<span style='color:{c.muted}'>{html.escape(text)}</span>" if text else "")
        label.setVisible(bool(text))

    def device_for_estimate(self) -> tuple[str, str]:
        """(device id, words) the run will use: "auto" is the first GPU listed, else the CPU."""
        dev = self.state.config.device
        if dev == "auto":
            gpus = [d for d in self._devices if d[0] != "cpu"]
            dev = gpus[0][0] if gpus else "cpu"
        label = "the CPU" if dev == "cpu" else dict(self._devices).get(dev, dev)
        return dev, label

    def on_cpu(self) -> bool:
        return self.device_for_estimate()[0] == "cpu"

    def show_cost(self) -> None:
        cfg = self.state.config
        dev, label = self.device_for_estimate()
        est = core_runs.estimate(cfg, dev, self._speeds)
        text = f"{cfg.steps:,} steps: " + (est.text(label) if est else f"not measured on {label} yet")
        if dev == "cpu" and cfg.preset != "quick" and "quick" in self.state.preset_names() and self._too_long(est):
            text += f". On this CPU, quick is the suggested preset (over {CPU_PRESET_MINUTES} minutes)"
        self._show_note(self.cost_label, text + ".")
        self.cost_label.setToolTip(
            "Estimated from the speed measured after your earlier runs of this kind on this device"
            if est and est.measured else
            "Every run records its speed; later estimates use what this machine really does")

    @staticmethod
    def _too_long(est) -> bool:
        """A run expected to take longer than ``CPU_PRESET_MINUTES`` (or whose length is unknown)."""
        return est is None or est.seconds > CPU_PRESET_MINUTES * 60

    def reload_speeds(self) -> None:
        self._speeds = core_runs.load_speeds()
        self.show_cost()

    # ------------------------------------------------------------------ widgets -> state
    def _on_family_changed(self, _i: int) -> None:
        self.state.set_family(self.family_combo.currentData())
        self._remember()
        self._changed()

    def _on_task_changed(self, _i: int) -> None:
        self.state.set_task(self.task_combo.currentData())
        self._remember()
        self._changed()

    def _on_scale_changed(self, _i: int) -> None:
        self.state.set_scale(int(self.scale_combo.currentData()))
        self._changed()

    def _on_preset_changed(self, _i: int) -> None:
        preset = self.preset_combo.currentData()
        if preset:
            self.state.set_preset(preset)
            self._remember()
            self._changed()

    def _on_device_changed(self, _i: int) -> None:
        self.state.config.device = self.device_combo.currentData() or "auto"
        self.show_cost()
        self.sigChanged.emit()

    def _on_name_changed(self, text: str) -> None:
        self.state.config.name = text.strip()
        self.sigChanged.emit()

    def _on_field_changed(self, name: str) -> None:
        f = self.fields[name]
        value = f.get()
        self.state.set_value(name, value if f.spec.kind != "int" else int(value))
        if name in ("steps", "batch_size", "image_size", "width"):
            self.show_cost()
        self.sigChanged.emit()

    def _on_dataset_changed(self, spec: str) -> None:
        self.state.set_data(spec)
        self.dataset.set_note(self.state.dataset_note)
        self.sigChanged.emit()

    def _on_theme_changed(self, _theme: str) -> None:
        self.dataset.set_note(self.state.dataset_note)
        self._show_note(self.remedy_note, self.state.remedy_note)
        self.show_cost()

    def _changed(self) -> None:
        self.show_state()
        self.sigChanged.emit()

    # ------------------------------------------------------------------ devices and memory
    def set_devices(self, devices: list[tuple[str, str]]) -> None:
        self._devices = list(devices)
        with QSignalBlocker(self.device_combo):
            self.device_combo.clear()
            self.device_combo.addItem("auto — best available", "auto")
            for dev_id, label in devices:
                self.device_combo.addItem(label, dev_id)
            self.device_combo.setCurrentIndex(max(self.device_combo.findData(self.state.config.device), 0))
        self.state.config.device = self.device_combo.currentData() or "auto"
        # (not over a run loaded to continue: its settings must stay the run's)
        if devices and self.on_cpu() and not app_settings().contains("train/preset") and not self.state.config.name \
                and "quick" in self.state.preset_names() \
                and self._too_long(core_runs.estimate(self.state.config, "cpu", self._speeds)):
            # a CPU where the preset would take long: a first look in minutes, not an hour (the
            # generative standard presets take 5-7 minutes on a 2-core CPU and stay)
            self.state.set_preset("quick")
            self.show_state()
        else:
            self.show_cost()

    def _remember(self) -> None:
        s = app_settings()
        cfg = self.state.config
        s.setValue("train/family", cfg.family)
        s.setValue("train/task", cfg.task)
        s.setValue("train/preset", cfg.preset)

    def _restore(self) -> None:
        s = app_settings()
        st = self.state
        st.config.data = str(s.value("train/dataset", st.config.data) or st.config.data)
        st.config.family = str(s.value("train/family", st.config.family))
        if st.config.family not in vocab.FAMILIES:
            st.config.family = "gan"
        task = str(s.value("train/task", "generate"))
        st.config.task = task if task in vocab.TASKS else "generate"
        st.config.preset = str(s.value("train/preset", "standard"))
        st.set_preset(st.config.preset)  # applies the preset's values for family / task
        self.show_state()
