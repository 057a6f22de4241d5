"""The training queue: configurations that train one after another, kept in the data root.

``$IMGEN_HOME/queue.json`` holds the entries — each a :class:`~imgen_desktop.core.config.TrainConfig`
with an id, a state (queued / running / done / failed / stopped), a message, its run name and
times — and the queue's "paused" flag. Every change is read-modify-write under a file lock and
written atomically, so the GUI and ``imgen queue`` can edit the same queue; a damaged file is
set aside as ``queue.json.bad`` (one warning sentence in :attr:`TrainingQueue.warnings`) and a
new queue starts.

Running: :meth:`TrainingQueue.run_all` trains the runnable entries (queued, and stopped ones,
which continue from their checkpoint) in order through the same engine call as ``imgen train``
(``core.trainer.train`` by default; the GUI passes ``core.process_runner.train_in_process``),
with an event callback and a control token: stop ends the current entry as Stop does
(checkpoint and model saved; the entry is "stopped" and continues next time) and ends the
run; pause pauses the current training. A failed entry is marked failed with its message and
the queue goes on; the "paused" flag stops the queue between entries. The process running the
queue holds ``.queue.run.lock`` (an OS lock: it goes away with the process), so an entry left
"running" by a process that was killed is found by the next run (or listing) and continues
from its run's checkpoint, or starts again when it had none. Pure Python; no Qt.
"""
from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

from imgen_desktop.core import paths
from imgen_desktop.core.atomic import write_text_atomic
from imgen_desktop.core.config import TrainConfig
from imgen_desktop.core.control import ControlToken
from imgen_desktop.core.errors import ImgenError
from imgen_desktop.core.events import CheckpointSaved, Event, EventCallback, Failed, Finished, Progress

QUEUE_FILE = "queue.json"
EDIT_LOCK = ".queue.lock"  # held for each read-modify-write of queue.json
RUN_LOCK = ".queue.run.lock"  # held by the process that runs the queue, for as long as it runs
VERSION = 1
STATES = ("queued", "running", "done", "failed", "stopped")
RUNNABLE = ("queued", "stopped")  # what run_next picks up (a stopped entry continues from its checkpoint)

TrainFunction = Callable[..., "Finished | Failed"]  # train(config, on_event, token, resume=...)
EntryCallback = Callable[["QueueEntry"], None]


@dataclass
class QueueEntry:
    id: int
    config: TrainConfig
    resume: bool = False  # continue the existing run config.name (e.g. with more steps)
    state: str = "queued"
    message: str = ""
    run_name: str = ""  # its run (and model) name; an automatic one is chosen when it first starts
    added: float = 0.0
    started: float | None = None
    ended: float | None = None
    step: int = 0  # the last step known to the queue (checkpoints and the end)
    owns_run: bool = False  # this entry's training created the run folder (so it may start it afresh)

    def to_dict(self) -> dict:
        data = dataclasses.asdict(self)
        data["config"] = self.config.to_dict()
        return data

    @classmethod
    def from_dict(cls, data: dict) -> "QueueEntry":
        if not isinstance(data, dict) or not isinstance(data.get("config"), dict):
            raise ValueError("an entry is not an object with a config")
        known = {f.name for f in dataclasses.fields(cls)} - {"config"}
        values = {k: v for k, v in data.items() if k in known}
        entry = cls(config=TrainConfig.from_dict(data["config"]), **values)
        if not isinstance(entry.id, int) or isinstance(entry.id, bool) or entry.state not in STATES:
            raise ValueError(f"an entry has a bad id or state ({entry.id!r}, {entry.state!r})")
        return entry

    @property
    def name(self) -> str:
        """The run name, or "" while an automatic one has not been chosen yet."""
        return self.run_name or self.config.name

    def describe(self) -> str:
        """``GAN generate · digits · 300 steps`` (what the entry trains, in words)."""
        from imgen_desktop.core.tasks import FAMILIES_BY_NAME, task_cli_title

        cfg = self.config
        family = FAMILIES_BY_NAME[cfg.family].label if cfg.family in FAMILIES_BY_NAME else cfg.family
        data = cfg.data.split(":", 1)[1] if cfg.data.startswith("builtin:") else Path(cfg.data).name or cfg.data
        what = f"{family} {task_cli_title(cfg.task, cfg.scale)}"
        return " · ".join([("continue " if self.resume else "") + what, data, f"{cfg.steps:,} steps"])


@dataclass
class QueueReport:
    """What one :meth:`TrainingQueue.run_all` did (entry ids by outcome)."""

    done: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    stopped: list[int] = field(default_factory=list)
    paused: bool = False  # it ended because the queue is paused


# --- file locks ---------------------------------------------------------------------------------

class _FileLock:
    """An OS lock on a small file (``flock`` / ``msvcrt.locking``); it dies with its process."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fh = None

    def acquire(self, blocking: bool = True) -> bool:
        try:
            fh = open(self.path, "a+b")
        except OSError as exc:
            raise ImgenError(f"cannot open the lock file {self.path}: {exc.strerror or exc}") from None
        try:
            if os.name == "nt":
                import msvcrt

                fh.seek(0)
                mode = msvcrt.LK_LOCK if blocking else msvcrt.LK_NBLCK
                while True:
                    try:
                        msvcrt.locking(fh.fileno(), mode, 1)
                        break
                    except OSError:
                        if not blocking:
                            raise
            else:
                import fcntl

                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
        except OSError:
            fh.close()
            return False
        self._fh = fh
        return True

    def write_pid(self) -> None:
        if self._fh is not None:
            self._fh.seek(0)
            self._fh.truncate()
            self._fh.write(str(os.getpid()).encode("ascii"))
            self._fh.flush()

    def owner(self) -> str:
        try:
            text = self.path.read_text(encoding="ascii", errors="replace").strip()
        except OSError:
            return ""
        return text if text.isdigit() else ""

    def release(self) -> None:
        if self._fh is not None:
            try:
                self._fh.close()  # closing releases the lock
            finally:
                self._fh = None

    @property
    def held(self) -> bool:
        return self._fh is not None


def _check_name(name: str) -> str:
    """Queue entries' run names go through the one validator of names that become paths."""
    from imgen_desktop.core.paths import safe_name

    return safe_name(name, "run")


class TrainingQueue:
    """The queue in ``$IMGEN_HOME/queue.json`` (or ``path``). Every method reads the file afresh."""

    def __init__(self, path: str | os.PathLike | None = None) -> None:
        self.path = Path(path) if path is not None else paths.data_root() / QUEUE_FILE
        self.warnings: list[str] = []  # one sentence each (a damaged file set aside, a missing data folder)
        self._runner = _FileLock(self.path.with_name(RUN_LOCK))

    # --- reading and writing ------------------------------------------------------------------
    @contextlib.contextmanager
    def _edit(self, recover: bool = False) -> Iterator[dict]:
        """The queue's data under the edit lock; written back (atomically) when it changed.

        ``recover``: this process has just become the queue's runner, so an entry still marked
        "running" was left so by a runner that ended."""
        lock = _FileLock(self.path.with_name(EDIT_LOCK))
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ImgenError(f"cannot create the folder of the training queue {self.path.parent}: {exc.strerror or exc}") from None
        if not lock.acquire():
            raise ImgenError(f"cannot lock the training queue {self.path}")
        try:
            data, dirty = self._load(recover)
            before = json.dumps(data, sort_keys=True)
            yield data
            if dirty or json.dumps(data, sort_keys=True) != before or not self.path.is_file():
                try:
                    write_text_atomic(self.path, json.dumps(data, indent=1, sort_keys=True))
                except OSError as exc:
                    raise ImgenError(f"cannot save the training queue {self.path}: {exc.strerror or exc}") from None
        finally:
            lock.release()

    def _load(self, recover: bool = False) -> tuple[dict, bool]:
        """(the queue's data, whether it differs from the file: set aside, or entries recovered)."""
        empty = {"version": VERSION, "paused": False, "next_id": 1, "entries": []}
        try:
            text = self.path.read_bytes().decode("utf-8")
        except FileNotFoundError:
            return empty, False
        except (OSError, UnicodeDecodeError) as exc:
            return self._set_aside(empty, getattr(exc, "strerror", None) or type(exc).__name__), True
        try:
            data = json.loads(text)
            if not isinstance(data, dict) or not isinstance(data.get("entries"), list):
                raise ValueError("not a queue")
            if int(data.get("version", 1)) > VERSION:
                raise ValueError("written by a newer version of Imgen Desktop")
            entries = [QueueEntry.from_dict(e) for e in data["entries"]]
            ids = [e.id for e in entries]
            if len(set(ids)) != len(ids):
                raise ValueError("two entries have the same id")
            next_id = data.get("next_id", 1)
            next_id = max([next_id if isinstance(next_id, int) else 1, *[i + 1 for i in ids]])
        except (ValueError, TypeError, RecursionError) as exc:
            return self._set_aside(empty, str(exc) if isinstance(exc, ValueError) and str(exc) else type(exc).__name__), True
        dirty = self._recover(entries, recover)
        return {"version": VERSION, "paused": bool(data.get("paused", False)), "next_id": next_id,
                "entries": [e.to_dict() for e in entries]}, dirty

    def _set_aside(self, empty: dict, why: str) -> dict:
        bad = self.path.with_name(self.path.name + ".bad")
        try:
            os.replace(self.path, bad)
            kept = f"it was kept as {bad}"
        except OSError as exc:
            kept = f"it could not be moved aside ({exc.strerror or exc})"
        why = why.splitlines()[0][:120] if why else "unreadable"
        self.warnings.append(f"the training queue file was damaged ({why}); {kept} and a new, empty queue was started")
        return dict(empty)

    def _runner_alive(self) -> bool:
        """True if some process (this one included) is running the queue now."""
        if self._runner.held:
            return True
        probe = _FileLock(self._runner.path)
        if probe.acquire(blocking=False):
            probe.release()
            return False
        return True

    def _recover(self, entries: list[QueueEntry], force: bool = False) -> bool:
        """Entries left "running" by a process that ended (killed, crashed) run again next time;
        True if there were any. ``force``: this process has just taken the runner lock."""
        stale = [e for e in entries if e.state == "running"]
        if not stale or (not force and self._runner_alive()):
            return False
        from imgen_desktop.core import runs
        from imgen_desktop.core.trainer import has_checkpoint

        for e in stale:
            name = e.name
            if name and _safe(has_checkpoint, name):
                how = "it continues from its last checkpoint"
            else:
                how = "it starts again (it had no checkpoint yet)"
            reached = max(e.step, runs.read_run(name).steps_reached if name else 0)
            e.state, e.ended, e.step = "queued", None, reached
            e.message = f"interrupted at step {reached} when the process running it ended; {how}"
        return True

    @staticmethod
    def _entries(data: dict) -> list[QueueEntry]:
        return [QueueEntry.from_dict(e) for e in data["entries"]]

    @staticmethod
    def _store(data: dict, entries: list[QueueEntry]) -> None:
        data["entries"] = [e.to_dict() for e in entries]

    # --- queries ---------------------------------------------------------------------------------
    def entries(self) -> list[QueueEntry]:
        with self._edit() as data:
            return self._entries(data)

    def get(self, entry_id: int) -> QueueEntry:
        for e in self.entries():
            if e.id == entry_id:
                return e
        raise ImgenError(f"the queue has no entry {entry_id}")

    @property
    def paused(self) -> bool:
        with self._edit() as data:
            return bool(data["paused"])

    @property
    def running(self) -> bool:
        """True while a process runs the queue."""
        return self._runner_alive()

    # --- edits -----------------------------------------------------------------------------------
    def add(self, config: TrainConfig, resume: bool = False) -> QueueEntry:
        """Queue ``config`` (``resume``: continue the run ``config.name``). ImgenError if it can
        never run: bad settings, a bad or taken name, an unknown run to continue."""
        config = dataclasses.replace(config, extra=dict(config.extra))
        config.validate()
        if config.name:
            config.name = _check_name(config.name)
        from imgen_desktop.core import runs
        from imgen_desktop.core.trainer import has_checkpoint

        if resume:
            if not config.name:
                raise ImgenError("to queue the continuation of a run, give the run's name")
            if not runs.run_folder(config.name).is_dir():
                raise ImgenError(f"no run named {config.name!r} to continue")
            if not has_checkpoint(config.name):
                raise ImgenError(f"the run {config.name!r} has no checkpoint to continue from")
        elif config.name and runs.run_exists(config.name):
            raise ImgenError(f"a run or model named {config.name!r} already exists; choose another name "
                             f"(or queue its continuation with --resume {config.name})")
        if not config.data.startswith("builtin:") and not Path(config.data).expanduser().exists():
            self.warnings.append(f"{config.data} does not exist (yet); the entry will fail if it is still missing when it runs")
        with self._edit() as data:
            entries = self._entries(data)
            if config.name and not resume and any(e.name == config.name and not e.resume and e.state != "failed" for e in entries):
                raise ImgenError(f"the queue already has an entry named {config.name!r}; choose another name")
            entry = QueueEntry(id=int(data["next_id"]), config=config, resume=resume, added=time.time(),
                               run_name=config.name if resume else "")
            data["next_id"] = entry.id + 1
            self._store(data, entries + [entry])
            return entry

    def remove(self, entry_id: int) -> QueueEntry:
        with self._edit() as data:
            entries = self._entries(data)
            entry = _find(entries, entry_id)
            if entry.state == "running":
                raise ImgenError(f"entry {entry_id} is training now; stop it first")
            self._store(data, [e for e in entries if e.id != entry_id])
            return entry

    def move(self, entry_id: int, position: int) -> list[QueueEntry]:
        """Put entry ``entry_id`` at ``position`` (1 = first; clamped to the queue's length)."""
        with self._edit() as data:
            entries = self._entries(data)
            entry = _find(entries, entry_id)
            rest = [e for e in entries if e.id != entry_id]
            index = min(max(int(position), 1), len(entries)) - 1
            rest.insert(index, entry)
            self._store(data, rest)
            return rest

    def set_paused(self, paused: bool) -> None:
        """Paused: no further entry starts (the one training now goes on to its end)."""
        with self._edit() as data:
            data["paused"] = bool(paused)

    def retry(self, entry_id: int) -> QueueEntry:
        """Queue a failed or stopped entry again (a stopped one continues from its checkpoint)."""
        with self._edit() as data:
            entries = self._entries(data)
            entry = _find(entries, entry_id)
            if entry.state not in ("failed", "stopped"):
                raise ImgenError(f"entry {entry_id} is {entry.state}; only a failed or stopped entry can be queued again")
            entry.state, entry.message, entry.ended = "queued", "", None
            self._store(data, entries)
            return entry

    def clear_finished(self) -> int:
        """Remove the done entries; returns how many."""
        with self._edit() as data:
            entries = self._entries(data)
            kept = [e for e in entries if e.state != "done"]
            self._store(data, kept)
            return len(entries) - len(kept)

    def _update(self, entry_id: int, **changes) -> QueueEntry | None:
        with self._edit() as data:
            entries = self._entries(data)
            for e in entries:
                if e.id == entry_id:
                    for k, v in changes.items():
                        setattr(e, k, v)
                    self._store(data, entries)
                    return e
        return None  # removed meanwhile (by hand)

    # --- running ---------------------------------------------------------------------------------
    @contextlib.contextmanager
    def _running(self) -> Iterator[None]:
        if self._runner.held:
            yield
            return
        if not self._runner.acquire(blocking=False):
            owner = self._runner.owner()
            raise ImgenError("the training queue is already running" + (f" (process {owner})" if owner else "")
                             + "; wait for it, or stop it there")
        self._runner.write_pid()
        try:
            with self._edit(recover=True):
                pass  # entries a killed runner left "running" are queued again
            yield
        finally:
            self._runner.release()

    def run_all(self, on_event: EventCallback, token: ControlToken | None = None, on_entry: EntryCallback | None = None,
                train_fn: TrainFunction | None = None) -> QueueReport:
        """Train the runnable entries one after another until none is left, the queue is paused,
        or ``token`` asks to stop. ``on_entry`` gets each entry when it starts and when it ends."""
        token = token or ControlToken()
        report = QueueReport()
        with self._running():
            while True:
                if token.checkpoint():
                    break
                if self.paused:
                    report.paused = any(e.state in RUNNABLE for e in self.entries())
                    break
                entry = self.run_next(on_event, token, on_entry, train_fn)
                if entry is None:
                    break
                {"done": report.done, "failed": report.failed, "stopped": report.stopped}.get(entry.state, []).append(entry.id)
                if entry.state == "stopped":
                    break
        return report

    def run_next(self, on_event: EventCallback, token: ControlToken | None = None, on_entry: EntryCallback | None = None,
                 train_fn: TrainFunction | None = None) -> QueueEntry | None:
        """Train the first runnable entry; returns it as it ended (None: nothing to run, or paused)."""
        token = token or ControlToken()
        with self._running():
            entry = self._start_next()
            if entry is None:
                return None
            if on_entry is not None:
                on_entry(entry)
            entry = self._train(entry, on_event, token, train_fn)
            if on_entry is not None:
                on_entry(entry)
            return entry

    def _start_next(self) -> QueueEntry | None:
        with self._edit() as data:
            if data["paused"]:
                return None
            entries = self._entries(data)
            entry = next((e for e in entries if e.state in RUNNABLE), None)
            if entry is None:
                return None
            if not entry.run_name:
                taken = {e.name for e in entries if e.name}
                entry.run_name = entry.config.name or _auto_name(entry.config, taken)
            entry.state, entry.started, entry.ended = "running", time.time(), None  # an earlier message stays while it runs
            self._store(data, entries)
            return entry

    def _train(self, entry: QueueEntry, on_event: EventCallback, token: ControlToken, train_fn: TrainFunction | None) -> QueueEntry:
        from imgen_desktop.core.trainer import has_checkpoint, train

        train_fn = train_fn or train
        name = entry.run_name
        try:
            resume = entry.resume or has_checkpoint(name)
            if not resume and entry.owns_run:
                _clear_unfinished_run(name)  # an earlier try died before its first checkpoint
        except ImgenError as exc:
            return self._end(entry, "failed", str(exc), entry.step)
        config = dataclasses.replace(entry.config, name=name, extra=dict(entry.config.extra))
        if resume:
            config.extra["_quiet_resume"] = True
        state = {"owns": entry.owns_run}

        def forward(event: Event) -> None:
            if isinstance(event, Progress) and not state["owns"] and not entry.resume:
                state["owns"] = True  # the trainer accepted the name and made the run folder
                self._update(entry.id, owns_run=True)
            elif isinstance(event, CheckpointSaved):
                self._update(entry.id, step=int(event.step))
            on_event(event)

        try:
            result = train_fn(config, forward, token, resume=resume)
        except Exception as exc:  # noqa: BLE001 - train() reports failures itself; this is a last guard
            return self._end(entry, "failed", f"training failed: {type(exc).__name__}: {exc}", entry.step)
        except BaseException:  # KeyboardInterrupt, SystemExit: keep the entry resumable, then go on unwinding
            self._end(entry, "stopped", "interrupted; it continues from its last checkpoint", entry.step)
            raise
        if isinstance(result, Failed):
            return self._end(entry, "failed", result.message, result.step or entry.step)
        if isinstance(result, Finished) and result.stopped_early:
            return self._end(entry, "stopped", f"stopped at step {result.step}; it continues from there when the queue runs again",
                             result.step)
        if isinstance(result, Finished):
            return self._end(entry, "done", f"trained {result.step:,} steps; model {result.model_name}", result.step)
        return self._end(entry, "failed", f"training ended without a result ({result!r})", entry.step)

    def _end(self, entry: QueueEntry, state: str, message: str, step: int) -> QueueEntry:
        changes = dict(state=state, message=message, step=int(step), ended=time.time())
        updated = self._update(entry.id, **changes)
        if updated is None:
            updated = dataclasses.replace(entry, **changes)
        return updated


# --- helpers ---------------------------------------------------------------------------------------

def _find(entries: list[QueueEntry], entry_id: int) -> QueueEntry:
    for e in entries:
        if e.id == entry_id:
            return e
    raise ImgenError(f"the queue has no entry {entry_id}")


def _safe(fn, *args) -> bool:
    try:
        return bool(fn(*args))
    except (ImgenError, OSError):
        return False


def _auto_name(config: TrainConfig, taken: set[str]) -> str:
    """The trainer's automatic name, also unique among the queue's entries."""
    from imgen_desktop.core.trainer import auto_name

    base = auto_name(config)
    name, i = base, 2
    while name in taken:
        name, i = f"{base}-{i}", i + 1
    return name


def _clear_unfinished_run(name: str) -> None:
    """Forget what a try that died before its first checkpoint wrote (its curves and grids), so the
    entry can start again under its name. Only for runs the entry's own training created."""
    from imgen_desktop.core import runs

    folder = runs.run_folder(name)
    for leftover in (folder / runs.METRICS, folder / runs.CONFIG):
        with contextlib.suppress(FileNotFoundError):
            leftover.unlink()
    if (folder / "samples").is_dir():
        shutil.rmtree(folder / "samples", ignore_errors=True)
