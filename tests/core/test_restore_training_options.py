"""Training options of the restore nets: crops that end at an image edge
(``extra["border_mirror"]``: the photo's border as inference shows it, mirrored about the edge by
``core.tiling``) and a loss on the local mean colour (``extra["colour_weight"]``)."""
from __future__ import annotations

import pytest
import torch

from imgen_desktop.core import tiling
from imgen_desktop.core.config import TrainConfig
from imgen_desktop.core.models import restore
from imgen_desktop.core.models.base import Amp


def test_a_mirrored_side_is_the_edge_extension_inference_uses():
    torch.manual_seed(0)
    crops = torch.rand(3, 3, 32, 40)
    out, keep = restore.border_mirror(crops, 1.0, 5, 2, torch.Generator().manual_seed(0))
    band = 4  # 5 rounded down to a multiple of 2
    assert keep.shape == (3, 1, 32, 40)
    # every side of every crop became an edge: the inner picture is untouched, the bands are masked
    inner = crops[:, :, band:-band, band:-band]
    assert torch.equal(out[:, :, band:-band, band:-band], inner)
    assert not keep[:, :, :band].any() and not keep[:, :, -band:].any() and not keep[..., :band].any()
    assert keep[:, :, band:-band, band:-band].all()
    # the bands are what the tiler puts beyond a photo's edge (its halo's source pixels)
    h, w = inner.shape[-2:]
    rows = tiling.source_index(0, h + 2 * band, h, band, False, True)
    cols = tiling.source_index(0, w + 2 * band, w, band, False, True)
    padded = inner[0][:, rows][:, :, cols]
    assert torch.equal(out[0][:, band:-band, :band], padded[:, band:-band, :band])
    assert torch.equal(out[0][:, :band, band:-band], padded[:, :band, band:-band])
    assert torch.equal(out[0][:, -band:, band:-band], padded[:, -band:, band:-band])


def test_no_side_is_touched_at_probability_zero_and_a_small_crop_is_left_alone():
    crops = torch.rand(4, 3, 16, 16)
    out, keep = restore.border_mirror(crops, 0.0, 4, 1)
    assert torch.equal(out, crops) and keep.all()
    out, keep = restore.border_mirror(crops, 1.0, 8, 1)  # 16 px: no room for two 8 px bands
    assert torch.equal(out, crops) and keep.all()


def test_the_loss_skips_the_mirrored_bands():
    cfg = TrainConfig(family="gan", task="upscale", scale=2, image_size=32, width=8, batch_size=4, adv_weight=0.0,
                      extra={"blocks": 1, "border_mirror": {"prob": 1.0, "band": 4}, "bicubic_only": True, "blur_prob": 0.0})
    from imgen_desktop.core import models as registry

    recipe = registry.for_training("gan", "upscale").recipe(cfg, 3, torch.device("cpu"), Amp(torch.device("cpu")))
    d = recipe.pair(torch.rand(4, 3, 32, 32) * 2 - 1)
    assert d["keep"].shape == (4, 1, 32, 32) and not d["keep"][:, :, :8].any() and d["keep"][:, :, 8:24, 8:24].all()
    out = d["target"].clone()
    out[:, :, :8] += 0.5  # a wrong answer only on a mirrored band costs nothing
    _, l1 = recipe.pixel_loss(out, d)
    assert float(l1) < 1e-6
    out[:, :, 12, 12] += 0.5  # inside the picture it does
    assert float(recipe.pixel_loss(out, d)[1]) > 1e-4
    # and a training step runs with the option on
    metrics = recipe.train_step(torch.rand(4, 3, 32, 32) * 2 - 1, 0)
    assert torch.isfinite(torch.as_tensor(metrics["loss.l1"]))
    # evaluation crops (plain) are never mirrored
    assert "keep" not in recipe.pair(torch.rand(2, 3, 32, 32) * 2 - 1, plain=True)


def test_the_colour_loss_sees_a_cast_and_not_zero_mean_detail():
    torch.manual_seed(0)
    target = torch.rand(2, 3, 64, 64)
    cast = target.clone()
    cast[:, 0] += 2 / 255  # two levels too red everywhere
    assert abs(float(restore.colour_loss(cast, target)) - (2 / 255) / 3) < 1e-6  # one channel of three
    checker = ((torch.arange(64)[:, None] + torch.arange(64)[None, :]) % 2).float() * 2 - 1
    detail = target + 0.05 * checker  # strong, but zero-mean over any even window
    assert float(restore.colour_loss(detail, target)) < 1e-6
    assert float(torch.abs(detail - target).mean()) > 0.04  # what L1 would see
    # with weights, only the windows where the loss counts (mostly) are measured
    weights = torch.zeros(2, 1, 64, 64)
    weights[..., :32] = 1
    half = target.clone()
    half[..., 32:] += 0.5  # wrong only where the loss does not count
    assert float(restore.colour_loss(half, target, 16, weights)) < 0.05
    assert float(restore.colour_loss(half, target, 16)) > 0.1


def test_the_colour_loss_is_part_of_the_pixel_loss_when_asked():
    def loss(weight):
        cfg = TrainConfig(family="gan", task="denoise", image_size=32, width=8, batch_size=2, adv_weight=0.0,
                          noise_sigma=25.0, extra={"blocks": 1, "colour_weight": weight})
        from imgen_desktop.core import models as registry

        recipe = registry.for_training("gan", "denoise").recipe(cfg, 3, torch.device("cpu"), Amp(torch.device("cpu")))
        target = torch.rand(2, 3, 32, 32)
        return recipe.pixel_loss(target + 4 / 255, {"target": target})

    (plain, l1), (with_colour, l1c) = loss(0.0), loss(10.0)
    assert torch.isclose(l1, l1c)
    assert float(with_colour - plain) == pytest.approx(10 * 4 / 255, rel=1e-3)
