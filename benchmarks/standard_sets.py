"""Enhancement models on the standard sets of the literature, beside the classical methods on the
same input (issue 10). The protocols are those of ``shared/data/eval/README.md``:

* upscale x2 / x4 on **Set5**: the HR image cropped to a multiple of the scale, LR = PIL bicubic
  downscale; Y-PSNR (BT.601, 16..235) with ``scale`` pixels shaved off each border. Beside:
  PIL bicubic and Lanczos upscaling of the same LR.
* denoise on **CBSD68**, sigma 15 / 25 / 50: white Gaussian noise with a fixed seed per image
  and sigma, clipped and rounded to 8 bits (as a saved PNG would be); RGB-PSNR, no shave. The
  models run blind (no sigma given; ``--given-sigma`` adds a run with the true sigma for models
  that take a noise level; ``--network-alone`` adds each denoiser without the engine's mean
  correction, core/consistency.py). Beside, both given the true sigma: CBM3D (the ``bm3d`` package,
  ``bm3d_rgb``, default profile) and scikit-image NL-means (``denoise_nl_means``, fast mode,
  5x5 patches, distance 6, h = 0.8 sigma: scikit-image's own example). Every result is rounded
  to 8 bits before it is measured.
* inpaint on **24 photos: the first 24 CBSD68 photos in name order** (never trained on):
  "strokes" = thin brush strokes (random walks, 5-15 px brushes, a fixed seed per photo) drawn
  until they cover 12 % of the photo; "box" = one 64x64 hole at a seeded place at least 8 px
  from the border. PSNR (RGB) inside the hole. Beside: OpenCV ``cv2.inpaint`` Telea and
  Navier-Stokes (radius 3). The hole is blanked in every method's input.

The models run through the engine path of ``imgen enhance`` (``core.enhance.enhance_photo`` with
the default ``EnhanceOptions``: default tiles, passes and precision; the denoiser estimates the
noise itself). Default models: the shipped ``resources/models/*.safetensors``; ``--models DIR``
and ``--model NAME=PATH`` add other files (e.g. the previous generation) to the same table.
For each method and set: mean PSNR over the images, the PSNR of the outer 8 px ring and of the
interior (the whole image, no shave: the border check), the mean signed error per channel for
denoising (a colour cast, in 8-bit levels) and seconds per image.

    .venv/bin/pip install -e ".[bench]"                      # bm3d, scikit-image, opencv (benchmark only)
    nice -n 5 .venv/bin/python benchmarks/standard_sets.py --quick          # smoke test (~1-2 min)
    .venv/bin/python benchmarks/standard_sets.py --only upscale             # Set5: fast
    .venv/bin/python benchmarks/standard_sets.py --only denoise             # CBM3D: hours on 2 busy cores
    .venv/bin/python benchmarks/standard_sets.py --models /tmp/old-models --only upscale   # old vs new
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import zlib
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("IMGEN_HOME", tempfile.mkdtemp(prefix="imgen-bench-"))

PARTS = ("upscale", "denoise", "inpaint")
SIGMAS = (15, 25, 50)
RING = 8  # px: the border check
INPAINT_PHOTOS = 24
STROKE_COVER = 0.12
BOX = 64
CLASSIC = {"bicubic", "Lanczos", "CBM3D (given sigma)", "NL-means (given sigma)", "OpenCV Telea", "OpenCV NS"}


@dataclass
class Row:
    part: str
    set: str
    method: str
    image: str
    psnr: float
    seconds: float  # wall
    cpu: float  # CPU seconds of this process (all threads): fairer than wall on a busy machine
    ring: float | None = None
    interior: float | None = None
    error_rgb: list[float] | None = None  # mean signed error per channel, 8-bit levels
    hole: float | None = None  # share of the photo (inpaint)


@dataclass
class Entry:
    label: str
    path: Path
    task: str
    scale: int
    model: object = field(default=None, repr=False)
    passes: int | None = None  # --passes: flipped passes averaged (None: the task's default)


# --- measures ---------------------------------------------------------------------------------

def psnr(a: np.ndarray, b: np.ndarray, sel: np.ndarray | None = None) -> float:
    err = (np.asarray(a, np.float64) - np.asarray(b, np.float64)) ** 2
    mse = float(err[sel].mean() if sel is not None else err.mean())
    return 10 * np.log10(255.0**2 / max(mse, 1e-12))


def y_channel(img: np.ndarray) -> np.ndarray:
    img = np.asarray(img, np.float64)
    return 16.0 + (65.481 * img[..., 0] + 128.553 * img[..., 1] + 24.966 * img[..., 2]) / 255.0


def ring_mask(shape: tuple[int, ...], width: int = RING) -> np.ndarray:
    m = np.zeros(shape[:2], bool)
    m[:width], m[-width:], m[:, :width], m[:, -width:] = True, True, True, True
    return m


def ring_interior(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    ring = ring_mask(a.shape)
    return psnr(a, b, ring), psnr(a, b, ~ring)


def load_rgb(path: Path) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


def seed_of(name: str, *extra: int) -> list[int]:
    return [zlib.crc32(name.encode()), *extra]


def stroke_mask(h: int, w: int, seed, cover: float = STROKE_COVER) -> np.ndarray:
    """Thin brush strokes (random walks, 5-15 px brushes) until they cover ``cover`` of the photo."""
    import cv2

    rng = np.random.default_rng(seed)
    m = np.zeros((h, w), np.uint8)
    size = min(h, w)
    while (m > 0).mean() < cover:
        y, x = rng.uniform(0, h), rng.uniform(0, w)
        thick, angle = int(rng.integers(5, 16)), rng.uniform(0, 2 * np.pi)
        for _ in range(int(rng.integers(2, 6))):
            angle += rng.uniform(-1.0, 1.0)
            length = size * rng.uniform(0.08, 0.25)
            y1 = float(np.clip(y + length * np.sin(angle), 0, h - 1))
            x1 = float(np.clip(x + length * np.cos(angle), 0, w - 1))
            cv2.line(m, (int(x), int(y)), (int(x1), int(y1)), 255, thick)
            y, x = y1, x1
    return m > 0


def box_mask(h: int, w: int, seed, side: int = BOX, margin: int = RING) -> np.ndarray:
    rng = np.random.default_rng(seed)
    top, left = int(rng.integers(margin, h - side - margin + 1)), int(rng.integers(margin, w - side - margin + 1))
    m = np.zeros((h, w), bool)
    m[top : top + side, left : left + side] = True
    return m


# --- models -----------------------------------------------------------------------------------

def find_models(args, parts: list[str]) -> list[Entry]:
    from imgen_desktop.core.enhance import ENHANCE_TASKS, open_model
    from imgen_desktop.core.store import read_meta

    wanted: list[tuple[str, Path]] = []
    if not args.no_builtin:
        wanted += [(f"builtin:{p.stem}", p) for p in sorted((ROOT / "resources" / "models").glob("*.safetensors"))]
    for folder in args.models:
        folder = Path(folder).expanduser()
        if not folder.is_dir():
            raise SystemExit(f"standard_sets: --models {folder}: not a folder")
        wanted += [(f"{folder.name}/{p.stem}", p) for p in sorted(folder.glob("*.safetensors"))]
    for spec in args.model:
        name, sep, path = spec.partition("=")
        if not sep:
            name, path = Path(spec).stem, spec
        wanted.append((name, Path(path).expanduser()))
    entries, seen = [], set()
    for label, path in wanted:
        meta = read_meta(path)
        if meta.get("task") not in ENHANCE_TASKS:
            print(f"standard_sets: {path}: a {meta.get('task')!r} model, left out", file=sys.stderr)
            continue
        if meta.get("task") not in parts:
            continue
        while label in seen:
            label += "'"
        seen.add(label)
        task = str(meta["task"])
        entries.append(Entry(label, path, task, int(meta.get("scale", 1) or 1) if task == "upscale" else 1,
                             open_model(str(path), args.device)))
    return entries


def run_model(entry: Entry, arr: np.ndarray, **extra) -> tuple[np.ndarray, float]:
    """One photo through ``imgen enhance``'s engine path with the default options."""
    from imgen_desktop.core.enhance import EnhanceOptions, enhance_photo
    from imgen_desktop.core.imageio import photo_from_array

    kwargs = {**EnhanceOptions(passes=entry.passes).run_kwargs(entry.model), **extra}
    return timed(lambda: enhance_photo(photo_from_array(arr), entry.model, **kwargs).pixels)


def warm_up(entries: list[Entry]) -> None:
    arr = (np.random.default_rng(0).random((64, 64, 3)) * 255).astype(np.uint8)
    hole = np.zeros((64, 64), np.uint8)
    hole[20:40, 20:40] = 255
    for e in entries:
        run_model(e, arr, **({"mask": hole} if e.task == "inpaint" else {}))


def timed(fn, *a, **kw) -> tuple[np.ndarray, tuple[float, float]]:
    """-> (result, (wall seconds, CPU seconds))."""
    t, c = time.perf_counter(), time.process_time()
    out = fn(*a, **kw)
    return out, (time.perf_counter() - t, time.process_time() - c)


def cached(args, method: str, path: Path, sigma: int, noisy: np.ndarray, run) -> tuple[np.ndarray, tuple[float, float]]:
    """A classical baseline's output, from ``--cache`` when this exact noisy input was run before
    (CBM3D on the whole CBSD68 set is ~110 CPU-minutes; it does not change when our models do).
    The key is the photo, sigma and a checksum of the noisy input; the recorded times are the
    first run's."""
    if not args.cache:
        return timed(run)
    folder = Path(args.cache).expanduser() / method
    key = f"{path.stem}-s{sigma}-{zlib.crc32(noisy.tobytes()):08x}"
    png, meta = folder / f"{key}.png", folder / f"{key}.json"
    if png.is_file() and meta.is_file():
        from PIL import Image

        with Image.open(png) as im:
            out = np.asarray(im.convert("RGB"))
        secs = json.loads(meta.read_text())
        return out, (float(secs["wall"]), float(secs["cpu"]))
    out, secs = timed(run)
    folder.mkdir(parents=True, exist_ok=True)
    from PIL import Image

    Image.fromarray(out).save(png)
    meta.write_text(json.dumps({"wall": secs[0], "cpu": secs[1]}))
    return out, secs


def to8(x: np.ndarray) -> np.ndarray:
    return np.clip(np.round(np.asarray(x, np.float64)), 0, 255).astype(np.uint8)


# --- the three parts --------------------------------------------------------------------------

def part_upscale(images: list[Path], entries: list[Entry], args) -> list[Row]:
    from PIL import Image

    rows = []
    for scale in (2, 4):
        models = [e for e in entries if e.task == "upscale" and e.scale == scale]
        for path in images:
            hr = load_rgb(path)
            h, w = hr.shape[0] // scale * scale, hr.shape[1] // scale * scale
            hr = hr[:h, :w]
            lr = np.asarray(Image.fromarray(hr).resize((w // scale, h // scale), Image.BICUBIC))
            outs = {name: timed(lambda f=f: np.asarray(Image.fromarray(lr).resize((w, h), f)))
                    for name, f in (("bicubic", Image.BICUBIC), ("Lanczos", Image.LANCZOS))}
            outs.update({e.label: run_model(e, lr) for e in models})
            yh, s = y_channel(hr), scale
            for method, (out, secs) in outs.items():
                yo = y_channel(out)
                rows.append(Row("upscale", f"{args.names['upscale']} x{scale} (Y)", method, path.name, psnr(yo[s:-s, s:-s], yh[s:-s, s:-s]),
                                *secs, *ring_interior(yo, yh)))
            progress(f"upscale x{scale} {path.name}", outs)
    return rows


def part_denoise(images: list[Path], entries: list[Entry], args) -> list[Row]:
    models = [e for e in entries if e.task == "denoise"]
    skip = set(args.skip)
    rows = []
    for sigma in args.sigmas:
        for path in images:
            clean = load_rgb(path)
            rng = np.random.default_rng(seed_of(path.stem, sigma))
            noisy = to8(clean + rng.normal(0.0, sigma, clean.shape))
            nf, s = noisy.astype(np.float64) / 255.0, sigma / 255.0
            outs: dict[str, tuple[np.ndarray, tuple[float, float]]] = {"noisy input": (noisy, (0.0, 0.0))}
            if "cbm3d" not in skip:
                def cbm3d(nf=nf, s=s):
                    import bm3d

                    return to8(bm3d.bm3d_rgb(nf, s) * 255)

                outs["CBM3D (given sigma)"] = cached(args, "cbm3d", path, sigma, noisy, cbm3d)
            if "nlmeans" not in skip:
                def nlmeans(nf=nf, s=s):
                    from skimage.restoration import denoise_nl_means

                    return to8(denoise_nl_means(nf, h=0.8 * s, sigma=s, fast_mode=True, patch_size=5,
                                                patch_distance=6, channel_axis=-1) * 255)

                outs["NL-means (given sigma)"] = cached(args, "nlmeans", path, sigma, noisy, nlmeans)
            for e in models:
                outs[e.label] = run_model(e, noisy)
                if args.network_alone and getattr(e.model, "mean_consistent", False):
                    e.model.mean_consistent = False  # core/consistency.py off: the network's own output
                    try:
                        outs[f"{e.label} (network alone)"] = run_model(e, noisy)
                    finally:
                        e.model.mean_consistent = True
                if args.given_sigma and e.model.supports_noise_level:
                    outs[f"{e.label} (given sigma)"] = run_model(e, noisy, noise_level=float(sigma))
            for method, (out, secs) in outs.items():
                err = (out.astype(np.float64) - clean).reshape(-1, 3).mean(axis=0)
                rows.append(Row("denoise", f"{args.names['denoise']} sigma {sigma}", method, path.name, psnr(out, clean), *secs,
                                *ring_interior(out, clean), [round(float(v), 3) for v in err]))
            progress(f"denoise sigma {sigma} {path.name}", outs)
    return rows


def part_inpaint(images: list[Path], entries: list[Entry], args) -> list[Row]:
    import cv2

    models = [e for e in entries if e.task == "inpaint"]
    rows = []
    for kind, make in (("strokes 12 %", stroke_mask), (f"box {BOX}x{BOX}", box_mask)):
        for path in images:
            clean = load_rgb(path)
            h, w = clean.shape[:2]
            hole = make(h, w, seed_of(path.stem, 1 if kind.startswith("box") else 0))
            damaged = clean.copy()
            damaged[hole] = 0
            m8 = hole.astype(np.uint8) * 255
            outs = {"OpenCV Telea": timed(cv2.inpaint, damaged, m8, 3, cv2.INPAINT_TELEA),
                    "OpenCV NS": timed(cv2.inpaint, damaged, m8, 3, cv2.INPAINT_NS)}
            outs.update({e.label: run_model(e, damaged, mask=m8) for e in models})
            sel = np.repeat(hole[..., None], 3, axis=2)
            for method, (out, secs) in outs.items():
                rows.append(Row("inpaint", f"{args.names['inpaint']}, {kind}", method, path.name, psnr(out, clean, sel), *secs,
                                hole=float(hole.mean())))
            progress(f"inpaint {kind} {path.name}", outs)
    return rows


def progress(what: str, outs: dict) -> None:
    print(f"  {what}: " + ", ".join(f"{k} {v[1][0]:.1f} s" for k, v in outs.items() if k != "noisy input"),
          file=sys.stderr, flush=True)


# --- the table --------------------------------------------------------------------------------

def table(rows: list[Row]) -> str:
    out = ["| set | method | PSNR (dB) | vs best classic | outer 8 px ring | interior | mean error R/G/B (levels) | s / image | CPU s / image | images |",
           "|---|---|---|---|---|---|---|---|---|---|"]
    groups: dict[str, dict[str, list[Row]]] = {}
    for r in rows:
        groups.setdefault(r.set, {}).setdefault(r.method, []).append(r)
    for set_name, methods in groups.items():
        means = {m: float(np.mean([r.psnr for r in rs])) for m, rs in methods.items()}
        best = max((v for m, v in means.items() if m in CLASSIC), default=None)
        for method, rs in methods.items():
            mean = lambda key: float(np.mean([getattr(r, key) for r in rs]))  # noqa: E731
            ring = f"{mean('ring'):.2f}" if rs[0].ring is not None else ""
            inner = f"{mean('interior'):.2f}" if rs[0].interior is not None else ""
            err = "/".join(f"{v:+.2f}" for v in np.mean([r.error_rgb for r in rs], axis=0)) if rs[0].error_rgb else ""
            gain = f"{means[method] - best:+.2f}" if best is not None and method not in CLASSIC and method != "noisy input" else ""
            secs = f"{mean('seconds'):.2f} | {mean('cpu'):.2f}" if method != "noisy input" else " | "
            name = set_name + (f" ({100 * mean('hole'):.1f} % hole)" if rs[0].hole is not None else "")
            out.append(f"| {name} | {method} | {means[method]:.2f} | {gain} | {ring} | {inner} | {err} | {secs} | {len(rs)} |")
    return "\n".join(out)


def per_image(rows: list[Row]) -> str:
    """One line per set and image: every method's PSNR, then the ring / interior of the models
    (the generalisation check: no model worse than the one it replaces on any photo)."""
    methods = list(dict.fromkeys(r.method for r in rows if r.method != "noisy input"))
    out = ["| set | image | " + " | ".join(methods) + " |", "|---|---|" + "---|" * len(methods)]
    cells: dict[tuple[str, str], dict[str, Row]] = {}
    for r in rows:
        cells.setdefault((r.set, r.image), {})[r.method] = r
    for (set_name, image), by in cells.items():
        def cell(m):
            r = by.get(m)
            if r is None:
                return ""
            extra = f" ({r.ring:.2f} / {r.interior:.2f})" if r.ring is not None and m not in CLASSIC else ""
            cast = f" [{'/'.join(f'{v:+.1f}' for v in r.error_rgb)}]" if r.error_rgb and m not in CLASSIC else ""
            return f"{r.psnr:.2f}{extra}{cast}"
        out.append(f"| {set_name} | {image} | " + " | ".join(cell(m) for m in methods) + " |")
    return "\n".join(out)


def full_estimate(part: str, rows: list[Row], images: list[Path], full: list[Path], repeats_now: int, repeats_full: int) -> str:
    """Seconds this part took per pixel, scaled to the full set (all images, sigmas / masks)."""
    if not rows:
        return ""

    def pixels(paths):
        from PIL import Image

        total = 0
        for p in paths:
            with Image.open(p) as im:
                total += im.width * im.height
        return total

    ratio = pixels(full) * repeats_full / max(1, pixels(images) * repeats_now)
    wall: dict[str, float] = {}
    cpu: dict[str, float] = {}
    for r in rows:
        wall[r.method] = wall.get(r.method, 0.0) + r.seconds
        cpu[r.method] = cpu.get(r.method, 0.0) + r.cpu
    total = sum(wall.values()) * ratio
    top = max(wall, key=wall.get)

    def mins(seconds: float) -> str:
        return f"{seconds / 60:.0f} min" if seconds >= 600 else f"{seconds / 60:.1f} min"

    return (f"the full part ({len(full)} images x {repeats_full}) would take ~{mins(total)} wall at this load, "
            f"~{mins(sum(cpu.values()) * ratio)} of CPU; the slowest method {top}: ~{mins(wall[top] * ratio)} wall, "
            f"~{mins(cpu[top] * ratio)} CPU")


def eval_root(given: str | None) -> Path:
    candidates = [Path(given)] if given else [ROOT.parent / "shared" / "data" / "eval",
                                               ROOT.parent.parent / "shared" / "data" / "eval"]
    for c in candidates:
        if (c / "Set5").is_dir() and (c / "CBSD68").is_dir():
            return c
    raise SystemExit(f"standard_sets: no Set5/ and CBSD68/ under {' or '.join(map(str, candidates))}: pass --data EVAL_FOLDER")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="smoke test: 2 images a set, sigma 25 only")
    p.add_argument("--only", default=",".join(PARTS), help="comma-separated parts: upscale, denoise, inpaint")
    p.add_argument("--models", action="append", default=[], metavar="DIR", help="also measure every .safetensors in DIR")
    p.add_argument("--model", action="append", default=[], metavar="NAME=PATH", help="also measure this model file")
    p.add_argument("--no-builtin", action="store_true", help="leave out the shipped resources/models/")
    p.add_argument("--sigmas", default=None, help="denoise sigmas (default 15,25,50; --quick: 25)")
    p.add_argument("--limit", type=int, default=None, help="at most N images a set")
    p.add_argument("--skip", default="", help="comma-separated baselines to leave out: cbm3d, nlmeans")
    p.add_argument("--passes", type=int, choices=(1, 2, 4), default=None,
                   help="flipped passes averaged by every model (default: each task's own: 4 for denoise, else 1)")
    p.add_argument("--network-alone", action="store_true",
                   help="also run each denoiser without the engine's mean correction (core/consistency.py)")
    p.add_argument("--given-sigma", action="store_true", help="also run denoisers that take a noise level with the true sigma")
    p.add_argument("--device", default="auto")
    p.add_argument("--data", default=None, help="folder with Set5/ and CBSD68/ (default: shared/data/eval)")
    p.add_argument("--photos", default=None, metavar="DIR",
                   help="every part on the photos of DIR instead of the standard sets (e.g. resources/photos/test)")
    p.add_argument("--per-image", action="store_true", help="also print every image's PSNR per method")
    p.add_argument("--json", default=None, metavar="OUT", help="write every per-image figure here")
    p.add_argument("--cache", default=None, metavar="DIR",
                   help="keep the CBM3D / NL-means outputs here and reuse them on later runs (same noisy input)")
    args = p.parse_args(argv)
    parts = [s.strip() for s in args.only.split(",") if s.strip()]
    if bad := [s for s in parts if s not in PARTS]:
        p.error(f"unknown part {bad[0]!r}; choose from {', '.join(PARTS)}")
    args.skip = [s.strip().lower() for s in args.skip.split(",") if s.strip()]
    args.sigmas = [int(s) for s in (args.sigmas or ("25" if args.quick else ",".join(map(str, SIGMAS)))).split(",")]
    limit = 2 if args.quick else args.limit

    import torch

    if args.photos:
        folder = Path(args.photos)
        photos = sorted(q for q in folder.iterdir() if q.suffix.lower() in (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff"))
        if not photos:
            p.error(f"no photos in {folder}")
        sets = dict.fromkeys(PARTS, photos)
        args.names = dict.fromkeys(PARTS, f"{folder.name} photos")
    else:
        data = eval_root(args.data)
        set5 = sorted((data / "Set5").glob("*.bmp")) or sorted((data / "Set5").glob("*.png"))
        cbsd = sorted((data / "CBSD68").glob("*.png"))
        sets = {"upscale": set5, "denoise": cbsd, "inpaint": cbsd[:INPAINT_PHOTOS]}
        args.names = {"upscale": "Set5", "denoise": "CBSD68", "inpaint": f"{INPAINT_PHOTOS} CBSD68 photos"}
    entries = find_models(args, parts)
    for e in entries:
        e.passes = args.passes
    print(f"# standard sets: {', '.join(parts)}; models: {', '.join(e.label for e in entries) or 'none'}; "
          f"torch {torch.__version__}, {torch.get_num_threads()} threads, load {os.getloadavg()[0]:.1f}", flush=True)
    warm_up(entries)
    rows: list[Row] = []
    notes = []
    runners = {"upscale": part_upscale, "denoise": part_denoise, "inpaint": part_inpaint}
    for part in parts:
        images = sets[part][:limit] if limit else sets[part]
        start = time.perf_counter()
        repeats = {"upscale": (2, 2), "denoise": (len(args.sigmas), len(SIGMAS)), "inpaint": (2, 2)}[part]
        got = runners[part](images, entries, args)
        wall = time.perf_counter() - start
        rows += got
        note = f"{part}: {wall:.0f} s wall for {len(images)} images x {repeats[0]}"
        if len(images) < len(sets[part]) or repeats[0] < repeats[1]:
            note += "; " + full_estimate(part, got, images, sets[part], *repeats)
        notes.append(note)
    print()
    print(table(rows))
    print()
    if args.per_image:
        print(per_image(rows))
        print()
    for n in notes:
        print(f"- {n}")
    if args.json:
        Path(args.json).write_text(json.dumps([asdict(r) for r in rows], indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
