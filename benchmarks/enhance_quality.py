"""Quality of the built-in enhancement models on held-out photos (``resources/photos/test/``).

    .venv/bin/python -m pip install scikit-image PyWavelets   # benchmark-only (not runtime) dependencies
    .venv/bin/python benchmarks/enhance_quality.py

* upscale x2 / x4: the photo (cropped to a multiple of the scale) is downscaled with PIL
  bicubic; PSNR on the Y channel (BT.601, 16..235) with ``scale`` pixels shaved at the border,
  model vs PIL bicubic upscaling. Goals: x2 >= +1.0 dB, x4 >= +0.6 dB.
* denoise: Gaussian noise sigma 25 (0..255, seed 0, clipped and rounded to 8 bits); PSNR over
  all channels, model (blind: noise level estimated) vs scikit-image's ``denoise_nl_means``
  (fast_mode=True, sigma from ``estimate_sigma``, h = 0.8 sigma, 5x5 patches, distance 6, the
  settings of scikit-image's own example). Goal >= +1.0 dB.
* inpaint: "large" = one random free-form mask per photo (``core.degrade.random_masks``,
  seed 0, strokes scaled to the photo); "small" = blemish-sized holes, one random mask per
  64 px block (the training patch scale); PSNR inside the holes, model vs mean-colour fill and vs a multi-scale normalised-convolution
  (diffusion-like) fill.
Prints a Markdown table (and the mean over photos) for RESULTS.md.
"""
from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("IMGEN_HOME", tempfile.mkdtemp(prefix="imgen-bench-"))


def psnr(a: np.ndarray, b: np.ndarray, mask: np.ndarray | None = None, peak: float = 255.0) -> float:
    err = (a.astype(np.float64) - b.astype(np.float64)) ** 2
    if mask is not None:
        err = err[mask]
    mse = float(err.mean())
    return 10 * np.log10(peak**2 / max(mse, 1e-12))


def y_channel(img: np.ndarray) -> np.ndarray:
    img = img.astype(np.float64)
    if img.ndim == 2 or img.shape[2] == 1:
        return img.reshape(img.shape[0], img.shape[1])
    return 16.0 + (65.481 * img[..., 0] + 128.553 * img[..., 1] + 24.966 * img[..., 2]) / 255.0


def load(path: Path) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as im:
        im = im.convert("L") if im.mode in ("L", "I;16") else im.convert("RGB")
        return np.asarray(im)


def main() -> int:
    import argparse

    import torch
    from PIL import Image

    from imgen_desktop.core import degrade as dg
    from imgen_desktop.core.enhance import enhance_photo, open_model
    from imgen_desktop.core.imageio import photo_from_array

    parser = argparse.ArgumentParser(description="PSNR of the built-in enhancement models on held-out photos")
    parser.add_argument("--tasks", default="upscale,denoise,inpaint", help="comma-separated subset")
    tasks = parser.parse_args().tasks.split(",")
    torch.manual_seed(0)
    photos = sorted(p for p in (ROOT / "resources" / "photos" / "test").iterdir() if p.suffix.lower() in (".png", ".jpg"))
    rows: list[tuple[str, str, float, float, str, float]] = []

    def run(model, arr, **kw):
        t = time.perf_counter()
        out = enhance_photo(photo_from_array(arr), model, **kw).pixels
        return out.reshape(arr.shape[0] * model.scale, arr.shape[1] * model.scale, -1).squeeze(), time.perf_counter() - t

    for scale in (2, 4) if "upscale" in tasks else ():
        model = open_model(f"builtin:upscale-x{scale}", "cpu")
        for path in photos:
            hr = load(path)
            h, w = hr.shape[0] // scale * scale, hr.shape[1] // scale * scale
            hr = hr[:h, :w]
            lr = np.asarray(Image.fromarray(hr).resize((w // scale, h // scale), Image.BICUBIC))
            bic = np.asarray(Image.fromarray(lr).resize((w, h), Image.BICUBIC))
            out, secs = run(model, lr)
            s = scale
            ours = psnr(y_channel(out)[s:-s, s:-s], y_channel(hr)[s:-s, s:-s])
            base = psnr(y_channel(bic)[s:-s, s:-s], y_channel(hr)[s:-s, s:-s])
            rows.append((f"upscale x{scale}", path.name, ours, base, "PIL bicubic", secs))

    for path in photos if "denoise" in tasks else ():
        from skimage.restoration import denoise_nl_means, estimate_sigma

        model = open_model("builtin:denoise", "cpu")
        clean = load(path)
        rng = np.random.default_rng(0)
        noisy = np.clip(clean + rng.normal(0, 25, clean.shape), 0, 255).round().astype(np.uint8)
        out, secs = run(model, noisy)
        hinted, _ = run(model, noisy, noise_level=25.0)
        nf = noisy.astype(np.float64) / 255
        axis = -1 if nf.ndim == 3 else None
        sig = float(np.mean(estimate_sigma(nf, channel_axis=axis)))
        nlm = denoise_nl_means(nf, h=0.8 * sig, sigma=sig, fast_mode=True, patch_size=5, patch_distance=6, channel_axis=axis)
        nlm = np.clip(nlm * 255, 0, 255)
        base = psnr(nlm, clean)
        rows.append(("denoise s25", path.name, psnr(out, clean), base, "NL-means (fast)", secs))
        rows.append(("denoise s25, level hint 25", path.name, psnr(hinted, clean), base, "NL-means (fast)", secs))
        rows.append(("(noisy input)", path.name, psnr(noisy, clean), base, "NL-means (fast)", 0.0))

    def small_holes(h: int, w: int, block: int = 64) -> np.ndarray:
        """Blemish-sized holes: one random free-form mask per 64 px block (the training scale)."""
        gy, gx = -(-h // block), -(-w // block)
        m = dg.random_masks(gy * gx, block, block, torch.Generator().manual_seed(0)).numpy() > 0.5
        return m.reshape(gy, gx, block, block).transpose(0, 2, 1, 3).reshape(gy * block, gx * block)[:h, :w]

    cases = [("large", lambda h, w: dg.random_masks(1, h, w, torch.Generator().manual_seed(0))[0, 0].numpy() > 0.5),
             ("small", small_holes)]
    for path, (kind, make_mask) in [(p, c) for p in photos for c in cases] if "inpaint" in tasks else ():
        model = open_model("builtin:inpaint", "cpu")
        clean = load(path)
        h, w = clean.shape[:2]
        hole = make_mask(h, w)
        mask = hole.astype(np.uint8) * 255
        t = time.perf_counter()
        out = enhance_photo(photo_from_array(clean), model, mask=mask).pixels.reshape(clean.shape)
        secs = time.perf_counter() - t
        c3 = clean.reshape(h, w, -1).astype(np.float64)
        mean_fill = c3.copy()
        mean_fill[hole] = c3[~hole].mean(axis=0)
        x = torch.from_numpy(c3 / 255).permute(2, 0, 1)[None].float()
        m = torch.from_numpy(hole.astype(np.float32))[None, None]
        diff = (dg.normalized_fill(x * (1 - m), m)[0].permute(1, 2, 0).numpy() * 255).reshape(clean.shape)
        ours = psnr(out, clean, hole if out.ndim == 2 else np.repeat(hole[..., None], 3, 2))
        sel = hole if clean.ndim == 2 else np.repeat(hole[..., None], 3, 2)
        rows.append((f"inpaint {kind} ({hole.mean() * 100:.0f}% hole)", path.name, ours, psnr(mean_fill.reshape(clean.shape), clean, sel), "mean fill", secs))
        rows.append((f"inpaint {kind} ({hole.mean() * 100:.0f}% hole)", path.name, ours, psnr(diff, clean, sel), "normalised-conv fill", secs))

    print("| task | photo | model PSNR | baseline PSNR | baseline | gain | model time |")
    print("|---|---|---|---|---|---|---|")
    for task, name, ours, base, what, secs in rows:
        print(f"| {task} | {name} | {ours:.2f} | {base:.2f} | {what} | {ours - base:+.2f} dB | {secs:.1f} s |")
    print()
    print("| task | baseline | mean gain over the test photos |")
    print("|---|---|---|")
    seen: dict[tuple[str, str], list[float]] = {}
    for task, _name, ours, base, what, _s in rows:
        key = (task.split(" (")[0], what)
        seen.setdefault(key, []).append(ours - base)
    for (task, what), gains in seen.items():
        print(f"| {task} | {what} | {np.mean(gains):+.2f} dB |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
