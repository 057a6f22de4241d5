"""GAN for unconditional generation: DCGAN-class generator / discriminator (Radford et al. 2016).

Sizes 16-128 px (powers of two), 1 or 3 channels. Losses: non-saturating (default), hinge,
WGAN-GP, and ``bce`` (the classic formulation with BCE on labels). Options: spectral norm in
D, an EMA copy of the generator (the exported one), DiffAugment (Zhao et al. 2020: colour,
translation, cutout) applied to real and generated pictures alike before D.
"""
from __future__ import annotations

import copy
import math
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from imgen_desktop.core.errors import ImgenError
from imgen_desktop.core.models import Architecture
from imgen_desktop.core.models.base import Recipe, adam, to_uint8
from imgen_desktop.core.models.prior import pick_component

GAN_LOSSES = ("nonsat", "hinge", "wgan-gp", "bce")


def _levels(image_size: int) -> int:
    """Number of 2x up-sampling stages from 4x4 to ``image_size``."""
    n = int(round(math.log2(image_size))) - 2
    if image_size < 8 or 2 ** (n + 2) != image_size or image_size > 256:
        raise ImgenError(f"the GAN needs an image size of 16, 32, 64 or 128 pixels, not {image_size}")
    return n


class Generator(nn.Module):
    """latent (N, z_dim) -> images (N, C, S, S) in [-1, 1].

    With ``categories`` K > 0 (InfoGAN's categorical code, Chen et al. 2016) the latent has one
    more standard-normal coordinate, ``(N, z_dim + 1)``: its normal CDF picks one of K equally
    likely categories, fed to the first layer as a one-hot vector beside the continuous code.
    A discrete input lets the generator draw K separate groups of pictures (the digits of a
    digit set) instead of sweeping one connected sheet through the blends between them.
    """

    def __init__(self, z_dim: int = 100, channels: int = 3, width: int = 64, image_size: int = 32, categories: int = 0,
                 temperature: float = 1.0) -> None:
        super().__init__()
        self.z_dim, self.channels, self.width, self.image_size = int(z_dim), int(channels), int(width), int(image_size)
        self.categories = int(categories)
        # the continuous code is the latent times this (the exported model's truncation trick;
        # 1 while training)
        self.temperature = float(temperature)
        n = _levels(self.image_size)
        ch = [min(self.width * 2 ** i, self.width * 8) for i in reversed(range(n))]  # e.g. 256,128,64
        inputs = self.z_dim + self.categories
        layers: list[nn.Module] = [nn.ConvTranspose2d(inputs, ch[0], 4, 1, 0, bias=False), nn.BatchNorm2d(ch[0]), nn.ReLU(True)]
        for a, b in zip(ch[:-1], ch[1:]):
            layers += [nn.ConvTranspose2d(a, b, 4, 2, 1, bias=False), nn.BatchNorm2d(b), nn.ReLU(True)]
        layers += [nn.ConvTranspose2d(ch[-1], self.channels, 4, 2, 1), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        for m in self.modules():
            _dcgan_init(m)
        if self.categories:
            self.register_buffer("category_cum", torch.linspace(1.0 / self.categories, 1.0, self.categories), persistent=False)

    @property
    def latent_shape(self) -> tuple[int, ...]:
        return (self.z_dim + 1,) if self.categories else (self.z_dim,)

    @property
    def interpolate_in_codes(self) -> bool:
        return bool(self.categories)

    def category(self, latent: torch.Tensor) -> torch.Tensor:
        """The category index (N,) of standard-normal latents (only with ``categories``)."""
        return pick_component(latent[:, self.z_dim], self.category_cum)

    def code(self, latent: torch.Tensor) -> torch.Tensor:
        """Standard-normal latents -> the first layer's input: the continuous code and, with
        categories, the category one-hot (a straight line between two codes morphs one
        picture into the other: what interpolation uses)."""
        cont = latent[:, : self.z_dim]
        if self.temperature != 1.0:
            cont = cont * self.temperature
        if not self.categories:
            return cont
        k = self.category(latent)
        onehot = (k[:, None] == torch.arange(self.categories, device=latent.device)[None, :]).to(latent.dtype)
        return torch.cat([cont, onehot], 1)

    def decode(self, code: torch.Tensor) -> torch.Tensor:
        return self.net(code.reshape(code.shape[0], self.z_dim + self.categories, 1, 1))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.decode(self.code(z))


class Discriminator(nn.Module):
    """images -> one logit per image. ``norm``: "bn", "none"; spectral norm wraps every conv.

    ``aux_classes`` K > 0 adds InfoGAN's Q head: K logits per image from the same body,
    predicting the generator's category (``forward_aux``)."""

    def __init__(self, channels: int = 3, width: int = 64, image_size: int = 32, norm: str = "bn", spectral: bool = False,
                 aux_classes: int = 0) -> None:
        super().__init__()
        n = _levels(image_size)
        sn = nn.utils.parametrizations.spectral_norm if spectral else (lambda m: m)
        ch = [min(width * 2 ** i, width * 8) for i in range(n)]  # 64,128,256
        layers: list[nn.Module] = [sn(nn.Conv2d(channels, ch[0], 4, 2, 1)), nn.LeakyReLU(0.2, True)]
        for a, b in zip(ch[:-1], ch[1:]):
            layers.append(sn(nn.Conv2d(a, b, 4, 2, 1, bias=norm != "bn")))
            if norm == "bn":
                layers.append(nn.BatchNorm2d(b))
            layers.append(nn.LeakyReLU(0.2, True))
        layers.append(sn(nn.Conv2d(ch[-1], 1, 4, 1, 0)))
        self.net = nn.Sequential(*layers)
        self.aux = sn(nn.Conv2d(ch[-1], int(aux_classes), 4, 1, 0)) if aux_classes else None
        if not spectral:
            for m in self.modules():
                _dcgan_init(m)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).flatten()

    def forward_aux(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(one logit per image, (N, K) category logits)."""
        h = self.net[:-1](x)
        return self.net[-1](h).flatten(), self.aux(h).flatten(1)


def _dcgan_init(m: nn.Module) -> None:
    if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(m.weight, 0.0, 0.02)
        if m.bias is not None:
            nn.init.zeros_(m.bias)
    elif isinstance(m, nn.BatchNorm2d):
        nn.init.normal_(m.weight, 1.0, 0.02)
        nn.init.zeros_(m.bias)


# --- DiffAugment (Zhao et al., "Differentiable Augmentation for Data-Efficient GAN Training") ---

def diff_augment(x: torch.Tensor) -> torch.Tensor:
    n = x.shape[0]
    dev, dt = x.device, x.dtype
    # colour: brightness, saturation, contrast
    x = x + (torch.rand(n, 1, 1, 1, device=dev, dtype=dt) - 0.5)
    if x.shape[1] > 1:
        mean = x.mean(dim=1, keepdim=True)
        x = (x - mean) * (torch.rand(n, 1, 1, 1, device=dev, dtype=dt) * 2) + mean
    mean = x.mean(dim=[1, 2, 3], keepdim=True)
    x = (x - mean) * (torch.rand(n, 1, 1, 1, device=dev, dtype=dt) + 0.5) + mean
    # translation by up to 1/8 of the size, zero padded
    h, w = x.shape[2:]
    sh, sw = int(h * 0.125 + 0.5), int(w * 0.125 + 0.5)
    ty = torch.randint(-sh, sh + 1, (n, 1, 1), device=dev)
    tx = torch.randint(-sw, sw + 1, (n, 1, 1), device=dev)
    gy, gx = torch.meshgrid(torch.arange(h, device=dev), torch.arange(w, device=dev), indexing="ij")
    gy = torch.clamp(gy.unsqueeze(0) + ty + 1, 0, h + 1)
    gx = torch.clamp(gx.unsqueeze(0) + tx + 1, 0, w + 1)
    padded = F.pad(x, [1, 1, 1, 1])
    idx = torch.arange(n, device=dev)[:, None, None]
    x = padded.permute(0, 2, 3, 1)[idx, gy, gx].permute(0, 3, 1, 2)
    # cutout of half the size
    ch, cw = int(h * 0.5 + 0.5), int(w * 0.5 + 0.5)
    oy = torch.randint(0, h + (1 - ch % 2), (n, 1, 1), device=dev)
    ox = torch.randint(0, w + (1 - cw % 2), (n, 1, 1), device=dev)
    gy, gx = torch.meshgrid(torch.arange(ch, device=dev), torch.arange(cw, device=dev), indexing="ij")
    gy = torch.clamp(gy.unsqueeze(0) + oy - ch // 2, 0, h - 1)
    gx = torch.clamp(gx.unsqueeze(0) + ox - cw // 2, 0, w - 1)
    mask = torch.ones(n, h, w, device=dev, dtype=dt)
    mask[idx, gy, gx] = 0
    return x * mask.unsqueeze(1)


# --- the recipe ----------------------------------------------------------------------------

def _train_channels_last(setting, device: torch.device) -> bool:
    """Whether G and D train channels_last: ``extra["channels_last"]`` if given, else on a CPU
    where the fp32 layout probe of ``core.precision`` finds NHWC faster (IMGEN_CHANNELS_LAST
    forces it), never on other devices by default. Measured on a Zen 3 (AVX2) core with the
    classic preset: 1.13x the NCHW step at 32x32 (``benchmarks/train_speed.py --nchw``)."""
    if setting is not None:
        return bool(setting)
    if device.type != "cpu":
        return False
    from imgen_desktop.core.precision import cpu_channels_last

    return cpu_channels_last()


class GanRecipe(Recipe):
    family = "gan"
    tasks = ("generate",)

    def __init__(self, config: Any, channels: int, device: torch.device, amp) -> None:
        super().__init__(config, channels, device, amp)
        c = config
        if c.gan_loss not in GAN_LOSSES:
            raise ImgenError(f"unknown GAN loss {c.gan_loss!r}; choose one of {', '.join(GAN_LOSSES)}")
        self.loss = c.gan_loss
        self.params = {"z_dim": int(c.z_dim), "channels": int(channels), "width": int(c.width), "image_size": int(c.image_size)}
        self.categories = int(getattr(c, "categories", 0) or 0)
        if self.categories:
            self.params["categories"] = self.categories  # absent in older files: no categorical code
        self.temperature = float(getattr(c, "temperature", 1.0) or 1.0)
        extra = c.extra if isinstance(c.extra, dict) else {}
        self.info_weight = float(extra.get("info_weight", 1.0))
        # the G step reuses the D step's fakes (one G forward a step, as the PyTorch DCGAN
        # example does) instead of drawing a fresh batch
        self.reuse_fakes = bool(getattr(c, "reuse_fakes", False))
        self.G = Generator(**self.params).to(device)
        norm = "none" if (c.spectral_norm or self.loss == "wgan-gp") else "bn"
        self.D = Discriminator(channels, int(c.width), int(c.image_size), norm=norm, spectral=bool(c.spectral_norm),
                               aux_classes=self.categories).to(device)
        betas = (float(c.beta1), float(c.beta2))
        self.opt_g = adam(self.G.parameters(), lr=c.lr, betas=betas)
        # the two time-scale rule (Heusel et al. 2017): extra["lr_d"] gives D its own rate
        self.opt_d = adam(self.D.parameters(), lr=float(extra.get("lr_d", c.lr)), betas=betas)
        self.ema_decay = float(c.ema or 0.0)
        self.G_ema = copy.deepcopy(self.G).eval().requires_grad_(False) if self.ema_decay > 0 else None
        self.augment = bool(c.augment)
        self.gp_weight = float(extra.get("gp_weight", 10.0))
        self.channels_last = _train_channels_last(extra.get("channels_last"), device)
        if isinstance(c.extra, dict) and device.type == "cpu":
            # the run's config.json records the layout picked, so a resume continues in it
            c.extra["channels_last"] = self.channels_last
        if self.channels_last:
            for net in self.networks().values():
                net.to(memory_format=torch.channels_last)

    def networks(self) -> dict[str, nn.Module]:
        nets = {"G": self.G, "D": self.D}
        if self.G_ema is not None:
            nets["G_ema"] = self.G_ema
        return nets

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"G": self.opt_g, "D": self.opt_d}

    def _d(self, x: torch.Tensor) -> torch.Tensor:
        return self.D(diff_augment(x) if self.augment else x).float()

    def _d_info(self, x: torch.Tensor, latent: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """D's logits for generated pictures and, with a categorical code, InfoGAN's loss: the
        cross-entropy of the Q head's guess of each picture's category (a lower bound on the
        mutual information between code and picture, up to a constant)."""
        if not self.categories:
            return self._d(x), None
        logit, guess = self.D.forward_aux(diff_augment(x) if self.augment else x)
        return logit.float(), F.cross_entropy(guess.float(), self.G.category(latent))

    def _z(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        if generator is None:
            return torch.randn(n, *self.G.latent_shape, device=self.device)
        return torch.randn(n, *self.G.latent_shape, generator=generator).to(self.device)

    def train_step(self, batch: torch.Tensor, step: int) -> dict[str, float]:
        n = batch.shape[0]
        amp = self.amp
        if self.channels_last:
            batch = batch.contiguous(memory_format=torch.channels_last)
        # --- discriminator ---
        self.G.train()
        self.D.train()
        with amp.autocast():
            latent = self._z(n)
            if self.reuse_fakes:
                fake = self.G(latent)  # kept with its graph for the G step
            else:
                with torch.no_grad():
                    fake = self.G(latent)
            d_real = self._d(batch)
            d_fake, info_d = self._d_info(fake.detach(), latent)
            if self.loss == "hinge":
                loss_d = F.relu(1 - d_real).mean() + F.relu(1 + d_fake).mean()
            elif self.loss == "wgan-gp":
                loss_d = d_fake.mean() - d_real.mean()
            elif self.loss == "bce":
                loss_d = F.binary_cross_entropy_with_logits(d_real, torch.ones_like(d_real)) + F.binary_cross_entropy_with_logits(d_fake, torch.zeros_like(d_fake))
            else:
                loss_d = F.softplus(-d_real).mean() + F.softplus(d_fake).mean()
        if self.loss == "wgan-gp":
            loss_d = loss_d + self.gp_weight * self._gradient_penalty(batch, fake.detach())
        if info_d is not None:
            loss_d = loss_d + self.info_weight * info_d
        grad_d = amp.step(loss_d, self.opt_d)
        # --- generator ---
        self.D.requires_grad_(False)
        with amp.autocast():
            if not self.reuse_fakes:
                latent = self._z(n)
                fake = self.G(latent)
            d_gen, info_g = self._d_info(fake, latent)
            if self.loss in ("hinge", "wgan-gp"):
                loss_g = -d_gen.mean()
            elif self.loss == "bce":
                loss_g = F.binary_cross_entropy_with_logits(d_gen, torch.ones_like(d_gen))
            else:
                loss_g = F.softplus(-d_gen).mean()
            if info_g is not None:
                loss_g = loss_g + self.info_weight * info_g
        grad_g = amp.step(loss_g, self.opt_g)
        self.D.requires_grad_(True)
        self._update_ema(step)
        # device tensors: the trainer reads them at its metrics interval, not every step
        out = {"loss.info": info_g.detach()} if info_g is not None else {}
        return out | {
            "loss.g": loss_g.detach(),
            "loss.d": loss_d.detach(),
            "d.real": d_real.detach().mean(),
            "d.fake": d_fake.detach().mean(),
            "grad.g": grad_g,
            "grad.d": grad_d,
            "lr": float(self.opt_g.param_groups[0]["lr"]),
        }

    def _gradient_penalty(self, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        alpha = torch.rand(real.shape[0], 1, 1, 1, device=real.device)
        mix = (alpha * real.float() + (1 - alpha) * fake.float()).requires_grad_(True)
        out = self.D(mix).float()
        (grad,) = torch.autograd.grad(out.sum(), mix, create_graph=True)
        return ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean()

    @torch.no_grad()
    def _update_ema(self, step: int) -> None:
        if self.G_ema is None:
            return
        decay = min(self.ema_decay, (1 + step) / (10 + step))  # warm-up: follow G closely at first
        for pe, p in zip(self.G_ema.parameters(), self.G.parameters()):
            pe.lerp_(p.detach(), 1 - decay)
        for be, b in zip(self.G_ema.buffers(), self.G.buffers()):
            if be.dtype.is_floating_point:
                be.lerp_(b, 1 - decay)
            else:
                be.copy_(b)

    def inference_net(self) -> nn.Module:
        return self.G_ema if self.G_ema is not None else self.G

    @torch.no_grad()
    def sample(self, n: int, seed: int, real: torch.Tensor | None = None) -> dict[str, np.ndarray]:
        net = self.inference_net()
        was_training = net.training
        net.eval()
        gen = torch.Generator().manual_seed(int(seed))
        latent = self._z(n, gen)
        if self.temperature != 1.0:  # the live samples show what the exported model will draw
            latent[:, : self.params["z_dim"]] *= self.temperature
        images = net(latent)
        net.train(was_training)
        return {"samples": to_uint8(images)}

    @torch.no_grad()
    def diagnostics(self, real: torch.Tensor, step: int) -> dict[str, float]:
        from imgen_desktop.core import health

        # the live generator, not the EMA copy: collapse is a property of the training dynamics,
        # and the EMA lags hundreds of steps behind them
        net = self.G
        was_training = net.training
        net.eval()
        self.D.eval()
        n = real.shape[0]
        fake = net(self._z(n, torch.Generator().manual_seed(4321)))
        d_real = torch.sigmoid(self.D(real).float()).mean()
        d_fake = torch.sigmoid(self.D(fake).float()).mean()
        self.D.train()
        net.train(was_training)
        div = health.diversity_ratio(health.random_projection_features(fake), health.random_projection_features(real))
        return {"health.diversity": div, "health.d_real": float(d_real), "health.d_fake": float(d_fake)}

    def validation(self, images: torch.Tensor) -> dict[str, float]:
        """The discriminator's log-loss on real pictures, ``-log sigmoid(D(x))`` averaged (the
        real half of the non-saturating D loss, whatever the training loss), and its mean raw
        output. Compared between held-out and training pictures it is the usual GAN overfitting
        signal (Karras et al. 2020, "Training GANs with limited data"): a D that memorises its
        training set scores them as real while held-out real pictures drift towards "fake".
        ``d_fake``: D's mean output on generated pictures (the live generator, seeded by the
        trainer: the same pictures for the held-out and the training side)."""
        was_training, g_training = self.D.training, self.G.training
        self.D.eval()
        self.G.eval()
        try:
            d = self.D(images.to(self.device).float()).float()
            fake = self.G(self._z(images.shape[0]))
            d_fake = self.D(fake).float()
            return {"loss": float(F.softplus(-d).mean()), "d_real": float(d.mean()), "d_fake": float(d_fake.mean())}
        finally:
            self.D.train(was_training)
            self.G.train(g_training)

    def export(self) -> tuple[nn.Module, str, dict[str, Any]]:
        net, params = self.inference_net(), dict(self.params)
        if self.temperature != 1.0:
            net = copy.deepcopy(net)
            net.temperature = params["temperature"] = self.temperature
        return net, "gan.dcgan", params

    def extra_state(self) -> dict[str, Any]:
        return {}


def build_generator(params: dict[str, Any]) -> Generator:
    return Generator(**{k: int(params[k]) for k in ("z_dim", "channels", "width", "image_size")},
                     categories=int(params.get("categories", 0)), temperature=float(params.get("temperature", 1.0)))


ARCHITECTURES = [
    Architecture(id="gan.dcgan", family="gan", tasks=("generate",), build_network=build_generator, recipe=GanRecipe),
]
