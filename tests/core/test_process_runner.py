"""Training in a child process (what the GUI does): real tiny GAN runs in a spawned child."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from imgen_desktop.core.config import TrainConfig
from imgen_desktop.core.events import CheckpointSaved, Failed, Finished, Log, Metrics, Progress, Samples
from imgen_desktop.core.process_runner import ProcessControlToken, TrainingProcess, train_in_process

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(autouse=True)
def one_thread(monkeypatch):
    """The child inherits the environment: one intra-op thread is fastest for these tiny nets
    (two OpenMP threads on a busy 2-core machine make a step ~100x slower)."""
    monkeypatch.setenv("OMP_NUM_THREADS", "1")


def tiny(**kw) -> TrainConfig:
    base = dict(family="gan", task="generate", data="builtin:digits", image_size=16, width=8, z_dim=16, batch_size=8,
                steps=5000, lr=1e-3, sample_every=50, checkpoint_every=0, device="cpu", name="child", ema=0.0)
    base.update(kw)
    return TrainConfig(**base)


def _until(runner: TrainingProcess, events: list, predicate, timeout: float = 60.0):
    """Collect events until ``predicate(event)`` is true for one; return that event."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        event = runner.next_event(0.2)
        if event is None:
            assert runner.result is None, runner.result
            continue
        events.append(event)
        if predicate(event):
            return event
        assert runner.result is None, f"the run ended early: {runner.result}"
    raise AssertionError(f"no such event within {timeout} s; last: {events[-3:]}")


def _drain(runner: TrainingProcess, events: list, seconds: float) -> list:
    """Events that arrive within ``seconds``."""
    got = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        event = runner.next_event(0.1)
        if event is not None:
            got.append(event)
    events.extend(got)
    return got


def test_events_in_order_pause_resume_sample_stop(imgen_home):
    runner = TrainingProcess(tiny())
    runner.start()
    events: list = []
    try:
        assert runner.pid is not None and runner.pid != os.getpid()
        _until(runner, events, lambda e: isinstance(e, Metrics) and e.step >= 8)
        # Pause through the shared token: the child stops stepping, keeps its model loaded
        runner.token.pause()
        assert runner.token.paused
        _drain(runner, events, 1.0)  # the step under way finishes
        paused_at = max(e.step for e in events if isinstance(e, (Progress, Metrics)))
        during_pause = _drain(runner, events, 1.5)
        assert not [e for e in during_pause if isinstance(e, (Progress, Metrics)) and e.step > paused_at]
        assert runner.is_alive()
        # a sample requested while paused is taken as soon as the loop runs again
        runner.token.request_sample()
        runner.token.resume()
        sample = _until(runner, events, lambda e: isinstance(e, Samples))
        assert sample.step > paused_at and sample.step % 50 != 0  # on request, not on the schedule
        assert sample.images.dtype == np.uint8 and sample.images.ndim == 4
        # Stop: the child saves a checkpoint and the model, sends Finished, exits cleanly
        runner.token.stop()
        for event in runner.events():
            events.append(event)
    finally:
        runner.close()
    result = runner.result
    assert isinstance(result, Finished), result
    assert result.stopped_early and result.step > paused_at
    assert events[-1] is result and sum(isinstance(e, (Finished, Failed)) for e in events) == 1
    assert runner.exitcode == 0 and not runner.is_alive()
    assert isinstance(events[0], Log)
    steps = [e.step for e in events if isinstance(e, (Progress, Metrics, Samples, CheckpointSaved))]
    assert steps == sorted(steps)  # in the order the engine emitted them
    assert any(isinstance(e, CheckpointSaved) and e.step == result.step for e in events)
    # written by the child under the inherited IMGEN_HOME
    assert (imgen_home / "models" / "child.safetensors").is_file()
    assert (imgen_home / "runs" / "child" / "checkpoint.pt").is_file()
    assert result.run_dir == str(imgen_home / "runs" / "child")


def test_killed_child_reports_failed_and_close_ends_a_running_child(imgen_home):
    # two children at once (their start-up overlaps): one is killed, one is left running and closed
    runner = TrainingProcess(tiny(name="killed", checkpoint_every=5))
    orphan = TrainingProcess(tiny(name="orphan"))
    runner.start()
    orphan.start()
    events: list = []
    try:
        _until(runner, events, lambda e: isinstance(e, CheckpointSaved))
        _until(runner, events, lambda e: isinstance(e, Metrics))
        os.kill(runner.pid, signal.SIGKILL)
        t0 = time.monotonic()
        rest = list(runner.events())
        assert time.monotonic() - t0 < 10
    finally:
        runner.close()
    failed = rest[-1]
    assert isinstance(failed, Failed) and runner.result is failed
    assert "ended unexpectedly" in failed.message and f"exit code {-signal.SIGKILL}" in failed.message
    assert "the last checkpoint is kept" in failed.message
    assert failed.step >= 5 and failed.run_dir == str(imgen_home / "runs" / "killed")
    assert not runner.is_alive()
    # the checkpoint the child saved before it was killed is there to resume from
    assert (imgen_home / "runs" / "killed" / "checkpoint.pt").is_file()

    # a paused child would wait forever: close() still ends it (terminate after the grace period);
    # SIGTERM stops it as Stop does, so it exits cleanly and saves its checkpoint on the way out
    _until(orphan, [], lambda e: isinstance(e, Progress))
    orphan.token.pause()
    orphan.close(grace_s=0.5)
    assert not orphan.is_alive() and orphan.exitcode is not None
    assert (imgen_home / "runs" / "orphan" / "checkpoint.pt").is_file()
    with pytest.raises(ProcessLookupError):
        os.kill(orphan.pid, 0)  # gone, and reaped (no zombie left under its pid)
    event = orphan.next_event(0.1)
    assert isinstance(event, Failed) and orphan.result is event


def test_train_in_process_reports_user_errors_and_needs_a_process_token(imgen_home, tmp_path):
    events: list = []
    result = train_in_process(tiny(data=str(tmp_path / "no such folder"), name="bad"), events.append)
    assert isinstance(result, Failed) and "no such folder" in result.message
    assert events[-1] == result
    with pytest.raises(TypeError):
        from imgen_desktop.core.control import ControlToken

        TrainingProcess(tiny(), token=ControlToken())


def test_token_interface_matches_control_token():
    from imgen_desktop.core.control import ControlToken

    names = {n for n in vars(ControlToken) if not n.startswith("_")}
    assert names <= set(dir(ProcessControlToken))
    token = ProcessControlToken()
    assert not token.paused and not token.stop_requested and not token.checkpoint()
    token.request_sample()
    assert token.take_sample_request() and not token.take_sample_request()
    token.pause()
    assert token.paused
    token.stop()  # wakes a paused loop
    assert token.stop_requested and token.cancelled is True and token.checkpoint()


def test_child_modules_import_no_qt():
    code = ("import sys, imgen_desktop.core.process_runner, imgen_desktop.core.trainer; "
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('PySide6', 'shiboken6', 'pyqtgraph')); "
            "print(bad); sys.exit(1 if bad else 0)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
