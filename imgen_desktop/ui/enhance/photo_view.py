"""The photo area: the view bar (Before / Split / After, Fit, 100 %, zoom, Close photo), the
before/after :class:`CompareView` and one info line. It shows the state's photo and result and
the inpaint mask (only while there is no result, or while Before is shown)."""
from __future__ import annotations

from PySide6.QtCore import QSignalBlocker
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QButtonGroup, QHBoxLayout, QLabel, QToolButton, QVBoxLayout, QWidget

from imgen_desktop.ui.compare_view import CompareView
from imgen_desktop.ui.enhance.state import EnhanceState
from imgen_desktop.ui.enhance.widgets import ElidedLabel
from imgen_desktop.ui.mask_painter import MaskPainter
from imgen_desktop.ui.theme import colors, theme_notifier


def describe_photo(photo, prefix: str = "") -> str:
    """``chelsea.png · 451 × 300 px · 8-bit RGB · alpha · ICC profile``."""
    colour = {1: "gray", 3: "RGB"}.get(photo.channels, f"{photo.channels} channels")
    parts = [f"{photo.width} × {photo.height} px", f"{photo.bit_depth}-bit {colour}"]
    if photo.alpha is not None:
        parts.append("alpha")
    parts.append("ICC profile" if photo.icc else "no ICC profile")
    return f"{prefix or photo.name} · " + " · ".join(parts)


class PhotoView(QWidget):
    def __init__(self, state: EnhanceState, mask: MaskPainter, parent: QWidget | None = None, blend=None) -> None:
        super().__init__(parent)
        self.state, self.mask, self.blend = state, mask, blend
        self.mask_wanted = False  # the model needs a mask (set by the canvas)
        self.blending = False  # the blend brush paints on the result (set by the canvas)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(4)
        bar = QHBoxLayout()
        self._restyle()
        # a style sheet freezes the palette its widgets were polished with: set it again on a theme switch
        theme_notifier().sigThemeChanged.connect(self._on_theme_changed)  # a bound slot: disconnected when the widget goes
        self.mode_group = QButtonGroup(self)
        self.mode_buttons: dict[str, QToolButton] = {}
        for mode, text, tip in (
            ("before", "Before", "Show the original photo (B; Space toggles before/after)"),
            ("split", "Split", "Before on the left, result on the right; drag the divider (S)"),
            ("after", "After", "Show the result (A; Space toggles before/after)"),
        ):
            b = QToolButton(self)
            b.setObjectName(f"{mode}Button")
            b.setText(text)
            b.setToolTip(tip)
            b.setCheckable(True)
            self.mode_group.addButton(b)
            self.mode_buttons[mode] = b
            bar.addWidget(b)
            b.clicked.connect(lambda _=False, m=mode: self.view.set_mode(m))
        bar.addSpacing(12)
        self.fit_button = QToolButton(self)
        self.fit_button.setObjectName("fitButton")
        self.fit_button.setText("Fit")
        self.fit_button.setToolTip("Fit the photo in the window (F or 0)")
        self.actual_button = QToolButton(self)
        self.actual_button.setObjectName("actualSizeButton")
        self.actual_button.setText("100%")
        self.actual_button.setToolTip("One photo pixel per screen pixel (1); 2 = 200 %, 4 = 400 %")
        self.zoom_label = QLabel("", self)
        self.zoom_label.setObjectName("zoomLabel")
        self.zoom_label.setMinimumWidth(48)
        bar.addWidget(self.fit_button)
        bar.addWidget(self.actual_button)
        bar.addWidget(self.zoom_label)
        bar.addStretch(1)
        self.close_button = QToolButton(self)
        self.close_button.setObjectName("closePhotoButton")
        self.close_button.setText("Close photo")
        self.close_button.setToolTip("Back to the drop area")
        bar.addWidget(self.close_button)
        lay.addLayout(bar)
        self.view = CompareView(self)
        lay.addWidget(self.view, 1)
        self.info_label = ElidedLabel("", self)
        self.info_label.setObjectName("infoLabel")
        lay.addWidget(self.info_label)

        self.fit_button.clicked.connect(self.view.fit)
        self.actual_button.clicked.connect(self.view.actual_size)
        self.view.sigModeChanged.connect(self._on_mode_changed)
        self.view.sigZoomChanged.connect(self._on_zoom_changed)
        self.view.sigPaintPressed.connect(lambda x, y: self._painter().begin_stroke(x, y))
        self.view.sigPaintMoved.connect(lambda x, y: self._painter().stroke_to(x, y))
        self.view.sigPaintReleased.connect(lambda: self._painter().end_stroke())
        self.mask.sigChanged.connect(self.refresh_mask)
        if blend is not None:
            blend.sigChanged.connect(self.refresh_mask)
        state.sigPhotoChanged.connect(self._on_photo_changed)
        state.sigResultChanged.connect(self._on_result_changed)
        state.sigBusyChanged.connect(self.refresh_mask)
        self._on_result_changed()

    def _on_theme_changed(self, _theme: str) -> None:
        self._restyle()

    def _restyle(self) -> None:
        self.setStyleSheet("")
        self.setStyleSheet(
            "QToolButton { padding: 3px 10px; }"
            "QToolButton:checked { background: palette(highlight); color: palette(highlighted-text); border-radius: 3px; }"
        )

    # --- from the state -----------------------------------------------------------------------
    def _on_photo_changed(self) -> None:
        s = self.state
        self.view.set_images(s.photo_image, None)
        self.view.set_placeholder(
            f"{s.photo_error}\n\nThis file cannot be shown; a batch reports it and goes on with the others."
            if s.photo_error else "")
        has_image = s.photo_image is not None
        for w in (self.fit_button, self.actual_button):
            w.setEnabled(has_image)
        if not has_image:
            self.zoom_label.setText("")
        if s.photo is not None:
            self.mask.reset(s.photo.width, s.photo.height)
            self.mask.set_display_size(self.view.display_size())
        self._update_info()

    def _on_result_changed(self) -> None:
        s = self.state
        has_result = s.result is not None
        after = s.output_image()
        if has_result and self.view.after_image() is not after:
            if self.view.after_image() is not None and s.blended is not None or self.blending:
                self.view.set_after(after, mode=self.view.mode())  # the blend changed: keep the view
            else:
                self.view.set_after(after, mode="split")
        elif not has_result and self.view.after_image() is not None:
            self.view.set_images(s.photo_image, None, refit=False)
        self.mask.set_display_size(self.view.display_size())
        if self.blend is not None:
            self.blend.set_display_size(self.view.display_size())
        for b in self.mode_buttons.values():
            b.setEnabled(has_result)
        with QSignalBlocker(self.mode_group):
            self.mode_group.setExclusive(False)
            for mode, b in self.mode_buttons.items():
                b.setChecked(has_result and mode == self.view.mode())
            self.mode_group.setExclusive(True)
        self._update_info()
        self.refresh_mask()

    def _update_info(self) -> None:
        s = self.state
        if s.photo is None:
            self.info_label.setText("")
            return
        text = describe_photo(s.photo)
        if s.result is not None:
            text += "  →  " + describe_photo(s.result, "result")
        self.info_label.setText(text)

    def _on_mode_changed(self, mode: str) -> None:
        b = self.mode_buttons.get(mode)
        if b is not None and self.state.result is not None:
            with QSignalBlocker(b):
                b.setChecked(True)
        self.refresh_mask()

    def _on_zoom_changed(self, zoom: float) -> None:
        self.zoom_label.setText(f"{zoom * 100:.0f}%" if self.view.has_image() else "")
        self.update_brush_cursor()

    # --- the inpaint mask -----------------------------------------------------------------------
    def mask_editable(self) -> bool:
        """The mask shows (and can be painted) over the photo only: before a result exists, or
        while Before is shown. Over a result it is hidden (and kept for the next Apply)."""
        s = self.state
        return (self.mask_wanted and s.photo is not None and not s.busy and not s.batch and not self.blending
                and (s.result is None or self.view.mode() == "before"))

    def _painter(self):
        return self.blend if self.blending and self.blend is not None else self.mask

    def set_blending(self, on: bool) -> None:
        """The brush paints the blend of original and result (shown as After while painting)."""
        self.blending = bool(on) and self.state.result is not None
        if self.blending and self.view.mode() != "after":
            self.view.set_mode("after")
        self.refresh_mask()

    def refresh_mask(self) -> None:
        if self.blending:
            accent = QColor(colors().accent)
            self.view.set_overlay(self.blend.overlay((accent.red(), accent.green(), accent.blue())))
            self.view.set_paint_mode(True)
            self.update_brush_cursor()
            return
        editable = self.mask_editable()
        self.view.set_overlay(self.mask.overlay() if editable and not self.mask.is_empty() else None)
        self.view.set_paint_mode(editable)
        self.update_brush_cursor()
        # (while blending, the tint above shows where the original comes through)

    def update_brush_cursor(self) -> None:
        size, photo = self.view.display_size(), self.state.photo
        if size is None or photo is None:
            return
        if self.blending and self.blend is not None:  # the blend brush is sized in result pixels
            grid = self.state.result.width if self.state.result is not None else size.width()
            self.view.set_brush_size(self.blend.brush_size * size.width() / max(1, grid) * self.view.zoom())
            return
        self.view.set_brush_size(self.mask.brush_size * size.width() / max(1, photo.width) * self.view.zoom())
