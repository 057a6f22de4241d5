"""The validation split (TrainConfig.val_split): held-out pictures chosen from the seed, never
trained on, recorded in the run folder and kept on resume; val.* metrics for every family and
task; the overfitting diagnosis on a real overfitting run and its silence on a healthy one."""
from __future__ import annotations

import json
import os

import numpy as np
import pytest
from PIL import Image

from imgen_desktop.core import health
from imgen_desktop.core.config import TrainConfig
from imgen_desktop.core.datasets import SPLIT_FILE, ImageDataset, choose_held_out, load_split
from imgen_desktop.core.errors import ImgenError
from imgen_desktop.core.events import Health, Log
from imgen_desktop.core.trainer import load_metrics, run_dir, train

os.environ.setdefault("OMP_NUM_THREADS", "1")


def _gray_folder(folder, n: int, size: int = 16):
    """``n`` flat gray pictures, picture i of level 10 * i + 5: a batch pixel names its picture."""
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        Image.fromarray(np.full((size, size), 10 * i + 5, np.uint8)).save(folder / f"p{i:02d}.png")
    return folder


def _digits_folder(folder, n: int):
    folder.mkdir(parents=True, exist_ok=True)
    with np.load("resources/data/digits.npz") as data:
        images = data["images"][:n]
    for i, img in enumerate(images):
        Image.fromarray(img).save(folder / f"d{i:03d}.png")
    return str(folder)


def _levels(batch_u8) -> set[int]:
    return set(np.unique(batch_u8.numpy()).tolist())


def _held_levels(ids: list[str]) -> set[int]:
    return {10 * int(i[1:3]) + 5 for i in ids}


def _tiny(family: str, data: str, task: str = "generate", **kw) -> TrainConfig:
    size = 16 if task != "generate" else 8
    base = dict(family=family, task=task, data=data, image_size=size, batch_size=4, steps=4, sample_every=2,
                checkpoint_every=0, width=8, latent_dim=4, z_dim=8, rnn_hidden=16, rnn_steps=2, device="cpu",
                val_split=0.25, name=f"{family}-{task}", extra={"blocks": 1, "dec_blocks": 1})
    base.update(kw)
    return TrainConfig(**base)


# --- the split ------------------------------------------------------------------------------

def test_held_out_pictures_are_chosen_from_the_seed():
    ids = [f"#{i}" for i in range(100)]
    a, b, c = choose_held_out(ids, 0.05, 7), choose_held_out(ids, 0.05, 7), choose_held_out(ids, 0.05, 8)
    assert a == b and len(a) == 5 and a != c
    assert choose_held_out(ids, 0.0, 7) == []
    assert len(choose_held_out(ids[:12], 0.05, 0)) == 1  # at least one picture
    assert choose_held_out(ids[:3], 0.2, 0) is None  # too few to spare one


def test_val_split_is_bounded():
    with pytest.raises(ImgenError, match="--val-split"):
        TrainConfig(val_split=0.6).validate()
    with pytest.raises(ImgenError, match="--val-split"):
        TrainConfig(val_split=-0.1).validate()
    TrainConfig(val_split=0.5).validate()


def test_too_small_a_dataset_trains_on_everything_and_says_so(tmp_path):
    logs: list[str] = []
    ds = ImageDataset(str(_gray_folder(tmp_path / "few", 3)), 8, val_split=0.3, seed=0, log=logs.append)
    assert ds.validation is None and ds.split is None and ds.count == 3
    assert any("validation is off" in m and "only 3 picture" in m for m in logs)


@pytest.mark.parametrize("task", ["generate", "denoise"])  # whole pictures, and random crops
def test_no_held_out_picture_ever_appears_in_a_training_batch(tmp_path, task):
    folder = _gray_folder(tmp_path / "flat", 20)
    ds = ImageDataset(str(folder), 8, task=task, val_split=0.2, seed=3)
    held = _held_levels(ds.split.held_out)
    assert len(held) == 4 and ds.count == 16 and ds.validation.count == 4
    seen: set[int] = set()
    for _ in range(60):
        seen |= _levels(ds.batch_uint8(8))
    assert seen and not (seen & held)
    assert len(seen) == 16  # every training picture is used
    assert _levels(ds.validation.batch_uint8(16)) == held


# --- runs -------------------------------------------------------------------------------------

@pytest.mark.parametrize("family,task", [("gan", "generate"), ("vae", "generate"), ("rnn", "generate"),
                                         ("gan", "upscale"), ("vae", "denoise"), ("rnn", "inpaint")])
def test_every_family_and_task_writes_its_validation_loss(imgen_home, tmp_path, family, task):
    data = _digits_folder(tmp_path / "digits", 12) if task == "generate" else str(_gray_folder(tmp_path / "g", 8, 32))
    result = train(_tiny(family, data, task), lambda e: None)
    assert type(result).__name__ == "Finished", getattr(result, "message", "")
    rows = [r for r in load_metrics(f"{family}-{task}") if "val.loss" in r]
    assert [r["step"] for r in rows] == [2, 4]
    for r in rows:
        assert np.isfinite(r["val.loss"]) and np.isfinite(r["val.train"]) and r["val.loss"] >= 0
    overfit_key = "health.d_overfit" if (family, task) == ("gan", "generate") else "health.overfit"
    assert overfit_key in rows[-1]
    if task != "generate":
        assert 0 < rows[-1]["val.psnr"] < 100
    split = load_split(run_dir(f"{family}-{task}"))
    assert split is not None and len(split.held_out) >= 1
    assert result.summary["val.loss"] == rows[-1]["val.loss"]


def test_no_split_means_no_validation_keys(imgen_home, tmp_path):
    train(_tiny("vae", _digits_folder(tmp_path / "d", 8), val_split=0.0, name="plain"), lambda e: None)
    assert not any(k.startswith("val.") for r in load_metrics("plain") for k in r)
    assert not (run_dir("plain") / SPLIT_FILE).exists()


def test_resume_keeps_the_split(imgen_home, tmp_path):
    folder = tmp_path / "flat"
    _gray_folder(folder, 12)
    first = _tiny("vae", str(folder), val_split=0.25, seed=1, name="keep", checkpoint_every=2)
    train(first, lambda e: None)
    before = json.loads((run_dir("keep") / SPLIT_FILE).read_text())
    # a new picture, another seed and another share on resume: the same pictures stay out
    Image.fromarray(np.full((16, 16), 250, np.uint8)).save(folder / "p99.png")
    logs: list[str] = []
    again = _tiny("vae", str(folder), val_split=0.5, seed=9, name="keep", steps=6)
    result = train(again, lambda e: logs.append(e.message) if isinstance(e, Log) else None, resume=True)
    assert type(result).__name__ == "Finished"
    after = json.loads((run_dir("keep") / SPLIT_FILE).read_text())
    assert after["held_out"] == before["held_out"] and len(before["held_out"]) == 3
    assert any("kept the run's" in m and "val_split" in m for m in logs)
    assert any("10 picture(s) + 3 held out" in m for m in logs)  # 9 + the new picture train
    steps = [r["step"] for r in load_metrics("keep") if "val.loss" in r]
    assert steps == [2, 4, 6]


# --- the overfitting diagnosis on real runs --------------------------------------------------------

def _overfit_events(name: str, data: str, val_split: float):
    events: list[Health] = []
    cfg = TrainConfig(family="vae", data=data, image_size=8, batch_size=16, steps=100, lr=1e-2, sample_every=10,
                      checkpoint_every=0, width=32, latent_dim=16, kl_warmup=0, val_split=val_split, name=name,
                      device="cpu")
    result = train(cfg, lambda e: events.append(e) if isinstance(e, Health) else None)
    assert type(result).__name__ == "Finished"
    values = [r["health.overfit"] for r in load_metrics(name) if "health.overfit" in r]
    return [e for e in events if e.key == "health.overfit"], values


def test_a_vae_on_six_digits_overfits_and_the_health_check_says_so(imgen_home, tmp_path):
    events, values = _overfit_events("small", _digits_folder(tmp_path / "d", 8), 0.25)
    assert events and events[0].state in ("warn", "bad")
    assert "overfitting" in events[0].explanation
    assert any("more pictures" in r for r in events[0].remedies)
    rows = [r for r in load_metrics("small") if "val.loss" in r]
    assert rows[-1]["val.loss"] > rows[0]["val.loss"] and rows[-1]["val.train"] < rows[0]["val.train"]
    assert "overfitting" in health.format_warning(events[0])


def test_a_healthy_run_with_a_split_stays_quiet(imgen_home):
    events, values = _overfit_events("healthy", "builtin:digits", 0.05)
    assert not events and len(values) == 10 and max(values) < health.rule("health.overfit").warn


# --- the measures --------------------------------------------------------------------------------

def test_overfit_watch_counts_only_while_training_improves():
    w = health.OverfitWatch(smoothing=0.0)  # raw values (the trainer's watch smooths them)
    assert w.update(1, 1.0, 1.0) == {"health.overfit": 0.0}
    assert w.update(2, 0.8, 0.8)["health.overfit"] == 0.0  # both fall: a new lowest point
    assert w.update(3, 0.88, 0.7)["health.overfit"] == pytest.approx(10.0)  # validation up, training down
    assert w.update(4, 0.9, 0.85)["health.overfit"] == 0.0  # both up: not overfitting
    replayed = health.OverfitWatch(smoothing=0.0)
    replayed.replay([{"step": 1, "val.loss": 1.0, "val.train": 1.0}, {"step": 2, "val.loss": 0.8, "val.train": 0.8}])
    assert replayed.best_step == 2 and replayed.update(3, 0.88, 0.7)["health.overfit"] == pytest.approx(10.0)
    smooth = health.OverfitWatch()  # one wobble of a flat curve is damped
    for step, val in enumerate([1.0, 0.9, 0.8, 0.8, 0.76, 0.8, 0.81, 0.79]):
        out = smooth.update(step, val, 1.0 - 0.05 * step)
    assert out["health.overfit"] < 3.0


def test_d_overfit_is_karras_r_v():
    assert health.d_overfit(2.0, 2.0, -2.0) == 0.0  # held-out reals scored like training reals
    assert health.d_overfit(2.0, -2.0, -2.0) == 1.0  # like generated pictures
    assert health.d_overfit(0.0, -1.0, 0.0) == 0.0  # D cannot tell fakes: no reading


def test_the_overfit_rule_warns_after_two_evaluations_and_recovers():
    monitor = health.HealthMonitor("rnn")
    assert monitor.update(10, {"health.overfit": 0.0}) == []
    assert monitor.update(20, {"health.overfit": 5.0}) == []
    (warn,) = monitor.update(30, {"health.overfit": 6.0})
    assert warn.state == "warn" and warn.key == "health.overfit"
    assert "stop earlier" in health.format_warning(warn)
    assert monitor.update(40, {"health.overfit": 0.0}) == []  # one new low is no recovery yet
    assert monitor.update(50, {"health.overfit": 4.0}) == []
    assert monitor.update(60, {"health.overfit": 0.0}) == [] and monitor.update(70, {"health.overfit": 1.0}) == []
    (ok,) = monitor.update(80, {"health.overfit": 0.0})
    assert ok.state == "ok"
