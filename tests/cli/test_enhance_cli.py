"""``imgen enhance``: one input -> file, several -> folder, bad files reported, masks."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from imgen_desktop import cli
from imgen_desktop.core.imageio import load_image, photo_from_array, save_image
from imgen_desktop.core.models import restore
from imgen_desktop.core.store import ModelStore


def _store_model(name, cls=restore.RestoreGenerator, **params):
    torch.manual_seed(0)
    net = cls(**params)
    arch = {restore.RestoreGenerator: "gan.restore", restore.RestoreRNN: "rnn.restore"}[cls]
    meta = {"family": arch.split(".")[0], "task": params["task"], "scale": params.get("scale", 1),
            "channels": params["channels"], "arch": arch, "arch_params": params}
    return ModelStore().save(name, net.state_dict(), meta)


def _photo(path, h=20, w=24, channels=3, seed=0):
    arr = (np.random.default_rng(seed).random((h, w, channels)) * 255).astype(np.uint8)
    return save_image(photo_from_array(arr), path)


@pytest.fixture
def x2():
    return _store_model("tiny-x2", channels=3, task="upscale", scale=2, width=4, blocks=1)


def test_single_input_writes_the_output_file(tmp_path, x2, capsys):
    src = _photo(tmp_path / "a.png")
    out = tmp_path / "big.jpg"
    assert cli.main(["enhance", str(src), "-o", str(out), "--model", "tiny-x2", "--tile", "0", "--quiet", "--quality", "90"]) == 0
    photo = load_image(out)
    assert photo.pixels.shape == (40, 48, 3) and photo.format == "JPEG"


def test_several_inputs_go_to_a_folder_and_bad_files_do_not_stop_the_batch(tmp_path, x2, capsys):
    a = _photo(tmp_path / "a.png")
    folder = tmp_path / "more"
    folder.mkdir()
    _photo(folder / "b.png", channels=1)
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not an image")
    out = tmp_path / "out"
    rc = cli.main(["enhance", str(a), str(bad), str(folder), "-o", str(out), "--model", "tiny-x2", "--format", "png", "--tile", "16"])
    captured = capsys.readouterr()
    assert rc == 1
    assert sorted(p.name for p in out.iterdir()) == ["a_x2.png", "b_x2.png"]
    assert load_image(out / "b_x2.png").pixels.shape == (40, 48, 1)  # gray stays gray
    errors = [line for line in captured.err.splitlines() if line.startswith("imgen: error:")]
    assert len(errors) == 1 and "bad.png" in errors[0]
    assert "Traceback" not in captured.err


def test_unknown_model_is_one_clear_line(tmp_path, capsys):
    src = _photo(tmp_path / "a.png")
    rc = cli.main(["enhance", str(src), "-o", str(tmp_path / "o.png"), "--model", "nope"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 1 and len(err) == 1 and "nope" in err[0]
    assert not (tmp_path / "o.png").exists()


def test_inpaint_with_mask(tmp_path, capsys):
    _store_model("tiny-fill", channels=3, task="inpaint", width=4, blocks=1, unshuffle=2)
    src = _photo(tmp_path / "a.png")
    mask = np.zeros((20, 24), np.uint8)
    mask[5:12, 6:15] = 255
    mpath = save_image(photo_from_array(mask), tmp_path / "mask.png")
    out = tmp_path / "filled.png"
    assert cli.main(["enhance", str(src), "-o", str(out), "--model", "tiny-fill", "--quiet"]) == 1  # no mask
    assert "mask" in capsys.readouterr().err
    assert cli.main(["enhance", str(src), "-o", str(out), "--model", "tiny-fill", "--mask", str(mpath), "--quiet"]) == 0
    a, b = load_image(src).pixels, load_image(out).pixels
    assert np.array_equal(a[mask == 0], b[mask == 0])


def test_passes_option_averages_mirrored_runs(tmp_path, capsys):
    """--passes 2 = the mean of the plain and the mirrored run (a random net is not symmetric)."""
    _store_model("tiny-dn", channels=3, task="denoise", width=4, blocks=1, noise_hint=True)
    src = _photo(tmp_path / "n.png", 24, 32)
    outs = {}
    for passes in ("1", "2"):
        out = tmp_path / f"p{passes}.png"
        assert cli.main(["enhance", str(src), "-o", str(out), "--model", "tiny-dn", "--passes", passes, "--quiet"]) == 0
        outs[passes] = load_image(out).pixels.astype(float)
    mirrored = tmp_path / "m.png"
    save_image(photo_from_array(np.ascontiguousarray(load_image(src).pixels[:, ::-1])), mirrored)
    assert cli.main(["enhance", str(mirrored), "-o", str(tmp_path / "m_out.png"), "--model", "tiny-dn", "--passes", "1", "--quiet"]) == 0
    back = load_image(tmp_path / "m_out.png").pixels[:, ::-1].astype(float)
    assert np.abs(outs["1"] - back).max() > 2  # the runs differ...
    assert np.abs(outs["2"] - (outs["1"] + back) / 2).max() <= 1.0  # ...and 2 passes average them (8-bit rounding)
    with pytest.raises(SystemExit):
        cli.main(["enhance", str(src), "-o", str(tmp_path / "x.png"), "--model", "tiny-dn", "--passes", "3"])


# --- never lose a file: inputs, existing outputs, folders into themselves ---------------------

def _err_lines(capsys):
    return [line for line in capsys.readouterr().err.splitlines() if line.strip()]


def test_output_equal_to_the_input_is_refused_and_the_input_kept(tmp_path, x2, capsys):
    src = _photo(tmp_path / "x.png")
    before = src.read_bytes()
    rc = cli.main(["enhance", str(src), "-o", str(src), "--model", "tiny-x2", "--quiet", "--overwrite"])
    err = _err_lines(capsys)
    assert rc == 1 and len(err) == 1 and "overwrite the input x.png" in err[0]
    assert src.read_bytes() == before


def test_an_existing_output_needs_overwrite(tmp_path, x2, capsys):
    src = _photo(tmp_path / "a.png")
    out = tmp_path / "out.png"
    out.write_bytes(b"keep me")
    rc = cli.main(["enhance", str(src), "-o", str(out), "--model", "tiny-x2", "--quiet"])
    err = _err_lines(capsys)
    assert rc == 1 and len(err) == 1 and "--overwrite" in err[0] and out.read_bytes() == b"keep me"
    assert cli.main(["enhance", str(src), "-o", str(out), "--model", "tiny-x2", "--quiet", "--overwrite"]) == 0
    assert load_image(out).size == (48, 40)


def test_a_folder_into_itself_does_not_enhance_its_outputs_and_resumes(tmp_path, x2, capsys):
    folder = tmp_path / "shoot"
    folder.mkdir()
    _photo(folder / "a.png")
    _photo(folder / "b.png", seed=1)
    assert cli.main(["enhance", str(folder), "-o", str(folder), "--model", "tiny-x2", "--quiet"]) == 0
    assert sorted(p.name for p in folder.iterdir()) == ["a.png", "a_x2.png", "b.png", "b_x2.png"]
    mtime = (folder / "a_x2.png").stat().st_mtime_ns
    (folder / "b_x2.png").write_bytes(b"torn")  # an interrupted earlier run
    capsys.readouterr()
    assert cli.main(["enhance", str(folder), "-o", str(folder), "--model", "tiny-x2"]) == 0
    out = capsys.readouterr().out
    assert sorted(p.name for p in folder.iterdir()) == ["a.png", "a_x2.png", "b.png", "b_x2.png"]  # no a_x2_x2.png
    assert (folder / "a_x2.png").stat().st_mtime_ns == mtime and "skipped" in out  # complete: kept
    assert load_image(folder / "b_x2.png").size == (48, 40)  # torn: redone


def test_same_names_from_two_folders_do_not_collide(tmp_path, x2):
    for sub, seed in (("a", 0), ("b", 1)):
        (tmp_path / sub).mkdir()
        _photo(tmp_path / sub / "x.png", seed=seed)
    out = tmp_path / "out"
    assert cli.main(["enhance", str(tmp_path / "a" / "x.png"), str(tmp_path / "b" / "x.png"), "-o", str(out),
                     "--model", "tiny-x2", "--quiet"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["x_x2-2.png", "x_x2.png"]
    assert not np.array_equal(load_image(out / "x_x2.png").pixels, load_image(out / "x_x2-2.png").pixels)


def test_a_failed_enhance_creates_no_folder_at_the_output_path(tmp_path, x2, capsys):
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not an image")
    out = tmp_path / "result.png"
    assert cli.main(["enhance", str(bad), "-o", str(out), "--model", "tiny-x2", "--quiet"]) == 1
    assert cli.main(["enhance", str(tmp_path / "missing.png"), "-o", str(out), "--model", "tiny-x2", "--quiet"]) == 1
    assert not out.exists()


def test_the_output_format_is_checked_before_inference(tmp_path, x2, capsys, monkeypatch):
    from imgen_desktop.core import enhance

    src = _photo(tmp_path / "a.png")
    calls = []
    monkeypatch.setattr(enhance, "enhance_photo", lambda *a, **k: calls.append(1))
    rc = cli.main(["enhance", str(src), "-o", str(tmp_path / "a.xyz"), "--model", "tiny-x2", "--quiet"])
    err = _err_lines(capsys)
    assert rc == 1 and len(err) == 1 and ".xyz" in err[0] and calls == []


def test_an_output_ending_in_a_slash_is_a_folder(tmp_path, x2):
    src = _photo(tmp_path / "a.png")
    assert cli.main(["enhance", str(src), "-o", str(tmp_path / "new") + "/", "--model", "tiny-x2", "--quiet"]) == 0
    assert [p.name for p in (tmp_path / "new").iterdir()] == ["a_x2.png"]


# --- resumable batches and name templates ------------------------------------------------------

def test_name_template_and_bad_template(tmp_path, x2, capsys):
    _photo(tmp_path / "in" / "sub" / "a.png")
    _photo(tmp_path / "in" / "b.png", seed=1)
    out = tmp_path / "out"
    assert cli.main(["enhance", str(tmp_path / "in"), "-o", str(out), "--model", "tiny-x2", "--tile", "0",
                     "--quiet", "--name-template", "{name}_{model}{ext}", "--format", "webp"]) == 0
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*.webp")) == ["b_tiny-x2.webp", "sub/a_tiny-x2.webp"]
    capsys.readouterr()
    assert cli.main(["enhance", str(tmp_path / "in"), "-o", str(out), "--model", "tiny-x2",
                     "--name-template", "{name}:{model}"]) == 1
    err = capsys.readouterr().err.strip()
    assert err == "imgen: error: the name template contains characters a file name cannot have: ':'"


def test_sigkill_mid_batch_then_rerun_finishes_without_redoing(tmp_path, x2):
    """A real ``imgen enhance FOLDER`` killed with SIGKILL after its first output: the rerun
    reports the counts, continues, and leaves the finished files alone."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from imgen_desktop.core import batch

    n = 10
    for k in range(n):
        _photo(tmp_path / "in" / f"p{k:02d}.png", h=64, w=64, seed=k)
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "imgen_desktop.cli", "enhance", str(tmp_path / "in"), "-o", str(out),
           "--model", "tiny-x2", "--tile", "32", "--passes", "2", "--device", "cpu"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=dict(os.environ, OMP_NUM_THREADS="1"))
    deadline = time.monotonic() + 240
    while not list(out.glob("p*_x2.png")) and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    assert proc.returncode == -signal.SIGKILL
    written = {p.name: p.stat().st_mtime_ns for p in out.glob("p*_x2.png")}
    assert 1 <= len(written) < n, "the batch should have been killed part-way"
    m = batch.load_manifest(out)
    assert m is not None and len(m.files) == n
    rerun = subprocess.run(cmd, capture_output=True, text=True, timeout=240, env=dict(os.environ, OMP_NUM_THREADS="1"))
    assert rerun.returncode == 0, rerun.stderr
    k = len(written)
    assert f"Continuing the unfinished batch in {out}: {k} done, {n - k} left, 0 failed." in rerun.stderr
    assert f"Batch finished: {n} done ({k} already done before), 0 left, 0 failed." in rerun.stderr
    assert all((out / name).stat().st_mtime_ns == t for name, t in written.items()), "a finished file was redone"
    assert len(list(out.glob("p*_x2.png"))) == n and not [p for p in out.iterdir() if p.name.startswith(".p")]
    assert batch.load_manifest(out).counts(check_outputs=True).text() == f"{n} done, 0 left, 0 failed"
