"""Training presets per family and task: ``quick`` / ``standard`` / ``quality`` (+ ``classic``).

``standard`` is the default. On ``builtin:digits`` at 32x32 each family's ``standard`` preset
finishes in 5-7 minutes on two idle CPU cores (GAN 5.4, VAE 5.2, DRAW 6.7), inside the
10-minute budget, with 86-92 % of its samples clearly digits of all ten classes (figures:
``benchmarks/digits_quality.py`` in ``benchmarks/RESULTS.md``).
``classic`` (GAN, generate) is the Radford et al. DCGAN configuration: BCE loss, Adam 2e-4
with betas (0.5, 0.999), z = 100, width 64, batch 64, no EMA, no augmentation, and the loop of
the PyTorch DCGAN example (the G step reuses the D step's generated batch: ``reuse_fakes``).
"""
from __future__ import annotations

import dataclasses
from typing import Any

from imgen_desktop.core.config import ENHANCE_TASKS, TrainConfig
from imgen_desktop.core.errors import ImgenError

PRESETS = ("quick", "standard", "quality")
DEFAULT_PRESET = "standard"

# --- generate ----------------------------------------------------------------------------
_GAN_GENERATE = {
    "quick": dict(image_size=32, batch_size=64, steps=300, lr=2e-4, width=16, z_dim=64, gan_loss="nonsat",
                  spectral_norm=False, categories=0, temperature=1.0, reuse_fakes=False, ema=0.99, augment=False, beta1=0.5, beta2=0.999, sample_every=50,
                  checkpoint_every=100),
    # SNGAN's discriminator and loss (hinge, spectral norm, no batch norm in D, Adam betas
    # (0, 0.9)) with InfoGAN's 10-way categorical code, sampled at temperature 0.6 (the
    # truncation trick: the rarest digit, 1, is the least clear; 0.6 keeps it above 5 % of the
    # confident samples): measured on builtin:digits against the DCGAN-style nonsat + BN
    # recipe, 57 % -> 92 % confident samples (benchmarks/RESULTS.md)
    "standard": dict(image_size=32, batch_size=64, steps=3600, lr=2e-4, width=32, z_dim=64, gan_loss="hinge",
                     spectral_norm=True, categories=10, temperature=0.6, reuse_fakes=False, ema=0.995, augment=False, beta1=0.0, beta2=0.9, sample_every=200,
                     checkpoint_every=600),
    "quality": dict(image_size=32, batch_size=64, steps=6000, lr=2e-4, width=48, z_dim=64, gan_loss="hinge",
                    spectral_norm=True, categories=10, temperature=0.6, reuse_fakes=False, ema=0.999, augment=False, beta1=0.0, beta2=0.9, sample_every=250,
                    checkpoint_every=1000),
    "classic": dict(image_size=64, batch_size=64, steps=5000, lr=2e-4, width=64, z_dim=100, gan_loss="bce",
                    spectral_norm=False, categories=0, temperature=1.0, reuse_fakes=True, ema=0.0, augment=False, beta1=0.5, beta2=0.999, sample_every=250,
                    checkpoint_every=500),
}
_VAE_GENERATE = {
    "quick": dict(image_size=32, batch_size=64, steps=400, lr=1e-3, width=16, latent_dim=16, beta=1.0, kl_warmup=100, free_bits=0.0,
                  sample_every=50, checkpoint_every=100),
    "standard": dict(image_size=32, batch_size=64, steps=4000, lr=1e-3, width=32, latent_dim=8, beta=1.0, kl_warmup=300, free_bits=0.0,
                     sample_every=250, checkpoint_every=1000),
    "quality": dict(image_size=32, batch_size=64, steps=6000, lr=5e-4, width=64, latent_dim=64, beta=1.0, kl_warmup=1000, free_bits=0.05,
                    sample_every=300, checkpoint_every=1000),
}
_RNN_GENERATE = {
    "quick": dict(image_size=32, batch_size=64, steps=400, lr=1e-3, rnn_steps=8, rnn_hidden=128, latent_dim=10, clip_grad=5.0,
                  sample_every=50, checkpoint_every=100),
    "standard": dict(image_size=32, batch_size=64, steps=3000, lr=1e-3, rnn_steps=10, rnn_hidden=256, latent_dim=16, clip_grad=5.0,
                     sample_every=250, checkpoint_every=600),
    "quality": dict(image_size=32, batch_size=64, steps=6000, lr=5e-4, rnn_steps=16, rnn_hidden=256, latent_dim=16, clip_grad=5.0,
                    sample_every=300, checkpoint_every=1000),
}

# --- enhancement (upscale / denoise / inpaint); image_size = clean training patch size -----
_ENHANCE = {
    "gan": {
        "quick": dict(image_size=48, batch_size=16, steps=300, lr=2e-4, width=16, adv_weight=0.0, ema=0.0, sample_every=50, checkpoint_every=100),
        "standard": dict(image_size=64, batch_size=16, steps=2000, lr=2e-4, width=32, adv_weight=0.01, ema=0.0, sample_every=200, checkpoint_every=500),
        "quality": dict(image_size=96, batch_size=16, steps=10000, lr=2e-4, width=48, adv_weight=0.01, ema=0.0, sample_every=500, checkpoint_every=1000),
    },
    "vae": {
        "quick": dict(image_size=48, batch_size=16, steps=300, lr=5e-4, width=16, latent_dim=8, beta=0.1, kl_warmup=100, sample_every=50, checkpoint_every=100),
        "standard": dict(image_size=64, batch_size=16, steps=2000, lr=5e-4, width=32, latent_dim=8, beta=0.1, kl_warmup=300, sample_every=200, checkpoint_every=500),
        "quality": dict(image_size=96, batch_size=16, steps=10000, lr=3e-4, width=48, latent_dim=16, beta=0.1, kl_warmup=1000, sample_every=500, checkpoint_every=1000),
    },
    "rnn": {
        "quick": dict(image_size=48, batch_size=16, steps=300, lr=5e-4, width=16, rnn_steps=3, clip_grad=1.0, sample_every=50, checkpoint_every=100),
        "standard": dict(image_size=64, batch_size=16, steps=2000, lr=5e-4, width=32, rnn_steps=4, clip_grad=1.0, sample_every=200, checkpoint_every=500),
        "quality": dict(image_size=96, batch_size=16, steps=10000, lr=3e-4, width=48, rnn_steps=6, clip_grad=1.0, sample_every=500, checkpoint_every=1000),
    },
}

_GENERATE = {"gan": _GAN_GENERATE, "vae": _VAE_GENERATE, "rnn": _RNN_GENERATE}


def _table(family: str, task: str) -> dict[str, dict[str, Any]]:
    if task == "generate":
        table = _GENERATE.get(family)
    elif task in ENHANCE_TASKS:
        table = _ENHANCE.get(family)
    else:
        table = None
    if table is None:
        raise ImgenError(f"no presets for {family.upper()} {task}")
    return table


def preset_names(family: str, task: str) -> list[str]:
    """The presets offered for a family and task, ``standard`` among them."""
    return list(_table(family, task).keys())


def preset_values(family: str, task: str, preset: str) -> dict[str, Any]:
    table = _table(family, task)
    if preset not in table:
        raise ImgenError(f"unknown preset {preset!r} for {family.upper()} {task}; choose one of {', '.join(table)}")
    return dict(table[preset])


def apply_preset(config: TrainConfig, preset: str) -> TrainConfig:
    """A new config with the preset's values for ``config.family`` / ``config.task``."""
    values = preset_values(config.family, config.task, preset)
    return dataclasses.replace(config, preset=preset, **values)


PARAM_HELP: dict[str, str] = {
    "family": "GAN: sharp samples, can be unstable. VAE: stable, smoother samples. RNN: builds the picture step by step.",
    "task": "generate new pictures, or learn to upscale, denoise or inpaint photos (self-supervised from your pictures).",
    "scale": "Upscaling factor (2 or 4).",
    "data": "A folder of pictures (searched recursively) or builtin:digits, builtin:faces, builtin:photos.",
    "preset": "quick: a first look in minutes; standard: the default; quality: longer, bigger networks.",
    "image_size": "Generate: the size of the pictures made (16-128 px). Enhancement: the size of the training patches.",
    "channels": "0 = from the data (1 if every picture is grayscale, else 3); 1 forces grayscale, 3 RGB.",
    "batch_size": "Pictures per step. Larger is smoother and faster per picture but needs more memory.",
    "steps": "Optimisation steps to train for.",
    "lr": "Learning rate. Lower it if losses jump or become NaN.",
    "seed": "Random seed: the same seed and settings give the same run.",
    "sample_every": "Show samples every N steps (0 = only at the end).",
    "checkpoint_every": "Save a resumable checkpoint every N steps (0 = only at the end or on stop).",
    "device": "Where to train: auto picks a CUDA GPU or Apple MPS when present, else the CPU.",
    "amp": "Mixed precision on CUDA GPUs (bf16 where supported, else fp16): faster, less memory.",
    "z_dim": "GAN: size of the random input vector.",
    "temperature": "GAN: the exported model scales its random input by this (the truncation trick; below 1 = cleaner, more typical pictures, less variety; 1 = as trained).",
    "reuse_fakes": "GAN: the generator step reuses the batch the discriminator just judged (one generator pass a step, as the classic DCGAN loop; faster, slightly different training).",
    "categories": "GAN: an InfoGAN categorical code with this many categories (0 = off): the generator draws separate groups of pictures instead of blends between them.",
    "width": "Base number of channels of the networks: larger learns more detail, trains slower.",
    "gan_loss": "GAN loss: nonsat (non-saturating, default), hinge, wgan-gp (gradient penalty), bce (classic DCGAN), relativistic (ESRGAN's relativistic average GAN; enhancement only).",
    "spectral_norm": "GAN: spectral normalisation in the discriminator (stabilises training).",
    "ema": "GAN: exponential moving average of the generator weights (0 = off); the average is exported.",
    "augment": "GAN: DiffAugment (colour, translation, cutout) for small datasets.",
    "adv_weight": "Enhancement GAN: weight of the adversarial loss against L1 (0 = plain L1).",
    "beta1": "Adam beta1 (0.5 is the DCGAN choice).",
    "beta2": "Adam beta2.",
    "latent_dim": "VAE / RNN: size of the latent code.",
    "beta": "VAE: weight of the KL term (lower = sharper reconstructions, less regular latent space).",
    "kl_warmup": "VAE: steps over which the KL weight ramps up from 0 (prevents posterior collapse).",
    "free_bits": "VAE: nats per latent dimension that are not penalised (prevents posterior collapse).",
    "rnn_steps": "RNN: number of recurrent steps (DRAW glimpses or refinement iterations).",
    "rnn_hidden": "RNN: size of the recurrent state.",
    "clip_grad": "Clip the gradient norm to this value (0 = off); guards against exploding gradients.",
    "noise_sigma": "Denoise: the strongest Gaussian noise (0-255 scale) seen in training.",
    "val_split": "Keep this share of the pictures out of training (0 = off) and measure the loss on them each "
                 "time samples are drawn: the validation curve. When it rises while the training loss falls, "
                 "the model is overfitting (the Health strip says so). The same pictures stay out on resume.",
    "camera_noise": "Denoise: also train on realistic camera noise (signal-dependent).",
}
