"""The training loop: a real (tiny) GAN run that learns, stop, kill + resume, divergence, bad data."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from imgen_desktop.core.config import TrainConfig
from imgen_desktop.core.control import ControlToken
from imgen_desktop.core.events import CheckpointSaved, Failed, Finished, Metrics, Progress, Samples
from imgen_desktop.core.store import ModelStore
from imgen_desktop.core.trainer import load_metrics, run_dir, train


def tiny(**kw) -> TrainConfig:
    base = dict(family="gan", task="generate", data="builtin:digits", image_size=16, width=8, z_dim=16, batch_size=16,
                steps=10, lr=1e-3, sample_every=5, checkpoint_every=5, device="cpu", name="tiny", ema=0.9)
    base.update(kw)
    return TrainConfig(**base)


class Recorder(list):
    def __call__(self, event):
        self.append(event)

    def of(self, kind):
        return [e for e in self if isinstance(e, kind)]


class Kill(BaseException):
    """Stands in for the process dying: not an Exception, so the trainer does not handle it."""


def _mean_std(images_u8: np.ndarray) -> tuple[float, float]:
    x = images_u8.astype(np.float32) / 127.5 - 1.0
    return float(x.mean()), float(x.std())


def test_tiny_gan_run_learns_and_exports():
    from imgen_desktop.core.datasets import ImageDataset
    from imgen_desktop.core.generate import load_generator
    from imgen_desktop.core.models.base import Amp
    from imgen_desktop.core.models.gan import GanRecipe

    cfg = tiny(steps=40, sample_every=20, checkpoint_every=0, name="learn")
    torch.manual_seed(cfg.seed)
    untrained = GanRecipe(cfg, 1, torch.device("cpu"), Amp(torch.device("cpu"))).sample(64, 3)["samples"]
    data = ImageDataset("builtin:digits", 16)._cache.numpy().transpose(0, 2, 3, 1)
    events = Recorder()
    result = train(cfg, events)
    assert isinstance(result, Finished), getattr(result, "message", result)
    assert result.step == 40 and not result.stopped_early

    data_mean, data_std = _mean_std(data)
    m0, s0 = _mean_std(untrained)
    trained = load_generator("learn").sample(64, 3)
    m1, s1 = _mean_std(trained)
    # the generator starts as a flat grey field; after training its pictures move toward the digits':
    # darker background (mean) and real contrast (std)
    assert abs(m1 - data_mean) < 0.75 * abs(m0 - data_mean)
    assert s1 > 10 * s0 and s1 > 0.2 * data_std

    steps = [e.step for e in events.of(Progress)]
    assert steps[-1] == 40 and steps == sorted(steps)
    last = events.of(Progress)[-1]
    assert last.images_per_s > 0 and last.eta_s == 0
    metrics = events.of(Metrics)
    assert {"loss.g", "loss.d", "grad.g", "grad.d", "lr"} <= set(metrics[0].values)
    assert any("health.diversity" in m.values for m in metrics)
    samples = events.of(Samples)
    assert [s.step for s in samples] == [20, 40] and samples[0].images.dtype == np.uint8
    assert samples[0].images.shape == (64, 16, 16, 1)

    folder = run_dir("learn")
    assert json.loads((folder / "config.json").read_text())["family"] == "gan"
    assert (folder / "samples" / "step_000020.png").is_file() and (folder / "samples" / "step_000040.png").is_file()
    assert [r["step"] for r in load_metrics("learn")][-1] == 40
    info = ModelStore().get("learn")
    meta = info.meta
    assert meta["family"] == "gan" and meta["task"] == "generate" and meta["arch"] == "gan.dcgan"
    assert meta["channels"] == 1 and meta["steps"] == 40 and meta["image_size"] == 16
    assert meta["arch_params"] == {"z_dim": 16, "channels": 1, "width": 8, "image_size": 16}
    assert meta["dataset"] == "builtin:digits" and "loss.g" in meta["metrics"] and meta["config"]["lr"] == 1e-3


def test_stop_saves_checkpoint_and_model():
    token = ControlToken()
    events = Recorder()

    def on_event(event):
        events(event)
        if isinstance(event, Progress) and event.step >= 3:
            token.stop()

    result = train(tiny(steps=50, checkpoint_every=0, sample_every=0, name="stopme"), on_event, token)
    assert isinstance(result, Finished) and result.stopped_early
    assert 3 <= result.step < 50
    state = torch.load(run_dir("stopme") / "checkpoint.pt", weights_only=True)
    assert state["step"] == result.step
    assert ModelStore().get("stopme").steps == result.step
    assert events.of(CheckpointSaved)[-1].step == result.step
    assert events.of(Samples), "a stopped run still shows its last samples"


def test_kill_then_resume_continues_step_counter_and_curve():
    events = Recorder()

    def dies_after_step_8(event):
        events(event)
        if isinstance(event, Metrics) and event.step >= 8:
            raise Kill()

    with pytest.raises(Kill):
        train(tiny(steps=10, checkpoint_every=5, sample_every=0, name="crashy"), dies_after_step_8)
    assert torch.load(run_dir("crashy") / "checkpoint.pt", weights_only=True)["step"] == 5
    assert max(r["step"] for r in load_metrics("crashy")) == 8  # lines past the checkpoint exist

    resumed = Recorder()
    result = train(tiny(steps=12, checkpoint_every=5, sample_every=0, name="crashy"), resumed, resume=True)
    assert isinstance(result, Finished), getattr(result, "message", result)
    assert result.step == 12
    assert resumed.of(Progress)[0].step == 5
    steps = [r["step"] for r in load_metrics("crashy")]
    assert steps == sorted(set(steps)), "metrics steps strictly increasing, no duplicates"
    assert steps[0] == 1 and steps[-1] == 12 and 6 in steps
    assert torch.load(run_dir("crashy") / "checkpoint.pt", weights_only=True)["step"] == 12
    assert ModelStore().get("crashy").steps == 12


def test_name_clash_without_resume_fails():
    assert isinstance(train(tiny(steps=2, name="dup"), Recorder()), Finished)
    result = train(tiny(steps=2, name="dup"), Recorder())
    assert isinstance(result, Failed) and "--resume dup" in result.message


def test_non_finite_loss_stops_naming_the_step_and_keeps_checkpoint(monkeypatch):
    from imgen_desktop.core.models import gan

    real_step = gan.GanRecipe.train_step

    def diverging(self, batch, step):
        values = real_step(self, batch, step)
        if step >= 5:  # the 6th step
            values["loss.g"] = float("nan")
        return values

    monkeypatch.setattr(gan.GanRecipe, "train_step", diverging)
    events = Recorder()
    result = train(tiny(steps=20, checkpoint_every=3, sample_every=0, name="nan"), events)
    assert isinstance(result, Failed)
    assert "step 6" in result.message and "checkpoint (step 3)" in result.message
    assert events[-1] is result
    state = torch.load(run_dir("nan") / "checkpoint.pt", weights_only=True)
    assert state["step"] == 3
    for tensor in state["recipe"]["networks"]["G"].values():
        assert torch.isfinite(tensor.float()).all()
    assert not ModelStore().exists("nan")


def test_empty_folder_fails_before_training(tmp_path):
    empty = tmp_path / "nothing"
    empty.mkdir()
    events = Recorder()
    result = train(tiny(data=str(empty), name="empty"), events)
    assert isinstance(result, Failed) and "no pictures found" in result.message
    assert not events.of(Progress) and not events.of(Metrics)
    assert not (run_dir("empty") / "checkpoint.pt").exists()


def test_resume_with_a_remedy_applies_new_lr_and_compatible_loss():
    assert isinstance(train(tiny(steps=4, checkpoint_every=0, sample_every=0, name="remedy"), Recorder()), Finished)
    events = Recorder()
    result = train(tiny(steps=6, checkpoint_every=0, sample_every=0, name="remedy", lr=2.5e-4, gan_loss="hinge",
                        width=16), events, resume=True)
    assert isinstance(result, Finished), getattr(result, "message", result)
    lrs = [e.values["lr"] for e in events.of(Metrics) if "lr" in e.values]
    assert lrs and all(abs(lr - 2.5e-4) < 1e-12 for lr in lrs), lrs  # not the checkpoint's 1e-3
    saved = json.loads((run_dir("remedy") / "config.json").read_text())
    assert saved["gan_loss"] == "hinge"  # nonsat -> hinge shares the discriminator
    assert saved["width"] == 8  # network fields always come from the run
    from imgen_desktop.core.events import Log

    assert any("learning rate changed" in e.message for e in events.of(Log))


def test_cosine_schedule_decays_the_learning_rate():
    events = Recorder()
    cfg = tiny(steps=20, checkpoint_every=0, sample_every=0, name="cosine", extra={"lr_schedule": "cosine"})
    assert isinstance(train(cfg, events), Finished)
    lrs = [e.values["lr"] for e in events.of(Metrics) if "lr" in e.values]
    assert lrs[0] > 0.9e-3 and lrs[-1] < 0.2e-3 and lrs == sorted(lrs, reverse=True)


def test_restore_recipe_starts_from_another_models_matching_weights(tmp_path):
    """extra init_from: an x4 net starts from an x2 net's trunk (the tail's shape differs)."""
    import torch

    from imgen_desktop.core.config import TrainConfig
    from imgen_desktop.core.errors import ModelError
    from imgen_desktop.core.models.files import save_model_file
    from imgen_desktop.core.models.restore import GanRestoreRecipe
    from imgen_desktop.core.models.base import Amp

    amp = Amp(torch.device("cpu"), False, "fp32")
    x2 = GanRestoreRecipe(TrainConfig(family="gan", task="upscale", scale=2, width=16, extra={"blocks": 2}), 3, torch.device("cpu"), amp)
    src = tmp_path / "x2.safetensors"
    save_model_file(src, {k: v.contiguous() for k, v in x2.net.state_dict().items()}, {"arch": "gan.restore", "family": "gan", "task": "upscale", "scale": 2, "channels": 3, "arch_params": dict(x2.params)})
    cfg = TrainConfig(family="gan", task="upscale", scale=4, width=16, extra={"blocks": 2, "init_from": str(src)})
    x4 = GanRestoreRecipe(cfg, 3, torch.device("cpu"), amp)
    assert torch.equal(x4.net.trunk.head.weight, x2.net.trunk.head.weight)
    assert x4.net.tail.weight.shape != x2.net.tail.weight.shape
    assert x4.init_copied == len(x2.net.state_dict()) - 2  # all but the tail's weight and bias
    other = tmp_path / "other.safetensors"
    save_model_file(other, {"unrelated": torch.zeros(3)}, {"arch": "gan.restore", "family": "gan", "task": "upscale", "scale": 2, "channels": 3, "arch_params": dict(x2.params)})
    with pytest.raises(ModelError, match="no weights in common"):
        GanRestoreRecipe(TrainConfig(family="gan", task="upscale", scale=4, width=16, extra={"init_from": str(other)}), 3, torch.device("cpu"), amp)


def test_an_inpaint_net_grown_to_see_its_fill_starts_as_the_file_it_came_from(tmp_path):
    """extra feed_base + init_from: the head conv gains input channels (the smooth fill); the old
    channels keep their weights and the new ones start at zero, so the grown net's output is the
    old net's, and the grown file says so in its params (files without it keep loading)."""
    import torch

    from imgen_desktop.core.config import TrainConfig
    from imgen_desktop.core.models.base import Amp
    from imgen_desktop.core.models.files import save_model_file
    from imgen_desktop.core.models.restore import GanRestoreRecipe, RestoreGenerator

    amp = Amp(torch.device("cpu"), False, "fp32")
    extra = {"blocks": 2, "dilations": [1, 2]}
    old = GanRestoreRecipe(TrainConfig(family="gan", task="inpaint", width=16, extra=extra), 3, torch.device("cpu"), amp)
    with torch.no_grad():
        old.net.tail.weight.normal_(0, 0.05)  # a net whose output differs from its base
    assert "feed_base" not in old.params
    src = tmp_path / "old.safetensors"
    save_model_file(src, {k: v.contiguous() for k, v in old.net.state_dict().items()},
                    {"arch": "gan.restore", "family": "gan", "task": "inpaint", "channels": 3, "arch_params": dict(old.params)})
    cfg = TrainConfig(family="gan", task="inpaint", width=16, extra={**extra, "feed_base": True, "init_from": str(src)})
    grown = GanRestoreRecipe(cfg, 3, torch.device("cpu"), amp)
    assert grown.params["feed_base"] is True
    assert grown.init_copied == len(old.net.state_dict())
    head_old, head_new = old.net.trunk.head.weight, grown.net.trunk.head.weight
    assert head_new.shape[1] == head_old.shape[1] + 3 * 4  # the fill, pixel-unshuffled by 2
    assert torch.equal(head_new[:, : head_old.shape[1]], head_old) and not head_new[:, head_old.shape[1]:].any()
    g = torch.Generator().manual_seed(0)
    x = torch.rand(2, 3, 32, 32, generator=g)
    mask = (torch.rand(2, 1, 32, 32, generator=g) > 0.7).float()
    with torch.no_grad():
        a, b = old.net.eval()(torch.cat([x, mask], 1)), grown.net.eval()(torch.cat([x, mask], 1))
    assert float((a - b).abs().max()) < 1e-5
    assert float((a - x).abs().max()) > 1e-3  # the check would see a net that ignored its tail
    # a file without feed_base builds the net it was trained as; one with it loads as grown
    assert not RestoreGenerator(**old.params).feed_base
    from imgen_desktop.core.enhance import open_model

    out = tmp_path / "grown.safetensors"
    save_model_file(out, {k: v.contiguous() for k, v in grown.net.state_dict().items()},
                    {"arch": "gan.restore", "family": "gan", "task": "inpaint", "channels": 3, "arch_params": dict(grown.params)})
    loaded = open_model(str(out), "cpu")
    assert loaded.net.feed_base
    with torch.no_grad():
        y = loaded.net.eval()(torch.cat([x, mask], 1))
    assert float((y - b).abs().max()) < 1e-5
    assert loaded.run_tiled(x[:1], mask=mask[:1], tile=0, precision="fp32").shape == (1, 3, 32, 32)
