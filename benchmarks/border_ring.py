"""Where the upscalers lose at the border: gain over bicubic in the outer 8 px ring vs the interior.

    PYTHONPATH=$PWD .venv/bin/python benchmarks/border_ring.py [--photos DIR ...] [--models builtin:upscale-x2,...]

For each photo and scale (the ``standard_sets.py`` protocol: PIL-bicubic LR, Y channel, the
benchmark's ``ring_interior``) it prints bicubic's and the model's ring / interior PSNR and the
model's gain over bicubic in each, twice: on the benchmark's LR, and on an *inner crop* (the LR's
outer 8 pixels cut off first, and the HR to match), whose border has no edge effect of PIL's
downscale — as a real photo's border has none. Means over the photos at the end.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.standard_sets import eval_root, load_rgb, ring_interior, y_channel  # noqa: E402

CUT = 8  # LR pixels cut off each side for the inner crop


def main(argv: list[str] | None = None) -> int:
    from PIL import Image

    from imgen_desktop.core.enhance import enhance_photo, open_model
    from imgen_desktop.core.imageio import photo_from_array

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--photos", action="append", default=None, metavar="DIR",
                   help="folders of photos (default: resources/photos/test and Set5)")
    p.add_argument("--models", default="builtin:upscale-x2,builtin:upscale-x4")
    args = p.parse_args(argv)
    folders = [Path(d) for d in args.photos] if args.photos else [ROOT / "resources" / "photos" / "test", eval_root(None) / "Set5"]
    photos = [q for d in folders for q in sorted(d.iterdir()) if q.suffix.lower() in (".png", ".jpg", ".jpeg", ".bmp")]
    sums: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for spec in args.models.split(","):
        model = open_model(spec.strip(), "cpu")
        s = model.scale
        for path in photos:
            hr = load_rgb(path)
            h, w = hr.shape[0] // s * s, hr.shape[1] // s * s
            hr = hr[:h, :w]
            lr = np.asarray(Image.fromarray(hr).resize((w // s, h // s), Image.BICUBIC))
            for kind, lr_k, hr_k in (("benchmark LR", lr, hr),
                                     ("inner crop", lr[CUT:-CUT, CUT:-CUT], hr[CUT * s:-CUT * s, CUT * s:-CUT * s])):
                hh, ww = hr_k.shape[:2]
                bic = np.asarray(Image.fromarray(np.ascontiguousarray(lr_k)).resize((ww, hh), Image.BICUBIC))
                ours = enhance_photo(photo_from_array(np.ascontiguousarray(lr_k)), model).pixels
                yh = y_channel(hr_k)
                rb, ib = ring_interior(y_channel(bic), yh)
                ro, io = ring_interior(y_channel(ours), yh)
                sums.setdefault((spec, kind), []).append((ro - rb, io - ib))
                print(f"{spec} {path.name:14s} {kind:12s} bicubic ring {rb:.2f} / interior {ib:.2f} | model ring {ro:.2f} / "
                      f"interior {io:.2f} | gain ring {ro - rb:+.2f} / interior {io - ib:+.2f}", flush=True)
    print("\n| model | LR | photos | ring gain over bicubic (dB) | interior gain (dB) |\n|---|---|---|---|---|")
    for (spec, kind), gains in sums.items():
        g = np.mean(gains, axis=0)
        print(f"| {spec} | {kind} | {len(gains)} | {g[0]:+.2f} | {g[1]:+.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
