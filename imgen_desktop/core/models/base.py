"""The contract between the one training loop (``core.trainer``) and each family x task.

A :class:`Recipe` owns its networks, optimizers and losses; the trainer owns the loop,
devices, AMP, checkpoints, events and the control token. Inference networks are plain
``nn.Module`` objects rebuilt from metadata by the registry (``core.models``):

* generative nets (task ``generate``): attribute ``latent_shape`` (tuple, without batch) and
  ``forward(z) -> images`` in [-1, 1], NCHW;
* enhancement nets (upscale/denoise/inpaint): ``forward(x) -> y`` with x, y in [0, 1], NCHW;
  inpaint nets take ``C + 1`` channels (masked image, mask) and return C channels.
  VAE nets also accept ``forward(x, generator=g)`` to sample a variation.
"""
from __future__ import annotations

import contextlib
from typing import Any, Iterator

import numpy as np
import torch
from torch import nn


class Amp:
    """Mixed precision for one device: bf16 autocast where supported, else fp16 + GradScaler."""

    def __init__(self, device: torch.device, enabled: bool = True, precision: str = "auto") -> None:
        """``precision``: auto (the above on CUDA when ``enabled``, fp32 elsewhere), fp32, or
        bf16 (autocast on CPU or CUDA, no scaler: bf16 has fp32's range)."""
        self.device = device
        self.enabled = bool(enabled and device.type == "cuda") if precision in ("auto", "", None) else precision == "bf16"
        self.enabled = self.enabled and device.type in ("cuda", "cpu")
        self.dtype = None
        self.scaler = None
        # torchrun: core.distributed averages the gradients over the processes here (else None)
        self.grad_sync = None
        if self.enabled and precision == "bf16":
            self.dtype = torch.bfloat16
        elif self.enabled:
            if torch.cuda.is_bf16_supported():
                self.dtype = torch.bfloat16
            else:
                self.dtype = torch.float16
                self.scaler = torch.amp.GradScaler("cuda")

    @contextlib.contextmanager
    def autocast(self) -> Iterator[None]:
        if self.enabled:
            with torch.autocast(device_type=self.device.type, dtype=self.dtype):
                yield
        else:
            yield

    def step(
        self,
        loss: torch.Tensor,
        optimizer: torch.optim.Optimizer,
        params: list[torch.nn.Parameter] | None = None,
        clip: float = 0.0,
        retain_graph: bool = False,
    ) -> torch.Tensor:
        """Backward, (unscale,) measure and optionally clip the gradient norm, step.

        Returns the global gradient norm *before* clipping (for health diagnostics) as a 0-d
        tensor on the device: reading it (``float``) is a host sync, left to whoever needs it.
        """
        optimizer.zero_grad(set_to_none=True)
        if self.scaler is not None:
            self.scaler.scale(loss).backward(retain_graph=retain_graph)
        else:
            loss.backward(retain_graph=retain_graph)
        if self.grad_sync is not None:  # before the unscale: every process sees the same inf/NaN
            self.grad_sync(optimizer)
        if self.scaler is not None:
            self.scaler.unscale_(optimizer)
        if params is None:
            params = [p for g in optimizer.param_groups for p in g["params"]]
        grads = [p for p in params if p.grad is not None]
        if clip and clip > 0:
            norm = torch.nn.utils.clip_grad_norm_(grads, clip)
        elif hasattr(torch.nn.utils, "get_total_norm"):  # measure only: no rescale by 1.0
            norm = torch.nn.utils.get_total_norm(grads)
        else:
            norm = torch.nn.utils.clip_grad_norm_(grads, float("inf"))
        if self.scaler is not None:
            self.scaler.step(optimizer)
            self.scaler.update()
        else:
            optimizer.step()
        return norm.detach()


def adam(params, lr: float, betas: tuple[float, float]) -> torch.optim.Optimizer:
    """Adam, fused where this torch and device have it (CPU and CUDA in torch >= 2.4), else the
    multi-tensor (foreach) version: one kernel per step instead of one per parameter."""
    params = list(params)
    try:
        return torch.optim.Adam(params, lr=lr, betas=betas, fused=True)
    except (RuntimeError, TypeError, ValueError):
        return torch.optim.Adam(params, lr=lr, betas=betas, foreach=True)


class Recipe:
    """One family x task training procedure. Subclasses set ``family`` and ``tasks``."""

    family: str = ""
    tasks: tuple[str, ...] = ()

    def __init__(self, config: Any, channels: int, device: torch.device, amp: Amp) -> None:
        self.config = config
        self.channels = channels
        self.device = device
        self.amp = amp

    # --- what the trainer needs -------------------------------------------------------
    def networks(self) -> dict[str, nn.Module]:
        raise NotImplementedError

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        raise NotImplementedError

    def train_step(self, batch: torch.Tensor, step: int) -> dict[str, float]:
        """One optimisation step on a batch of clean images in [-1, 1], NCHW, on ``device``.

        Returns scalar metrics named ``loss.*`` (and ``grad.*`` / ``lr`` if useful).
        """
        raise NotImplementedError

    @torch.no_grad()
    def sample(self, n: int, seed: int, real: torch.Tensor | None = None) -> dict[str, np.ndarray]:
        """Images to show, as ``kind -> uint8 (N, H, W, C)`` (see ``events.Samples``)."""
        raise NotImplementedError

    def diagnostics(self, real: torch.Tensor, step: int) -> dict[str, float]:
        """``health.*`` metrics computed at sample time (not on the hot path)."""
        return {}

    def validation(self, images: torch.Tensor) -> dict[str, float]:
        """The family's loss on clean images in [-1, 1] that it may never have trained on
        (held-out pictures), as ``{"loss": ..., <other names>: ...}``; {} = no such loss.

        Called at sample time by the trainer, which runs it under ``no_grad`` with the global
        random state forked and seeded (so the noise it draws is the same at every evaluation
        and the training's random stream is untouched), on held-out pictures and on as many
        training pictures: the two values are comparable, a widening gap is overfitting.
        """
        return {}

    def export(self) -> tuple[nn.Module, str, dict[str, Any]]:
        """``(inference network, architecture id, architecture hyper-parameters)``."""
        raise NotImplementedError

    # --- checkpointing (override to add EMA or other state) ----------------------------
    def extra_state(self) -> dict[str, Any]:
        return {}

    def load_extra_state(self, state: dict[str, Any]) -> None:
        pass

    def state_dict(self) -> dict[str, Any]:
        return {
            "networks": {k: v.state_dict() for k, v in self.networks().items()},
            "optimizers": {k: v.state_dict() for k, v in self.optimizers().items()},
            "extra": self.extra_state(),
            "scaler": self.amp.scaler.state_dict() if self.amp.scaler is not None else None,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for k, net in self.networks().items():
            net.load_state_dict(state["networks"][k])
        for k, opt in self.optimizers().items():
            opt.load_state_dict(state["optimizers"][k])
        self.load_extra_state(state.get("extra", {}))
        if self.amp.scaler is not None and state.get("scaler"):
            self.amp.scaler.load_state_dict(state["scaler"])


def to_uint8(images: torch.Tensor, value_range: tuple[float, float] = (-1.0, 1.0)) -> np.ndarray:
    """NCHW float tensor in ``value_range`` -> uint8 NHWC numpy array."""
    lo, hi = value_range
    x = ((images.detach().float() - lo) / (hi - lo)).clamp(0, 1)
    x = (x * 255.0 + 0.5).to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()
    return x
