"""The VAE's fitted prior (core/models/vae.py): a Gaussian mixture fitted at export to the
posterior means of the last training pictures, sampled through one extra latent coordinate."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from onnx_helpers import assert_onnx_matches

from imgen_desktop.core.models import vae


def _clusters(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = np.array([[-4.0, 0.0], [4.0, 1.0], [0.0, 5.0]])
    counts = [300, 200, 100]
    x = np.concatenate([c + 0.3 * rng.standard_normal((n, 2)) for c, n in zip(centres, counts)])
    return x, centres


def test_em_finds_separated_clusters_with_their_weights():
    x, centres = _clusters()
    weights, means, cov = vae.fit_gaussian_mixture(x, 3, seed=0)
    order = [int(np.argmin(((means - c) ** 2).sum(1))) for c in centres]
    assert sorted(order) == [0, 1, 2]
    assert np.abs(means[order] - centres).max() < 0.1
    assert np.allclose(weights[order], [0.5, 1 / 3, 1 / 6], atol=0.02)
    assert np.allclose(cov[order][:, 0, 0], 0.09, atol=0.03)
    again = vae.fit_gaussian_mixture(x, 3, seed=0)
    assert np.array_equal(again[1], means)  # deterministic from the seed


def test_component_count_follows_the_number_of_codes():
    assert vae.prior_components_for(4096, 8) == 20  # 44 free parameters a component
    assert vae.prior_components_for(4096, 16) == 13
    assert vae.prior_components_for(4096, 64) == 1  # one full Gaussian (2144 parameters)
    assert vae.prior_components_for(100, 64) == 0  # too few codes for even one


def test_the_extra_coordinate_picks_the_component_and_the_rest_is_scaled():
    net = vae.VaeNet(16, 1, latent_dim=2, width=8, prior_components=2)
    means = torch.tensor([[-3.0, 0.0], [3.0, 1.0]])
    cov = torch.stack([torch.eye(2) * 0.25, torch.eye(2) * 4.0])
    net.set_prior(torch.tensor([0.25, 0.75]), means, cov)
    assert net.latent_shape == (3,)
    zero = torch.zeros(2, 2)
    # normal CDF of the last coordinate below 0.25 -> component 0, above -> component 1
    codes = net.code(torch.cat([zero, torch.tensor([[-1.0], [0.0]])], 1))
    assert torch.allclose(codes, means)
    one = net.code(torch.tensor([[1.0, 1.0, -3.0], [1.0, 1.0, 3.0]]))
    assert torch.allclose(one, torch.tensor([[-2.5, 0.5], [5.0, 3.0]]))
    net.set_prior(torch.tensor([0.25, 0.75]), means, torch.stack([torch.eye(2) * 0.25] * 2))  # 6 sigma apart
    rng = torch.Generator().manual_seed(0)
    picked = net.code(torch.randn(20000, 3, generator=rng))[:, 0] > 0
    assert abs(float(picked.float().mean()) - 0.75) < 0.015


def _train(tmp_path, monkeypatch, steps: int, **extra):
    monkeypatch.setenv("IMGEN_HOME", str(tmp_path))
    from imgen_desktop.core import trainer
    from imgen_desktop.core.config import TrainConfig

    cfg = TrainConfig(family="vae", task="generate", data="builtin:digits", image_size=16, batch_size=64, steps=steps,
                      width=8, latent_dim=4, lr=2e-3, kl_warmup=10, device="cpu", sample_every=0, checkpoint_every=0,
                      name="prior", extra=dict(extra))
    result = trainer.train(cfg, lambda e: None)
    assert type(result).__name__ == "Finished", getattr(result, "message", result)
    return result


def test_a_trained_vae_exports_a_prior_that_samples_where_the_codes_are(tmp_path, monkeypatch):
    from imgen_desktop.core.datasets import ImageDataset
    from imgen_desktop.core.generate import load_generator
    from imgen_desktop.core.store import read_meta

    result = _train(tmp_path, monkeypatch, 120)
    params = read_meta(result.model_path)["arch_params"]
    assert params["prior_components"] == vae.prior_components_for(vae.CODE_MEMORY, 4) == 20
    gen = load_generator(result.model_path)
    assert gen.latent_shape == (5,)
    # the codes of the real pictures, and how far a prior sample lands from the nearest of them
    x = ImageDataset("builtin:digits", 16, "generate", channels=1)._cache.float().div(127.5).sub(1)
    with torch.no_grad():
        real, _ = gen.net.encode(x)
        fitted = gen.net.code(torch.randn(500, 5, generator=torch.Generator().manual_seed(1)))
        plain = torch.randn(500, 4, generator=torch.Generator().manual_seed(1))
    nearest = lambda c: torch.cdist(c, real).min(1).values.mean().item()  # noqa: E731
    assert nearest(fitted) < 0.8 * nearest(plain)
    # a seed is one picture, and an interpolation starts and ends at its two seeds' pictures
    assert np.array_equal(gen.sample(3, seed=5)[1], gen.sample(1, seed=6)[0])
    path = gen.interpolate(5, 9, 6)
    assert path.shape[0] == 6
    assert np.array_equal(path[0], gen.sample(1, seed=5)[0]) and np.array_equal(path[-1], gen.sample(1, seed=9)[0])


def test_the_plain_prior_stays_available_and_old_files_keep_loading(tmp_path, monkeypatch):
    from imgen_desktop.core.generate import load_generator
    from imgen_desktop.core.store import read_meta

    result = _train(tmp_path, monkeypatch, 3, fitted_prior=False)
    assert "prior_components" not in read_meta(result.model_path)["arch_params"]  # = a file from before
    gen = load_generator(result.model_path)
    assert gen.latent_shape == (4,)
    assert gen.sample(2, seed=0).shape == (2, 16, 16, 1)


def test_the_remembered_codes_survive_a_resume():
    from imgen_desktop.core.config import TrainConfig
    from imgen_desktop.core.models.base import Amp

    cfg = TrainConfig(family="vae", task="generate", image_size=16, width=8, latent_dim=4, steps=10)
    recipe = vae.VaeRecipe(cfg, 1, torch.device("cpu"), Amp(torch.device("cpu")))
    ring = torch.arange(float(vae.CODE_MEMORY + 100) * 4).reshape(-1, 4)
    for chunk in ring.split(64):
        recipe._remember_codes(chunk)
    assert torch.equal(recipe.recent_codes(), ring[-vae.CODE_MEMORY:])  # oldest first, the last ones kept
    other = vae.VaeRecipe(cfg, 1, torch.device("cpu"), Amp(torch.device("cpu")))
    other.load_extra_state(recipe.extra_state())
    assert torch.equal(other.recent_codes(), ring[-vae.CODE_MEMORY:])


@pytest.mark.parametrize("k", [1, 3])
def test_the_fitted_prior_exports_to_onnx_unchanged(tmp_path, k):
    net = vae.VaeNet(16, 1, latent_dim=3, width=8, prior_components=k).eval()
    weights, means, cov = vae.fit_gaussian_mixture(_clusters()[0] @ np.ones((2, 3)) / 2, k)
    net.set_prior(torch.from_numpy(weights), torch.from_numpy(means), torch.from_numpy(cov))
    meta = {"arch": "vae.conv", "family": "vae", "task": "generate", "channels": 1, "image_size": 16,
            "arch_params": {"size": 16, "channels": 1, "latent_dim": 3, "width": 8, "prior_components": k}}
    assert_onnx_matches(tmp_path, net, meta, torch.randn(7, 4, generator=torch.Generator().manual_seed(0)))
