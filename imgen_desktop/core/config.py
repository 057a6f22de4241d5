"""Training configuration: one plain dataclass shared by the CLI, the GUI and the run folder."""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any

from imgen_desktop.core.tasks import ENHANCE_TASKS, FAMILIES, SCALES, TASKS  # noqa: F401 (re-exported)


@dataclass
class TrainConfig:
    family: str = "gan"
    task: str = "generate"
    scale: int = 2  # upscale only
    data: str = "builtin:digits"
    preset: str = "standard"
    image_size: int = 32  # generate: output size; enhancement: training patch size (high-res side)
    channels: int = 0  # 0 = from the data (1 if every image is grayscale, else 3)
    batch_size: int = 64
    steps: int = 2000
    lr: float = 2e-4
    seed: int = 0
    sample_every: int = 200  # 0 = never during the run
    checkpoint_every: int = 500  # 0 = never during the run (still at the end / stop)
    device: str = "auto"
    name: str = ""
    amp: bool = True  # mixed precision on CUDA (bf16 where supported, else fp16 + scaler)
    # --- GAN ---
    z_dim: int = 100
    width: int = 64  # base channel width of the networks (all families)
    gan_loss: str = "nonsat"  # nonsat | hinge | wgan-gp | bce (classic)
    spectral_norm: bool = False
    ema: float = 0.999  # 0 = no EMA
    augment: bool = False  # DiffAugment-style (colour, translation, cutout)
    adv_weight: float = 0.01  # enhancement GAN: adversarial weight (0 = plain L1)
    beta1: float = 0.5
    beta2: float = 0.999
    # --- VAE ---
    latent_dim: int = 32
    beta: float = 1.0
    kl_warmup: int = 500  # steps of linear KL warm-up (0 = none)
    free_bits: float = 0.0  # nats per latent dimension (0 = off)
    # --- RNN ---
    rnn_steps: int = 8  # DRAW glimpses / refinement unroll length
    rnn_hidden: int = 256
    clip_grad: float = 0.0  # 0 = off; the RNN presets switch it on
    # --- enhancement degradations ---
    noise_sigma: float = 50.0  # denoise: max Gaussian sigma (0-255 scale) sampled in training
    camera_noise: bool = True  # denoise: also train on realistic (Poisson-Gaussian) camera noise
    # free-form extras for experiments; kept in config.json
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "TrainConfig":
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    def validate(self) -> None:
        from imgen_desktop.core.errors import ImgenError

        if self.family not in FAMILIES:
            raise ImgenError(f"unknown family {self.family!r}; choose one of {', '.join(FAMILIES)}")
        if self.task not in TASKS:
            raise ImgenError(f"unknown task {self.task!r}; choose one of {', '.join(TASKS)}")
        if self.task == "upscale" and self.scale not in SCALES:
            raise ImgenError("--scale must be 2 or 4")
        if self.steps < 1:
            raise ImgenError("--steps must be at least 1")
        if self.batch_size < 1:
            raise ImgenError("--batch-size must be at least 1")
        if self.image_size < 8:
            raise ImgenError("--image-size must be at least 8")
        if not (self.lr > 0):
            raise ImgenError("--lr must be positive")
