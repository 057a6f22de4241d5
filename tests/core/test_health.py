"""Health rules: hysteresis, state-change events and the measurements behind them."""
import math

import torch

from imgen_desktop.core import health
from imgen_desktop.core.health import BAD, OK, WARN, HealthMonitor


def test_constant_generator_has_zero_diversity():
    real = torch.rand(32, 1, 16, 16) * 2 - 1
    fake = torch.zeros(32, 1, 16, 16)  # a generator forced to a constant output
    feats = health.random_projection_features
    ratio = health.diversity_ratio(feats(fake), feats(real))
    assert ratio < 1e-3
    healthy = health.diversity_ratio(feats(torch.rand(32, 1, 16, 16) * 2 - 1), feats(real))
    assert 0.8 < healthy < 1.2


def test_constant_generator_is_flagged_collapsed_with_patience():
    monitor = HealthMonitor("gan")
    assert monitor.update(100, {"health.diversity": 0.01}) == []  # an untrained generator is not judged
    assert monitor.update(200, {"health.diversity": 0.01}) == []  # one evaluation is not enough
    events = monitor.update(300, {"health.diversity": 0.01})
    assert [(e.key, e.state) for e in events] == [("health.diversity", BAD)]
    assert "collapse" in events[0].explanation
    assert any("hinge" in r for r in events[0].remedies)


def test_hysteresis_prevents_flicker():
    monitor = HealthMonitor("gan")
    monitor.update(201, {"health.diversity": 0.2})
    assert monitor.update(202, {"health.diversity": 0.2})[0].state == WARN
    # hovering just above the warn threshold does not flip back to ok
    assert monitor.update(203, {"health.diversity": 0.31}) == []
    assert monitor.update(204, {"health.diversity": 0.29}) == []
    events = monitor.update(205, {"health.diversity": 0.9})
    assert [(e.state, e.remedies) for e in events] == [(OK, ())]


def test_active_units_counts_dimensions_with_kl():
    mu = torch.zeros(64, 8)
    mu[:, :3] = torch.randn(64, 3) * 2  # three informative dimensions
    logvar = torch.zeros(64, 8)
    assert health.active_units(mu, logvar) == 3
    per_dim = health.kl_per_dimension(mu, logvar)
    assert per_dim.shape == (8,) and float(per_dim[5]) == 0.0


def test_posterior_collapse_flagged_for_vae_only():
    vae = HealthMonitor("vae")
    vae.update(1, {"health.active_units": 0})
    events = vae.update(2, {"health.active_units": 0})
    assert events and events[0].state == BAD and "posterior collapse" in events[0].explanation
    gan = HealthMonitor("gan")
    assert gan.update(1, {"health.active_units": 0}) == [] and gan.update(2, {"health.active_units": 0}) == []


def test_exploding_and_vanishing_gradients():
    rnn = HealthMonitor("rnn")
    assert rnn.update(1, {"health.grad_norm": 0.2}) == []
    rnn.update(2, {"health.grad_norm": 500.0})
    assert [e.state for e in rnn.update(3, {"health.grad_norm": 500.0})] == [BAD]
    vanish = HealthMonitor("rnn")
    vanish.update(1, {"health.grad_ratio": 1e-7})
    events = vanish.update(2, {"health.grad_ratio": 1e-7})
    assert [(e.key, e.state) for e in events] == [("health.grad_ratio_low", BAD)]
    nan = HealthMonitor("rnn")
    # a non-finite gradient norm is bad at once, no patience
    assert [e.state for e in nan.update(1, {"health.grad_norm": math.inf})] == [BAD]
    assert nan.update(2, {"health.grad_norm": math.inf}) == []


def test_discriminator_dominance_from_outputs():
    monitor = HealthMonitor("gan")
    values = {"health.d_real": 0.999, "health.d_fake": 0.001}
    states = [e.state for step in range(101, 105) for e in monitor.update(step, values)]
    assert states == [BAD]


def test_warning_line_and_remedies():
    event = health.Health(10, "health.active_units", BAD, 0.0, "No latent dimension carries information.", health.VAE_REMEDIES)
    line = health.format_warning(event)
    assert line.startswith("warning: Active latent units (posterior collapse): No latent")
    assert " — try: " in line and "--beta" in line
    cfg = health.apply_remedy({"lr": 2e-4, "beta": 4.0}, {"beta": 0.5, "lr_factor": 0.5})
    assert cfg == {"lr": 1e-4, "beta": 0.5}
    assert all(label for label, _ in health.remedies_for("gan"))
