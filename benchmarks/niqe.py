"""NIQE (Mittal, Soundararajan & Bovik 2013, "Making a 'completely blind' image quality
analyzer"), a no-reference quality score (lower = more natural), in numpy + scipy.

A port of basicsr 1.4.2's ``basicsr/metrics/niqe.py`` (Apache-2.0, (c) XPixel / Xintao Wang
et al.), step for step so its figures compare with the papers that use basicsr: the
natural-scene model ``benchmarks/data/niqe_pris_params.npz`` is basicsr's own file (the
official MATLAB release's parameters: the mean and covariance of 36 features over pristine
images, and the 7x7 Gaussian window). The pipeline:

* RGB in 0..255 -> the Y channel of BT.601 YCbCr (16 + 65.481 R + 128.553 G + 24.966 B, float32,
  as basicsr's ``to_y_channel``), ``crop_border`` pixels off each side, rounded;
* the image cropped to whole 96 x 96 blocks; at two scales (full, and half by MATLAB's
  antialiased bicubic ``imresize``): MSCN coefficients (local mean and deviation with the
  Gaussian window, ``mode='nearest'``), per block the AGGD fit of the coefficients and of their
  products with the 4 neighbours -> 18 features per scale;
* a Gaussian fitted to the blocks' features, and the distance of its mean to the pristine
  model under the pooled covariance.

``python benchmarks/niqe_vs_basicsr.py SDIST_DIR`` compares this with basicsr's own function.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from scipy.ndimage import convolve
from scipy.special import gamma

PARAMS = Path(__file__).resolve().parent / "data" / "niqe_pris_params.npz"
_GAM = np.arange(0.2, 10.001, 0.001)
_R_GAM = np.square(gamma(1 / _GAM * 2)) / (gamma(1 / _GAM) * gamma(1 / _GAM * 3))


def estimate_aggd_param(block: np.ndarray) -> tuple[float, float, float]:
    block = block.flatten()
    left_std = np.sqrt(np.mean(block[block < 0] ** 2))
    right_std = np.sqrt(np.mean(block[block > 0] ** 2))
    gammahat = left_std / right_std
    rhat = (np.mean(np.abs(block))) ** 2 / np.mean(block**2)
    rhatnorm = (rhat * (gammahat**3 + 1) * (gammahat + 1)) / ((gammahat**2 + 1) ** 2)
    alpha = _GAM[np.argmin((_R_GAM - rhatnorm) ** 2)]
    beta_l = left_std * np.sqrt(gamma(1 / alpha) / gamma(3 / alpha))
    beta_r = right_std * np.sqrt(gamma(1 / alpha) / gamma(3 / alpha))
    return alpha, beta_l, beta_r


def compute_feature(block: np.ndarray) -> list[float]:
    alpha, beta_l, beta_r = estimate_aggd_param(block)
    feat = [alpha, (beta_l + beta_r) / 2]
    for shift in ([0, 1], [1, 0], [1, 1], [1, -1]):
        shifted = np.roll(block, shift, axis=(0, 1))
        alpha, beta_l, beta_r = estimate_aggd_param(block * shifted)
        mean = (beta_r - beta_l) * (gamma(2 / alpha) / gamma(1 / alpha))
        feat.extend([alpha, mean, beta_l, beta_r])
    return feat


def _cubic(x: np.ndarray) -> np.ndarray:
    ax = np.abs(x)
    ax2, ax3 = ax**2, ax**3
    return (1.5 * ax3 - 2.5 * ax2 + 1) * (ax <= 1) + (-0.5 * ax3 + 2.5 * ax2 - 4 * ax + 2) * ((ax > 1) & (ax <= 2))


def _weights_indices(in_len: int, out_len: int, scale: float, antialias: bool = True):
    """MATLAB imresize's bicubic weights (basicsr ``calculate_weights_indices``), float32."""
    kernel_width = 4.0
    if scale < 1 and antialias:
        kernel_width = kernel_width / scale
    x = np.linspace(1, out_len, out_len, dtype=np.float32)
    u = x / np.float32(scale) + np.float32(0.5 * (1 - 1 / scale))
    left = np.floor(u - kernel_width / 2)
    p = math.ceil(kernel_width) + 2
    indices = left[:, None] + np.linspace(0, p - 1, p, dtype=np.float32)[None, :]
    dist = u[:, None] - indices
    weights = np.float32(scale) * _cubic(dist * np.float32(scale)) if (scale < 1 and antialias) else _cubic(dist)
    weights = (weights / weights.sum(1, keepdims=True)).astype(np.float32)
    zeros = (weights == 0).sum(0)  # as basicsr: both narrows keep p - 2 columns
    if zeros[0] != 0:
        indices, weights = indices[:, 1 : p - 1], weights[:, 1 : p - 1]
    if zeros[-1] != 0:
        indices, weights = indices[:, : p - 2], weights[:, : p - 2]
    sym_s = int(-indices.min() + 1)
    sym_e = int(indices.max() - in_len)
    return weights, (indices + sym_s - 1).astype(np.int64), sym_s, sym_e


def imresize(img: np.ndarray, scale: float) -> np.ndarray:
    """MATLAB ``imresize(img, scale)`` (bicubic, antialiased) of a 2-D float image, as basicsr's."""
    img = img.astype(np.float32)
    for axis in (0, 1):
        n = img.shape[axis]
        w, idx, s, e = _weights_indices(n, math.ceil(n * scale), scale)
        pad = [(0, 0), (0, 0)]
        pad[axis] = (max(s, 0), max(e, 0))
        aug = np.pad(img, pad, mode="symmetric")
        if axis == 0:
            img = np.einsum("ok,okw->ow", w, aug[idx]).astype(np.float32)
        else:
            img = np.einsum("ok,hok->ho", w, aug[:, idx]).astype(np.float32)
    return img


def niqe(img: np.ndarray, mu_pris: np.ndarray, cov_pris: np.ndarray, window: np.ndarray, block_h: int = 96, block_w: int = 96) -> float:
    """NIQE of a 2-D Y image in 0..255 (basicsr ``niqe``)."""
    h, w = img.shape
    nbh, nbw = h // block_h, w // block_w
    if nbh == 0 or nbw == 0:
        raise ValueError(f"NIQE needs at least {block_h} x {block_w} pixels, not {h} x {w}")
    img = img[: nbh * block_h, : nbw * block_w]
    distparam = []
    for scale in (1, 2):
        mu = convolve(img, window, mode="nearest")
        sigma = np.sqrt(np.abs(convolve(np.square(img), window, mode="nearest") - np.square(mu)))
        norm = (img - mu) / (sigma + 1)
        feat = []
        for iw in range(nbw):
            for ih in range(nbh):
                block = norm[ih * block_h // scale : (ih + 1) * block_h // scale, iw * block_w // scale : (iw + 1) * block_w // scale]
                feat.append(compute_feature(block))
        distparam.append(np.array(feat))
        if scale == 1:
            img = imresize(img / 255.0, 0.5) * 255.0
    distparam = np.concatenate(distparam, axis=1)
    mu_dist = np.nanmean(distparam, axis=0)
    cov_dist = np.cov(distparam[~np.isnan(distparam).any(axis=1)], rowvar=False)
    inv = np.linalg.pinv((cov_pris + cov_dist) / 2)
    quality = np.matmul(np.matmul(mu_pris - mu_dist, inv), np.transpose(mu_pris - mu_dist))
    return float(np.squeeze(np.sqrt(quality)))


def y_channel(rgb: np.ndarray) -> np.ndarray:
    """BT.601 Y (16..235, float32, not rounded) of an RGB image in 0..255 (basicsr ``to_y_channel``)."""
    x = rgb.astype(np.float32) / 255.0
    return ((np.dot(x, [65.481, 128.553, 24.966]) + 16.0) / 255.0 * 255.0).astype(np.float32)


_PARAMS_CACHE: dict = {}


def calculate_niqe(rgb: np.ndarray, crop_border: int = 0) -> float:
    """basicsr ``calculate_niqe(img, crop_border)`` for an RGB (H, W, 3) or gray (H, W) image
    in 0..255 (basicsr takes BGR; the Y channel is the same)."""
    if not _PARAMS_CACHE:
        p = np.load(PARAMS)
        _PARAMS_CACHE.update(mu=p["mu_pris_param"], cov=p["cov_pris_param"], window=p["gaussian_window"])
    img = rgb.astype(np.float32)
    if img.ndim == 3:
        img = y_channel(img[..., :3]) if img.shape[2] >= 3 else img[..., 0]
    if crop_border:
        img = img[crop_border:-crop_border, crop_border:-crop_border]
    img = img.round()
    return niqe(img, _PARAMS_CACHE["mu"], _PARAMS_CACHE["cov"], _PARAMS_CACHE["window"])
