"""Compare models on one photo through the real window: 2 models side by side with the original,
labelled with model and time, zoom and pan synchronised, "Keep this one" makes the result."""
from __future__ import annotations

from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QPushButton

from tests.ui.enhance_helpers import child, drop, list_models, png, tiny_upscale_model


def test_compare_two_models_sync_and_keep(main_window, qtbot, tmp_path, imgen_home):
    a, b = tiny_upscale_model("tiny-a"), tiny_upscale_model("tiny-b")
    w = main_window()
    c = w.canvas
    qtbot.waitUntil(lambda: not c.is_listing_models(), timeout=60000)
    list_models(c, qtbot, b)
    drop(c, [png(tmp_path / "photo.png", 40, 30)])
    open_button = child(c, "compareModelsButton", QPushButton)
    assert open_button.isVisible() and open_button.isEnabled()
    qtbot.mouseClick(open_button, Qt.MouseButton.LeftButton)
    page = child(c, "modelComparePage")
    assert page.isVisible()
    page.set_checked([a, b])
    run = child(c, "compareRunButton", QPushButton)
    assert run.isEnabled() and run.text() == "Compare 2 models"
    with qtbot.waitSignal(c.comparer.sigFinished, timeout=120000) as blocker:
        qtbot.mouseClick(run, Qt.MouseButton.LeftButton)
    assert blocker.args == [2, 0]
    labels = [page.pane_label(i) for i in range(2)]
    for label, name in zip(labels, (a, b)):
        assert label.startswith(name) and "80 × 60" in label and label.endswith(" s"), label
    assert child(c, "comparePaneLabel0").full_text() == "Original"
    assert child(c, "comparePaneDetail0").full_text() == "40 × 30"
    # zoom one pane: the others follow (the 40x30 original lines up with the 80x60 results)
    pane1, pane2, original = (child(c, f"comparePane{i}") for i in (1, 2, 0))
    pane1.zoom_to(3.0)
    pane1.pan_by(-25, 10)
    assert pane2.image_rect() == pane1.image_rect()
    assert original.image_rect() == pane1.image_rect() and abs(original.zoom() - 6.0) < 1e-6
    qtbot.mouseClick(child(c, "keepButton2", QPushButton), Qt.MouseButton.LeftButton)  # pane 2: the 2nd model
    assert not page.isVisible() and c.photo_view.isVisible()
    assert c.result() is page.pane_photo(1) and c.has_unsaved_result()
    assert c.current_model().spec == b
