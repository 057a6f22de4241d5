"""Health events and one-click remedies for the Train panel, in the GUI's words (no CLI flags).

A remedy either becomes part of the next run (kept by the form over preset and task changes, or
dropped with a note) or restarts the current / last run from its checkpoint with the change.
"""
from __future__ import annotations

from imgen_desktop.core import health
from imgen_desktop.core.config import TrainConfig

# What each core.health remedy does, said as a button would say it.
REMEDY_WORDS = {
    "Hinge loss": "Use hinge loss",
    "Spectral norm in D": "Add spectral norm to the discriminator",
    "DiffAugment": "Turn on augmentation",
    "Halve the learning rate": "Halve the learning rate",
    "Longer KL warm-up": "Use a longer KL warm-up (2,000 steps)",
    "Lower beta to 0.5": "Lower β to 0.5",
    "Free bits 0.1": "Keep 0.1 free bits per latent unit",
    "Clip gradients at 1.0": "Clip gradients at 1.0",
}


def remedy_words(label: str) -> str:
    return REMEDY_WORDS.get(label, label)


def remedy_label(family: str, changes: dict) -> str:
    for label, option in health.remedies_for(family):
        if option == changes:
            return remedy_words(label)
    return ", ".join(f"{k.replace('_factor', '')} → {v}" for k, v in changes.items())


class RemedyMixin:
    """Health handling of :class:`~imgen_desktop.ui.train.panel.TrainPanel` (uses its state and views)."""

    def _on_health(self, event: dict) -> None:
        state = event.get("state", "")
        try:
            title = health.rule(event.get("key", "")).title
        except KeyError:
            title = event.get("key", "")
        if state in ("warn", "bad"):
            family = self.worker.config.family if self.worker is not None else self.form_state.family
            options = "; ".join(remedy_words(label).lower() for label, _ in health.remedies_for(family, event.get("key", "")))
            if event.get("key") in ("health.overfit", "health.d_overfit"):  # its own advice, in words
                options = health.plain_remedies(event.get("remedies", ()))
            self.log(f"{title}: {event.get('explanation', '')} Click its light above the plot for remedies"
                     + (f" ({options})." if options else "."), "warning")
        else:
            self.log(f"{title}: {event.get('explanation', '')}")
        self.sigHealth.emit(event)

    def _on_remedy(self, changes: dict, restart: bool) -> None:
        """Apply a health remedy to the next run, or restart the current / last run from its checkpoint with it."""
        running = self.worker is not None
        family = self.worker.config.family if running else self.form_state.family
        words = remedy_label(family, changes)
        if not restart:
            self.form_state.choose_remedy(words, changes)
            self.form.show_state()
            self.log(f"For the next run: {words.lower()}." + (" The current run is unchanged." if running else ""))
            return
        name = self.worker.config.name if running else self.run.run_name
        cfg = self.worker.config if running else self._last_run_config(name)
        new = TrainConfig.from_dict(health.apply_remedy(cfg.to_dict(), changes))
        blocked = [k for k in changes if k in health.NOT_RESUMABLE]
        if blocked or not name:
            reason = ("it changes the networks, so a checkpoint cannot continue with it" if blocked
                      else "there is no run to restart yet")
            self.form_state.choose_remedy(words, changes)
            self.form.show_state()
            self.log(f"{words} is set for the next run ({reason}). Press ▶ Start for a new run.", "warning")
            return
        new.name = name
        if not running and self.run.step >= new.steps:
            # the run had reached its end: continue it for another half of its length
            new.steps = self.run.step + max(1, new.steps // 2)
            self.log(f"“{name}” had finished; it continues to step {new.steps:,} with the remedy.")
        if running:
            self._pending_restart = new
            self.log(f"Restarting “{name}” from its last checkpoint: {words.lower()}…")
            self._on_stop()
        else:
            self._restart_from_checkpoint(new)

    def _last_run_config(self, name: str) -> TrainConfig:
        """The settings the last run was trained with (the form may have changed since)."""
        if name:
            from imgen_desktop.core.errors import ImgenError
            from imgen_desktop.core.trainer import load_run_config

            try:
                return load_run_config(name)
            except ImgenError:
                pass
        return self.config()

    def _restart_from_checkpoint(self, cfg: TrainConfig) -> None:
        self._pending_restart = None
        self.set_config(cfg)
        self.run.resume_name = cfg.name
        self._on_start()
