"""The Enhance tab's batches through the real window: pause / resume, the window closed
mid-batch, and a new window offering to continue the unfinished batch; output templates."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLineEdit, QPushButton

from tests.ui.enhance_helpers import child, drop, list_models, png, tiny_upscale_model


def _ready(window, qtbot):
    c = window.canvas
    qtbot.waitUntil(lambda: not c.is_listing_models(), timeout=60000)
    return c


def test_pause_close_mid_batch_then_continue_in_a_new_window(main_window, qtbot, tmp_path, imgen_home):
    src = tmp_path / "in"
    (src / "sub").mkdir(parents=True)
    for k in range(6):
        png(src / ("sub" if k % 2 else "") / f"p{k}.png", 48, 40, k)
    out = tmp_path / "out"
    name = tiny_upscale_model()
    w1 = main_window()
    c1 = _ready(w1, qtbot)
    list_models(c1, qtbot, name)
    assert c1.select_model(name)
    drop(c1, [src])
    assert len(c1.batch_items()) == 6
    assert not child(c1, "resumeStrip").isVisible()
    first_done = []
    c1.state.sigBatchItemChanged.connect(
        lambda i: first_done.append(i) if c1.state.batch[i].status == "done" and not first_done else None)
    assert c1.start_batch(str(out))
    qtbot.waitUntil(lambda: bool(first_done), timeout=60000)
    pause = child(c1, "pauseBatchButton", QPushButton)
    assert pause.isVisible() and pause.text() == "Pause"
    qtbot.mouseClick(pause, Qt.MouseButton.LeftButton)
    assert c1.is_paused() and pause.text() == "Resume"
    assert "Paused" in child(c1, "progressLabel").text()
    w1.close()  # the app goes away mid-batch (paused; the tile that was running finishes)
    qtbot.waitUntil(lambda: not c1.is_busy(), timeout=30000)
    written = {p: p.stat().st_mtime_ns for p in out.rglob("*_x2.png")}
    assert 1 <= len(written) < 6

    w2 = main_window()
    c2 = _ready(w2, qtbot)
    drop(c2, [src])
    strip = child(c2, "resumeStrip")
    assert strip.isVisible()
    k = len(written)
    assert f"{k} done, {6 - k} left, 0 failed" in child(c2, "resumeLabel").text()
    with qtbot.waitSignal(c2.sigBatchFinished, timeout=120000) as blocker:
        qtbot.mouseClick(child(c2, "continueBatchButton", QPushButton), Qt.MouseButton.LeftButton)
    assert blocker.args == [6, 0]
    assert not strip.isVisible()
    outs = sorted(p.relative_to(out).as_posix() for p in out.rglob("*_x2.png"))
    assert outs == ["p0_x2.png", "p2_x2.png", "p4_x2.png", "sub/p1_x2.png", "sub/p3_x2.png", "sub/p5_x2.png"]
    assert all(p.stat().st_mtime_ns == t for p, t in written.items()), "a finished photo was redone"
    statuses = [i.status for i in c2.batch_items()]
    assert statuses.count("skipped") == k and statuses.count("done") == 6 - k


def test_auto_save_with_a_template_after_apply(main_window, qtbot, tmp_path, imgen_home):
    name = tiny_upscale_model("tiny-up")
    w = main_window()
    c = _ready(w, qtbot)
    list_models(c, qtbot, name)
    assert c.select_model(name)
    template = child(c, "nameTemplateEdit", QLineEdit)
    template.setText("{name}:{model}")
    assert "cannot have: ':'" in child(c, "templateError").text() and child(c, "templateError").isVisible()
    template.setText("{name}_{model}{ext}")
    assert not child(c, "templateError").isVisible()
    c.autosave.set_values(enabled=True, folder=str(tmp_path / "results"), fmt="webp")
    drop(c, [png(tmp_path / "cat.png", 30, 20)])
    with qtbot.waitSignal(c.sigSaved, timeout=60000) as blocker:
        qtbot.mouseClick(c.apply_button, Qt.MouseButton.LeftButton)
    assert Path(blocker.args[0]) == tmp_path / "results" / "cat_tiny-up.webp"
    assert not c.has_unsaved_result()
    with qtbot.waitSignal(c.sigSaved, timeout=60000) as blocker:  # again: a new name, never overwritten
        qtbot.mouseClick(c.apply_button, Qt.MouseButton.LeftButton)
    assert Path(blocker.args[0]).name == "cat_tiny-up-2.webp"
    # remembered for the next window
    w2 = main_window()
    assert child(w2.canvas, "nameTemplateEdit", QLineEdit).text() == "{name}_{model}{ext}"
    assert w2.canvas.autosave.enabled() and w2.canvas.autosave.fmt() == "webp"
