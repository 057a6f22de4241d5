"""Plain state of the Train tab, one object per concern, with no widgets (unit-tested alone).

* :class:`FormState` — the run configuration the form describes: family, task, preset, the
  settings, a remedy chosen for the next run (kept across preset / task changes, or dropped
  with a note), the dataset a task switched to (with a note), the run name typed ("" = a new
  unique name at Start).
* :class:`RunState` — what the run is doing: idle / starting / running / paused / stopping, step,
  a smoothed ETA (an exponential moving average of the step rate), the last run's name and how
  it ended ("Stopped at step N").

The views read these and show them (under ``QSignalBlocker``); handlers change them.
"""
from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass, field
from typing import Any, Callable

from imgen_desktop.core import tasks as vocab
from imgen_desktop.core.config import TrainConfig


# --- the form's fields: one table for labels, scopes and help ------------------------------------
@dataclass(frozen=True)
class FieldSpec:
    name: str
    label: str
    kind: str  # int | float | percent (a 0-1 share shown as %) | text_float | bool | choice
    lo: float = 0
    hi: float = 0
    step: float = 1
    decimals: int = 0
    choices: tuple[tuple[str, Any], ...] = ()
    families: tuple[str, ...] | None = None
    tasks: tuple[str, ...] | None = None
    group: str = "main"  # main | family

    def applies(self, family: str, task: str) -> bool:
        return (self.families is None or family in self.families) and (self.tasks is None or task in self.tasks)


_ENH = vocab.ENHANCE_TASKS
FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("image_size", "Image size (px)", "int", 8, 1024, 8),
    FieldSpec("batch_size", "Batch size", "int", 1, 4096),
    FieldSpec("steps", "Steps", "int", 1, 10_000_000, 100),
    FieldSpec("lr", "Learning rate", "text_float"),
    FieldSpec("width", "Network width", "int", 4, 1024, 8),
    FieldSpec("channels", "Colour", "choice", choices=(("from the data", 0), ("grayscale", 1), ("RGB", 3))),
    FieldSpec("seed", "Seed", "int", 0, 2_147_483_647),
    FieldSpec("sample_every", "Samples every (steps)", "int", 0, 1_000_000, 50),
    FieldSpec("checkpoint_every", "Checkpoint every (steps)", "int", 0, 1_000_000, 100),
    FieldSpec("val_split", "Hold out for validation", "percent", 0, 50, 5, 0),  # TrainConfig.val_split, as %
    FieldSpec("gan_loss", "GAN loss", "choice", choices=(("non-saturating", "nonsat"), ("hinge", "hinge"),
              ("WGAN-GP", "wgan-gp"), ("classic BCE", "bce")), families=("gan",), group="family"),
    FieldSpec("spectral_norm", "Spectral norm", "bool", families=("gan",), group="family"),
    FieldSpec("ema", "Generator EMA", "float", 0.0, 0.99999, 0.001, 5, families=("gan",), tasks=("generate",), group="family"),
    FieldSpec("augment", "Augmentation", "bool", families=("gan",), tasks=("generate",), group="family"),
    FieldSpec("z_dim", "Latent size (z)", "int", 1, 4096, families=("gan",), tasks=("generate",), group="family"),
    FieldSpec("categories", "Categories (InfoGAN)", "int", 0, 256, families=("gan",), tasks=("generate",), group="family"),
    FieldSpec("temperature", "Sampling temperature", "float", 0.05, 4.0, 0.05, 2, families=("gan",), tasks=("generate",), group="family"),
    FieldSpec("reuse_fakes", "One generator pass a step", "bool", families=("gan",), tasks=("generate",), group="family"),
    FieldSpec("adv_weight", "Adversarial weight", "float", 0.0, 10.0, 0.005, 4, families=("gan",), tasks=_ENH, group="family"),
    FieldSpec("beta", "β (KL weight)", "float", 0.0, 100.0, 0.1, 3, families=("vae",), group="family"),
    FieldSpec("kl_warmup", "KL warm-up (steps)", "int", 0, 1_000_000, 100, families=("vae",), group="family"),
    FieldSpec("free_bits", "Free bits (nats)", "float", 0.0, 10.0, 0.05, 3, families=("vae",), group="family"),
    FieldSpec("latent_dim", "Latent size", "int", 1, 4096, families=("vae", "rnn"), group="family"),
    FieldSpec("rnn_steps", "Recurrent steps", "int", 1, 256, families=("rnn",), group="family"),
    FieldSpec("rnn_hidden", "Hidden size", "int", 8, 8192, 32, families=("rnn",), group="family"),
    FieldSpec("clip_grad", "Clip gradient norm", "float", 0.0, 1000.0, 0.5, 2, families=("rnn",), group="family"),
    FieldSpec("noise_sigma", "Max noise σ (0-255)", "float", 0.0, 255.0, 5.0, 1, tasks=("denoise",), group="family"),
)
FIELDS_BY_NAME = {f.name: f for f in FIELDS}
FIELD_LABELS = {f.name: f.label for f in FIELDS} | {"name": "Run name", "data": "Pictures", "device": "Device",
                                                    "scale": "Scale", "family": "Model family", "task": "Task"}

BUILTIN_DATASETS = (
    ("builtin:digits", "Handwritten digits (1,797 tiny 8x8 pictures)"),
    ("builtin:faces", "Faces (small grayscale portraits)"),
    ("builtin:photos", "Photos (sample photos; good for upscale/denoise/inpaint)"),
)
SMALL_BUILTINS = ("builtin:digits", "builtin:faces")


# --- GUI wording ------------------------------------------------------------------------------
_FLAG = re.compile(r"--([a-z][a-z0-9-]*)")
_FLAG_FIELDS = {"loss": "gan_loss", "data": "data", "resume": None}


def gui_message(text: str) -> str:
    """An engine message in the GUI's words: ``--lr`` -> "Learning rate", no CLI flags."""
    def repl(m: re.Match) -> str:
        name = m.group(1).replace("-", "_")
        name = _FLAG_FIELDS.get(m.group(1), name)
        if name is None:
            return "Resume"
        label = FIELD_LABELS.get(name)
        return f"“{label}”" if label else m.group(0)
    text = re.sub(r"\s*\(--resume [^)]*\)", "", text)
    return _FLAG.sub(repl, text)


def exists_message(name: str) -> str:
    return f"A run named “{name}” already exists — Resume it, or choose another name."


# --- the form ---------------------------------------------------------------------------------
@dataclass
class FormState:
    """The configuration being edited, and what changing family / task / preset does to it."""

    config: TrainConfig = field(default_factory=TrainConfig)
    remedy: dict[str, Any] = field(default_factory=dict)  # changes chosen for the next run
    remedy_label: str = ""
    dataset_note: str = ""
    remedy_note: str = ""
    presets: Any = None  # the core.presets module (loaded lazily by the view)

    @property
    def family(self) -> str:
        return self.config.family

    @property
    def task(self) -> str:
        return self.config.task

    def preset_names(self) -> list[str]:
        if self.presets is None:
            return ["quick", "standard", "quality"] + (["classic"] if (self.family, self.task) == ("gan", "generate") else [])
        return list(self.presets.preset_names(self.family, self.task))

    def visible_fields(self) -> list[str]:
        return [f.name for f in FIELDS if f.applies(self.family, self.task)]

    def set_value(self, name: str, value: Any) -> None:
        setattr(self.config, name, value)

    def set_family(self, family: str) -> None:
        self.config.family = family
        self._reapply()

    def set_task(self, task: str) -> None:
        old = self.config.task
        self.config.task = task
        data = self.config.data
        self.dataset_note = ""
        if vocab.task(task).enhances and data in SMALL_BUILTINS:
            self.config.data = "builtin:photos"
            self.dataset_note = (f"{vocab.task(task).label} learns from photos: {data} has pictures too small for it, "
                                 "so builtin:photos is used.")
        elif task == "generate" and data == "builtin:photos" and old != "generate":
            self.config.data = "builtin:digits"
            self.dataset_note = "Generate starts from builtin:digits (small pictures train fast); choose photos again if you like."
        self._reapply()

    def set_scale(self, scale: int) -> None:
        self.config.scale = int(scale)
        self._reapply()

    def set_preset(self, preset: str) -> None:
        self.config.preset = preset
        self._reapply()

    def set_data(self, data: str) -> None:
        if data != self.config.data:
            self.dataset_note = ""
        self.config.data = data

    def _reapply(self) -> None:
        """The preset's values for the current family / task, then the remedy (or a note that it was dropped)."""
        names = self.preset_names()
        if self.config.preset not in names:
            self.config.preset = "standard" if "standard" in names else names[0]
        if self.presets is not None:
            keep = {k: getattr(self.config, k) for k in ("data", "device", "name", "seed", "channels")}
            self.config = dataclasses.replace(self.presets.apply_preset(self.config, self.config.preset), **keep)
        self._apply_remedy()

    def choose_remedy(self, label: str, changes: dict[str, Any]) -> TrainConfig:
        """Use ``changes`` (a core.health remedy) for the next run; returns the new config."""
        from imgen_desktop.core import health

        self.remedy_label = label
        self.config = TrainConfig.from_dict(health.apply_remedy(self.config.to_dict(), changes))
        names = [k[: -len("_factor")] if k.endswith("_factor") else k for k in changes]
        self.remedy = {k: getattr(self.config, k) for k in names}  # absolute values, re-applied over presets
        self.remedy_note = f"For the next run: {label.lower()}."
        return self.config

    def _apply_remedy(self) -> None:
        if not self.remedy:
            return
        kept = {k: v for k, v in self.remedy.items() if self._remedy_applies(k)}
        if len(kept) < len(self.remedy):
            self.remedy_note = (f"The remedy “{self.remedy_label.lower()}” was dropped: it does not apply to "
                                f"{vocab.family(self.family).label} {vocab.task_title(self.task)}.")
            self.remedy, self.remedy_label = {}, ""
            return
        for key, value in kept.items():
            setattr(self.config, key, value)
        self.remedy_note = f"For the next run: {self.remedy_label.lower()} (kept over the preset)."

    def _remedy_applies(self, key: str) -> bool:
        spec = FIELDS_BY_NAME.get(key)
        return spec is None or spec.applies(self.family, self.task)

    def run_started(self) -> None:
        """A run took this configuration: the remedy is used up, the next run gets a new name."""
        self.remedy, self.remedy_label, self.remedy_note = {}, "", ""
        self.config.name = ""


# --- the run ------------------------------------------------------------------------------------
IDLE, STARTING, RUNNING, PAUSED, STOPPING = "idle", "starting", "running", "paused", "stopping"


def fmt_duration(seconds: float | None) -> str:
    if seconds is None or not math.isfinite(seconds) or seconds < 0:
        return "—"
    seconds = int(round(seconds))
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


@dataclass
class RunState:
    """Phase, step and a smoothed ETA of the run (or of the last one)."""

    phase: str = IDLE
    run_name: str = ""  # the run now, or the last one
    resume_name: str = ""  # the next Start continues this run ("" = a new run)
    step: int = 0
    total: int = 0
    elapsed_s: float = 0.0
    images_per_s: float = 0.0
    rate: float = 0.0  # steps per second, smoothed
    ended: str = ""  # "Stopped at step 120" / "Finished at step 300" / "Failed at step 3"
    tau_s: float = 8.0  # time constant of the step-rate average
    settle_s: float = 2.0  # seconds of steps measured before an ETA is shown
    _first: float | None = None  # elapsed_s of the first progress of this session
    _last: tuple[float, int] | None = None
    clock: Callable[[], float] | None = None

    @property
    def busy(self) -> bool:
        return self.phase != IDLE

    def start(self, name: str, total: int, resume: bool) -> None:
        self.phase, self.run_name, self.total = STARTING, name, int(total)
        self.resume_name = ""
        self.ended, self.rate, self._last, self._first, self.images_per_s = "", 0.0, None, None, 0.0
        if not resume:
            self.step, self.elapsed_s = 0, 0.0

    def on_progress(self, step: int, total: int, elapsed_s: float, images_per_s: float = 0.0) -> None:
        step, elapsed_s = int(step), float(elapsed_s)
        if self.phase == STARTING:
            self.phase = RUNNING
        if self._last is not None:
            t0, s0 = self._last
            dt, ds = elapsed_s - t0, step - s0
            if dt > 0 and ds >= 0:
                weight = 1.0 - math.exp(-dt / self.tau_s)
                inst = ds / dt
                self.rate = inst if self.rate <= 0 else self.rate + weight * (inst - self.rate)
        if self._last is None or elapsed_s > self._last[0]:
            self._last = (elapsed_s, step)
        if self._first is None:
            self._first = elapsed_s
        self.step, self.total, self.elapsed_s = step, int(total or self.total), elapsed_s
        if images_per_s > 0:
            self.images_per_s = images_per_s if self.images_per_s <= 0 else 0.8 * self.images_per_s + 0.2 * images_per_s

    @property
    def eta_s(self) -> float | None:
        """Seconds left at the smoothed step rate; None until a few seconds of steps were measured."""
        if self.phase not in (RUNNING, PAUSED) or self.rate <= 0 or self._measured_s() < self.settle_s:
            return None
        return max(0, self.total - self.step) / self.rate

    def _measured_s(self) -> float:
        return 0.0 if self._first is None or self._last is None else self._last[0] - self._first

    def pause(self) -> None:
        if self.phase in (RUNNING, STARTING):
            self.phase = PAUSED

    def resume(self) -> None:
        if self.phase == PAUSED:
            self.phase = RUNNING

    def stop(self) -> None:
        if self.phase != IDLE:
            self.phase = STOPPING

    def finished(self, step: int, stopped: bool) -> None:
        self.step = int(step)
        self.ended = f"{'Stopped' if stopped else 'Finished'} at step {self.step:,}"
        self.phase = IDLE

    def failed(self) -> None:
        self.ended = f"Failed at step {self.step:,}"
        self.phase = IDLE

    def ended_thread(self) -> None:
        if self.phase != IDLE:
            self.ended = self.ended or f"Ended at step {self.step:,}"
            self.phase = IDLE

    def progress_format(self) -> str:
        if self.phase == STARTING:
            return "starting…"
        if self.phase == PAUSED:
            return "paused at step %v / %m"
        if self.phase == STOPPING:
            return "stopping — saving checkpoint and model…"
        if self.phase == RUNNING:
            return "step %v / %m  (%p%)"
        return self.ended.lower() if self.ended else "ready"

    def speed_text(self) -> str:
        """ETA, speed and elapsed while running; how it ended afterwards ("" before the first run)."""
        if self.phase == IDLE:
            return self.ended
        if self.phase == STOPPING:
            return f"Stopping at step {self.step:,}…"
        eta = self.eta_s
        parts = [f"ETA {fmt_duration(eta)}" if eta is not None else "ETA: measuring…"]
        if self.images_per_s > 0:
            parts.append(f"{self.images_per_s:,.0f} images/s")
        parts.append(f"elapsed {fmt_duration(self.elapsed_s)}")
        return "  ·  ".join(parts)
