"""Digits quality benchmark: each family's ``standard`` preset on builtin:digits at 32x32.

For every generative family in the registry (or those named with --families) this script

1. trains the family's ``standard`` preset on ``builtin:digits`` at 32x32 (wall time measured),
2. samples 1,000 pictures from the exported model,
3. scores them with a small CNN digit classifier trained here on the real digits (the same
   32x32 upscaling the trainer uses; 20% held out, accuracy reported):
   the fraction of confident samples (max softmax > 0.9), the class histogram over the ten
   digits (all ten present = no collapse to a few modes), and how many classes get >= 2% of the
   confident samples;
4. the Fréchet distance between the classifier's penultimate features (the 128 ReLU units
   before the last layer) of the 1,000 samples and of the held-out real digits, printed next to
   the same distance between 1,000 real digits of the classifier's training split and the same
   held-out digits ("real vs real": what a perfect generator would score with these sample sizes).

    .venv/bin/python benchmarks/digits_quality.py [--families gan vae rnn] [--steps N] [--home DIR]

Results are recorded in benchmarks/RESULTS.md.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time

import numpy as np


def build_classifier():
    import torch
    from torch import nn

    return nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # 16
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # 8
        nn.Conv2d(64, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # 4
        nn.Flatten(), nn.Dropout(0.3), nn.Linear(64 * 16, 128), nn.ReLU(), nn.Linear(128, 10),
    )


def train_classifier(seed: int = 0, epochs: int = 10):
    """A digit classifier on the real digits at 32x32; returns (model, held-out accuracy, real
    digits of the training split, held-out real digits) with the digits in [-1, 1]."""
    import torch
    import torch.nn.functional as F

    from imgen_desktop.core.datasets import ImageDataset
    from imgen_desktop.core.paths import resource_path

    ds = ImageDataset("builtin:digits", 32, "generate", channels=1)
    x = ds._cache.float().div(127.5).sub(1.0)  # N,1,32,32 in the npz order, [-1, 1] like the samples
    y = torch.from_numpy(np.load(resource_path("data", "digits.npz"))["labels"]).long()
    g = torch.Generator().manual_seed(seed)
    perm = torch.randperm(len(x), generator=g)
    n_test = len(x) // 5
    test, tr = perm[:n_test], perm[n_test:]
    torch.manual_seed(seed)
    np.random.seed(seed)
    model = build_classifier()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    for _ in range(epochs):
        model.train()
        order = tr[torch.randperm(len(tr), generator=g)]
        for i in range(0, len(order), 64):
            idx = order[i : i + 64]
            xb = x[idx]
            # small random shifts so generated digits that sit a pixel off still count
            dy, dx = np.random.randint(-2, 3, 2)
            xb = torch.roll(xb, shifts=(int(dy), int(dx)), dims=(2, 3))
            loss = F.cross_entropy(model(xb), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    model.eval()
    with torch.no_grad():
        acc = float((model(x[test]).argmax(1) == y[test]).float().mean())
    return model, acc, x[tr], x[test]


def features(model, x) -> np.ndarray:
    """The classifier's penultimate activations (N, 128) for digits ``x`` in [-1, 1]."""
    import torch

    with torch.no_grad():
        return model[:-1](x).double().numpy()


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """||mu_a - mu_b||^2 + Tr(S_a + S_b - 2 (S_a S_b)^1/2) of two feature sets (rows = samples).

    The trace of the matrix square root is the sum of the square roots of the eigenvalues of
    S_a S_b (real and >= 0 for two covariance matrices; rounding noise is clipped)."""
    mu_a, mu_b = a.mean(0), b.mean(0)
    s_a, s_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    eig = np.linalg.eigvals(s_a @ s_b).real.clip(min=0)
    return float(((mu_a - mu_b) ** 2).sum() + np.trace(s_a) + np.trace(s_b) - 2 * np.sqrt(eig).sum())


def to_classifier_input(images_u8: np.ndarray):
    import torch

    x = torch.from_numpy(images_u8).float().permute(0, 3, 1, 2).div(127.5).sub(1.0)
    return x.mean(1, keepdim=True) if x.shape[1] == 3 else x


def score_samples(model, images_u8: np.ndarray, held_out_features: np.ndarray | None = None) -> dict:
    import torch

    x = to_classifier_input(images_u8)
    with torch.no_grad():
        probs = torch.softmax(model(x), dim=1)
    conf, cls = probs.max(1)
    confident = conf > 0.9
    hist = np.bincount(cls[confident].numpy(), minlength=10)
    all_hist = np.bincount(cls.numpy(), minlength=10)
    n_conf = int(confident.sum())
    return {
        "confident_fraction": n_conf / len(x),
        "histogram_confident": hist.tolist(),
        "histogram_all": all_hist.tolist(),
        "classes_present": int((hist > 0).sum()),
        "classes_ge_2pct": int((hist >= max(1, 0.02 * n_conf)).sum()),
        "largest_class_share": float(hist.max() / max(1, n_conf)),
        "frechet": None if held_out_features is None else frechet_distance(features(model, x), held_out_features),
    }


def run_family(family: str, steps: int | None, seed: int) -> dict:
    from imgen_desktop.core.config import TrainConfig
    from imgen_desktop.core.generate import load_generator
    from imgen_desktop.core.presets import apply_preset
    from imgen_desktop.core.trainer import train

    config = apply_preset(TrainConfig(family=family, task="generate", data="builtin:digits"), "standard")
    config.image_size = 32
    config.seed = seed
    config.device = "cpu"
    config.name = f"bench-{family}-digits"
    if steps:
        config.steps = steps
    last = {}

    def on_event(event):
        kind = type(event).__name__
        if kind == "Progress" and (event.step % 100 == 0 or event.step == event.total):
            print(f"  [{family}] step {event.step}/{event.total}  {event.images_per_s:.0f} img/s", file=sys.stderr, flush=True)
        elif kind == "Metrics":
            last.update(event.values)
        elif kind in ("Log", "Health", "Failed"):
            print(f"  [{family}] {event}", file=sys.stderr, flush=True)

    import signal

    from imgen_desktop.core.control import ControlToken

    token = ControlToken()
    previous = signal.signal(signal.SIGINT, lambda *a: token.stop())  # Ctrl+C: stop, export, score what we have
    t0, c0 = time.perf_counter(), time.process_time()
    try:
        result = train(config, on_event, token)
    finally:
        signal.signal(signal.SIGINT, previous)
    wall = time.perf_counter() - t0
    cpu = time.process_time() - c0
    if type(result).__name__ != "Finished":
        return {"family": family, "error": result.message, "wall_s": wall}
    gen = load_generator(result.model_path)
    images = gen.sample(1000, seed=7)
    return {"family": family, "steps": result.step, "preset_steps": config.steps, "stopped_early": result.stopped_early,
            "wall_s": wall, "cpu_s": cpu, "preset": config.to_dict(), "final_metrics": last, "images": images}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--families", nargs="*", default=None)
    parser.add_argument("--steps", type=int, default=None, help="override the preset's steps (for a quick look)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--home", default=None, help="IMGEN_HOME for the runs (default: a temporary folder)")
    parser.add_argument("--save-grids", default=None, help="folder for a 10x10 grid of each family's samples")
    args = parser.parse_args()
    os.environ["IMGEN_HOME"] = args.home or tempfile.mkdtemp(prefix="imgen-bench-")
    import torch

    from imgen_desktop.core import models as registry

    families = args.families or sorted({a.family for a in registry.architectures() if "generate" in a.tasks})
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, IMGEN_HOME={os.environ['IMGEN_HOME']}")
    t0 = time.perf_counter()
    # the classifier is quick to train (seconds) and deterministic from the seed: no cache
    clf, acc, real_train, real_test = train_classifier(args.seed)
    print(f"digit classifier: held-out accuracy {acc:.3f} ({time.perf_counter() - t0:.0f} s to train)")
    held = features(clf, real_test)
    pick = torch.randperm(len(real_train), generator=torch.Generator().manual_seed(args.seed))[:1000]
    real_fd = frechet_distance(features(clf, real_train[pick]), held)
    print(f"Fréchet distance in classifier features, real vs real ({len(pick)} training-split digits vs "
          f"{len(real_test)} held-out): {real_fd:.2f}")
    rows = []
    for family in families:
        res = run_family(family, args.steps, args.seed)
        if "error" in res:
            print(f"{family}: FAILED after {res['wall_s']:.0f} s: {res['error']}")
            rows.append(res)
            continue
        score = score_samples(clf, res["images"], held)
        score["frechet_real_vs_real"] = real_fd
        if args.save_grids:
            from PIL import Image

            from imgen_desktop.core.generate import make_grid

            os.makedirs(args.save_grids, exist_ok=True)
            grid = make_grid(res["images"][:100], 10)
            Image.fromarray(grid[..., 0] if grid.shape[2] == 1 else grid).save(os.path.join(args.save_grids, f"{family}_digits.png"))
        res.pop("images")
        res.update(score)
        rows.append(res)
        print(
            f"{family}: {res['steps']}/{res['preset_steps']} steps{' (stopped early)' if res['stopped_early'] else ''} "
            f"in {res['wall_s']:.0f} s wall ({res['wall_s'] / 60:.1f} min), {res['cpu_s']:.0f} s CPU; "
            f"confident {score['confident_fraction']:.3f}; classes present {score['classes_present']}/10 "
            f"(>=2%: {score['classes_ge_2pct']}); largest class share {score['largest_class_share']:.2f}; "
            f"histogram (confident) {score['histogram_confident']}; "
            f"Fréchet {score['frechet']:.2f} = {score['frechet'] / max(real_fd, 1e-9):.1f}x real-vs-real ({real_fd:.2f})"
        )
    print(json.dumps([{k: v for k, v in r.items() if k not in ("preset",)} for r in rows], indent=1, default=float))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
