"""The shipped sharp x4 next to the faithful x4 on a real photo, through the real window's
compare-models page (issue 17): both listed, both run, the sharp one visibly crisper than the
faithful one and without a colour shift, and "Keep this one" makes it the result."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPushButton

from imgen_desktop.core import enhance
from imgen_desktop.core.paths import resource_path
from tests.ui.enhance_helpers import child, drop

pytestmark = pytest.mark.skipif(not enhance.builtin_path("upscale-x4-sharp").is_file(),
                                reason="this installation has no sharp x4 built-in")


def _gradient(pixels: np.ndarray) -> float:
    y = pixels.astype(np.float64).mean(2)
    return float(np.abs(np.diff(y, axis=0)).mean() + np.abs(np.diff(y, axis=1)).mean())


def test_sharp_and_faithful_x4_side_by_side_on_a_photo(main_window, qtbot, tmp_path, imgen_home):
    # a 96 x 64 crop of the shipped cat photo (eyes and fur), shrunk as a phone thumbnail would be
    cat = Image.open(resource_path("photos", "test", "chelsea.png")).convert("RGB")
    photo = tmp_path / "cat.png"
    cat.crop((150, 40, 342, 168)).resize((96, 64), Image.BICUBIC).save(photo)
    w = main_window()
    c = w.canvas
    qtbot.waitUntil(lambda: not c.is_listing_models() and bool(c.state.models), timeout=60000)
    faithful, sharp = "builtin:upscale-x4", "builtin:upscale-x4-sharp"
    assert c.state.find_model(faithful) >= 0 and c.state.find_model(sharp) >= 0
    drop(c, [photo])
    qtbot.mouseClick(child(c, "compareModelsButton", QPushButton), Qt.MouseButton.LeftButton)
    page = child(c, "modelComparePage")
    page.set_checked([faithful, sharp])
    with qtbot.waitSignal(c.comparer.sigFinished, timeout=180000) as blocker:
        qtbot.mouseClick(child(c, "compareRunButton", QPushButton), Qt.MouseButton.LeftButton)
    assert blocker.args == [2, 0]
    labels = [page.pane_label(i) for i in range(2)]
    assert "sharp" not in labels[0].lower() and "sharp" in labels[1].lower(), labels
    out_f, out_s = (np.asarray(page.pane_photo(i).pixels) for i in range(2))
    assert out_f.shape == out_s.shape == (256, 384, 3)
    # crisper: more gradient energy than the faithful model's, no colour shift against it
    assert _gradient(out_s) > 1.1 * _gradient(out_f)
    assert np.abs(out_s.astype(float).mean((0, 1)) - out_f.astype(float).mean((0, 1))).max() < 1.5
    qtbot.mouseClick(child(c, "keepButton2", QPushButton), Qt.MouseButton.LeftButton)
    assert c.current_model().spec == sharp and c.has_unsaved_result()
    assert np.array_equal(np.asarray(c.result().pixels), out_s)
