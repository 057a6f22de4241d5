"""Training health: each family's known failure mode, watched live.

* GAN mode collapse — ``health.diversity``: mean pairwise distance of generated samples over
  that of real samples in a fixed feature space (~1 healthy, -> 0 collapse); ``health.d_real`` /
  ``health.d_fake``: mean discriminator outputs (D overpowering G when they separate fully).
* VAE posterior collapse — ``health.active_units``: latent dimensions whose batch-average KL
  exceeds 0.01 nats (0 = the decoder ignores the latent code).
* RNN vanishing / exploding gradients — ``health.grad_norm`` (largest global norm before
  clipping since the last evaluation),
  ``health.clip_fraction`` and ``health.grad_ratio`` (gradient reaching the first unroll step
  over the last one).
* Overfitting (every family, when the run holds pictures out: ``TrainConfig.val_split``) —
  ``health.overfit``: how far, in percent, the validation loss ``val.loss`` has risen above its
  lowest value while the same loss on training pictures ``val.train`` kept falling (Prechelt's
  "generalization loss", see :class:`OverfitWatch`).

The functions here compute the numbers (torch, called at sample time, not on the hot path);
:class:`HealthMonitor` turns metric values into ok / warn / bad with hysteresis and emits a
:class:`~imgen_desktop.core.events.Health` event only when a state changes.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Iterable

from imgen_desktop.core.events import Health

OK, WARN, BAD = "ok", "warn", "bad"
_RANK = {OK: 0, WARN: 1, BAD: 2}


# --- measurements ------------------------------------------------------------------------

def pairwise_distance_mean(features):
    """Mean Euclidean distance over all distinct pairs of rows of an (N, D) tensor."""
    import torch

    f = features.detach().float().flatten(1)
    n = f.shape[0]
    if n < 2:
        return 0.0
    d = torch.cdist(f, f)
    return float(d.sum() / (n * (n - 1)))


def diversity_ratio(fake_features, real_features, eps: float = 1e-8) -> float:
    """Sample diversity of generated vs real data in the same feature space (~1 healthy)."""
    real = pairwise_distance_mean(real_features)
    return pairwise_distance_mean(fake_features) / (real + eps)


def random_projection_features(images, dim: int = 256, seed: int = 1234):
    """A fixed random projection of images (N, C, H, W) -> (N, dim): a model-free feature space.

    Images are average-pooled to at most 16x16 first, so the projection is cheap and insensitive
    to pixel-level noise.
    """
    import torch
    import torch.nn.functional as F

    x = images.detach().float()
    if x.shape[-1] > 16:
        x = F.adaptive_avg_pool2d(x, 16)
    x = x.flatten(1)
    gen = torch.Generator().manual_seed(seed)
    proj = torch.randn(x.shape[1], dim, generator=gen) / math.sqrt(x.shape[1])
    return x.cpu() @ proj


def kl_per_dimension(mu, logvar):
    """Batch-average KL(q(z|x) || N(0, I)) per latent dimension, in nats: (D,) tensor."""
    kl = 0.5 * (mu.float() ** 2 + logvar.float().exp() - 1.0 - logvar.float())
    return kl.flatten(2).sum(-1).mean(0) if kl.dim() > 2 else kl.mean(0)


def active_units(mu, logvar, threshold: float = 0.01) -> int:
    """Latent dimensions whose average KL exceeds ``threshold`` nats (0 = posterior collapse)."""
    return int((kl_per_dimension(mu, logvar) > threshold).sum())


def global_grad_norm(parameters: Iterable) -> float:
    total = 0.0
    for p in parameters:
        if p.grad is not None:
            total += float(p.grad.detach().float().pow(2).sum())
    return math.sqrt(total)


# --- rules -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Rule:
    """Thresholds for one diagnostic. ``low=True``: small values are bad (e.g. diversity)."""

    key: str
    title: str
    warn: float
    bad: float
    low: bool
    explanation: dict[str, str]
    remedies: tuple[str, ...]
    margin: float = 0.1  # hysteresis, as a fraction of the threshold
    families: tuple[str, ...] = ("gan", "vae", "rnn")
    min_step: int = 0  # ignore evaluations before this step (warm-up)
    patience: int = 2  # consecutive evaluations needed to get worse
    calm: int = 1  # consecutive clearly better evaluations needed to get better
    optional: bool = False  # only some runs report it (the strip shows its light once it arrives)
    unit: str = ""  # shown after the value ("%")

    def raw_state(self, value: float) -> str:
        if not math.isfinite(value):
            return BAD
        if self.low:
            return BAD if value < self.bad else WARN if value < self.warn else OK
        return BAD if value > self.bad else WARN if value > self.warn else OK

    def improved_past_margin(self, value: float, current: str) -> bool:
        """With hysteresis: has the value recovered clearly past ``current``'s threshold?"""
        threshold = self.warn if current == WARN else self.bad
        if self.low:
            return value >= threshold * (1 + self.margin)
        return value <= threshold * (1 - self.margin)


GAN_REMEDIES = (
    "switch the loss to hinge or WGAN-GP (--loss hinge)",
    "add spectral norm to the discriminator (--spectral-norm)",
    "turn on DiffAugment for small datasets (--augment)",
    "lower the learning rate (--lr)",
)
VAE_REMEDIES = (
    "use a longer KL warm-up (--kl-warmup)",
    "lower beta (--beta)",
    "keep a few nats per dimension with free bits (--free-bits 0.1)",
)
RNN_REMEDIES = (
    "clip gradients (--clip-grad 1.0)",
    "use LSTM/GRU cells (the default) rather than plain RNN cells",
    "lower the learning rate (--lr)",
)
OVERFIT_REMEDIES = (
    "train on more pictures",
    "turn on augmentation (a GAN's --augment)",
    "stop earlier, about where the validation loss was lowest (--steps)",
)


def plain_remedies(remedies: Iterable[str]) -> str:
    """Remedies in words without their CLI flags, joined: for the GUI."""
    import re

    return "; ".join(re.sub(r"\s*\([^)]*--[^)]*\)", "", r) for r in remedies)

RULES: tuple[Rule, ...] = (
    Rule(
        "health.diversity", "Sample diversity (mode collapse)", warn=0.3, bad=0.15, low=True,
        explanation={
            WARN: "Generated samples are becoming less varied than the real pictures: the GAN may be starting to collapse to a few modes.",
            BAD: "The generator produces nearly the same picture for every input (mode collapse).",
            OK: "Generated samples are about as varied as the real pictures.",
        },
        # an untrained generator draws near-identical blobs: judge diversity once it has had
        # time to learn (measured on digits: ~0.002 at step 1, ~0.5 by step 200)
        remedies=GAN_REMEDIES, families=("gan",), min_step=200,
    ),
    Rule(
        "health.d_gap", "Discriminator dominance", warn=0.9, bad=0.98, low=False,
        explanation={
            WARN: "The discriminator separates real from generated pictures almost perfectly; the generator's gradients are getting weak.",
            BAD: "The discriminator wins completely: the generator gets almost no learning signal.",
            OK: "Generator and discriminator are balanced.",
        },
        remedies=GAN_REMEDIES, families=("gan",), min_step=100, patience=3,
    ),
    Rule(
        "health.active_units", "Active latent units (posterior collapse)", warn=2.5, bad=0.5, low=True,
        explanation={
            WARN: "Only one or two latent dimensions carry information: the VAE is close to posterior collapse.",
            BAD: "No latent dimension carries information: the decoder ignores the latent code (posterior collapse).",
            OK: "Several latent dimensions carry information about the pictures.",
        },
        remedies=VAE_REMEDIES, families=("vae",), margin=0.0, min_step=1,
    ),
    Rule(
        # losses are normalised per pixel, so healthy global norms stay around 0.01-5 (measured:
        # DRAW on digits 0.0-0.2 at lr 1e-3; 130+ within two steps at lr 5 without clipping)
        "health.grad_norm", "Gradient norm (exploding gradients)", warn=10.0, bad=100.0, low=False,
        explanation={
            WARN: "Gradients are very large: training may become unstable (exploding gradients).",
            BAD: "Gradients are exploding: updates are huge and training is diverging.",
            OK: "Gradient norms are in a healthy range.",
        },
        remedies=RNN_REMEDIES, families=("rnn",), min_step=1,
    ),
    Rule(
        "health.grad_ratio_low", "Gradient reaching the first step (vanishing)", warn=1e-3, bad=1e-5, low=True,
        explanation={
            WARN: "Little gradient reaches the first unroll steps: early steps learn slowly (vanishing gradients).",
            BAD: "Almost no gradient reaches the first unroll steps (vanishing gradients).",
            OK: "Gradients flow back through the whole unroll.",
        },
        remedies=RNN_REMEDIES, families=("rnn",), min_step=1,
    ),
    Rule(
        "health.grad_ratio_high", "Gradient growth through the unroll (exploding)", warn=1e3, bad=1e5, low=False,
        explanation={
            WARN: "Gradients grow strongly back through the unroll (exploding gradients).",
            BAD: "Gradients explode back through the unroll.",
            OK: "Gradients flow back through the whole unroll.",
        },
        remedies=RNN_REMEDIES, families=("rnn",), min_step=1,
    ),
    Rule(
        # percent above the lowest validation loss, counted only while the training loss falls;
        # measured on 8x8 digits, a VAE: 16 training pictures reach 5-8 % within 300-600 steps
        # (the loss has an entropy floor: a few percent is a lot), all 1,707 stay at 0-0.2 %
        "health.overfit", "Overfitting (validation loss)", warn=3.0, bad=10.0, low=False,
        explanation={
            WARN: "The validation loss is rising while the training loss keeps falling: the model is "
                  "starting to memorise its training pictures (overfitting).",
            BAD: "The validation loss has risen well above its lowest while the training loss keeps "
                 "falling: the model memorises its training pictures (overfitting).",
            OK: "The validation loss follows the training loss: no sign of overfitting.",
        },
        # calm: a noisy validation loss touching a new low once is no recovery (it flickered)
        remedies=OVERFIT_REMEDIES, optional=True, unit="%", calm=3,
    ),
    Rule(
        # Karras et al.'s r_v: 0 = held-out real pictures are scored like the training ones,
        # 1 = like generated ones; measured on 16x16 digits: 0.4-0.5 by step 300 on 18 pictures
        "health.d_overfit", "Overfitting (discriminator)", warn=0.3, bad=0.6, low=False,
        explanation={
            WARN: "The discriminator scores held-out real pictures lower than the training ones: it "
                  "is starting to memorise the training pictures (overfitting), and the generator learns less.",
            BAD: "The discriminator treats held-out real pictures almost like generated ones: it has "
                 "memorised the training pictures (overfitting).",
            OK: "The discriminator scores held-out and training pictures alike: no sign of overfitting.",
        },
        remedies=OVERFIT_REMEDIES, families=("gan",), optional=True, patience=3, calm=3,
    ),
)


def d_overfit(d_train: float, d_val: float, d_fake: float) -> float:
    """Karras et al. 2020's overfitting heuristic ``r_v = (E[D(train)] - E[D(val)]) / (E[D(train)] - E[D(fake)])``
    on the discriminator's raw outputs, clamped to [-1, 2]; 0 when D cannot tell fakes from training pictures."""
    span = float(d_train) - float(d_fake)
    if not math.isfinite(span) or span <= 1e-3:
        return 0.0
    return round(max(-1.0, min(2.0, (float(d_train) - float(d_val)) / span)), 4)


@dataclass
class OverfitWatch:
    """``health.overfit`` from the validation curves, one evaluation at a time.

    Prechelt's generalization loss (L. Prechelt, "Early stopping — but when?", 1998):
    ``GL(t) = 100 * (E_va(t) / E_opt(t) - 1)``, the percent by which the validation loss
    ``val.loss`` is above the lowest it has been. It only counts while the training side
    ``val.train`` (the same loss on as many training pictures) is below its value at that
    lowest point: a validation loss that rises with the training loss is a training problem
    (divergence, a GAN's tug of war), not overfitting.

    Both are first smoothed over the evaluations (an EMA, weight ``smoothing`` on the past):
    on a few held-out pictures the raw loss wobbles by a few percent, and a lowest point that
    is one lucky wobble made the light flicker on a flat validation curve.
    """

    best_val: float = math.inf
    best_train: float = math.nan
    best_step: int = -1
    smoothing: float = 0.5
    _val: float = math.nan
    _train: float = math.nan

    def update(self, step: int, val: float, train: float) -> dict[str, float]:
        if not (math.isfinite(val) and math.isfinite(train)):
            return {}
        if math.isfinite(self._val) and self.smoothing > 0:
            a = self.smoothing
            val, train = a * self._val + (1 - a) * float(val), a * self._train + (1 - a) * float(train)
        self._val, self._train = val, train = float(val), float(train)
        if val < self.best_val:
            self.best_val, self.best_train, self.best_step = float(val), float(train), int(step)
            return {"health.overfit": 0.0}
        rise = 100.0 * (val / self.best_val - 1.0) if self.best_val > 0 else 0.0
        return {"health.overfit": round(rise, 3) if train < self.best_train else 0.0}

    def replay(self, rows: Iterable[dict]) -> None:
        """Pick up a resumed run's history (``metrics.jsonl`` rows)."""
        for row in rows:
            val, train = row.get("val.loss"), row.get("val.train")
            if isinstance(val, (int, float)) and isinstance(train, (int, float)):
                self.update(int(row.get("step", 0)), float(val), float(train))


def derived_values(values: dict[str, float]) -> dict[str, float]:
    """Rule inputs computed from raw metrics (e.g. D's real/fake gap, both ratio directions)."""
    out = dict(values)
    if "health.d_real" in values and "health.d_fake" in values:
        out["health.d_gap"] = abs(values["health.d_real"] - values["health.d_fake"])
    if "health.grad_ratio" in values:
        out["health.grad_ratio_low"] = values["health.grad_ratio"]
        out["health.grad_ratio_high"] = values["health.grad_ratio"]
    return out


def rules_for(family: str, optional: bool = True) -> list[Rule]:
    """The rules of a family (``optional=False``: only those every run of it reports)."""
    return [r for r in RULES if family in r.families and (optional or not r.optional)]


@dataclass
class _Track:
    state: str = OK
    worse_count: int = 0
    better_count: int = 0
    value: float = float("nan")


@dataclass
class HealthMonitor:
    """Turns health metrics into state changes with hysteresis (no flicker).

    Getting worse needs ``rule.patience`` consecutive worse evaluations; getting better needs
    the value to move past the threshold by ``rule.margin``.
    """

    family: str
    tracks: dict[str, _Track] = field(default_factory=dict)

    def update(self, step: int, values: dict[str, float]) -> list[Health]:
        events = []
        values = derived_values(values)
        for rule in rules_for(self.family):
            if rule.key not in values or step < rule.min_step:
                continue
            value = float(values[rule.key])
            track = self.tracks.setdefault(rule.key, _Track())
            track.value = value
            raw = rule.raw_state(value)
            new = track.state
            if _RANK[raw] > _RANK[track.state]:
                track.worse_count += 1
                if track.worse_count >= rule.patience or raw == BAD and not math.isfinite(value):
                    new = raw
            else:
                track.worse_count = 0
                if _RANK[raw] < _RANK[track.state] and rule.improved_past_margin(value, track.state):
                    track.better_count += 1
                    if track.better_count >= rule.calm:
                        new = raw
                else:
                    track.better_count = 0
            if new != track.state:
                track.state = new
                track.worse_count = track.better_count = 0
                events.append(
                    Health(step, rule.key, new, value, rule.explanation[new], rule.remedies if new != OK else ())
                )
        return events

    def states(self) -> dict[str, tuple[str, float]]:
        return {k: (t.state, t.value) for k, t in self.tracks.items()}


def rule(key: str) -> Rule:
    for r in RULES:
        if r.key == key:
            return r
    raise KeyError(key)


def format_warning(event: Health, title: Callable[[str], str] | None = None) -> str:
    """The CLI's line: ``warning: <diagnostic>: <explanation> — try: <remedies>``."""
    name = rule(event.key).title if title is None else title(event.key)
    remedies = "; ".join(event.remedies)
    return f"warning: {name}: {event.explanation}" + (f" — try: {remedies}" if remedies else "")


# --- one-click remedies --------------------------------------------------------------------
# Each remedy is a label and the TrainConfig changes it makes; "lr_factor" scales the current lr.
REMEDY_OPTIONS: dict[str, tuple[tuple[str, dict], ...]] = {
    "gan": (
        ("Hinge loss", {"gan_loss": "hinge"}),
        ("Spectral norm in D", {"spectral_norm": True}),
        ("DiffAugment", {"augment": True}),
        ("Halve the learning rate", {"lr_factor": 0.5}),
    ),
    "vae": (
        ("Longer KL warm-up", {"kl_warmup": 2000}),
        ("Lower beta to 0.5", {"beta": 0.5}),
        ("Free bits 0.1", {"free_bits": 0.1}),
    ),
    "rnn": (
        ("Clip gradients at 1.0", {"clip_grad": 1.0}),
        ("Halve the learning rate", {"lr_factor": 0.5}),
    ),
}


# Changes that alter the networks: they apply to a new run, never to a resumed checkpoint.
NOT_RESUMABLE = frozenset({"spectral_norm", "categories", "width", "z_dim", "latent_dim", "rnn_steps", "rnn_hidden", "image_size"})


OVERFIT_OPTIONS: dict[str, tuple[tuple[str, dict], ...]] = {"gan": (("DiffAugment", {"augment": True}),)}


def remedies_for(family: str, key: str = "") -> tuple[tuple[str, dict], ...]:
    """One-click remedies of a family's failure modes, or of the diagnostic ``key`` when it has its own."""
    if key in ("health.overfit", "health.d_overfit"):
        return OVERFIT_OPTIONS.get(family, ())
    return REMEDY_OPTIONS.get(family, ())


def apply_remedy(config: dict, changes: dict) -> dict:
    """Return a copy of a TrainConfig dict with a remedy's changes applied."""
    out = dict(config)
    for key, value in changes.items():
        if key == "lr_factor":
            out["lr"] = float(out.get("lr", 2e-4)) * float(value)
        else:
            out[key] = value
    return out
