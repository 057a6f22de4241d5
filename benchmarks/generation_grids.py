"""Sample grids of each family's ``standard`` preset beyond digits: faces and photo textures.

For every generative family (or those named with --families) and each dataset:

* ``faces``: ``builtin:faces`` (the 25x25 LFW crops shipped with scikit-learn's data, resized to
  the preset's 32x32);
* ``textures``: a folder of 64x64 crops cut from the 432 training photos of
  ``../shared/data/bsds432/`` (each photo halved, then random crops; seeded, made once into
  ``--textures-dir``), trained at 64x64;

this script trains the family's ``standard`` preset (the defaults a user gets), saves a 10x10
grid of the exported model's samples (seeds 7-106) to ``--out``, and prints the wall and CPU
time and every training-health diagnostic that left "ok" during the run (the health strip of the
Train tab shows the same states).

    PYTHONPATH=$PWD .venv/bin/python benchmarks/generation_grids.py [--families gan vae rnn] \\
        [--data faces textures] [--out benchmarks/images/generation]

Results are recorded in benchmarks/RESULTS.md.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BSDS = ROOT.parent / "shared" / "data" / "bsds432"
SIZES = {"faces": 32, "textures": 64}


def make_texture_crops(folder: Path, source: Path = BSDS, per_photo: int = 4, size: int = 64, seed: int = 0) -> int:
    """``per_photo`` random ``size`` crops of every photo in ``source``, halved first; returns the count."""
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    photos = sorted(p for p in source.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
    if not photos:
        raise SystemExit(f"no photos in {source}")
    existing = sorted(folder.glob("*.png"))
    if len(existing) == per_photo * len(photos):
        return len(existing)
    rng = np.random.default_rng(seed)
    count = 0
    for photo in photos:
        with Image.open(photo) as im:
            im = im.convert("RGB")
            im = im.resize((im.width // 2, im.height // 2), Image.Resampling.LANCZOS)
            for k in range(per_photo):
                x = int(rng.integers(0, im.width - size + 1))
                y = int(rng.integers(0, im.height - size + 1))
                im.crop((x, y, x + size, y + size)).save(folder / f"{photo.stem}_{k}.png")
                count += 1
    return count


def run(family: str, data: str, size: int, seed: int, steps: int | None = None) -> dict:
    from imgen_desktop.core.config import TrainConfig
    from imgen_desktop.core.generate import load_generator
    from imgen_desktop.core.presets import apply_preset
    from imgen_desktop.core.trainer import train

    config = apply_preset(TrainConfig(family=family, task="generate", data=data), "standard")
    config.image_size, config.seed, config.device = size, seed, "cpu"
    if steps:
        config.steps = steps
    config.name = f"grid-{family}-{Path(data).name.replace(':', '-')}-{size}"
    states: dict[str, str] = {}
    flagged: list[str] = []

    def on_event(event):
        kind = type(event).__name__
        if kind == "Health":
            states[event.key] = event.state
            if event.state != "ok":
                flagged.append(f"{event.key}={event.state} at step {event.step} ({event.value:.3g})")
        elif kind == "Progress" and event.step % 500 == 0:
            print(f"  [{family} {data}] step {event.step}/{event.total}", file=sys.stderr, flush=True)

    t0, c0 = time.perf_counter(), time.process_time()
    result = train(config, on_event)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    if type(result).__name__ != "Finished":
        return {"family": family, "data": data, "error": result.message, "wall_s": wall}
    images = load_generator(result.model_path).sample(100, seed=7)
    return {"family": family, "data": data, "size": size, "steps": result.step, "wall_s": wall, "cpu_s": cpu,
            "flagged": flagged, "final": {k: v for k, v in states.items() if v != "ok"}, "images": images}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--families", nargs="*", default=["gan", "vae", "rnn"])
    parser.add_argument("--data", nargs="*", default=["faces", "textures"], choices=sorted(SIZES))
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "images" / "generation"))
    parser.add_argument("--textures-dir", default=os.path.join(tempfile.gettempdir(), "imgen-bsds-textures-64"))
    parser.add_argument("--home", default=None, help="IMGEN_HOME for the runs (default: a temporary folder)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--steps", type=int, default=None, help="override the preset's steps (a shorter look)")
    args = parser.parse_args()
    os.environ["IMGEN_HOME"] = args.home or tempfile.mkdtemp(prefix="imgen-grids-")
    from PIL import Image

    from imgen_desktop.core.generate import make_grid

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    sources = {"faces": "builtin:faces"}
    if "textures" in args.data:
        n = make_texture_crops(Path(args.textures_dir))
        print(f"texture crops: {n} in {args.textures_dir}")
        sources["textures"] = args.textures_dir
    rows = []
    for data in args.data:
        for family in args.families:
            res = run(family, sources[data], SIZES[data], args.seed, args.steps)
            if "error" in res:
                print(f"{family} on {data}: FAILED {res['error']}")
                continue
            grid = make_grid(res.pop("images"), 10)
            path = out / f"{family}-{data}.png"
            Image.fromarray(grid[..., 0] if grid.shape[2] == 1 else grid).save(path)
            rows.append(res)
            quiet = "quiet" if not res["flagged"] else "; ".join(res["flagged"][:4])
            print(f"{family} on {data} ({res['size']} px): {res['steps']} steps in {res['wall_s']:.0f} s wall, "
                  f"{res['cpu_s']:.0f} s CPU; health: {quiet}; grid {path}", flush=True)
    print("\n| data | family | size | steps | wall s | CPU s | health diagnostics that left ok |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['data'].split('/')[-1]} | {r['family']} | {r['size']} | {r['steps']} | {r['wall_s']:.0f} | {r['cpu_s']:.0f} | "
              f"{'none' if not r['flagged'] else '; '.join(r['flagged'])} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
