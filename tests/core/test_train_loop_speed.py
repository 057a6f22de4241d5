"""The step loop reads losses at the metrics interval, not every step; bf16 training opt-in."""
from __future__ import annotations

import math

import pytest
import torch

from imgen_desktop.core.config import TrainConfig
from imgen_desktop.core.errors import ImgenError
from imgen_desktop.core.events import Failed, Finished
from imgen_desktop.core.models import for_training
from imgen_desktop.core.models.base import Amp
from imgen_desktop.core.trainer import load_metrics, train


def tiny(**kw) -> TrainConfig:
    base = dict(family="gan", task="generate", data="builtin:digits", image_size=16, width=8, z_dim=16, batch_size=8,
                steps=4, lr=1e-3, sample_every=0, checkpoint_every=0, device="cpu", name="loop", ema=0.0,
                latent_dim=4, rnn_steps=2, rnn_hidden=16)
    base.update(kw)
    return TrainConfig(**base)


@pytest.mark.parametrize("family", ["gan", "vae", "rnn"])
def test_train_step_keeps_losses_on_the_device(family):
    cfg = tiny(family=family)
    recipe = for_training(family, "generate").recipe(cfg, 1, torch.device("cpu"), Amp(torch.device("cpu")))
    values = recipe.train_step(torch.rand(8, 1, 16, 16) * 2 - 1, 0)
    losses = {k: v for k, v in values.items() if k.startswith(("loss", "grad"))}
    assert losses and all(torch.is_tensor(v) and v.dim() == 0 and not v.requires_grad for v in losses.values())
    assert all(math.isfinite(float(v)) for v in values.values())


def test_metrics_lines_average_the_steps_since_the_last_line(monkeypatch):
    from imgen_desktop.core.models import gan

    real_step = gan.GanRecipe.train_step

    def counting(self, batch, step):
        values = real_step(self, batch, step)
        values["loss.g"] = torch.tensor(float(step))  # 0, 1, 2, ...
        return values

    monkeypatch.setattr(gan.GanRecipe, "train_step", counting)
    result = train(tiny(steps=200, name="avg", image_size=8, width=4, z_dim=4, batch_size=2), lambda e: None)
    assert isinstance(result, Finished)
    rows = [r for r in load_metrics("avg") if "loss.g" in r]
    assert [r["step"] for r in rows[:3]] == [2, 4, 6]  # 200 steps: a line every 2
    assert [r["loss.g"] for r in rows[:3]] == [0.5, 2.5, 4.5]
    assert all(isinstance(r["loss.d"], float) for r in rows)


def test_non_finite_loss_is_caught_at_the_next_line(monkeypatch):
    from imgen_desktop.core.models import gan

    real_step = gan.GanRecipe.train_step

    def diverging(self, batch, step):
        values = real_step(self, batch, step)
        if step == 2:
            values["loss.d"] = torch.tensor(float("nan"))
        return values

    monkeypatch.setattr(gan.GanRecipe, "train_step", diverging)
    result = train(tiny(steps=200, name="nan2", image_size=8, width=4, z_dim=4, batch_size=2), lambda e: None)
    assert isinstance(result, Failed) and "step 4" in result.message and "loss.d became nan" in result.message


def test_bf16_training_opt_in_on_cpu():
    events = []
    result = train(tiny(precision="bf16", name="bf16"), events.append)
    assert isinstance(result, Finished)
    assert any("mixed precision bfloat16" in getattr(e, "message", "") for e in events)
    assert all(math.isfinite(r["loss.g"]) for r in load_metrics("bf16") if "loss.g" in r)
    assert not Amp(torch.device("cpu")).enabled and not Amp(torch.device("cpu"), True, "fp32").enabled
    with pytest.raises(ImgenError, match="unknown precision"):
        tiny(precision="fp8").validate()
