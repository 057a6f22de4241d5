"""Convolutional VAE (core.models.vae): real short training, export round-trip, shapes, KL schedule."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from imgen_desktop.core.config import TrainConfig
from imgen_desktop.core.errors import ImgenError
from imgen_desktop.core.models import for_training, get, load_network
from imgen_desktop.core.models.base import Amp
from imgen_desktop.core.models.vae import (
    VaeNet,
    VaeRecipe,
    build_network,
    free_bits_kl,
    gaussian_kl,
    kl_weight,
)
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
    """The built-in digits, resized to ``size`` px, in [-1, 1], NCHW."""
    data = np.load(resource_path("data/digits.npz"))["images"][:count]
    x = torch.from_numpy(data).float().div(255.0).unsqueeze(1)
    return F.interpolate(x, size=size, mode="bilinear", align_corners=False).mul(2).sub(1)


def make_recipe(**overrides) -> VaeRecipe:
    params = dict(family="vae", image_size=16, batch_size=32, lr=2e-3, width=8, latent_dim=4, kl_warmup=20)
    cfg = TrainConfig(**{**params, **overrides})
    return VaeRecipe(cfg, 1, CPU, Amp(CPU))


def test_registry_knows_the_vae():
    arch = for_training("vae", "generate")
    assert arch.id == "vae.conv" and arch.recipe is VaeRecipe
    assert get("vae.conv").build_network is build_network


def test_short_training_on_digits_lowers_the_loss():
    torch.manual_seed(0)
    data = digits(16)
    recipe = make_recipe()
    gen = torch.Generator().manual_seed(0)
    totals = []
    for step in range(80):
        batch = data[torch.randint(0, len(data), (32,), generator=gen)]
        m = recipe.train_step(batch, step)
        assert set(m) >= {"loss.total", "loss.recon", "loss.kl", "kl_weight", "grad.vae", "lr"}
        assert all(np.isfinite(v) for v in m.values())
        totals.append(m["loss.total"])
    first, last = np.mean(totals[:5]), np.mean(totals[-10:])
    assert last < 0.75 * first, (first, last)
    out = recipe.sample(8, seed=3, real=data[:4])
    assert out["samples"].shape == (8, 16, 16, 1) and out["samples"].dtype == np.uint8
    # real | reconstruction pairs, interleaved
    assert out["reconstructions"].shape == (8, 16, 16, 1)
    real_u8 = ((data[:4].permute(0, 2, 3, 1) + 1) * 127.5 + 0.5).clamp(0, 255).to(torch.uint8).numpy()
    assert np.array_equal(out["reconstructions"][0::2], real_u8)
    # the reconstructions resemble their inputs more than other inputs
    rec = out["reconstructions"][1::2].astype(float)
    own = np.abs(rec - real_u8.astype(float)).mean()
    shuffled = np.abs(rec - np.roll(real_u8, 1, axis=0).astype(float)).mean()
    assert own < shuffled
    health = recipe.diagnostics(data[:64], 80)
    assert 0 <= health["health.active_units"] <= 4


def test_sample_is_deterministic_for_a_seed():
    recipe = make_recipe()
    a = recipe.sample(4, seed=11)["samples"]
    b = recipe.sample(4, seed=11)["samples"]
    c = recipe.sample(4, seed=12)["samples"]
    assert np.array_equal(a, b) and not np.array_equal(a, c)


@pytest.mark.parametrize("size,channels", [(32, 1), (32, 3), (64, 1), (64, 3)])
def test_shapes(size, channels):
    net = VaeNet(size=size, channels=channels, latent_dim=5, width=4)
    assert net.latent_shape == (5,)
    with torch.no_grad():
        out = net(torch.randn(2, 5))
    assert out.shape == (2, channels, size, size)
    assert float(out.min()) >= -1 and float(out.max()) <= 1
    mu, logvar = net.encode(torch.rand(2, channels, size, size) * 2 - 1)
    assert mu.shape == logvar.shape == (2, 5)


def test_unsupported_size_is_a_clear_error():
    with pytest.raises(ImgenError, match="image size 48"):
        VaeNet(size=48)


def test_export_store_round_trip_rebuilds_the_same_network(tmp_path):
    cfg = TrainConfig(family="vae", image_size=64, width=6, latent_dim=7)
    recipe = VaeRecipe(cfg, 3, CPU, Amp(CPU))
    net, arch_id, params = recipe.export()
    assert arch_id == "vae.conv"
    assert params == {"size": 64, "channels": 3, "latent_dim": 7, "width": 6}
    store = ModelStore()
    info = store.save("vae-rt", net.state_dict(), {"family": "vae", "task": "generate", "arch": arch_id,
                                                   "arch_params": params, "channels": 3})
    loaded, meta = load_network(info.path)
    assert isinstance(loaded, VaeNet)
    assert (loaded.size, loaded.channels, loaded.latent_dim, loaded.width) == (64, 3, 7, 6)
    assert loaded.latent_shape == (7,)
    z = torch.randn(3, 7, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert torch.equal(net(z), loaded(z))
        x = torch.rand(2, 3, 64, 64) * 2 - 1
        assert torch.equal(net.reconstruct(x), loaded.reconstruct(x))


def test_kl_warmup_schedule():
    assert kl_weight(0, 1.0, 100) == 0.0
    assert kl_weight(50, 1.0, 100) == pytest.approx(0.5)
    assert kl_weight(100, 1.0, 100) == 1.0
    assert kl_weight(5000, 2.0, 100) == 2.0
    assert kl_weight(0, 0.5, 0) == 0.5  # no warm-up: full beta from the start
    recipe = make_recipe(beta=2.0)  # kl_warmup=20
    batch = digits(16, 32)
    weights = [recipe.train_step(batch, s)["kl_weight"] for s in (0, 10, 20, 30)]
    assert weights == pytest.approx([0.0, 1.0, 2.0, 2.0])


def test_free_bits_floor_the_kl_term_per_dimension():
    # a posterior equal to the prior has zero KL, but with free bits each dimension costs lambda
    mu, logvar = torch.zeros(8, 4), torch.zeros(8, 4)
    assert float(free_bits_kl(gaussian_kl(mu, logvar), 0.0)) == 0.0
    assert float(free_bits_kl(gaussian_kl(mu, logvar), 0.25)) == pytest.approx(4 * 0.25)
    # dimensions above the floor count with their own KL, only the ones below are lifted
    mu = torch.tensor([[2.0, 0.0, 0.0, 0.0]]).repeat(8, 1)
    assert float(free_bits_kl(gaussian_kl(mu, logvar), 0.25)) == pytest.approx(2.0 + 3 * 0.25)
    # ... and they get no gradient pushing them further towards the prior
    mu = torch.full((8, 4), 0.1, requires_grad=True)
    free_bits_kl(gaussian_kl(mu, torch.zeros(8, 4)), 0.25).backward()
    assert float(mu.grad.abs().max()) == 0.0


def test_free_bits_in_the_training_loss():
    data = digits(16, 32)
    torch.manual_seed(0)
    plain = make_recipe(kl_warmup=0, free_bits=0.0)
    torch.manual_seed(0)
    floored = make_recipe(kl_warmup=0, free_bits=5.0)  # far above the KL of a fresh encoder
    torch.manual_seed(1)
    a = {k: float(x) for k, x in plain.train_step(data, 0).items()}  # 0-d device tensors
    torch.manual_seed(1)
    b = {k: float(x) for k, x in floored.train_step(data, 0).items()}  # 0-d device tensors
    pixels = 16 * 16
    assert a["loss.total"] == pytest.approx(a["loss.recon"] + a["loss.kl"], rel=1e-5)
    # every one of the 4 latent dimensions costs at least 5 nats in the loss
    assert b["loss.total"] == pytest.approx(b["loss.recon"] + 4 * 5.0 / pixels, rel=1e-5)
    assert b["loss.kl"] < 4 * 5.0 / pixels


def test_the_trainer_runs_the_vae_end_to_end():
    from imgen_desktop.core.events import Finished, Samples
    from imgen_desktop.core.generate import load_generator
    from imgen_desktop.core.trainer import load_metrics, train

    cfg = TrainConfig(family="vae", task="generate", data="builtin:digits", image_size=16, batch_size=16, steps=12,
                      lr=2e-3, width=4, latent_dim=3, kl_warmup=5, sample_every=6, checkpoint_every=0,
                      device="cpu", name="vae-e2e")
    events = []
    result = train(cfg, events.append)
    assert isinstance(result, Finished), result
    kinds = {e.kind for e in events if isinstance(e, Samples)}
    assert {"samples", "reconstructions"} <= kinds
    rows = load_metrics("vae-e2e")
    assert rows and all("step" in r for r in rows)
    assert any("health.active_units" in r for r in rows)
    gen = load_generator(result.model_path)
    assert gen.sample(5, seed=1).shape == (5, 16, 16, 1)
    assert np.array_equal(gen.sample(3, seed=4), gen.sample(3, seed=4))
