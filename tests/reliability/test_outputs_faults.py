"""Faults under the outputs: full disks (a real small tmpfs where mounting is allowed, else a fake
ENOSPC), read-only folders and data roots, and SIGKILL / SIGTERM in the middle of a batch.
Afterwards: one clear line per failed file, every file on disk complete, no temporary left
(after a rerun's cleanup)."""
from __future__ import annotations

import errno
import os
import signal
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import Run, assert_one_clear_line, fill_up, leftovers, spawn_imgen
from PIL import Image

from imgen_desktop.core.imageio import load_image

FORMATS = ("png", "jpg", "webp", "tif")
NO_SPACE = r"could not be written \(no space left on the disk; nothing was saved\)"
READ_ONLY = r"could not be written \(the folder is on a read-only disk\)"


def _inputs(folder: Path, n: int = 4, size: int = 96) -> list[Path]:
    """Noise pictures (they compress badly: each output is tens of KB)."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(3)
    paths = []
    for i in range(n):
        ext = FORMATS[i % len(FORMATS)]
        path = folder / f"in{i:02d}.{ext}"
        Image.fromarray(rng.integers(0, 256, (size, size, 3), dtype=np.uint8)).save(path, **({"quality": 95} if ext == "jpg" else {}))
        paths.append(path)
    return paths


def _enhance(capfd, inputs, out, *extra) -> Run:
    """``imgen enhance`` in this process (torch is imported once for the whole module)."""
    from imgen_desktop import cli

    capfd.readouterr()
    rc = cli.main(["enhance", *map(str, inputs), "-o", str(out), "--model", "builtin:denoise", "--tile", "0",
                   "--passes", "1", "--quiet", *extra])
    captured = capfd.readouterr()
    return Run(rc, captured.out, captured.err, 0.0)


def _complete(folder: Path) -> list[str]:
    """Every non-temporary file in ``folder`` loads in full; returns their names."""
    names = []
    for path in sorted(folder.iterdir()):
        if path.name.startswith(".") or path.name == "filler.bin":
            continue
        load_image(path)  # raises on a truncated or empty file
        names.append(path.name)
    return names


def _path_of(fd: int) -> str:
    try:
        return os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return ""


@pytest.fixture
def fault_under(monkeypatch):
    """``fault_under(folder, code)``: writes under ``folder`` fail like a full (ENOSPC, after a
    few bytes) or read-only / forbidden (EROFS, EACCES: creating a file) disk."""
    if not Path("/proc/self/fd").is_dir():
        pytest.skip("needs /proc/self/fd")

    def install(folder: Path, code: int) -> None:
        root = str(folder.resolve())
        real_write, real_open, real_replace = os.write, os.open, os.replace

        def inside(path) -> bool:
            try:
                return os.path.abspath(os.fspath(path)).startswith(root + os.sep)
            except TypeError:
                return False

        def write(fd, data):
            if code == errno.ENOSPC and _path_of(fd).startswith(root + os.sep):
                real_write(fd, bytes(data[:100]))  # a few bytes reach the disk, then it is full
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            return real_write(fd, data)

        def open_(path, flags, *args, **kwargs):
            if code != errno.ENOSPC and flags & (os.O_CREAT | os.O_WRONLY | os.O_RDWR) and inside(path):
                raise OSError(code, os.strerror(code), os.fspath(path))
            return real_open(path, flags, *args, **kwargs)

        def replace(src, dst, *args, **kwargs):
            if code != errno.ENOSPC and inside(dst):
                raise OSError(code, os.strerror(code), os.fspath(dst))
            return real_replace(src, dst, *args, **kwargs)

        monkeypatch.setattr(os, "write", write)
        monkeypatch.setattr(os, "open", open_)
        monkeypatch.setattr(os, "replace", replace)

    return install


# --- full disks ------------------------------------------------------------------------------

def test_a_real_full_disk_under_the_output_folder(tmpfs, tmp_path, capfd):
    inputs = _inputs(tmp_path / "in", size=128)
    out = tmpfs(512)
    fill_up(out, leave_bytes=2 * 1024)
    run = _enhance(capfd, inputs, out)
    assert_one_clear_line(run, *[rf"imgen: error: in{i:02d}\.{FORMATS[i]}: in{i:02d}_denoised\.{FORMATS[i]}: {NO_SPACE}" for i in range(4)])
    assert sorted(p.name for p in out.iterdir()) == ["filler.bin"]  # no truncated output, no temporary

    (out / "filler.bin").unlink()  # space again: the same command now writes every file in full
    run = _enhance(capfd, inputs, out)
    assert run.rc == 0 and run.err == ""
    assert _complete(out) == [f"in{i:02d}_denoised.{FORMATS[i]}" for i in range(4)]


def test_a_fake_full_disk_under_the_output_folder(fault_under, tmp_path, capfd):
    """The same promise where mounting is not allowed: every write under the folder hits ENOSPC."""
    inputs = _inputs(tmp_path / "in")
    out = tmp_path / "out"
    out.mkdir()
    fault_under(out, errno.ENOSPC)
    run = _enhance(capfd, inputs, out)
    assert_one_clear_line(run, *[rf"in{i:02d}_denoised\.{FORMATS[i]}: {NO_SPACE}" for i in range(4)])
    assert list(out.iterdir()) == []


def test_a_full_data_root_while_importing_a_model(tmpfs, make_model_file, tmp_path, capfd, monkeypatch):
    from imgen_desktop import cli

    model = make_model_file(tmp_path / "tiny.safetensors")
    home = tmpfs(256)
    (home / "models").mkdir()
    fill_up(home, leave_bytes=1024)
    monkeypatch.setenv("IMGEN_HOME", str(home))
    capfd.readouterr()
    rc = cli.main(["models", "import", str(model)])
    run = Run(rc, *capfd.readouterr(), 0.0)
    assert_one_clear_line(run, r"imgen: error: could not copy tiny.safetensors .*No space left on device")
    assert sorted(p.name for p in (home / "models").iterdir()) == [] and leftovers(home) == []


def test_enhancing_needs_no_space_in_the_data_root(tmpfs, tmp_path, capfd, monkeypatch):
    home = tmpfs(128)
    for sub in ("models", "runs"):
        (home / sub).mkdir()
    fill_up(home)
    monkeypatch.setenv("IMGEN_HOME", str(home))
    inputs = _inputs(tmp_path / "in", 2, 32)
    run = _enhance(capfd, inputs, tmp_path / "out")
    assert run.rc == 0 and run.err == "", run.err
    assert len(_complete(tmp_path / "out")) == 2


# --- read-only folders ---------------------------------------------------------------------------

def test_a_read_only_output_folder(tmpfs, tmp_path, capfd):
    inputs = _inputs(tmp_path / "in", 2, 32)
    out = tmpfs(256, readonly=True)
    run = _enhance(capfd, inputs, out)
    assert_one_clear_line(run, rf"in00_denoised\.png: {READ_ONLY}", rf"in01_denoised\.jpg: {READ_ONLY}")
    assert list(out.iterdir()) == []


@pytest.mark.parametrize("code, words", [(errno.EROFS, READ_ONLY), (errno.EACCES, r"could not be written \(permission denied\)")])
def test_a_fake_read_only_or_forbidden_output_folder(fault_under, tmp_path, capfd, code, words):
    """Tests run as root, where chmod stops nothing: the refusal is injected at os.open."""
    inputs = _inputs(tmp_path / "in", 2, 32)
    out = tmp_path / "out"
    out.mkdir()
    fault_under(out, code)
    run = _enhance(capfd, inputs, out)
    assert_one_clear_line(run, rf"in00_denoised\.png: {words}", rf"in01_denoised\.jpg: {words}")
    assert list(out.iterdir()) == []


def test_a_read_only_data_root_still_enhances(tmpfs, tmp_path, capfd, monkeypatch):
    def prepare(root: Path) -> None:
        for sub in ("models", "runs"):
            (root / sub).mkdir()

    home = tmpfs(128, readonly=True, fill=prepare)
    monkeypatch.setenv("IMGEN_HOME", str(home))
    inputs = _inputs(tmp_path / "in", 1, 32)
    run = _enhance(capfd, inputs, tmp_path / "out.png")
    assert run.rc == 0 and run.err == "", run.err
    assert load_image(tmp_path / "out.png").size == (32, 32)


# --- signals in the middle of a batch --------------------------------------------------------------

def _first_output(out: Path) -> bool:
    return out.is_dir() and any(not p.name.startswith(".") for p in out.iterdir())


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_batches_killed_midway_leave_only_complete_outputs(tmp_path, capfd):
    """Two batches at once (their start-ups overlap): one gets SIGKILL, one SIGTERM, each as soon
    as its first output is written. Then a rerun completes each batch and cleans up."""
    inputs = _inputs(tmp_path / "in", 8, 96)
    signals = {"SIGKILL": signal.SIGKILL, "SIGTERM": signal.SIGTERM}
    t0 = time.monotonic()
    outs = {name: tmp_path / f"out-{name}" for name in signals}
    # small tiles and four passes: slow enough per photo to be interrupted between two of them
    procs = {name: spawn_imgen(["enhance", *inputs, "-o", outs[name], "--model", "builtin:denoise", "--tile", "32",
                                "--passes", "4", "--quiet"], tmp_path / f"home-{name}", OMP_NUM_THREADS="1")
             for name in signals}
    try:
        deadline = time.monotonic() + 240
        waiting = set(signals)
        while waiting and time.monotonic() < deadline:
            for name in list(waiting):
                if procs[name].poll() is not None:
                    pytest.fail(f"{name} batch ended before it could be interrupted: {procs[name].communicate()}")
                if _first_output(outs[name]):
                    procs[name].send_signal(signals[name])
                    waiting.discard(name)
            time.sleep(0.05)
        assert not waiting, f"no output within 240 s from {waiting}"
        for proc in procs.values():
            proc.wait(60)
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
            proc.communicate()
    t1 = time.monotonic()
    for name, out in outs.items():
        assert procs[name].returncode != 0, name
        done = _complete(out)  # whatever is there is complete
        assert 1 <= len(done) < len(inputs), (name, done)
        assert all(not p.name.startswith(".") or "imgen-tmp-" in p.name for p in out.iterdir()), name

    out = outs["SIGKILL"]
    for p in out.iterdir():  # minutes pass; a crashed write of an earlier session lies there too
        os.utime(p, (time.time() - 3600, time.time() - 3600))
    stale = out / ".in05_denoised.tif.imgen-tmp-abcd1234.tif"
    stale.write_bytes(b"half a file")
    os.utime(stale, (time.time() - 3600, time.time() - 3600))
    for out in outs.values():
        run = _enhance(capfd, inputs, out)  # the rerun completes the batch and cleans up
        assert run.rc == 0 and run.err == "", run.err
        assert len(_complete(out)) == len(inputs)
        assert leftovers(out) == []
    sys.__stderr__.write(f"[kill phase {t1 - t0:.1f} s, reruns {time.monotonic() - t1:.1f} s] ")
