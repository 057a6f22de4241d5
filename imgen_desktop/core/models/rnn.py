"""DRAW (Gregor et al. 2015): a recurrent VAE that paints an image onto a canvas over T steps.

At each step an encoder LSTM reads the image and the error of the current canvas (a
non-attentive read of the whole image), a latent ``z_t`` is drawn from ``q(z_t | h_enc)``, and
a decoder LSTM turns ``z_t`` into a linear write added to the canvas. Reads, writes and the
canvas live at the image size up to 32 px (bilinearly upsampled above that), which keeps every
step a few matrix products: fast enough to train on a laptop CPU.
Loss = Bernoulli reconstruction of the final canvas (BCE on logits, [0, 1] targets) + the KL of
every step against N(0, I) summed over steps, both in nats per pixel-channel (see
``vae.bernoulli_nll``), so the gradient-clipping threshold does not depend on the image size.

The exported generator (:class:`DrawGenerator`) holds only the decoder LSTM and the write:
``forward(z)`` with ``z`` of shape ``(B, T, z_dim)`` returns the final canvas in [-1, 1];
``forward_steps(z)`` returns every step's canvas, ``(B, T, C, H, W)``, for the build-up view.
"""
from __future__ import annotations

import copy
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from imgen_desktop.core.models import Architecture
from imgen_desktop.core.models.base import Recipe, adam, to_uint8
from imgen_desktop.core.models.prior import CodeMemory, SubspaceMixture, fit_subspace_mixture, preview_codes
from imgen_desktop.core.models.vae import _levels, bernoulli_nll, gaussian_kl


def _grid(size: int) -> int:
    """Resolution of DRAW's canvas, reads and writes: the image size, at most 32."""
    _levels(size)  # validates the size
    return min(int(size), 32)


class CanvasRead(nn.Module):
    """Image and canvas error at the canvas grid -> a feature vector ``(B, hidden)``."""

    def __init__(self, channels: int, grid: int, hidden: int) -> None:
        super().__init__()
        self.fc = nn.Linear(2 * channels * grid * grid, hidden)

    def forward(self, x_grid: torch.Tensor, err: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.fc(torch.cat([x_grid.flatten(1), err.flatten(1)], 1)))


class DrawGenerator(nn.Module):
    """Decoder LSTM + canvas write: latents ``(B, T, z_dim)`` -> images in [-1, 1].

    The canvas lives at ``grid`` resolution (the image size, at most 32 px) and each write is
    a linear map of the decoder state onto it; larger images are the canvas upsampled
    bilinearly (DRAW without attention is a coarse painter at 64 and 128 px).
    """

    def __init__(self, size: int = 32, channels: int = 1, z_dim: int = 16, hidden: int = 256,
                 steps: int = 8, prior_components: int = 0, prior_dims: int = 0) -> None:
        super().__init__()
        self.size, self.channels, self.z_dim = int(size), int(channels), int(z_dim)
        self.hidden, self.steps = int(hidden), int(steps)
        self.grid = _grid(self.size)
        self.latent_shape = (self.steps, self.z_dim)
        self.prior_components = int(prior_components)
        if self.prior_components:  # the fitted prior: a flat latent with one more coordinate
            total = self.steps * self.z_dim
            self.prior = SubspaceMixture(total, self.prior_components, max(1, min(int(prior_dims), total)))
            self.latent_shape = (total + 1,)
        self.dec = nn.LSTMCell(self.z_dim, self.hidden)
        self.write = nn.Linear(self.hidden, self.channels * self.grid * self.grid)
        nn.init.normal_(self.write.weight, std=0.01)  # start from small writes
        nn.init.zeros_(self.write.bias)
        self.canvas0 = nn.Parameter(torch.zeros(1, self.channels * self.grid * self.grid))

    def initial_state(self, batch: int, device, dtype=torch.float32):
        zeros = torch.zeros(batch, self.hidden, device=device, dtype=dtype)
        return zeros, zeros.clone(), self.canvas0.expand(batch, -1)

    def to_logits(self, canvas: torch.Tensor) -> torch.Tensor:
        """Flat grid canvas ``(B, C*g*g)`` -> image logits ``(B, C, S, S)``."""
        img = canvas.view(canvas.shape[0], self.channels, self.grid, self.grid)
        if self.grid != self.size:
            img = F.interpolate(img, size=(self.size, self.size), mode="bilinear", align_corners=False)
        return img

    def canvases(self, z: torch.Tensor) -> list[torch.Tensor]:
        """Every step's (flat, grid-resolution) canvas logits for latents ``(B, T, z_dim)``."""
        h, c, canvas = self.initial_state(z.shape[0], z.device, z.dtype)
        out = []
        for t in range(z.shape[1]):
            h, c = self.dec(z[:, t], (h, c))
            canvas = canvas + self.write(h)
            out.append(canvas)
        return out

    @property
    def interpolate_in_codes(self) -> bool:
        return bool(self.prior_components)

    def code(self, latent: torch.Tensor) -> torch.Tensor:
        """Standard-normal latents -> the glimpses' codes ``(B, T, z_dim)`` (the fitted prior's
        sample when the model has one, else the latents themselves)."""
        if not self.prior_components:
            return latent
        return self.prior(latent).view(latent.shape[0], self.steps, self.z_dim)

    def decode(self, code: torch.Tensor) -> torch.Tensor:
        return torch.tanh(0.5 * self.to_logits(self.canvases(code)[-1]))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.decode(self.code(z))

    def forward_steps(self, z: torch.Tensor) -> torch.Tensor:
        """``(B, T, C, H, W)``: the canvas after each step, in [-1, 1]."""
        steps = [torch.tanh(0.5 * self.to_logits(c)) for c in self.canvases(self.code(z))]
        return torch.stack(steps, dim=1)


class Draw(nn.Module):
    """The training model: encoder (read + LSTM + q(z|h)) around a :class:`DrawGenerator`."""

    def __init__(self, size: int, channels: int, z_dim: int, hidden: int, steps: int) -> None:
        super().__init__()
        self.generator = DrawGenerator(size, channels, z_dim, hidden, steps)
        self.read = CanvasRead(channels, self.generator.grid, hidden)
        self.enc = nn.LSTMCell(2 * hidden, hidden)
        self.q = nn.Linear(hidden, 2 * z_dim)

    def forward(self, x: torch.Tensor, keep_states: bool = False, means: list | None = None, sample: bool = True):
        """Images in [-1, 1] -> (final image logits, KL per image summed over steps, h_dec list);
        each step's posterior mean is appended to ``means`` when given; ``sample=False`` feeds
        the decoder the posterior means instead of samples (the pictures' deterministic codes)."""
        gen = self.generator
        batch = x.shape[0]
        x01 = (x + 1.0) * 0.5
        if gen.grid != gen.size:
            x01 = F.adaptive_avg_pool2d(x01, gen.grid)
        x01 = x01.flatten(1)
        h_dec, c_dec, canvas = gen.initial_state(batch, x.device, x.dtype)
        h_enc, c_enc = torch.zeros_like(h_dec), torch.zeros_like(h_dec)
        kl = x.new_zeros(batch, dtype=torch.float32)
        states = []
        for _ in range(gen.steps):
            r = self.read(x01, x01 - torch.sigmoid(canvas))
            h_enc, c_enc = self.enc(torch.cat([r, h_dec], 1), (h_enc, c_enc))
            mu, logvar = self.q(h_enc).chunk(2, dim=1)
            mu, logvar = mu.float(), logvar.float().clamp(-30.0, 20.0)
            if means is not None:
                means.append(mu.detach())
            z = mu + torch.randn_like(mu) * (0.5 * logvar).exp() if sample else mu
            kl = kl + gaussian_kl(mu, logvar).sum(1)
            h_dec, c_dec = gen.dec(z.to(h_dec.dtype), (h_dec, c_dec))
            if keep_states:
                states.append(h_dec)
            canvas = canvas + gen.write(h_dec)
        return gen.to_logits(canvas), kl, states


def build_network(params: dict[str, Any]) -> DrawGenerator:
    return DrawGenerator(
        size=int(params.get("size", 32)),
        channels=int(params.get("channels", 1)),
        z_dim=int(params.get("z_dim", 16)),
        hidden=int(params.get("hidden", 256)),
        steps=int(params.get("steps", 8)),
        prior_components=int(params.get("prior_components", 0)),
        prior_dims=int(params.get("prior_dims", 0)),
    )


class DrawRecipe(Recipe):
    family = "rnn"
    tasks = ("generate",)

    def __init__(self, config: Any, channels: int, device: torch.device, amp) -> None:
        super().__init__(config, channels, device, amp)
        self.steps = max(1, int(config.rnn_steps))
        self.model = Draw(config.image_size, channels, config.latent_dim, config.rnn_hidden,
                          self.steps).to(device)
        self.opt = adam(self.model.parameters(), lr=config.lr, betas=(0.9, 0.999))
        self.sample_columns = {"canvas": self.steps}
        extra = config.extra if isinstance(config.extra, dict) else {}
        self.fitted_prior = bool(extra.get("fitted_prior", True))
        # the posterior means of every glimpse for the last training pictures, for the fitted prior
        self.memory = CodeMemory(self.steps * int(config.latent_dim), device)
        self._norms: list[float] = []
        self._clipped: list[int] = []

    def networks(self) -> dict[str, nn.Module]:
        return {"rnn": self.model}

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"rnn": self.opt}

    def loss(self, batch: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        with self.amp.autocast():
            logits, kl, _ = self.model(batch)
        recon = bernoulli_nll(logits, (batch.float() + 1.0) * 0.5)
        kl = kl.mean() / float(batch[0].numel())
        return recon + kl, recon, kl

    def train_step(self, batch: torch.Tensor, step: int) -> dict[str, float]:
        self.model.train()
        total, recon, kl = self.loss(batch)
        clip = float(self.config.clip_grad)
        norm = self.amp.step(total, self.opt, clip=clip)
        clipped = (norm > clip).float() if clip > 0 else torch.zeros((), device=norm.device)
        if self.fitted_prior and step % 4 == 0:
            self._remember_codes(batch)
        self._norms.append(norm)
        self._clipped.append(clipped)
        del self._norms[:-1000], self._clipped[:-1000]
        return {  # device tensors, read at the trainer's metrics interval
            "loss.total": total.detach(),
            "loss.recon": recon.detach(),
            "loss.kl": kl.detach(),
            "grad.rnn": norm,
            "clipped": clipped,
            "lr": float(self.opt.param_groups[0]["lr"]),
        }

    @torch.no_grad()
    def _remember_codes(self, batch: torch.Tensor) -> None:
        """The deterministic codes (every glimpse's posterior mean, the decoder fed the means)
        of the batch, every fourth step: the fitted prior is fitted to these. Codes of the
        sampled chain are noisier and their mixture draws fewer clear digits (78-80 % vs 84-88 %
        confident, benchmarks/RESULTS.md). One no-grad forward every fourth step costs under
        10 % (a quarter batch every step cost 50 %: DRAW's small steps are per-op overhead)."""
        means: list = []
        with self.amp.autocast():
            self.model(batch, means=means, sample=False)
        self.memory.remember(torch.stack(means, 1))

    @torch.no_grad()
    def sample(self, n: int, seed: int, real: torch.Tensor | None = None) -> dict[str, np.ndarray]:
        gen = self.model.generator
        was_training = self.model.training
        self.model.eval()
        try:
            g = torch.Generator().manual_seed(int(seed))
            codes = preview_codes(self.memory, n, g) if self.fitted_prior else None
            if codes is not None:  # what the exported model's fitted prior will draw, roughly
                codes = codes.view(n, self.steps, -1).to(self.device)
                steps = torch.stack([torch.tanh(0.5 * gen.to_logits(c)) for c in gen.canvases(codes)], dim=1)
            else:
                z = torch.randn((n, *gen.latent_shape), generator=g).to(self.device)
                steps = gen.forward_steps(z)  # (n, T, C, H, W)
            # T samples x T steps when T <= 16: the grid is square, so even a square-ish layout
            # (columns=0) puts one sample's build-up on each row; ``sample_columns`` says T anyway
            shown = steps[: min(self.steps, n, 16)]
            return {
                "samples": to_uint8(steps[:, -1]),
                "canvas": to_uint8(shown.flatten(0, 1)),  # row i: sample i after steps 1..T
            }
        finally:
            self.model.train(was_training)

    def grad_ratio(self, real: torch.Tensor) -> float:
        """Gradient norm of the loss reaching the first decoder state over that at the last one."""
        if self.steps < 2:
            return 1.0
        was_training = self.model.training
        self.model.eval()
        try:
            with torch.enable_grad():
                logits, kl, states = self.model(real.to(self.device).float(), keep_states=True)
                loss = bernoulli_nll(logits, (real.to(self.device).float() + 1.0) * 0.5) + kl.mean() / real[0].numel()
                first, last = torch.autograd.grad(loss, [states[0], states[-1]])
            return float(first.norm() / last.norm().clamp_min(1e-12))
        finally:
            self.model.train(was_training)

    def diagnostics(self, real: torch.Tensor, step: int) -> dict[str, float]:
        out: dict[str, float] = {}
        if self._norms:
            # the largest norm since the last evaluation: explosions are spikes, a mean hides them
            norms = torch.stack([torch.as_tensor(n, dtype=torch.float32) for n in self._norms]).cpu()
            out["health.grad_norm"] = float(norms.max())
            out["health.grad_norm_mean"] = float(norms.mean())
            out["health.clip_fraction"] = float(torch.stack([torch.as_tensor(c, dtype=torch.float32) for c in self._clipped]).cpu().mean())
            self._norms, self._clipped = [], []
        if real is not None and len(real) > 0:
            out["health.grad_ratio"] = self.grad_ratio(real[:64])
        return out

    def validation(self, images: torch.Tensor) -> dict[str, float]:
        """DRAW's own loss (reconstruction + KL summed over the glimpses, per pixel-channel)."""
        was_training = self.model.training
        self.model.eval()
        try:
            total, recon, _kl = self.loss(images.to(self.device).float())
            return {"loss": float(total), "recon": float(recon)}
        finally:
            self.model.train(was_training)

    def extra_state(self) -> dict[str, Any]:
        return self.memory.state()

    def load_extra_state(self, state: dict[str, Any]) -> None:
        self.memory.load(state)

    def export(self) -> tuple[nn.Module, str, dict[str, Any]]:
        gen = copy.deepcopy(self.model.generator).cpu().eval()
        params = {"size": gen.size, "channels": gen.channels, "z_dim": gen.z_dim, "hidden": gen.hidden,
                  "steps": gen.steps}
        fitted = fit_subspace_mixture(self.memory.recent().double().numpy(), seed=int(self.config.seed)) if self.fitted_prior else None
        if fitted is not None:
            k, r = len(fitted["weights"]), fitted["means"].shape[1]
            params.update(prior_components=k, prior_dims=r)
            with_prior = DrawGenerator(gen.size, gen.channels, gen.z_dim, gen.hidden, gen.steps, prior_components=k, prior_dims=r)
            with_prior.load_state_dict(gen.state_dict(), strict=False)
            with_prior.prior.set(fitted)
            gen = with_prior.eval()
        return gen, "rnn.draw", params


ARCHITECTURES = [Architecture("rnn.draw", "rnn", ("generate",), build_network, DrawRecipe)]
