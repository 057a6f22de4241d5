"""The enhancement canvas in the real main window: drop, paste, Apply, Save, Cancel, batch, mask."""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QComboBox, QLabel, QListWidget, QProgressBar, QPushButton, QSlider

from enhance_helpers import child, choose_upscale_x2, drop as _drop, png as _png, wait_opened as _wait_opened
from imgen_desktop.ui.compare_view import rgba_to_qimage

# Qt 6 still has no QPointF constructor for QDragEnterEvent; PySide marks the QPoint one deprecated.
pytestmark = pytest.mark.filterwarnings("ignore:Function.*QDragEnterEvent:DeprecationWarning")


@pytest.fixture
def canvas(main_window, qtbot):
    window = main_window()
    c = window.canvas
    qtbot.waitUntil(lambda: not c.is_listing_models() and bool(c.state.models), timeout=60000)
    return c


def _choose_upscale_x2(canvas, qtbot, _imgen_home=None):
    return choose_upscale_x2(canvas, qtbot)


# --- loading -------------------------------------------------------------------------------------

def test_empty_state_then_drop_loads_the_photo(canvas, tmp_path):
    assert canvas.stack.currentWidget() is canvas.empty  # "Drop a photo here — or open one"
    assert not canvas.save_button.isEnabled()
    png = _png(tmp_path / "photo.png", 40, 30)
    _drop(canvas, [png])
    photo = canvas.photo()
    assert photo is not None and (photo.width, photo.height) == (40, 30)
    assert canvas.stack.currentWidget() is not canvas.empty
    assert canvas.view.display_size().width() == 40
    info = child(canvas, "infoLabel", QLabel).text()
    assert "40 × 30 px" in info and "8-bit RGB" in info
    assert canvas.error_text() == ""


def test_bad_file_shows_an_error_and_the_app_continues(canvas, tmp_path):
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"this is not a png")
    _drop(canvas, [bad])
    assert canvas.photo() is None
    assert "broken.png" in canvas.error_text()
    assert canvas.window().statusBar().currentMessage()
    good = _png(tmp_path / "good.png", 20, 10)
    _drop(canvas, [good])
    assert canvas.photo().width == 20 and canvas.error_text() == ""


def test_paste_image_data_loads_it(canvas):
    arr = np.zeros((12, 16, 4), np.uint8)
    arr[..., 0] = 200
    arr[..., 3] = 255
    arr[0, 0, 3] = 0  # one transparent pixel: alpha is kept
    QGuiApplication.clipboard().setImage(rgba_to_qimage(arr))
    canvas.paste()
    _wait_opened(canvas)
    photo = canvas.photo()
    assert photo is not None and (photo.width, photo.height) == (16, 12)
    assert photo.alpha is not None and photo.alpha[0, 0] == 0 and photo.alpha[5, 5] == 255
    assert int(photo.pixels[5, 5, 0]) == 200


def test_paste_file_path_text_loads_it(canvas, tmp_path):
    png = _png(tmp_path / "clip.png", 24, 18)
    QGuiApplication.clipboard().setText(str(png))
    canvas.paste()
    _wait_opened(canvas)
    assert canvas.photo() is not None and canvas.photo().width == 24


def test_sample_photo_is_one_click_away(canvas, qtbot):
    qtbot.mouseClick(canvas.empty.sample_button, Qt.MouseButton.LeftButton)
    _wait_opened(canvas)
    assert canvas.photo() is not None
    assert canvas.photo().width > 100


def test_photos_open_off_the_gui_thread_and_a_newer_request_wins(canvas, qtbot, tmp_path):
    """Decoding runs in a worker: load_file returns at once, the photo shows when it is ready;
    a second file opened before the first is done replaces it (the first result is dropped)."""
    import threading

    from imgen_desktop.core import imageio

    first, second = _png(tmp_path / "first.png", 30, 20), _png(tmp_path / "second.png", 24, 16)
    threads = []
    real = imageio.load_image

    def spy(path, *a, **k):
        threads.append(threading.current_thread() is threading.main_thread())
        time.sleep(0.2 if Path(path).name == "first.png" else 0.0)  # the first one is slow to decode
        return real(path, *a, **k)

    from unittest import mock

    with mock.patch.object(imageio, "load_image", spy):
        canvas.load_file(str(first))
        assert canvas.is_loading() and canvas.photo() is None  # returned before decoding finished
        with qtbot.waitSignal(canvas.sigPhotoLoaded, timeout=30000) as loaded:
            canvas.load_file(str(second))
        qtbot.wait(400)  # the slow first decode finishes meanwhile and must not replace the second
    assert loaded.args == ["second.png"] and canvas.photo().name == "second.png"
    assert threads == [False, False]  # both decoded off the GUI thread


def test_save_failure_is_reported_and_nothing_is_written(canvas, qtbot, tmp_path, imgen_home):
    _choose_upscale_x2(canvas, qtbot, imgen_home)
    _drop(canvas, [_png(tmp_path / "photo.png", 24, 16)])
    with qtbot.waitSignal(canvas.sigResultReady, timeout=120000):
        canvas.apply()
    blocker = tmp_path / "not a folder"
    blocker.write_text("a file where the folder should be")
    canvas.save_result(str(blocker / "result.png"))
    qtbot.waitUntil(lambda: not canvas.is_saving(), timeout=30000)
    assert "result.png" in canvas.error_text() and canvas.save_button.isEnabled()
    assert blocker.read_text() == "a file where the folder should be"


def test_folder_drop_makes_a_batch_list(canvas, tmp_path):
    folder = tmp_path / "shoot"
    folder.mkdir()
    _png(folder / "a.png", 20, 16, 1)
    _png(folder / "b.png", 22, 14, 2)
    _drop(canvas, [folder])
    batch_list = child(canvas, "batchList", QListWidget)
    assert batch_list.count() == 2 and batch_list.isVisible()
    assert canvas.photo() is not None  # the first one is previewed


# --- inpaint mask -----------------------------------------------------------------------------------

def test_mask_painting_with_the_mouse_undo_and_clear(canvas, qtbot, tmp_path):
    _drop(canvas, [_png(tmp_path / "p.png", 80, 60)])
    assert canvas.select_model("builtin:inpaint")
    assert child(canvas, "maskBox").isVisible() and canvas.view.paint_mode()
    child(canvas, "brushSlider", QSlider).setValue(10)
    view = canvas.view
    a = view.display_to_widget(QPointF(10, 30)).toPoint()
    b = view.display_to_widget(QPointF(70, 30)).toPoint()
    assert canvas.mask.is_empty()
    qtbot.mousePress(view, Qt.MouseButton.LeftButton, pos=a)
    for i in range(1, 11):
        qtbot.mouseMove(view, a + (b - a) * (i / 10))
    qtbot.mouseRelease(view, Qt.MouseButton.LeftButton, pos=b)
    mask = canvas.mask.mask_array()
    assert mask.shape == (60, 80) and mask.dtype == np.uint8
    assert set(np.unique(mask)) == {0, 255}
    assert mask[30, 40] == 255 and mask[5, 40] == 0  # along the stroke, not above it
    assert 0.05 < canvas.mask.coverage() < 0.4
    child(canvas, "undoMaskButton", QPushButton).click()
    assert canvas.mask.is_empty()
    qtbot.mousePress(view, Qt.MouseButton.LeftButton, pos=a)
    qtbot.mouseRelease(view, Qt.MouseButton.LeftButton, pos=a)
    assert not canvas.mask.is_empty()
    child(canvas, "clearMaskButton", QPushButton).click()
    assert canvas.mask.is_empty()


# --- apply / save / cancel (real engine, real model) ---------------------------------------------------

def test_apply_produces_a_result_compare_and_save(canvas, qtbot, tmp_path, imgen_home):
    _drop(canvas, [_png(tmp_path / "photo.png", 40, 30)])
    choice = _choose_upscale_x2(canvas, qtbot, imgen_home)
    assert choice.task == "upscale" and choice.scale == 2
    assert "2" in canvas.model_combo.currentText() and "upscale" in canvas.model_combo.currentText().lower()
    with qtbot.waitSignal(canvas.sigResultReady, timeout=120000):
        qtbot.mouseClick(canvas.apply_button, Qt.MouseButton.LeftButton)
        assert canvas.cancel_button.isVisible()  # the window stays live while it runs
    result = canvas.result()
    assert (result.width, result.height) == (80, 60)
    assert result.pixels.dtype == np.uint8 and result.channels == 3
    assert canvas.save_button.isEnabled() and not canvas.cancel_button.isVisible()
    assert canvas.view.mode() == "split" and canvas.view.display_size().width() == 80
    assert "80 × 60 px" in child(canvas, "resultInfoLabel", QLabel).text()

    # the split divider drags on the real view
    view = canvas.view
    x0, y = int(view.divider_x()), view.height() // 2
    qtbot.mousePress(view, Qt.MouseButton.LeftButton, pos=QPoint(x0, y))
    qtbot.mouseMove(view, QPoint(x0 - 100, y))
    qtbot.mouseRelease(view, Qt.MouseButton.LeftButton, pos=QPoint(x0 - 100, y))
    assert view.split() == pytest.approx((x0 - 100) / view.width(), abs=0.01)

    with qtbot.waitSignal(canvas.sigSaved, timeout=30000) as saved:
        out = canvas.save_result(str(tmp_path / "out" / "result.jpg"), quality=90)
        assert canvas.is_saving() and not canvas.save_button.isEnabled()  # written in the background
    assert saved.args == [out] and Path(out).is_file()
    assert canvas.save_button.isEnabled() and not canvas.is_saving()
    from imgen_desktop.core.imageio import load_image

    saved = load_image(out)
    assert (saved.width, saved.height) == (80, 60) and saved.format == "JPEG"
    assert not list((tmp_path / "out").glob(".*"))  # no temporary file left behind


def test_cancel_stops_a_long_job_and_writes_nothing(canvas, qtbot, tmp_path, imgen_home):
    _drop(canvas, [_png(tmp_path / "big.png", 1024, 768)])
    _choose_upscale_x2(canvas, qtbot, imgen_home)
    progress = child(canvas, "enhanceProgress", QProgressBar)
    child(canvas, "tileCombo", QComboBox).setCurrentText("32")
    assert canvas.tile_value() == 32
    with qtbot.waitSignal(canvas.sigCancelled, timeout=120000):
        canvas.apply()
        qtbot.waitUntil(lambda: progress.maximum() > 10 and progress.value() >= 1, timeout=60000)
        assert progress.value() < progress.maximum()
        qtbot.mouseClick(canvas.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not canvas.is_busy(), timeout=30000)
    assert canvas.result() is None and not canvas.save_button.isEnabled()
    assert "Cancelled" in child(canvas, "progressLabel", QLabel).text()
    assert canvas.apply_button.isVisible() and canvas.apply_button.isEnabled()
    assert [p.name for p in tmp_path.iterdir()] == ["big.png"]


def test_batch_continues_past_a_bad_file(canvas, qtbot, tmp_path, imgen_home):
    src = tmp_path / "in"
    src.mkdir()
    _png(src / "a.png", 20, 16, 1)
    (src / "b.png").write_bytes(b"garbage")
    _png(src / "c.png", 18, 12, 3)
    out = tmp_path / "out"
    _drop(canvas, [src / "a.png", src / "b.png", src / "c.png"])
    assert child(canvas, "batchList", QListWidget).count() == 3
    _choose_upscale_x2(canvas, qtbot, imgen_home)
    assert "3 photos" in canvas.apply_button.text()
    with qtbot.waitSignal(canvas.sigBatchFinished, timeout=120000) as blocker:
        assert canvas.start_batch(str(out))
    assert blocker.args == [2, 1]
    assert sorted(p.name for p in out.iterdir()) == ["a_x2.png", "c_x2.png"]
    status = [item.status_text() for item in canvas.batch_items()]
    assert status[0].startswith("✓") and status[2].startswith("✓")
    assert status[1].startswith("✗") and "b.png" in canvas.batch_items()[1].text()
    from imgen_desktop.core.imageio import load_image

    assert load_image(out / "c_x2.png").size == (36, 24)


def test_noise_strength_is_offered_only_for_models_that_take_it(canvas, qtbot, tmp_path):
    from imgen_desktop.core import models
    from imgen_desktop.core.store import ModelStore

    for name, hint in (("dn-level", True), ("dn-plain", False)):
        params = {"channels": 3, "task": "denoise", "scale": 1, "width": 8, "blocks": 1, "unshuffle": 2,
                  "dilations": [1], "noise_hint": hint}
        net = models.get("gan.restore").build_network(params)
        ModelStore().save(name, net.state_dict(), {"family": "gan", "task": "denoise", "scale": 1, "channels": 3,
                                                   "arch": "gan.restore", "arch_params": params})
    _drop(canvas, [_png(tmp_path / "p.png", 20, 16)])
    canvas.refresh_models()
    qtbot.waitUntil(lambda: canvas.state.find_model("dn-plain") >= 0, timeout=60000)
    row = child(canvas, "noiseRow")
    assert canvas.select_model("dn-level") and row.isVisible()
    assert canvas.options.noise_level() is None  # "Auto" by default
    child(canvas, "noiseAutoCheck").setChecked(False)
    child(canvas, "noiseSlider", QSlider).setValue(30)
    assert canvas.options.noise_level() == 30.0
    slider = child(canvas, "noiseSlider", QSlider)
    assert slider.maximum() == 50  # a file that does not record its training range
    assert canvas.select_model("dn-plain") and not row.isVisible()
    assert canvas.options.noise_level() is None
    assert canvas.apply_button.text() == "Denoise"
    # the built-in was trained on sigma 0-55: the slider reaches it, and the value reaches the run
    assert canvas.select_model("builtin:denoise") and row.isVisible()
    assert slider.maximum() == 55
    slider.setValue(55)
    assert canvas.options.noise_level() == 55.0


def test_passes_choice_reaches_the_model(canvas, qtbot, tmp_path):
    """Auto = 4 flipped passes for denoising (progress counts the tiles of all of them); 1 = one run."""
    canvas.select_model("builtin:denoise")
    assert canvas.current_model().spec == "builtin:denoise"
    _drop(canvas, [_png(tmp_path / "noisy.png", 40, 32)])
    totals = {}
    passes, progress = child(canvas, "passesCombo", QComboBox), child(canvas, "enhanceProgress", QProgressBar)
    assert passes.itemText(0) == "Auto (4)"
    for label in ("Auto (4)", "1 (fastest)"):
        passes.setCurrentIndex(passes.findText(label))
        with qtbot.waitSignal(canvas.sigResultReady, timeout=120000):
            canvas.apply()
        totals[label] = progress.maximum()
        qtbot.waitUntil(lambda: not canvas.is_busy(), timeout=30000)  # the worker thread has ended
    assert totals == {"Auto (4)": 4, "1 (fastest)": 1}  # one tile for a small photo, once per pass
