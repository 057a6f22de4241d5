"""What a newcomer hit on the Enhance tab, each checked through the real main window."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QApplication, QComboBox, QLabel, QListWidget, QMessageBox, QProgressBar, QSlider, QSpinBox, QToolButton, QWidget,
)

from enhance_helpers import (
    answer_box, apply_and_wait, child, choose_upscale_x2, drop, list_models, png, tiny_upscale_model, wait_opened,
)
from imgen_desktop.ui.enhance.widgets import ElidedLabel

pytestmark = pytest.mark.filterwarnings("ignore:Function.*QDragEnterEvent:DeprecationWarning")


@pytest.fixture
def window(main_window, qtbot):
    w = main_window()
    qtbot.waitUntil(lambda: not w.canvas.is_listing_models() and bool(w.canvas.state.models), timeout=60000)
    return w


@pytest.fixture
def canvas(window):
    return window.canvas


def _checker(path: Path, w: int, h: int, cell: int) -> Path:
    y, x = np.mgrid[0:h, 0:w]
    v = (((x // cell) + (y // cell)) % 2 * 255).astype(np.uint8)
    Image.fromarray(np.stack([v, v, v], -1)).save(path)
    return path


def _paint_stroke(qtbot, view, a: QPointF, b: QPointF) -> None:
    pa, pb = view.display_to_widget(a).toPoint(), view.display_to_widget(b).toPoint()
    qtbot.mousePress(view, Qt.MouseButton.LeftButton, pos=pa)
    for i in range(1, 9):
        qtbot.mouseMove(view, pa + (pb - pa) * (i / 8))
    qtbot.mouseRelease(view, Qt.MouseButton.LeftButton, pos=pb)


# --- focus and keys after Apply -------------------------------------------------------------------

def test_after_apply_keys_go_to_the_view_not_the_quality_box(canvas, qtbot, tmp_path):
    drop(canvas, [png(tmp_path / "p.png", 40, 30)])
    choose_upscale_x2(canvas, qtbot)
    quality = child(canvas, "qualitySpin", QSpinBox)
    q0 = quality.value()
    apply_and_wait(canvas, qtbot)
    view = canvas.view
    assert QApplication.focusWidget() is view
    assert "Space" in view.toolTip() and "1, 2, 4" in view.toolTip()
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_2)
    assert view.zoom() == pytest.approx(2.0)
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_1)
    assert view.zoom() == pytest.approx(1.0) and quality.value() == q0
    assert view.mode() == "split"
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Space)
    assert view.mode() == "before"
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Space)
    assert view.mode() == "after"


# --- inpaint: the mask does not cover the result ----------------------------------------------

def test_the_inpaint_mask_is_hidden_over_the_result_and_kept_for_a_reapply(canvas, qtbot, tmp_path):
    drop(canvas, [png(tmp_path / "p.png", 64, 48)])
    assert canvas.select_model("builtin:inpaint")
    child(canvas, "brushSlider", QSlider).setValue(8)
    _paint_stroke(qtbot, canvas.view, QPointF(10, 24), QPointF(50, 24))
    assert canvas.view.overlay() is not None
    apply_and_wait(canvas, qtbot)
    assert canvas.view.mode() == "split" and canvas.view.overlay() is None  # the result is visible
    assert not canvas.view.paint_mode() and not canvas.mask.is_empty()  # kept
    assert "hidden" in child(canvas, "maskHint", QLabel).text()
    child(canvas, "beforeButton", QToolButton).click()
    assert canvas.view.overlay() is not None and canvas.view.paint_mode()  # Before: see / change it
    child(canvas, "afterButton", QToolButton).click()
    assert canvas.view.overlay() is None
    apply_and_wait(canvas, qtbot, click=False)  # re-apply with the kept mask
    assert canvas.result() is not None and canvas.error_text() == ""


# --- an unsaved result is not thrown away silently ------------------------------------------------

def test_open_drop_and_paste_ask_before_discarding_an_unsaved_result(canvas, qtbot, tmp_path, monkeypatch):
    drop(canvas, [png(tmp_path / "first.png", 40, 30)])
    choose_upscale_x2(canvas, qtbot)
    apply_and_wait(canvas, qtbot)
    assert canvas.has_unsaved_result()
    second = png(tmp_path / "second.png", 20, 10)

    seen: list[str] = []
    timer = answer_box(qtbot, "discardBox", QMessageBox.StandardButton.Cancel, seen)
    drop(canvas, [second])
    timer.stop()
    assert seen and "first.png" in seen[0]
    assert canvas.photo().name == "first.png" and canvas.result() is not None  # Cancel keeps it

    QGuiApplication.clipboard().setText(str(second))
    timer = answer_box(qtbot, "discardBox", QMessageBox.StandardButton.Cancel)
    canvas.paste()
    timer.stop()
    wait_opened(canvas)
    assert canvas.photo().name == "first.png"

    from imgen_desktop.ui.enhance import files

    target = tmp_path / "kept.png"
    monkeypatch.setattr(files.QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), ""))
    timer = answer_box(qtbot, "discardBox", QMessageBox.StandardButton.Save)
    with qtbot.waitSignal(canvas.sigSaved, timeout=30000):
        canvas.open_paths([str(second)])
    timer.stop()
    wait_opened(canvas)
    assert target.is_file() and canvas.photo().name == "second.png" and not canvas.has_unsaved_result()

    apply_and_wait(canvas, qtbot)
    timer = answer_box(qtbot, "discardBox", QMessageBox.StandardButton.Discard)
    assert canvas.confirm_discard() is True  # what the main window calls on Quit
    timer.stop()


# --- batches ---------------------------------------------------------------------------------------

def test_a_batch_result_can_be_reviewed_before_and_after(canvas, qtbot, tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    png(src / "a.png", 20, 16, 1)
    png(src / "b.png", 18, 12, 2)
    drop(canvas, [src])
    choose_upscale_x2(canvas, qtbot)
    with qtbot.waitSignal(canvas.sigBatchFinished, timeout=120000):
        assert canvas.start_batch(str(tmp_path / "out"))
    batch_list = child(canvas, "batchList", QListWidget)
    batch_list.setCurrentRow(1)
    qtbot.waitUntil(lambda: canvas.result() is not None and canvas.photo().name == "b.png", timeout=30000)
    assert (canvas.result().width, canvas.result().height) == (36, 24)
    assert canvas.view.after_image() is not None and canvas.view.mode() == "split"
    assert not canvas.has_unsaved_result()  # it is the file on disk
    assert "b_x2.png" in child(canvas, "batchDetail", QLabel).text()


def test_a_batch_with_an_unreadable_first_file_keeps_the_batch_on_screen(canvas, qtbot, tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    (src / "a_bad.png").write_bytes(b"this is not an image at all")
    png(src / "b.png", 20, 16, 1)
    png(src / "c.png", 18, 12, 2)
    drop(canvas, [src / "a_bad.png", src / "b.png", src / "c.png"])
    qtbot.waitUntil(lambda: bool(canvas.view.placeholder()), timeout=30000)
    assert canvas.stack.currentWidget() is not canvas.empty  # not the drop screen
    assert "a_bad.png" in canvas.view.placeholder()
    choose_upscale_x2(canvas, qtbot)
    with qtbot.waitSignal(canvas.sigBatchFinished, timeout=120000):
        assert canvas.start_batch(str(tmp_path / "out"))
        assert canvas.stack.currentWidget() is not canvas.empty
    batch_list = child(canvas, "batchList", QListWidget)
    assert batch_list.horizontalScrollBarPolicy() == Qt.ScrollBarPolicy.ScrollBarAlwaysOff and batch_list.wordWrap()
    message = canvas.batch_items()[0].error
    assert "a_bad.png" in message and message in batch_list.item(0).toolTip()
    batch_list.setCurrentRow(0)
    assert message in child(canvas, "batchDetail", QLabel).text()


def test_same_names_in_two_folders_get_two_outputs(canvas, qtbot, tmp_path):
    for sub, seed in (("a", 1), ("b", 2)):
        (tmp_path / sub).mkdir()
        png(tmp_path / sub / "x.png", 20, 16, seed)
    drop(canvas, [tmp_path / "a", tmp_path / "b"])
    choose_upscale_x2(canvas, qtbot)
    with qtbot.waitSignal(canvas.sigBatchFinished, timeout=120000) as done:
        assert canvas.start_batch(str(tmp_path / "out"))
    assert done.args == [2, 0]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["x_x2-2.png", "x_x2.png"]


def test_a_batch_into_a_folder_with_results_asks_and_keeps_them(canvas, qtbot, tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    png(src / "a.png", 20, 16, 1)
    png(src / "b.png", 18, 12, 2)
    out = tmp_path / "out"
    out.mkdir()
    png(out / "a_x2.png", 40, 32, 3)
    before = (out / "a_x2.png").read_bytes()
    drop(canvas, [src])
    choose_upscale_x2(canvas, qtbot)
    seen: list[str] = []
    timer = answer_box(qtbot, "existingOutputsBox", "Keep them", seen)
    with qtbot.waitSignal(canvas.sigBatchFinished, timeout=120000):
        assert canvas.start_batch(str(out))
    timer.stop()
    assert seen and "1 of the 2" in seen[0]
    assert (out / "a_x2.png").read_bytes() == before and (out / "b_x2.png").is_file()
    assert canvas.batch_items()[0].status_text().startswith("✓ already done")


def test_a_cancelled_batch_says_how_many_files_it_wrote(canvas, qtbot, tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    png(src / "a.png", 20, 16, 1)
    png(src / "b.png", 640, 480, 2)
    png(src / "c.png", 20, 16, 3)
    drop(canvas, [src])
    choose_upscale_x2(canvas, qtbot)
    child(canvas, "tileCombo", QComboBox).setCurrentText("32")
    with qtbot.waitSignal(canvas.sigCancelled, timeout=120000):
        assert canvas.start_batch(str(tmp_path / "out"))
        qtbot.waitUntil(lambda: canvas.batch_items()[1].status == "working" and canvas.batch_items()[0].status == "done",
                        timeout=60000)
        canvas.cancel_button.click()
    text = child(canvas, "progressLabel", QLabel).text()
    assert "1 of 3 photos were written" in text and "nothing" not in text.lower()
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a_x2.png"]


# --- banners ----------------------------------------------------------------------------------------

def test_banners_close_and_go_away_with_their_cause(canvas, qtbot, tmp_path, monkeypatch):
    from imgen_desktop.ui.enhance import state as state_module

    banner = child(canvas, "enhanceBanner")
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"nope")
    drop(canvas, [bad])
    assert "bad.jpg" in canvas.error_text() and banner.isVisible()
    child(canvas, "bannerClose", QToolButton).click()
    assert canvas.error_text() == "" and not banner.isVisible()

    drop(canvas, [bad])
    assert banner.isVisible()
    drop(canvas, [png(tmp_path / "good.png", 40, 30)])
    assert canvas.error_text() == "" and not banner.isVisible()  # a new photo: the old message goes

    choose_upscale_x2(canvas, qtbot)
    tile = child(canvas, "tileCombo", QComboBox)
    tile.setCurrentText("16")
    canvas.apply()
    assert "16" in canvas.error_text() and "--" not in canvas.error_text()
    tile.setCurrentText("64")
    assert canvas.error_text() == "" and not banner.isVisible()  # valid input: it goes

    monkeypatch.setattr(state_module, "INFO_TIMEOUT_MS", 300)
    apply_and_wait(canvas, qtbot)
    assert banner.isVisible() and "done in" in child(canvas, "bannerText", QLabel).text()
    qtbot.waitUntil(lambda: not banner.isVisible(), timeout=5000)  # info notes time out


# --- before and after sampled alike --------------------------------------------------------------

def _pane_colours(view, left: bool) -> int:
    img = view.grab().toImage()
    rect, x = view.image_rect(), view.divider_x()
    x0, x1 = (max(rect.left(), 0) + 4, x - 20) if left else (x + 20, min(rect.right(), view.width()) - 4)
    y0 = max(rect.top(), 0) + max(60, (min(rect.bottom(), view.height()) - max(rect.top(), 0)) // 3)
    colours = set()
    for yy in range(int(y0), int(y0) + 40, 2):
        for xx in range(int(x0), int(x1), 2):
            colours.add(img.pixel(xx, yy))
    return len(colours)


def test_before_and_after_use_the_same_sampling(canvas, qtbot, tmp_path):
    drop(canvas, [_checker(tmp_path / "checker.png", 48, 36, 3)])
    choose_upscale_x2(canvas, qtbot)
    apply_and_wait(canvas, qtbot)
    view = canvas.view
    view.set_split(0.5)
    view.zoom_to(4.0)  # 400 %: the before (half the size) is magnified 8x
    assert not view.smooth_sampling()
    assert _pane_colours(view, left=True) <= 2  # hard pixels: black and white only, no blur
    view.zoom_to(1.0)  # below 200 %: both panes smooth
    assert view.smooth_sampling() and _pane_colours(view, left=True) > 2


# --- options -----------------------------------------------------------------------------------------

def test_the_noise_slider_is_off_and_looks_off_while_auto(canvas, qtbot, tmp_path):
    drop(canvas, [png(tmp_path / "p.png", 40, 30)])
    assert canvas.select_model("builtin:denoise")
    auto, slider = child(canvas, "noiseAutoCheck"), child(canvas, "noiseSlider", QSlider)
    assert auto.isChecked() and not slider.isEnabled()
    off = slider.grab().toImage()
    auto.setChecked(False)
    assert slider.isEnabled()
    on = slider.grab().toImage()
    assert off != on  # drawn differently, not only refusing input
    assert child(canvas, "noiseValue", QLabel).text() == str(slider.value())


def test_progress_is_one_sensible_line(canvas, qtbot, tmp_path):
    drop(canvas, [png(tmp_path / "p.png", 256, 192)])
    choose_upscale_x2(canvas, qtbot)
    child(canvas, "tileCombo", QComboBox).setCurrentText("64")
    label, bar = child(canvas, "progressLabel", QLabel), child(canvas, "enhanceProgress", QProgressBar)
    texts: list[str] = []
    canvas.state.sigProgressChanged.connect(lambda: texts.append(label.text()))
    apply_and_wait(canvas, qtbot)
    tiles = [t for t in texts if t.startswith("Tile")]
    assert tiles and tiles[0].startswith("Tile 1 of ")
    assert not bar.isTextVisible()  # one progress text, not two
    assert all(re.fullmatch(r"Tile (\d+) of (\d+)( · ETA \S+ (s|min \d+ s))?( · finishing…)?", t) for t in tiles), tiles
    assert not any("Tile 0" in t or "0 /" in t for t in texts)
    assert any("ETA" in t for t in tiles)


def test_the_output_size_and_memory_show_before_apply(canvas, qtbot, tmp_path):
    big = tmp_path / "big.png"
    Image.new("RGB", (2400, 1800), (90, 120, 150)).save(big)
    drop(canvas, [big])
    label = child(canvas, "outputSizeLabel", QLabel)
    assert canvas.select_model("builtin:upscale-x4")
    assert label.text().startswith("Output 9600 × 7200 (69 MP, ~0.8 GB)") and label.property("warn") is True
    assert canvas.select_model("builtin:upscale-x2")
    assert label.text() == "Output 4800 × 3600 (17 MP, ~0.2 GB)" and label.property("warn") is False


# --- fits a small screen --------------------------------------------------------------------------

def _clipped_labels(root: QWidget) -> list[str]:
    bad = []
    for label in root.findChildren(QLabel):
        if not label.isVisible() or label.wordWrap() or isinstance(label, ElidedLabel) or not label.text():
            continue
        if label.textFormat() == Qt.TextFormat.RichText or "<" in label.text():
            continue
        need = label.fontMetrics().horizontalAdvance(label.text())
        if need > label.contentsRect().width() + 1:
            bad.append(f"{label.objectName() or label.text()!r}: {need} > {label.contentsRect().width()}")
    return bad


def test_the_tab_fits_1024x700_with_a_result_and_nothing_clips(window, canvas, qtbot, tmp_path):
    drop(canvas, [png(tmp_path / "a_photo_with_a_rather_long_file_name_for_the_info_line.png", 120, 90)])
    choose_upscale_x2(canvas, qtbot)
    apply_and_wait(canvas, qtbot)
    assert window.minimumSizeHint().width() <= 1024 and window.minimumSizeHint().height() <= 700
    window.resize(1024, 700)
    qtbot.waitUntil(lambda: window.width() <= 1024 and window.height() <= 700, timeout=5000)
    QApplication.processEvents()
    assert _clipped_labels(canvas) == []
    info = child(canvas, "infoLabel", ElidedLabel)
    assert "result" in info.toolTip()  # the whole line is one hover away
    smallest = window.minimumSizeHint()
    window.resize(smallest)
    qtbot.waitUntil(lambda: window.size() == smallest, timeout=5000)
    QApplication.processEvents()
    assert _clipped_labels(canvas) == []


# --- GUI words ---------------------------------------------------------------------------------------

def test_messages_speak_gui_not_command_line(canvas, qtbot, tmp_path, imgen_home):
    name = tiny_upscale_model("gone-soon")
    list_models(canvas, qtbot, name)
    drop(canvas, [png(tmp_path / "p.png", 20, 16)])
    assert canvas.select_model(name)
    Path(canvas.current_model().path).unlink()
    with qtbot.waitSignal(canvas.sigError, timeout=60000) as err:
        canvas.apply()
    qtbot.waitUntil(lambda: not canvas.is_busy(), timeout=30000)
    for text in (err.args[0], canvas.error_text()):
        assert "no longer there" in text
        assert "--" not in text and "imgen " not in text and "builtin:" not in text
    src = tmp_path / "more"
    src.mkdir()
    png(src / "a.png")
    png(src / "b.png", seed=1)
    drop(canvas, [src])
    assert canvas.select_model("builtin:inpaint")
    assert not canvas.start_batch(str(tmp_path / "out"))
    assert "--" not in canvas.error_text() and "one at a time" in canvas.error_text()
