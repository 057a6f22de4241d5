"""Reliability of image input and output: the generated corpus by outcome, the loader under
random mutations, and the Train tab's dataset description on big photos (memory and time).

    PYTHONPATH=. .venv/bin/python benchmarks/images_reliability.py [--mutations N]

Prints Markdown tables for benchmarks/RESULTS.md. About a minute on 2 cores.
"""
from __future__ import annotations

import argparse
import collections
import json
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "reliability"))

_DESCRIBE = r"""
import resource, sys, json, time
from imgen_desktop.core.datasets import describe
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t = time.perf_counter(); info = describe(sys.argv[1], max_thumbs=8); dt = time.perf_counter() - t
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"grow_mb": (after - before) / 1024, "seconds": dt, "count": info.count}))
"""


def corpus_table(tmp: Path) -> None:
    import imgcorpus

    from imgen_desktop.core.errors import ImgenError
    from imgen_desktop.core.imageio import load_image

    cases = imgcorpus.build(tmp / "corpus")
    rows = collections.Counter()
    for case in cases:
        try:
            load_image(tmp / "corpus" / case.name)
            got = "loads"
        except ImgenError as exc:
            text = str(exc).split(": ", 1)[1]
            got = "refused: " + ("over the 100-megapixel limit (from the header)" if "megapixels, over" in text else text.split(" (")[0][:60])
        rows[(case.kind, got)] += 1
    print(f"Corpus: {len(cases)} files ({sum(c.kind == 'valid' for c in cases)} valid, "
          f"{sum(c.kind == 'refused' for c in cases)} hostile or broken)\n")
    print("| expected | outcome | files |\n|---|---|---|")
    for (kind, got), n in sorted(rows.items()):
        print(f"| {kind} | {got} | {n} |")


def mutation_table(n: int) -> None:
    import imgcorpus

    from imgen_desktop.core.errors import ImgenError
    from imgen_desktop.core.imageio import load_image_bytes

    seeds = imgcorpus.seeds()
    rng = random.Random(0)
    outcome = collections.Counter()
    slowest = 0.0
    start = time.perf_counter()
    for _ in range(n):
        fmt = rng.choice(sorted(seeds))
        data = bytearray(seeds[fmt])
        for _ in range(rng.randint(1, 8)):
            data[rng.randrange(min(64, len(data))) if rng.random() < 0.5 else rng.randrange(len(data))] = rng.randrange(256)
        if rng.random() < 0.3:
            data = data[: rng.randrange(len(data) + 1)]
        t = time.perf_counter()
        try:
            load_image_bytes(bytes(data), f"m.{fmt}", max_pixels=4_000_000)
            outcome["Photo"] += 1
        except ImgenError:
            outcome["ImgenError (one line)"] += 1
        except Exception as exc:  # noqa: BLE001 - this is what the fuzzer hunts
            outcome[f"OTHER {type(exc).__name__}"] += 1
        slowest = max(slowest, time.perf_counter() - t)
    total = time.perf_counter() - start
    print(f"\nMutated PNG/JPEG/TIFF/GIF/WebP/BMP seeds: {n} files in {total:.1f} s, slowest {slowest * 1000:.0f} ms\n")
    print("| outcome | files |\n|---|---|")
    for what, count in sorted(outcome.items()):
        print(f"| {what} | {count} |")


def describe_table(tmp: Path) -> None:
    import numpy as np
    from PIL import Image

    folder = tmp / "photos"
    folder.mkdir()
    yy, xx = np.mgrid[0:3000, 0:4000]
    photo = np.stack([(xx // 16) % 256, (yy // 12) % 256, ((xx + yy) // 28) % 256], axis=2).astype(np.uint8)
    Image.fromarray(photo).save(folder / "p00.jpg", quality=80)
    for i in range(1, 40):
        shutil.copyfile(folder / "p00.jpg", folder / f"p{i:02d}.jpg")
    out = subprocess.run([sys.executable, "-c", _DESCRIBE, str(folder)], capture_output=True, text=True,
                         env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"}, check=True)
    r = json.loads(out.stdout)
    print(f"\nDescribe a folder of 40 x 12 MP JPEGs (Train tab start-up): {r['count']} pictures, "
          f"peak memory growth {r['grow_mb']:.0f} MB, {r['seconds']:.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mutations", type=int, default=3000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="imgen-rel-") as tmp:
        corpus_table(Path(tmp))
        mutation_table(args.mutations)
        describe_table(Path(tmp))


if __name__ == "__main__":
    main()
