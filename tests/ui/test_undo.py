"""The canvas brushes' shared undo history: bounded, newest first, each undo one edit back."""
from __future__ import annotations

import numpy as np

from imgen_desktop.ui.enhance.blend_painter import MAX_UNDO as BLEND_MAX, BlendPainter
from imgen_desktop.ui.mask_painter import MAX_UNDO as MASK_MAX, MaskPainter
from imgen_desktop.ui.undo import UndoHistory


def test_history_is_bounded_and_pops_newest_first():
    h = UndoHistory(3)
    assert not h and h.pop() is None
    for k in range(5):
        h.push(k)
    assert len(h) == 3
    assert [h.pop(), h.pop(), h.pop(), h.pop()] == [4, 3, 2, None]


def _paint_and_clear(painter, strokes: int):
    painter.reset(64, 48)
    painter.brush_size = 6
    covers = []
    for k in range(strokes):
        painter.begin_stroke(4 + 3 * k, 10)
        painter.stroke_to(4 + 3 * k, 30)
        painter.end_stroke()
        covers.append(int((painter.mask_array() > 0).sum()))
    painter.clear()
    return covers


def test_blend_brush_undo_is_bounded_through_clear(qapp):
    p = BlendPainter()
    covers = _paint_and_clear(p, BLEND_MAX + 5)
    assert p.is_empty()
    seen = []
    while p.undo():
        seen.append(int((p.mask_array() > 0).sum()))
    # clear counts as one edit: undo brings back the last stroke's mask, then the strokes before
    assert len(seen) == BLEND_MAX and seen[0] == covers[-1]
    assert seen == sorted(seen, reverse=True) and seen[-1] == covers[-BLEND_MAX]


def test_inpaint_brush_undo_is_bounded_through_clear(qapp):
    p = MaskPainter()
    covers = _paint_and_clear(p, MASK_MAX + 2)
    assert p.is_empty() and p.can_undo()
    seen = []
    while p.undo():
        seen.append(int((p.mask_array() > 0).sum()))
    assert len(seen) == MASK_MAX and seen[0] == covers[-1]
    assert not p.can_undo() and np.count_nonzero(p.mask_array()) == covers[-MASK_MAX]
