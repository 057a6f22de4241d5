"""DRAW's fitted prior (core/models/prior.py, rnn.py): a mixture in the leading principal
directions of the glimpses' posterior means, a Gaussian in the rest, one extra latent coordinate."""
from __future__ import annotations

import numpy as np
import torch

from onnx_helpers import assert_onnx_matches

from imgen_desktop.core.models import prior, rnn


def _codes(seed: int = 0) -> np.ndarray:
    """Three clusters on a 2-D plane inside 12 dimensions, a little noise off the plane."""
    rng = np.random.default_rng(seed)
    centres = np.array([[-4.0, 0.0], [4.0, 1.0], [0.0, 5.0]])
    plane = np.linalg.qr(rng.standard_normal((12, 12)))[0][:, :2]
    flat = np.concatenate([c + 0.3 * rng.standard_normal((400, 2)) for c in centres])
    return flat @ plane.T + 0.05 * rng.standard_normal((1200, 12)) + 1.0, centres, plane


def test_the_subspace_mixture_samples_the_clusters_and_not_between_them():
    codes, centres, plane = _codes()
    fitted = prior.fit_subspace_mixture(codes, seed=0)
    k, r = len(fitted["weights"]), fitted["means"].shape[1]
    assert r == 2  # the plane holds over 90 % of the variance
    mix = prior.SubspaceMixture(12, k, r)
    mix.set(fitted)
    z = torch.randn(3000, 13, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        samples = mix(z).double().numpy()
    def nearest(points: np.ndarray) -> np.ndarray:
        flat = (points - 1.0) @ plane
        return np.sqrt(((flat[:, None, :] - centres[None]) ** 2).sum(-1)).min(1)

    on_plane = (samples - 1.0) @ plane
    assert np.median(nearest(samples)) < 0.5  # inside a cluster (they are 4-6 apart)
    off = (samples - 1.0) - on_plane @ plane.T
    assert abs(off.std() - 0.05) < 0.02  # the rest keeps the codes' own spread
    plain = torch.randn(3000, 12, generator=torch.Generator().manual_seed(1)).double().numpy()
    assert np.median(nearest(plain)) > 1.0


def test_too_few_codes_fit_no_prior():
    assert prior.fit_subspace_mixture(np.zeros((3, 12))) is None
    assert prior.fit_subspace_mixture(np.full((50, 4), np.nan)) is None


def _train(tmp_path, monkeypatch, steps, **extra):
    monkeypatch.setenv("IMGEN_HOME", str(tmp_path))
    from imgen_desktop.core import trainer
    from imgen_desktop.core.config import TrainConfig

    cfg = TrainConfig(family="rnn", task="generate", data="builtin:digits", image_size=16, batch_size=64, steps=steps,
                      lr=2e-3, rnn_steps=4, rnn_hidden=32, latent_dim=4, clip_grad=5.0, device="cpu",
                      sample_every=0, checkpoint_every=0, name="draw", extra=dict(extra))
    result = trainer.train(cfg, lambda e: None)
    assert type(result).__name__ == "Finished", getattr(result, "message", result)
    return result


def test_a_trained_draw_exports_a_prior_and_keeps_seeds_and_the_build_up(tmp_path, monkeypatch):
    from imgen_desktop.core.generate import load_generator
    from imgen_desktop.core.store import read_meta

    result = _train(tmp_path, monkeypatch, 60)
    params = read_meta(result.model_path)["arch_params"]
    assert 1 <= params["prior_dims"] <= prior.MAX_SUBSPACE and params["prior_components"] >= 1
    gen = load_generator(result.model_path)
    assert gen.latent_shape == (4 * 4 + 1,)
    pics = gen.sample(3, seed=5)
    assert pics.shape == (3, 16, 16, 1) and np.array_equal(pics[1], gen.sample(1, seed=6)[0])
    path = gen.interpolate(5, 9, 5)
    assert np.array_equal(path[0], gen.sample(1, seed=5)[0]) and np.array_equal(path[-1], gen.sample(1, seed=9)[0])
    z = torch.randn(2, 17, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        steps = gen.net.forward_steps(z)
        final = gen.net(z)
    assert steps.shape == (2, 4, 1, 16, 16) and torch.allclose(steps[:, -1], final)


def test_the_plain_prior_stays_available_and_old_files_keep_loading(tmp_path, monkeypatch):
    from imgen_desktop.core.generate import load_generator
    from imgen_desktop.core.store import read_meta

    result = _train(tmp_path, monkeypatch, 3, fitted_prior=False)
    assert "prior_components" not in read_meta(result.model_path)["arch_params"]
    gen = load_generator(result.model_path)
    assert gen.latent_shape == (4, 4)
    assert gen.sample(2, seed=0).shape == (2, 16, 16, 1)


def test_the_remembered_glimpse_codes_survive_a_resume():
    from imgen_desktop.core.config import TrainConfig
    from imgen_desktop.core.models.base import Amp

    cfg = TrainConfig(family="rnn", task="generate", image_size=16, rnn_steps=3, rnn_hidden=16, latent_dim=2, steps=10)
    recipe = rnn.DrawRecipe(cfg, 1, torch.device("cpu"), Amp(torch.device("cpu")))
    recipe.train_step(torch.rand(8, 1, 16, 16) * 2 - 1, 4)  # every fourth step remembers its codes
    codes = recipe.memory.recent()
    assert codes.shape == (8, 6)
    other = rnn.DrawRecipe(cfg, 1, torch.device("cpu"), Amp(torch.device("cpu")))
    other.load_extra_state(recipe.extra_state())
    assert torch.equal(other.memory.recent(), codes)


def test_the_draw_prior_exports_to_onnx_unchanged(tmp_path):
    codes, _, _ = _codes()
    fitted = prior.fit_subspace_mixture(codes, seed=0)
    k, r = len(fitted["weights"]), fitted["means"].shape[1]
    net = rnn.DrawGenerator(16, 1, z_dim=4, hidden=16, steps=3, prior_components=k, prior_dims=r).eval()
    net.prior.set(fitted)
    meta = {"arch": "rnn.draw", "family": "rnn", "task": "generate", "channels": 1, "image_size": 16,
            "arch_params": {"size": 16, "channels": 1, "z_dim": 4, "hidden": 16, "steps": 3,
                            "prior_components": k, "prior_dims": r}}
    assert_onnx_matches(tmp_path, net, meta, torch.randn(5, 13, generator=torch.Generator().manual_seed(0)))
