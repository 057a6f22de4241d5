"""Training runs as plain data: list them, read one's summary and curves, and learn how fast
each kind of run trains here (for "about 6 min on CPU" before Start).

Read by the GUI (the Resume dialog, the cost hint) and by ``imgen runs list/show/plot``; the
trainer writes the files (``core.trainer``: ``runs/NAME/config.json``, ``metrics.jsonl``,
``checkpoint.pt``, ``samples/``). Pure Python: no torch, no Qt.

Also the one table of human labels for metric keys (``loss.d`` -> "Discriminator").
"""
from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

from imgen_desktop.core import paths
from imgen_desktop.core.atomic import write_text_atomic
from imgen_desktop.core.config import TrainConfig
from imgen_desktop.core.errors import ImgenError
from imgen_desktop.core.trainer import CHECKPOINT, CONFIG, METRICS, load_metrics, load_run_config

SPEEDS_FILE = "speeds.json"

# --- metric labels ----------------------------------------------------------------------------
# One place for what a metric key is called on screen (loss plot legend, health detail, CLI plot).
METRIC_LABELS: dict[str, str] = {
    "loss.d": "Discriminator",
    "loss.g": "Generator",
    "loss.gp": "Gradient penalty",
    "loss.adv": "Adversarial",
    "loss.l1": "Reconstruction (L1)",
    "loss.l2": "Reconstruction (L2)",
    "loss.mse": "Reconstruction (MSE)",
    "loss.recon": "Reconstruction",
    "loss.kl": "KL divergence",
    "loss.total": "Total",
    "loss.pixel": "Pixel loss",
    "loss.pixel_first": "Pixel loss (first unroll step)",
    "health.diversity": "Sample diversity (1 = like the data)",
    "health.d_gap": "Discriminator real/fake gap",
    "health.d_real": "Discriminator on real pictures",
    "health.d_fake": "Discriminator on generated pictures",
    "health.active_units": "Active latent units",
    "health.grad_norm": "Gradient norm",
    "health.grad_ratio": "Gradient ratio, first / last step",
    "health.grad_ratio_low": "Gradient ratio, first / last step",
    "health.grad_ratio_high": "Gradient ratio, first / last step",
    "health.grad_norm_mean": "Mean gradient norm",
    "health.kl_per_dim": "KL per latent dimension",
    "health.clip_fraction": "Share of steps clipped",
    "lr": "Learning rate",
    "psnr": "PSNR (dB)",
    "val.loss": "Validation (held-out)",
    "val.train": "Training, same measure",
    "val.recon": "Validation reconstruction",
    "val.psnr": "Validation PSNR (dB)",
    "val.d_real": "Discriminator on held-out pictures",
    "val.d_fake": "Discriminator on generated pictures (validation)",
    "val.train_d_real": "Discriminator on training pictures (validation)",
    "health.overfit": "Validation loss above its lowest (%)",
    "health.d_overfit": "Discriminator overfitting (r_v)",
}
# the validation curves (core.validation) are drawn with the losses: same units, same axes
VAL_CURVES = ("val.loss", "val.train")


def is_loss_curve(key: str) -> bool:
    """Whether a metric is drawn on the loss plot (a ``loss.*`` term or a validation curve)."""
    return key.startswith("loss.") or key in VAL_CURVES


def metric_label(key: str) -> str:
    """The human label of a metric key; unknown keys read as "Foo bar" from ``loss.foo_bar``."""
    if key in METRIC_LABELS:
        return METRIC_LABELS[key]
    short = key.split(".", 1)[1] if "." in key else key
    return short.replace("_", " ").capitalize() or key


# --- runs -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class RunSummary:
    name: str
    family: str = ""
    task: str = ""
    scale: int = 1
    dataset: str = ""
    steps_planned: int = 0
    steps_reached: int = 0
    final_losses: dict[str, float] = field(default_factory=dict)
    created: float = 0.0
    updated: float = 0.0
    has_checkpoint: bool = False
    model_path: str = ""  # "" when the run has not exported a model (yet)
    batch_size: int = 0
    image_size: int = 0
    train_time_s: float = 0.0  # active training time recorded in metrics.jsonl
    problem: str = ""  # why the run could not be read fully ("" when fine)

    @property
    def finished(self) -> bool:
        return self.steps_planned > 0 and self.steps_reached >= self.steps_planned

    @property
    def resumable(self) -> bool:
        return self.has_checkpoint and not self.problem


def run_folder(name: str) -> Path:
    """``$IMGEN_HOME/runs/NAME`` through the one name validator (ImgenError for an unsafe name)."""
    return paths.run_dir(name)


def run_exists(name: str) -> bool:
    """True if a run or a model already uses ``name`` (a new run may not take it)."""
    folder = run_folder(name)
    return (folder / CHECKPOINT).is_file() or (folder / METRICS).is_file() or (paths.models_dir() / f"{name}.safetensors").is_file()


def _tail_rows(path: Path, max_bytes: int = 256 * 1024) -> list[dict]:
    """The parsed last lines of a metrics file (enough for the final values; cheap for long runs)."""
    try:
        with open(path, "rb") as fh:
            fh.seek(0, 2)
            size = fh.tell()
            fh.seek(max(0, size - max_bytes))
            data = fh.read()
    except OSError:
        return []
    lines = data.decode("utf-8", errors="replace").splitlines()
    if size > max_bytes and lines:
        lines = lines[1:]  # the first one is probably cut
    rows = []
    for line in lines:
        try:
            row = json.loads(line)
        except ValueError:
            continue
        if isinstance(row, dict) and "step" in row:
            rows.append(row)
    return rows


def _finite(value) -> float | None:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def read_run(name: str) -> RunSummary:
    """The summary of run ``name``; never raises for a damaged run (``problem`` says what is wrong)."""
    problem = ""
    try:
        folder = run_folder(name)
    except ImgenError as exc:  # a folder someone named by hand: listed with its problem, never used
        folder, problem = paths.runs_dir() / name, str(exc)
    try:
        cfg = load_run_config(name)
    except ImgenError as exc:
        cfg, problem = TrainConfig(family="", task="", data=""), str(exc)
    rows = _tail_rows(folder / METRICS)
    finals: dict[str, float] = {}
    for row in reversed(rows):
        for key, value in row.items():
            if is_loss_curve(key) and key not in finals and _finite(value) is not None:
                finals[key] = float(value)
    reached = int(rows[-1]["step"]) if rows else 0
    train_time = _finite(rows[-1].get("time")) if rows else None
    stamps = [p.stat().st_mtime for p in (folder / CONFIG, folder / METRICS, folder / CHECKPOINT) if p.is_file()]
    samples = sorted((folder / "samples").glob("step_*.png")) if (folder / "samples").is_dir() else []
    created = min([samples[0].stat().st_mtime] + stamps) if samples else min(stamps, default=0.0)
    model = paths.models_dir() / f"{name}.safetensors"
    return RunSummary(
        name=name, family=cfg.family, task=cfg.task, scale=int(cfg.scale) if cfg.task == "upscale" else 1,
        dataset=cfg.data, steps_planned=int(cfg.steps) if not problem else 0, steps_reached=reached,
        final_losses=dict(sorted(finals.items())), created=created, updated=max(stamps, default=0.0),
        has_checkpoint=(folder / CHECKPOINT).is_file(), model_path=str(model) if model.is_file() else "",
        batch_size=int(cfg.batch_size), image_size=int(cfg.image_size), train_time_s=float(train_time or 0.0),
        problem=problem,
    )


def list_runs() -> list[RunSummary]:
    """Every run in the data root, most recently updated first."""
    root = paths.runs_dir()
    runs = [read_run(d.name) for d in root.iterdir() if d.is_dir() and not d.name.startswith(".")]
    return sorted(runs, key=lambda r: r.updated, reverse=True)


def load_curves(name: str) -> list[dict]:
    """Every parsed ``metrics.jsonl`` row of a run (each has ``step``); [] if there is none."""
    return load_metrics(name)


# --- measured speed -----------------------------------------------------------------------------
# images/s per (family, task, device, image size, width), recorded after every GUI run; the
# fallback figures are the idle 2-core CPU of benchmarks/RESULTS.md (standard presets, 32 px,
# width 32, 2026-12-02 fourth session: GAN 3600 x 64 images in 323 s, VAE 4000 x 64 in 314 s,
# DRAW 3000 x 64 in 403 s, start-up and export included).
REFERENCE_CPU_IMAGES_PER_S = {("gan", "generate"): 710.0, ("vae", "generate"): 815.0, ("rnn", "generate"): 475.0}
REFERENCE = {"image_size": 32, "width": 32}


def speed_key(family: str, task: str, device: str, image_size: int, width: int) -> str:
    return f"{family}/{task}/{device}/{int(image_size)}/{int(width)}"


def _speeds_path() -> Path:
    return paths.data_root() / SPEEDS_FILE


def load_speeds() -> dict[str, dict]:
    try:
        data = json.loads(_speeds_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {k: v for k, v in data.items() if isinstance(v, dict) and _finite(v.get("images_per_s"))} if isinstance(data, dict) else {}


def record_speed(family: str, task: str, device: str, image_size: int, width: int, images_per_s: float) -> None:
    """Remember how fast such a run trained on ``device`` (written atomically)."""
    ips = _finite(images_per_s)
    if ips is None or ips <= 0:
        return
    speeds = load_speeds()
    speeds[speed_key(family, task, device, image_size, width)] = {"images_per_s": round(ips, 2), "time": time.time()}
    write_text_atomic(_speeds_path(), json.dumps(speeds, indent=1, sort_keys=True))


def _work(image_size: int, width: int) -> float:
    """Relative cost of one picture (pixels times network width), for scaling a measured speed."""
    return max(1, image_size) ** 2 * max(1, width)


def _scaled(ips: float, measured_work: float, work: float) -> float:
    """A measured speed moved to another picture size / width. Smaller networks do not get
    proportionally faster (fixed costs per step dominate them), so the speed-up is capped at 2x."""
    return ips * min(measured_work / work, 2.0)


@dataclass(frozen=True)
class Estimate:
    seconds: float
    measured: bool  # False: the reference CPU figure, nothing measured on this machine yet

    def text(self, device_label: str) -> str:
        when = format_minutes(self.seconds)
        when = when if when.startswith("under") else f"about {when}"
        return f"{when} on {device_label}" + ("" if self.measured else " (figure for an idle 2-core CPU)")


def estimate(cfg: TrainConfig, device: str, speeds: dict[str, dict] | None = None) -> Estimate | None:
    """How long ``cfg`` will take on ``device`` from the speeds measured here (None: no idea yet)."""
    speeds = load_speeds() if speeds is None else speeds
    images = max(0, int(cfg.steps)) * max(1, int(cfg.batch_size))
    exact = speeds.get(speed_key(cfg.family, cfg.task, device, cfg.image_size, cfg.width))
    if exact:
        return Estimate(images / float(exact["images_per_s"]), True)
    prefix = f"{cfg.family}/{cfg.task}/{device}/"
    near = [(k, v) for k, v in speeds.items() if k.startswith(prefix)]
    if near:  # the newest measurement of the same kind of run, scaled by the work per picture
        key, value = max(near, key=lambda kv: float(kv[1].get("time", 0) or 0))
        try:
            size, width = (int(p) for p in key.rsplit("/", 2)[1:])
        except ValueError:
            size, width = cfg.image_size, cfg.width
        ips = _scaled(float(value["images_per_s"]), _work(size, width), _work(cfg.image_size, cfg.width))
        return Estimate(images / ips, True)
    ref = REFERENCE_CPU_IMAGES_PER_S.get((cfg.family, cfg.task))
    if ref and device == "cpu":
        ips = _reference_speed(cfg.family, cfg.task, cfg.image_size, cfg.width)
        factor = _machine_factor(speeds)  # how this CPU compares with the reference, from any run measured here
        return Estimate(images / (ips * (factor or 1.0)), factor is not None)
    return None


def _reference_speed(family: str, task: str, image_size: int, width: int) -> float:
    ref = REFERENCE_CPU_IMAGES_PER_S[(family, task)]
    return _scaled(ref, _work(REFERENCE["image_size"], REFERENCE["width"]), _work(image_size, width))


def _machine_factor(speeds: dict[str, dict]) -> float | None:
    """Measured CPU speed over the reference figure (median over the kinds of run measured here)."""
    ratios = []
    for key, value in speeds.items():
        try:
            family, task, device, size, width = key.split("/")
            if device == "cpu" and (family, task) in REFERENCE_CPU_IMAGES_PER_S:
                ratios.append(float(value["images_per_s"]) / _reference_speed(family, task, int(size), int(width)))
        except (ValueError, KeyError, TypeError):
            continue  # an entry this version does not understand
    return sorted(ratios)[len(ratios) // 2] if ratios else None


def format_minutes(seconds: float) -> str:
    """Rounded for a plan: "under a minute", "6 min", "1 h 20 min"."""
    if not math.isfinite(seconds) or seconds < 0:
        return "an unknown time"
    if seconds < 60:
        return "under a minute"
    minutes = int(round(seconds / 60))
    if minutes < 60:
        return f"{minutes} min"
    h, m = divmod(minutes, 60)
    return f"{h} h {m} min" if m else f"{h} h"


# --- curves and sample grids (compare runs, ``imgen runs show/plot``, the sample timeline) -------

@dataclass(frozen=True)
class Curve:
    """One metric of one run as arrays: ``steps`` (int64), ``times`` (active training seconds,
    NaN where a line has none) and ``values`` (float64, NaN where a value was not finite)."""

    key: str
    steps: "np.ndarray"
    times: "np.ndarray"
    values: "np.ndarray"

    def __len__(self) -> int:
        return len(self.steps)

    def last(self) -> tuple[int, float] | None:
        """(step, value) of the last finite value, None if there is none."""
        import numpy as np

        finite = np.flatnonzero(np.isfinite(self.values))
        if not len(finite):
            return None
        i = int(finite[-1])
        return int(self.steps[i]), float(self.values[i])


def read_curves(name: str, keys: "list[str] | tuple[str, ...] | None" = None) -> dict[str, Curve]:
    """Every metric of run ``name`` (or only ``keys``) as :class:`Curve` arrays, in step order.

    Lines cut short by a crash are skipped; a value written as "nan"/"inf" reads as NaN. A step
    that occurs twice (a resumed run's older lines are cut by the trainer, but be safe) keeps
    the later value. {} for a run without metrics.
    """
    import numpy as np

    wanted = set(keys) if keys is not None else None
    cols: dict[str, tuple[list[int], list[float], list[float]]] = {}
    for row in load_curves(name):
        step = row.get("step")
        if isinstance(step, bool) or not isinstance(step, (int, float)) or not math.isfinite(step):
            continue
        t = _finite(row.get("time"))
        for key, value in row.items():
            if key in ("step", "time") or (wanted is not None and key not in wanted):
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float, str)):
                continue
            try:
                v = float(value)
            except ValueError:
                continue
            s, ts, vs = cols.setdefault(key, ([], [], []))
            s.append(int(step))
            ts.append(math.nan if t is None else t)
            vs.append(v if math.isfinite(v) else math.nan)
    out: dict[str, Curve] = {}
    for key in sorted(cols):
        s, ts, vs = (np.asarray(a) for a in cols[key])
        order = np.argsort(s, kind="stable")
        s, ts, vs = s[order].astype(np.int64), ts[order].astype(np.float64), vs[order].astype(np.float64)
        keep = np.ones(len(s), dtype=bool)
        keep[:-1] = s[1:] != s[:-1]  # the last of equal steps
        out[key] = Curve(key, s[keep], ts[keep], vs[keep])
    return out


@dataclass(frozen=True)
class SampleGrid:
    step: int
    kind: str  # "samples", "reconstructions", "canvas", "enhanced", ...
    path: str


def sample_grids(name: str, kind: str | None = None) -> list[SampleGrid]:
    """The sample grids a run saved (``samples/step_000200[_kind].png``) by step, then kind.

    ``kind`` keeps only that kind ("samples" for the plain grids)."""
    import re

    folder = run_folder(name) / "samples"
    if not folder.is_dir():
        return []
    pattern = re.compile(r"^step_(\d+)(?:_([A-Za-z0-9]+))?\.png$")
    grids = []
    for path in folder.iterdir():
        m = pattern.match(path.name)
        if not m or not path.is_file():
            continue
        grid = SampleGrid(int(m.group(1)), m.group(2) or "samples", str(path))
        if kind is None or grid.kind == kind:
            grids.append(grid)
    return sorted(grids, key=lambda g: (g.step, g.kind != "samples", g.kind))


def sample_grid_path(name: str, step: int, kind: str = "samples") -> Path:
    """Where the trainer saves run ``name``'s ``kind`` grid of ``step`` (it may not exist)."""
    suffix = "" if kind == "samples" else f"_{kind}"
    return run_folder(name) / "samples" / f"step_{int(step):06d}{suffix}.png"
