"""Plain state of the Train tab's queue view (no widgets): the rows it shows for the entries of
:class:`imgen_desktop.core.queue.TrainingQueue`, and the one-line status above them.

An entry's state in words: "waiting" (queued; "waiting — interrupted at step N…" when a process
running it ended), "running", "done", "failed: <its message>", "stopped at step N (continues from
there)". The running entry's steps come live from the training's progress; the others' from the
queue file (updated at checkpoints and at the end).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from imgen_desktop.core import tasks as vocab
from imgen_desktop.ui.train.state import gui_message

COLUMNS = ("#", "Run", "Model", "Preset", "Pictures", "State", "Steps")
STATE_WORDS = {"queued": "waiting", "running": "running", "done": "done", "failed": "failed", "stopped": "stopped"}


def dataset_label(data: str) -> str:
    if data.startswith("builtin:"):
        return data
    return Path(data).name or data


@dataclass
class QueueRow:
    id: int
    state: str  # the core state: queued | running | done | failed | stopped
    cells: list[str]
    tooltip: str = ""


def state_text(entry, live: bool = False) -> str:
    """The state column: what the user needs to know in one line."""
    words = STATE_WORDS.get(entry.state, entry.state)
    message = gui_message(entry.message) if entry.message else ""
    if entry.state == "failed":
        return f"failed: {message}" if message else "failed"
    if entry.state == "queued" and message.startswith("interrupted"):
        return f"waiting — {message}"
    if entry.state == "running" and not live:
        return "running (in another window or terminal)"
    if entry.state == "stopped":
        return f"stopped at step {entry.step:,}; continues from there when the queue runs"
    if entry.state == "done":
        return f"done — {message}" if message else "done"
    return words


def entry_row(entry, position: int, live_step: int | None = None, live: bool = False) -> QueueRow:
    cfg = entry.config
    family = vocab.FAMILIES_BY_NAME.get(cfg.family)
    model = f"{family.label if family else cfg.family} {vocab.task_title(cfg.task, cfg.scale)}".strip()
    if entry.resume:
        model = f"continue: {model}"
    name = entry.name or "(named when it starts)"
    step = live_step if (live_step is not None and entry.state == "running") else entry.step
    steps = f"{step:,} / {cfg.steps:,}" if (step or entry.state != "queued") else f"— / {cfg.steps:,}"
    cells = [str(position), name, model, cfg.preset, dataset_label(cfg.data), state_text(entry, live), steps]
    tip = f"{cfg.data}\n{cfg.image_size}px, batch {cfg.batch_size}, lr {cfg.lr:g}, device {cfg.device}"
    if entry.message:
        tip += "\n" + gui_message(entry.message)
    return QueueRow(entry.id, entry.state, cells, tip)


@dataclass
class QueueSummary:
    """What the status line above the list says."""

    entries: list = field(default_factory=list)
    running_here: bool = False  # this window's queue worker is alive
    running_elsewhere: bool = False  # another process holds the queue's run lock
    paused: bool = False  # the stored "paused" flag (no further entry starts)
    waiting_for_run: bool = False  # Run queue was pressed during a single training

    def count(self, *states: str) -> int:
        return sum(1 for e in self.entries if e.state in states)

    def text(self) -> str:
        n = len(self.entries)
        if not n:
            return "The queue is empty: set up a training on the left and press “Add to queue”."
        waiting, done, failed = self.count("queued", "stopped"), self.count("done"), self.count("failed")
        counts = f"{waiting} waiting, {done} done" + (f", {failed} failed" if failed else "")
        if self.waiting_for_run:
            return f"The queue starts when the current training ends ({counts})."
        if self.running_here:
            running = next((i for i, e in enumerate(self.entries, 1) if e.state == "running"), None)
            now = f"Training entry {running} of {n}" if running else "Running the queue"
            if self.paused:
                return f"{now}; the queue pauses when it ends — the rest wait ({counts})."
            return f"{now} ({counts}). Entries run one after another; a failed one does not stop the queue."
        if self.running_elsewhere:
            return f"The queue is running in another window or terminal ({counts})."
        if self.paused and waiting:
            return f"The queue is paused ({counts}): press “Run queue” to go on."
        if waiting:
            return f"{counts}: press “Run queue” to train them one after another."
        return f"Nothing left to run ({counts})."
