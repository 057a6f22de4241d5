"""Training-health proof on real runs: which diagnostics turn bad, when, and on which runs.

Runs, on builtin:digits at 32x32 with each family's `quick` preset (CPU):
  gan-default        healthy GAN                               -> expect no warning
  vae-default        healthy VAE                               -> expect no warning, several active units
  vae-beta100        VAE with --beta 100 --kl-warmup 0          -> expect posterior collapse flagged early
  rnn-default        healthy DRAW (clipping on)                -> expect no warning
  rnn-explode        DRAW with --lr 5 --clip-grad 0             -> expect exploding gradients flagged
plus a GAN whose generator is forced to a constant picture     -> expect mode collapse flagged.

Usage:  .venv/bin/python benchmarks/health_proof.py [--steps N] [--only NAME ...]
Prints one line per run: Health events (step, key, state) and the last health.* values.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))


RUNS = {
    "gan-default": ("gan", {}),
    "vae-default": ("vae", {}),
    "vae-beta100": ("vae", {"beta": 100.0, "kl_warmup": 0}),
    "rnn-default": ("rnn", {}),
    "rnn-explode": ("rnn", {"lr": 5.0, "clip_grad": 0.0}),
}


def run_one(name: str, family: str, overrides: dict, steps: int | None) -> None:
    from imgen_desktop.core.config import TrainConfig
    from imgen_desktop.core.events import Finished, Health, Metrics
    from imgen_desktop.core.presets import apply_preset
    from imgen_desktop.core.trainer import train

    cfg = apply_preset(TrainConfig(family=family, task="generate", data="builtin:digits"), "quick")
    cfg.name, cfg.image_size, cfg.checkpoint_every = name, 32, 0
    cfg.sample_every = max(10, (steps or cfg.steps) // 10)
    if steps:
        cfg.steps = steps
    for key, value in overrides.items():
        setattr(cfg, key, value)
    events: list = []
    start = time.perf_counter()
    result = train(cfg, events.append)
    took = time.perf_counter() - start
    health = [(e.step, e.key, e.state) for e in events if isinstance(e, Health)]
    last = {}
    for e in events:
        if isinstance(e, Metrics):
            last.update({k: round(v, 4) for k, v in e.values.items() if k.startswith("health.")})
    status = "finished" if isinstance(result, Finished) else f"failed: {result.message}"
    print(f"{name:<12} {cfg.steps:>5} steps {took:6.0f} s  {status}")
    print(f"    health events: {health or 'none'}")
    print(f"    last values:   {last}")


def forced_collapse() -> None:
    import torch

    from imgen_desktop.core import health, models
    from imgen_desktop.core.config import TrainConfig
    from imgen_desktop.core.datasets import ImageDataset
    from imgen_desktop.core.models.base import Amp

    cfg = TrainConfig(family="gan", image_size=32, width=32, z_dim=64)
    data = ImageDataset("builtin:digits", 32, "generate", 0)
    recipe = models.for_training("gan", "generate").recipe(cfg, data.channels, torch.device("cpu"), Amp(torch.device("cpu"), False))
    recipe.G.register_forward_hook(lambda _m, _i, out: torch.zeros_like(out) + 0.2)
    real = data.fixed_batch(64, torch.device("cpu"))
    monitor = health.HealthMonitor("gan")
    events = []
    for step in (200, 400, 600):
        values = recipe.diagnostics(real, step)
        events += [(e.step, e.key, e.state) for e in monitor.update(step, values)]
    print(f"gan-constant  diversity {values['health.diversity']:.4f}; health events: {events}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=None, help="override every run's steps")
    parser.add_argument("--only", nargs="*", default=None)
    args = parser.parse_args()
    os.environ.setdefault("IMGEN_HOME", tempfile.mkdtemp(prefix="imgen-health-"))
    import torch

    torch.set_num_threads(max(1, os.cpu_count() or 1))
    for name, (family, overrides) in RUNS.items():
        if args.only is None or name in args.only:
            run_one(name, family, overrides, args.steps)
    if args.only is None or "gan-constant" in args.only:
        forced_collapse()


if __name__ == "__main__":
    main()
