"""Sample quality along one training run: a family's ``standard`` preset on builtin:digits at 32x32,
with overrides, scored at every checkpoint like ``digits_quality.py`` scores the end.

    PYTHONPATH=$PWD .venv/bin/python benchmarks/digits_curve.py gan --set steps=5400 --every 900
    PYTHONPATH=$PWD .venv/bin/python benchmarks/digits_curve.py gan --set steps=3600 augment=true --every 900

``--set KEY=JSON`` overrides a TrainConfig field (``extra.KEY=JSON`` an extra option). At each
checkpoint the recipe's own sampler (the exported network: EMA for the GAN) draws 1,000 pictures
(seed 7); for the GAN the live generator and the latent temperature 0.8 / 0.6 and truncation at
|z| <= 1 are scored too. One line per variant: confident fraction, Fréchet distance in the
classifier's features, largest class share, histogram. A tuning tool: it wraps the trainer's
checkpoint method, so the run is otherwise exactly what ``imgen train`` does (constant learning
rate unless the preset says otherwise, so a checkpoint of a long run is a shorter run).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("family")
    p.add_argument("--set", nargs="*", default=[], metavar="KEY=JSON")
    p.add_argument("--every", type=int, default=600, help="checkpoint (and score) every N steps")
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    os.environ.setdefault("IMGEN_HOME", tempfile.mkdtemp(prefix="imgen-curve-"))
    import torch

    import digits_quality as dq
    from imgen_desktop.core import trainer
    from imgen_desktop.core.config import TrainConfig
    from imgen_desktop.core.models.base import to_uint8
    from imgen_desktop.core.presets import apply_preset

    clf, acc, _real_train, real_test = dq.train_classifier(a.seed)
    held = dq.features(clf, real_test)
    cfg = apply_preset(TrainConfig(family=a.family, task="generate", data="builtin:digits"), "standard")
    cfg.image_size, cfg.device, cfg.name, cfg.seed, cfg.checkpoint_every = 32, "cpu", "curve", a.seed, a.every
    for kv in a.set:
        key, value = kv.split("=", 1)
        if key.startswith("extra."):
            cfg.extra[key[6:]] = json.loads(value)
        else:
            setattr(cfg, key, json.loads(value))
    print(f"classifier held-out accuracy {acc:.3f}; {a.family} {a.set}", flush=True)
    t0, c0 = time.perf_counter(), time.process_time()
    original = trainer._Run._save_checkpoint

    def scored(self, recipe, elapsed):
        original(self, recipe, elapsed)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        variants = {"exported": recipe.sample(1000, 7)["samples"]}
        if a.family == "gan":
            z = torch.randn(1000, recipe.params["z_dim"], generator=torch.Generator().manual_seed(7))
            net = recipe.inference_net()
            was = net.training
            net.eval()
            with torch.no_grad():
                variants["live G"] = to_uint8(recipe.G.eval()(z))
                recipe.G.train()
                for t in (0.8, 0.6):
                    variants[f"temperature {t}"] = to_uint8(net(z * t))
                zt, g = z.clone(), torch.Generator().manual_seed(8)
                for _ in range(100):
                    bad = zt.abs() > 1.0
                    if not bad.any():
                        break
                    zt[bad] = torch.randn(int(bad.sum()), generator=g)
                variants["truncation 1.0"] = to_uint8(net(zt))
            net.train(was)
        for name, images in variants.items():
            s = dq.score_samples(clf, images, held)
            print(f"step {self.step:5d}  wall {wall:5.0f} s  cpu {cpu:5.0f} s  {name:15s} confident {s['confident_fraction']:.3f}  "
                  f"Fréchet {s['frechet']:6.1f}  largest class {s['largest_class_share']:.2f}  {s['histogram_confident']}", flush=True)

    trainer._Run._save_checkpoint = scored
    result = trainer.train(cfg, lambda e: None)
    print(type(result).__name__, getattr(result, "message", ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
