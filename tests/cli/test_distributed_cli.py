"""``imgen train`` under torchrun: 2 CPU processes with gloo (``python -m torch.distributed.run``).

One run is stopped by a SIGTERM to rank 1 alone (the all-reduced stop flag must stop rank 0
too) and then resumed to a larger step count; another is stopped by a Ctrl+C to the whole
process group (each rank gets it from the terminal and again from torchrun).
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import torch.distributed as dist

from imgen_desktop.cli import main
from imgen_desktop.core.store import ModelStore

pytestmark = [
    pytest.mark.skipif(not (dist.is_available() and dist.is_gloo_available()), reason="torch.distributed with gloo is not available"),
    pytest.mark.timeout(900),  # two launches; each one has its own TIMEOUT_S below
]

TINY = ["--family", "gan", "--data", "builtin:digits", "--preset", "quick", "--image-size", "16", "--batch-size", "8",
        "--sample-every", "0", "--checkpoint-every", "0", "--device", "cpu", "--quiet"]
LONG = "100000"  # a run that is still going when the test stops it
# generous: on a loaded 2-core machine starting torchrun and its two workers (three torch imports)
# and letting them exit takes up to a minute or two; a hang still ends the test
TIMEOUT_S = 300


def _torchrun(args: list[str], out: Path) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", "--standalone",
           "-m", "imgen_desktop.cli", "train", *args]
    fh = open(out, "wb")
    try:
        # its own session: a Ctrl+C to its process group never reaches pytest
        return subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    finally:
        fh.close()


def _finish(proc: subprocess.Popen, out: Path) -> int:
    try:
        return proc.wait(timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        pytest.fail(f"the distributed run did not end in {TIMEOUT_S} s (a rank hung):\n{out.read_text()[-2000:]}")


def _metrics(home: Path, name: str) -> list[dict]:
    path = home / "runs" / name / "metrics.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.is_file() else []


def _wait_for_metrics(proc: subprocess.Popen, home: Path, name: str, out: Path, lines: int = 2) -> None:
    deadline = time.monotonic() + TIMEOUT_S
    while len(_metrics(home, name)) < lines:
        if proc.poll() is not None:
            pytest.fail(f"the run ended before it was stopped:\n{out.read_text()[-2000:]}")
        if time.monotonic() > deadline:
            os.killpg(proc.pid, signal.SIGKILL)
            pytest.fail(f"the run wrote no metrics in {TIMEOUT_S} s:\n{out.read_text()[-2000:]}")
        time.sleep(0.2)


def _rank_pid(launcher: int, rank: int) -> int:
    """The pid of the worker process with ``RANK=rank`` among the launcher's children."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            environ = (entry / "environ").read_bytes().split(b"\0")
        except (OSError, IndexError, ValueError):
            continue
        if ppid == launcher and f"RANK={rank}".encode() in environ:
            return int(entry.name)
    raise AssertionError(f"no worker with RANK={rank} under process {launcher}")


def _check_one_log(rows: list[dict]) -> list[int]:
    """One metrics log written by one process: no line twice, steps never go back."""
    steps = [r["step"] for r in rows]
    assert steps == sorted(steps), steps
    lines = [json.dumps({k: v for k, v in r.items() if k != "time"}, sort_keys=True) for r in rows]
    assert len(lines) == len(set(lines)), "a metrics line was written twice"
    loss_steps = [r["step"] for r in rows if "loss.g" in r]
    assert len(loss_steps) == len(set(loss_steps)), "two loss lines for one step (rank 1 wrote too?)"
    return steps


def _checkpoint(home: Path, name: str) -> dict:
    return torch.load(home / "runs" / name / "checkpoint.pt", map_location="cpu", weights_only=True)


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="finding rank 1's pid needs /proc")
def test_stop_on_one_rank_stops_both_then_resume_continues(imgen_home, tmp_path):
    out = tmp_path / "first.txt"
    proc = _torchrun([*TINY[:-1], "--steps", LONG, "--name", "ddp"], out)  # not --quiet: the log lines too
    _wait_for_metrics(proc, imgen_home, "ddp", out)
    os.kill(_rank_pid(proc.pid, 1), signal.SIGTERM)  # rank 1 alone is told to stop
    assert _finish(proc, out) == 0, out.read_text()[-3000:]
    text = out.read_text()
    stopped = [line for line in text.splitlines() if line.startswith("stopped at step") and ", saved:" in line]
    assert len(stopped) == 1, text[-3000:]  # rank 0 reports once
    step = int(stopped[0].split()[3].rstrip(","))
    assert f"process 1: stopped at step {step} " in text  # both left the loop after the same step
    assert "batch 8 per process x 2 processes = 16 global" in text.splitlines()[0]
    assert _checkpoint(imgen_home, "ddp")["step"] == step
    steps = _check_one_log(_metrics(imgen_home, "ddp"))
    assert steps[-1] == step
    assert sorted(p.name for p in (imgen_home / "models").iterdir()) == ["ddp.safetensors"]
    assert ModelStore().get("ddp").meta["steps"] == step

    out2 = tmp_path / "resume.txt"
    target = step + 4
    proc = _torchrun(["--resume", "ddp", "--steps", str(target), "--device", "cpu", "--quiet"], out2)
    assert _finish(proc, out2) == 0, out2.read_text()[-3000:]
    text = out2.read_text()
    assert f"trained ddp: {target} steps" in text and f"process 1: finished at step {target} " in text
    steps = _check_one_log(_metrics(imgen_home, "ddp"))
    # one curve, continued: the first run's lines (every 10 steps of 100000), then every step to the end
    assert steps[-1] == target and set(range(step + 1, target + 1)) <= set(steps) and steps[0] < step
    state = _checkpoint(imgen_home, "ddp")
    assert state["step"] == target
    for opt in state["recipe"]["optimizers"].values():  # as many optimizer steps as asked, not 2x
        assert {int(s["step"]) for s in opt["state"].values()} == {target}
    assert sorted(p.name for p in (imgen_home / "models").iterdir()) == ["ddp.safetensors"]
    assert ModelStore().get("ddp").meta["steps"] == target
    grid = tmp_path / "grid.png"
    assert main(["generate", "--model", "ddp", "-n", "4", "-o", str(grid), "--seed", "1", "--device", "cpu"]) == 0
    assert grid.is_file()


def test_ctrl_c_to_the_group_stops_every_rank_with_one_checkpoint(imgen_home, tmp_path):
    out = tmp_path / "run.txt"
    proc = _torchrun([*TINY, "--steps", LONG, "--name", "ddp-int"], out)
    _wait_for_metrics(proc, imgen_home, "ddp-int", out)
    os.killpg(proc.pid, signal.SIGINT)  # Ctrl+C in the terminal: torchrun and both ranks get it
    _finish(proc, out)  # torchrun itself exits non-zero after a signal; the ranks must end cleanly
    text = out.read_text()
    stopped = [line for line in text.splitlines() if line.startswith("stopped at step") and ", saved:" in line]
    assert len(stopped) == 1, text[-3000:]
    step = int(stopped[0].split()[3].rstrip(","))
    assert f"process 1: stopped at step {step} " in text, text[-3000:]
    assert "imgen: error" not in text and "KeyboardInterrupt" not in text, text[-3000:]
    assert _checkpoint(imgen_home, "ddp-int")["step"] == step
    assert _check_one_log(_metrics(imgen_home, "ddp-int"))[-1] == step
    assert ModelStore().get("ddp-int").meta["steps"] == step
