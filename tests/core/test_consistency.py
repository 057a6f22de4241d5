"""Mean consistency of denoising (core/consistency.py): the result keeps the noisy photo's local
mean colour, with the bias of noise clipped at 0 and 255 modelled, so no cast over an area."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from imgen_desktop.core import enhance
from imgen_desktop.core.consistency import BAND, FACTOR, ConsistentSink, _upsample_rows, expected_clipped, mean_correction
from imgen_desktop.core.imageio import load_image, photo_from_array
from imgen_desktop.core.paths import resource_path
from imgen_desktop.core.tiling import ArraySink, ArraySource


def _noisy(clean: np.ndarray, sigma: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.clip(np.round(clean + rng.normal(0.0, sigma, clean.shape)), 0, 255).astype(np.uint8)


def _cast(out: np.ndarray, clean: np.ndarray) -> np.ndarray:
    return (out.astype(np.float64) - clean).reshape(-1, 3).mean(axis=0)


def _psnr(a, b) -> float:
    return float(10 * np.log10(255.0**2 / np.mean((a.astype(np.float64) - b) ** 2)))


def test_expected_clipped_noise_matches_sampling():
    x = torch.tensor([0.0, 0.01, 0.2, 0.5, 0.97, 1.0])
    s = 30 / 255
    mean, slope = expected_clipped(x, s)
    draws = (x[:, None] + torch.randn(x.numel(), 400_000, generator=torch.Generator().manual_seed(0)) * s).clamp(0, 1)
    assert torch.allclose(mean, draws.mean(1), atol=1.5e-3)
    # clipping lifts black and lowers white by sigma * phi(0) = 0.4 sigma; mid-grey is unbiased
    assert mean[0] == pytest.approx(0.3989 * s, rel=1e-3) and mean[3] == pytest.approx(0.5, abs=1e-6)
    # the derivative: the share of the noise that is not clipped (half of it at black)
    assert slope[3] == pytest.approx(1.0, abs=1e-4) and slope[0] == pytest.approx(0.5, abs=1e-4)


def test_upsampled_rows_match_the_whole_map_whatever_the_band():
    d = torch.randn(1, 3, 13, 9, generator=torch.Generator().manual_seed(1))
    whole = torch.nn.functional.interpolate(d, scale_factor=FACTOR, mode="bilinear", align_corners=False)[:, :, :50, :35]
    for r0, r1 in ((0, 50), (0, 7), (5, 23), (17, 18), (44, 50)):
        assert torch.allclose(_upsample_rows(d, r0, r1, 35), whole[:, :, r0:r1], atol=1e-6)


def test_a_uniform_offset_is_removed_and_a_right_result_left_alone():
    g = torch.Generator().manual_seed(2)
    h, w = 300, 200  # more than a band high: the bands are stitched
    clean = torch.rand(1, 3, 1, 1, generator=g) * 0.6 + 0.2 + torch.zeros(1, 3, h, w)  # flat colours, no clipping
    clean = clean + 0.05 * torch.sin(torch.arange(float(w)) / 7)  # and a gentle pattern
    noisy = (clean + torch.randn(clean.shape, generator=g) * 0.05).clamp(0, 1)
    rows = lambda t: (lambda r0, r1: t[:, :, r0:r1])  # noqa: E731
    for offset in (0.0, 3 / 255, -2 / 255):
        result = clean + offset
        d = mean_correction(rows(result), rows(noisy), h, w, 0.05, 1, 3)
        fixed = result + torch.cat([_upsample_rows(d, r0, min(h, r0 + BAND), w) for r0 in range(0, h, BAND)], 2)
        # what is left is the noise's own mean over the window (12.75 / sqrt(~3200 px) ~ 0.2 levels)
        assert float((fixed - clean).mean(dim=(2, 3)).abs().max()) * 255 < 0.15
        assert float((fixed - clean).abs().mean()) * 255 < 0.5


def test_the_sink_writes_nothing_until_the_last_row_and_then_every_row():
    pixels = np.full((40, 30, 3), 128, np.uint8)
    source = ArraySource(pixels, 3)
    inner = ArraySink(source, 40, 30, 3)
    inner.out[:] = 7
    sink = ConsistentSink(inner, source, 3, 0.0)
    sink.write(0, torch.full((1, 3, 25, 30), 0.5))
    sink.write(25, torch.full((1, 3, 15, 30), 0.5))
    assert (inner.out == 7).all()
    sink.finish()
    assert (inner.out == 128).all() and sink.out is None


def test_the_builtin_denoiser_leaves_no_cast_on_a_saturated_photo():
    """flower.jpg: red below 10 on two thirds of it; at sigma 50 the noise there is clipped at 0.
    Without the correction the built-in leaves +2.6 levels of red; with it, the cast goes and
    PSNR goes up (one pass, to keep the test short)."""
    clean = np.asarray(load_image(resource_path("photos", "test", "flower.jpg")).pixels)[:, :, :3]
    noisy = _noisy(clean, 50)
    model = enhance.open_model("builtin:denoise", "cpu")
    assert model.mean_consistent  # on by default for denoising
    fixed = enhance.enhance_photo(photo_from_array(noisy), model, passes=1).pixels
    model.mean_consistent = False
    plain = enhance.enhance_photo(photo_from_array(noisy), model, passes=1).pixels
    assert _cast(plain, clean)[0] > 1.5  # what the network alone does
    assert np.abs(_cast(fixed, clean)).max() < 0.5
    assert _psnr(fixed, clean) > _psnr(plain, clean) + 0.2


def test_tiles_and_a_given_noise_level_keep_the_correction():
    """The correction runs on the finished rows, so tiles do not change it; a noise level the user
    gives is the one it models."""
    clean = np.asarray(load_image(resource_path("photos", "test", "chelsea.png")).pixels)[40:140, 60:200, :3]
    noisy = _noisy(clean, 25, seed=3)
    model = enhance.open_model("builtin:denoise", "cpu")
    whole = enhance.enhance_photo(photo_from_array(noisy), model, tile=0, passes=1, noise_level=25.0).pixels
    tiled = enhance.enhance_photo(photo_from_array(noisy), model, tile=48, passes=1, noise_level=25.0).pixels
    assert int(np.abs(whole.astype(int) - tiled.astype(int)).max()) <= 1
    weak = enhance.enhance_photo(photo_from_array(noisy), model, tile=0, passes=1, noise_level=5.0).pixels
    assert _psnr(whole, clean) > _psnr(weak, clean) + 1  # the level given reaches the network


def test_a_cancel_during_the_correction_stops_it():
    from imgen_desktop.core.errors import Cancelled

    class Token:
        calls = 0

        def checkpoint(self):
            self.calls += 1
            return self.calls > 2  # cancelled after the tiles, inside the correction

    pixels = np.full((600, 40, 3), 90, np.uint8)
    source = ArraySource(pixels, 3)
    inner = ArraySink(source, 600, 40, 3)
    sink = ConsistentSink(inner, source, 3, 0.1)
    sink.write(0, torch.full((1, 3, 600, 40), 0.35))
    with pytest.raises(Cancelled):
        sink.finish(Token())
