"""Training crops that end at an image edge (``extra["border_mirror"]``): the restore nets learn
the photo's border as inference shows it (mirrored about the edge by ``core.tiling``)."""
from __future__ import annotations

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
