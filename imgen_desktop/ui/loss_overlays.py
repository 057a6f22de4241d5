"""The loss plot's compared runs: past runs' curves overlaid (one colour per run, a dash per
metric, "run · metric" in the legend), per-curve visibility, and the x axis on step or on
training time. Mixed into :class:`~imgen_desktop.ui.loss_plot.LossPlot`."""
from __future__ import annotations

from imgen_desktop.core.runs import metric_label
from imgen_desktop.ui.loss_series import Series
from imgen_desktop.ui.theme import colors

X_LABELS = {"step": "step", "time": "training time (s)"}


class OverlayMixin:
    # --- compared runs ------------------------------------------------------------------------
    def set_overlay(self, run: str, curves: dict, slot: int | None = None) -> None:
        """Overlay a past run: ``curves`` maps metric keys to (steps, times, values) numpy arrays.

        All its curves share the run's colour (palette ``slot``), a dash per metric, and are
        named "run · metric" in the legend. Replaces an earlier overlay of the same run."""
        self.remove_overlay(run)
        self._run_slots[run] = len(self._run_slots) + 1 if slot is None else int(slot)
        self.overlays[run] = {k: Series.from_arrays(s, t, v, self._smoothing)
                              for k, (s, t, v) in sorted(curves.items()) if self.wants(k) and len(s)}
        for key in self.overlays[run]:
            cid = (run, key)
            self.overlay_curves[cid], self.overlay_raw[cid] = self._new_curves(f"{run} · {metric_label(key)}")
            self._style_curve(cid)
            self._dirty.add(cid)
        self._show_placeholder()
        self._relabel_live()
        self.flush()
        if self._following:
            self._follow(force=True)

    def remove_overlay(self, run: str) -> None:
        for key in self.overlays.pop(run, {}):
            cid = (run, key)
            curve, raw = self.overlay_curves.pop(cid), self.overlay_raw.pop(cid)
            self.legend.removeItem(curve)
            self.removeItem(curve)
            self.removeItem(raw)
            self._dirty.discard(cid)
        self._run_slots.pop(run, None)
        self._relabel_live()
        self._fit_legend()
        self._show_placeholder()

    def overlay_runs(self) -> list[str]:
        return list(self.overlays)

    def curve_names(self) -> list[str]:
        """The legend's entries, in order."""
        return [label.text for _, label in self.legend.items]

    def set_curve_visible(self, name: str, visible: bool) -> None:
        """Show or hide the curve the legend calls ``name`` (as clicking its legend sample does)."""
        for curve in list(self.curves.values()) + list(self.overlay_curves.values()):
            if curve.objectName() == name:
                curve.setVisible(bool(visible))

    def curve_visible(self, name: str) -> bool:
        return any(c.isVisible() for c in list(self.curves.values()) + list(self.overlay_curves.values())
                   if c.objectName() == name)

    # --- x axis: step or training time ----------------------------------------------------------
    @property
    def x_mode(self) -> str:
        return self._x_mode

    def set_x_mode(self, mode: str) -> None:
        """Align the curves on "step" or on "time" (seconds of active training)."""
        mode = "time" if mode == "time" else "step"
        if mode == self._x_mode:
            return
        self._x_mode = mode
        self.getPlotItem().setLabel("bottom", X_LABELS[mode])
        self._dirty.update(self.curves)
        self._dirty.update(self.overlay_curves)
        self._following = True
        self.flush()
        self._follow(force=True)

    def _fit_legend(self) -> None:
        """Give the legend's row in the plot layout the height its entries need."""
        from PySide6.QtCore import Qt as _Qt

        if self.legend.items:  # as many columns as fit the plot's width (long "run · metric" names)
            widest = max(sample.boundingRect().width() + label.boundingRect().width() + 16
                         for sample, label in self.legend.items)
            cols = max(1, min(3, int((self.width() - 60) // max(widest, 1))))
            if cols != self.legend.columnCount:
                self.legend.setColumnCount(cols)
        self.legend.layout.invalidate()
        h = self.legend.layout.effectiveSizeHint(_Qt.SizeHint.PreferredSize).height() if self.legend.items else 0
        self.legend.setMinimumHeight(h)
        self.legend.setMaximumHeight(h)

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt API)
        super().resizeEvent(event)
        if getattr(self, "legend", None) is not None and self.getPlotItem() is not None:
            self._fit_legend()

    def label(self, key: str) -> str:
        """The words the legend shows for the live run's ``key`` ("run · metric" while comparing)."""
        return f"{self.run_name} · {metric_label(key)}" if self.overlays and self.run_name else metric_label(key)

    def set_run_name(self, name: str) -> None:
        """The live (or loaded) run's name, for the legend while runs are compared."""
        self.run_name = name
        self._relabel_live()

    def _relabel_live(self) -> None:
        for sample, label in self.legend.items:
            for key, curve in self.curves.items():
                if sample.item is curve:
                    text = self.label(key)
                    curve.setObjectName(text)
                    label.setText(text, color=colors().text)
        for key in self.curves:
            self._style_curve(key)

