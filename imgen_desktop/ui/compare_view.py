"""Before/after view: split divider, zoom at the cursor, pan, checkerboard behind transparency.

Coordinates: the *display space* is the pixel grid of the result (or of the photo when there
is no result yet). The "before" image is drawn stretched over the same rectangle, so after an
upscale both line up pixel for pixel. ``widget = display * zoom + pan``.

An optional overlay (the inpaint mask) is drawn over the image; when ``paint_mode`` is on,
left-button drags are reported through ``sigPaint*`` signals in display coordinates instead
of panning.

Both panes are sampled alike (like for like): smooth below 200 % zoom, hard pixels from 200 %.
Keys (with the view focused, e.g. right after Apply): Space before/after, B / A / S before /
after / split, 1 / 2 / 4 zoom 100 / 200 / 400 %, 0 or F fit, + / - zoom.
"""
from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (
    QBrush, QColor, QCursor, QImage, QKeyEvent, QMouseEvent, QPainter, QPen,
    QPixmap, QWheelEvent,
)
from PySide6.QtWidgets import QSizePolicy, QWidget

from imgen_desktop.ui.compare_paint import paint_divider, paint_labels

MODES = ("before", "split", "after")
NEAREST_FROM_ZOOM = 2.0  # from 200 % both panes show hard pixels; below, both are smoothed
KEYS_HELP = (
    "Drag the divider to compare; wheel zooms at the cursor, drag pans.\n"
    "Space: before / after · B, A, S: before, after, split\n"
    "1, 2, 4: zoom 100 %, 200 %, 400 % · 0 or F: fit · + / -: zoom"
)
MIN_ZOOM, MAX_ZOOM = 0.02, 32.0
ZOOM_STEP = 1.25
DIVIDER_GRAB_PX = 8


def _checker_brush(cell: int = 8) -> QBrush:
    pix = QPixmap(cell * 2, cell * 2)
    pix.fill(QColor(204, 204, 204))
    p = QPainter(pix)
    p.fillRect(0, 0, cell, cell, QColor(153, 153, 153))
    p.fillRect(cell, cell, cell, cell, QColor(153, 153, 153))
    p.end()
    return QBrush(pix)


class CompareView(QWidget):
    """Paints the photo (before) and the result (after) with a draggable vertical divider."""

    sigZoomChanged = Signal(float)
    sigModeChanged = Signal(str)
    sigSplitChanged = Signal(float)
    sigPaintPressed = Signal(float, float)  # display coordinates
    sigPaintMoved = Signal(float, float)
    sigPaintReleased = Signal()
    sigViewChanged = Signal()  # zoom or pan changed (synchronised panes follow image_rect())

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("compareView")
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(200, 150)
        self._before: QImage | None = None
        self._after: QImage | None = None
        self._overlay: QImage | None = None
        self._mode = "after"
        self._split = 0.5  # divider position as a fraction of the widget width
        self._zoom = 1.0
        self._pan = QPointF(0.0, 0.0)
        self._fit_mode = True  # refit on resize until the user zooms or pans
        self._drag: str | None = None  # "divider" | "pan" | "paint"
        self._drag_start = QPointF()
        self._pan_start = QPointF()
        self._paint_mode = False
        self._brush_px = 0.0  # brush diameter in display pixels (outline preview)
        self._cursor_pos: QPointF | None = None
        self._checker = _checker_brush()
        self._placeholder = ""
        self.setToolTip(KEYS_HELP)

    def set_placeholder(self, text: str) -> None:
        """Text shown when there is no image (e.g. a batch file that cannot be previewed)."""
        self._placeholder = str(text or "")
        self.update()

    def placeholder(self) -> str:
        return self._placeholder

    def overlay(self) -> QImage | None:
        """The overlay drawn now (None when hidden)."""
        return self._overlay

    def smooth_sampling(self) -> bool:
        """Whether both panes are drawn smoothed now (below 200 % zoom) rather than as hard pixels."""
        return self._zoom < NEAREST_FROM_ZOOM - 1e-6

    # --- content ---------------------------------------------------------------------
    def set_images(self, before: QImage | None, after: QImage | None = None, refit: bool = True) -> None:
        """Show ``before`` (and ``after`` if given). ``refit`` resets zoom to fit."""
        old_size = self.display_size()
        self._before = before
        self._after = after
        if refit or old_size != self.display_size():
            self.fit()
        self.update()

    def set_after(self, after: QImage | None, mode: str = "split") -> None:
        size_changed = (after.size() if after is not None else None) != (self._after.size() if self._after is not None else None)
        old = self.display_size()
        self._after = after
        if after is not None:
            self.set_mode(mode)
        new = self.display_size()
        if size_changed and old is not None and new is not None and old != new and not self._fit_mode:
            # keep the same part of the photo on screen after an upscale
            factor = new.width() / max(1, old.width())
            self._zoom = max(MIN_ZOOM, min(MAX_ZOOM, self._zoom / factor))
            self.sigZoomChanged.emit(self._zoom)
        elif self._fit_mode:
            self.fit()
        self.update()

    def set_overlay(self, overlay: QImage | None) -> None:
        """An RGBA image (any size) stretched over the display rectangle, e.g. the inpaint mask."""
        self._overlay = overlay
        self.update()

    def before_image(self) -> QImage | None:
        return self._before

    def after_image(self) -> QImage | None:
        return self._after

    def has_image(self) -> bool:
        return self._before is not None or self._after is not None

    def display_size(self) -> QSize | None:
        img = self._after if self._after is not None else self._before
        return img.size() if img is not None else None

    # --- mode / split ----------------------------------------------------------------
    def mode(self) -> str:
        return self._mode

    def set_mode(self, mode: str) -> None:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}")
        if mode != self._mode:
            self._mode = mode
            self.sigModeChanged.emit(mode)
            self.update()

    def toggle_before_after(self) -> None:
        """The quick toggle: flip between the photo and the result (from split: show before)."""
        self.set_mode("after" if self._mode == "before" else "before")

    def split(self) -> float:
        return self._split

    def set_split(self, fraction: float) -> None:
        fraction = min(1.0, max(0.0, float(fraction)))
        if fraction != self._split:
            self._split = fraction
            self.sigSplitChanged.emit(fraction)
            self.update()

    def divider_x(self) -> float:
        return self._split * self.width()

    def _split_active(self) -> bool:
        return self._mode == "split" and self._before is not None and self._after is not None

    # --- zoom / pan ------------------------------------------------------------------
    def zoom(self) -> float:
        return self._zoom

    def pan(self) -> QPointF:
        return QPointF(self._pan)

    def fit(self) -> None:
        size = self.display_size()
        self._fit_mode = True
        if size is None or size.isEmpty():
            return
        margin = 16
        w, h = max(1, self.width() - margin), max(1, self.height() - margin)
        zoom = min(w / size.width(), h / size.height(), 8.0)
        self._set_zoom(zoom, center=True)

    def actual_size(self) -> None:
        """100 %: one image pixel per screen pixel, centred on what is in the middle now."""
        self._fit_mode = False
        self.zoom_at(1.0 / self._zoom, QPointF(self.width() / 2, self.height() / 2))

    def zoom_to(self, zoom: float) -> None:
        """Zoom to ``zoom`` (1.0 = 100 %) about the middle of the view."""
        self._fit_mode = False
        self._zoom_about(zoom, QPointF(self.width() / 2, self.height() / 2))

    def zoom_in(self) -> None:
        self._fit_mode = False
        self.zoom_at(ZOOM_STEP, QPointF(self.width() / 2, self.height() / 2))

    def zoom_out(self) -> None:
        self._fit_mode = False
        self.zoom_at(1 / ZOOM_STEP, QPointF(self.width() / 2, self.height() / 2))

    def zoom_at(self, factor: float, widget_pos: QPointF) -> None:
        """Multiply the zoom by ``factor`` keeping the image point under ``widget_pos`` still."""
        new_zoom = self._zoom * factor
        if abs(new_zoom - 1.0) < 0.02:
            new_zoom = 1.0  # snap to 100 % so pixels stay crisp
        self._zoom_about(new_zoom, widget_pos)

    def _zoom_about(self, zoom: float, widget_pos: QPointF) -> None:
        anchor = self.widget_to_display(widget_pos)
        new_zoom = max(MIN_ZOOM, min(MAX_ZOOM, float(zoom)))
        self._zoom = new_zoom
        self._pan = QPointF(widget_pos.x() - anchor.x() * new_zoom, widget_pos.y() - anchor.y() * new_zoom)
        self.sigZoomChanged.emit(self._zoom)
        self.sigViewChanged.emit()
        self.update()

    def _set_zoom(self, zoom: float, center: bool) -> None:
        self._zoom = max(MIN_ZOOM, min(MAX_ZOOM, zoom))
        size = self.display_size()
        if center and size is not None:
            self._pan = QPointF(
                (self.width() - size.width() * self._zoom) / 2, (self.height() - size.height() * self._zoom) / 2
            )
        self.sigZoomChanged.emit(self._zoom)
        self.sigViewChanged.emit()
        self.update()

    def pan_by(self, dx: float, dy: float) -> None:
        self._fit_mode = False
        self._pan = QPointF(self._pan.x() + dx, self._pan.y() + dy)
        self.sigViewChanged.emit()
        self.update()

    def set_image_rect(self, rect: QRectF) -> None:
        """Show the image in ``rect`` (widget coordinates): how synchronised panes follow one
        another whatever the size of their images (an x4 result and its original line up)."""
        size = self.display_size()
        if size is None or size.isEmpty() or rect.width() <= 0:
            return
        zoom = max(MIN_ZOOM, min(MAX_ZOOM, rect.width() / size.width()))
        pan = QPointF(rect.x(), rect.y())
        if abs(zoom - self._zoom) < 1e-9 and pan == self._pan:
            return
        self._fit_mode = False
        self._zoom, self._pan = zoom, pan
        self.sigZoomChanged.emit(self._zoom)
        self.update()

    def widget_to_display(self, pos: QPointF) -> QPointF:
        return QPointF((pos.x() - self._pan.x()) / self._zoom, (pos.y() - self._pan.y()) / self._zoom)

    def display_to_widget(self, pos: QPointF) -> QPointF:
        return QPointF(pos.x() * self._zoom + self._pan.x(), pos.y() * self._zoom + self._pan.y())

    def image_rect(self) -> QRectF:
        size = self.display_size()
        if size is None:
            return QRectF()
        return QRectF(self._pan.x(), self._pan.y(), size.width() * self._zoom, size.height() * self._zoom)

    # --- painting mode (inpaint mask) --------------------------------------------------
    def set_paint_mode(self, on: bool, brush_display_px: float = 0.0) -> None:
        self._paint_mode = bool(on)
        self._brush_px = brush_display_px
        self.setCursor(Qt.CursorShape.CrossCursor if on else Qt.CursorShape.ArrowCursor)
        self.update()

    def paint_mode(self) -> bool:
        return self._paint_mode

    def set_brush_size(self, display_px: float) -> None:
        self._brush_px = display_px
        self.update()

    # --- Qt events -------------------------------------------------------------------
    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(800, 600)

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        if self._fit_mode:
            self.fit()

    def paintEvent(self, event) -> None:  # noqa: N802
        p = QPainter(self)
        p.fillRect(self.rect(), self.palette().color(self.backgroundRole()).darker(115))
        rect = self.image_rect()
        if rect.isEmpty():
            if self._placeholder:
                p.setPen(self.palette().color(self.foregroundRole()))
                p.drawText(self.rect().adjusted(24, 24, -24, -24),
                           int(Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap), self._placeholder)
            p.end()
            return
        smooth = self.smooth_sampling()  # one rule for both panes: compare like for like
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, smooth)
        p.save()
        p.setBrushOrigin(rect.topLeft())
        p.fillRect(rect, self._checker)
        p.restore()
        before, after = self._before, self._after
        if self._split_active():
            x = self.divider_x()
            p.save()
            p.setClipRect(QRectF(0, 0, x, self.height()))
            p.drawImage(rect, before)
            p.restore()
            p.save()
            p.setClipRect(QRectF(x, 0, self.width() - x, self.height()))
            p.drawImage(rect, after)
            p.restore()
        else:
            show_before = self._mode == "before" or after is None
            img = before if show_before else after
            if img is not None:
                p.drawImage(rect, img)
        if self._overlay is not None:
            p.drawImage(rect, self._overlay)
        if self._split_active():
            paint_divider(p, self.divider_x(), self.height())
        if self._after is not None and self._before is not None:
            paint_labels(p, self._mode, self.width(), self.font())
        if self._paint_mode and self._cursor_pos is not None and self._brush_px > 0:
            p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
            r = self._brush_px / 2
            p.setPen(QPen(QColor(0, 0, 0, 200), 2.0))
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.drawEllipse(self._cursor_pos, r, r)
            p.setPen(QPen(QColor(255, 255, 255, 230), 1.0))
            p.drawEllipse(self._cursor_pos, r, r)
        p.end()

    def _near_divider(self, x: float) -> bool:
        return self._split_active() and abs(x - self.divider_x()) <= DIVIDER_GRAB_PX + 6

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        pos = event.position()
        self.setFocus(Qt.FocusReason.MouseFocusReason)
        if event.button() == Qt.MouseButton.LeftButton and self._near_divider(pos.x()):
            self._drag = "divider"
        elif event.button() == Qt.MouseButton.LeftButton and self._paint_mode:
            self._drag = "paint"
            d = self.widget_to_display(pos)
            self.sigPaintPressed.emit(d.x(), d.y())
        elif event.button() in (Qt.MouseButton.LeftButton, Qt.MouseButton.MiddleButton):
            self._drag = "pan"
            self._drag_start = QPointF(pos)
            self._pan_start = QPointF(self._pan)
            self.setCursor(Qt.CursorShape.ClosedHandCursor)
        event.accept()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        pos = event.position()
        self._cursor_pos = QPointF(pos)
        if self._drag == "divider":
            self.set_split(pos.x() / max(1, self.width()))
        elif self._drag == "pan":
            self._fit_mode = False
            self._pan = self._pan_start + (pos - self._drag_start)
            self.sigViewChanged.emit()
            self.update()
        elif self._drag == "paint":
            d = self.widget_to_display(pos)
            self.sigPaintMoved.emit(d.x(), d.y())
            self.update()
        else:
            if self._near_divider(pos.x()):
                self.setCursor(Qt.CursorShape.SplitHCursor)
            else:
                self.setCursor(Qt.CursorShape.CrossCursor if self._paint_mode else Qt.CursorShape.OpenHandCursor)
            if self._paint_mode:
                self.update()
        event.accept()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if self._drag == "paint":
            self.sigPaintReleased.emit()
        self._drag = None
        self.setCursor(Qt.CursorShape.CrossCursor if self._paint_mode else Qt.CursorShape.OpenHandCursor)
        event.accept()

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if self._paint_mode:
            return
        if self._fit_mode:
            self._fit_mode = False
            self.zoom_at(1.0 / self._zoom, event.position())
        else:
            self.fit()

    def leaveEvent(self, event) -> None:  # noqa: N802
        self._cursor_pos = None
        self.update()
        super().leaveEvent(event)

    def wheelEvent(self, event: QWheelEvent) -> None:  # noqa: N802
        delta = event.angleDelta().y() or event.angleDelta().x()
        if not delta or not self.has_image():
            return
        self._fit_mode = False
        self.zoom_at(ZOOM_STEP ** (delta / 120.0), event.position())
        event.accept()

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        key, mods = event.key(), event.modifiers()
        ctrl = bool(mods & Qt.KeyboardModifier.ControlModifier)
        if key in (Qt.Key.Key_Plus, Qt.Key.Key_Equal) and (ctrl or key == Qt.Key.Key_Plus):
            self.zoom_in()
        elif key == Qt.Key.Key_Minus:
            self.zoom_out()
        elif key == Qt.Key.Key_0 or (key == Qt.Key.Key_F and not ctrl):
            self.fit()
        elif key in (Qt.Key.Key_1, Qt.Key.Key_2, Qt.Key.Key_4) and not ctrl:
            self.zoom_to({Qt.Key.Key_1: 1.0, Qt.Key.Key_2: 2.0, Qt.Key.Key_4: 4.0}[key])
        elif key == Qt.Key.Key_Space:
            if not event.isAutoRepeat() and self._after is not None:
                self.toggle_before_after()
        elif key in (Qt.Key.Key_S, Qt.Key.Key_B, Qt.Key.Key_A) and not ctrl and self._after is not None:
            self.set_mode({Qt.Key.Key_S: "split", Qt.Key.Key_B: "before", Qt.Key.Key_A: "after"}[key])
        else:
            super().keyPressEvent(event)
            return
        event.accept()

    def cursor_display_pos(self) -> QPointF:
        return self.widget_to_display(QPointF(self.mapFromGlobal(QCursor.pos())))


# numpy <-> QImage helpers live in ui/qimages.py; kept importable from here
from imgen_desktop.ui.qimages import photo_to_qimage, qimage_to_array, rgba_to_qimage  # noqa: E402,F401
