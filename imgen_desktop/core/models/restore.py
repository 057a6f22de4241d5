"""Enhancement networks and training recipes for all three families (upscale, denoise, inpaint).

Every inference net here follows ``core.models.base``: ``forward(x) -> y`` with x, y in [0, 1],
NCHW; inpaint nets take ``C + 1`` channels (image, mask with 1 = hole) and return ``C``.
They share one skeleton (:class:`_RestoreBase`):

* a *base* prediction — bicubic upscale (upscale), the input (denoise), or the known pixels
  with holes grey (inpaint) — and the network learns the residual (its last layer starts at
  zero, so an untrained net already equals the base);
* optional pixel-unshuffle of the input by ``unshuffle`` (FFDNet-style: 4x less compute and a
  2x larger receptive field for denoise and inpaint), pixel-shuffle back at the end;
* denoise nets take a noise level (sigma on the 0..255 scale) as an extra constant channel;
  ``forward(x, noise_level=None)`` estimates it from the image when not given;
* inpaint nets composite: pixels outside the hole are returned unchanged.

Families:

* GAN (``gan.restore``): residual generator (EDSR-like body, optional dilations for inpaint,
  pixel-shuffle upsampling) + PatchGAN discriminator; loss L1 + ``adv_weight`` x adversarial
  (``adv_weight = 0``: plain L1, the discriminator is not even built).
* VAE (``vae.restore``): conditional VAE; a prior net p(z | degraded) and, in training only, a
  posterior q(z | degraded, clean); inference decodes the prior mean (deterministic), or a
  sample with ``forward(x, generator=g)`` (or an explicit ``noise`` tensor, so tiles agree).
* RNN (``rnn.restore``): a weight-shared ConvGRU refines the estimate over ``steps`` unrolled
  steps (each step adds a residual); the loss is on every step.

Nets expose ``pad_multiple`` (input sizes must be multiples of it), ``radius`` (receptive
radius in input pixels, for tiling halos), ``scale`` and ``task`` for the enhancement wrapper.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from imgen_desktop.core import degrade as dg
from imgen_desktop.core.models import Architecture
from imgen_desktop.core.models.base import Recipe, to_uint8
from imgen_desktop.core.tasks import ENHANCE_TASKS, TRAIN_TASKS

TASKS = tuple(t for t in ENHANCE_TASKS if t in TRAIN_TASKS)


# --- building blocks ----------------------------------------------------------------------

def _conv(cin: int, cout: int, k: int = 3, dilation: int = 1, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, k, stride=stride, padding=dilation * (k // 2), dilation=dilation)


class ResBlock(nn.Module):
    def __init__(self, width: int, dilation: int = 1, res_scale: float = 1.0) -> None:
        super().__init__()
        self.conv1 = _conv(width, width, dilation=dilation)
        self.conv2 = _conv(width, width, dilation=dilation)
        self.res_scale = res_scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.res_scale * self.conv2(F.relu(self.conv1(x)))


class Trunk(nn.Module):
    """Head conv -> residual blocks -> conv, with a long skip (EDSR body)."""

    def __init__(self, cin: int, width: int, blocks: int, dilations: list[int]) -> None:
        super().__init__()
        self.head = _conv(cin, width)
        self.blocks = nn.Sequential(*[ResBlock(width, dilations[i % len(dilations)]) for i in range(blocks)])
        self.body_out = _conv(width, width)
        self.radius = 2 + 2 * sum(dilations[i % len(dilations)] for i in range(blocks))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.head(x)
        return h + self.body_out(self.blocks(h))


TAIL_INIT = 0.1


def _zero(conv: nn.Conv2d) -> nn.Conv2d:
    """A last layer that starts near zero, so an untrained net is close to its base."""
    with torch.no_grad():
        conv.weight.mul_(TAIL_INIT)
        conv.bias.zero_()
    return conv


def default_params(family: str, config: Any, channels: int) -> dict[str, Any]:
    """Architecture hyper-parameters for a training config (stored in the model file)."""
    task = config.task
    extra = dict(getattr(config, "extra", {}) or {})
    width = int(config.width)
    params: dict[str, Any] = {
        "channels": int(channels),
        "task": task,
        "scale": int(config.scale) if task == "upscale" else 1,
        "width": width,
        "unshuffle": 1 if task == "upscale" else 2,
        "dilations": [int(d) for d in extra.get("dilations", [1, 2, 4, 1] if task == "inpaint" else [1])],
        "noise_hint": task == "denoise",
    }
    if task == "inpaint" and extra.get("feed_base"):
        params["feed_base"] = True
    if family == "gan":
        params["blocks"] = int(extra.get("blocks", 6))
    elif family == "vae":
        params["blocks"] = int(extra.get("blocks", 4))
        params["dec_blocks"] = int(extra.get("dec_blocks", 2))
        params["latent"] = int(min(int(config.latent_dim), 16))
    else:
        params["blocks"] = int(extra.get("blocks", 3))
        params["steps"] = int(config.rnn_steps)
    return params


class _RestoreBase(nn.Module):
    """Shared pre/post-processing of the three families (see the module docstring)."""

    def __init__(self, channels: int, task: str, scale: int, width: int, unshuffle: int, dilations: list[int], noise_hint: bool,
                 feed_base: bool = False) -> None:
        super().__init__()
        if task not in TASKS:
            raise ValueError(f"unknown enhancement task {task!r}")
        self.channels = int(channels)
        self.task = task
        self.scale = int(scale) if task == "upscale" else 1
        self.unshuffle = int(unshuffle)
        self.noise_hint = bool(noise_hint)
        self.dilations = list(dilations)
        self.width = int(width)
        self.in_channels = self.channels + (1 if task == "inpaint" else 0)
        # inpaint: the trunk may also see the smooth fill it refines (``feed_base``), appended
        # after the image and mask so that a net trained without it can be grown into one
        self.feed_base = bool(feed_base) and task == "inpaint"
        self.feat_in = (self.in_channels + (self.channels if self.feed_base else 0)) * self.unshuffle**2 \
            + (1 if self.noise_hint else 0)
        self.out_factor = self.scale * self.unshuffle
        self.pad_multiple = self.unshuffle
        self.base_radius = dg.FILL_RADIUS if task == "inpaint" else 2

    def make_tail(self, width: int) -> nn.Conv2d:
        return _zero(_conv(width, self.channels * self.out_factor**2))

    def prepare(self, x: torch.Tensor, noise_level=None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None, torch.Tensor]:
        """-> (features input at trunk resolution, base prediction, mask or None, known image)."""
        c = self.channels
        mask = None
        if self.task == "inpaint":
            mask = (x[:, c : c + 1] > 0.5).to(x.dtype)
            img = x[:, :c] * (1 - mask)
            base = dg.normalized_fill(img, mask)
            x = torch.cat([img, mask], 1)
        elif self.task == "upscale":
            img = x
            base = dg.upscale_bicubic(x, self.scale)
        else:
            img = x
            base = x
        if self.feed_base:
            x = torch.cat([x, base], 1)
        inp = F.pixel_unshuffle(x, self.unshuffle) if self.unshuffle > 1 else x
        if self.noise_hint:
            if noise_level is None:
                sigma = dg.estimate_noise_sigma(img)
            else:
                sigma = torch.as_tensor(noise_level, dtype=x.dtype, device=x.device).reshape(-1)
                sigma = sigma.expand(x.shape[0]) if sigma.numel() == 1 else sigma
            level = (sigma.to(x.dtype) / 255.0).view(-1, 1, 1, 1).expand(-1, 1, *inp.shape[-2:])
            inp = torch.cat([inp, level], 1)
        return inp, base, mask, img

    def finish(self, residual: torch.Tensor, base: torch.Tensor, mask: torch.Tensor | None, img: torch.Tensor) -> torch.Tensor:
        if self.out_factor > 1:
            residual = F.pixel_shuffle(residual, self.out_factor)
        out = base + residual
        if mask is not None:
            out = img + out * mask
        return out


# --- GAN family ---------------------------------------------------------------------------

class RestoreGenerator(_RestoreBase):
    """EDSR-like residual generator (the GAN family's inference net)."""

    def __init__(self, channels=3, task="upscale", scale=2, width=32, blocks=6, unshuffle=1, dilations=(1,), noise_hint=False, feed_base=False, **_: Any) -> None:
        super().__init__(channels, task, scale, width, unshuffle, list(dilations), noise_hint, feed_base)
        self.trunk = Trunk(self.feat_in, width, int(blocks), self.dilations)
        self.tail = self.make_tail(width)
        self.radius = self.base_radius + (self.trunk.radius + 1) * self.unshuffle + 2

    def forward(self, x: torch.Tensor, noise_level=None) -> torch.Tensor:
        inp, base, mask, img = self.prepare(x, noise_level)
        return self.finish(self.tail(self.trunk(inp)), base, mask, img)


class PatchDiscriminator(nn.Module):
    """PatchGAN: a grid of real/fake logits, one per ~22 px receptive field."""

    def __init__(self, channels: int, width: int = 32, spectral: bool = False) -> None:
        super().__init__()
        sn = nn.utils.spectral_norm if spectral else (lambda m: m)
        self.net = nn.Sequential(
            sn(nn.Conv2d(channels, width, 4, 2, 1)), nn.LeakyReLU(0.2),
            sn(nn.Conv2d(width, width * 2, 4, 2, 1)), nn.LeakyReLU(0.2),
            sn(nn.Conv2d(width * 2, width * 2, 3, 1, 1)), nn.LeakyReLU(0.2),
            sn(nn.Conv2d(width * 2, 1, 3, 1, 1)),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x * 2 - 1)


# --- VAE family ---------------------------------------------------------------------------

class RestoreCVAE(_RestoreBase):
    """Conditional VAE: prior p(z | degraded) at half the trunk resolution; the decoder adds
    the decoded latent to the condition features. Inference uses the prior mean by default."""

    def __init__(self, channels=3, task="upscale", scale=2, width=32, blocks=4, dec_blocks=2, latent=8, unshuffle=1, dilations=(1,), noise_hint=False, feed_base=False, **_: Any) -> None:
        super().__init__(channels, task, scale, width, unshuffle, list(dilations), noise_hint, feed_base)
        self.latent = int(latent)
        self.cond = Trunk(self.feat_in, width, int(blocks), self.dilations)
        self.prior = _conv(width, 2 * self.latent, k=4, stride=2)
        self.prior.padding = (1, 1)
        self.z_in = _conv(self.latent, width)
        self.decoder = nn.Sequential(*[ResBlock(width, self.dilations[i % len(self.dilations)]) for i in range(int(dec_blocks))])
        self.tail = self.make_tail(width)
        self.pad_multiple = 2 * self.unshuffle
        dec_radius = 2 * sum(self.dilations[i % len(self.dilations)] for i in range(int(dec_blocks)))
        self.radius = self.base_radius + (self.cond.radius + 4 + dec_radius + 2) * self.unshuffle + 2

    def prior_params(self, feats: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mu, logvar = self.prior(feats).chunk(2, dim=1)
        return mu, logvar.clamp(-8, 4)

    def decode(self, feats: torch.Tensor, z: torch.Tensor, base, mask, img) -> torch.Tensor:
        zf = F.interpolate(self.z_in(z), size=feats.shape[-2:], mode="nearest")
        h = self.decoder(feats + zf)
        return self.finish(self.tail(h), base, mask, img)

    def forward(self, x: torch.Tensor, noise_level=None, generator: torch.Generator | None = None, noise: torch.Tensor | None = None) -> torch.Tensor:
        inp, base, mask, img = self.prepare(x, noise_level)
        feats = self.cond(inp)
        mu, logvar = self.prior_params(feats)
        z = mu
        if noise is None and generator is not None:
            noise = torch.randn(mu.shape, generator=generator, device=generator.device).to(mu)
        if noise is not None:
            z = mu + torch.exp(0.5 * logvar) * noise.to(mu)
        return self.decode(feats, z, base, mask, img)


class PosteriorNet(nn.Module):
    """q(z | degraded, clean): condition features + the clean target at trunk resolution."""

    def __init__(self, net: RestoreCVAE) -> None:
        super().__init__()
        self.factor = net.out_factor
        cin = net.width + net.channels * self.factor**2
        self.body = nn.Sequential(_conv(cin, net.width), nn.ReLU(), _conv(net.width, net.width), nn.ReLU())
        self.out = nn.Conv2d(net.width, 2 * net.latent, 4, stride=2, padding=1)

    def forward(self, feats: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        t = F.pixel_unshuffle(target, self.factor) if self.factor > 1 else target
        mu, logvar = self.out(self.body(torch.cat([feats, t * 2 - 1], 1))).chunk(2, dim=1)
        return mu, logvar.clamp(-8, 4)


# --- RNN family ---------------------------------------------------------------------------

class ConvGRUCell(nn.Module):
    def __init__(self, cin: int, hidden: int) -> None:
        super().__init__()
        self.gates = _conv(cin + hidden, 2 * hidden)
        self.cand = _conv(cin + hidden, hidden)

    def forward(self, x: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        z, r = torch.sigmoid(self.gates(torch.cat([x, h], 1))).chunk(2, dim=1)
        n = torch.tanh(self.cand(torch.cat([x, r * h], 1)))
        return (1 - z) * h + z * n


class RestoreRNN(_RestoreBase):
    """Weight-shared ConvGRU refinement unrolled ``steps`` times; each step adds a residual to
    the running estimate, which is fed back (pixel-unshuffled) into the next step."""

    def __init__(self, channels=3, task="upscale", scale=2, width=32, blocks=3, steps=4, unshuffle=1, dilations=(1,), noise_hint=False, feed_base=False, **_: Any) -> None:
        super().__init__(channels, task, scale, width, unshuffle, list(dilations), noise_hint, feed_base)
        self.steps = int(steps)
        self.encoder = Trunk(self.feat_in, width, int(blocks), self.dilations)
        self.feedback = _conv(channels * self.out_factor**2, width)
        self.h0 = _conv(width, width)
        self.cell = ConvGRUCell(2 * width, width)
        self.tail = self.make_tail(width)
        self.radius = self.base_radius + (self.encoder.radius + 3 * self.steps + 2) * self.unshuffle + 2

    def unroll(self, x: torch.Tensor, noise_level=None, keep_hidden: bool = False):
        inp, base, mask, img = self.prepare(x, noise_level)
        feats = self.encoder(inp)
        h = torch.tanh(self.h0(feats))
        est = self.finish(torch.zeros_like(self.tail(h)), base, mask, img)
        outs, hiddens = [], []
        for _ in range(self.steps):
            fb = F.pixel_unshuffle(est, self.out_factor) if self.out_factor > 1 else est
            h = self.cell(torch.cat([feats, self.feedback(fb * 2 - 1)], 1), h)
            if keep_hidden:
                h.retain_grad()
                hiddens.append(h)
            delta = self.tail(h)
            if self.out_factor > 1:
                delta = F.pixel_shuffle(delta, self.out_factor)
            est = est + (delta * mask if mask is not None else delta)
            outs.append(est)
        return outs, hiddens

    def forward(self, x: torch.Tensor, noise_level=None) -> torch.Tensor:
        return self.unroll(x, noise_level)[0][-1]


# --- recipes ------------------------------------------------------------------------------

def border_mirror(clean: torch.Tensor, prob: float, band: int, multiple: int,
                  generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Crops that end at an image edge, as inference sees one: each side of each crop becomes an
    edge with probability ``prob``; its outer ``band`` pixels (rounded to ``multiple``, so a
    downscale keeps the edge on a pixel boundary) are replaced by the mirror image of the next
    ``band`` (``c b a | a b c``, the extension ``core.tiling`` and bicubic resampling use at a
    photo's edge). Returns the crops and a ``(N, 1, H, W)`` map that is 0 on the mirrored bands
    (the loss skips them: at inference they are cut away) and 1 elsewhere. A crop too small for
    two bands on a side is left alone on that axis."""
    n, _, h, w = clean.shape
    band = max(multiple, band // multiple * multiple)
    out = clean.clone()
    keep = torch.ones(n, 1, h, w)
    sides = torch.rand(n, 4, generator=generator) < prob  # top, bottom, left, right
    for k, (dim, size) in enumerate(((2, h), (2, h), (3, w), (3, w))):
        pick = sides[:, k]
        if size < 4 * band or not bool(pick.any()):
            continue
        far = k % 2 == 1
        edge = [pick, slice(None), slice(None), slice(None)]
        inner = list(edge)
        edge[dim] = slice(size - band, size) if far else slice(0, band)
        inner[dim] = slice(size - 2 * band, size - band) if far else slice(band, 2 * band)
        out[tuple(edge)] = torch.flip(out[tuple(inner)], dims=[dim])
        keep[tuple(edge)] = 0
    return out, keep


def colour_loss(out: torch.Tensor, target: torch.Tensor, window: int = 16,
                weights: torch.Tensor | None = None) -> torch.Tensor:
    """Mean absolute error of the local mean colour: the per-channel error averaged over
    ``window`` x ``window`` windows (half-overlapping), then its absolute value averaged. A
    colour cast of a level or two over an area costs almost nothing per pixel next to the
    noise-level errors L1 sees, but it is all of this loss. ``weights`` (N, 1, H, W) restricts it
    to where the loss counts (windows are weighted means there)."""
    k = max(1, min(window, out.shape[-2], out.shape[-1]))
    stride = max(1, k // 2)
    err = out - target
    if weights is None:
        return F.avg_pool2d(err, k, stride).abs().mean()
    num = F.avg_pool2d(err * weights, k, stride)
    den = F.avg_pool2d(weights, k, stride)
    keep = den > 0.25
    mean = num / den.clamp(min=1e-6)
    return (mean.abs() * keep).sum() / (keep.sum() * err.shape[1]).clamp(min=1)


def psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    mse = float(F.mse_loss(a.clamp(0, 1).float(), b.float()))
    return 10 * math.log10(1.0 / max(mse, 1e-10))


class RestoreRecipe(Recipe):
    """Shared training procedure: degrade clean crops on the fly, L1 to the clean target,
    cosine learning-rate decay, Adam. Subclasses add their family's loss terms."""

    family = ""
    tasks = TASKS
    arch_id = ""
    net_class: type = RestoreGenerator
    mse_weight = 10.0

    def __init__(self, config: Any, channels: int, device: torch.device, amp) -> None:
        super().__init__(config, channels, device, amp)
        self.task = config.task
        self.params = default_params(self.family, config, channels)
        self.net = self.net_class(**self.params).to(device)
        self.gen = torch.Generator().manual_seed(int(config.seed) + 7919)
        extra = dict(getattr(config, "extra", {}) or {})
        if extra.get("init_from"):
            self.init_from(str(extra["init_from"]))
        self.dihedral = bool(extra.get("dihedral", False))
        border = extra.get("border_mirror") or {}
        # image edges in training (see border_mirror): each side of a crop becomes one with
        # this probability, mirrored over ``band`` input pixels
        self.border_prob = float(border.get("prob", 0.0)) if isinstance(border, dict) else 0.0
        self.border_band = int(border.get("band", 8)) if isinstance(border, dict) else 8
        self.mse_weight = float(extra.get("mse_weight", self.mse_weight))
        # a loss on the local mean colour (see colour_loss): 0 = off
        self.colour_weight = float(extra.get("colour_weight", 0.0))
        self.colour_window = int(extra.get("colour_window", 16))
        self.build_extra()
        self.opt = torch.optim.Adam(self.trainable(), lr=config.lr, betas=(0.9, 0.99))
        self.multiple = self.net.pad_multiple * self.net.scale

    def init_from(self, path: str) -> int:
        """Start from another model file's weights (fine-tuning, or an x4 net from an x2 one as
        EDSR does): every tensor whose name and shape match is copied, the rest keep their
        initialisation. Returns how many were copied; a file with none in common is refused."""
        from imgen_desktop.core.errors import ModelError
        from imgen_desktop.core.models.files import load_model_file

        tensors, _ = load_model_file(path)
        own = self.net.state_dict()
        take = {k: v for k, v in tensors.items() if k in own and tuple(own[k].shape) == tuple(v.shape)}
        # a conv that now sees more input channels (e.g. an inpaint net given ``feed_base``): the
        # old channels keep their weights, the new ones start at zero, so the grown net computes
        # exactly what the file's net did and training goes on from there
        for k, v in tensors.items():
            o = own.get(k)
            if (o is not None and k not in take and o.dim() == 4 and v.dim() == 4 and o.shape[0] == v.shape[0]
                    and o.shape[2:] == v.shape[2:] and o.shape[1] > v.shape[1]):
                grown = torch.zeros_like(o)
                grown[:, : v.shape[1]] = v
                take[k] = grown
        if not take:
            raise ModelError(f"{path}: no weights in common with this network, nothing to start from")
        self.net.load_state_dict(take, strict=False)
        self.init_copied = len(take)
        return len(take)

    def build_extra(self) -> None:
        """Training-only networks (built before the optimizer)."""

    def trainable(self) -> list[nn.Parameter]:
        return list(self.net.parameters())

    def networks(self) -> dict[str, nn.Module]:
        return {"net": self.net}

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"opt": self.opt}

    def lr_at(self, step: int) -> float:
        total = max(1, int(self.config.steps))
        warm = min(50, total // 10)
        if step < warm:
            return self.config.lr * (step + 1) / warm
        t = min(1.0, (step - warm) / max(1, total - warm))
        return self.config.lr * (0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * t)))

    def set_lr(self, step: int) -> float:
        lr = self.lr_at(step)
        for opt in self.optimizers().values():
            for group in opt.param_groups:
                group["lr"] = lr
        return lr

    def pair(self, batch: torch.Tensor, generator: torch.Generator | None = None, plain: bool = False) -> dict:
        clean = ((batch.float() + 1) / 2).clamp(0, 1)
        m = self.multiple
        h, w = clean.shape[-2] // m * m, clean.shape[-1] // m * m
        if h < m or w < m:
            raise ValueError(f"training crops must be at least {m} px for this model")
        clean = clean[..., :h, :w]
        if self.dihedral and not plain and h == w:
            clean = dg.random_dihedral(clean, generator or self.gen)
        keep = None
        if self.border_prob > 0 and not plain:
            clean, keep = border_mirror(clean, self.border_prob, self.border_band * self.net.scale, m, generator or self.gen)
        d = dg.degrade(self.task, clean, self.config, generator or self.gen, plain=plain)
        if keep is not None:
            d["keep"] = keep.to(self.device)
        d["input"] = d["input"].to(self.device)
        d["target"] = d["target"].to(self.device)
        if "sigma" in d:
            d["sigma"] = d["sigma"].to(self.device)
            if not plain:
                # half of the images get the blind estimate as their noise-level hint (what
                # inference uses when the user gives none), so the net learns not to trust
                # the hint blindly; the other half get the true level (a user-set strength)
                g = generator or self.gen
                use_est = (torch.rand(d["sigma"].shape[0], generator=g) < 0.5).to(self.device)
                est = dg.estimate_noise_sigma(d["input"]).to(d["sigma"])
                d["sigma"] = torch.where(use_est, est, d["sigma"])
        return d

    def run(self, d: dict) -> torch.Tensor:
        return self.net(d["input"], noise_level=d["sigma"]) if self.net.noise_hint else self.net(d["input"])

    @staticmethod
    def _weights(d: dict, like: torch.Tensor) -> torch.Tensor | None:
        """Where the loss counts: inside the hole (inpaint: the rest is copied through), and not
        on the mirrored bands of ``border_mirror`` (a copy of the picture, not a part of it)."""
        w = d["mask"].to(like) if "mask" in d else None
        if "keep" in d:
            keep = d["keep"].to(like)
            w = keep if w is None else w * keep
        return w

    def _mean(self, err: torch.Tensor, d: dict) -> torch.Tensor:
        w = self._weights(d, err)
        if w is None:
            return err.mean()
        return (err * w).sum() / (w.sum() * err.shape[1]).clamp(min=1)

    def l1(self, out: torch.Tensor, d: dict) -> torch.Tensor:
        """Mean absolute error where the loss counts (see ``_weights``)."""
        return self._mean(torch.abs(out - d["target"]), d)

    def pixel_loss(self, out: torch.Tensor, d: dict) -> tuple[torch.Tensor, torch.Tensor]:
        """``(L1 + mse_weight * MSE, L1)``: the MSE term speeds up early training and aligns the
        objective with PSNR; L1 keeps edges sharp."""
        l1 = self.l1(out, d)
        loss = l1 + self.mse_weight * self._mean((out - d["target"]) ** 2, d)
        if self.colour_weight > 0:
            loss = loss + self.colour_weight * colour_loss(out, d["target"], self.colour_window, self._weights(d, out))
        return loss, l1

    def train_step(self, batch: torch.Tensor, step: int) -> dict[str, float]:
        lr = self.set_lr(step)
        d = self.pair(batch)
        with self.amp.autocast():
            out = self.run(d)
            loss, l1 = self.pixel_loss(out.float(), d)
        norm = self.amp.step(loss, self.opt, self.trainable(), clip=float(self.config.clip_grad))
        return {"loss.l1": l1.detach(), "loss.pixel": loss.detach(), "grad.norm": norm, "lr": lr}

    def degraded_view(self, d: dict) -> torch.Tensor:
        x = d["input"][:, : self.channels]
        if self.task == "upscale":
            return F.interpolate(x, scale_factor=self.net.scale, mode="nearest")
        if self.task == "inpaint":
            return dg.normalized_fill(x, d["mask"])
        return x

    @torch.no_grad()
    def sample(self, n: int, seed: int, real: torch.Tensor | None = None) -> dict[str, np.ndarray]:
        if real is None or real.shape[0] == 0:
            return {}
        was = self.net.training
        self.net.eval()
        d = self.pair(real[:n].to(self.device), torch.Generator().manual_seed(int(seed)))
        out = self.run(d).clamp(0, 1)
        self.net.train(was)
        trip = torch.stack([self.degraded_view(d).clamp(0, 1), out, d["target"]], 1).flatten(0, 1)
        return {"enhanced": to_uint8(trip, (0.0, 1.0))}

    @torch.no_grad()
    def evaluate(self, real: torch.Tensor, seed: int = 0) -> dict[str, float]:
        """PSNR of the output and of the degraded input (bicubic for upscale) on ``real``."""
        was = self.net.training
        self.net.eval()
        d = self.pair(real.to(self.device), torch.Generator().manual_seed(seed), plain=True)
        out = self.run(d)
        self.net.train(was)
        if self.task == "upscale":
            ref = dg.upscale_bicubic(d["input"], self.net.scale)
        elif self.task == "inpaint":
            ref = self.degraded_view(d)
        else:
            ref = d["input"]
        return {"eval.psnr": psnr(out, d["target"]), "eval.psnr_input": psnr(ref, d["target"])}

    def diagnostics(self, real: torch.Tensor, step: int) -> dict[str, float]:
        return self.evaluate(real, seed=step)

    def validation(self, images: torch.Tensor) -> dict[str, float]:
        """The pixel loss (L1, inside the hole for inpaint) and PSNR of the output on crops made
        with the evaluation degradation (plain bicubic for upscale), the same crops each time."""
        was = self.net.training
        self.net.eval()
        try:
            d = self.pair(images.to(self.device), torch.Generator().manual_seed(int(self.config.seed) + 101), plain=True)
            out = self.run(d).float().clamp(0, 1)
            return {"loss": float(self.l1(out, d)), "psnr": psnr(out, d["target"])}
        finally:
            self.net.train(was)

    def export(self) -> tuple[nn.Module, str, dict[str, Any]]:
        return self.net, self.arch_id, dict(self.params)

    def extra_state(self) -> dict[str, Any]:
        return {"gen": self.gen.get_state()}

    def load_extra_state(self, state: dict[str, Any]) -> None:
        if "gen" in state:
            self.gen.set_state(state["gen"])


class UNetDiscriminator(nn.Module):
    """Real-ESRGAN's U-Net discriminator (spectral norm on every conv but the first and
    last): a real/fake logit per pixel, from features that see ~100 px of context, so the
    generator gets feedback on both local texture and larger structure."""

    def __init__(self, channels: int, width: int = 32) -> None:
        super().__init__()
        sn = nn.utils.spectral_norm
        w = width
        self.conv0 = nn.Conv2d(channels, w, 3, 1, 1)
        self.down1 = sn(nn.Conv2d(w, w * 2, 4, 2, 1, bias=False))
        self.down2 = sn(nn.Conv2d(w * 2, w * 4, 4, 2, 1, bias=False))
        self.down3 = sn(nn.Conv2d(w * 4, w * 8, 4, 2, 1, bias=False))
        self.up1 = sn(nn.Conv2d(w * 8, w * 4, 3, 1, 1, bias=False))
        self.up2 = sn(nn.Conv2d(w * 4, w * 2, 3, 1, 1, bias=False))
        self.up3 = sn(nn.Conv2d(w * 2, w, 3, 1, 1, bias=False))
        self.conv1 = sn(nn.Conv2d(w, w, 3, 1, 1, bias=False))
        self.conv2 = sn(nn.Conv2d(w, w, 3, 1, 1, bias=False))
        self.out = nn.Conv2d(w, 1, 3, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        act = lambda t: F.leaky_relu(t, 0.2)  # noqa: E731
        x0 = act(self.conv0(x * 2 - 1))
        x1 = act(self.down1(x0))
        x2 = act(self.down2(x1))
        x3 = act(self.down3(x2))
        up = lambda t, ref: F.interpolate(t, size=ref.shape[-2:], mode="bilinear", align_corners=False)  # noqa: E731
        y = act(self.up1(up(x3, x2))) + x2
        y = act(self.up2(up(y, x1))) + x1
        y = act(self.up3(up(y, x0))) + x0
        return self.out(act(self.conv2(act(self.conv1(y)))))


RESTORE_DISCRIMINATORS = ("patch", "unet")


def sobel_gradients(x: torch.Tensor) -> torch.Tensor:
    """Horizontal and vertical Sobel responses of every channel (N, 2C, H-2, W-2)."""
    k = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]], device=x.device, dtype=x.dtype) / 8
    c = x.shape[1]
    kx = k.view(1, 1, 3, 3).repeat(c, 1, 1, 1)
    gx = F.conv2d(x, kx, groups=c)
    gy = F.conv2d(x, kx.transpose(-1, -2), groups=c)
    return torch.cat([gx, gy], 1)


def phase_loss(out: torch.Tensor, target: torch.Tensor, scale: int, block: int = 8) -> torch.Tensor:
    """The sub-pixel grid pattern of an upscaler's error (0 when there is none).

    A pixel-shuffle upscaler makes each of the ``scale``² positions inside a low-resolution
    cell with its own output channel; under an adversarial loss those channels drift apart and
    the output gets a faint dot grid of period ``scale`` (measured on the first sharp x4: +-3 grey
    levels on Set5, which NIQE punishes harder than blur). The error ``out - target`` is averaged
    per position over blocks of ``block`` x ``block`` cells; the loss is the mean absolute
    difference of those averages from their mean over the positions, so texture and edges that
    differ from the target at random cost nothing here, a pattern locked to the grid does.
    """
    s = int(scale)
    n, c, h, w = out.shape
    hb, wb = h // (s * block), w // (s * block)
    if s < 2 or hb < 1 or wb < 1:
        return out.new_zeros(())
    e = (out - target)[..., : hb * s * block, : wb * s * block].reshape(n, c, hb, block, s, wb, block, s)
    m = e.mean(dim=(3, 6))  # (n, c, hb, s, wb, s): the error of each sub-pixel position, per block
    return (m - m.mean(dim=(3, 5), keepdim=True)).abs().mean()


def texture_loss(out: torch.Tensor, target: torch.Tensor, window: int = 8, sigma: float = 1.0) -> torch.Tensor:
    """How far the output's local high-frequency amplitude is from the target's.

    Luma minus its Gaussian blur (``sigma`` px) is the fine detail; its RMS over ``window`` x
    ``window`` windows is the local texture amplitude, compared with L1. Unlike L1 on the pixels,
    it does not ask for the detail to be in exactly the target's places: a model that cannot
    know where each hair or leaf vein goes is pushed to draw some of the right strength instead
    of the flat average (the "oil paint" patches of the first sharp x4), and one that draws too
    much (noise, halos) pays as well. No network is involved (nothing to download)."""
    def amplitude(x: torch.Tensor) -> torch.Tensor:
        y = x.float()
        if y.shape[1] == 3:
            y = 0.299 * y[:, :1] + 0.587 * y[:, 1:2] + 0.114 * y[:, 2:3]
        detail = y - dg.gaussian_blur(y, sigma)
        return torch.sqrt(F.avg_pool2d(detail * detail, window) + 1e-6)

    return torch.abs(amplitude(out) - amplitude(target)).mean()


class GanRestoreRecipe(RestoreRecipe):
    """L1 (+ MSE) + ``adv_weight`` x adversarial. Options for a sharp, GAN-trained model:

    * ``gan_loss``: ``nonsat`` (default), ``hinge``, or ``relativistic`` — ESRGAN's relativistic
      average GAN: D judges whether a real patch looks more real than the average fake one,
      and the generator gets gradients from the real images too;
    * ``extra["disc"]``: ``patch`` (PatchGAN, ~22 px; spectral norm with ``spectral_norm``) or
      ``unet`` (Real-ESRGAN's U-Net discriminator, always spectral-normed, a logit per pixel);
      ``extra["disc_width"]`` its width (default: the generator's width, at least 16);
    * ``extra["grad_weight"]``: an L1 loss between the Sobel gradients of output and target
      (edges in the right place and of the right strength; 0 = off);
    * ``ema`` (> 0, adversarial runs only): an exponential moving average of the generator
      weights is exported and evaluated (smooths the GAN's step-to-step wobble);
    * ``extra["adv_warmup"]``: steps over which ``adv_weight`` ramps up linearly from 0;
    * ``extra["phase_weight"]``: :func:`phase_loss` against the sub-pixel dot grid (0 = off);
    * ``extra["texture_weight"]``: :func:`texture_loss`, the local detail amplitude (0 = off).
    """

    family = "gan"
    arch_id = "gan.restore"
    net_class = RestoreGenerator

    def __init__(self, config: Any, channels: int, device: torch.device, amp) -> None:
        super().__init__(config, channels, device, amp)
        from imgen_desktop.core.errors import ImgenError

        extra = dict(getattr(config, "extra", {}) or {})
        self.adv_weight = float(config.adv_weight)
        self.grad_weight = float(extra.get("grad_weight", 0.0))
        self.adv_warmup = int(extra.get("adv_warmup", 0))
        self.phase_weight = float(extra.get("phase_weight", 0.0))
        self.texture_weight = float(extra.get("texture_weight", 0.0))
        self.loss_kind = str(config.gan_loss)
        self.disc = None
        self.net_ema = None
        if self.adv_weight > 0:
            kind = str(extra.get("disc", "patch"))
            if kind not in RESTORE_DISCRIMINATORS:
                raise ImgenError(f"unknown discriminator {kind!r}; choose one of {', '.join(RESTORE_DISCRIMINATORS)}")
            width = int(extra.get("disc_width", max(16, int(config.width))))
            if kind == "unet":
                self.disc = UNetDiscriminator(channels, width).to(device)
            else:
                self.disc = PatchDiscriminator(channels, width, bool(config.spectral_norm)).to(device)
            self.opt_d = torch.optim.Adam(self.disc.parameters(), lr=config.lr, betas=(0.5, 0.99) if kind == "patch" else (0.9, 0.99))
            if float(config.ema or 0) > 0:
                import copy

                self.ema_decay = float(config.ema)
                self.net_ema = copy.deepcopy(self.net).eval().requires_grad_(False)

    def networks(self) -> dict[str, nn.Module]:
        nets = {"net": self.net}
        if self.disc is not None:
            nets["disc"] = self.disc
        if self.net_ema is not None:
            nets["net_ema"] = self.net_ema
        return nets

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        opts = {"opt": self.opt}
        if self.disc is not None:
            opts["opt_d"] = self.opt_d
        return opts

    def _adv(self, logits: torch.Tensor, real: bool) -> torch.Tensor:
        if self.loss_kind == "hinge":
            return F.relu(1 - logits).mean() if real else F.relu(1 + logits).mean()
        return F.softplus(-logits).mean() if real else F.softplus(logits).mean()

    def _gen_adv(self, fake: torch.Tensor, real_logits: torch.Tensor | None) -> torch.Tensor:
        if self.loss_kind == "relativistic":
            # ESRGAN: (BCE(C(real) - E[C(fake)], 0) + BCE(C(fake) - E[C(real)], 1)) / 2
            return 0.5 * (self._adv(real_logits - fake.mean(), False) + self._adv(fake - real_logits.mean(), True))
        return -fake.mean() if self.loss_kind == "hinge" else F.softplus(-fake).mean()

    def _disc_loss(self, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        if self.loss_kind == "relativistic":
            return 0.5 * (self._adv(real - fake.mean(), True) + self._adv(fake - real.mean(), False))
        return self._adv(real, True) + self._adv(fake, False)

    def grad_loss(self, out: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return torch.abs(sobel_gradients(out) - sobel_gradients(target)).mean()

    def train_step(self, batch: torch.Tensor, step: int) -> dict[str, float]:
        if self.disc is None and self.grad_weight <= 0 and self.phase_weight <= 0 and self.texture_weight <= 0:
            return super().train_step(batch, step)
        lr = self.set_lr(step)
        d = self.pair(batch)
        metrics: dict[str, Any] = {}
        adv_w = self.adv_weight * (min(1.0, (step + 1) / self.adv_warmup) if self.adv_warmup > 0 else 1.0)
        with self.amp.autocast():
            out = self.run(d)
            pix, l1 = self.pixel_loss(out.float(), d)
            loss_g = pix
            if self.grad_weight > 0:
                g_loss = self.grad_loss(out.float(), d["target"])
                loss_g = loss_g + self.grad_weight * g_loss
                metrics["loss.grad"] = g_loss.detach()
            if self.phase_weight > 0:
                p_loss = phase_loss(out.float(), d["target"], self.net.scale)
                loss_g = loss_g + self.phase_weight * p_loss
                metrics["loss.phase"] = p_loss.detach()
            if self.texture_weight > 0:
                t_loss = texture_loss(out.float(), d["target"])
                loss_g = loss_g + self.texture_weight * t_loss
                metrics["loss.texture"] = t_loss.detach()
            if self.disc is not None:
                self.disc.requires_grad_(False)
                logits = self.disc(out).float()
                real_logits = self.disc(d["target"]).float().detach() if self.loss_kind == "relativistic" else None
                g_adv = self._gen_adv(logits, real_logits)
                loss_g = loss_g + adv_w * g_adv
        norm = self.amp.step(loss_g, self.opt, self.trainable())
        metrics.update({"loss.l1": l1.detach(), "grad.norm": norm, "lr": lr})
        if self.disc is None:
            return metrics
        self.disc.requires_grad_(True)
        with self.amp.autocast():
            d_real = self.disc(d["target"]).float()
            d_fake = self.disc(out.detach()).float()
            loss_d = self._disc_loss(d_real, d_fake)
        self.amp.step(loss_d, self.opt_d)
        self._update_ema(step)
        metrics.update({"loss.g": g_adv.detach(), "loss.d": loss_d.detach(),
                        "d.real": d_real.detach().mean(), "d.fake": d_fake.detach().mean()})
        return metrics

    @torch.no_grad()
    def _update_ema(self, step: int) -> None:
        if self.net_ema is None:
            return
        decay = min(self.ema_decay, (1 + step) / (10 + step))
        for pe, p in zip(self.net_ema.parameters(), self.net.parameters()):
            pe.lerp_(p.detach(), 1 - decay)

    def _with_ema(self, fn, *args, **kwargs):
        """Run ``fn`` with the EMA weights as ``self.net`` (what is exported)."""
        if self.net_ema is None:
            return fn(*args, **kwargs)
        live, self.net = self.net, self.net_ema
        try:
            return fn(*args, **kwargs)
        finally:
            self.net = live

    def sample(self, n: int, seed: int, real: torch.Tensor | None = None) -> dict[str, np.ndarray]:
        return self._with_ema(super().sample, n, seed, real)

    def evaluate(self, real: torch.Tensor, seed: int = 0) -> dict[str, float]:
        return self._with_ema(super().evaluate, real, seed)

    def export(self) -> tuple[nn.Module, str, dict[str, Any]]:
        return (self.net_ema if self.net_ema is not None else self.net), self.arch_id, dict(self.params)

    def diagnostics(self, real: torch.Tensor, step: int) -> dict[str, float]:
        values = super().diagnostics(real, step)
        if self.disc is not None:
            with torch.no_grad():
                d = self.pair(real.to(self.device), torch.Generator().manual_seed(step))
                values["health.d_real"] = float(torch.sigmoid(self.disc(d["target"])).mean())
                values["health.d_fake"] = float(torch.sigmoid(self.disc(self.run(d))).mean())
        return values


class VaeRestoreRecipe(RestoreRecipe):
    family = "vae"
    arch_id = "vae.restore"
    net_class = RestoreCVAE
    kl_scale = 0.02  # ~ the L1 error scale: makes L1 + kl_scale * KL a Laplace-likelihood ELBO

    def build_extra(self) -> None:
        self.posterior = PosteriorNet(self.net).to(self.device)

    def trainable(self) -> list[nn.Parameter]:
        return list(self.net.parameters()) + list(self.posterior.parameters())

    def networks(self) -> dict[str, nn.Module]:
        return {"net": self.net, "posterior": self.posterior}

    def _kl(self, mu_q, lv_q, mu_p, lv_p) -> torch.Tensor:
        """KL(q || p) per latent element."""
        return 0.5 * (lv_p - lv_q + (torch.exp(lv_q) + (mu_q - mu_p) ** 2) / torch.exp(lv_p) - 1)

    def _forward(self, d: dict, generator: torch.Generator | None = None):
        net = self.net
        inp, base, mask, img = net.prepare(d["input"], d.get("sigma") if net.noise_hint else None)
        feats = net.cond(inp)
        mu_p, lv_p = net.prior_params(feats)
        mu_q, lv_q = self.posterior(feats, d["target"])
        eps = torch.randn(mu_q.shape, generator=generator or self.gen).to(mu_q)
        z = mu_q + torch.exp(0.5 * lv_q) * eps
        out = net.decode(feats, z, base, mask, img)
        return out, self._kl(mu_q, lv_q, mu_p, lv_p)

    def train_step(self, batch: torch.Tensor, step: int) -> dict[str, float]:
        lr = self.set_lr(step)
        d = self.pair(batch)
        warm = int(self.config.kl_warmup)
        kl_w = float(self.config.beta) * (min(1.0, (step + 1) / warm) if warm > 0 else 1.0)
        with self.amp.autocast():
            out, kl = self._forward(d)
            pix, l1 = self.pixel_loss(out.float(), d)
            kl_dim = kl.float().mean(dim=(0, 2, 3))  # nats per latent channel per cell
            if self.config.free_bits > 0:
                kl_dim = kl_dim.clamp(min=float(self.config.free_bits))
            cells_per_value = kl.shape[-1] * kl.shape[-2] / (out.shape[1] * out.shape[-1] * out.shape[-2])
            kl_term = kl_dim.sum() * cells_per_value
            loss = pix + self.kl_scale * kl_w * kl_term
        norm = self.amp.step(loss, self.opt, self.trainable(), clip=float(self.config.clip_grad))
        return {"loss.l1": l1.detach(), "loss.kl": kl_dim.detach().sum(), "grad.norm": norm, "lr": lr}

    def diagnostics(self, real: torch.Tensor, step: int) -> dict[str, float]:
        values = super().diagnostics(real, step)
        with torch.no_grad():
            d = self.pair(real.to(self.device), torch.Generator().manual_seed(step))
            _, kl = self._forward(d, torch.Generator().manual_seed(step))
            values["health.active_units"] = float((kl.float().mean(dim=(0, 2, 3)) > 0.01).sum())
        return values


class RnnRestoreRecipe(RestoreRecipe):
    family = "rnn"
    arch_id = "rnn.restore"
    net_class = RestoreRNN

    def _step_weights(self) -> list[float]:
        k = self.net.steps
        w = [(i + 1) / k for i in range(k)]
        total = sum(w)
        return [x / total for x in w]

    def _losses(self, d: dict, keep_hidden: bool = False):
        outs, hiddens = self.net.unroll(d["input"], d.get("sigma") if self.net.noise_hint else None, keep_hidden)
        per_step = [self.pixel_loss(o.float(), d)[0] for o in outs]
        loss = sum(w * l for w, l in zip(self._step_weights(), per_step))
        return loss, per_step, hiddens

    def train_step(self, batch: torch.Tensor, step: int) -> dict[str, float]:
        lr = self.set_lr(step)
        d = self.pair(batch)
        with self.amp.autocast():
            loss, per_step, _ = self._losses(d)
        norm = self.amp.step(loss, self.opt, self.trainable(), clip=float(self.config.clip_grad))
        return {"loss.pixel": per_step[-1].detach(), "loss.pixel_first": per_step[0].detach(), "loss.total": loss.detach(), "grad.norm": norm, "lr": lr}

    def diagnostics(self, real: torch.Tensor, step: int) -> dict[str, float]:
        values = super().diagnostics(real, step)
        d = self.pair(real.to(self.device), torch.Generator().manual_seed(step))
        loss, _, hiddens = self._losses(d, keep_hidden=True)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        first, last = hiddens[0].grad, hiddens[-1].grad
        norms = [p.grad.norm() for p in self.net.parameters() if p.grad is not None]
        self.opt.zero_grad(set_to_none=True)
        if first is not None and last is not None:
            values["health.grad_ratio"] = float(first.norm() / last.norm().clamp(min=1e-12))
        if norms:
            values["health.grad_norm"] = float(torch.stack(norms).norm())
        return values


def _builder(cls: type):
    def build(params: dict[str, Any]) -> nn.Module:
        return cls(**params)

    return build


ARCHITECTURES = [
    Architecture("gan.restore", "gan", TASKS, _builder(RestoreGenerator), GanRestoreRecipe),
    Architecture("vae.restore", "vae", TASKS, _builder(RestoreCVAE), VaeRestoreRecipe),
    Architecture("rnn.restore", "rnn", TASKS, _builder(RestoreRNN), RnnRestoreRecipe),
]
