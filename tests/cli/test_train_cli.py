"""``imgen train`` / ``imgen generate`` end to end (in-process, tiny sizes)."""
from __future__ import annotations

import json

import numpy as np
from PIL import Image

from imgen_desktop.cli import main

TINY = ["--family", "gan", "--data", "builtin:digits", "--preset", "quick", "--image-size", "16", "--batch-size", "8",
        "--steps", "6", "--sample-every", "3", "--checkpoint-every", "0", "--device", "cpu", "--quiet"]


def test_train_then_generate_grid_and_folder(imgen_home, tmp_path, capsys):
    assert main(["train", *TINY, "--name", "cli-gan", "--lr", "0.0005"]) == 0
    out = capsys.readouterr().out
    assert "trained cli-gan: 6 steps" in out and "model:" in out
    model = imgen_home / "models" / "cli-gan.safetensors"
    assert model.is_file()
    run = imgen_home / "runs" / "cli-gan"
    config = json.loads((run / "config.json").read_text())
    assert config["lr"] == 0.0005 and config["image_size"] == 16 and config["preset"] == "quick"
    assert config["width"] == 16  # from the quick preset; flags override only what they name
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert rows and all("step" in r for r in rows) and rows[-1]["step"] == 6
    assert (run / "checkpoint.pt").is_file() and (run / "samples" / "step_000006.png").is_file()

    grid = tmp_path / "grid.png"
    assert main(["generate", "--model", "cli-gan", "-n", "9", "-o", str(grid), "--seed", "1", "--device", "cpu"]) == 0
    img = np.asarray(Image.open(grid))
    assert img.shape[0] == 3 * 16 + 4 * 2 and img.shape[1] == 3 * 16 + 4 * 2

    folder = tmp_path / "many"
    assert main(["generate", "--model", str(model), "-n", "3", "-o", str(folder), "--device", "cpu"]) == 0
    files = sorted(folder.glob("*.png"))
    assert len(files) == 3 and Image.open(files[0]).size == (16, 16)

    inter = tmp_path / "inter.png"
    assert main(["generate", "--model", "cli-gan", "-n", "5", "-o", str(inter), "--interpolate", "--device", "cpu"]) == 0
    assert np.asarray(Image.open(inter)).shape[1] == 5 * 16 + 6 * 2

    # continue the same run (its family comes from the run): the step counter goes on
    assert main(["train", "--resume", "cli-gan", "--steps", "9", "--device", "cpu", "--quiet"]) == 0
    assert "trained cli-gan: 9 steps" in capsys.readouterr().out
    steps = [json.loads(line)["step"] for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert steps == sorted(set(steps)) and steps[-1] == 9


def test_bad_dataset_exits_1_with_one_line(tmp_path, capsys):
    assert main(["train", "--family", "gan", "--data", str(tmp_path / "missing"), "--steps", "2", "--quiet"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("imgen: error:") and "not found" in err and len(err.splitlines()) == 1


def test_train_without_family_is_bad_usage(capsys):
    import pytest

    with pytest.raises(SystemExit) as exit_info:
        main(["train", "--steps", "2"])
    assert exit_info.value.code == 2 and "--family is required" in capsys.readouterr().err


def test_generate_unknown_model_exits_1(tmp_path, capsys):
    assert main(["generate", "--model", "nope", "-n", "2", "-o", str(tmp_path / "x.png")]) == 1
    assert "nope" in capsys.readouterr().err
