"""Train one generative recipe directly (no trainer, no flips) on builtin:digits and score it.

A companion to ``digits_quality.py`` for tuning the VAE / RNN / GAN recipes: it calls
``recipe.train_step`` in a plain loop on the un-augmented 32x32 digits (the trainer flips
pictures horizontally, which mirrors digits), then scores 1,000 samples of the exported network
with the same classifier as ``digits_quality.py``. CPU time is process time on one thread.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/digits_recipe_direct.py vae \
        "dict(steps=1500, batch_size=64, lr=1e-3, width=32, latent_dim=16, kl_warmup=300)" [--grid out.png]
"""
from __future__ import annotations

import ast
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def main() -> int:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("family")
    parser.add_argument("config", help="TrainConfig fields as a Python dict literal or dict(...) call")
    parser.add_argument("--grid", default=None, help="save a 10x10 grid of samples here")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    os.environ.setdefault("IMGEN_HOME", tempfile.mkdtemp(prefix="imgen-bench-"))

    import torch

    import digits_quality as dq
    from imgen_desktop.core.config import TrainConfig
    from imgen_desktop.core.datasets import ImageDataset
    from imgen_desktop.core.models import for_training
    from imgen_desktop.core.models.base import Amp, to_uint8

    text = args.config.strip()
    fields = ast.literal_eval(text) if text.startswith("{") else {
        kw.arg: ast.literal_eval(kw.value) for kw in ast.parse(text, mode="eval").body.keywords
    }
    cfg = TrainConfig(family=args.family, task="generate", image_size=32, **fields)
    clf, acc = dq.train_classifier(args.seed)
    print(f"digit classifier: held-out accuracy {acc:.3f}")
    x = ImageDataset("builtin:digits", 32, "generate", channels=1)._cache.float().div(127.5).sub(1.0)
    torch.manual_seed(args.seed)
    device = torch.device("cpu")
    recipe = for_training(args.family, "generate").recipe(cfg, 1, device, Amp(device, False))
    gen = torch.Generator().manual_seed(args.seed)
    t0 = time.process_time()
    metrics = {}
    for step in range(cfg.steps):
        metrics = recipe.train_step(x[torch.randint(0, len(x), (cfg.batch_size,), generator=gen)], step)
    cpu = time.process_time() - t0
    net = recipe.export()[0]
    with torch.no_grad():
        z = torch.randn((1000, *net.latent_shape), generator=torch.Generator().manual_seed(7))
        images = to_uint8(net(z))
    score = dq.score_samples(clf, images)
    losses = {k: round(v, 4) for k, v in metrics.items() if k.startswith("loss")}
    print(f"{args.family} {fields}: {cfg.steps} steps, {cpu:.0f} s CPU; {losses}; confident "
          f"{score['confident_fraction']:.3f}; classes >=2%: {score['classes_ge_2pct']}/10; "
          f"histogram (confident) {score['histogram_confident']}")
    if args.grid:
        from PIL import Image

        from imgen_desktop.core.generate import make_grid

        grid = make_grid(images[:100], 10)
        Image.fromarray(grid[..., 0] if grid.shape[2] == 1 else grid).save(args.grid)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
