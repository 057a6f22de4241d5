"""Blend with a brush through the real window: paint the original back into the result; Save
writes the blend (16 bits kept)."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QPushButton, QSlider

from imgen_desktop.core.blend import blend_photos
from imgen_desktop.core.imageio import Photo, load_image, save_image
from tests.ui.enhance_helpers import child, drop, list_models, tiny_upscale_model


def test_paint_original_back_and_save_the_blend(main_window, qtbot, tmp_path, imgen_home):
    rng = np.random.default_rng(1)
    # 16-bit gray (what PNG keeps at 16 bits; alpha and ICC are covered by tests/core/test_blend.py)
    src = save_image(Photo((rng.random((40, 60)) * 65535).astype(np.uint16), bit_depth=16), tmp_path / "deep.png")
    name = tiny_upscale_model()
    w = main_window()
    c = w.canvas
    qtbot.waitUntil(lambda: not c.is_listing_models(), timeout=60000)
    list_models(c, qtbot, name)
    assert c.select_model(name)
    drop(c, [src])
    box = child(c, "blendBox")
    assert not box.isVisible()  # no result yet
    with qtbot.waitSignal(c.sigResultReady, timeout=60000):
        qtbot.mouseClick(c.apply_button, Qt.MouseButton.LeftButton)
    assert box.isVisible()
    button = child(c, "blendButton", QPushButton)
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    assert button.isChecked() and c.view.mode() == "after" and c.view.paint_mode()
    child(c, "blendSizeSlider", QSlider).setValue(30)
    child(c, "blendSoftnessSlider", QSlider).setValue(0)
    rect = c.view.image_rect()
    centre = QPoint(int(rect.center().x()), int(rect.center().y()))
    qtbot.mousePress(c.view, Qt.MouseButton.LeftButton, pos=centre)
    qtbot.mouseRelease(c.view, Qt.MouseButton.LeftButton, pos=centre)
    qtbot.waitUntil(lambda: c.state.blended is not None, timeout=5000)
    mask = c.blend_mask()
    assert mask.shape == (80, 120) and mask[40, 60] == 255 and mask[0, 0] == 0
    assert c.has_unsaved_result()
    out = tmp_path / "blend.png"
    with qtbot.waitSignal(c.sigSaved, timeout=30000):
        c.save_result(str(out))
    saved = load_image(out)
    result = c.result()
    expected = blend_photos(c.photo(), result, mask)
    assert saved.pixels.dtype == np.uint16 and saved.channels == 1
    assert np.array_equal(saved.pixels, expected.pixels)
    assert np.array_equal(saved.pixels[0, 0], result.pixels[0, 0])  # away from the stroke: the result
    assert not np.array_equal(saved.pixels[40, 60], result.pixels[40, 60])
    # Undo goes back to the plain result
    qtbot.mouseClick(child(c, "blendUndoButton", QPushButton), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: c.state.blended is None, timeout=5000)
    assert c.state.output_photo() is result
