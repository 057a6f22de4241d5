"""core.runs: run listing and summaries as plain data, metric labels, measured speed and estimates."""
from __future__ import annotations

import json
import os

import pytest

from imgen_desktop.core import runs
from imgen_desktop.core.config import TrainConfig


def _make_run(home, name, steps_planned=300, reached=120, checkpoint=True, model=False, mtime=None, **cfg):
    folder = home / "runs" / name
    (folder / "samples").mkdir(parents=True)
    config = TrainConfig(name=name, steps=steps_planned, **cfg)
    (folder / "config.json").write_text(config.to_json())
    rows = [{"step": s, "time": s * 0.1, "loss.d": 1.0 / s, "loss.g": 2.0 + s} for s in range(10, reached + 1, 10)]
    rows.append({"step": reached, "time": reached * 0.1, "health.diversity": 0.9})  # a sample-time line without losses
    (folder / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows) + '{"step": 999, "loss.d"')  # cut short
    (folder / "samples" / "step_000010.png").write_bytes(b"png")
    if checkpoint:
        (folder / "checkpoint.pt").write_bytes(b"x")
    if model:
        (home / "models").mkdir(exist_ok=True)
        (home / "models" / f"{name}.safetensors").write_bytes(b"x")
    if mtime is not None:
        for p in folder.rglob("*"):
            os.utime(p, (mtime, mtime))
    return folder


def test_read_run_summarises_settings_progress_and_files(imgen_home):
    _make_run(imgen_home, "gan-a", steps_planned=300, reached=120, model=True, family="gan", task="generate",
              data="builtin:digits", batch_size=16, image_size=16)
    r = runs.read_run("gan-a")
    assert (r.name, r.family, r.task, r.dataset, r.steps_planned, r.steps_reached) == ("gan-a", "gan", "generate", "builtin:digits", 300, 120)
    assert r.final_losses == {"loss.d": pytest.approx(1 / 120), "loss.g": pytest.approx(122.0)}
    assert r.has_checkpoint and r.resumable and not r.finished and r.problem == ""
    assert r.model_path.endswith("gan-a.safetensors")
    assert r.created <= r.updated and r.updated > 0
    assert (r.batch_size, r.image_size, r.train_time_s) == (16, 16, pytest.approx(12.0))


def test_list_runs_newest_first_and_damaged_runs_say_why(imgen_home):
    _make_run(imgen_home, "old", mtime=1_000_000)
    _make_run(imgen_home, "new", reached=300, task="upscale", scale=4, family="vae")
    broken = _make_run(imgen_home, "broken", checkpoint=False)
    (broken / "config.json").write_text("{not json")
    listed = runs.list_runs()
    assert [r.name for r in listed][-1] == "old"
    by_name = {r.name: r for r in listed}
    assert by_name["new"].finished and by_name["new"].scale == 4 and by_name["new"].steps_reached == 300
    assert "config.json" in by_name["broken"].problem and not by_name["broken"].resumable
    assert runs.list_runs.__doc__  # documented


def test_run_exists_counts_runs_and_models(imgen_home):
    assert not runs.run_exists("x")
    _make_run(imgen_home, "x", checkpoint=False)
    assert runs.run_exists("x")
    (imgen_home / "models").mkdir(exist_ok=True)
    (imgen_home / "models" / "only-model.safetensors").write_bytes(b"x")
    assert runs.run_exists("only-model")


def test_load_curves_skips_cut_lines(imgen_home):
    _make_run(imgen_home, "c", reached=50)
    rows = runs.load_curves("c")
    assert [r["step"] for r in rows] == [10, 20, 30, 40, 50, 50]
    assert runs.load_curves("nothing") == []


def test_metric_labels_are_words():
    assert runs.metric_label("loss.d") == "Discriminator"
    assert runs.metric_label("loss.l1") == "Reconstruction (L1)"
    assert runs.metric_label("loss.kl") == "KL divergence"
    assert runs.metric_label("loss.some_new_term") == "Some new term"


def test_speed_is_recorded_and_estimates_scale_with_the_work(imgen_home):
    cfg = TrainConfig(family="gan", task="generate", steps=300, batch_size=64, image_size=32, width=16)
    assert runs.estimate(cfg, "cuda:0") is None  # nothing measured, no reference for GPUs
    ref = runs.estimate(cfg, "cpu")
    assert ref is not None and not ref.measured and "idle 2-core CPU" in ref.text("the CPU")
    runs.record_speed("gan", "generate", "cpu", 32, 16, 160.0)
    est = runs.estimate(cfg, "cpu")
    assert est.measured and est.seconds == pytest.approx(300 * 64 / 160.0)
    assert est.text("the CPU") == "about 2 min on the CPU"
    bigger = TrainConfig(family="gan", task="generate", steps=300, batch_size=64, image_size=64, width=16)
    assert runs.estimate(bigger, "cpu").seconds == pytest.approx(4 * est.seconds)  # 4x the pixels
    assert json.loads((imgen_home / "speeds.json").read_text())["gan/generate/cpu/32/16"]["images_per_s"] == 160.0
    # a kind of run never measured here: the reference figure, scaled by how this CPU compared with it
    vae = TrainConfig(family="vae", task="generate", steps=400, batch_size=64, image_size=32, width=16)
    factor = 160.0 / (710.0 * 2)  # GAN measured 160 images/s where the reference says 1420 (32 px, width 16)
    assert runs.estimate(vae, "cpu").measured
    assert runs.estimate(vae, "cpu").seconds == pytest.approx(400 * 64 / (815.0 * 2 * factor))
    runs.record_speed("gan", "generate", "cpu", 32, 16, float("nan"))  # ignored
    assert runs.load_speeds()["gan/generate/cpu/32/16"]["images_per_s"] == 160.0


def test_format_minutes():
    assert [runs.format_minutes(s) for s in (5, 61, 359, 3600, 4800)] == ["under a minute", "1 min", "6 min", "1 h", "1 h 20 min"]
