"""Mean consistency for denoising: the result's local mean colour is brought back to what the
noisy photo says it is.

Noise averages out: over a window of a few hundred pixels the noisy photo's mean is the clean
photo's mean, except where the noise was clipped at 0 or 255 (a saturated red flower: red below
10 on two thirds of it, so the noise there was cut at 0 and the noisy photo is *brighter* in red
than the truth). A denoising network gets this slightly wrong on colours it saw rarely in
training and leaves a cast of one to three levels over whole areas (benchmarks/RESULTS.md:
+1.7 to +2.6 red on resources/photos/test/flower.jpg, -0.5 blue at sigma 50 on CBSD68).

:func:`mean_correction` finds a smooth per-channel offset ``d`` such that, for the denoised
result ``y``, ``blur(E[clip(y + d + n)]) = blur(noisy)``: re-noised with the estimated sigma
and clipped as a camera or file clips, the corrected result would have the noisy photo's local
means. ``E`` of clipped Gaussian noise has a closed form, so the clipping bias is modelled, not
ignored. ``blur`` is a Gaussian of :data:`WINDOW_SIGMA` pixels, computed on a 4x coarser grid
(the offset is smooth by construction), with a few Newton steps. Measured on 10 CBSD68 photos
and the shipped test photos (blind sigma, the 4-pass default): +0.03 / +0.04 / +0.05 dB at
sigma 15 / 25 / 50, flower.jpg's red cast +2.6 -> +0.2 at sigma 50 (benchmarks/RESULTS.md).

:class:`ConsistentSink` applies it in the streaming engine: it keeps the (scale-1) float result
until the last row arrives — one float copy of the photo, only for denoising — and then hands
the corrected rows to the real sink.
"""
from __future__ import annotations

import math

import numpy as np

WINDOW_SIGMA = 16.0  # pixels: the window over which the local mean must match the noisy photo
FACTOR = 4  # the coarse grid the offset is solved on
ITERATIONS = 4
BAND = 256  # rows per band when reading or writing the full-resolution images
MIN_SLOPE = 0.2  # fully clipped areas (slope 0) take at most 5x the mean difference


def _blur(x, sigma: float):
    """Gaussian blur of (N, C, H, W) that renormalises at the borders (any size, no padding bias)."""
    import torch

    from imgen_desktop.core.degrade import _blur_zero

    ones = torch.ones_like(x[:1, :1])
    return _blur_zero(x, sigma) / _blur_zero(ones, sigma).clamp_min(1e-6)


def expected_clipped(x, s: float):
    """E[clip(x + n, 0, 1)] for n ~ N(0, s^2), and its derivative in x (the unclipped share)."""
    import torch

    s = max(float(s), 1e-4)
    a, b = -x / s, (1.0 - x) / s
    pa, pb = torch.special.ndtr(a), torch.special.ndtr(b)
    phi = lambda t: torch.exp(-0.5 * t * t) * (1.0 / math.sqrt(2 * math.pi))  # noqa: E731
    mean = (1.0 - pb) + x * (pb - pa) + s * (phi(a) - phi(b))
    return mean, pb - pa


def _pool(x):
    """(N, C, h, w) -> (N, C, ceil(h/F), ceil(w/F)) block means (the last blocks edge-padded)."""
    import torch.nn.functional as F

    ph, pw = (-x.shape[2]) % FACTOR, (-x.shape[3]) % FACTOR
    if ph or pw:
        x = F.pad(x, (0, pw, 0, ph), mode="replicate")
    return F.avg_pool2d(x, FACTOR)


def _upsample_rows(d_low, r0: int, r1: int, width: int):
    """Rows r0..r1 of the bilinear upsampling of ``d_low`` by :data:`FACTOR` (align_corners off),
    computed from the coarse rows around them only."""
    import torch.nn.functional as F

    lo = max(0, r0 // FACTOR - 1)
    hi = min(d_low.shape[2], -(-r1 // FACTOR) + 1)
    part = d_low[:, :, lo:hi]
    up = F.interpolate(part, scale_factor=FACTOR, mode="bilinear", align_corners=False)
    # interior rows of a slice's upsampling equal the whole map's; the slice edges are clamped
    # differently, and the margin row on each side keeps them out of r0..r1 (except at the map's
    # own edges, where the whole map is clamped the same way)
    return up[:, :, r0 - lo * FACTOR:r1 - lo * FACTOR, :width]


def _check(token) -> None:
    if token is not None and token.checkpoint():
        from imgen_desktop.core.errors import Cancelled

        raise Cancelled("enhancement cancelled")


def mean_correction(result_rows, noisy_rows, height: int, width: int, sigma: float, n: int, c: int, token=None):
    """The coarse offset (N, C, ceil(H/4), ceil(W/4)) for a result and its noisy input, each
    given as a function ``(r0, r1) -> (N, C, r1 - r0, W)`` float tensor in [0, 1].
    ``sigma``: the noise on the 0..1 scale. ``token`` (pause / cancel) is checked every band."""
    import torch

    def pooled(fn):
        parts = []
        for r0 in range(0, height, BAND):
            _check(token)
            parts.append(_pool(fn(r0, min(height, r0 + BAND))))
        return torch.cat(parts, 2)

    target = _blur(pooled(noisy_rows), WINDOW_SIGMA / FACTOR)
    hl, wl = target.shape[2], target.shape[3]
    d = torch.zeros((n, c, hl, wl))
    for _ in range(ITERATIONS):
        means, slopes = [], []
        for r0 in range(0, height, BAND):
            _check(token)
            r1 = min(height, r0 + BAND)
            x = (result_rows(r0, r1) + _upsample_rows(d, r0, r1, width)).clamp_(0, 1)
            m, s = expected_clipped(x, sigma)
            means.append(_pool(m))
            slopes.append(_pool(s))
        e = _blur(torch.cat(means, 2), WINDOW_SIGMA / FACTOR)
        g = _blur(torch.cat(slopes, 2), WINDOW_SIGMA / FACTOR).clamp_min(MIN_SLOPE)
        d += (target - e) / g
    return d


class ConsistentSink:
    """A sink for :func:`core.tiling.stream` that holds the float result, then writes it to
    ``inner`` corrected by :func:`mean_correction` against ``source`` when :meth:`finish` is
    called (rows arrive in order; nothing reaches ``inner`` before then)."""

    def __init__(self, inner, source, channels: int, sigma: float) -> None:
        import torch

        self.inner, self.source, self.sigma = inner, source, float(sigma)
        self.height, self.width = source.height, source.width
        self.out = torch.empty((source.n, channels, self.height, self.width))

    def write(self, r0: int, band) -> None:
        self.out[:, :, r0:r0 + band.shape[2]] = band

    def finish(self, token=None) -> None:
        cols = np.arange(self.width)
        n, c = self.out.shape[:2]

        def noisy(r0, r1):
            return self.source.image(np.arange(r0, r1), cols)

        d = mean_correction(lambda r0, r1: self.out[:, :, r0:r1], noisy, self.height, self.width, self.sigma, n, c,
                            token=token)
        for r0 in range(0, self.height, BAND):
            r1 = min(self.height, r0 + BAND)
            self.inner.write(r0, (self.out[:, :, r0:r1] + _upsample_rows(d, r0, r1, self.width)).clamp_(0, 1))
        self.out = None  # the float copy goes as soon as the result is written
