"""Fitted priors for the latent-variable generators (ex-post density estimation, Ghosh et al.
2020): the codes of the training pictures form a cluster per kind of picture, and a code drawn
from N(0, I) often falls between clusters and decodes to a blend. At export a recipe fits a
Gaussian mixture to the codes it remembered (:class:`CodeMemory`) and the exported net maps a
standard-normal latent with **one extra coordinate** to a sample of that mixture: the extra
coordinate's normal CDF picks the component (:func:`pick_component`), the rest is scaled by the
component's Cholesky factor. Deterministic, differentiable in the latent, exportable to ONNX.

* the VAE (``vae.py``) fits full covariances in its latent space (a few dimensions);
* DRAW (``rnn.py``) has a latent per glimpse (T x z_dim, e.g. 160 numbers), of which only a
  handful carry information: :func:`fit_subspace_mixture` fits the mixture in the leading
  principal directions of the codes and a Gaussian with their variances in the rest
  (:class:`SubspaceMixture` samples it).
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from torch import nn

CODE_MEMORY = 4096  # posterior means of the last pictures trained on, kept for the fitted prior
MAX_COMPONENTS = 20
MAX_SUBSPACE = 12  # leading principal directions that get the mixture (DRAW)
SUBSPACE_VARIANCE = 0.9  # ... or fewer, if they already hold this share of the variance


def pick_component(u: torch.Tensor, cumulative: torch.Tensor) -> torch.Tensor:
    """Component index (N,) for standard-normal ``u`` (N,): where its normal CDF falls among the
    cumulative weights ``cumulative`` (K, last = 1)."""
    p = 0.5 * (1.0 + torch.erf(u.float() * (1.0 / math.sqrt(2.0))))
    return (p[:, None] > cumulative[None, :-1]).sum(1)


def prior_components_for(n: int, d: int) -> int:
    """Mixture size for ``n`` codes of ``d`` dimensions: at least two codes per free parameter
    of a component, at most :data:`MAX_COMPONENTS`; 0 when even one full Gaussian is too many."""
    per = d + d * (d + 1) // 2
    k = min(MAX_COMPONENTS, n // (2 * per))
    return k if k >= 1 else (1 if n > per else 0)


def fit_gaussian_mixture(x: np.ndarray, k: int, iterations: int = 150, seed: int = 0, reg: float = 1e-4):
    """EM for a Gaussian mixture with full covariances; returns (weights, means, covariances).

    Deterministic from ``seed`` (means start at distinct points picked k-means++ style); every
    covariance gets ``reg`` on its diagonal so none becomes singular.
    """
    x = np.asarray(x, dtype=np.float64)
    n, d = x.shape
    rng = np.random.default_rng(seed)
    centres = [x[rng.integers(n)]]
    for _ in range(1, k):
        dist = np.min([((x - c) ** 2).sum(1) for c in centres], axis=0)
        centres.append(x[rng.choice(n, p=dist / dist.sum())] if dist.sum() > 0 else x[rng.integers(n)])
    means = np.stack(centres)
    cov = np.stack([np.cov(x.T).reshape(d, d) + reg * np.eye(d)] * k)
    weights = np.full(k, 1.0 / k)
    previous = -np.inf
    for _ in range(iterations):
        chol = np.linalg.cholesky(cov)
        logp = np.empty((n, k))
        for j in range(k):
            sol = np.linalg.solve(chol[j], (x - means[j]).T)  # (d, n)
            logdet = 2.0 * np.log(np.diag(chol[j])).sum()
            logp[:, j] = np.log(weights[j]) - 0.5 * (logdet + (sol ** 2).sum(0) + d * math.log(2 * math.pi))
        top = logp.max(1, keepdims=True)
        resp = np.exp(logp - top)
        total = resp.sum(1, keepdims=True)
        loglik = float((np.log(total) + top).mean())
        resp /= total
        nk = resp.sum(0) + 1e-10
        weights = nk / n
        means = (resp.T @ x) / nk[:, None]
        for j in range(k):
            diff = x - means[j]
            cov[j] = (diff.T * resp[:, j]) @ diff / nk[j] + reg * np.eye(d)
        if loglik - previous < 1e-6:
            break
        previous = loglik
    return weights, means, cov


class CodeMemory:
    """The codes of the last ``size`` training pictures: a ring on the training device (no host
    copy per step), read once at export and kept in the checkpoint for a resume."""

    def __init__(self, dims: int, device, size: int = CODE_MEMORY) -> None:
        self.size = int(size)
        self._codes = torch.zeros((self.size, int(dims)), device=device)
        self._filled = 0
        self._pos = 0

    def remember(self, codes: torch.Tensor) -> None:
        codes = codes.detach().reshape(codes.shape[0], -1)[-self.size:]
        n, pos = codes.shape[0], self._pos
        first = min(n, self.size - pos)
        self._codes[pos:pos + first] = codes[:first]
        if first < n:
            self._codes[: n - first] = codes[first:]
        self._pos = (pos + n) % self.size
        self._filled = min(self.size, self._filled + n)

    def recent(self) -> torch.Tensor:
        """The remembered codes, oldest first (CPU, float32)."""
        codes = self._codes.detach().float().cpu()
        if self._filled < self.size:
            return codes[: self._filled].clone()
        return torch.cat([codes[self._pos:], codes[: self._pos]])

    def state(self) -> dict[str, Any]:
        return {"codes": self.recent()}

    def load(self, state: dict[str, Any]) -> None:
        codes = state.get("codes") if isinstance(state, dict) else None
        if isinstance(codes, torch.Tensor) and codes.dim() == 2 and codes.shape[1] == self._codes.shape[1]:
            self._filled = self._pos = 0
            if len(codes):
                self.remember(codes.float().to(self._codes.device))


def fit_subspace_mixture(codes: np.ndarray, seed: int = 0) -> dict[str, np.ndarray] | None:
    """A mixture in the leading principal directions of ``codes`` (N, D), a Gaussian with the
    remaining variances in the other directions; None when there are too few codes.

    The subspace is the fewest leading directions that hold :data:`SUBSPACE_VARIANCE` of the
    variance, at most :data:`MAX_SUBSPACE`, with as many components as
    :func:`prior_components_for` allows there.
    """
    x = np.asarray(codes, dtype=np.float64)
    n, d = x.shape
    if n < 4 or not np.isfinite(x).all():
        return None
    mean = x.mean(0)
    _, s, vt = np.linalg.svd(x - mean, full_matrices=True)
    var = np.zeros(d)
    var[: len(s)] = s ** 2 / max(1, n - 1)
    share = np.cumsum(var) / max(var.sum(), 1e-12)
    r = int(min(MAX_SUBSPACE, d, np.searchsorted(share, SUBSPACE_VARIANCE) + 1))
    k = prior_components_for(n, r)
    if k < 1:
        return None
    basis = vt.T  # (D, D), orthonormal columns, leading first
    weights, means, cov = fit_gaussian_mixture((x - mean) @ basis[:, :r], k, seed=seed)
    if not (np.isfinite(means).all() and np.isfinite(cov).all()):
        return None
    return {"weights": weights, "means": means, "tril": np.linalg.cholesky(cov), "mean": mean, "basis": basis,
            "rest": np.sqrt(np.clip(var[r:], 0.0, None))}


class SubspaceMixture(nn.Module):
    """Standard-normal latents ``(N, D + 1)`` -> samples ``(N, D)`` of a mixture fitted by
    :func:`fit_subspace_mixture` (``components`` K, ``dims`` r; buffers set by :meth:`set`)."""

    def __init__(self, total: int, components: int, dims: int) -> None:
        super().__init__()
        self.total, self.components, self.dims = int(total), int(components), int(dims)
        d, k, r = self.total, self.components, self.dims
        self.register_buffer("cum", torch.linspace(1.0 / k, 1.0, k))
        self.register_buffer("means", torch.zeros(k, r))
        self.register_buffer("tril", torch.eye(r).repeat(k, 1, 1))
        self.register_buffer("mean", torch.zeros(d))
        self.register_buffer("basis", torch.eye(d))
        self.register_buffer("rest", torch.ones(d - r))

    def set(self, fitted: dict[str, np.ndarray]) -> None:
        w = torch.as_tensor(fitted["weights"], dtype=torch.float64)
        w = w / w.sum()
        self.cum.copy_(w.cumsum(0).float())
        self.cum[-1] = 1.0
        for name in ("means", "tril", "mean", "basis", "rest"):
            getattr(self, name).copy_(torch.as_tensor(fitted[name]).float())

    def forward(self, latent: torch.Tensor) -> torch.Tensor:
        d, r = self.total, self.dims
        eps, k = latent[:, :d], pick_component(latent[:, d], self.cum)
        inner = self.means[k] + torch.matmul(self.tril[k], eps[:, :r].unsqueeze(-1)).squeeze(-1)
        coords = torch.cat([inner, eps[:, r:] * self.rest], 1)
        return self.mean + coords @ self.basis.T


PREVIEW_BANDWIDTH = 0.3  # the preview's kernel width, in units of the codes' own spread
PREVIEW_MIN_CODES = 256


def preview_codes(memory: CodeMemory, n: int, generator: torch.Generator) -> torch.Tensor | None:
    """Codes for the *live* samples of a run that will export a fitted prior: remembered codes
    of random recent training pictures, each moved by a Gaussian of ``PREVIEW_BANDWIDTH`` x the
    codes' covariance (a kernel density estimate of the same codes the mixture is fitted to at
    export). Fitting that mixture takes seconds to tens of seconds, too slow for every sample
    interval; this costs a covariance. Without it the live grid shows N(0, I) samples, blends
    between the kinds of picture that the exported model no longer draws. None while fewer than
    ``PREVIEW_MIN_CODES`` codes are remembered (then the caller keeps N(0, I)). CPU, float32."""
    codes = memory.recent()
    if len(codes) < PREVIEW_MIN_CODES or not bool(torch.isfinite(codes).all()):
        return None
    centred = codes - codes.mean(0)
    cov = centred.T.double() @ centred.double() / (len(codes) - 1)
    vals, vecs = torch.linalg.eigh(cov)
    root = (vecs * vals.clamp(min=0).sqrt()).float()  # cov = root @ root.T
    pick = torch.randint(len(codes), (int(n),), generator=generator)
    noise = torch.randn((int(n), codes.shape[1]), generator=generator)
    return codes[pick] + PREVIEW_BANDWIDTH * noise @ root.T
