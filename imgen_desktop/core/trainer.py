"""The one training loop for every family and task.

``train(config, on_event, token)`` resolves the device, loads the dataset, builds the recipe
from the registry, and runs steps while emitting plain-data events. Between steps it checks
the control token (pause blocks with the model loaded; stop saves and exports). A run lives in
``$IMGEN_HOME/runs/NAME/``:

* ``config.json`` — the TrainConfig;
* ``metrics.jsonl`` — one JSON object per line, each with ``step``;
* ``samples/step_000200.png`` — sample grids (other kinds: ``step_000200_<kind>.png``);
* ``checkpoint.pt`` — networks, optimizers, EMA, step, RNG states and config, written
  atomically, loaded with ``torch.load(weights_only=True)``.

At the end or on stop the inference network is exported to ``$IMGEN_HOME/models/NAME.safetensors``.
"""
from __future__ import annotations

import dataclasses
import json
import math
import random
import re
import time
import traceback
from collections import deque
from pathlib import Path
from typing import Any

import numpy as np

from imgen_desktop.core import distributed, paths
from imgen_desktop.core.atomic import atomic_path, write_text_atomic
from imgen_desktop.core.config import TrainConfig
from imgen_desktop.core.control import ControlToken
from imgen_desktop.core.errors import ImgenError, TrainingError
from imgen_desktop.core.events import (
    CheckpointSaved,
    EventCallback,
    Failed,
    Finished,
    Health,
    Log,
    Metrics,
    Progress,
    Samples,
)

CHECKPOINT = "checkpoint.pt"
CONFIG = "config.json"
METRICS = "metrics.jsonl"
LOCK = ".lock"
CHECKPOINT_VERSION = 1
# Fields that define the networks: on resume they always come from the run's saved config.
ARCH_FIELDS = (
    "family", "task", "scale", "data", "image_size", "channels", "z_dim", "width", "gan_loss", "spectral_norm",
    "categories", "ema", "latent_dim", "rnn_steps", "rnn_hidden",
    "val_split",  # and the validation split: a resumed run never trains on its held-out pictures
)
_PROGRESS_INTERVAL_S = 0.2


def run_dir(run_name: str) -> Path:
    """The folder of the run ``run_name`` (not created); ImgenError for a name that is not safe.

    Every run name (``--name``, ``--resume``, the GUI, the queue) goes through
    :func:`core.paths.run_dir`: no separators, ``..``, absolute paths or links out of the runs folder.
    """
    return paths.run_dir(run_name)


def _read_lines(path: Path) -> list[str]:
    """The lines of a text file, skipping lines that are not valid UTF-8 (a crash or a bad disk)."""
    out = []
    with open(path, "rb") as fh:
        for raw in fh:
            try:
                out.append(raw.decode("utf-8"))
            except UnicodeDecodeError:
                continue
    return out


def load_metrics(run_name: str) -> list[dict]:
    """The parsed ``metrics.jsonl`` of a run (each dict has an integer ``step``); [] if there is none.

    Tolerant: lines cut short by a crash, lines that are not UTF-8 or not JSON objects, and
    lines whose step is not a whole number are skipped.
    """
    path = run_dir(run_name) / METRICS
    if not path.is_file():
        return []
    out = []
    for line in _read_lines(path):
        line = line.strip()
        if not line:
            continue
        try:
            row = json.loads(line)
        except (json.JSONDecodeError, RecursionError):
            continue  # a line cut short by a crash
        if isinstance(row, dict) and isinstance(row.get("step"), int) and not isinstance(row["step"], bool) and row["step"] >= 0:
            out.append(row)
    return out


def load_run_config(run_name: str) -> TrainConfig:
    """The saved config of a run (to resume it); ImgenError if there is no such run or it is unusable."""
    folder = run_dir(run_name)
    path = folder / CONFIG
    if not path.is_file():
        raise ImgenError(f"no run named {run_name!r} in {paths.runs_dir()}")
    _refuse_links(folder, run_name)
    try:
        data = json.loads(path.read_bytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise ImgenError(f"the run {run_name!r} has a corrupt {CONFIG} ({type(exc).__name__}); "
                         f"start a new run or fix {path}") from None
    except OSError as exc:
        raise ImgenError(f"the run {run_name!r}: {CONFIG} could not be read ({exc.strerror or exc})") from None
    if not isinstance(data, dict):
        raise ImgenError(f"the run {run_name!r} has a corrupt {CONFIG} (not a JSON object); start a new run or fix {path}")
    try:
        config = TrainConfig.from_dict(data)
        config.name = run_name
        config.validate()
    except (TypeError, ValueError, ImgenError) as exc:
        raise ImgenError(f"the run {run_name!r} has an invalid {CONFIG}: {exc}") from None
    return config


def _refuse_links(folder: Path, run_name: str) -> None:
    """ImgenError if a file the trainer writes in a run folder is a link (it would write elsewhere)."""
    for entry in (CONFIG, METRICS, CHECKPOINT, "samples", LOCK):
        if (folder / entry).is_symlink():
            raise ImgenError(f"the run {run_name!r} has a link {entry} in its folder; refusing to write through it")


def has_checkpoint(run_name: str) -> bool:
    return (run_dir(run_name) / CHECKPOINT).is_file()


class RunLock:
    """An OS file lock on a run folder, held by the process that trains in it.

    ``fcntl.flock`` on POSIX, ``msvcrt.locking`` on Windows: the lock goes away with the
    process, so a crashed run never leaves a stale lock behind.
    """

    def __init__(self, folder: Path, run_name: str) -> None:
        self.path = folder / LOCK
        self.run_name = run_name
        self._fh = None

    def acquire(self) -> "RunLock":
        import os

        try:
            fh = open(self.path, "a+b")
        except OSError as exc:
            raise ImgenError(f"cannot lock the run folder {self.path.parent}: {exc.strerror or exc}") from None
        try:
            if os.name == "nt":
                import msvcrt

                fh.seek(0)
                msvcrt.locking(fh.fileno(), msvcrt.LK_NBLCK, 1)
            else:
                import fcntl

                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            try:
                fh.seek(0)
                owner = fh.read(32).decode("ascii", "replace").strip()
            except OSError:  # Windows: the locked byte cannot be read by another process
                owner = ""
            fh.close()
            who = f" (process {owner})" if owner.isdigit() else ""
            raise ImgenError(f"the run {self.run_name!r} is in use by another training{who}; "
                             "wait for it to finish, stop it, or choose another name") from None
        fh.seek(0)
        fh.truncate()
        fh.write(str(os.getpid()).encode("ascii"))
        fh.flush()
        self._fh = fh
        return self

    def release(self) -> None:
        if self._fh is not None:
            try:
                self._fh.close()  # closing the file releases the lock
            finally:
                self._fh = None


def auto_name(config: TrainConfig) -> str:
    """``gan-digits-20260126-1530`` (unique among runs and models)."""
    from imgen_desktop.core.store import ModelStore

    data = config.data.split(":", 1)[1] if config.data.startswith("builtin:") else Path(config.data).name
    data = re.sub(r"[^A-Za-z0-9._+-]+", "-", data).strip("-.")[:30] or "data"
    task = "" if config.task == "generate" else f"-{config.task}" + (f"x{config.scale}" if config.task == "upscale" else "")
    base = f"{config.family}{task}-{data}-{time.strftime('%Y%m%d-%H%M%S')}"
    store = ModelStore()
    name, i = base, 2
    while store.exists(name) or run_dir(name).exists():
        name, i = f"{base}-{i}", i + 1
    return name


def train(config: TrainConfig, on_event: EventCallback, token: ControlToken | None = None, resume: bool = False) -> Finished | Failed:
    """Train (or, with ``resume=True``, continue the run ``config.name``).

    Emits events through ``on_event`` and returns the final :class:`Finished` or
    :class:`Failed` (also emitted). Never raises for problems the user can fix.
    """
    run = _Run(config, on_event, token or ControlToken(), resume)
    try:
        return run.run()
    except ImgenError as exc:
        return run.fail(str(exc))
    except Exception as exc:  # noqa: BLE001 - report every failure as an event, keep the app alive
        if _is_disk_full(exc):
            return run.fail(f"the disk is full (at step {run.step}); {run.kept_note()}. Free some space and resume the run")
        if isinstance(exc, OSError) and exc.strerror:
            where = f" ({exc.filename})" if exc.filename else ""
            return run.fail(f"training stopped at step {run.step}: {exc.strerror}{where}; {run.kept_note()}")
        if _is_oom(exc):
            return run.fail(
                f"out of memory on {run.device_name} at step {run.step}; try a smaller batch size "
                f"(now {run.config.batch_size}) or image size (now {run.config.image_size})"
            )
        run.emit(Log("".join(traceback.format_exception(exc)).rstrip(), "error"))
        return run.fail(f"training failed at step {run.step}: {type(exc).__name__}: {exc}")
    finally:
        run.release()
        run.dist.close()  # torchrun: after the failure path's collectives (see _Run._abandon)


def _is_disk_full(exc: BaseException) -> bool:
    """ENOSPC / EDQUOT, also as torch's zip writer reports it ("unexpected pos ...", "file write failed")."""
    import errno

    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
        return True
    text = str(exc).lower()
    return isinstance(exc, RuntimeError) and ("unexpected pos" in text or "file write failed" in text
                                              or "no space left" in text)


def _set_cosine_lr(recipe, step: int, total: int, floor: float = 0.05) -> None:
    """Cosine decay from each group's initial rate to ``floor`` of it (``extra.lr_schedule = "cosine"``)."""
    factor = floor + (1.0 - floor) * 0.5 * (1.0 + math.cos(math.pi * min(step, total) / max(total, 1)))
    for opt in recipe.optimizers().values():
        for group in opt.param_groups:
            group.setdefault("initial_lr", group["lr"])
            group["lr"] = group["initial_lr"] * factor


def _is_oom(exc: BaseException) -> bool:
    import torch

    oom_type = getattr(torch, "OutOfMemoryError", None) or getattr(torch.cuda, "OutOfMemoryError", None)
    if oom_type is not None and isinstance(exc, oom_type):
        return True
    return isinstance(exc, (RuntimeError, MemoryError)) and ("out of memory" in str(exc).lower() or isinstance(exc, MemoryError))


class _NonFinite(Exception):
    def __init__(self, step: int, what: str) -> None:
        super().__init__(what)
        self.step = step
        self.what = what


class _Run:
    def __init__(self, config: TrainConfig, on_event: EventCallback, token: ControlToken, resume: bool) -> None:
        self.config = dataclasses.replace(config, extra=dict(config.extra))
        self.on_event = on_event
        self.token = token
        self.resume = resume
        self.step = 0
        self.device_name = "the device"
        self.dir: Path | None = None
        self.last_checkpoint_step: int | None = None
        self.lock: RunLock | None = None
        self.dist: distributed.Single = distributed.SINGLE  # torchrun: see the hooks below
        self._dist_phase = 0

    def release(self) -> None:
        if self.lock is not None:
            self.lock.release()
            self.lock = None

    # --- torchrun hooks (core.distributed; no-ops in one process) --------------------------------
    def _prepare_shared(self) -> dict | None:
        """Rank 0 prepares (creates, locks) the run folder and tells the others the run's name;
        they only read it (a resume loads the same checkpoint on every process)."""
        if self.dist.is_main:
            state = self._prepare_run_folder()
            self.dist.broadcast_text(self.config.name)
            self._dist_phase = 1
            return state
        name = self.dist.broadcast_text("")
        self._dist_phase = 1
        if not name:
            raise ImgenError("rank 0 could not start the run (see its message)")
        self.config.name = name
        return self._prepare_run_folder()

    def _join_processes(self, recipe, dataset, amp) -> None:
        """Every process ready at the same step: same weights, gradients averaged from now on,
        each process its own data stream (see core.distributed's module text)."""
        d = self.dist
        if not d.active:
            return
        self._dist_phase = 2
        if not d.all_ok(True):
            raise ImgenError("another process of this distributed run could not start (see its message)")
        if not d.same_value(self.step):
            raise ImgenError(f"the processes resumed at different steps (this one at {self.step}); "
                             "every process must read the same run folder")
        d.broadcast_networks(recipe.networks())
        amp.grad_sync = d.sync_gradients
        _seed_everything(distributed.stream_seed(self.config.seed, self.step, d.rank))
        dataset.shard(d.rank, d.world_size, distributed.stream_seed(self.config.seed, self.step, None))

    def _abandon(self) -> None:
        """A process that fails during set-up still takes part in the set-up collectives, so the
        others fail with one clear line instead of waiting for it."""
        if not self.dist.active or self._dist_phase >= 2:
            return
        try:
            if self._dist_phase == 0:
                self.dist.broadcast_text("")
            self._dist_phase = 2
            self.dist.all_ok(False)
        except Exception:  # noqa: BLE001 - the group is gone: the launcher ends the others
            pass

    def kept_note(self) -> str:
        if self.last_checkpoint_step is not None:
            return f"the checkpoint of step {self.last_checkpoint_step} is kept in {self.dir}"
        return "no checkpoint had been saved yet"

    # --- events ---------------------------------------------------------------------------
    def emit(self, event) -> None:
        self.on_event(event)

    def log(self, message: str, level: str = "info") -> None:
        self.emit(Log(message, level))

    def fail(self, message: str) -> Failed:
        self._abandon()
        event = Failed(self.step, message, str(self.dir or ""))
        self.emit(event)
        return event

    # --- set-up ---------------------------------------------------------------------------
    def _lock(self, folder: Path) -> None:
        """Create the run folder and take its lock (refusing a run another process is training)."""
        _refuse_links(folder, self.config.name)
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ImgenError(f"cannot create the run folder {folder}: {exc.strerror or exc}") from None
        if not self.dist.is_main:
            return  # torchrun: rank 0 holds the lock
        self.lock = RunLock(folder, self.config.name).acquire()

    def _prepare_run_folder(self) -> dict | None:
        """Create or reopen (and lock) the run folder; return the checkpoint to resume from (or None)."""
        import torch

        from imgen_desktop.core.store import ModelStore

        cfg = self.config
        if self.resume:
            if not cfg.name:
                raise ImgenError("to resume, give the name of the run")
            saved = load_run_config(cfg.name)
            folder = run_dir(cfg.name)
            self._lock(folder)
            # the networks' fields come from the run; a GAN loss may change between losses that
            # share the discriminator (not to or from WGAN-GP, whose critic has no batch norm)
            keep = [f for f in ARCH_FIELDS if not (f == "gan_loss" and "wgan-gp" not in (cfg.gan_loss, saved.gan_loss))]
            changed = [f for f in keep if getattr(cfg, f) != getattr(saved, f)]
            self._saved_lr = float(saved.lr)
            self.config = cfg = dataclasses.replace(cfg, **{f: getattr(saved, f) for f in keep})
            self.dir = folder
            if not has_checkpoint(cfg.name):
                # it stopped before its first checkpoint: nothing to continue, so it starts again
                if ModelStore().exists(cfg.name):
                    raise ImgenError(f"the run {cfg.name!r} has no checkpoint and a model named {cfg.name!r} "
                                     "already exists; start a new run with another name")
                self.log(f"the run {cfg.name} stopped before its first checkpoint; starting it again from step 0", "warning")
                return None
            if changed and not cfg.extra.get("_quiet_resume"):
                self.log(f"resuming {cfg.name}: kept the run's {', '.join(changed)}")
            try:
                state = torch.load(folder / CHECKPOINT, map_location="cpu", weights_only=True)
            except Exception as exc:  # noqa: BLE001
                raise ImgenError(f"the checkpoint of run {cfg.name!r} could not be read ({_first_line(exc)})") from None
            if not isinstance(state, dict) or not isinstance(state.get("step"), int) or "recipe" not in state:
                raise ImgenError(f"the checkpoint of run {cfg.name!r} is not a checkpoint of this app")
            return state
        if not cfg.name:
            cfg.name = auto_name(cfg)
        folder = run_dir(cfg.name)
        if not self.dist.is_main:
            self.dir = folder  # torchrun: rank 0 created it (and wrote nothing there yet)
            return None

        def refuse_existing() -> None:
            if has_checkpoint(cfg.name) or (folder / METRICS).is_file():
                self.release()
                raise ImgenError(f"a run named {cfg.name!r} already exists; resume it (--resume {cfg.name}) or choose another name")

        refuse_existing()
        if ModelStore().exists(cfg.name):
            raise ImgenError(f"a model named {cfg.name!r} already exists; choose another name")
        self._lock(folder)
        refuse_existing()  # again under the lock: another process may have just started it
        self.dir = folder
        return None

    def run(self) -> Finished | Failed:
        import torch

        from imgen_desktop.core import models as registry
        from imgen_desktop.core.datasets import ImageDataset
        from imgen_desktop.core.devices import resolve_device
        from imgen_desktop.core.health import HealthMonitor
        from imgen_desktop.core.models.base import Amp

        self.dist = distributed.setup()
        if self.dist.active:
            self.log(f"distributed run: process {self.dist.rank} of {self.dist.world_size} ({self.dist.backend}), "
                     f"{self.dist.describe_batch(self.config.batch_size)}; rank 0 writes the run and the model")
        self.config.validate()
        state = self._prepare_shared()
        cfg = self.config
        cfg.validate()  # a resumed run's own fields too
        device = self.dist.place(resolve_device(cfg.device), cfg.device)
        self.device_name = str(device)
        if device.type == "cpu":
            # a diverging run fills tensors with denormal floats, which are 5-10x slower on CPUs
            torch.set_flush_denormal(True)
        arch = registry.for_training(cfg.family, cfg.task)
        dataset = ImageDataset(cfg.data, cfg.image_size, cfg.task, cfg.channels, log=lambda m: self.log(m, "warning"),
                               **self._split_options())
        self.dataset = dataset
        channels = dataset.channels
        if state is None:
            cfg.channels = channels  # record what the data gave, so a resume rebuilds the same nets
        self.log(dataset.info())

        _seed_everything(cfg.seed)
        amp = Amp(device, cfg.amp, cfg.precision)
        recipe = arch.recipe(cfg, channels, device, amp)
        self.recipe = recipe
        if self.dist.is_main:
            self.dir.mkdir(parents=True, exist_ok=True)
            (self.dir / "samples").mkdir(exist_ok=True)
            write_text_atomic(self.dir / CONFIG, cfg.to_json())
        self._record_split(dataset)

        elapsed_before = 0.0
        if state is not None:
            try:
                recipe.load_state_dict(state["recipe"])
            except (KeyError, RuntimeError, ValueError, TypeError, AttributeError) as exc:
                first = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
                raise ImgenError(f"the checkpoint of run {cfg.name!r} does not match its networks ({first})") from None
            saved_lr = getattr(self, "_saved_lr", cfg.lr)
            if saved_lr > 0 and cfg.lr != saved_lr:
                # the optimizers' state restored the old rate: scale every group (keeps their ratios)
                for opt in recipe.optimizers().values():
                    for group in opt.param_groups:
                        group["lr"] *= cfg.lr / saved_lr
                        if "initial_lr" in group:
                            group["initial_lr"] *= cfg.lr / saved_lr
                self.log(f"learning rate changed from {saved_lr:g} to {cfg.lr:g}")
            self.step = int(state["step"])
            self.last_checkpoint_step = self.step
            try:
                elapsed_before = float(state.get("elapsed_s", 0.0))
            except (TypeError, ValueError):
                elapsed_before = 0.0
            try:
                _set_rng_state(state.get("rng", {}))
            except Exception:  # noqa: BLE001 - a damaged RNG state only changes the random stream
                self.log("the checkpoint's random state could not be restored; continuing with a fresh one", "warning")
            self._truncate_metrics(self.step)
            self.log(f"resumed {cfg.name} at step {self.step}")
        else:
            self._truncate_metrics(0)
        self._join_processes(recipe, dataset, amp)
        amp_note = f", mixed precision {str(amp.dtype).replace('torch.', '')}" if amp.enabled else ""
        self.log(f"training {cfg.family.upper()} {cfg.task} on {device}{amp_note}: {cfg.steps} steps, "
                 f"{self.dist.describe_batch(cfg.batch_size)}, run folder {self.dir}")
        return self._loop(recipe, dataset, device, elapsed_before, HealthMonitor(cfg.family))

    # --- the loop ---------------------------------------------------------------------------
    def _loop(self, recipe, dataset, device, elapsed_before: float, monitor) -> Finished | Failed:
        import torch

        cfg = self.config
        total = int(cfg.steps)
        log_every = max(1, min(10, total // 100))
        flip = cfg.extra.get("flip") if isinstance(cfg.extra, dict) else None
        schedule = cfg.extra.get("lr_schedule") if isinstance(cfg.extra, dict) else None
        batches = dataset.batches(cfg.batch_size, device, flip=None if flip is None else bool(flip))
        diag_batch = dataset.fixed_batch(min(64, max(8, cfg.batch_size)), device, seed=cfg.seed + 1)
        self._start_validation(dataset, device)
        acc: dict[str, Any] = {}  # running sums since the last metrics line (device tensors or floats)
        acc_n = 0
        durations: deque[float] = deque(maxlen=50)
        active = 0.0  # seconds spent training in this session (pauses excluded)
        last_progress = 0.0
        last_sampled = -1
        stopped = False
        start_step = self.step
        self._emit_progress(total, elapsed_before, None, 0.0)
        while self.step < total:
            if self.dist.any(self.token.checkpoint()):  # torchrun: a stop on any process stops all
                stopped = True
                break
            t0 = time.perf_counter()
            if schedule == "cosine":
                _set_cosine_lr(recipe, self.step, total)
            batch = next(batches)
            values = recipe.train_step(batch, self.step)
            self.step += 1
            # no host sync per step: losses stay on the device, summed, and are read (one sync)
            # at the metrics interval, where a non-finite loss is caught (<= log_every steps late)
            for k, v in values.items():
                v = v.detach().float() if torch.is_tensor(v) else float(v)
                acc[k] = v if k not in acc else acc[k] + v
            acc_n += 1
            line: dict[str, float] = {}
            checkpoint_now = bool(cfg.checkpoint_every) and self.step % cfg.checkpoint_every == 0 and self.step < total
            if self.step % log_every == 0 or self.step == total or checkpoint_now:
                line.update(self.dist.average(_read_means(acc, acc_n)))  # torchrun: mean over processes
                acc.clear()
                acc_n = 0
                bad = [k for k, v in line.items() if k.startswith("loss") and not math.isfinite(v)]
                if bad:
                    return self._non_finite(f"{bad[0]} became {line[bad[0]]}")
            sample_now = bool(cfg.sample_every) and self.step % cfg.sample_every == 0
            if self.dist.is_main and (self.token.take_sample_request() or sample_now or self.step == total):
                line.update(self._sample_and_diagnose(recipe, diag_batch, monitor))
                last_sampled = self.step
            if line:
                self._write_metrics(line, elapsed_before + active)
            if checkpoint_now:
                self._save_checkpoint(recipe, elapsed_before + active + time.perf_counter() - t0)
            dt = time.perf_counter() - t0
            active += dt
            durations.append(dt)
            now = time.monotonic()
            if now - last_progress >= _PROGRESS_INTERVAL_S or self.step == total:
                last_progress = now
                per_step = sum(durations) / len(durations)
                ips = cfg.batch_size * self.dist.world_size / per_step if per_step > 0 else 0.0
                self._emit_progress(total, elapsed_before + active, per_step * (total - self.step), ips)
        if stopped and last_sampled != self.step and self.step > start_step and self.dist.is_main:
            line = self._sample_and_diagnose(recipe, diag_batch, monitor)
            self._write_metrics(line, elapsed_before + active)
        if self.step > start_step or self.last_checkpoint_step != self.step:
            self._save_checkpoint(recipe, elapsed_before + active)
        return self._finish(recipe, elapsed_before + active, stopped)

    def _emit_progress(self, total: int, elapsed: float, eta: float | None, ips: float) -> None:
        self.emit(Progress(self.step, total, elapsed, eta, ips))

    def _sample_and_diagnose(self, recipe, real, monitor) -> dict[str, float]:
        import torch

        seed = self.config.seed + 12345  # fixed: grids are comparable across steps
        cpu_state = torch.get_rng_state()
        try:
            n = 64 if self.config.image_size <= 32 else 36 if self.config.image_size <= 64 else 16
            if self.config.task != "generate":
                n = min(n, 8)
            outputs = recipe.sample(n, seed, real=real[:n])
            values = {k: float(v) for k, v in (recipe.diagnostics(real, self.step) or {}).items()}
            values.update(self._validate(recipe))
        finally:
            torch.set_rng_state(cpu_state)  # sampling must not change the training's random stream
        for kind, images in outputs.items():
            images = np.asarray(images)
            # a recipe may fix a kind's layout (DRAW: T canvas steps a row; VAE: real|reconstruction pairs)
            columns = 3 if kind == "enhanced" else int(getattr(recipe, "sample_columns", {}).get(kind, 0))
            self.emit(Samples(self.step, images, kind, columns))
            self._save_grid(images, kind, columns)
        for event in monitor.update(self.step, values):
            self.emit(event)
        return values

    # --- validation split (core.validation): small hooks, kept apart from the loop -----------
    def _split_options(self) -> dict[str, Any]:
        """The dataset's split options: a run that recorded its split keeps it (``--resume``)."""
        from imgen_desktop.core.datasets import load_split

        recorded = load_split(self.dir) if self.resume else None
        return {"val_split": float(self.config.val_split), "seed": int(self.config.seed),
                "held_out": recorded.held_out if recorded is not None else None}

    def _record_split(self, dataset) -> None:
        from imgen_desktop.core.datasets import save_split

        if self.dist.is_main:  # rank 0 writes (torchrun)
            save_split(self.dir, dataset.split)
        self._validator = None

    def _start_validation(self, dataset, device) -> None:
        from imgen_desktop.core.validation import Validator

        self._validator = Validator.for_dataset(dataset, device, self.config.seed)
        if self._validator is not None and self.step > 0:
            self._validator.replay(load_metrics(self.config.name))

    def _validate(self, recipe) -> dict[str, float]:
        validator = getattr(self, "_validator", None)
        return validator.evaluate(recipe, self.step) if validator is not None else {}

    def _save_grid(self, images: np.ndarray, kind: str, columns: int) -> None:
        from PIL import Image

        from imgen_desktop.core.generate import make_grid

        grid = make_grid(images, columns)
        suffix = "" if kind == "samples" else f"_{kind}"
        path = self.dir / "samples" / f"step_{self.step:06d}{suffix}.png"
        with atomic_path(path) as tmp:
            Image.fromarray(grid[:, :, 0] if grid.shape[2] == 1 else grid).save(tmp, format="PNG")

    def _write_metrics(self, values: dict[str, float], elapsed: float) -> None:
        row = {"step": self.step, "time": round(elapsed, 3), **{k: _json_float(v) for k, v in values.items()}}
        if self.dist.is_main:
            with open(self.dir / METRICS, "a", encoding="utf-8") as fh:
                fh.write(json.dumps(row) + "\n")
        self.emit(Metrics(self.step, dict(values)))
        self._last_metrics = {**getattr(self, "_last_metrics", {}), **values}

    def _truncate_metrics(self, step: int) -> None:
        """Keep only the lines up to ``step`` so a resumed curve continues without duplicates."""
        path = self.dir / METRICS
        if not path.is_file() or not self.dist.is_main:
            return
        rows = [r for r in load_metrics(self.config.name) if int(r["step"]) <= step]
        write_text_atomic(path, "".join(json.dumps(r) + "\n" for r in rows))
        for r in rows:
            self._last_metrics = {**getattr(self, "_last_metrics", {}), **{k: v for k, v in r.items() if k not in ("step", "time")}}

    # --- checkpoint / export ------------------------------------------------------------------
    def _check_weights(self, recipe) -> None:
        import torch

        for name, net in recipe.networks().items():
            for pname, p in net.state_dict().items():
                if torch.is_tensor(p) and p.is_floating_point() and not bool(torch.isfinite(p).all()):
                    raise _NonFinite(self.step, f"weights of {name} ({pname}) became non-finite")

    def _save_checkpoint(self, recipe, elapsed: float) -> None:
        import torch

        try:
            self._check_weights(recipe)
        except _NonFinite as exc:  # never overwrite the last good checkpoint with broken weights
            raise TrainingError(self._non_finite_message(exc.what)) from None
        if not self.dist.is_main:  # torchrun: rank 0 saves the (identical) state once
            self.last_checkpoint_step = self.step
            return
        state = {
            "version": CHECKPOINT_VERSION,
            "step": self.step,
            "elapsed_s": float(elapsed),
            "recipe": recipe.state_dict(),
            "rng": _get_rng_state(),
            "config": self.config.to_dict(),
        }
        path = self.dir / CHECKPOINT
        try:
            with atomic_path(path) as tmp:
                torch.save(state, tmp)
        except (OSError, RuntimeError) as exc:
            if not _is_disk_full(exc) and not isinstance(exc, OSError):
                raise
            kept = (f"the previous checkpoint (step {self.last_checkpoint_step}) is kept"
                    if self.last_checkpoint_step is not None else "no earlier checkpoint exists")
            why = "disk full" if _is_disk_full(exc) else f"{exc.strerror or _first_line(exc)}"
            raise TrainingError(f"{why} while saving the checkpoint at step {self.step}; {kept} in {self.dir}") from None
        self.last_checkpoint_step = self.step
        self.emit(CheckpointSaved(self.step, str(path)))

    def _non_finite_message(self, what: str) -> str:
        kept = (
            f"the last good checkpoint (step {self.last_checkpoint_step}) is kept in {self.dir}"
            if self.last_checkpoint_step is not None
            else "no checkpoint had been saved yet"
        )
        return f"training diverged at step {self.step}: {what}; {kept}. Try a lower learning rate (now {self.config.lr:g})."

    def _non_finite(self, what: str) -> Failed:
        return self.fail(self._non_finite_message(what))

    def _finish(self, recipe, elapsed: float, stopped: bool) -> Finished:
        from imgen_desktop.core.store import ModelStore

        cfg = self.config
        net, arch_id, arch_params = recipe.export()
        summary = {k: _json_float(v) for k, v in getattr(self, "_last_metrics", {}).items() if k.startswith(("loss", "health", "val."))}
        meta = {
            "family": cfg.family,
            "task": cfg.task,
            "scale": int(cfg.scale) if cfg.task == "upscale" else 1,
            "channels": int(recipe.channels),
            "arch": arch_id,
            "arch_params": arch_params,
            "dataset": cfg.data,
            "steps": self.step,
            "image_size": int(cfg.image_size),
            "created": time.time(),
            "metrics": summary,
            "config": cfg.to_dict(),
            "train_time_s": round(elapsed, 1),
        }
        store = ModelStore()
        how = "stopped" if stopped else "finished"
        if self.dist.is_main:
            path = store.save(cfg.name, {k: v for k, v in net.state_dict().items()}, meta).path
            self.log(f"{how} at step {self.step}; model saved to {path}")
        else:  # torchrun: rank 0 saves the model
            path = store.path_for(cfg.name)
            self.log(f"{how} at step {self.step}; rank 0 saves the model")
        event = Finished(self.step, cfg.name, str(path), str(self.dir), stopped, {"elapsed_s": elapsed, **summary})
        self.emit(event)
        return event


# --- helpers ---------------------------------------------------------------------------------

def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:200] if text else type(exc).__name__


def _read_means(sums: dict[str, Any], n: int) -> dict[str, float]:
    """Means of summed step values: the tensors are read in one transfer (one host sync)."""
    import torch

    keys = [k for k, v in sums.items() if torch.is_tensor(v)]
    read = torch.stack([sums[k].reshape(()) for k in keys]).cpu().tolist() if keys else []
    means = {k: float(v) / n for k, v in sums.items() if not torch.is_tensor(v)}
    means.update({k: float(v) / n for k, v in zip(keys, read)})
    return {k: means[k] for k in sums}


def _json_float(v: float) -> float | str:
    v = float(v)
    return v if math.isfinite(v) else str(v)


def _seed_everything(seed: int) -> None:
    import torch

    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def _get_rng_state() -> dict[str, Any]:
    import torch

    np_state = np.random.get_state()
    state: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "numpy": {"keys": torch.from_numpy(np_state[1].astype(np.int64)), "pos": int(np_state[2]),
                  "has_gauss": int(np_state[3]), "gauss": float(np_state[4])},
        "python": _python_state_to_plain(random.getstate()),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _python_state_to_plain(state) -> list:
    version, internal, gauss = state
    return [int(version), torch_long(internal), gauss]


def torch_long(values) -> Any:
    import torch

    return torch.tensor(list(values), dtype=torch.int64)


def _set_rng_state(state: dict[str, Any]) -> None:
    import torch

    if "torch" in state:
        torch.set_rng_state(state["torch"])
    if "numpy" in state:
        s = state["numpy"]
        np.random.set_state(("MT19937", s["keys"].numpy().astype(np.uint32), s["pos"], s["has_gauss"], s["gauss"]))
    if "python" in state:
        version, internal, gauss = state["python"]
        random.setstate((version, tuple(int(x) for x in internal.tolist()), gauss))
    if "cuda" in state and torch.cuda.is_available():
        try:
            torch.cuda.set_rng_state_all(state["cuda"])
        except (RuntimeError, IndexError):
            pass  # a different number of GPUs now: keep the fresh CUDA streams


__all__ = ["train", "load_metrics", "run_dir", "load_run_config", "has_checkpoint", "auto_name", "Health"]
