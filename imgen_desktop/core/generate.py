"""Sampling from a trained generative model (task ``generate``), image grids, and saving them.

Picture ``i`` of ``sample(n, seed)`` is the picture of seed ``seed + i`` (each has its own
latent), so a grid in the app, ``imgen generate --seed S`` and an interpolation between two
tiles all agree. :func:`save_images` is the one writer the CLI and the Generate view share: an
output ending ``.png`` is one grid sheet, anything else a folder of numbered PNGs.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from imgen_desktop.core.errors import ImgenError, ModelError


def make_grid(images: np.ndarray, columns: int = 0, padding: int = 2, background: int = 24) -> np.ndarray:
    """uint8 (N, H, W, C) -> one uint8 (rows*H, columns*W, C) picture with ``padding`` px gaps."""
    images = np.asarray(images)
    if images.ndim == 3:
        images = images[..., None]
    n, h, w, c = images.shape
    if n == 0:
        return np.full((h or 1, w or 1, c or 1), background, np.uint8)
    cols = int(columns) if columns and columns > 0 else int(math.ceil(math.sqrt(n)))
    cols = min(cols, n)
    rows = int(math.ceil(n / cols))
    grid = np.full((rows * h + (rows + 1) * padding, cols * w + (cols + 1) * padding, c), background, np.uint8)
    for i in range(n):
        r, k = divmod(i, cols)
        top, left = padding + r * (h + padding), padding + k * (w + padding)
        grid[top : top + h, left : left + w] = images[i]
    return grid


def _resolve_model_path(spec: str) -> Path:
    from imgen_desktop.core.store import SUFFIX, ModelStore

    path = Path(spec).expanduser()
    if path.suffix == SUFFIX and path.is_file():
        return path
    if path.is_file():
        return path
    store = ModelStore()
    try:
        return store.get(spec).path
    except ModelError:
        if path.suffix == SUFFIX or "/" in spec or "\\" in spec:
            raise ModelError(f"model file not found: {spec}") from None
        raise


class GeneratorModel:
    """A loaded generative model: ``sample(n, seed)`` and ``interpolate(a, b, steps)``."""

    def __init__(self, net, meta: dict[str, Any], device) -> None:
        self.net = net
        self.meta = meta
        self.device = device
        self.latent_shape = tuple(int(x) for x in net.latent_shape)

    def _latents(self, n: int, seed: int):
        import torch

        zs = [torch.randn(self.latent_shape, generator=torch.Generator().manual_seed(int(seed) + i)) for i in range(n)]
        return torch.stack(zs) if zs else torch.zeros((0, *self.latent_shape))

    def _decode(self, z) -> np.ndarray:
        return self._decode_with(self.net, z)

    def _decode_with(self, fn, z) -> np.ndarray:
        import torch

        from imgen_desktop.core.models.base import to_uint8

        out = []
        with torch.inference_mode():
            for chunk in z.split(64):
                out.append(to_uint8(fn(chunk.to(self.device)).float()))
        return np.concatenate(out) if out else np.zeros((0, 1, 1, 1), np.uint8)

    def sample(self, n: int, seed: int = 0) -> np.ndarray:
        """``n`` new pictures as uint8 (N, H, W, C): those of seeds ``seed`` … ``seed + n - 1``."""
        if n < 1:
            raise ModelError("the number of images must be at least 1")
        return self._decode(self._latents(n, seed))

    def interpolate(self, seed_a: int, seed_b: int, steps: int = 8) -> np.ndarray:
        """``steps`` pictures along a spherical path between the latents of two seeds (a VAE: a
        straight line between their codes); the ends are the pictures of the two seeds."""
        import torch

        steps = max(2, int(steps))
        za, zb = self._latents(1, seed_a)[0], self._latents(1, seed_b)[0]
        in_codes = hasattr(self.net, "code") and hasattr(self.net, "decode")
        if getattr(self.net, "interpolate_in_codes", in_codes):
            # a VAE, a DRAW with a fitted prior, a GAN with categories: a straight line between
            # the two pictures' codes (one latent coordinate picks a mixture component or a
            # category, and a path through latent space would jump)
            with torch.inference_mode():
                ca, cb = self.net.code(torch.stack([za, zb]).to(self.device)).float()
                t = torch.linspace(0, 1, steps, device=ca.device).view(-1, *([1] * ca.dim()))
                return self._decode_with(self.net.decode, (1 - t) * ca + t * cb)
        a, b = za.flatten(), zb.flatten()
        omega = torch.arccos(torch.clamp(torch.dot(a / a.norm(), b / b.norm()), -1.0, 1.0))
        zs = []
        for t in torch.linspace(0, 1, steps):
            if float(omega) < 1e-4:
                z = (1 - t) * a + t * b
            else:
                z = (torch.sin((1 - t) * omega) * a + torch.sin(t * omega) * b) / torch.sin(omega)
            zs.append(z.reshape(za.shape))
        return self._decode(torch.stack(zs))


def load_generator(spec: str, device: str = "cpu") -> GeneratorModel:
    """Load a generate model by store name or file path; ModelError for anything else."""
    from imgen_desktop.core.devices import resolve_device
    from imgen_desktop.core.models import load_network
    from imgen_desktop.core.store import read_meta

    path = _resolve_model_path(spec)
    meta = read_meta(path)
    if meta.get("task") != "generate":
        raise ModelError(f"{path.name} is a {meta.get('task')} model; generating needs a model trained with --task generate")
    dev = resolve_device(device)
    net, meta = load_network(path, str(dev))
    return GeneratorModel(net, meta, dev)


# --- saving (the CLI and the Generate view) ---------------------------------------------------

def write_png(image: np.ndarray, path: str | Path) -> Path:
    """One uint8 (H, W, C) picture to ``path`` as PNG, atomically."""
    from PIL import Image

    from imgen_desktop.core.atomic import atomic_path

    array = np.asarray(image, dtype=np.uint8)
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    path = Path(path)
    try:
        with atomic_path(path) as tmp:
            Image.fromarray(array).save(tmp, format="PNG")
    except OSError as exc:
        raise ImgenError(f"could not write {path} ({exc.strerror or exc})") from None
    return path


def file_names(n: int, seed: int = 0, interpolate: bool = False) -> list[str]:
    """The names a folder of ``n`` pictures gets: ``sample_<seed>_<i>.png`` (``interp_…`` for a path)."""
    stem = "interp" if interpolate else "sample"
    return [f"{stem}_{int(seed)}_{i:04d}.png" for i in range(n)]


def save_images(images: np.ndarray, out: str | Path, seed: int = 0, interpolate: bool = False) -> list[Path]:
    """``out`` ending ``.png``: one grid sheet (one row for an interpolation); otherwise a folder
    of one PNG per picture (see :func:`file_names`). Every file is written atomically; returns them."""
    images = np.asarray(images)
    if images.ndim == 3:
        images = images[None]
    if len(images) == 0:
        raise ImgenError("there are no pictures to save")
    out = Path(out)
    if out.suffix.lower() == ".png":
        return [write_png(make_grid(images, len(images) if interpolate else 0), out)]
    if out.exists() and not out.is_dir():
        raise ImgenError(f"{out} exists and is not a folder; give a folder or a .png file name")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ImgenError(f"could not create the folder {out} ({exc.strerror or exc})") from None
    return [write_png(img, out / name) for img, name in zip(images, file_names(len(images), seed, interpolate))]
