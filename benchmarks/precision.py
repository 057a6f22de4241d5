"""fp32 against bf16 for every built-in enhancement model: quality change and speed, side by side.

    PYTHONPATH=$PWD .venv/bin/python benchmarks/precision.py [--crop 256] [--photos 2] [--pairs 2]

For each built-in (``resources/models/*.safetensors``) on the first ``--photos`` photos of
``resources/photos/test/`` (a centre crop of ``--crop`` pixels, so the run stays short on a
busy machine): the degraded input is made as ``enhance_quality.py`` does (upscale: PIL bicubic
downscale; denoise: Gaussian sigma 25, seed 0, 8-bit; inpaint: one random free-form mask,
seed 0), the model runs in fp32 and in bf16 (``core.precision``, autocast + channels_last),
alternating fp32 bf16 fp32 bf16 ... (``--pairs`` pairs), and the script prints:

* PSNR of the bf16 output against the fp32 output (8-bit outputs; inf = identical);
* PSNR against the clean reference in fp32 and in bf16, and their difference (goal |d| <= 0.05 dB);
* the median seconds per output megapixel of each, and the fp32/bf16 ratio (goal >= 3x where
  the CPU has AMX / AVX-512-BF16).

Also what ``auto`` picks on this machine and the one-off probe's measured bf16 speed-up.
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("IMGEN_HOME", tempfile.mkdtemp(prefix="imgen-bench-"))


def psnr(a: np.ndarray, b: np.ndarray, mask: np.ndarray | None = None) -> float:
    err = (a.astype(np.float64) - b.astype(np.float64)) ** 2
    if mask is not None:
        err = err[mask]
    mse = float(err.mean())
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


def load_crop(path: Path, crop: int) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as im:
        arr = np.asarray(im.convert("RGB"))
    h, w = arr.shape[:2]
    top, left = max(0, (h - crop) // 2), max(0, (w - crop) // 2)
    return np.ascontiguousarray(arr[top : top + crop, left : left + crop])


def cases(name: str, clean: np.ndarray, scale: int):
    """-> (degraded input, reference, mask for the PSNR or None, enhance kwargs)."""
    import torch
    from PIL import Image

    from imgen_desktop.core import degrade as dg

    if name.startswith("upscale"):
        h, w = clean.shape[0] // scale * scale, clean.shape[1] // scale * scale
        hr = clean[:h, :w]
        lr = np.asarray(Image.fromarray(hr).resize((w // scale, h // scale), Image.BICUBIC))
        return lr, hr, None, {}
    if name == "denoise":
        rng = np.random.default_rng(0)
        noisy = np.clip(clean + rng.normal(0, 25, clean.shape), 0, 255).round().astype(np.uint8)
        return noisy, clean, None, {"noise_level": 25.0}
    mask = dg.random_masks(1, clean.shape[0], clean.shape[1], torch.Generator().manual_seed(0))[0, 0].numpy() > 0.5
    return clean, clean, np.broadcast_to(mask[..., None], clean.shape), {"mask": (mask * 255).astype(np.uint8)}


def main() -> int:
    import torch

    from imgen_desktop.core.enhance import enhance_photo, open_model
    from imgen_desktop.core.imageio import photo_from_array
    from imgen_desktop.core.precision import describe_cpu, measure_cpu_bf16_speedup, resolve_precision

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--crop", type=int, default=256)
    parser.add_argument("--photos", type=int, default=2)
    parser.add_argument("--pairs", type=int, default=2, help="fp32/bf16 timing pairs per photo (alternating)")
    parser.add_argument("--models", default="", help="comma-separated subset of the built-ins")
    args = parser.parse_args()

    print(f"# {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {platform.processor() or platform.machine()}; "
          f"torch {torch.__version__}, {torch.get_num_threads()} threads; {describe_cpu()}; "
          f"load average {os.getloadavg()[0]:.1f}")
    print(f"# auto picks {resolve_precision('auto', 'cpu').name} on the CPU; "
          f"probe: bf16 conv {measure_cpu_bf16_speedup():.2f}x fp32")
    photos = sorted(p for p in (ROOT / "resources" / "photos" / "test").iterdir() if p.suffix.lower() in (".png", ".jpg"))
    photos = photos[: args.photos]
    names = sorted(p.stem for p in (ROOT / "resources" / "models").glob("*.safetensors"))
    if args.models:
        names = [n for n in names if n in args.models.split(",")]
    print("| model | photo | bf16 vs fp32 PSNR | fp32 vs clean | bf16 vs clean | change | fp32 s/MP | bf16 s/MP | fp32/bf16 |")
    print("|---|---|---|---|---|---|---|---|---|")
    summary: dict[str, list[tuple[float, float]]] = {}
    for name in names:
        model = open_model(f"builtin:{name}", "cpu")
        for path in photos:
            degraded, ref, mask, kw = cases(name, load_crop(path, args.crop), model.scale)
            photo = photo_from_array(degraded)
            out_mp = degraded.shape[0] * degraded.shape[1] * model.scale**2 / 1e6
            outputs: dict[str, np.ndarray] = {}
            times: dict[str, list[float]] = {"fp32": [], "bf16": []}
            enhance_photo(photo, model, tile=0, passes=1, precision="fp32", **kw)  # warm up
            for _ in range(args.pairs):
                for prec in ("fp32", "bf16"):
                    start = time.perf_counter()
                    outputs[prec] = enhance_photo(photo, model, passes=1, precision=prec, **kw).pixels
                    times[prec].append((time.perf_counter() - start) / out_mp)
            f32, b16 = outputs["fp32"], outputs["bf16"]
            q32, q16 = psnr(f32, ref, mask), psnr(b16, ref, mask)
            t32, t16 = statistics.median(times["fp32"]), statistics.median(times["bf16"])
            summary.setdefault(name, []).append((q16 - q32, t32 / t16))
            print(f"| {name} | {path.name} | {psnr(b16, f32):.2f} dB | {q32:.3f} | {q16:.3f} | {q16 - q32:+.3f} dB "
                  f"| {t32:.1f} | {t16:.1f} | {t32 / t16:.2f}x |", flush=True)
    print()
    for name, rows in summary.items():
        worst = max(abs(d) for d, _ in rows)
        ratio = statistics.median(r for _, r in rows)
        print(f"{name}: worst |PSNR change| {worst:.3f} dB ({'ok' if worst <= 0.05 else 'over 0.05 dB'}), "
              f"bf16 speed {ratio:.2f}x fp32 ({'meets' if ratio >= 3 else 'misses'} the 3x goal)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
