"""core.queue: the training queue file (edits, damage, locks) and running entries one after another.

Most tests drive the queue with a stand-in for ``trainer.train`` (same signature, same events)
so they take milliseconds; tests/cli/test_queue_cli.py runs the real engine, and a real SIGKILL.
"""
from __future__ import annotations

import json
import threading

import pytest

from imgen_desktop.core import runs
from imgen_desktop.core.config import TrainConfig
from imgen_desktop.core.control import ControlToken
from imgen_desktop.core.errors import ImgenError
from imgen_desktop.core.events import CheckpointSaved, Failed, Finished, Progress
from imgen_desktop.core.queue import TrainingQueue


def _cfg(name="", **kw):
    return TrainConfig(**{"family": "gan", "task": "generate", "data": "builtin:digits", "steps": 10, "name": name, **kw})


class FakeTrain:
    """Stands in for trainer.train: records calls, emits Progress/CheckpointSaved, fails on data "bad:"."""

    def __init__(self, stop_at=None):
        self.calls = []
        self.stop_at = stop_at  # {run name: step} where it behaves as if Stop was pressed

    def __call__(self, config, on_event, token, resume=False):
        self.calls.append((config.name, resume))
        if config.data.startswith("bad:"):
            return Failed(0, f"dataset folder not found: {config.data}")
        folder = runs.run_folder(config.name)
        folder.mkdir(parents=True, exist_ok=True)
        on_event(Progress(0, config.steps, 0.0, None, 0.0))
        stop = (self.stop_at or {}).get(config.name)
        if stop is not None or token.stop_requested:
            step = stop or 0
            (folder / "checkpoint.pt").write_bytes(b"x")
            on_event(CheckpointSaved(step, str(folder / "checkpoint.pt")))
            return Finished(step, config.name, "", str(folder), stopped_early=True)
        on_event(CheckpointSaved(config.steps, str(folder / "checkpoint.pt")))
        return Finished(config.steps, config.name, "", str(folder))


def test_add_list_remove_move_round_trip_through_the_file(imgen_home):
    q = TrainingQueue()
    a = q.add(_cfg("q-a"))
    b = q.add(_cfg(family="vae", data="builtin:faces", steps=300))
    c = q.add(_cfg("q-c"))
    assert [e.id for e in (a, b, c)] == [1, 2, 3]
    assert b.name == "" and b.describe() == "VAE generate · faces · 300 steps"
    again = TrainingQueue()  # a fresh reader (another process, the GUI after a restart) sees the same
    assert [(e.id, e.state, e.name) for e in again.entries()] == [(1, "queued", "q-a"), (2, "queued", ""), (3, "queued", "q-c")]
    assert [e.id for e in again.move(3, 1)] == [3, 1, 2]
    assert [e.id for e in TrainingQueue().move(3, 99)] == [1, 2, 3]  # clamped to the end
    assert again.remove(2).id == 2
    assert [e.id for e in TrainingQueue().entries()] == [1, 3]
    assert TrainingQueue().add(_cfg()).id == 4  # ids are never reused
    again.set_paused(True)
    assert TrainingQueue().paused
    data = json.loads((imgen_home / "queue.json").read_text())
    assert data["paused"] is True and data["entries"][0]["config"]["name"] == "q-a"
    with pytest.raises(ImgenError, match="no entry 7"):
        q.remove(7)
    with pytest.raises(ImgenError, match="no entry 7"):
        q.move(7, 1)


def test_add_refuses_what_could_never_run(imgen_home, tmp_path):
    q = TrainingQueue()
    q.add(_cfg("taken"))
    with pytest.raises(ImgenError, match="already has an entry named 'taken'"):
        q.add(_cfg("taken"))
    with pytest.raises(ImgenError, match="invalid"):
        q.add(_cfg("../escape"))
    with pytest.raises(ImgenError, match="steps"):
        q.add(_cfg(steps=0))
    (imgen_home / "runs" / "old").mkdir(parents=True)
    (imgen_home / "runs" / "old" / "metrics.jsonl").write_text('{"step": 1}\n')
    with pytest.raises(ImgenError, match="already exists"):
        q.add(_cfg("old"))
    with pytest.raises(ImgenError, match="no checkpoint"):
        q.add(_cfg("old"), resume=True)
    q.add(_cfg(data=str(tmp_path / "not-yet")))
    assert "does not exist (yet)" in q.warnings[-1]
    assert len(q.entries()) == 2


def test_a_damaged_queue_file_is_kept_aside_and_a_new_queue_starts(imgen_home):
    path = imgen_home / "queue.json"
    path.write_text('{"entries": [{"id": 1, "state": "queued", "config": {"famil')
    q = TrainingQueue()
    assert q.entries() == []
    assert len(q.warnings) == 1 and "damaged" in q.warnings[0] and "queue.json.bad" in q.warnings[0]
    assert (imgen_home / "queue.json.bad").read_text().startswith('{"entries": [{"id": 1')
    assert q.add(_cfg("fresh")).id == 1
    assert [e.name for e in TrainingQueue().entries()] == ["fresh"]
    path.write_text(json.dumps({"entries": [{"id": 1, "state": "exploded", "config": {}}]}))  # valid JSON, bad entry
    q2 = TrainingQueue()
    assert q2.entries() == [] and "bad id or state" in q2.warnings[0]


def test_run_all_goes_on_after_a_failed_entry(imgen_home):
    q = TrainingQueue()
    q.add(_cfg("first"))
    q.add(_cfg("second", data="bad:folder"))
    q.add(_cfg())  # an automatic name
    fake, seen, events = FakeTrain(), [], []
    report = q.run_all(events.append, ControlToken(), lambda e: seen.append((e.id, e.state)), train_fn=fake)
    assert (report.done, report.failed, report.stopped) == ([1, 3], [2], [])
    entries = q.entries()
    assert [e.state for e in entries] == ["done", "failed", "done"]
    assert entries[1].message == "dataset folder not found: bad:folder"
    assert entries[2].name.startswith("gan-digits-") and entries[2].step == 10 and entries[2].ended >= entries[2].started
    assert seen == [(1, "running"), (1, "done"), (2, "running"), (2, "failed"), (3, "running"), (3, "done")]
    assert [c[1] for c in fake.calls] == [False, False, False]
    assert any(isinstance(e, Progress) for e in events)  # the engine's events reach the caller
    assert q.run_all(events.append, train_fn=fake).done == []  # nothing left to run


def test_stop_leaves_the_entry_resumable_and_the_next_run_continues_it(imgen_home):
    q = TrainingQueue()
    q.add(_cfg("long"))
    q.add(_cfg("after"))
    report = q.run_all(lambda e: None, ControlToken(), train_fn=FakeTrain(stop_at={"long": 4}))
    assert report.stopped == [1] and report.done == []  # a stop ends the run of the queue too
    first = q.get(1)
    assert first.state == "stopped" and first.step == 4 and "continues" in first.message
    fake = FakeTrain()
    assert q.run_all(lambda e: None, train_fn=fake).done == [1, 2]
    assert fake.calls == [("long", True), ("after", False)]  # resumed from its checkpoint


def test_pause_stops_between_entries(imgen_home):
    q = TrainingQueue()
    q.add(_cfg("one"))
    q.add(_cfg("two"))

    def pause_after_first(entry):
        if entry.state == "done":
            TrainingQueue().set_paused(True)  # e.g. the GUI's Pause queue button

    report = q.run_all(lambda e: None, on_entry=pause_after_first, train_fn=FakeTrain())
    assert report.done == [1] and report.paused and q.get(2).state == "queued"
    assert q.run_next(lambda e: None, train_fn=FakeTrain()) is None  # paused: nothing starts
    q.set_paused(False)
    assert q.run_all(lambda e: None, train_fn=FakeTrain()).done == [2]


def test_an_entry_left_running_by_a_dead_process_is_resumed_or_restarted(imgen_home):
    q = TrainingQueue()
    q.add(_cfg("with-ckpt"))
    q.add(_cfg("no-ckpt"))
    data = json.loads((imgen_home / "queue.json").read_text())
    for e in data["entries"]:  # what a runner killed mid-training leaves behind
        e.update(state="running", run_name=e["config"]["name"], owns_run=True, step=0)
    (imgen_home / "queue.json").write_text(json.dumps(data))
    for name in ("with-ckpt", "no-ckpt"):
        folder = imgen_home / "runs" / name
        (folder / "samples").mkdir(parents=True)
        (folder / "metrics.jsonl").write_text('{"step": 1, "loss.d": 1}\n{"step": 2, "loss.d": 1}\n')
        (folder / "samples" / "step_000002.png").write_bytes(b"png")
    (imgen_home / "runs" / "with-ckpt" / "checkpoint.pt").write_bytes(b"x")

    listed = TrainingQueue().entries()  # nobody holds the runner lock: found at once, even by a listing
    assert [e.state for e in listed] == ["queued", "queued"]
    assert "continues from its last checkpoint" in listed[0].message and "starts again" in listed[1].message
    assert listed[0].step == 2
    fake = FakeTrain()
    assert q.run_all(lambda e: None, train_fn=fake).done == [1, 2]
    assert fake.calls == [("with-ckpt", True), ("no-ckpt", False)]
    # the restarted run's earlier curves were cleared so it could start again under its name
    assert not (imgen_home / "runs" / "no-ckpt" / "metrics.jsonl").exists()
    assert (imgen_home / "runs" / "with-ckpt" / "metrics.jsonl").exists()


def test_one_runner_at_a_time_and_a_running_entry_cannot_be_removed(imgen_home):
    q = TrainingQueue()
    q.add(_cfg("busy"))
    inside = threading.Event()
    release = threading.Event()
    seen = {}

    def slow_train(config, on_event, token, resume=False):
        inside.set()
        release.wait(10)
        return Finished(config.steps, config.name, "", "")

    thread = threading.Thread(target=lambda: q.run_all(lambda e: None, train_fn=slow_train))
    thread.start()
    try:
        assert inside.wait(10)
        other = TrainingQueue()
        assert other.running and other.get(1).state == "running"  # a live runner's entry is not "recovered"
        with pytest.raises(ImgenError, match="already running"):
            other.run_all(lambda e: None, train_fn=slow_train)
        with pytest.raises(ImgenError, match="training now"):
            other.remove(1)
        seen["moved"] = [e.id for e in other.move(1, 1)]
    finally:
        release.set()
        thread.join(10)
    assert not TrainingQueue().running and q.get(1).state == "done" and seen["moved"] == [1]


def test_retry_and_clear(imgen_home):
    q = TrainingQueue()
    q.add(_cfg("ok"))
    q.add(_cfg("broken", data="bad:x"))
    q.run_all(lambda e: None, train_fn=FakeTrain())
    with pytest.raises(ImgenError, match="only a failed or stopped"):
        q.retry(1)
    assert q.retry(2).state == "queued" and q.get(2).message == ""
    assert q.clear_finished() == 1 and [e.id for e in q.entries()] == [2]
