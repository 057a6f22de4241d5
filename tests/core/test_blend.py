"""core.blend: the result with the original painted back through a uint8 mask."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from imgen_desktop.core.blend import blend_photos, original_at_result_size
from imgen_desktop.core.errors import ImgenError
from imgen_desktop.core.imageio import Photo, load_image, save_image


def _pair(dtype=np.uint16, alpha=True):
    top = np.iinfo(dtype).max
    rng = np.random.default_rng(0)
    orig = Photo((rng.random((10, 12, 3)) * top).astype(dtype), alpha=np.full((10, 12), top // 2, dtype) if alpha else None,
                 icc=b"icc-bytes", exif=b"Exif\0\0fake", bit_depth=16 if dtype == np.uint16 else 8, source="o.png")
    res = Photo((rng.random((20, 24, 3)) * top).astype(dtype), alpha=np.full((20, 24), top, dtype) if alpha else None,
                icc=b"icc-bytes", exif=b"Exif\0\0fake", bit_depth=orig.bit_depth, source="o.png")
    return orig, res


def test_mask_picks_original_or_result_and_keeps_depth_alpha_icc_exif():
    orig, res = _pair()
    mask = np.zeros((20, 24), np.uint8)
    mask[:, :12] = 255
    out = blend_photos(orig, res, mask)
    assert out.pixels.dtype == np.uint16 and out.pixels.shape == (20, 24, 3)
    assert np.array_equal(out.pixels[:, 12:], res.pixels[:, 12:])  # 0 = the result, exactly
    base, base_alpha = original_at_result_size(orig, res)
    expected = (base[:, :12] * 65535 + 0.5).clip(0, 65535).astype(np.uint16)
    assert np.array_equal(out.pixels[:, :12], expected)  # 255 = the (upscaled) original
    assert out.alpha[0, 0] == 32767 and out.alpha[0, 23] == 65535
    assert (out.icc, out.exif, out.bit_depth, out.source) == (res.icc, res.exif, 16, "o.png")
    assert res.pixels is not out.pixels and not np.shares_memory(res.pixels, out.pixels)


def test_soft_values_mix_and_an_empty_mask_is_the_result():
    orig, res = _pair(np.uint8, alpha=False)
    assert np.array_equal(blend_photos(orig, res, np.zeros((20, 24), np.uint8)).pixels, res.pixels)
    half = blend_photos(orig, res, np.full((20, 24), 128, np.uint8))
    base, _ = original_at_result_size(orig, res)
    want = res.pixels / 255 + (base - res.pixels / 255) * (128 / 255)
    assert np.abs(half.pixels / 255 - want).max() <= 1 / 255 + 1e-6
    assert half.alpha is None
    small = np.zeros((10, 12), np.uint8)  # a mask in the original's grid is resized
    small[:, :6] = 255
    out = blend_photos(orig, res, small)
    assert np.array_equal(out.pixels[:, 14:], res.pixels[:, 14:])
    with pytest.raises(ImgenError):
        blend_photos(orig, res, np.zeros((2, 2, 2, 2), np.uint8))


def test_gray_photo_and_a_save_round_trip(tmp_path):
    orig = Photo(np.full((6, 8), 200, np.uint8), source="g.png")
    res = Photo(np.full((6, 8), 10, np.uint8), source="g.png")
    mask = np.zeros((6, 8), np.uint8)
    mask[3:] = 255
    out = blend_photos(orig, res, mask)
    assert out.pixels.ndim == 3 and out.channels == 1
    path = save_image(out, tmp_path / "b.png")
    back = np.asarray(Image.open(path))
    assert back[0, 0] == 10 and back[5, 0] == 200
    assert load_image(path).channels == 1
