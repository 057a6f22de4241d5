"""The Train tab's live samples of a VAE / DRAW run against what its exported model draws.

Scores, with the digits benchmark's classifier, 1,000 live samples of the final checkpoint of a
``benchmarks/digits_quality.py`` run drawn the old way (N(0, I)) and the new way
(``core.models.prior.preview_codes``: near the remembered codes), and 1,000 samples of the model
it exports (the fitted prior):

    PYTHONPATH=$PWD .venv/bin/python benchmarks/live_preview.py --home /tmp/bench17/home

(``--home``: the ``--home`` of a finished ``digits_quality.py --families vae rnn`` run.)
Recorded in benchmarks/RESULTS.md.
"""
import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT))
import digits_quality as dq
from imgen_desktop.core.config import TrainConfig
from imgen_desktop.core.models.base import Amp, to_uint8
from imgen_desktop.core.models import rnn, vae, prior
parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
parser.add_argument("--home", required=True, help="IMGEN_HOME of a digits_quality.py run")
args = parser.parse_args()
torch.set_num_threads(1)
clf, acc, rt, rte = dq.train_classifier(0); held = dq.features(clf, rte)
dev = torch.device("cpu")
for fam, cls in (("vae", vae.VaeRecipe), ("rnn", rnn.DrawRecipe)):
    run = f"{args.home}/runs/bench-{fam}-digits"
    cfg = TrainConfig.from_dict(json.load(open(f"{run}/config.json")))
    rec = cls(cfg, 1, dev, Amp(dev))
    rec.load_state_dict(torch.load(f"{run}/checkpoint.pt", weights_only=True, map_location="cpu")["recipe"])
    out = {}
    # what the live grid showed before (N(0, I)) and now (preview), 1000 samples in batches of 100
    for name in ("N(0,I) (before)", "preview (now)"):
        ims = []
        for b in range(10):
            if name.startswith("N"):
                keep = rec.fitted_prior; rec.fitted_prior = False
            ims.append(rec.sample(100, seed=7 + b)["samples"])
            if name.startswith("N"):
                rec.fitted_prior = keep
        out[name] = np.concatenate(ims)
    net, _, params = rec.export()
    z = torch.randn(1000, *net.latent_shape, generator=torch.Generator().manual_seed(7)) if hasattr(net, "latent_shape") else None
    if z is None:
        d = net.latent_dim + (1 if params.get("prior_components") else 0)
        z = torch.randn(1000, d, generator=torch.Generator().manual_seed(7))
    with torch.no_grad():
        out["exported fitted prior"] = to_uint8(net(z))
    for name, ims in out.items():
        s = dq.score_samples(clf, ims, held)
        print(f"{fam} {name}: confident {s['confident_fraction']:.3f} fd {s['frechet']:.1f} hist {s['histogram_confident']}", flush=True)
