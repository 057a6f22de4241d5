"""Streaming tiles (core/tiling.py): the same pixels as the whole-image float path it replaced,
written straight into the photo's dtype with a float band of a tile's height only."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from imgen_desktop.core import enhance, tiling
from imgen_desktop.core.imageio import Photo, load_image
from imgen_desktop.core.paths import resource_path


# --- the path before streaming (whole-image float buffers), kept here as the reference ------

def _old_tiles(model, x, mask, size, noise_level):
    n, c, h, w = x.shape
    m, halo, s = model.pad_multiple, model.halo, model.scale
    hm, wm = h + (-h) % m, w + (-w) % m
    inp = torch.cat([x, mask.to(x)], 1) if model.task == "inpaint" else x
    pads = ((0, 0), (0, 0), (halo, halo + hm - h), (halo, halo + wm - w))
    mode = "symmetric" if halo + (hm - h) < h and halo + (wm - w) < w else "edge"
    inp = torch.from_numpy(np.pad(inp.numpy(), pads, mode=mode))
    th = min(size, hm) if size else hm
    tw = min(size, wm) if size else wm
    blend = min(tiling.BLEND, th // 4 // m * m, tw // 4 // m * m)
    ys, xs = tiling.starts(hm, th, blend), tiling.starts(wm, tw, blend)
    out = torch.zeros((n, c, hm * s, wm * s))
    weight = torch.zeros((1, 1, hm * s, wm * s))
    for y0 in ys:
        for x0 in xs:
            piece = inp[..., y0: y0 + th + 2 * halo, x0: x0 + tw + 2 * halo]
            y = model._forward(piece, noise_level, None, None)
            y = y[..., halo * s: (halo + th) * s, halo * s: (halo + tw) * s]
            wy = torch.from_numpy(tiling.ramp(th * s, blend * s, y0 > 0, y0 + th < hm))
            wx = torch.from_numpy(tiling.ramp(tw * s, blend * s, x0 > 0, x0 + tw < wm))
            wt = (wy[:, None] * wx[None, :])[None, None]
            out[..., y0 * s: (y0 + th) * s, x0 * s: (x0 + tw) * s] += y * wt
            weight[..., y0 * s: (y0 + th) * s, x0 * s: (x0 + tw) * s] += wt
    out = out / weight.clamp(min=1e-8)
    return out[..., : h * s, : w * s].clamp_(0, 1)


def _old_enhance(photo, model, tile, passes, mask=None, noise_level=None):
    pixels = np.asarray(photo.pixels)
    top = 65535.0 if pixels.dtype == np.uint16 else 255.0
    x = torch.from_numpy(np.ascontiguousarray(pixels.transpose(2, 0, 1)).astype(np.float32) / top)[None]
    mask_t = None if mask is None else torch.from_numpy((mask > 127).astype(np.float32))[None, None]
    total = None
    for dims in tiling.FLIPS[:passes]:
        fl = (lambda t: t.flip(dims) if dims and t is not None else t)
        y = fl(_old_tiles(model, fl(x), fl(mask_t), tile, noise_level))
        total = y if total is None else total.add_(y)
    y = total / passes
    return (y[0].permute(1, 2, 0).numpy() * top + 0.5).clip(0, top).astype(pixels.dtype)


def _crop(name, top, left, hh, ww):
    p = load_image(resource_path("photos", "test", name))
    return Photo(np.ascontiguousarray(p.pixels[top:top + hh, left:left + ww]))


@pytest.mark.parametrize("name,passes,tile", [("upscale-x2", 1, 48), ("upscale-x4", 2, 40), ("denoise", 4, 40)])
def test_streamed_photo_equals_the_old_whole_image_path(name, passes, tile):
    model = enhance.open_model(f"builtin:{name}", "cpu")
    model.mean_consistent = False  # the streaming engine alone (the mean correction: test_consistency.py)
    photo = _crop("chelsea.png", 60, 90, 75, 101)  # odd sizes: the multiple's padding is exercised
    kw = {"noise_level": 25.0} if model.supports_noise_level else {}
    calls = []
    got = enhance.enhance_photo(photo, model, tile=tile, passes=passes, progress=lambda d, t: calls.append((d, t)), **kw)
    want = _old_enhance(photo, model, tile, passes, **kw)
    assert got.pixels.dtype == np.uint8 and got.pixels.shape == want.shape
    assert int(np.abs(got.pixels.astype(int) - want.astype(int)).max()) <= 1
    assert float((got.pixels != want).mean()) < 0.01  # rounding ties only
    assert calls[-1][0] == calls[-1][1] == passes * (calls[0][1] // passes) and calls[0][1] > passes
    # and whole-image inference, untiled, through the raw network
    whole = _old_enhance(photo, model, 0, passes, **kw)
    assert int(np.abs(got.pixels.astype(int) - whole.astype(int)).max()) <= 1


def test_streamed_inpaint_and_16_bit_gray_equal_the_old_path():
    model = enhance.open_model("builtin:inpaint", "cpu")
    photo = _crop("chelsea.png", 40, 50, 90, 110)
    mask = np.zeros((90, 110), np.uint8)
    mask[30:50, 20:70] = 255
    got = enhance.enhance_photo(photo, model, tile=48, mask=mask).pixels
    want = _old_enhance(photo, model, 48, 1, mask=mask)
    assert int(np.abs(got.astype(int) - want.astype(int)).max()) <= 1

    gray8 = _crop("camera.png", 100, 200, 61, 70).pixels  # a gray photo through an RGB model
    gray16 = Photo(gray8.astype(np.uint16) * 257, bit_depth=16)
    up = enhance.open_model("builtin:upscale-x2", "cpu")
    out = enhance.enhance_photo(gray16, up, tile=32).pixels
    x3 = Photo(np.repeat(gray16.pixels, 3, axis=2), bit_depth=16)
    ref = _old_enhance(x3, up, 32, 1).astype(np.float64).mean(axis=2, keepdims=True)
    assert out.dtype == np.uint16 and out.shape == (122, 140, 1)
    assert float(np.abs(out - ref).max()) <= 257  # within 1/255 of the 16-bit range


def test_alpha_is_upscaled_in_bands_exactly_as_one_interpolation():
    rng = np.random.default_rng(0)
    for dtype, top in ((np.uint8, 255.0), (np.uint16, 65535.0)):
        alpha = (rng.random((37, 29)) * top).astype(dtype)
        a = torch.from_numpy(alpha.astype(np.float32) / top)[None, None]
        a = F.interpolate(a, scale_factor=4, mode="bicubic", align_corners=False).clamp(0, 1)
        want = (a[0, 0].numpy() * top + 0.5).clip(0, top).astype(dtype)
        got = tiling.upscale_plane(alpha, 4, band=8)
        assert got.dtype == dtype and np.array_equal(got, want)


def test_the_float_band_is_a_tile_high_not_the_whole_output():
    # x4 of a 2000x1500 photo with 512-pixel tiles: 6000 output rows, band ~ 2 200
    model = enhance.open_model("builtin:upscale-x4", "cpu")
    grid = tiling.make_grid(1500, 2000, 512, model.pad_multiple, model.halo, 4)
    for passes in (1, 4):
        rows = tiling.band_rows(tiling._schedule(grid, passes))
        assert rows <= (512 + 2 * tiling.BLEND) * 4 * (2 if passes > 1 else 1) < 6000


def test_a_cli_batch_loads_the_model_once_and_reuses_it(tmp_path, monkeypatch):
    from PIL import Image

    from imgen_desktop.core import models

    for i in range(2):
        Image.fromarray(_crop("chelsea.png", 10 * i, 0, 24, 30).pixels).save(tmp_path / f"p{i}.png")
    loads = []
    real = models.load_network
    monkeypatch.setattr(models, "load_network", lambda *a, **k: loads.append(a) or real(*a, **k))
    enhance._CACHE.clear()
    results = enhance.enhance_files([tmp_path / "p0.png", tmp_path / "p1.png"], tmp_path / "out", "builtin:upscale-x2")
    assert [r.status for r in results] == ["done", "done"] and len(loads) == 1
    enhance.enhance_files([tmp_path / "p0.png"], tmp_path / "again.png", "builtin:upscale-x2")  # the next photo
    assert len(loads) == 1  # still warm


def test_inpaint_runs_only_the_tiles_with_a_hole_and_gives_the_same_pixels(monkeypatch):
    """A small hole in a larger photo: hole-free tiles are their own result (our inpaint nets
    return the known pixels unchanged), so they are not run — and the pixels are identical."""
    model = enhance.open_model("builtin:inpaint", "cpu")
    photo = _crop("chelsea.png", 0, 0, 200, 260)
    mask = np.zeros((200, 260), np.uint8)
    mask[20:34, 30:50] = 255  # top-left corner only
    calls = []
    real = model._forward
    monkeypatch.setattr(model, "_forward", lambda inp, *a, **k: calls.append(inp.shape) or real(inp, *a, **k))
    progress = []
    skipped = enhance.enhance_photo(photo, model, tile=48, mask=mask, progress=lambda d, t: progress.append((d, t))).pixels
    ran = len(calls)
    assert progress[-1][0] == progress[-1][1] > ran >= 1  # progress still counts every tile
    monkeypatch.setattr(model, "composites", False)
    calls.clear()
    every = enhance.enhance_photo(photo, model, tile=48, mask=mask).pixels
    assert len(calls) == progress[-1][1] > ran
    assert np.array_equal(skipped, every)
    assert not np.array_equal(every[20:34, 30:50], photo.pixels[20:34, 30:50])  # the hole was filled
    outside = mask == 0
    assert np.array_equal(skipped[outside], photo.pixels[outside])


def test_halo_mirrors_about_the_outer_pixel_edge():
    # numpy's "symmetric" (c b a | a b c d e | e d c), the boundary rule of bicubic resampling;
    # "reflect" (c b | a b c ...) left the built-in upscalers' outer ring ~1 dB worse
    assert tiling.source_index(0, 9, 5, 2, False, True).tolist() == [1, 0, 0, 1, 2, 3, 4, 4, 3]
    assert tiling.source_index(0, 9, 5, 2, True, True).tolist() == [3, 4, 4, 3, 2, 1, 0, 0, 1]
    assert tiling.source_index(0, 9, 5, 2, False, False).tolist() == [0, 0, 0, 1, 2, 3, 4, 4, 4]
