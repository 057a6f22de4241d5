"""Health diagnostics on real (tiny) training runs through the one trainer.

Proof from the training-health issue: a collapsed generator is flagged, a VAE with a huge beta
is flagged for posterior collapse while a default VAE is not, an RNN with a large learning rate
and no clipping is flagged for exploding gradients, and healthy runs raise no warning.
"""
import torch

from imgen_desktop.core import health
from imgen_desktop.core.config import TrainConfig
from imgen_desktop.core.events import Finished, Health, Metrics
from imgen_desktop.core.presets import apply_preset
from imgen_desktop.core.trainer import load_metrics, train


def _run(cfg: TrainConfig):
    events = []
    result = train(cfg, events.append)
    return result, [e for e in events if isinstance(e, Health)], [e for e in events if isinstance(e, Metrics)]


def _tiny(family: str, name: str, **overrides) -> TrainConfig:
    cfg = apply_preset(TrainConfig(family=family, task="generate", data="builtin:digits"), "quick")
    base = dict(name=name, image_size=16, batch_size=32, steps=60, sample_every=20, checkpoint_every=0, seed=3)
    base.update(overrides)
    for key, value in base.items():
        setattr(cfg, key, value)
    return cfg


def test_constant_generator_is_flagged_as_collapsed():
    from imgen_desktop.core import models as registry
    from imgen_desktop.core.models.base import Amp

    cfg = _tiny("gan", "collapse", width=8)
    arch = registry.for_training("gan", "generate")
    recipe = arch.recipe(cfg, 1, torch.device("cpu"), Amp(torch.device("cpu"), False))
    real = torch.rand(64, 1, 16, 16) * 2 - 1
    # a generator with varied output (random pictures) measures as diverse as random data ...
    varied = recipe.G.register_forward_hook(lambda _m, _inp, out: torch.rand_like(out) * 2 - 1)
    healthy = recipe.diagnostics(torch.rand(64, 1, 16, 16) * 2 - 1, 1)["health.diversity"]
    varied.remove()
    # ... one forced to a constant picture, whatever the latent code, measures ~0
    recipe.G.register_forward_hook(lambda _m, _inp, out: torch.zeros_like(out) + 0.3)
    collapsed = recipe.diagnostics(real, 2)["health.diversity"]
    assert healthy > 0.8 and collapsed < 0.01
    monitor = health.HealthMonitor("gan")
    events = [e for step in (200, 400, 600) for e in monitor.update(step, {"health.diversity": collapsed})]
    assert [(e.key, e.state) for e in events] == [("health.diversity", health.BAD)]


def test_vae_huge_beta_flags_posterior_collapse_default_does_not():
    result, bad_events, _ = _run(_tiny("vae", "vae-beta100", beta=100.0, kl_warmup=0, steps=30, sample_every=10))
    assert isinstance(result, Finished)
    flagged = [e for e in bad_events if e.key == "health.active_units" and e.state == health.BAD]
    assert flagged and flagged[0].step <= 20, bad_events  # within its first evaluations
    assert any("beta" in r for r in flagged[0].remedies)

    result, events, metrics = _run(_tiny("vae", "vae-default", steps=30, sample_every=10))
    assert isinstance(result, Finished)
    assert [e for e in events if e.state != health.OK] == []
    units = [m.values["health.active_units"] for m in metrics if "health.active_units" in m.values]
    assert units and units[-1] >= 3
    # diagnostics are in metrics.jsonl under health.* keys, for the curves on resume
    assert any("health.active_units" in row for row in load_metrics("vae-default"))


def test_rnn_large_lr_without_clipping_flags_exploding_gradients():
    result, events, metrics = _run(_tiny("rnn", "rnn-explode", lr=5.0, clip_grad=0.0, steps=20, sample_every=5))
    flagged = [e for e in events if e.key.startswith("health.grad") and e.state in (health.WARN, health.BAD)]
    assert flagged, ([e for e in events], result)
    assert any("clip" in r for r in flagged[0].remedies)


def test_healthy_default_runs_raise_no_warning():
    for family in ("gan", "rnn"):
        result, events, metrics = _run(_tiny(family, f"{family}-healthy", steps=30, sample_every=10))
        assert isinstance(result, Finished), result
        assert [e for e in events if e.state != health.OK] == [], (family, events)
        assert any(k.startswith("health.") for m in metrics for k in m.values), family
