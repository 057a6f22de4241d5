"""Blend a result with its original through a painted mask: pure numpy on Photo arrays.

The Enhance tab records where the original should show through as an ``HxW`` uint8 mask
(255 = the original, 0 = the result, values between mix them; soft brush edges are such values).
:func:`blend_photos` returns the result with the original mixed in where the mask says, at the
result's size, bit depth and channels; alpha is blended the same way and the ICC profile, EXIF
and source of the result are kept. Nothing here imports Qt or torch.
"""
from __future__ import annotations

import dataclasses

import numpy as np
from PIL import Image

from imgen_desktop.core.errors import ImgenError


def _top(dtype) -> float:
    return 65535.0 if np.dtype(dtype) == np.uint16 else 255.0


def _resize_plane(plane: np.ndarray, width: int, height: int, resample=Image.Resampling.BICUBIC) -> np.ndarray:
    """One float32 plane resized (PIL mode "F": any bit depth, no rounding)."""
    if plane.shape == (height, width):
        return plane.astype(np.float32, copy=False)
    return np.asarray(Image.fromarray(plane.astype(np.float32), mode="F").resize((width, height), resample))


def original_at_result_size(original, result) -> tuple[np.ndarray, np.ndarray | None]:
    """The original's pixels (HxWxC) and alpha (HxW or None) as float32 in [0, 1] at the result's
    size and channel count — the part of a blend that does not change while the mask is painted."""
    h, w = result.pixels.shape[:2]
    src = np.asarray(original.pixels)
    if src.ndim == 2:
        src = src[:, :, None]
    top = _top(src.dtype)
    planes = [_resize_plane(src[:, :, c] / top, w, h) for c in range(src.shape[2])]
    base = np.clip(np.stack(planes, -1), 0, 1)
    c = result.pixels.shape[2] if result.pixels.ndim == 3 else 1
    if base.shape[2] != c:
        base = np.repeat(base.mean(axis=2, keepdims=True), c, axis=2) if c == 3 else base.mean(axis=2, keepdims=True)
    alpha = None
    if original.alpha is not None:
        alpha = np.clip(_resize_plane(np.asarray(original.alpha) / _top(np.asarray(original.alpha).dtype), w, h), 0, 1)
    return base, alpha


def mask_weights(mask: np.ndarray, width: int, height: int) -> np.ndarray:
    """``mask`` (HxW uint8, any size) -> HxW float32 weights of the original in [0, 1]."""
    m = np.asarray(mask)
    if m.ndim == 3:
        m = m[:, :, 0]
    if m.ndim != 2:
        raise ImgenError(f"the blend mask must be a gray image, not shape {m.shape}")
    weights = m.astype(np.float32) / (65535.0 if m.dtype == np.uint16 else 255.0)
    return np.clip(_resize_plane(weights, width, height, Image.Resampling.BILINEAR), 0, 1)


def blend_photos(original, result, mask: np.ndarray, base=None):
    """The result with the original painted back where ``mask`` is set (see the module doc).

    ``base``: :func:`original_at_result_size` of the pair when already computed (it is what
    takes time on big photos). Returns a new Photo; the inputs are not changed.
    """
    pixels = np.asarray(result.pixels)
    gray = pixels.ndim == 2
    if gray:
        pixels = pixels[:, :, None]
    h, w = pixels.shape[:2]
    top = _top(pixels.dtype)
    orig, orig_alpha = base if base is not None else original_at_result_size(original, result)
    weight = mask_weights(mask, w, h)
    mixed = pixels.astype(np.float32) / top
    mixed += (orig - mixed) * weight[:, :, None]
    out = (mixed * top + 0.5).clip(0, top).astype(pixels.dtype)
    if gray:
        out = out[:, :, 0]
    alpha = result.alpha
    if alpha is not None or orig_alpha is not None:
        a_dtype = np.asarray(alpha).dtype if alpha is not None else pixels.dtype
        a_top = _top(a_dtype)
        ra = np.asarray(alpha).astype(np.float32) / a_top if alpha is not None else np.ones((h, w), np.float32)
        oa = orig_alpha if orig_alpha is not None else np.ones((h, w), np.float32)
        alpha = ((ra + (oa - ra) * weight) * a_top + 0.5).clip(0, a_top).astype(a_dtype)
    return dataclasses.replace(result, pixels=np.ascontiguousarray(out), alpha=alpha)
