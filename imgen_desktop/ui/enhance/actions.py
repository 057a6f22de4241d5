"""The canvas's newer actions: pause / resume and continue a batch, compare models on the photo,
and the blend mask. A mixin of :class:`EnhanceCanvas` (it uses the canvas's ``state``, runners
and views)."""
from __future__ import annotations

from pathlib import Path

from imgen_desktop.core.enhance import EnhanceOptions


def _resolved(path: str) -> str:
    try:
        return str(Path(path).expanduser().resolve())
    except OSError:
        return str(path)


class ActionsMixin:
    # --- batches ----------------------------------------------------------------------------------
    def toggle_pause(self) -> None:
        """Pause the running batch (it stops after the current tile), or resume it."""
        if self.state.paused:
            self.runner.resume()
        else:
            self.runner.pause()

    def is_paused(self) -> bool:
        return self.state.paused

    def continue_batch(self) -> bool:
        """Finish the unfinished batch offered for these photos: its folder, model and settings."""
        s = self.state
        m = s.resume
        if m is None or self.is_busy():
            return False
        choice = next((c for c in s.models if c.path and _resolved(c.path) == m.model), None)
        if choice is None:
            s.error(f"The model of that batch ({Path(m.model).stem}) is no longer available; "
                    "choose a model and Apply to start the batch again.", "batch")
            return False
        s.set_model(choice)
        o = m.options
        options = EnhanceOptions(tile=o.get("tile"), passes=o.get("passes"), noise_level=o.get("noise_level"),
                                 variation_seed=o.get("variation_seed"), device=self.options.device(),
                                 quality=int(o.get("quality", 95)), format=o.get("format"),
                                 name_template=o.get("name_template"))
        self.runner.start_batch(m.out_dir, choice, options, inputs=list(m.inputs))
        return True

    # --- compare models ---------------------------------------------------------------------------
    def open_compare(self) -> bool:
        """The side-by-side page for the current photo (Back returns to it)."""
        s = self.state
        if s.photo is None or s.batch or self.is_busy():
            s.error("Open one photo first: models are compared on a single photo.", "apply")
            return False
        page = self.compare_page
        if len(page.checked()) < 2 and s.model is not None:  # start from the chosen model
            page.set_checked([s.model.spec])
        page.first_shown(s)
        self.stack.setCurrentWidget(page)
        return True

    def close_compare(self) -> None:
        if not self.comparer.is_busy():
            self.stack.setCurrentIndex(1 if self.state.has_content() else 0)

    def compare_models(self, choices: list) -> bool:
        options = self._options()
        if options is None:
            return False
        return self.comparer.start(list(choices), options)

    def blend_mask(self):
        """The painted blend mask (HxW uint8, 255 = the original shows), or None."""
        return self.blend.mask_array()

