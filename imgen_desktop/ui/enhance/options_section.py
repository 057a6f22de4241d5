"""Sidebar: how to run the model — noise strength, variation, tiles, passes, device.

Rows appear only for models that declare they take them (``ModelChoice`` flags). The Noise
slider is disabled, and drawn greyed out, while Auto is ticked.
"""
from __future__ import annotations

from PySide6.QtCore import QSignalBlocker, Qt, Signal
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QCheckBox, QComboBox, QFormLayout, QHBoxLayout, QLabel, QSlider, QSpinBox, QWidget

from imgen_desktop.core.enhance import default_passes
from imgen_desktop.ui.enhance.state import EnhanceState
from imgen_desktop.ui.theme import colors, theme_notifier

PASSES_CHOICES = (("Auto", None), ("1 (fastest)", 1), ("2 (mirrored)", 2), ("4 (best)", 4))
TILE_CHOICES = (("Auto", None), ("Whole image", 0), ("256 px", 256), ("512 px", 512), ("1024 px", 1024))


def _row(*widgets, stretch_index: int = -1) -> QWidget:
    w = QWidget()
    lay = QHBoxLayout(w)
    lay.setContentsMargins(0, 0, 0, 0)
    for i, child in enumerate(widgets):
        lay.addWidget(child, 1 if i == stretch_index else 0)
    return w


class OptionsSection(QWidget):
    sigTileChanged = Signal()  # the tile text was edited (valid or not)

    def __init__(self, state: EnhanceState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        form = self.form = QFormLayout(self)
        form.setContentsMargins(0, 6, 0, 0)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)

        self.noise_auto = QCheckBox("Auto", self)
        self.noise_auto.setObjectName("noiseAutoCheck")
        self.noise_auto.setChecked(True)
        self.noise_auto.setToolTip("Let the model judge how noisy the photo is")
        self.noise_slider = QSlider(Qt.Orientation.Horizontal, self)
        self.noise_slider.setObjectName("noiseSlider")
        self.noise_slider.setRange(1, 50)
        self.noise_slider.setValue(25)
        self.noise_slider.setToolTip("Noise strength (0–255 scale): higher removes more, and smooths more. Untick Auto to set it.")
        self.noise_value = QLabel("25", self)
        self.noise_value.setObjectName("noiseValue")
        self.noise_value.setMinimumWidth(22)
        self.noise_row = _row(self.noise_auto, self.noise_slider, self.noise_value, stretch_index=1)
        self.noise_row.setObjectName("noiseRow")
        form.addRow("Noise", self.noise_row)

        self.variation_check = QCheckBox("Sample", self)
        self.variation_check.setObjectName("variationCheck")
        self.variation_check.setToolTip("Draw a different plausible result (off = the most likely one)")
        self.variation_seed = QSpinBox(self)
        self.variation_seed.setObjectName("variationSeed")
        self.variation_seed.setRange(0, 999_999)
        self.variation_seed.setPrefix("seed ")
        self.variation_row = _row(self.variation_check, self.variation_seed, stretch_index=1)
        form.addRow("Variation", self.variation_row)

        self.tile_combo = QComboBox(self)
        self.tile_combo.setObjectName("tileCombo")
        self.tile_combo.setEditable(True)
        self.tile_combo.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        for text, value in TILE_CHOICES:
            self.tile_combo.addItem(text, value)
        self.tile_combo.setToolTip(
            "Large photos are processed in overlapping tiles (no seams).\n"
            "Auto picks a size from the free memory; type a number of pixels (at least 32),\n"
            "or choose Whole image. Smaller tiles use less memory."
        )
        form.addRow("Tiles", self.tile_combo)
        self.passes_combo = QComboBox(self)
        self.passes_combo.setObjectName("passesCombo")
        for text, value in PASSES_CHOICES:
            self.passes_combo.addItem(text, value)
        self.passes_combo.setToolTip(
            "Also run the photo mirrored (and upside down) and average the results: a little\n"
            "cleaner; each pass takes as long as the first. Auto: 4 passes for denoising, 1 otherwise."
        )
        form.addRow("Passes", self.passes_combo)
        self.device_combo = QComboBox(self)
        self.device_combo.setObjectName("canvasDeviceCombo")
        self.device_combo.addItem("Auto (best available)", "auto")
        self.device_combo.setToolTip("Where the model runs")
        form.addRow("Device", self.device_combo)

        self.noise_auto.toggled.connect(self._on_noise_auto_changed)
        self.noise_slider.valueChanged.connect(lambda v: self.noise_value.setText(str(v)))
        self.variation_check.toggled.connect(self.variation_seed.setEnabled)
        self.tile_combo.currentTextChanged.connect(lambda _t: self.sigTileChanged.emit())
        state.sigModelChanged.connect(self._on_model_changed)
        state.sigBusyChanged.connect(lambda: self.setEnabled(not state.busy))
        theme_notifier().sigThemeChanged.connect(self._on_theme_changed)  # a bound slot: disconnected when the widget goes
        self.variation_seed.setEnabled(False)
        self._on_noise_auto_changed(True)
        self._on_model_changed()

    def _on_theme_changed(self, _theme: str) -> None:
        self._restyle()

    def _restyle(self) -> None:
        """A disabled slider in the app's palettes looks active: grey it out explicitly."""
        c = colors()
        pal = self.noise_slider.palette()
        for role, colour in ((QPalette.ColorRole.Highlight, c.grid), (QPalette.ColorRole.Button, c.window),
                             (QPalette.ColorRole.Window, c.window)):
            pal.setColor(QPalette.ColorGroup.Disabled, role, QColor(colour))
        self.noise_slider.setPalette(pal)
        vp = self.noise_value.palette()
        vp.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.WindowText, QColor(c.muted))
        self.noise_value.setPalette(vp)

    def _on_noise_auto_changed(self, auto: bool) -> None:
        self._restyle()
        self.noise_slider.setEnabled(not auto)
        self.noise_value.setEnabled(not auto)
        self.noise_value.setText("auto" if auto else str(self.noise_slider.value()))

    def _on_model_changed(self) -> None:
        c = self.state.model
        task = c.task if c else ""
        with QSignalBlocker(self.passes_combo):
            self.passes_combo.setItemText(0, f"Auto ({default_passes(task)})")
        self.form.setRowVisible(self.noise_row, bool(c and c.takes_noise_level))
        if c and c.takes_noise_level:
            # the slider ends at the strongest noise the model was trained on (the built-in: 55)
            self.noise_slider.setMaximum(max(1, int(c.noise_max)))
        self.form.setRowVisible(self.variation_row, bool(c and c.takes_variation))

    # --- values ------------------------------------------------------------------------------
    def tile_value(self) -> int | None:
        """Auto -> None, Whole image -> 0, a number -> that many pixels; raises ValueError."""
        text = self.tile_combo.currentText().strip()
        idx = self.tile_combo.findText(text)
        if idx >= 0:
            return self.tile_combo.itemData(idx)
        digits = text.lower().removesuffix("px").strip()
        if digits.isdigit():
            value = int(digits)
            if value == 0 or value >= 32:
                return value
        raise ValueError(f"Tile size “{text}” is not valid: choose Auto or Whole image, or type a number of pixels (at least 32).")

    def noise_level(self) -> float | None:
        c = self.state.model
        if c is None or not c.takes_noise_level or self.noise_auto.isChecked():
            return None
        return float(self.noise_slider.value())

    def variation_seed_value(self) -> int | None:
        c = self.state.model
        if c is None or not c.takes_variation or not self.variation_check.isChecked():
            return None
        return int(self.variation_seed.value())

    def passes(self) -> int | None:
        return self.passes_combo.currentData()

    def device(self) -> str:
        return self.device_combo.currentData() or "auto"

    def set_devices(self, devices: list[tuple[str, str]]) -> None:
        current = self.device_combo.currentData()
        with QSignalBlocker(self.device_combo):
            self.device_combo.clear()
            self.device_combo.addItem("Auto (best available)", "auto")
            for dev_id, label in devices:
                self.device_combo.addItem(label, dev_id)
            self.device_combo.setCurrentIndex(max(0, self.device_combo.findData(current)))
