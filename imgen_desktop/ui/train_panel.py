"""The Train area: pick pictures, a model family and a device, press Start, watch it learn.

Settings on the left (scrollable), the live loss plot and samples on the right, a big Start.
Training runs in a :class:`~imgen_desktop.ui.train_worker.TrainWorker` thread; widgets only
change through its signals (plain data). torch is never imported on the GUI thread.
"""
from __future__ import annotations

import dataclasses
import html
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QAction, QFont, QPixmap
from PySide6.QtWidgets import (
    QCheckBox, QComboBox, QDialog, QDialogButtonBox, QDoubleSpinBox, QFileDialog, QFormLayout, QFrame,
    QGroupBox, QHBoxLayout, QLabel, QLineEdit, QListWidget, QListWidgetItem, QMenu, QMessageBox,
    QPlainTextEdit, QProgressBar, QPushButton, QScrollArea, QSizePolicy, QSpinBox, QSplitter, QToolButton,
    QVBoxLayout, QWidget,
)

from imgen_desktop.core.config import ENHANCE_TASKS, TrainConfig
from imgen_desktop.ui.sample_grid import SampleGrid, to_qimage
from imgen_desktop.ui.settings import app_settings, last_folder, remember_folder
from imgen_desktop.ui.train_worker import TrainWorker
from imgen_desktop.ui.workers import WorkerPool

BUILTIN_DATASETS = (
    ("builtin:digits", "Handwritten digits (1,797 tiny 8x8 pictures)"),
    ("builtin:faces", "Faces (small grayscale portraits)"),
    ("builtin:photos", "Photos (sample photos; good for upscale/denoise/inpaint)"),
)
FAMILIES = (
    ("GAN", "gan", "Generative adversarial network: a generator and a critic trained against each other. Sharp results; can be unstable."),
    ("VAE", "vae", "Variational auto-encoder: stable training, smooth latent space, slightly blurry pictures."),
    ("RNN", "rnn", "Recurrent model: paints the picture over several steps (you can watch the canvas build up)."),
)
TASKS = (
    ("Generate new pictures", "generate"),
    ("Upscale", "upscale"),
    ("Denoise", "denoise"),
    ("Inpaint (fill holes)", "inpaint"),
)
DEFAULT_HELP = {
    "image_size": "Side of the training pictures in pixels (generate: output size; enhancement: patch size).",
    "batch_size": "Pictures per training step. Larger is smoother but needs more memory.",
    "steps": "How many training steps to run in total.",
    "lr": "Learning rate: how big each update is. Too high diverges, too low learns slowly.",
    "seed": "Random seed: the same seed and settings give the same run.",
    "sample_every": "Show new samples every N steps (0 = only at the end).",
    "checkpoint_every": "Save a resumable checkpoint every N steps (0 = only at the end or on Stop).",
    "width": "Base number of channels in the networks: bigger is more capable and slower.",
    "channels": "Colour channels to train on: from the data (1 if all pictures are grayscale), 1 or 3.",
    "z_dim": "Size of the random vector the generator starts from.",
    "gan_loss": "GAN objective: non-saturating (default), hinge, WGAN-GP or the classic BCE.",
    "spectral_norm": "Spectral normalisation in the critic: steadier GAN training.",
    "ema": "Keep an exponential moving average of the generator weights (0 = off); smoother samples.",
    "augment": "Differentiable augmentation (colour, translation, cutout): helps with small datasets.",
    "adv_weight": "Weight of the adversarial loss next to L1 (0 = plain L1 training).",
    "latent_dim": "Size of the VAE's latent code.",
    "beta": "Weight of the KL term (beta-VAE). Higher: smoother latent space, blurrier pictures.",
    "kl_warmup": "Steps over which the KL weight ramps up from 0 (avoids posterior collapse).",
    "free_bits": "Minimum KL per latent dimension in nats (0 = off); keeps latent units active.",
    "rnn_steps": "How many recurrent steps paint or refine the picture.",
    "rnn_hidden": "Size of the recurrent hidden state.",
    "clip_grad": "Clip the gradient norm to this value (0 = off); guards against exploding gradients.",
    "noise_sigma": "Denoise: strongest Gaussian noise (0-255 scale) added in training.",
}


def _fmt_duration(seconds: float | None) -> str:
    if seconds is None or seconds != seconds or seconds < 0:
        return "—"
    seconds = int(round(seconds))
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class DatasetEdit(QLineEdit):
    """A path or ``builtin:NAME``; accepts a folder dropped from the file manager."""

    sigDropped = Signal(str)

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
        folder = path if path.is_dir() else path.parent
        self.setText(str(folder))
        event.acceptProposedAction()
        self.sigDropped.emit(str(folder))


class _Field:
    """One editable TrainConfig field: a widget plus how to read and write it."""

    def __init__(self, name: str, label: str, widget: QWidget, get, put, families=None, tasks=None) -> None:
        self.name, self.label, self.widget, self.get, self.put = name, label, widget, get, put
        self.families, self.tasks = families, tasks
        self.label_widget: QLabel | None = None

    def applies(self, family: str, task: str) -> bool:
        return (self.families is None or family in self.families) and (self.tasks is None or task in self.tasks)


class TrainPanel(QWidget):
    """The training panel (objectName ``trainPanel``)."""

    sigModelSaved = Signal(str)
    sigRunStarted = Signal(dict)  # the TrainConfig as a dict
    sigRunEnded = Signal()
    sigMetrics = Signal(int, dict)  # re-emitted from the worker, for other views (health strip)
    sigHealth = Signal(dict)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("trainPanel")
        self.worker: TrainWorker | None = None
        self._pool = WorkerPool(self)
        self._describe_seq = 0
        self._resume_name: str | None = None
        self._paused = False
        self._stopping = False
        self._last_step = 0
        self._error_box: QMessageBox | None = None
        self._presets_module = None
        self.fields: dict[str, _Field] = {}
        self._base_config = TrainConfig()
        self._build()
        self._on_task_changed()  # shows the right options
        self._describe_timer = QTimer(self)
        self._describe_timer.setSingleShot(True)
        self._describe_timer.setInterval(400)
        self._describe_timer.timeout.connect(self._describe_dataset)
        self.dataset_edit.textChanged.connect(self._on_dataset_changed)
        saved = str(app_settings().value("train/dataset", "builtin:digits") or "builtin:digits")
        self.dataset_edit.setText(saved)
        QTimer.singleShot(0, self._load_presets)  # after the window is up
        QTimer.singleShot(1500, self._ensure_plot)  # ready before anyone needs it, after the first paint

    # ------------------------------------------------------------------ the loss plot (lazy)
    @property
    def loss_plot(self):
        """The ``lossPlot`` (a pyqtgraph PlotWidget), created on first use."""
        return self._ensure_plot()

    def _ensure_plot(self):
        if self._loss_plot is None:
            from imgen_desktop.ui.loss_plot import LossPlot  # imports pyqtgraph (~0.3 s)

            self._loss_plot = LossPlot(self._plot_box)
            self._plot_layout.addWidget(self._loss_plot, 1)
            self.plot_controls = self._loss_plot.make_controls(self._plot_box)
            self._plot_layout.addWidget(self.plot_controls)
            self._ensure_health_strip()
        return self._loss_plot

    # ------------------------------------------------------------------ the health strip (lazy, with the plot)
    @property
    def health_strip(self):
        self._ensure_plot()
        return self._health_strip

    def _ensure_health_strip(self):
        if self._health_strip is None:
            from imgen_desktop.ui.health_strip import HealthStrip  # imports pyqtgraph

            strip = HealthStrip(self)
            strip.set_family(self.family_combo.currentData() or "gan")
            strip.sigRemedy.connect(self._on_remedy)
            self.health_strip_host.addWidget(strip, 1)
            self._health_strip = strip
        return self._health_strip

    def showEvent(self, event) -> None:  # noqa: N802 (Qt API)
        self._ensure_plot()
        super().showEvent(event)

    # ------------------------------------------------------------------ construction
    def _build(self) -> None:
        outer = QHBoxLayout(self)
        outer.setContentsMargins(6, 6, 6, 6)
        splitter = QSplitter(Qt.Orientation.Horizontal, self)
        splitter.setObjectName("trainSplitter")
        outer.addWidget(splitter)

        # ---- left: settings (scrollable) + the run buttons
        left = QWidget(splitter)
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        self.settings_scroll = QScrollArea(left)
        self.settings_scroll.setObjectName("trainSettings")
        self.settings_scroll.setWidgetResizable(True)
        self.settings_scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.settings_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        settings = QWidget()
        self.settings_box = settings
        form_col = QVBoxLayout(settings)
        form_col.setContentsMargins(0, 0, 6, 0)
        form_col.addWidget(self._build_dataset_group(settings))
        form_col.addWidget(self._build_model_group(settings))
        form_col.addWidget(self._build_params_group(settings))
        form_col.addWidget(self._build_family_group(settings))
        form_col.addWidget(self._build_run_group(settings))
        form_col.addStretch(1)
        self.settings_scroll.setWidget(settings)
        left_layout.addWidget(self.settings_scroll, 1)
        left_layout.addLayout(self._build_buttons(left))
        left.setMinimumWidth(330)

        # ---- right: progress, health strip host, loss plot | samples, run log
        right = QWidget(splitter)
        rv = QVBoxLayout(right)
        rv.setContentsMargins(0, 0, 0, 0)
        prow = QHBoxLayout()
        self.progress = QProgressBar(right)
        self.progress.setObjectName("trainProgress")
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setFormat("ready")
        self.progress.setTextVisible(True)
        prow.addWidget(self.progress, 1)
        self.speed_label = QLabel("", right)
        self.speed_label.setObjectName("trainSpeed")
        self.speed_label.setMinimumWidth(220)
        prow.addWidget(self.speed_label)
        rv.addLayout(prow)
        self.health_strip_host = QHBoxLayout()
        self.health_strip_host.setObjectName("healthStripHost")
        rv.addLayout(self.health_strip_host)

        vsplit = QSplitter(Qt.Orientation.Vertical, right)
        hsplit = QSplitter(Qt.Orientation.Horizontal, vsplit)
        plot_box = QWidget(hsplit)
        plot_box.setObjectName("lossPlotBox")
        self._plot_box = plot_box
        self._plot_layout = QVBoxLayout(plot_box)
        self._plot_layout.setContentsMargins(0, 0, 0, 0)
        self._health_strip = None  # built with the loss plot
        self._pending_restart: TrainConfig | None = None  # a remedy waiting for the run to stop
        self._last_run_name = ""
        self._loss_plot = None  # built on first use / first show: pyqtgraph is slow to import
        self.sample_grid = SampleGrid(hsplit)
        self.sample_grid.sigSampleNow.connect(self._on_sample_now)
        hsplit.addWidget(plot_box)
        hsplit.addWidget(self.sample_grid)
        hsplit.setSizes([560, 420])
        self.run_log = QPlainTextEdit(vsplit)
        self.run_log.setObjectName("runLog")
        self.run_log.setReadOnly(True)
        self.run_log.setMaximumBlockCount(5000)
        self.run_log.setPlaceholderText("The run log: what the trainer is doing, warnings and errors.")
        vsplit.addWidget(hsplit)
        vsplit.addWidget(self.run_log)
        vsplit.setStretchFactor(0, 4)
        vsplit.setStretchFactor(1, 1)
        vsplit.setSizes([520, 130])
        rv.addWidget(vsplit, 1)

        splitter.addWidget(left)
        splitter.addWidget(right)
        splitter.setStretchFactor(0, 0)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([360, 900])

    def _build_dataset_group(self, parent: QWidget) -> QGroupBox:
        box = QGroupBox("1. Pictures to learn from", parent)
        v = QVBoxLayout(box)
        row = QHBoxLayout()
        self.dataset_edit = DatasetEdit(box)
        self.dataset_edit.setToolTip("A folder of pictures (searched recursively), or a built-in set: "
                                     + ", ".join(b for b, _ in BUILTIN_DATASETS))
        row.addWidget(self.dataset_edit, 1)
        builtin = QToolButton(box)
        builtin.setObjectName("builtinDatasetButton")
        builtin.setText("Built-in")
        builtin.setMinimumWidth(builtin.sizeHint().width() + 12)
        builtin.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QMenu(builtin)
        for spec, label in BUILTIN_DATASETS:
            act = QAction(label, menu)
            act.triggered.connect(lambda _=False, s=spec: self.dataset_edit.setText(s))
            menu.addAction(act)
        builtin.setMenu(menu)
        builtin.setToolTip("Use one of the small picture sets that ship with the app")
        row.addWidget(builtin)
        browse = QToolButton(box)
        browse.setObjectName("datasetBrowseButton")
        browse.setText("Folder…")
        browse.setToolTip("Choose a folder of pictures")
        browse.clicked.connect(self._on_browse_dataset)
        row.addWidget(browse)
        v.addLayout(row)
        self.dataset_info = QLabel("", box)
        self.dataset_info.setObjectName("datasetInfo")
        self.dataset_info.setWordWrap(True)
        v.addWidget(self.dataset_info)
        self.thumbs_row = QHBoxLayout()
        self.thumbs_row.setSpacing(3)
        self.thumb_labels: list[QLabel] = []
        for _ in range(8):
            lab = QLabel(box)
            lab.setFixedSize(34, 34)
            lab.setAlignment(Qt.AlignmentFlag.AlignCenter)
            self.thumb_labels.append(lab)
            self.thumbs_row.addWidget(lab)
        self.thumbs_row.addStretch(1)
        v.addLayout(self.thumbs_row)
        return box

    def _build_model_group(self, parent: QWidget) -> QGroupBox:
        box = QGroupBox("2. What to train", parent)
        form = QFormLayout(box)
        self.family_combo = QComboBox(box)
        self.family_combo.setObjectName("familyCombo")
        for label, fam, tip in FAMILIES:
            self.family_combo.addItem(label, fam)
            self.family_combo.setItemData(self.family_combo.count() - 1, tip, Qt.ItemDataRole.ToolTipRole)
        self.family_combo.setToolTip("The kind of model. " + " ".join(f"{l}: {t}" for l, _, t in FAMILIES))
        form.addRow("Model family", self.family_combo)
        self.task_combo = QComboBox(box)
        self.task_combo.setObjectName("taskCombo")
        for label, task in TASKS:
            self.task_combo.addItem(label, task)
        self.task_combo.setToolTip("Generate new pictures like the data, or learn to upscale, denoise or inpaint photos")
        form.addRow("Task", self.task_combo)
        self.scale_combo = QComboBox(box)
        self.scale_combo.setObjectName("scaleCombo")
        self.scale_combo.addItem("×2", 2)
        self.scale_combo.addItem("×4", 4)
        self.scale_combo.setToolTip("Upscaling factor")
        self.scale_label = QLabel("Scale", box)
        form.addRow(self.scale_label, self.scale_combo)
        self.preset_combo = QComboBox(box)
        self.preset_combo.setObjectName("presetCombo")
        self.preset_combo.setToolTip("quick: a first look in minutes; standard: good default; quality: longer and bigger; "
                                     "classic (GAN): the Radford et al. DCGAN settings")
        form.addRow("Preset", self.preset_combo)
        self.family_combo.currentIndexChanged.connect(self._on_family_changed)
        self.task_combo.currentIndexChanged.connect(self._on_task_changed)
        self.scale_combo.currentIndexChanged.connect(self._on_preset_changed)
        self.preset_combo.currentIndexChanged.connect(self._on_preset_changed)
        return box

    # field factories -----------------------------------------------------------------
    def _spin(self, name, label, lo, hi, step=1, **scope) -> _Field:
        w = QSpinBox()
        w.setRange(lo, hi)
        w.setSingleStep(step)
        w.setGroupSeparatorShown(hi >= 10000)
        w.setObjectName(f"{name}Edit")
        return self._add(_Field(name, label, w, w.value, lambda v: w.setValue(int(v)), **scope))

    def _dspin(self, name, label, lo, hi, decimals, step, **scope) -> _Field:
        w = QDoubleSpinBox()
        w.setRange(lo, hi)
        w.setDecimals(decimals)
        w.setSingleStep(step)
        w.setObjectName(f"{name}Edit")
        return self._add(_Field(name, label, w, w.value, lambda v: w.setValue(float(v)), **scope))

    def _check(self, name, label, **scope) -> _Field:
        w = QCheckBox()
        w.setObjectName(f"{name}Check")
        return self._add(_Field(name, label, w, w.isChecked, lambda v: w.setChecked(bool(v)), **scope))

    def _choice(self, name, label, items, **scope) -> _Field:
        w = QComboBox()
        w.setObjectName(f"{name}Combo")
        for text, value in items:
            w.addItem(text, value)

        def put(v, w=w):
            i = w.findData(v)
            if i >= 0:
                w.setCurrentIndex(i)
        return self._add(_Field(name, label, w, w.currentData, put, **scope))

    def _float_edit(self, name, label, **scope) -> _Field:
        w = QLineEdit()
        w.setObjectName(f"{name}Edit")
        w.setMaximumWidth(110)

        def get(w=w):
            try:
                return float(w.text())
            except ValueError:
                return float("nan")
        return self._add(_Field(name, label, w, get, lambda v: w.setText(f"{float(v):g}"), **scope))

    def _add(self, field: _Field) -> _Field:
        self.fields[field.name] = field
        return field

    def _build_params_group(self, parent: QWidget) -> QGroupBox:
        box = QGroupBox("3. Main settings", parent)
        form = QFormLayout(box)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.FieldsStayAtSizeHint)
        for f in (
            self._spin("image_size", "Image size (px)", 8, 1024, 8),
            self._spin("batch_size", "Batch size", 1, 4096),
            self._spin("steps", "Steps", 1, 10_000_000, 100),
            self._float_edit("lr", "Learning rate"),
            self._spin("width", "Network width", 4, 1024, 8),
            self._choice("channels", "Colour", [("from the data", 0), ("grayscale", 1), ("RGB", 3)]),
            self._spin("seed", "Seed", 0, 2_147_483_647),
            self._spin("sample_every", "Samples every (steps)", 0, 1_000_000, 50),
            self._spin("checkpoint_every", "Checkpoint every (steps)", 0, 1_000_000, 100),
        ):
            self._form_row(form, f)
        return box

    def _build_family_group(self, parent: QWidget) -> QGroupBox:
        self.family_box = QGroupBox("Family options", parent)
        form = QFormLayout(self.family_box)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.FieldsStayAtSizeHint)
        gan, vae, rnn, enh = ("gan",), ("vae",), ("rnn",), ENHANCE_TASKS
        for f in (
            self._choice("gan_loss", "GAN loss", [("non-saturating", "nonsat"), ("hinge", "hinge"),
                                                  ("WGAN-GP", "wgan-gp"), ("classic BCE", "bce")], families=gan),
            self._check("spectral_norm", "Spectral norm", families=gan),
            self._dspin("ema", "Generator EMA", 0.0, 0.99999, 5, 0.001, families=gan, tasks=("generate",)),
            self._check("augment", "Augmentation", families=gan, tasks=("generate",)),
            self._spin("z_dim", "Latent size (z)", 1, 4096, families=gan, tasks=("generate",)),
            self._dspin("adv_weight", "Adversarial weight", 0.0, 10.0, 4, 0.005, families=gan, tasks=enh),
            self._dspin("beta", "β (KL weight)", 0.0, 100.0, 3, 0.1, families=vae),
            self._spin("kl_warmup", "KL warm-up (steps)", 0, 1_000_000, 100, families=vae),
            self._dspin("free_bits", "Free bits (nats)", 0.0, 10.0, 3, 0.05, families=vae),
            self._spin("latent_dim", "Latent size", 1, 4096, families=("vae", "rnn")),
            self._spin("rnn_steps", "Recurrent steps", 1, 256, families=rnn),
            self._spin("rnn_hidden", "Hidden size", 8, 8192, 32, families=rnn),
            self._dspin("clip_grad", "Clip gradient norm", 0.0, 1000.0, 2, 0.5, families=rnn),
            self._dspin("noise_sigma", "Max noise σ (0-255)", 0.0, 255.0, 1, 5.0, tasks=("denoise",)),
        ):
            self._form_row(form, f)
        return self.family_box

    def _form_row(self, form: QFormLayout, f: _Field) -> None:
        f.label_widget = QLabel(f.label)
        tip = DEFAULT_HELP.get(f.name, "")
        f.widget.setToolTip(tip)
        f.label_widget.setToolTip(tip)
        form.addRow(f.label_widget, f.widget)

    def _build_run_group(self, parent: QWidget) -> QGroupBox:
        box = QGroupBox("4. Where and how", parent)
        form = QFormLayout(box)
        self.device_combo = QComboBox(box)
        self.device_combo.setObjectName("deviceCombo")
        self.device_combo.setToolTip("Where to train: a GPU is much faster than the CPU")
        self.set_devices([])
        form.addRow("Device", self.device_combo)
        self.name_edit = QLineEdit(box)
        self.name_edit.setObjectName("runNameEdit")
        self.name_edit.setPlaceholderText("automatic")
        self.name_edit.setToolTip("Name of the run and of the model it saves (letters, digits, '.', '_', '-')")
        self.name_edit.textEdited.connect(self._on_name_edited)
        form.addRow("Run name", self.name_edit)
        return box

    def _build_buttons(self, parent: QWidget) -> QVBoxLayout:
        v = QVBoxLayout()
        self.start_button = QPushButton("▶  Start training", parent)
        self.start_button.setObjectName("startButton")
        self.start_button.setMinimumHeight(40)
        font = QFont(self.start_button.font())
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.15)
        self.start_button.setFont(font)
        self.start_button.setStyleSheet(
            "QPushButton#startButton { background: #2e8b57; color: white; border-radius: 4px; }"
            "QPushButton#startButton:disabled { background: #50605a; color: #b0b0b0; }")
        self.start_button.setToolTip("Start training with these settings")
        self.start_button.clicked.connect(self._on_start)
        v.addWidget(self.start_button)
        row = QHBoxLayout()
        self.pause_button = QPushButton("Pause", parent)
        self.pause_button.setObjectName("pauseButton")
        self.pause_button.setToolTip("Pause training (the model stays loaded); press again to resume")
        self.pause_button.setEnabled(False)
        self.pause_button.clicked.connect(self._on_pause_toggled)
        self.stop_button = QPushButton("Stop && save", parent)
        self.stop_button.setObjectName("stopButton")
        self.stop_button.setToolTip("Stop training, save a checkpoint and the model so far")
        self.stop_button.setEnabled(False)
        self.stop_button.clicked.connect(self._on_stop)
        self.resume_button = QPushButton("Resume run…", parent)
        self.resume_button.setObjectName("resumeRunButton")
        self.resume_button.setToolTip("Continue an earlier run from its last checkpoint (same step counter and curves)")
        self.resume_button.clicked.connect(self._on_resume_run)
        for b in (self.pause_button, self.stop_button, self.resume_button):
            row.addWidget(b)
        v.addLayout(row)
        return v

    # ------------------------------------------------------------------ public API
    def set_devices(self, devices: list[tuple[str, str]]) -> None:
        current = self.device_combo.currentData()
        self.device_combo.blockSignals(True)
        self.device_combo.clear()
        self.device_combo.addItem("auto — best available", "auto")
        for dev_id, label in devices:
            self.device_combo.addItem(label, dev_id)
        i = self.device_combo.findData(current)
        self.device_combo.setCurrentIndex(max(i, 0))
        self.device_combo.blockSignals(False)

    def is_training(self) -> bool:
        return self.worker is not None and self.worker.isRunning()

    def stop_and_wait(self, timeout_ms: int = 60000) -> bool:
        """Stop a running training (it saves a checkpoint and the model) and wait for it."""
        if self.worker is None:
            return True
        self.worker.stop()
        done = self.worker.wait(timeout_ms)
        self._pool.wait_all(min(timeout_ms, 5000))
        return bool(done)

    def config(self) -> TrainConfig:
        """The TrainConfig the form describes."""
        # start from the preset (or loaded run) so settings without a widget (e.g. Adam betas) survive
        cfg = dataclasses.replace(
            self._base_config,
            family=self.family_combo.currentData(),
            task=self.task_combo.currentData(),
            scale=int(self.scale_combo.currentData()),
            data=self.dataset_edit.text().strip(),
            preset=self.preset_combo.currentData() or "standard",
            device=self.device_combo.currentData() or "auto",
            name=self.name_edit.text().strip(),
            extra=dict(self._base_config.extra),
        )
        for name, f in self.fields.items():
            setattr(cfg, name, type(getattr(cfg, name))(f.get()))
        return cfg

    def set_config(self, cfg: TrainConfig) -> None:
        """Show ``cfg`` in the form (without re-applying a preset)."""
        self._loading = True
        self._base_config = dataclasses.replace(cfg)
        try:
            for combo, value in ((self.family_combo, cfg.family), (self.task_combo, cfg.task), (self.scale_combo, cfg.scale)):
                combo.setCurrentIndex(max(combo.findData(value), 0))
            self._fill_presets()
            self.preset_combo.setCurrentIndex(max(self.preset_combo.findData(cfg.preset), 0))
            self.dataset_edit.setText(cfg.data)
            i = self.device_combo.findData(cfg.device)
            self.device_combo.setCurrentIndex(max(i, 0))
            self.name_edit.setText(cfg.name)
            for name, f in self.fields.items():
                f.put(getattr(cfg, name))
        finally:
            self._loading = False
        self._update_visibility()

    # ------------------------------------------------------------------ presets
    _loading = False

    def _presets(self):
        if self._presets_module is None:
            from imgen_desktop.core import presets

            self._presets_module = presets
        return self._presets_module

    def _load_presets(self) -> None:
        try:
            help_texts = dict(getattr(self._presets(), "PARAM_HELP", {}))
        except Exception as exc:  # the engine is missing or broken: keep the form usable
            self.log(f"presets unavailable: {exc}", "warning")
            help_texts = {}
        for name, f in self.fields.items():
            tip = help_texts.get(name) or DEFAULT_HELP.get(name, "")
            f.widget.setToolTip(tip)
            if f.label_widget is not None:
                f.label_widget.setToolTip(tip)
        self._fill_presets()
        self._on_preset_changed()

    def _fill_presets(self) -> None:
        family, task = self.family_combo.currentData(), self.task_combo.currentData()
        try:
            names = list(self._presets().preset_names(family, task))
        except Exception:
            names = ["quick", "standard", "quality"] + (["classic"] if (family, task) == ("gan", "generate") else [])
        current = self.preset_combo.currentData() or "standard"
        self.preset_combo.blockSignals(True)
        self.preset_combo.clear()
        for n in names:
            self.preset_combo.addItem(n, n)
        i = self.preset_combo.findData(current)
        if i < 0:
            i = self.preset_combo.findData("standard")
        self.preset_combo.setCurrentIndex(max(i, 0))
        self.preset_combo.blockSignals(False)

    def _on_preset_changed(self, *_: Any) -> None:
        if self._loading:
            return
        self._update_visibility()
        preset = self.preset_combo.currentData()
        if not preset:
            return
        base = TrainConfig(family=self.family_combo.currentData(), task=self.task_combo.currentData(),
                           scale=int(self.scale_combo.currentData()))
        try:
            cfg = self._presets().apply_preset(base, preset)
        except Exception as exc:
            self.log(f"could not apply the preset {preset!r}: {exc}", "warning")
            return
        self._base_config = cfg
        for name, f in self.fields.items():
            f.put(getattr(cfg, name))

    def _on_family_changed(self, *_: Any) -> None:
        self._on_task_changed()
        if self._health_strip is not None and not self.is_training():
            self._health_strip.set_family(self.family_combo.currentData() or "gan")

    def _on_task_changed(self, *_: Any) -> None:
        if self._loading:
            return
        task = self.task_combo.currentData()
        data = self.dataset_edit.text().strip() if hasattr(self, "dataset_edit") else ""
        # the built-in sets suit different tasks: tiny digits for generating, photos for enhancing
        if task in ENHANCE_TASKS and data in ("builtin:digits", "builtin:faces"):
            self.dataset_edit.setText("builtin:photos")
        elif task == "generate" and data == "builtin:photos":
            self.dataset_edit.setText("builtin:digits")
        if self._presets_module is not None:
            self._fill_presets()
            self._on_preset_changed()
        else:
            self._update_visibility()

    def _update_visibility(self) -> None:
        family, task = self.family_combo.currentData(), self.task_combo.currentData()
        upscale = task == "upscale"
        self.scale_combo.setVisible(upscale)
        self.scale_label.setVisible(upscale)
        any_family = False
        for f in self.fields.values():
            if f.families is not None or f.tasks is not None:  # a family/task option
                show = f.applies(family, task)
                any_family |= show
                f.widget.setVisible(show)
                if f.label_widget is not None:
                    f.label_widget.setVisible(show)
        label = dict((v, l) for l, v, _ in FAMILIES).get(family, family)
        self.family_box.setTitle(f"{label} options")
        self.family_box.setVisible(any_family)

    # ------------------------------------------------------------------ dataset
    def _on_browse_dataset(self) -> None:
        start = last_folder("dataset", str(Path.home()))
        folder = QFileDialog.getExistingDirectory(self, "Folder of pictures to learn from", start)
        if folder:
            self.dataset_edit.setText(folder)

    def _on_dataset_changed(self, text: str) -> None:
        self._describe_timer.start()
        self.dataset_info.setText("looking at the pictures…" if text.strip() else "")

    def _describe_dataset(self) -> None:
        spec = self.dataset_edit.text().strip()
        self._describe_seq += 1
        for lab in self.thumb_labels:
            lab.clear()
        if not spec:
            self.dataset_info.setText("Choose a folder of pictures or a built-in set.")
            return
        if not spec.startswith("builtin:") and Path(spec).is_dir():
            remember_folder("dataset", spec)
        s = app_settings()
        s.setValue("train/dataset", spec)

        def describe(spec=spec):
            from imgen_desktop.core.datasets import describe as _describe

            return _describe(spec, max_thumbs=8)
        self._pool.start(describe, on_done=self._on_described, on_error=self._on_describe_failed, tag=self._describe_seq)

    def _on_described(self, info: Any, tag: Any) -> None:
        if tag != self._describe_seq:
            return  # superseded by a newer request
        colour = "grayscale" if getattr(info, "channels", 3) == 1 else "colour"
        text = f"<b>{info.count:,}</b> pictures ({colour})"
        if getattr(info, "skipped", 0):
            text += f", <span style='color:#d08020'>{info.skipped} unreadable skipped</span>"
        self.dataset_info.setText(text)
        self.dataset_info.setToolTip(getattr(info, "name", ""))
        for lab, thumb in zip(self.thumb_labels, list(getattr(info, "thumbnails", []))[: len(self.thumb_labels)]):
            img = to_qimage(np.asarray(thumb))
            pix = QPixmap.fromImage(img)
            mode = Qt.TransformationMode.FastTransformation if img.width() < 32 else Qt.TransformationMode.SmoothTransformation
            lab.setPixmap(pix.scaled(32, 32, Qt.AspectRatioMode.KeepAspectRatio, mode))

    def _on_describe_failed(self, message: str, tag: Any) -> None:
        if tag != self._describe_seq:
            return
        self.dataset_info.setText(f"<span style='color:#e05050'>{html.escape(message)}</span>")

    # ------------------------------------------------------------------ run control
    def _on_name_edited(self, text: str) -> None:
        if self._resume_name is not None and text.strip() != self._resume_name:
            self._set_resume(None)

    def _set_resume(self, name: str | None) -> None:
        self._resume_name = name
        self.start_button.setText(f"▶  Continue “{name}”" if name else "▶  Start training")

    def _on_start(self) -> None:
        if self.is_training():
            return
        cfg = self.config()
        try:
            if not (cfg.lr > 0):  # also catches text that is not a number (NaN)
                raise ValueError("the learning rate must be a positive number, e.g. 0.0002")
            if not cfg.data:
                raise ValueError("choose the pictures to learn from (a folder or a built-in set)")
            cfg.validate()
        except Exception as exc:
            self._show_error(str(exc))
            return
        resume = self._resume_name is not None
        if resume:
            cfg.name = self._resume_name
        else:
            if not cfg.name:
                from imgen_desktop.core.trainer import auto_name  # torch-free

                cfg.name = auto_name(cfg)  # named here, so remedies and resume know the run
            self.loss_plot.reset()
            self.sample_grid.clear()
            self.health_strip.set_family(cfg.family)
            self.health_strip.reset()
        self._set_running(True)
        self.progress.setRange(0, max(cfg.steps, 1))
        self.progress.setValue(0)
        self.progress.setFormat("starting…")
        self.speed_label.setText("")
        self.log(("Continuing run " + cfg.name if resume else "Starting")
                 + f": {cfg.family.upper()} {cfg.task}{' x%d' % cfg.scale if cfg.task == 'upscale' else ''}"
                 + f" on {cfg.data}, {cfg.steps} steps, device {cfg.device}")
        worker = TrainWorker(cfg, resume=resume, parent=self)
        worker.sigProgress.connect(self._on_progress)
        worker.sigMetrics.connect(self._on_metrics)
        worker.sigSamples.connect(self._on_samples)
        worker.sigLog.connect(self.log)
        worker.sigHealth.connect(self._on_health)
        worker.sigCheckpoint.connect(self._on_checkpoint)
        worker.sigFinished.connect(self._on_finished)
        worker.sigFailed.connect(self._on_failed)
        worker.finished.connect(self._on_thread_finished)
        self.worker = worker
        self._set_resume(None)
        self.sigRunStarted.emit(cfg.to_dict())
        worker.start()

    def _set_running(self, running: bool) -> None:
        self.settings_box.setEnabled(not running)
        self.start_button.setEnabled(not running)
        self.resume_button.setEnabled(not running)
        self.pause_button.setEnabled(running)
        self.stop_button.setEnabled(running)
        self.sample_grid.set_running(running)
        self._paused = False
        self._stopping = False
        self.pause_button.setText("Pause")

    def _on_pause_toggled(self) -> None:
        if self.worker is None:
            return
        if self._paused:
            self.worker.resume_training()
            self._paused = False
            self.pause_button.setText("Pause")
            self.log("Resumed.")
        else:
            self.worker.pause()
            self._paused = True
            self.pause_button.setText("Resume")
            self.progress.setFormat(f"paused at step %v / %m")
            self.log("Paused (the model stays loaded; press Resume to continue).")

    def _on_stop(self) -> None:
        if self.worker is None or self._stopping:
            return
        self._stopping = True
        self.worker.stop()
        self.stop_button.setEnabled(False)
        self.pause_button.setEnabled(False)
        self.progress.setFormat("stopping — saving checkpoint and model…")
        self.log("Stopping: saving a checkpoint and the model so far…")

    def _on_sample_now(self) -> None:
        if self.worker is not None:
            self.worker.request_sample()

    # ------------------------------------------------------------------ worker signals
    def _on_progress(self, p: dict) -> None:
        step, total = int(p.get("step", 0)), int(p.get("total", 0) or 1)
        self._last_step = step
        if self.progress.maximum() != total:
            self.progress.setRange(0, total)
        self.progress.setValue(min(step, total))
        if self._paused:
            self.progress.setFormat("paused at step %v / %m")
        elif not self._stopping:
            self.progress.setFormat("step %v / %m  (%p%)")
        ips = float(p.get("images_per_s", 0.0) or 0.0)
        self.speed_label.setText(f"ETA {_fmt_duration(p.get('eta_s'))}  ·  {ips:,.0f} images/s  ·  "
                                 f"elapsed {_fmt_duration(p.get('elapsed_s'))}")

    def _on_metrics(self, step: int, values: dict) -> None:
        self.loss_plot.add_point(step, values)
        self.health_strip.on_metrics(step, values)
        self.sigMetrics.emit(step, values)

    def _on_health(self, event: dict) -> None:
        from imgen_desktop.core import health

        self.health_strip.on_health(event)
        state = event.get("state", "")
        try:
            title = health.rule(event.get("key", "")).title
        except KeyError:
            title = event.get("key", "")
        if state in ("warn", "bad"):
            remedies = "; ".join(event.get("remedies", ()))
            self.log(f"{title}: {event.get('explanation', '')}" + (f" — try: {remedies}" if remedies else "")
                     + " (click the light above the plot for one-click remedies)", "warning")
        else:
            self.log(f"{title}: {event.get('explanation', '')}")
        self.sigHealth.emit(event)

    def _on_samples(self, step: int, images: Any, kind: str, columns: int = 0) -> None:
        try:
            self.sample_grid.add_samples(step, np.asarray(images), kind, columns)
        except Exception as exc:
            self.log(f"could not show {kind}: {exc}", "warning")

    def _on_checkpoint(self, step: int, path: str) -> None:
        self.log(f"Checkpoint saved at step {step}.")

    # ------------------------------------------------------------------ one-click remedies
    def _on_remedy(self, changes: dict, restart: bool) -> None:
        """Apply a health remedy to the next run, or restart the current/last run from its checkpoint with it."""
        from imgen_desktop.core import health

        running = self.worker is not None
        cfg = self.worker.config if running else self.config()
        new = TrainConfig.from_dict(health.apply_remedy(cfg.to_dict(), changes))
        what = ", ".join(f"{k.replace('_factor', '')} → {getattr(new, k.replace('_factor', ''))}" for k in changes)
        if not restart:
            self.set_config(new)
            self.log(f"Remedy set for the next run: {what}." + (" The current run is unchanged." if running else ""))
            return
        blocked = [k for k in changes if k in health.NOT_RESUMABLE]
        name = cfg.name if running else self._last_run_name
        if blocked or not name:
            reason = (f"{', '.join(blocked)} changes the networks, so it cannot continue a checkpoint"
                      if blocked else "there is no run to restart yet")
            self.set_config(new)
            self.log(f"Remedy set for the next run ({what}): {reason}. Press Start for a new run.", "warning")
            return
        new.name = name
        if not running and self._last_step >= new.steps:
            # the run had reached its end: continue it for another half of its length
            new.steps = self._last_step + max(1, new.steps // 2)
            self.log(f"“{name}” had finished; it continues to step {new.steps} with the remedy.")
        if running:
            self._pending_restart = new
            self.log(f"Restarting “{name}” from its last checkpoint with {what}…")
            self._on_stop()
        else:
            self._restart_from_checkpoint(new)

    def _restart_from_checkpoint(self, cfg: TrainConfig) -> None:
        self._pending_restart = None
        self.set_config(cfg)
        self._set_resume(cfg.name)
        self._on_start()

    def _on_finished(self, result: dict) -> None:
        if result.get("run_dir"):
            self._last_run_name = Path(result["run_dir"]).name
        name = result.get("model_name", "")
        step = result.get("step", self._last_step)
        how = "Stopped" if result.get("stopped_early") else "Finished"
        self.progress.setFormat(f"{how.lower()} at step {step}")
        where = "the Models tab" + (" and the Enhance tab" if self.task_combo.currentData() in ENHANCE_TASKS else "")
        if name:
            self.log(f"{how} at step {step}. Model saved as “{name}” — find it on {where}.")
            self.sigModelSaved.emit(name)
        else:
            self.log(f"{how} at step {step}.")

    def _on_failed(self, message: str) -> None:
        self.progress.setFormat("failed")
        self._show_error(message)

    def _on_thread_finished(self) -> None:
        worker = self.sender() or self.worker
        if worker is self.worker:
            if self.worker is not None:
                self._last_run_name = self.worker.config.name or self._last_run_name
            self.worker = None
            self._set_running(False)
            self.sigRunEnded.emit()
            if self._pending_restart is not None:
                QTimer.singleShot(0, lambda cfg=self._pending_restart: self._restart_from_checkpoint(cfg))
        if worker is not None:
            worker.deleteLater()

    # ------------------------------------------------------------------ resume an earlier run
    def _list_runs(self) -> list[tuple[str, dict, float]]:
        from imgen_desktop.core.paths import runs_dir

        runs = []
        for d in runs_dir().iterdir():
            cfg_file = d / "config.json"
            if d.is_dir() and cfg_file.is_file():
                try:
                    data = json.loads(cfg_file.read_text(encoding="utf-8"))
                except (OSError, ValueError):
                    continue
                runs.append((d.name, data if isinstance(data, dict) else {}, cfg_file.stat().st_mtime))
        runs.sort(key=lambda r: r[2], reverse=True)
        return runs

    def _on_resume_run(self) -> None:
        runs = self._list_runs()
        if not runs:
            self._show_error("There is no earlier run to continue yet: start one first.", title="Nothing to resume")
            return
        dlg = QDialog(self)
        dlg.setObjectName("resumeRunDialog")
        dlg.setWindowTitle("Continue an earlier run")
        v = QVBoxLayout(dlg)
        v.addWidget(QLabel("Pick a run to continue from its last checkpoint.\nYou can raise Steps before pressing Continue.", dlg))
        lst = QListWidget(dlg)
        lst.setObjectName("runList")
        for name, data, mtime in runs:
            task = data.get("task", "?") + (f" x{data.get('scale')}" if data.get("task") == "upscale" else "")
            item = QListWidgetItem(f"{name}  —  {str(data.get('family', '?')).upper()} {task}, {data.get('steps', '?')} steps, "
                                   f"{time.strftime('%Y-%m-%d %H:%M', time.localtime(mtime))}")
            item.setData(Qt.ItemDataRole.UserRole, name)
            lst.addItem(item)
        lst.setCurrentRow(0)
        v.addWidget(lst)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, dlg)
        buttons.accepted.connect(dlg.accept)
        buttons.rejected.connect(dlg.reject)
        lst.itemDoubleClicked.connect(lambda _: dlg.accept())
        v.addWidget(buttons)
        dlg.resize(560, 320)
        if dlg.exec() != QDialog.DialogCode.Accepted or lst.currentItem() is None:
            return
        self.prepare_resume(lst.currentItem().data(Qt.ItemDataRole.UserRole))

    def prepare_resume(self, name: str) -> None:
        """Load run ``name``'s settings and curves; the next Start continues it."""
        from imgen_desktop.core.paths import runs_dir

        try:
            data = json.loads((runs_dir() / name / "config.json").read_text(encoding="utf-8"))
            cfg = TrainConfig.from_dict(data)
        except (OSError, ValueError, TypeError) as exc:
            self._show_error(f"cannot read the settings of run {name!r}: {exc}")
            return
        cfg.name = name
        self.set_config(cfg)
        self._set_resume(name)
        self.loss_plot.reset()
        self.sample_grid.clear()
        self.log(f"Loaded run “{name}”: press Continue to resume it from its last checkpoint.")

        def load(name=name):
            from imgen_desktop.core.trainer import load_metrics

            return load_metrics(name)
        self._pool.start(load, on_done=self._on_history_loaded, on_error=lambda m, _t: self.log(f"could not read the curves: {m}", "warning"), tag=name)

    def _on_history_loaded(self, records: Any, tag: Any) -> None:
        if self.is_training() and self.worker is not None and self.worker.config.name != tag:
            return
        self.loss_plot.load_history(list(records))
        self.health_strip.set_family(self.family_combo.currentData() or "gan")
        self.health_strip.reset()
        self.health_strip.load_history(list(records))
        if records:
            self._last_step = int(records[-1].get("step", 0))
            self.log(f"Reloaded {len(records)} curve points up to step {self._last_step}.")

    # ------------------------------------------------------------------ log and errors
    def log(self, message: str, level: str = "info") -> None:
        if level == "debug":
            sys.stderr.write(message + "\n")
            return
        stamp = time.strftime("%H:%M:%S")
        colour = {"warning": "#d08020", "error": "#e05050"}.get(level)
        text = html.escape(message).replace("\n", "<br>")
        body = f"<span style='color:{colour}'>{text}</span>" if colour else text
        self.run_log.appendHtml(f"<span style='color:#888'>{stamp}</span> {body}")

    def _show_error(self, message: str, title: str = "Training problem") -> None:
        self.log(message, "error")
        if self._error_box is not None:
            self._error_box.close()
        box = QMessageBox(QMessageBox.Icon.Warning, title, message, QMessageBox.StandardButton.Ok, self)
        box.setObjectName("trainErrorBox")
        box.setWindowModality(Qt.WindowModality.NonModal)
        box.show()
        self._error_box = box
