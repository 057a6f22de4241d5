"""Live samples of runs that export a fitted prior (VAE, DRAW): drawn near the remembered codes
(core.models.prior.preview_codes), as the exported model will draw them, not from N(0, I)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from imgen_desktop.core.config import TrainConfig
from imgen_desktop.core.models import prior
from imgen_desktop.core.models.base import Amp, to_uint8
from imgen_desktop.core.models.rnn import DrawRecipe
from imgen_desktop.core.models.vae import VaeRecipe

CENTRES = np.array([[-4.0, 0.0], [4.0, 1.0], [0.0, 5.0]])


def _clustered(dims: int, n: int = 1200, seed: int = 0) -> tuple[torch.Tensor, np.ndarray]:
    """Three clusters 4-6 apart on a plane inside ``dims`` dimensions."""
    rng = np.random.default_rng(seed)
    plane = np.linalg.qr(rng.standard_normal((dims, dims)))[0][:, :2]
    flat = np.concatenate([c + 0.3 * rng.standard_normal((n // 3, 2)) for c in CENTRES])
    return torch.from_numpy(flat @ plane.T).float(), plane


def _nearest(points: np.ndarray, plane: np.ndarray) -> np.ndarray:
    flat = points @ plane
    return np.sqrt(((flat[:, None, :] - CENTRES[None]) ** 2).sum(-1)).min(1)


def test_preview_codes_fall_in_the_clusters_and_wait_for_enough_codes():
    codes, plane = _clustered(8)
    memory = prior.CodeMemory(8, "cpu")
    memory.remember(codes[: prior.PREVIEW_MIN_CODES - 1])
    assert prior.preview_codes(memory, 10, torch.Generator().manual_seed(0)) is None
    memory.remember(codes)
    a = prior.preview_codes(memory, 500, torch.Generator().manual_seed(1))
    b = prior.preview_codes(memory, 500, torch.Generator().manual_seed(1))
    assert a.shape == (500, 8) and torch.equal(a, b)  # seeded: the same grid for the same seed
    assert np.median(_nearest(a.double().numpy(), plane)) < 1.0
    plain = torch.randn(500, 8, generator=torch.Generator().manual_seed(1)).double().numpy()
    assert np.median(_nearest(plain, plane)) > 1.5


def _recipe(family: str, fitted: bool):
    common = dict(task="generate", data="builtin:digits", image_size=16, batch_size=8, latent_dim=4, device="cpu",
                  extra={"fitted_prior": fitted})
    dev = torch.device("cpu")
    if family == "vae":
        return VaeRecipe(TrainConfig(family="vae", **common), 1, dev, Amp(dev, False, "fp32"))
    return DrawRecipe(TrainConfig(family="rnn", rnn_steps=4, rnn_hidden=32, **common), 1, dev, Amp(dev, False, "fp32"))


@pytest.mark.parametrize("family", ["vae", "rnn"])
def test_the_live_grid_decodes_remembered_codes_once_there_are_enough(family):
    recipe = _recipe(family, fitted=True)
    dims = recipe.memory._codes.shape[1]
    torch.manual_seed(0)
    before = recipe.sample(16, seed=3)["samples"]
    codes, _ = _clustered(dims)
    recipe.memory.remember(codes)
    after = recipe.sample(16, seed=3)["samples"]
    expect = prior.preview_codes(recipe.memory, 16, torch.Generator().manual_seed(3))
    with torch.no_grad():
        if family == "vae":
            want = recipe.net.eval().decode(expect)
        else:
            gen = recipe.model.generator.eval()
            want = torch.tanh(0.5 * gen.to_logits(gen.canvases(expect.view(16, 4, -1))[-1]))
    assert np.array_equal(after, to_uint8(want))
    assert not np.array_equal(before, after)
    # a run without the fitted prior keeps N(0, I): remembered codes change nothing
    plain = _recipe(family, fitted=False)
    first = plain.sample(16, seed=3)["samples"]
    plain.memory.remember(codes)
    assert np.array_equal(plain.sample(16, seed=3)["samples"], first)
