"""On-the-fly degradations for enhancement training."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from imgen_desktop.core import degrade as dg
from imgen_desktop.core.config import TrainConfig


def _smooth(n=4, size=32, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand((n, 3, size // 4, size // 4), generator=g)
    return torch.nn.functional.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)


def test_bicubic_downscale_matches_pil():
    rng = np.random.default_rng(0)
    arr = (rng.random((40, 48, 3)) * 255).astype(np.uint8)
    pil = np.asarray(Image.fromarray(arr).resize((24, 20), Image.BICUBIC)).astype(np.float32) / 255
    x = torch.from_numpy(arr.astype(np.float32) / 255).permute(2, 0, 1)[None]
    ours = dg.downscale(x, 2, "bicubic")[0].permute(1, 2, 0).numpy()
    assert ours.shape == pil.shape
    assert np.abs(ours - pil).max() < 3 / 255


@pytest.mark.parametrize("scale", [2, 4])
def test_degrade_upscale_shapes_range_and_quantisation(scale):
    hr = _smooth(6, 32)
    lr = dg.degrade_upscale(hr, scale, torch.Generator().manual_seed(1), blur_prob=0.5)
    assert lr.shape == (6, 3, 32 // scale, 32 // scale)
    assert lr.min() >= 0 and lr.max() <= 1
    assert torch.allclose(lr * 255, torch.round(lr * 255), atol=1e-3)
    again = dg.degrade_upscale(hr, scale, torch.Generator().manual_seed(1), blur_prob=0.5)
    assert torch.equal(lr, again)  # reproducible with a generator


def test_gaussian_noise_has_the_requested_sigma():
    clean = torch.full((2, 3, 64, 64), 0.5)
    noisy = dg.gaussian_noise(clean, torch.tensor([10.0, 40.0]), torch.Generator().manual_seed(0))
    stds = (noisy - clean).flatten(1).std(dim=1) * 255
    assert abs(float(stds[0]) - 10) < 0.6 and abs(float(stds[1]) - 40) < 2.0


def test_camera_noise_is_signal_dependent_and_reports_sigma():
    g = torch.Generator().manual_seed(0)
    dark = torch.full((8, 3, 32, 32), 0.05)
    bright = torch.full((8, 3, 32, 32), 0.95)
    nd, sd = dg.camera_noise(dark, torch.Generator().manual_seed(3), max_read_sigma=0.0)
    nb, sb = dg.camera_noise(bright, torch.Generator().manual_seed(3), max_read_sigma=0.0)
    assert float(sb.mean()) > 2 * float(sd.mean())  # shot noise grows with the signal
    assert torch.allclose(sd, (nd - dark).flatten(1).std(dim=1) * 255, rtol=1e-4)
    noisy, sigma = dg.add_noise(_smooth(8), 50.0, camera=True, generator=g)
    assert noisy.shape == (8, 3, 32, 32) and sigma.shape == (8,)
    assert float(sigma.min()) >= 0 and float(sigma.max()) <= 50 * 1.5
    assert noisy.min() >= 0 and noisy.max() <= 1


def test_noise_sigma_estimate():
    clean = _smooth(2, 128)
    noisy = dg.gaussian_noise(clean, 25.0, torch.Generator().manual_seed(0))
    est = dg.estimate_noise_sigma(noisy)
    assert torch.all((est > 22) & (est < 28)), est
    assert float(dg.estimate_noise_sigma(clean).max()) < 8


def test_random_masks_are_binary_reproducible_and_sized():
    m1 = dg.random_masks(6, 40, 48, torch.Generator().manual_seed(5))
    m2 = dg.random_masks(6, 40, 48, torch.Generator().manual_seed(5))
    assert m1.shape == (6, 1, 40, 48)
    assert torch.equal(m1, m2)
    assert set(torch.unique(m1).tolist()) <= {0.0, 1.0}
    cover = m1.flatten(1).mean(dim=1)
    assert float(cover.min()) > 0 and float(cover.max()) < 0.9


def test_normalized_fill_keeps_known_pixels_and_fills_constant_exactly():
    img = torch.full((1, 3, 40, 40), 0.3)
    mask = torch.zeros(1, 1, 40, 40)
    mask[..., 10:30, 5:35] = 1
    filled = dg.normalized_fill(img * (1 - mask), mask)
    assert torch.allclose(filled, img, atol=1e-4)
    x = _smooth(1, 40)
    out = dg.normalized_fill(x * (1 - mask), mask)
    assert torch.equal(out[..., :10, :], x[..., :10, :])


@pytest.mark.parametrize("task", ["upscale", "denoise", "inpaint"])
def test_degrade_dispatch(task):
    cfg = TrainConfig(task=task, scale=2, noise_sigma=30)
    d = dg.degrade(task, _smooth(3, 24), cfg, torch.Generator().manual_seed(0))
    assert d["target"].shape == (3, 3, 24, 24)
    if task == "upscale":
        assert d["input"].shape == (3, 3, 12, 12)
    elif task == "denoise":
        assert d["input"].shape == (3, 3, 24, 24) and d["sigma"].shape == (3,)
    else:
        assert d["input"].shape == (3, 4, 24, 24)
        assert torch.equal(d["input"][:, 3:], d["mask"])
        assert float((d["input"][:, :3] * d["mask"]).abs().max()) == 0


def test_noise_sigma_estimate_is_not_fooled_by_clipped_highlights():
    """A photo with blown highlights: its noise is cut off at 255 there. Counting those blocks
    read sigma 25 as about 21 (the built-in denoiser then under-denoised); the estimate skips them."""
    g = torch.Generator().manual_seed(0)
    scene = _smooth(2, 128)
    scene[..., :, 64:] = 0.97  # the right half nearly white: noise there is mostly clipped
    scene[..., :32, :32] = 0.02  # and a nearly black corner
    for sigma in (10.0, 25.0, 50.0):
        noisy = torch.round(dg.gaussian_noise(scene, sigma, g).clamp(0, 1) * 255) / 255
        est = dg.estimate_noise_sigma(noisy)
        assert torch.all((est > 0.9 * sigma) & (est < 1.1 * sigma)), (sigma, est)
    # a photo that is all highlight keeps an estimate (too few unclipped blocks: the plain median)
    white = torch.round(dg.gaussian_noise(torch.full((1, 3, 32, 32), 0.99), 25.0, g).clamp(0, 1) * 255) / 255
    assert torch.isfinite(dg.estimate_noise_sigma(white)).all()


def test_random_dihedral_gives_all_eight_symmetries_and_keeps_pixels():
    x = torch.arange(16.0).view(1, 1, 4, 4).expand(64, 1, 4, 4).contiguous()
    out = dg.random_dihedral(x, torch.Generator().manual_seed(0))
    # every output is one of the 4 (v-flip x transpose) variants; with the data's h-flip: 8
    variants = {tuple(v.flatten().tolist()) for v in out}
    assert len(variants) == 4
    for v in out:
        assert sorted(v.flatten().tolist()) == list(range(16))


def test_bicubic_only_upscale_degradation_is_exactly_the_benchmark_input():
    clean = torch.rand(4, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    config = TrainConfig(family="gan", task="upscale", scale=2, extra={"bicubic_only": True, "blur_prob": 0.0})
    d = dg.degrade("upscale", clean, config, torch.Generator().manual_seed(2))
    plain = dg.degrade("upscale", clean, config, plain=True)
    assert torch.equal(d["input"], plain["input"])
    mixed = TrainConfig(family="gan", task="upscale", scale=2, extra={"blur_prob": 1.0})
    assert not torch.equal(dg.degrade("upscale", clean, mixed, torch.Generator().manual_seed(2))["input"], plain["input"])


def test_training_masks_take_brush_and_box_sizes_from_the_recipe():
    """extra masks: thin brushes give thin strokes (a hole pixel's distance to the nearest known
    pixel stays near the brush radius; where strokes cross it can grow a little), and unknown
    options are refused by name."""
    def depth(m: torch.Tensor) -> int:  # erosions (3x3) until the hole is gone: its half-width
        x, n = m[None], 0
        while bool(x.any()):
            x = -torch.nn.functional.max_pool2d(-x, 3, 1, 1)
            n += 1
        return n

    def widest(masks):  # the median over the masks of the deepest hole pixel
        return float(np.median([depth(m) for m in masks]))

    g = lambda: torch.Generator().manual_seed(3)  # noqa: E731
    thin = dg.random_masks(8, 128, 128, g(), max_rects=0, radius=(0.02, 0.03))
    thick = dg.random_masks(8, 128, 128, g(), max_rects=0, radius=(0.10, 0.12))
    assert widest(thin) <= 0.03 * 128 + 1.5 < 0.10 * 128 <= widest(thick)
    cfg = TrainConfig(family="gan", task="inpaint", extra={"masks": {"radius": [0.02, 0.03], "max_rects": 0}})
    d = dg.degrade("inpaint", torch.rand(4, 3, 64, 64), cfg, torch.Generator().manual_seed(0))
    assert widest(d["mask"]) <= 0.03 * 64 + 1.5
    with pytest.raises(ValueError, match="unknown mask option.*brush"):
        dg.degrade("inpaint", torch.rand(1, 3, 64, 64), TrainConfig(family="gan", task="inpaint", extra={"masks": {"brush": 3}}))


def test_dark_channels_push_colour_channels_to_the_ends_and_spare_gray_crops():
    g = torch.Generator().manual_seed(0)
    clean = torch.rand(64, 3, 8, 8) * 0.6 + 0.2  # mid-tones only
    out = dg.dark_channels(clean, 1.0, g)
    assert out.min() >= 0 and out.max() <= 1
    means = out.mean(dim=(2, 3))
    assert (means < 0.15).any(dim=1).float().mean() > 0.5  # most images got a channel near 0
    assert (means > 0.85).any().item()  # some a channel near 1
    assert torch.equal(dg.dark_channels(clean, 0.0, g), clean)
    # in the denoise degradation the gray crops stay gray (their noise is one channel's, copied)
    cfg = TrainConfig(family="gan", task="denoise", noise_sigma=25.0, extra={"dark_channels": 1.0})
    d = dg.degrade("denoise", clean, cfg, torch.Generator().manual_seed(1))
    gray = (d["input"][:, 0] == d["input"][:, 1]).flatten(1).all(dim=1)
    assert gray.any()
    assert torch.allclose(d["target"][gray][:, 0], d["target"][gray][:, 1])
    assert (d["target"][~gray].mean(dim=(2, 3)) < 0.15).any(dim=1).any()
