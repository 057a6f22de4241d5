"""Turns the painted blend mask into the blended result (core.blend) for the view and Save."""
from __future__ import annotations

from PySide6.QtCore import QObject, QTimer

from imgen_desktop.ui.enhance.blend_painter import BlendPainter
from imgen_desktop.ui.enhance.state import EnhanceState


class BlendController(QObject):
    def __init__(self, state: EnhanceState, painter: BlendPainter, photo_view, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.state, self.painter, self.photo_view = state, painter, photo_view
        self._base = None  # (result, the original at the result's size): computed once per result
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(15)  # coalesce the dabs of one mouse move
        self._timer.timeout.connect(self.update_blend)
        painter.sigChanged.connect(self._timer.start)
        state.sigResultChanged.connect(self._on_result_changed)

    def _on_result_changed(self) -> None:
        s = self.state
        r = s.result
        if r is None:
            self.painter.drop()
            self._base = None
        elif self._base is None or self._base[0] is not r:
            self._base = (r, None)
            self.painter.reset(r.width, r.height)
        if r is None or s.busy or s.batch:
            self.photo_view.set_blending(False)

    def update_blend(self) -> None:
        from imgen_desktop.core.blend import blend_photos, original_at_result_size
        from imgen_desktop.ui.qimages import photo_to_qimage

        s = self.state
        if s.result is None or s.photo is None:
            return
        mask = self.painter.mask_array()
        if mask is None or not mask.any():
            s.set_blend(None, None)
            return
        result, base = self._base if self._base else (None, None)
        if result is not s.result or base is None:
            base = original_at_result_size(s.photo, s.result)
            self._base = (s.result, base)
        blended = blend_photos(s.photo, s.result, mask, base=base)
        s.set_blend(blended, photo_to_qimage(blended))
