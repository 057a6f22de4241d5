"""Training configuration: one plain dataclass shared by the CLI, the GUI and the run folder."""
from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from typing import Any

from imgen_desktop.core.tasks import ENHANCE_TASKS, FAMILIES, SCALES, TASKS  # noqa: F401 (re-exported)


# The one table of bounds for every numeric option: TrainConfig.validate (the GUI, the queue,
# a resumed run) and the CLI (train and generate) check against it. ``option`` is the CLI flag
# each bound is reported with. Limits are far above anything useful and far below what would
# exhaust memory or overflow a library (torch seeds are 64-bit, a grid of -n images is kept in memory).
@dataclass(frozen=True)
class Bound:
    lo: float
    hi: float
    whole: bool = True
    lo_open: bool = False  # lo itself is not allowed (a learning rate of 0)

    def check(self, option: str, value: Any) -> None:
        from imgen_desktop.core.errors import ImgenError

        kind = "a whole number" if self.whole else "a number"
        if isinstance(value, bool) or not isinstance(value, (int, float)) or (self.whole and not isinstance(value, int)):
            raise ImgenError(f"{option} must be {kind}, not {value!r}")
        if not math.isfinite(value) or value < self.lo or value > self.hi or (self.lo_open and value == self.lo):
            low = f"above {_num(self.lo)}" if self.lo_open else f"at least {_num(self.lo)}"
            raise ImgenError(f"{option} must be {low} and at most {_num(self.hi)}, not {_num(value)}")


def _num(value: float) -> str:
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer() and abs(value) < 1e15):
        text = str(int(value))
        return text if len(text) <= 24 else text[:10] + f"... ({len(text)} digits)"
    return f"{value:g}"


# The GAN losses: the first four for every GAN task; "relativistic" (ESRGAN's relativistic
# average GAN) only for the enhancement GANs (upscale / denoise / inpaint). The CLI's --loss
# choices come from here.
GAN_LOSS_CHOICES = ("nonsat", "hinge", "wgan-gp", "bce", "relativistic")
ENHANCE_ONLY_GAN_LOSSES = ("relativistic",)

MAX_SEED = 2**63 - 1
TRAIN_BOUNDS: dict[str, Bound] = {
    "scale": Bound(1, 4),
    "image_size": Bound(8, 1024),
    "channels": Bound(0, 3),
    "batch_size": Bound(1, 4096),
    "steps": Bound(1, 100_000_000),
    "lr": Bound(0, 10, whole=False, lo_open=True),
    "seed": Bound(0, MAX_SEED),
    "sample_every": Bound(0, 100_000_000),
    "checkpoint_every": Bound(0, 100_000_000),
    "z_dim": Bound(1, 4096),
    "categories": Bound(0, 256),
    "temperature": Bound(0.05, 4.0, whole=False),
    "width": Bound(1, 1024),
    "ema": Bound(0, 1, whole=False),
    "adv_weight": Bound(0, 1000, whole=False),
    "beta1": Bound(0, 1, whole=False),
    "beta2": Bound(0, 1, whole=False),
    "latent_dim": Bound(1, 4096),
    "beta": Bound(0, 1000, whole=False),
    "kl_warmup": Bound(0, 100_000_000),
    "free_bits": Bound(0, 100, whole=False),
    "rnn_steps": Bound(1, 64),
    "rnn_hidden": Bound(1, 4096),
    "clip_grad": Bound(0, 1e6, whole=False),
    "noise_sigma": Bound(0, 255, whole=False),
    "val_split": Bound(0, 0.5, whole=False),
}
EXTRA_BOUNDS: dict[str, Bound] = {"blocks": Bound(0, 64), "dec_blocks": Bound(0, 64), "gp_weight": Bound(0, 1e6, whole=False)}
GENERATE_BOUNDS: dict[str, Bound] = {"n": Bound(1, 4096), "seed": Bound(0, MAX_SEED)}


def option_name(field_name: str) -> str:
    """``image_size`` -> ``--image-size`` (the CLI flag a bound is reported with)."""
    return {"gan_loss": "--loss", "n": "-n"}.get(field_name, "--" + field_name.replace("_", "-"))


def check_bounds(values: dict[str, Any], bounds: dict[str, Bound]) -> None:
    """ImgenError (one sentence) for the first value outside its bound."""
    for key, bound in bounds.items():
        if key in values and values[key] is not None:
            bound.check(option_name(key), values[key])


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
    precision: str = "auto"  # auto (AMP on CUDA, fp32 on CPU) | fp32 | bf16 (autocast, CPU or CUDA; opt-in, see benchmarks)
    # share of the pictures held out for a validation loss at sample time (0 = off, the default:
    # a run trains on every picture the user gave unless asked otherwise; at most half)
    val_split: float = 0.0
    # --- GAN ---
    z_dim: int = 100
    categories: int = 0  # GAN generate: InfoGAN categorical code with this many categories (0 = off)
    temperature: float = 1.0  # GAN generate: scale of the exported model's continuous latent (truncation trick)
    reuse_fakes: bool = False  # GAN generate: the G step reuses the D step's fakes (the DCGAN example's loop)
    width: int = 64  # base channel width of the networks (all families)
    gan_loss: str = "nonsat"  # nonsat | hinge | wgan-gp | bce (classic) | relativistic (enhancement)
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

        from imgen_desktop.core.paths import safe_name

        if self.family not in FAMILIES:
            raise ImgenError(f"unknown family {self.family!r}; choose one of {', '.join(FAMILIES)}")
        if self.task not in TASKS:
            raise ImgenError(f"unknown task {self.task!r}; choose one of {', '.join(TASKS)}")
        if self.task == "upscale" and self.scale not in SCALES:
            raise ImgenError("--scale must be 2 or 4")
        check_bounds(self.to_dict(), TRAIN_BOUNDS)
        if self.channels not in (0, 1, 3):
            raise ImgenError("--channels must be 1 or 3")
        for key in ("data", "device", "name", "gan_loss", "preset"):
            if not isinstance(getattr(self, key), str):
                raise ImgenError(f"{option_name(key)} must be text, not {getattr(self, key)!r}")
        if self.family == "gan" and self.gan_loss in ENHANCE_ONLY_GAN_LOSSES and self.task == "generate":
            raise ImgenError(f"--loss {self.gan_loss} is for the enhancement tasks (upscale, denoise, inpaint); "
                             "for generate choose nonsat, hinge, wgan-gp or bce")
        if not isinstance(self.extra, dict):
            raise ImgenError("the run's extra settings must be an object")
        for key, bound in EXTRA_BOUNDS.items():  # the extras that size a network
            if key in self.extra:
                bound.check(f"extra setting {key}", self.extra[key])
        if self.precision not in ("auto", "fp32", "bf16"):
            raise ImgenError(f"unknown precision {self.precision!r}; choose auto, fp32 or bf16")
        if self.name:
            self.name = safe_name(self.name, "run")
