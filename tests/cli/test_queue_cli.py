"""``imgen queue``: add / list / remove / move, a real queue of tiny trainings, SIGTERM and SIGKILL."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from imgen_desktop.cli import _build_parser, main

ROOT = Path(__file__).resolve().parents[2]
TINY = ["--family", "gan", "--preset", "quick", "--image-size", "16", "--batch-size", "8", "--sample-every", "0",
        "--device", "cpu"]


def _subparser(name, *path):
    parser = _build_parser()
    action = next(a for a in parser._actions if a.dest == "command")
    sub = action.choices[name]
    for p in path:
        sub = next(a for a in sub._actions if getattr(a, "choices", None) and p in a.choices).choices[p]
    return sub


def test_queue_add_takes_exactly_the_train_options():
    def options(parser):
        return sorted(s for a in parser._actions for s in a.option_strings)

    assert options(_subparser("queue", "add")) == options(_subparser("train"))


def test_add_list_move_remove(imgen_home, tmp_path, capsys):
    assert main(["queue", "add", *TINY, "--steps", "5", "--name", "qa"]) == 0
    assert "queued entry 1: GAN generate · digits · 5 steps (run qa)" in capsys.readouterr().out
    assert main(["queue", "add", "--family", "vae", "--steps", "7", "--data", str(tmp_path / "later")]) == 0
    captured = capsys.readouterr()
    assert "queued entry 2" in captured.out and "does not exist (yet)" in captured.err
    assert main(["queue", "add", *TINY, "--name", "qa"]) == 1
    assert capsys.readouterr().err.strip() == "imgen: error: the queue already has an entry named 'qa'; choose another name"
    assert main(["queue", "move", "2", "1"]) == 0
    assert capsys.readouterr().out.strip() == "moved entry 2 to position 1"
    assert main(["queue", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].split()[:3] == ["2", "queued", "(automatic)"] and lines[2].split()[:3] == ["1", "queued", "qa"]
    assert main(["queue", "remove", "2"]) == 0
    assert main(["queue", "remove", "2"]) == 1 and "no entry 2" in capsys.readouterr().err
    assert main(["queue", "pause"]) == 0 and main(["queue", "list"]) == 0
    assert "the queue is paused" in capsys.readouterr().out
    assert main(["queue", "run"]) == 1 and "imgen queue resume" in capsys.readouterr().err
    config = json.loads((imgen_home / "queue.json").read_text())["entries"][0]["config"]
    assert (config["steps"], config["image_size"], config["width"], config["name"]) == (5, 16, 16, "qa")  # preset + flags
    with pytest.raises(SystemExit) as usage:
        main(["queue", "add", "--steps", "3"])
    assert usage.value.code == 2


@pytest.fixture
def one_thread():
    """Tiny nets train several times faster on one thread than on a busy shared CPU's many."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_a_failed_entry_does_not_stop_the_queue(imgen_home, tmp_path, capsys, one_thread):
    for extra in (["--name", "one"], ["--name", "two", "--data", str(tmp_path / "missing")], ["--name", "three"]):
        assert main(["queue", "add", *TINY, "--steps", "3", "--checkpoint-every", "0", *extra]) == 0
    capsys.readouterr()
    assert main(["queue", "run", "--quiet"]) == 1  # something failed
    captured = capsys.readouterr()
    assert "entry 2 failed: " in captured.err and "not found" in captured.err
    assert "queue finished: 2 done, 1 failed" in captured.out
    entries = json.loads((imgen_home / "queue.json").read_text())["entries"]
    assert [e["state"] for e in entries] == ["done", "failed", "done"]
    assert "not found" in entries[1]["message"] and str(tmp_path / "missing") in entries[1]["message"]
    for name in ("one", "three"):
        assert (imgen_home / "models" / f"{name}.safetensors").is_file()
        steps = [json.loads(line)["step"] for line in (imgen_home / "runs" / name / "metrics.jsonl").read_text().splitlines()]
        assert steps[-1] == 3


def _imgen(home, *args):
    env = {**os.environ, "IMGEN_HOME": str(home), "PYTHONPATH": str(ROOT),
           "OMP_NUM_THREADS": "1"}  # one thread: tiny nets on a shared CPU run several times faster
    return subprocess.Popen([sys.executable, "-m", "imgen_desktop.cli", *args], env=env, cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for(path: Path, proc, timeout=180.0) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert proc.poll() is None, f"imgen ended before {path.name} appeared: {proc.communicate()}"
        assert time.monotonic() < deadline, f"{path} did not appear"
        time.sleep(0.02)


def test_sigkill_during_the_second_entry_then_a_new_run_finishes_it(imgen_home, capsys, one_thread):
    assert main(["queue", "add", *TINY, "--steps", "3", "--name", "k1"]) == 0
    assert main(["queue", "add", *TINY, "--steps", "40", "--checkpoint-every", "5", "--name", "k2"]) == 0
    assert main(["queue", "add", *TINY, "--steps", "3", "--name", "k3"]) == 0
    proc = _imgen(imgen_home, "queue", "run", "--quiet")
    try:
        _wait_for(imgen_home / "runs" / "k2" / "checkpoint.pt", proc)
    finally:
        proc.kill()  # SIGKILL: no handler, no clean-up
        proc.communicate(timeout=60)
    data = json.loads((imgen_home / "queue.json").read_text())  # still valid JSON
    assert [e["state"] for e in data["entries"]] == ["done", "running", "queued"]

    capsys.readouterr()
    assert main(["queue", "run", "--quiet"]) == 0  # a new run of the queue (here in this process)
    out = capsys.readouterr().out
    assert "entry 2: GAN generate · digits · 40 steps -> run k2 (interrupted at step" in out
    assert "it continues from its last checkpoint" in out and "queue finished: 2 done" in out
    entries = json.loads((imgen_home / "queue.json").read_text())["entries"]
    assert [e["state"] for e in entries] == ["done", "done", "done"]
    steps = [json.loads(line)["step"] for line in (imgen_home / "runs" / "k2" / "metrics.jsonl").read_text().splitlines()]
    assert steps == list(range(1, 41))  # one continuous step counter across the kill
    assert (imgen_home / "models" / "k3.safetensors").is_file()


@pytest.mark.skipif(os.name == "nt", reason="POSIX signals")
def test_sigterm_stops_the_current_entry_and_leaves_it_resumable(imgen_home):
    assert main(["queue", "add", *TINY, "--steps", "5000", "--checkpoint-every", "0", "--name", "long"]) == 0
    assert main(["queue", "add", *TINY, "--steps", "3", "--name", "next"]) == 0
    proc = _imgen(imgen_home, "queue", "run", "--quiet")
    try:
        _wait_for(imgen_home / "runs" / "long" / "metrics.jsonl", proc)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "stopping (SIGTERM)" in err and "entry 1 stopped: stopped at step" in out and "imgen queue run continues it" in out
    entries = json.loads((imgen_home / "queue.json").read_text())["entries"]
    assert [e["state"] for e in entries] == ["stopped", "queued"] and 0 < entries[0]["step"] < 5000
    assert (imgen_home / "runs" / "long" / "checkpoint.pt").is_file() and (imgen_home / "models" / "long.safetensors").is_file()
