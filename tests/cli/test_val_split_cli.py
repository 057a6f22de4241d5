"""``imgen train --val-split`` (and ``imgen queue add``, which takes the same options)."""
from __future__ import annotations

import json

from imgen_desktop.cli import main

TINY = ["--family", "vae", "--data", "builtin:digits", "--image-size", "8", "--batch-size", "8", "--steps", "4",
        "--sample-every", "2", "--checkpoint-every", "0", "--device", "cpu", "--quiet"]


def test_train_with_a_validation_split_writes_the_curve_and_shows_it(imgen_home, capsys, monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert main(["train", *TINY, "--val-split", "0.05", "--name", "cv"]) == 0
    out = capsys.readouterr().out
    assert "val.loss" in out  # the final line names the validation loss with the training losses
    run = imgen_home / "runs" / "cv"
    assert json.loads((run / "config.json").read_text())["val_split"] == 0.05
    split = json.loads((run / "split.json").read_text())
    assert len(split["held_out"]) == 90 and split["count"] == 1797  # 5 % of the 1,797 digits
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows if "val.loss" in r] == [2, 4]
    assert main(["runs", "show", "cv"]) == 0
    shown = capsys.readouterr().out
    assert "90 of 1797 picture(s) held out (5%)" in shown and "(val.loss)" in shown
    assert main(["runs", "plot", "cv", "-o", str(imgen_home / "c.png")]) == 0
    assert "wrote 5 curve(s) of 1 run(s)" in capsys.readouterr().out  # 3 VAE terms + the validation pair


def test_val_split_out_of_range_is_one_clear_line(imgen_home, capsys):
    assert main(["train", *TINY, "--val-split", "0.7"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--val-split must be at least 0 and at most 0.5, not 0.7" in err


def test_queue_add_keeps_the_split(imgen_home, capsys):
    assert main(["queue", "add", *TINY, "--val-split", "0.1", "--name", "qv"]) == 0
    data = json.loads((imgen_home / "queue.json").read_text())
    assert "0.1" in json.dumps(data) and '"val_split": 0.1' in json.dumps(data)
