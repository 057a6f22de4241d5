"""SIGINT, SIGTERM and SIGHUP during training all stop cleanly: a checkpoint and the model so far.

Before, only SIGINT (Ctrl+C) saved anything; SIGTERM (``kill``, a job scheduler, logging out)
and SIGHUP (the terminal closed) killed the run and lost everything since the last
checkpoint, in the CLI and in the GUI's training process alike.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from imgen_desktop.core.config import TrainConfig
from imgen_desktop.core.events import Finished, Metrics
from imgen_desktop.core.process_runner import TrainingProcess
from imgen_desktop.core.store import ModelStore

pytestmark = [pytest.mark.timeout(180), pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")]

LONG = ["--family", "gan", "--data", "builtin:digits", "--preset", "quick", "--image-size", "16", "--batch-size", "8",
        "--steps", "100000", "--sample-every", "0", "--checkpoint-every", "0", "--device", "cpu", "--quiet"]


@pytest.fixture(autouse=True)
def one_thread(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")


def _wait_for(predicate, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError("timed out")


def _metrics_steps(run) -> list[int]:
    path = run / "metrics.jsonl"
    if not path.is_file():
        return []
    return [json.loads(line)["step"] for line in path.read_text().splitlines() if line.strip()]


@pytest.mark.parametrize("sig", ["SIGINT", "SIGTERM", "SIGHUP"])
def test_cli_training_stops_and_saves_on_signal(sig, imgen_home):
    run = imgen_home / "runs" / "sig"
    proc = subprocess.Popen([sys.executable, "-m", "imgen_desktop.cli", "train", *LONG, "--name", "sig"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ),
                            start_new_session=True)
    try:
        _wait_for(lambda: len(_metrics_steps(run)) >= 2 or proc.poll() is not None)
        assert proc.poll() is None, proc.communicate()
        os.kill(proc.pid, getattr(signal, sig))
        out, err = proc.communicate(timeout=90)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, (out, err)
    assert "stopped at step" in out and "--resume sig" in out
    assert err.strip().splitlines() == [f"stopping ({'Ctrl+C' if sig == 'SIGINT' else sig}): saving the checkpoint and "
                                        "the model (Ctrl+C again to abort)"], err
    state = torch.load(run / "checkpoint.pt", map_location="cpu", weights_only=True)
    info = ModelStore().get("sig")
    assert info.ok and info.steps == state["step"] >= _metrics_steps(run)[-1] > 0


@pytest.mark.parametrize("sig", ["SIGTERM", "SIGHUP"])
def test_the_gui_training_process_stops_and_saves_on_signal(sig, imgen_home):
    cfg = TrainConfig(family="gan", data="builtin:digits", image_size=16, width=8, z_dim=16, batch_size=8, steps=100000,
                      sample_every=0, checkpoint_every=0, device="cpu", name="child", ema=0.0)
    runner = TrainingProcess(cfg)
    runner.start()
    events = []
    try:
        _wait_for(lambda: (e := runner.next_event(0.2)) is not None and events.append(e) is None
                  and isinstance(e, Metrics) and e.step >= 10)
        os.kill(runner.pid, getattr(signal, sig))
        events += list(runner.events())
    finally:
        runner.close()
    result = events[-1]
    assert isinstance(result, Finished) and result.stopped_early, result
    assert runner.exitcode == 0
    state = torch.load(imgen_home / "runs" / "child" / "checkpoint.pt", map_location="cpu", weights_only=True)
    assert state["step"] == result.step >= 10
    assert ModelStore().get("child").steps == result.step
