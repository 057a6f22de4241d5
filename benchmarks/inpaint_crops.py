"""Side-by-side inpaint crops: damaged | OpenCV Telea | each model | original, with the benchmark's
own masks (``standard_sets.py``: the seeded 64x64 box and the 12 % strokes of each photo).

    PYTHONPATH=$PWD .venv/bin/python benchmarks/inpaint_crops.py -o out.png --model NAME=PATH ... \
        [--box 106024,148026] [--strokes 101087]

A box row is the hole with 32 px around it; a strokes row is a 128x128 window at the photo's
densest stroke area. Every crop is shown at 2x (nearest), labelled on top.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.standard_sets import BOX, box_mask, eval_root, load_rgb, seed_of, stroke_mask  # noqa: E402

MARGIN = 32
WINDOW = 128


def _window(hole: np.ndarray, kind: str) -> tuple[int, int, int, int]:
    h, w = hole.shape
    if kind == "box":
        ys, xs = np.nonzero(hole)
        y0, x0 = max(0, ys.min() - MARGIN), max(0, xs.min() - MARGIN)
        return y0, min(h, ys.max() + 1 + MARGIN), x0, min(w, xs.max() + 1 + MARGIN)
    # the WINDOW x WINDOW window holding the most stroke pixels (integral image)
    ii = np.pad(hole.astype(np.int32).cumsum(0).cumsum(1), ((1, 0), (1, 0)))
    s = ii[WINDOW:, WINDOW:] - ii[:-WINDOW, WINDOW:] - ii[WINDOW:, :-WINDOW] + ii[:-WINDOW, :-WINDOW]
    y0, x0 = np.unravel_index(int(s.argmax()), s.shape)
    return int(y0), int(y0) + WINDOW, int(x0), int(x0) + WINDOW


def main(argv: list[str] | None = None) -> int:
    import cv2
    from PIL import Image, ImageDraw

    from imgen_desktop.core.enhance import enhance_photo, open_model
    from imgen_desktop.core.imageio import photo_from_array

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("-o", "--out", type=Path, required=True)
    p.add_argument("--model", action="append", default=[], metavar="NAME=PATH", help="a model (default: builtin:inpaint)")
    p.add_argument("--box", default="106024,148026", help="CBSD68 photos (stems) shown with their box hole")
    p.add_argument("--strokes", default="101087", help="CBSD68 photos shown with their strokes")
    args = p.parse_args(argv)
    models = [(s.split("=", 1)[0], open_model(s.split("=", 1)[1], "cpu")) for s in args.model] or \
        [("built-in", open_model("builtin:inpaint", "cpu"))]
    folder = eval_root(None) / "CBSD68"
    rows = []
    for kind, stems in (("box", args.box), ("strokes", args.strokes)):
        for stem in [s.strip() for s in stems.split(",") if s.strip()]:
            clean = load_rgb(folder / f"{stem}.png")
            h, w = clean.shape[:2]
            hole = (box_mask(h, w, seed_of(stem, 1)) if kind == "box" else stroke_mask(h, w, seed_of(stem, 0)))
            damaged = clean.copy()
            damaged[hole] = 0
            m8 = hole.astype(np.uint8) * 255
            panels = [("damaged", damaged), ("Telea", cv2.inpaint(damaged, m8, 3, cv2.INPAINT_TELEA))]
            panels += [(name, enhance_photo(photo_from_array(damaged), m, mask=m8).pixels) for name, m in models]
            panels.append(("original", clean))
            y0, y1, x0, x1 = _window(hole, kind)
            tiles = []
            for label, img in panels:
                crop = Image.fromarray(np.ascontiguousarray(img[y0:y1, x0:x1])).resize(((x1 - x0) * 2, (y1 - y0) * 2), Image.NEAREST)
                tile = Image.new("RGB", (crop.width, crop.height + 16), (24, 24, 24))
                tile.paste(crop, (0, 16))
                ImageDraw.Draw(tile).text((4, 2), f"{label} ({stem} {kind})" if label == "damaged" else label, fill=(230, 230, 230))
                tiles.append(tile)
            row = Image.new("RGB", (sum(t.width + 4 for t in tiles), max(t.height for t in tiles)), (24, 24, 24))
            x = 0
            for t in tiles:
                row.paste(t, (x, 0))
                x += t.width + 4
            rows.append(row)
    sheet = Image.new("RGB", (max(r.width for r in rows), sum(r.height + 4 for r in rows)), (24, 24, 24))
    y = 0
    for r in rows:
        sheet.paste(r, (0, y))
        y += r.height + 4
    args.out.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(args.out)
    print(f"wrote {args.out} ({sheet.width}x{sheet.height}); box side {BOX}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
