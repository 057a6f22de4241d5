"""What a VAE's samples look like under different priors (issue 16): one ``standard`` VAE run on
builtin:digits at 32x32 with the fitted prior off, then 1,000 samples scored (as in
``digits_quality.py``) from N(0, I), N(0, t^2 I) for t = 0.9 / 0.8 / 0.7, one full-covariance
Gaussian and Gaussian mixtures of 10 / 20 / 40 components fitted to the posterior means of all
the digits (``core.models.vae.fit_gaussian_mixture``, what the exported model does by default
with the last 4,096 training pictures).

    PYTHONPATH=$PWD .venv/bin/python benchmarks/vae_priors.py [--steps 4000]
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=None)
    a = p.parse_args()
    os.environ.setdefault("IMGEN_HOME", tempfile.mkdtemp(prefix="imgen-priors-"))
    import numpy as np
    import torch

    import digits_quality as dq
    from imgen_desktop.core import trainer
    from imgen_desktop.core.config import TrainConfig
    from imgen_desktop.core.datasets import ImageDataset
    from imgen_desktop.core.generate import load_generator
    from imgen_desktop.core.models import vae
    from imgen_desktop.core.models.base import to_uint8
    from imgen_desktop.core.presets import apply_preset

    clf, _acc, _tr, real_test = dq.train_classifier(0)
    held = dq.features(clf, real_test)
    cfg = apply_preset(TrainConfig(family="vae", task="generate", data="builtin:digits"), "standard")
    cfg.image_size, cfg.device, cfg.name = 32, "cpu", "priors"
    cfg.extra = dict(cfg.extra, fitted_prior=False)
    if a.steps:
        cfg.steps = a.steps
    result = trainer.train(cfg, lambda e: None)
    net = load_generator(result.model_path).net
    x = ImageDataset("builtin:digits", 32, "generate", channels=1)._cache.float().div(127.5).sub(1)
    with torch.no_grad():
        mu, _ = net.encode(x)
    eps = torch.randn(1000, net.latent_dim, generator=torch.Generator().manual_seed(7))
    rng = np.random.default_rng(7)

    def score(name: str, codes) -> None:
        with torch.no_grad():
            images = to_uint8(net.decode(torch.as_tensor(codes).float()))
        s = dq.score_samples(clf, images, held)
        print(f"| {name} | {s['confident_fraction']:.3f} | {s['frechet']:.1f} | {s['largest_class_share']:.2f} | "
              f"{' '.join(map(str, s['histogram_confident']))} |", flush=True)

    print("| prior | confident (>0.9) | Fréchet | largest class | histogram (0..9) |\n|---|---|---|---|---|")
    score("N(0, I)", eps)
    for t in (0.9, 0.8, 0.7):
        score(f"N(0, {t}² I)", eps * t)
    for k in (1, 10, 20, 40):
        w, m, c = vae.fit_gaussian_mixture(mu.numpy(), k)
        comp = rng.choice(k, 1000, p=w / w.sum())
        chol = np.linalg.cholesky(c)
        codes = m[comp] + np.einsum("nij,nj->ni", chol[comp], rng.standard_normal((1000, net.latent_dim)))
        score(f"fitted mixture, {k} component{'s' if k > 1 else ''}", codes)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
