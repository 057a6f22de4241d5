"""Run folders that survive bad luck: no checkpoint yet, two trainings at once, corrupt files,
a full disk, a data root that cannot be made, out-of-range options, export over a file, noise."""
from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch

from imgen_desktop.cli import main
from imgen_desktop.core import paths
from imgen_desktop.core.config import TrainConfig
from imgen_desktop.core.errors import ImgenError
from imgen_desktop.core.store import ModelStore
from imgen_desktop.core.trainer import load_metrics

TINY = ["--family", "gan", "--data", "builtin:digits", "--preset", "quick", "--image-size", "16", "--batch-size", "8",
        "--sample-every", "0", "--checkpoint-every", "0", "--device", "cpu", "--quiet"]


@pytest.fixture(autouse=True)
def one_thread(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")


def one_error_line(capsys) -> str:
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("imgen: error: "), captured.err
    assert "Traceback" not in captured.err + captured.out
    return lines[0]


def steps_of(run: Path) -> list[int]:
    return [r["step"] for r in load_metrics(run.name)]


@pytest.fixture
def trained(imgen_home, capsys):
    """A finished 4-step run named ``r`` (with its checkpoint and model)."""
    assert main(["train", *TINY, "--steps", "4", "--name", "r"]) == 0
    capsys.readouterr()
    return imgen_home / "runs" / "r"


# --- a run that died before its first checkpoint -------------------------------------------

def test_a_run_without_checkpoint_can_be_resumed_from_scratch(trained, imgen_home, capsys):
    (trained / "checkpoint.pt").unlink()  # as if it died before its first checkpoint
    (imgen_home / "models" / "r.safetensors").unlink()
    assert main(["train", *TINY, "--steps", "4", "--name", "r"]) == 1
    assert "--resume r" in one_error_line(capsys)  # the advice given ...
    assert main(["train", "--resume", "r", "--steps", "5", "--device", "cpu", "--quiet"]) == 0  # ... works
    captured = capsys.readouterr()
    assert "trained r: 5 steps" in captured.out
    assert "starting it again from step 0" in captured.err
    assert steps_of(trained) == sorted(set(steps_of(trained))) and steps_of(trained)[-1] == 5
    assert torch.load(trained / "checkpoint.pt", weights_only=True)["step"] == 5
    assert ModelStore().get("r").steps == 5


# --- one run folder, one process ------------------------------------------------------------

def test_a_locked_run_is_refused_with_one_line(trained, imgen_home, capsys):
    from imgen_desktop.core.trainer import RunLock

    before = {p.name: p.read_bytes() for p in trained.iterdir() if p.is_file()}
    lock = RunLock(trained, "r").acquire()
    try:
        assert main(["train", "--resume", "r", "--steps", "8", "--device", "cpu", "--quiet"]) == 1
        line = one_error_line(capsys)
        assert "in use by another training" in line and f"process {os.getpid()}" in line
        busy = imgen_home / "runs" / "busy"
        busy.mkdir()
        other = RunLock(busy, "busy").acquire()
        try:
            assert main(["train", *TINY, "--steps", "4", "--name", "busy"]) == 1
            assert "in use by another training" in one_error_line(capsys)
        finally:
            other.release()
    finally:
        lock.release()
    after = {p.name: p.read_bytes() for p in trained.iterdir() if p.is_file() and p.name != ".lock"}
    assert after == {k: v for k, v in before.items() if k != ".lock"}
    assert main(["train", "--resume", "r", "--steps", "6", "--device", "cpu", "--quiet"]) == 0  # free again


def test_two_trainings_with_the_same_name_at_once(imgen_home):
    """The second gets one clear refusal; the first's run folder stays one consistent run."""
    cmd = [sys.executable, "-m", "imgen_desktop.cli", "train", *TINY, "--steps", "100000", "--name", "same"]
    first = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ),
                             start_new_session=True)
    run = imgen_home / "runs" / "same"
    try:
        deadline = time.monotonic() + 90
        while not (run / ".lock").is_file() and first.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        second = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=dict(os.environ))
        assert second.returncode == 1, second.stdout
        lines = second.stderr.strip().splitlines()
        assert len(lines) == 1 and ("in use by another training" in lines[0] or "already exists" in lines[0]), second.stderr
        deadline = time.monotonic() + 90  # let the first log some steps before it is stopped
        while not load_metrics("same") and first.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        os.kill(first.pid, signal.SIGTERM)
        out, err = first.communicate(timeout=90)
    finally:
        if first.poll() is None:
            first.kill()
            first.communicate()
    assert first.returncode == 0, err
    steps = steps_of(run)
    # one run's curve, not two interleaved: steps never go back (a stop right after a metrics line
    # adds the final samples' line at that same step)
    assert steps and steps == sorted(steps) and len(steps) - len(set(steps)) <= 1, steps
    assert ModelStore().get("same").steps == torch.load(run / "checkpoint.pt", weights_only=True)["step"]


# --- corrupt files in a run folder --------------------------------------------------------

@pytest.mark.parametrize("content", [b"[1, 2]", b'"text"', b"null", b'{"steps": "abc"}', b'{"extra": [1, 2]}',
                                     b'{"family": 7}', b'{"lr": "fast"}', b"\xff\xfe\x00not utf-8", b'{"a": ' * 5000])
def test_a_corrupt_config_is_one_clear_line(trained, content, capsys):
    (trained / "config.json").write_bytes(content)
    assert main(["train", "--resume", "r", "--steps", "8", "--device", "cpu", "--quiet"]) == 1
    line = one_error_line(capsys)
    assert "the run 'r' has" in line and "config.json" in line


def test_bad_lines_in_metrics_do_not_block_a_resume(trained, capsys):
    with open(trained / "metrics.jsonl", "ab") as fh:
        fh.write(b'\xff\xfe{"step": 2, "bad": "utf-8"}\n{"step": "x"}\n[1, 2]\n{"step": true}\n{"step": -3}\n{"ste')
    rows = load_metrics("r")
    assert rows and all(isinstance(r["step"], int) and r["step"] >= 0 for r in rows)
    assert main(["train", "--resume", "r", "--steps", "7", "--device", "cpu", "--quiet"]) == 0
    assert "trained r: 7 steps" in capsys.readouterr().out
    steps = steps_of(trained)
    assert steps == sorted(set(steps)) and steps[-1] == 7
    text = (trained / "metrics.jsonl").read_bytes()
    assert b"\xff" not in text  # the resume rewrote the log without the broken lines


# --- a full disk -----------------------------------------------------------------------------

@pytest.mark.parametrize("failure", ["enospc", "torch-zip"])
def test_disk_full_while_saving_a_checkpoint_keeps_the_previous_one(failure, imgen_home, monkeypatch, capsys):
    real_save = torch.save
    calls = {"n": 0}

    def save(obj, f, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 1:
            return real_save(obj, f, *args, **kwargs)
        Path(f).write_bytes(b"PK\x03\x04 half a checkpoint")  # what a full disk leaves behind
        if failure == "enospc":
            raise OSError(errno.ENOSPC, "No space left on device")
        raise RuntimeError("[enforce fail at inline_container.cc:603] . unexpected pos 10048 vs 9942")

    monkeypatch.setattr(torch, "save", save)
    assert main(["train", *TINY, "--steps", "6", "--checkpoint-every", "2", "--name", "full"]) == 1
    line = one_error_line(capsys)
    assert "disk full while saving the checkpoint at step 4" in line
    assert "the previous checkpoint (step 2) is kept" in line
    run = imgen_home / "runs" / "full"
    assert torch.load(run / "checkpoint.pt", weights_only=True)["step"] == 2
    assert sorted(p.name for p in run.iterdir() if p.name.startswith(".") and p.name != ".lock") == []


# --- a data root that cannot be created ---------------------------------------------------------

@pytest.mark.parametrize("argv", [["models", "list"], ["models", "remove", "x"], ["generate", "--model", "x", "-o", "o.png"],
                                  ["train", "--family", "gan", "--steps", "2", "--quiet"], ["train", "--resume", "x"]])
def test_a_data_root_that_cannot_be_created_is_one_line(argv, tmp_path, monkeypatch, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("IMGEN_HOME", str(blocker / "home"))
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 1
    line = one_error_line(capsys)
    assert "cannot create the data folder" in line and str(blocker / "home") in line and "IMGEN_HOME" in line


def test_the_gui_gets_an_imgen_error_for_a_data_root_it_cannot_create(tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    monkeypatch.setenv("IMGEN_HOME", str(blocker / "home"))
    for call in (paths.data_root, paths.models_dir, paths.runs_dir, paths.settings_path, ModelStore):
        with pytest.raises(ImgenError, match="cannot create the data folder"):
            call()


# --- every numeric option bounded -------------------------------------------------------------

@pytest.mark.parametrize("argv, needle", [
    (["-n", str(10**9)], "-n must be at least 1 and at most 4096"),
    (["-n", "0"], "-n must be at least 1"),
    (["--seed", str(2**70)], "--seed must be"),
    (["--seed", "-1"], "--seed must be"),
])
def test_generate_options_are_bounded(argv, needle, make_model_file, imgen_home, tmp_path, capsys):
    make_model_file(imgen_home / "models" / "g.safetensors", task="generate", scale=1, channels=1)
    out = tmp_path / "out.png"
    assert main(["generate", "--model", "g", "-o", str(out), *argv]) == 1
    assert needle in one_error_line(capsys)
    assert not out.exists()


@pytest.mark.parametrize("argv, needle", [
    (["--rnn-steps", "1000000"], "--rnn-steps must be at least 1 and at most 64"),
    (["--steps", str(10**12)], "--steps must be"),
    (["--batch-size", str(10**6)], "--batch-size must be"),
    (["--image-size", str(10**6)], "--image-size must be"),
    (["--seed", str(2**70)], "--seed must be"),
    (["--lr", "1e9"], "--lr must be"),
    (["--lr", "nan"], "--lr must be"),
    (["--ema", "5"], "--ema must be"),
    (["--kl-warmup", "-1"], "--kl-warmup must be"),
    (["--clip-grad", "inf"], "--clip-grad must be"),
])
def test_train_options_are_bounded(argv, needle, imgen_home, capsys):
    assert main(["train", *TINY, "--steps", "2", "--name", "b", *argv]) == 1
    assert needle in one_error_line(capsys)
    assert not (imgen_home / "models" / "b.safetensors").exists()


def test_the_gui_config_uses_the_same_bounds():
    for field, value in [("rnn_steps", 10**6), ("steps", 0), ("seed", 2**70), ("lr", float("nan")), ("width", 10**6),
                         ("batch_size", "64"), ("steps", 2.5), ("extra", {"blocks": 100_000}), ("extra", {"blocks": "6"})]:
        cfg = TrainConfig(family="rnn", **{field: value})
        with pytest.raises(ImgenError, match="must be"):
            cfg.validate()
    TrainConfig(family="rnn").validate()


# --- export never overwrites without asking, never writes into the store ------------------------

def test_export_refuses_existing_files_and_the_store(make_model_file, imgen_home, tmp_path, capsys):
    make_model_file(imgen_home / "models" / "a.safetensors")
    make_model_file(imgen_home / "models" / "b.safetensors", steps=99)
    b_before = (imgen_home / "models" / "b.safetensors").read_bytes()
    existing = tmp_path / "mine.safetensors"
    existing.write_bytes(b"my own file")

    assert main(["models", "export", "a", str(existing)]) == 1
    assert "already exists; pass --overwrite" in one_error_line(capsys)
    assert existing.read_bytes() == b"my own file"
    for target in (imgen_home / "models" / "b.safetensors", imgen_home / "models" / "new.safetensors",
                   imgen_home / "models" / "a.safetensors", imgen_home / "models" / ".." / "models" / "c.safetensors"):
        assert main(["models", "export", "a", str(target), "--overwrite"]) == 1
        assert "cannot export into the model store" in one_error_line(capsys)
    assert (imgen_home / "models" / "b.safetensors").read_bytes() == b_before
    assert sorted(p.name for p in (imgen_home / "models").iterdir()) == ["a.safetensors", "b.safetensors"]

    assert main(["models", "export", "a", str(existing), "--overwrite"]) == 0
    assert existing.read_bytes() == (imgen_home / "models" / "a.safetensors").read_bytes()


# --- library noise ----------------------------------------------------------------------------

def test_library_warnings_do_not_break_the_one_line_promise(imgen_home):
    code = textwrap.dedent("""
        import warnings
        import imgen_desktop.core.store as store

        def noisy(self):
            warnings.warn("TypedStorage is deprecated", UserWarning)
            raise store.ModelError("the one line")

        store.ModelStore.list = noisy
        from imgen_desktop.cli import main
        raise SystemExit(main(["models", "list"]))
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=dict(os.environ))
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == ["imgen: error: the one line"], proc.stderr


def test_the_app_says_why_it_cannot_start_without_a_data_root(tmp_path, monkeypatch, qapp):
    from PySide6.QtWidgets import QMessageBox

    from imgen_desktop import app

    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    monkeypatch.setenv("IMGEN_HOME", str(blocker / "home"))
    shown = []
    monkeypatch.setattr(QMessageBox, "critical", staticmethod(lambda parent, title, text: shown.append(text)))
    assert app.main([]) == 1
    assert len(shown) == 1 and "cannot create the data folder" in shown[0] and str(blocker / "home") in shown[0]
