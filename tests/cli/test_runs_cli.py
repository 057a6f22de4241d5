"""``imgen runs list | show | plot`` on real tiny runs and on damaged run folders."""
from __future__ import annotations

import json
import os

import numpy as np
import pytest
from PIL import Image

from imgen_desktop.cli import main
from imgen_desktop.core.config import TrainConfig

TINY = ["--family", "gan", "--preset", "quick", "--image-size", "16", "--batch-size", "8", "--steps", "4",
        "--sample-every", "2", "--checkpoint-every", "0", "--device", "cpu", "--quiet"]


@pytest.fixture
def one_thread():
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _fake_run(home, name, family="vae", steps=50, reached=20, mtime=None):
    folder = home / "runs" / name
    (folder / "samples").mkdir(parents=True)
    (folder / "config.json").write_text(TrainConfig(family=family, name=name, steps=steps, data="/photos/cats").to_json())
    rows = [{"step": s, "time": s * 0.2, "loss.recon": 1.0 / s, "loss.kl": 0.01 * s} for s in range(1, reached + 1)]
    (folder / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    if mtime:
        for p in [folder, *folder.rglob("*")]:
            os.utime(p, (mtime, mtime))
    return folder


def test_list_shows_runs_newest_first_and_damaged_ones_say_why(imgen_home, capsys, one_thread):
    assert main(["train", *TINY, "--name", "real-gan"]) == 0
    _fake_run(imgen_home, "old-vae", mtime=1_600_000_000)
    broken = _fake_run(imgen_home, "broken", reached=7)
    (broken / "config.json").write_text("{oops")
    capsys.readouterr()
    assert main(["runs", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:3] == ["NAME", "FAMILY", "TASK"]
    names = [line.split()[0] for line in lines[1:]]
    assert names[-1] == "old-vae" and set(names) == {"real-gan", "old-vae", "broken"}
    real = next(line for line in lines if line.startswith("real-gan"))
    assert "GAN" in real and "generate" in real and "digits" in real and "4/4" in real and " d " in f" {real} "
    old = next(line for line in lines if line.startswith("old-vae"))
    assert "cats" in old and "20/50" in old and "1970" not in old
    bad = next(line for line in lines if line.startswith("broken"))
    assert "damaged: " in bad and "config.json" in bad and "7 steps recorded" in bad


def test_list_without_runs(capsys):
    assert main(["runs", "list"]) == 0
    assert "no runs yet" in capsys.readouterr().out


def test_show_prints_progress_last_values_grids_and_settings(imgen_home, capsys, one_thread):
    assert main(["train", *TINY, "--name", "shown", "--lr", "0.0003"]) == 0
    capsys.readouterr()
    assert main(["runs", "show", "shown"]) == 0
    out = capsys.readouterr().out
    assert "steps          4 of 4 (finished)" in out
    assert "sample grids   2 (steps 2 to 4)" in out
    assert "shown.safetensors" in out
    assert "Discriminator (loss.d)" in out and "Generator (loss.g)" in out and "at step 4" in out
    settings = out.split("\nsettings\n", 1)[1]
    assert "lr" in settings and "0.0003" in settings and "image_size" in settings and "16" in settings
    assert main(["runs", "show", "nope"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("imgen: error: no run named 'nope'") and len(err.splitlines()) == 1
    assert main(["runs", "show", "../../etc"]) == 1
    assert "invalid" in capsys.readouterr().err


def test_plot_writes_an_overlay_png(imgen_home, tmp_path, capsys):
    _fake_run(imgen_home, "v1", reached=40)
    _fake_run(imgen_home, "v2", reached=25)
    _fake_run(imgen_home, "no-data", reached=0)
    out = tmp_path / "curves.png"
    assert main(["runs", "plot", "v1", "v2", "no-data", "-o", str(out), "--x", "time", "--smooth", "5", "--log",
                 "--size", "800x500"]) == 0
    captured = capsys.readouterr()
    assert f"wrote 4 curve(s) of 2 run(s) to {out}" in captured.out
    assert "note: the run 'no-data' has no recorded losses yet" in captured.err
    img = Image.open(out)
    assert img.format == "PNG" and img.size == (800, 500)
    arr = np.asarray(img.convert("RGB")).astype(int)
    blue, orange = np.array([31, 119, 180]), np.array([255, 127, 14])  # the first two run colours
    assert (np.abs(arr - blue).sum(axis=2) < 40).sum() > 100 and (np.abs(arr - orange).sum(axis=2) < 40).sum() > 100
    assert main(["runs", "plot", "v1", "-o", str(tmp_path / "c.jpg")]) == 1
    assert ".png" in capsys.readouterr().err
    assert main(["runs", "plot", "v1", "-o", str(out), "--size", "huge"]) == 1
    assert main(["runs", "plot", "v1", "-o", str(tmp_path / "k.png"), "--metric", "loss.kl"]) == 0
    with pytest.raises(SystemExit) as usage:
        main(["runs", "plot", "v1"])  # -o is required
    assert usage.value.code == 2
