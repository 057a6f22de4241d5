"""The validation loss of a run that holds pictures out (``TrainConfig.val_split``).

At each sample time the trainer asks :class:`Validator` for the recipe's own validation loss
(``Recipe.validation``) on a fixed batch of held-out pictures and on as many training pictures,
evaluated the same way (no_grad, eval mode, the same seeded noise each time), and writes

* ``val.loss`` — on the held-out pictures (the validation curve);
* ``val.train`` — the same loss on training pictures (its twin: the gap between the two is what
  overfitting widens);
* ``val.<name>`` — the recipe's other held-out values (``val.recon``, ``val.psnr``, ``val.d_real``);
* ``health.overfit`` — :class:`core.health.OverfitWatch` over the two; for a GAN (whose
  discriminator loss has no "lowest point" to rise from: it swings with the generator)
  ``health.d_overfit`` instead, Karras et al.'s ``r_v`` (:func:`core.health.d_overfit`).

Which loss each family uses: VAE the negative ELBO, DRAW its loss, GAN the discriminator's
log-loss on real pictures, enhancement the L1 pixel loss (and PSNR) on crops with the
evaluation degradation; see each recipe's ``validation``.
"""
from __future__ import annotations

from typing import Any

from imgen_desktop.core.health import OverfitWatch, d_overfit

VAL_KEYS = ("val.loss", "val.train")  # the validation curves (drawn with the losses)
MAX_FIXED = 64  # held-out pictures evaluated (datasets of whole pictures)
MAX_PATCHES = 32  # held-out crops evaluated (enhancement tasks, builtin:photos)


class Validator:
    """Fixed held-out and training batches, and the overfitting watch of one run."""

    def __init__(self, dataset, device, seed: int) -> None:
        held = dataset.validation
        n = MAX_FIXED if held.mode == "fixed" else MAX_PATCHES
        self.device = device
        self.seed = int(seed) + 4099  # another stream than the sample grids and diagnostics
        self.held = held.fixed_batch(n, device, seed=self.seed)
        self.train = dataset.fixed_batch(len(self.held), device, seed=self.seed)
        self.watch = OverfitWatch()

    @classmethod
    def for_dataset(cls, dataset, device, seed: int) -> "Validator | None":
        return cls(dataset, device, seed) if getattr(dataset, "validation", None) is not None else None

    def evaluate(self, recipe, step: int) -> dict[str, float]:
        """``val.*`` and ``health.overfit`` at ``step``; {} when the recipe has no validation loss."""
        held = self._run(recipe, self.held)
        if "loss" not in held:
            return {}
        train = self._run(recipe, self.train)
        out = {f"val.{k}": float(v) for k, v in held.items()}
        out["val.train"] = float(train["loss"])
        if "d_fake" in held and "d_real" in train:  # a GAN: its discriminator's outputs tell
            out["val.train_d_real"] = float(train["d_real"])
            out["health.d_overfit"] = d_overfit(train["d_real"], held["d_real"], held["d_fake"])
        else:
            out.update(self.watch.update(step, out["val.loss"], out["val.train"]))
        return out

    def _run(self, recipe, batch) -> dict[str, Any]:
        import torch

        cuda = [self.device] if self.device.type == "cuda" else []
        with torch.no_grad(), torch.random.fork_rng(devices=cuda):
            torch.manual_seed(self.seed)
            return dict(recipe.validation(batch) or {})

    def replay(self, rows: list[dict]) -> None:
        """A resumed run: the watch continues from the curves so far."""
        self.watch.replay(rows)
