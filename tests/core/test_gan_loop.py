"""The GAN step's loop options: ``reuse_fakes`` (one generator pass a step, the PyTorch DCGAN
example's loop, the classic preset) against a fresh batch for the G step (the default)."""
from __future__ import annotations

import torch

from imgen_desktop.core.config import TrainConfig
from imgen_desktop.core.models.base import Amp
from imgen_desktop.core.models.gan import GanRecipe
from imgen_desktop.core.presets import apply_preset


def _calls(reuse: bool) -> tuple[int, dict]:
    cfg = TrainConfig(family="gan", task="generate", image_size=16, width=8, z_dim=8, batch_size=8, lr=1e-3,
                      gan_loss="bce", ema=0.0, reuse_fakes=reuse)
    recipe = GanRecipe(cfg, 1, torch.device("cpu"), Amp(torch.device("cpu")))
    calls = []
    recipe.G.register_forward_hook(lambda m, i, o: calls.append(torch.is_grad_enabled()))
    before = [p.detach().clone() for p in recipe.G.parameters()]
    out = recipe.train_step(torch.rand(8, 1, 16, 16) * 2 - 1, 1)
    moved = any(not torch.equal(a, p) for a, p in zip(before, recipe.G.parameters()))
    assert moved, "the generator is updated"
    return calls, out


def test_reusing_the_fakes_runs_the_generator_once_a_step_with_gradients():
    calls, out = _calls(True)
    assert calls == [True]
    assert torch.isfinite(out["loss.g"]) and torch.isfinite(out["loss.d"])


def test_by_default_the_g_step_draws_a_fresh_batch():
    calls, _ = _calls(False)
    assert calls == [False, True]  # a no-grad batch for D, a fresh one with gradients for G


def test_the_classic_preset_is_the_dcgan_loop_and_the_others_are_not():
    base = TrainConfig(family="gan", task="generate")
    assert apply_preset(base, "classic").reuse_fakes is True
    for name in ("quick", "standard", "quality"):
        assert apply_preset(base, name).reuse_fakes is False


def _step(channels_last: bool):
    torch.manual_seed(0)
    cfg = TrainConfig(family="gan", task="generate", image_size=16, width=8, z_dim=8, batch_size=8, lr=1e-3,
                      gan_loss="bce", ema=0.0, extra={"channels_last": channels_last})
    recipe = GanRecipe(cfg, 1, torch.device("cpu"), Amp(torch.device("cpu")))
    batch = torch.rand(8, 1, 16, 16, generator=torch.Generator().manual_seed(1)) * 2 - 1
    torch.manual_seed(2)
    out = recipe.train_step(batch, 1)
    return recipe, out


def test_a_channels_last_gan_step_is_the_nchw_step_up_to_rounding():
    nhwc, out_cl = _step(True)
    nchw, out = _step(False)
    conv_weights = [p for p in nhwc.G.parameters() if p.dim() == 4] + [p for p in nhwc.D.parameters() if p.dim() == 4]
    assert conv_weights and all(p.is_contiguous(memory_format=torch.channels_last) for p in conv_weights)
    assert not nchw.channels_last and all(p.is_contiguous() for p in nchw.G.parameters())
    for key in ("loss.g", "loss.d"):
        assert abs(float(out_cl[key]) - float(out[key])) < 1e-4, key
    for a, b in zip(nhwc.G.parameters(), nchw.G.parameters()):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-4)
    # the exported generator loads into a plain NCHW network and draws the same pictures
    from imgen_desktop.core.models.gan import build_generator

    net, _, meta = nhwc.export()
    plain = build_generator(nhwc.params)
    plain.load_state_dict({k: v.contiguous() for k, v in net.state_dict().items()})
    z = torch.randn(4, *plain.latent_shape)
    torch.testing.assert_close(plain.eval()(z), net.eval()(z), atol=1e-5, rtol=1e-4)
