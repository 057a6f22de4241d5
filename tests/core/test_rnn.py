"""DRAW recurrent image model (core.models.rnn): real short training, export round-trip, shapes,
gradient clipping and the unroll gradient diagnostic."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from imgen_desktop.core.config import TrainConfig
from imgen_desktop.core.models import for_training, get, load_network
from imgen_desktop.core.models.base import Amp
from imgen_desktop.core.models.rnn import DrawGenerator, DrawRecipe, build_network
from imgen_desktop.core.paths import resource_path
from imgen_desktop.core.store import ModelStore

CPU = torch.device("cpu")


@pytest.fixture(autouse=True)
def _one_thread():
    """These nets are tiny: one intra-op thread is faster and does not spin on a shared CPU."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def digits(size: int, count: int = 512) -> torch.Tensor:
    data = np.load(resource_path("data/digits.npz"))["images"][:count]
    x = torch.from_numpy(data).float().div(255.0).unsqueeze(1)
    return F.interpolate(x, size=size, mode="bilinear", align_corners=False).mul(2).sub(1)


def make_recipe(channels: int = 1, **overrides) -> DrawRecipe:
    params = dict(family="rnn", image_size=16, batch_size=32, lr=3e-3, latent_dim=4, rnn_steps=4,
                  rnn_hidden=32, clip_grad=1.0)
    return DrawRecipe(TrainConfig(**{**params, **overrides}), channels, CPU, Amp(CPU))


def test_registry_knows_draw():
    arch = for_training("rnn", "generate")
    assert arch.id == "rnn.draw" and arch.recipe is DrawRecipe
    assert get("rnn.draw").build_network is build_network


def test_short_training_on_digits_lowers_the_loss():
    torch.manual_seed(0)
    data = digits(16)
    recipe = make_recipe()
    gen = torch.Generator().manual_seed(0)
    totals = []
    for step in range(80):
        batch = data[torch.randint(0, len(data), (32,), generator=gen)]
        m = recipe.train_step(batch, step)
        assert set(m) >= {"loss.total", "loss.recon", "loss.kl", "grad.rnn", "clipped", "lr"}
        assert m["clipped"] in (0.0, 1.0) and np.isfinite(m["grad.rnn"])
        totals.append(m["loss.total"])
    first, last = np.mean(totals[:5]), np.mean(totals[-10:])
    assert last < 0.75 * first, (first, last)
    out = recipe.sample(6, seed=2)
    assert out["samples"].shape == (6, 16, 16, 1) and out["samples"].dtype == np.uint8
    # the build-up of 4 samples over the 4 steps (T x T), one sample per row, ending at the final canvas
    assert out["canvas"].shape == (4 * 4, 16, 16, 1)
    assert recipe.sample_columns["canvas"] == 4
    assert np.array_equal(out["canvas"][3::4], out["samples"][:4])
    health = recipe.diagnostics(data[:32], 80)
    assert health["health.grad_ratio"] > 0 and np.isfinite(health["health.grad_ratio"])
    assert 0 <= health["health.clip_fraction"] <= 1 and health["health.grad_norm"] > 0


def test_gradient_clipping_flags_and_limits_the_update():
    data = digits(16, 32)
    torch.manual_seed(0)
    recipe = make_recipe(clip_grad=1e-6)  # every step's gradient is larger than this
    before = [p.detach().clone() for p in recipe.model.parameters()]
    m = recipe.train_step(data, 0)
    assert m["clipped"] == 1.0 and m["grad.rnn"] > 1e-6
    torch.manual_seed(0)
    free = make_recipe(clip_grad=0.0)
    assert free.train_step(data, 0)["clipped"] == 0.0
    # Adam normalises the step size, so the clipped step still moves the weights
    assert any(not torch.equal(a, p) for a, p in zip(before, recipe.model.parameters()))


def test_grad_ratio_does_not_touch_parameter_gradients():
    recipe = make_recipe()
    data = digits(16, 16)
    recipe.train_step(data, 0)
    grads = [None if p.grad is None else p.grad.clone() for p in recipe.model.parameters()]
    recipe.grad_ratio(data)
    for g, p in zip(grads, recipe.model.parameters()):
        assert (g is None and p.grad is None) or torch.equal(g, p.grad)


@pytest.mark.parametrize("size,channels", [(32, 1), (32, 3), (64, 1), (64, 3)])
def test_shapes(size, channels):
    net = DrawGenerator(size=size, channels=channels, z_dim=3, hidden=16, steps=5)
    assert net.latent_shape == (5, 3)
    z = torch.randn(2, 5, 3)
    with torch.no_grad():
        out, steps = net(z), net.forward_steps(z)
    assert out.shape == (2, channels, size, size)
    assert steps.shape == (2, 5, channels, size, size)
    assert torch.allclose(steps[:, -1], out)
    assert float(out.min()) >= -1 and float(out.max()) <= 1
    recipe = make_recipe(channels, image_size=size, rnn_steps=2, rnn_hidden=16)
    m = recipe.train_step(torch.rand(2, channels, size, size) * 2 - 1, 0)
    assert np.isfinite(m["loss.total"])


def test_export_store_round_trip_rebuilds_the_same_network():
    recipe = make_recipe(3, image_size=64, latent_dim=5, rnn_steps=3, rnn_hidden=24)
    recipe.train_step(torch.rand(4, 3, 64, 64) * 2 - 1, 0)  # weights differ from a fresh build
    net, arch_id, params = recipe.export()
    assert arch_id == "rnn.draw"
    assert params == {"size": 64, "channels": 3, "z_dim": 5, "hidden": 24, "steps": 3}
    info = ModelStore().save("draw-rt", net.state_dict(), {"family": "rnn", "task": "generate", "arch": arch_id,
                                                           "arch_params": params, "channels": 3})
    loaded, _ = load_network(info.path)
    assert isinstance(loaded, DrawGenerator)
    assert (loaded.size, loaded.channels, loaded.z_dim, loaded.hidden, loaded.steps) == (64, 3, 5, 24, 3)
    assert loaded.latent_shape == (3, 5)
    z = torch.randn(2, 3, 5, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert torch.equal(net(z), loaded(z))
        assert torch.equal(net.forward_steps(z), loaded.forward_steps(z))


def test_the_trainer_runs_draw_end_to_end():
    from imgen_desktop.core.events import Finished, Samples
    from imgen_desktop.core.generate import load_generator
    from imgen_desktop.core.trainer import load_metrics, train

    cfg = TrainConfig(family="rnn", task="generate", data="builtin:digits", image_size=16, batch_size=16, steps=12,
                      lr=2e-3, latent_dim=3, rnn_steps=3, rnn_hidden=16, clip_grad=1.0, sample_every=6,
                      checkpoint_every=0, device="cpu", name="draw-e2e")
    events = []
    result = train(cfg, events.append)
    assert isinstance(result, Finished), result
    canvases = [e for e in events if isinstance(e, Samples) and e.kind == "canvas"]
    assert canvases and canvases[-1].images.shape[0] == 3 * 3  # 3 samples x 3 steps: a square grid
    assert canvases[-1].columns == 3  # one sample's build-up (T = 3 steps) per row
    rows = load_metrics("draw-e2e")
    assert any("health.grad_ratio" in r for r in rows)
    assert all(r.get("clipped", 0) in (0, 1) for r in rows)
    gen = load_generator(result.model_path)
    assert gen.sample(5, seed=1).shape == (5, 16, 16, 1)
