"""The sharp (GAN-trained) upscalers of issue 17: the adversarial fine-tune options of the GAN
restoration recipe, and how a sharp built-in is listed, resolved and run when its file exists."""
from __future__ import annotations

import shutil

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from imgen_desktop import cli
from imgen_desktop.core import enhance
from imgen_desktop.core.config import GAN_LOSS_CHOICES, TrainConfig
from imgen_desktop.core.errors import ImgenError, ModelError
from imgen_desktop.core.imageio import load_image, photo_from_array, save_image
from imgen_desktop.core.models import restore
from imgen_desktop.core.models.base import Amp
from imgen_desktop.core.paths import resource_path
from imgen_desktop.core.store import save_model_file

SHARP_TEXT = "Sharp: crisper edges and texture (GAN-trained); may invent detail."


def _crops(n=4, size=32, seed=0):
    from PIL import Image

    arr = np.asarray(Image.open(resource_path("photos", "test", "chelsea.png")).convert("RGB"))
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        y, x = rng.integers(0, arr.shape[0] - size), rng.integers(0, arr.shape[1] - size)
        out.append(arr[y : y + size, x : x + size])
    return torch.from_numpy(np.stack(out).astype(np.float32) / 127.5 - 1).permute(0, 3, 1, 2).contiguous()


def _sharp_config(init_from: str = "", **over) -> TrainConfig:
    extra = {"blocks": 1, "disc": "unet", "disc_width": 8, "grad_weight": 1.0, "mse_weight": 0.0,
             "degradation": "realistic", "adv_warmup": 2}
    if init_from:
        extra["init_from"] = init_from
    base = dict(family="gan", task="upscale", scale=2, image_size=32, batch_size=4, width=8, lr=1e-3, steps=6,
                adv_weight=0.1, gan_loss="relativistic", ema=0.9, spectral_norm=True, extra=extra)
    base.update(over)
    return TrainConfig(**base)


def test_relativistic_fine_tune_trains_the_discriminator_and_exports_the_average(tmp_path):
    torch.manual_seed(0)
    faithful = restore.RestoreGenerator(channels=3, task="upscale", scale=2, width=8, blocks=1)
    with torch.no_grad():
        for p in faithful.parameters():
            p.add_(0.01 * torch.randn_like(p))
    params = {"channels": 3, "task": "upscale", "scale": 2, "width": 8, "blocks": 1, "unshuffle": 1, "dilations": [1], "noise_hint": False}
    init = save_model_file(tmp_path / "faithful.safetensors", faithful.state_dict(),
                           {"family": "gan", "task": "upscale", "scale": 2, "channels": 3, "arch": "gan.restore", "arch_params": params})
    cfg = _sharp_config(str(init))
    cfg.validate()
    dev = torch.device("cpu")
    recipe = restore.GanRestoreRecipe(cfg, 3, dev, Amp(dev))
    assert isinstance(recipe.disc, restore.UNetDiscriminator)
    assert recipe.init_copied == len(faithful.state_dict())  # starts from the faithful weights
    assert torch.equal(recipe.net.tail.weight, faithful.tail.weight)
    disc_before = {k: v.clone() for k, v in recipe.disc.state_dict().items()}
    for step in range(6):
        metrics = recipe.train_step(_crops(4, 32, step), step)
    assert {"loss.l1", "loss.g", "loss.d", "loss.grad", "d.real", "d.fake"} <= set(metrics)
    assert all(np.isfinite(float(v)) for v in metrics.values())
    changed = [k for k, v in recipe.disc.state_dict().items() if k.endswith("weight_orig") and not torch.equal(v, disc_before[k])]
    assert changed, "the discriminator did not train"
    net, arch_id, exported_params = recipe.export()
    assert arch_id == "gan.restore" and net is recipe.net_ema
    live, avg = recipe.net.tail.weight, net.tail.weight
    assert not torch.equal(live, avg) and not torch.equal(avg, faithful.tail.weight)  # an average of the run
    assert "net_ema" in recipe.networks() and "disc" in recipe.networks() and "opt_d" in recipe.optimizers()
    ev = recipe.evaluate(_crops(2, 32, 99))
    assert np.isfinite(ev["eval.psnr"])
    grid = recipe.sample(2, 0, _crops(2, 32, 98))["enhanced"]
    assert grid.shape == (6, 32, 32, 3)


def test_relativistic_loss_is_esrgans():
    cfg = _sharp_config()
    recipe = restore.GanRestoreRecipe(cfg, 3, torch.device("cpu"), Amp(torch.device("cpu")))
    real, fake = torch.tensor([2.0, 1.0]), torch.tensor([-1.0, 0.0])
    # D: (BCE(real - mean(fake), 1) + BCE(fake - mean(real), 0)) / 2
    want_d = 0.5 * (F.binary_cross_entropy_with_logits(real - fake.mean(), torch.ones(2))
                    + F.binary_cross_entropy_with_logits(fake - real.mean(), torch.zeros(2)))
    want_g = 0.5 * (F.binary_cross_entropy_with_logits(real - fake.mean(), torch.zeros(2))
                    + F.binary_cross_entropy_with_logits(fake - real.mean(), torch.ones(2)))
    assert torch.allclose(recipe._disc_loss(real, fake), want_d)
    assert torch.allclose(recipe._gen_adv(fake, real), want_g)
    # equal logits: no information either way (log 2 each)
    z = torch.zeros(3)
    assert torch.allclose(recipe._disc_loss(z, z), torch.tensor(np.log(2.0), dtype=torch.float32))


def test_patch_discriminator_and_unknown_discriminator():
    cfg = _sharp_config(gan_loss="hinge")
    cfg.extra = dict(cfg.extra, disc="patch")
    recipe = restore.GanRestoreRecipe(cfg, 3, torch.device("cpu"), Amp(torch.device("cpu")))
    assert isinstance(recipe.disc, restore.PatchDiscriminator)
    metrics = recipe.train_step(_crops(4, 32), 0)
    assert np.isfinite(float(metrics["loss.d"]))
    cfg.extra = dict(cfg.extra, disc="vgg")
    with pytest.raises(ImgenError, match="unknown discriminator"):
        restore.GanRestoreRecipe(cfg, 3, torch.device("cpu"), Amp(torch.device("cpu")))


def test_relativistic_is_an_enhancement_loss(capsys, imgen_home):
    assert "relativistic" in GAN_LOSS_CHOICES
    with pytest.raises(ImgenError, match="for the enhancement tasks"):
        TrainConfig(family="gan", task="generate", gan_loss="relativistic").validate()
    rc = cli.main(["train", "--family", "gan", "--task", "generate", "--loss", "relativistic", "--data", "builtin:digits", "--steps", "1", "--quiet"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 1 and len(err) == 1 and "enhancement tasks" in err[0]


@pytest.fixture
def builtins_with_sharp(tmp_path, monkeypatch, make_model_file):
    """resources/models/ as an installation with a (tiny) sharp x4 built-in next to the shipped files."""
    folder = tmp_path / "models"
    folder.mkdir()
    for name in enhance.BUILTIN_NAMES:
        shutil.copy(resource_path("models", f"{name}.safetensors"), folder / f"{name}.safetensors")
    make_model_file(folder / "upscale-x4-sharp.safetensors", scale=4, builtin=True, label="Upscale x4, sharp (built-in)",
                    description=SHARP_TEXT + " The faithful model stays closest to the original.\nsecond line")
    monkeypatch.setattr(enhance, "builtin_path", lambda name: folder / f"{name}.safetensors")
    return folder


def test_sharp_builtin_listed_next_to_the_faithful_one(builtins_with_sharp, imgen_home):
    choices = [c for c in enhance.list_enhancement_models() if c.builtin]
    specs = [c.spec for c in choices]
    assert specs == ["builtin:upscale-x2", "builtin:upscale-x4", "builtin:upscale-x4-sharp", "builtin:denoise", "builtin:inpaint"]
    faithful, sharp = choices[1], choices[2]
    assert sharp.label == "Upscale ×4, sharp (built-in)" and sharp.scale == 4 and sharp.task == "upscale"
    assert sharp.description.startswith(SHARP_TEXT) and "second line" not in sharp.description
    assert faithful.label == "Upscale ×4 (built-in)" and faithful.description.startswith("Faithful")
    assert enhance.resolve_spec("builtin:upscale-x4-sharp") == builtins_with_sharp / "upscale-x4-sharp.safetensors"
    (builtins_with_sharp / "upscale-x4-sharp.safetensors").unlink()
    assert "builtin:upscale-x4-sharp" not in [c.spec for c in enhance.list_enhancement_models()]
    with pytest.raises(ModelError, match="missing from this installation"):
        enhance.resolve_spec("builtin:upscale-x4-sharp")
    with pytest.raises(ModelError, match="unknown built-in") as info:
        enhance.resolve_spec("builtin:upscale-x3-sharp")
    assert "upscale-x4-sharp" not in str(info.value)  # only what this installation has is offered


def test_sharp_builtin_enhances_through_the_cli(builtins_with_sharp, imgen_home, tmp_path, capsys):
    rng = np.random.default_rng(0)
    src = tmp_path / "in.png"
    save_image(photo_from_array((rng.random((20, 24, 3)) * 255).astype(np.uint8)), src)
    out = tmp_path / "out.png"
    assert cli.main(["enhance", str(src), "-o", str(out), "--model", "builtin:upscale-x4-sharp", "--quiet"]) == 0
    assert load_image(out).pixels.shape == (80, 96, 3)
    out2 = tmp_path / "out2.png"
    path = builtins_with_sharp / "upscale-x4-sharp.safetensors"
    assert cli.main(["enhance", str(src), "-o", str(out2), "--model", str(path), "--quiet"]) == 0
    assert np.array_equal(load_image(out2).pixels, load_image(out).pixels)


def test_phase_loss_sees_only_a_pattern_locked_to_the_sub_pixel_grid():
    torch.manual_seed(0)
    target = torch.rand(2, 3, 64, 64)
    assert float(restore.phase_loss(target.clone(), target, 4)) == 0.0
    texture = target + 0.03 * torch.randn_like(target)  # differs from the target at random
    cell = 0.03 * torch.tensor([[1.0, -1.0], [-1.0, 1.0]]).repeat(2, 2)  # a checkerboard of period 2 in the x4 cell
    grid = target + cell.repeat(16, 16)  # the same size of error, locked to the x4 grid
    assert float(restore.phase_loss(grid, target, 4)) > 10 * float(restore.phase_loss(texture, target, 4))
    assert float(restore.phase_loss(grid, target, 1)) == 0.0  # no grid without upscaling
    # descending it removes the grid and leaves the rest of the error alone
    x = (texture + cell.repeat(16, 16)).requires_grad_(True)
    opt = torch.optim.Adam([x], lr=2e-3)
    for _ in range(200):
        opt.zero_grad()
        restore.phase_loss(x, target, 4).backward()
        opt.step()
    left = (x.detach() - target).reshape(2, 3, 16, 4, 16, 4).mean(dim=(0, 1, 2, 4))
    assert float(left.abs().max()) < 0.005
    assert float((x.detach() - target).std()) > 0.025  # the random 0.03 texture error is still there


def test_the_phase_penalty_is_part_of_the_generator_loss(tmp_path):
    cfg = _sharp_config(extra={"blocks": 1, "disc": "unet", "disc_width": 8, "phase_weight": 10.0, "adv_warmup": 2})
    dev = torch.device("cpu")
    recipe = restore.GanRestoreRecipe(cfg, 3, dev, Amp(dev))
    metrics = recipe.train_step(_crops(4, 32), 0)
    assert float(metrics["loss.phase"]) > 0


def test_texture_loss_wants_detail_of_the_right_strength_not_in_the_right_place():
    """A flat (blurred) output and a noisy one both pay; detail of the target's strength drawn
    somewhere else (the target shifted by a few pixels) costs far less than the flat average."""
    from imgen_desktop.core import degrade as dg

    target = ((_crops(2, 64) + 1) / 2).clamp(0, 1)
    assert float(restore.texture_loss(target.clone(), target)) < 1e-6
    flat = dg.gaussian_blur(target, 2.0)
    moved = torch.roll(target, shifts=(3, 3), dims=(-2, -1))
    noisy = (target + 0.1 * torch.randn_like(target)).clamp(0, 1)
    t = lambda x: float(restore.texture_loss(x, target))  # noqa: E731
    assert t(moved) < 0.5 * t(flat)
    assert t(noisy) > 2 * t(moved)
    # and in the generator loss of a sharp fine-tune
    cfg = _sharp_config(extra={"blocks": 1, "disc": "unet", "disc_width": 8, "texture_weight": 1.0, "adv_warmup": 2})
    dev = torch.device("cpu")
    metrics = restore.GanRestoreRecipe(cfg, 3, dev, Amp(dev)).train_step(_crops(4, 32), 0)
    assert float(metrics["loss.texture"]) > 0
