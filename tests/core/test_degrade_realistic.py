"""The Real-ESRGAN-like degradation mix for the sharp upscalers (core.degrade.degrade_realistic)."""
from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from PIL import Image

from imgen_desktop.core import degrade as dg
from imgen_desktop.core.config import TrainConfig
from imgen_desktop.core.paths import resource_path


def _photo_crops(n=4, size=64, seed=0) -> torch.Tensor:
    """Real photo crops (chelsea from the shipped test photos), NCHW in [0, 1]."""
    arr = np.asarray(Image.open(resource_path("photos", "test", "chelsea.png")).convert("RGB"))
    rng = np.random.default_rng(seed)
    crops = []
    for _ in range(n):
        y, x = rng.integers(0, arr.shape[0] - size), rng.integers(0, arr.shape[1] - size)
        crops.append(arr[y : y + size, x : x + size])
    return torch.from_numpy(np.stack(crops).astype(np.float32) / 255).permute(0, 3, 1, 2).contiguous()


@pytest.mark.parametrize("scale", [2, 4])
def test_shapes_range_quantisation_and_reproducible(scale):
    hr = _photo_crops(6, 64)
    lr = dg.degrade_realistic(hr, scale, torch.Generator().manual_seed(3))
    assert lr.shape == (6, 3, 64 // scale, 64 // scale)
    assert lr.min() >= 0 and lr.max() <= 1
    assert torch.allclose(lr * 255, torch.round(lr * 255), atol=1e-3)
    again = dg.degrade_realistic(hr, scale, torch.Generator().manual_seed(3))
    assert torch.equal(lr, again)
    other = dg.degrade_realistic(hr, scale, torch.Generator().manual_seed(4))
    assert not torch.equal(lr, other)


def test_plain_share_is_exactly_bicubic_and_blur_softens():
    hr = _photo_crops(2, 64)
    plain = dg.degrade_realistic(hr, 4, torch.Generator().manual_seed(0), plain_prob=1.0)
    assert torch.equal(plain, torch.round(dg.downscale(hr, 4, "bicubic") * 255) / 255)
    off = dict(noise_prob=0.0, jpeg_prob=0.0, plain_prob=0.0, methods=[["bicubic", 1.0]])
    sharp = dg.degrade_realistic(hr, 2, torch.Generator().manual_seed(0), blur_prob=0.0, **off)
    blurred = dg.degrade_realistic(hr, 2, torch.Generator().manual_seed(0), blur_prob=1.0, sigma_min=1.2, **off)
    grad = lambda x: float((x[..., 1:] - x[..., :-1]).abs().mean())  # noqa: E731
    assert grad(blurred) < 0.8 * grad(sharp)


def test_anisotropic_kernel_is_normalised_and_oriented():
    k = dg.blur_kernel_2d(3.0, 0.5, 0.0, 15)
    assert abs(float(k.sum()) - 1) < 1e-5
    # wide along x, narrow along y; rotated by 90 degrees it is the transpose
    assert float(k[7, :].std()) < float(k[7, :].max()) and float(k[7, 3]) > float(k[3, 7])
    assert torch.allclose(dg.blur_kernel_2d(3.0, 0.5, np.pi / 2, 15), k.T, atol=1e-6)


def test_jpeg_is_actually_applied():
    hr = _photo_crops(3, 64)
    only_jpeg = dict(plain_prob=0.0, blur_prob=0.0, noise_prob=0.0, methods=[["bicubic", 1.0]])
    lr = dg.degrade_realistic(hr, 2, torch.Generator().manual_seed(0), jpeg_prob=1.0, jpeg_quality=[20, 20], **only_jpeg)
    ref = torch.round(dg.downscale(hr, 2, "bicubic") * 255) / 255
    assert not torch.equal(lr, ref)
    # the same as PIL's own JPEG round trip at quality 20
    arr = (ref[0].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="JPEG", quality=20)
    pil = np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB")).astype(np.float32) / 255
    assert np.abs(lr[0].permute(1, 2, 0).numpy() - pil).max() < 1e-6
    # 8x8 block artefacts: the jump across block borders exceeds the jump inside blocks
    d = (lr[..., :, 1:] - lr[..., :, :-1]).abs().mean(dim=(0, 1, 2))
    border, inside = d[7::8].mean(), torch.cat([d[i::8] for i in range(7)]).mean()
    assert border > inside


@pytest.mark.parametrize("poisson", [0.0, 1.0])
def test_noise_level_is_bounded(poisson):
    flat = torch.full((4, 3, 64, 64), 0.5)
    opts = dict(plain_prob=0.0, blur_prob=0.0, jpeg_prob=0.0, noise_prob=1.0, poisson_prob=poisson,
                gray_noise_prob=0.0, methods=[["bicubic", 1.0]], noise_sigma=[10.0, 10.0], poisson_scale=[1.0, 1.0])
    lr = dg.degrade_realistic(flat, 2, torch.Generator().manual_seed(0), **opts)
    std = float((lr - 0.5).std()) * 255
    # Gaussian sigma 10; Poisson at scale 1 on grey 0.5: sqrt(0.5 * 255) ~ 11.3 grey levels
    expected = 10.0 if poisson == 0 else float(np.sqrt(0.5 * 255))
    assert 0.85 * expected < std < 1.15 * expected
    top = dg.degrade_realistic(flat, 2, torch.Generator().manual_seed(0), **{**opts, "noise_sigma": [20.0, 20.0]})
    assert float((top - 0.5).std()) * 255 < 21


def test_selected_by_config_extra_and_unknown_refused():
    hr = _photo_crops(2, 64) * 2 - 1  # the degrade() contract: clean crops in [0, 1]
    clean = (hr + 1) / 2
    cfg = TrainConfig(family="gan", task="upscale", scale=4, extra={"degradation": "realistic", "degradation_options": {"plain_prob": 0.0, "jpeg_prob": 1.0}})
    d = dg.degrade("upscale", clean, cfg, torch.Generator().manual_seed(0))
    assert d["input"].shape == (2, 3, 16, 16) and d["target"].shape == clean.shape
    default = dg.degrade("upscale", clean, TrainConfig(family="gan", task="upscale", scale=4), torch.Generator().manual_seed(0))
    assert not torch.equal(d["input"], default["input"])
    with pytest.raises(ValueError, match="unknown degradation"):
        dg.degrade("upscale", clean, TrainConfig(task="upscale", scale=4, extra={"degradation": "fancy"}))
    with pytest.raises(ValueError, match="unknown realistic degradation option"):
        dg.degrade_realistic(clean, 4, None, sinc_prob=0.5)
