"""Community models through the real window: a model file dropped on any tab is imported in the
background (one line of success or one error line naming the file), listed on the Models tab and
the canvas's picker, chosen on the canvas when dropped there, and applied like ours — an
upscaler on a real photo (result x scale, Save), LaMa with the mask brush (only the hole
changes), RestoreFormer as its own "Restore faces" task; a hostile pickle runs nothing."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtWidgets import QComboBox, QLabel, QProgressBar, QTableWidget

from tests.ui.community_helpers import hostile_pth, pixels, real_photo, weights_file
from tests.ui.enhance_helpers import child, drop, wait_opened

IMPORT_S = 120_000  # ms; LaMa's 51 M parameters take a while to read and store on a busy machine


@pytest.fixture(autouse=True)
def _one_thread(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")


def _window(main_window, qtbot):
    window = main_window()
    qtbot.waitUntil(lambda: window.canvas.state.models is not None and not window.canvas.is_listing_models(),
                    timeout=60_000)
    return window


def _banner(canvas) -> str:
    label = canvas.findChild(QLabel, "bannerText")
    return label.text() if label is not None and label.isVisible() else ""


def _row(panel, name: str) -> int:
    return next(i for i, info in enumerate(panel.rows()) if info.name == name)


def _chosen(canvas, name: str) -> bool:
    m = canvas.current_model()
    return m is not None and m.spec == name


def test_an_upscaler_dropped_on_the_canvas_is_imported_chosen_applied_and_saved(main_window, qtbot, tmp_path):
    window = _window(main_window, qtbot)
    canvas = window.canvas
    window.tabs.setCurrentWidget(canvas)
    src = weights_file(tmp_path / "4x-tiny-compact.pth", "compact", scale=4)
    with qtbot.waitSignal(window.importer.sigImported, timeout=IMPORT_S) as done:
        drop(canvas, [src], wait=False)
        assert canvas.photo() is None  # not opened as a photo
        assert "Importing the model 4x-tiny-compact.pth" in window.statusBar().currentMessage()
    line = "Imported 4x-tiny-compact.pth as “4x-tiny-compact”: COMPACT upscale ×4"
    assert done.args[:2] == ["4x-tiny-compact", line]
    assert window.statusBar().currentMessage() == line and _banner(canvas) == line
    qtbot.waitUntil(lambda: _chosen(canvas, "4x-tiny-compact"), timeout=60_000)  # chosen on the canvas
    combo = child(canvas, "modelCombo", QComboBox)
    assert "4x-tiny-compact" in combo.currentText() and "Upscale ×4" in combo.currentText()
    panel = window.models_panel  # and listed on the Models tab
    table = panel.findChild(QTableWidget, "modelsTable")
    r = _row(panel, "4x-tiny-compact")
    assert [table.item(r, c).text() for c in (0, 1, 2, 5)] == ["4x-tiny-compact", "COMPACT", "upscale ×4", "—"]
    table.clearSelection()
    panel.select("4x-tiny-compact")
    assert "a community model imported from 4x-tiny-compact.pth, architecture Compact" in panel.info.text()

    photo = real_photo(tmp_path / "rocket-crop.png")
    drop(canvas, [photo])
    assert canvas.photo() is not None and canvas.photo().size == (80, 60)
    with qtbot.waitSignal(canvas.sigResultReady, timeout=60_000):
        canvas.apply_button.click()
    assert canvas.result().size == (320, 240)
    out = tmp_path / "rocket-x4.png"
    with qtbot.waitSignal(canvas.sigSaved, timeout=30_000):
        assert canvas.save_result(str(out)) == str(out)
    saved = pixels(out)
    assert saved.shape == (240, 320, 3) and saved.std() > 1  # a real picture was written
    assert not canvas.has_unsaved_result()


def test_a_photo_and_a_model_dropped_together_on_the_models_tab(main_window, qtbot, tmp_path):
    window = _window(main_window, qtbot)
    panel = window.models_panel
    window.tabs.setCurrentWidget(panel)
    model = weights_file(tmp_path / "tiny-esrgan.safetensors", "esrgan", scale=2)
    photo = real_photo(tmp_path / "coffee-crop.png", "coffee.png", (200, 150, 264, 198))
    table = panel.findChild(QTableWidget, "modelsTable")
    with qtbot.waitSignal(window.importer.sigImported, timeout=IMPORT_S):
        drop(table.viewport(), [photo, model], wait=False)  # the table does not take drops: the window does
        assert window.tabs.currentWidget() is window.canvas  # the photo opens on the Enhance tab
    wait_opened(window.canvas)
    assert window.canvas.photo().size == (64, 48)
    qtbot.waitUntil(lambda: _chosen(window.canvas, "tiny-esrgan"), timeout=60_000)  # a photo came with it
    r = _row(panel, "tiny-esrgan")
    assert [table.item(r, c).text() for c in (1, 2)] == ["ESRGAN", "upscale ×2"]
    with qtbot.waitSignal(window.canvas.sigResultReady, timeout=60_000):
        window.canvas.apply()
    assert window.canvas.result().size == (128, 96)


def test_lama_fills_only_the_hole_painted_with_the_mask_brush(main_window, qtbot, tmp_path):
    window = _window(main_window, qtbot)
    canvas = window.canvas
    photo = real_photo(tmp_path / "astronaut-crop.png", "astronaut.png", (180, 60, 244, 108))
    drop(canvas, [photo])
    src = weights_file(tmp_path / "big-lama.safetensors", "lama")
    view = child(canvas, "compareView")  # dropped on the photo itself, as a user does
    with qtbot.waitSignal(window.importer.sigImported, timeout=IMPORT_S) as done:
        drop(view, [src], wait=False)
    assert done.args[1].endswith(": LAMA inpaint")
    assert canvas.photo().size == (64, 48)  # the photo stays
    qtbot.waitUntil(lambda: _chosen(canvas, "big-lama"), timeout=60_000)
    assert canvas.current_model().needs_mask
    assert child(canvas, "maskBox").isVisible()  # the brush is offered, as for our inpainting models
    canvas.apply()
    assert "Paint over the area" in canvas.error_text()  # no hole painted yet
    canvas.mask.brush_size = 8
    canvas.mask.begin_stroke(20, 24)  # display coordinates = photo pixels before any result
    canvas.mask.stroke_to(40, 24)
    canvas.mask.end_stroke()
    mask = canvas.mask.mask_array()
    assert mask.shape == (48, 64) and 0 < (mask > 0).mean() < 0.2
    with qtbot.waitSignal(canvas.sigResultReady, timeout=120_000):
        canvas.apply()
    before, after = canvas.photo().pixels.astype(int), canvas.result().pixels.astype(int)
    assert after.shape == before.shape
    keep = mask == 0
    assert np.array_equal(after[keep], before[keep])  # outside the hole: untouched
    assert np.abs(after[~keep] - before[~keep]).max() > 0  # inside: filled by the network


def test_restoreformer_shows_as_its_own_restore_faces_task(main_window, qtbot, tmp_path):
    window = _window(main_window, qtbot)
    canvas = window.canvas
    window.tabs.setCurrentWidget(window.train_panel)  # any tab takes a model file
    src = weights_file(tmp_path / "restoreformer.pth", "restoreformer")
    with qtbot.waitSignal(window.importer.sigImported, timeout=IMPORT_S) as done:
        drop(window.train_panel, [src], wait=False)
    assert done.args[1] == "Imported restoreformer.pth as “restoreformer”: RESTOREFORMER restore faces"
    assert window.tabs.currentWidget() is window.train_panel  # a model alone does not switch tabs
    panel = window.models_panel
    table = panel.findChild(QTableWidget, "modelsTable")
    assert table.item(_row(panel, "restoreformer"), 2).text() == "restore faces"
    qtbot.waitUntil(lambda: canvas.state.find_model("restoreformer") >= 0, timeout=60_000)
    combo = child(canvas, "modelCombo", QComboBox)
    labels = [combo.itemText(i) for i in range(combo.count())]
    assert any("restoreformer" in t and "Restore faces" in t for t in labels), labels
    assert canvas.select_model("restoreformer")
    assert "Restore faces" in child(canvas, "modelInfoLabel", QLabel).text()
    assert "Restore faces" in canvas.apply_button.text()
    assert not child(canvas, "maskBox").isVisible()  # a whole-photo task: no brush
    drop(canvas, [real_photo(tmp_path / "face.png", "astronaut.png", (180, 40, 244, 104))])
    with qtbot.waitSignal(canvas.sigResultReady, timeout=60_000):
        canvas.apply()
    assert canvas.result().size == (64, 64)
    assert canvas.default_save_name() == "face_faces.png"


def test_a_hostile_pth_dropped_is_refused_in_one_line_and_runs_nothing(main_window, qtbot, tmp_path):
    window = _window(main_window, qtbot)
    canvas = window.canvas
    marker = tmp_path / "pwned"
    evil = hostile_pth(tmp_path / "evil.pth", marker)
    with qtbot.waitSignal(window.importer.sigFailed, timeout=IMPORT_S) as failed:
        drop(canvas, [evil], wait=False)
    message = failed.args[0]
    assert message.startswith("evil.pth was refused") and "\n" not in message and "Traceback" not in message
    assert canvas.error_text() == message and window.statusBar().currentMessage() == message
    assert canvas.photo() is None and not marker.exists()
    window.tabs.setCurrentWidget(window.models_panel)  # again on another tab: the same line there
    with qtbot.waitSignal(window.importer.sigFailed, timeout=IMPORT_S):
        drop(window.models_panel, [evil], wait=False)
    assert "evil.pth was refused" in window.models_panel.info.text()
    assert not marker.exists() and window.models_panel.infos == []
    drop(canvas, [real_photo(tmp_path / "after.png")])  # the app keeps working
    assert canvas.photo() is not None and window.isVisible()


def test_cancel_mid_apply_with_a_community_upscaler(main_window, qtbot, tmp_path):
    window = _window(main_window, qtbot)
    canvas = window.canvas
    with qtbot.waitSignal(window.importer.sigImported, timeout=IMPORT_S):
        drop(canvas, [weights_file(tmp_path / "c4.pth", "compact", scale=4)], wait=False)
    qtbot.waitUntil(lambda: _chosen(canvas, "c4"), timeout=60_000)
    drop(canvas, [real_photo(tmp_path / "rocket.png", box=(0, 0, 640, 427))])  # the whole photo
    child(canvas, "tileCombo", QComboBox).setCurrentText("32")
    progress = child(canvas, "enhanceProgress", QProgressBar)
    with qtbot.waitSignal(canvas.sigCancelled, timeout=120_000):
        canvas.apply()
        qtbot.waitUntil(lambda: progress.maximum() > 10 and progress.value() >= 1, timeout=60_000)
        assert progress.value() < progress.maximum()
        canvas.cancel_button.click()
    qtbot.waitUntil(lambda: not canvas.is_busy(), timeout=30_000)
    assert canvas.result() is None and not canvas.save_button.isEnabled()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c4.pth", "rocket.png"]  # nothing written


def test_the_models_tab_exports_an_imported_model_to_onnx_that_matches_torch(main_window, qtbot, tmp_path,
                                                                            monkeypatch):
    ort = pytest.importorskip("onnxruntime")
    from PySide6.QtWidgets import QFileDialog

    window = _window(main_window, qtbot)
    panel = window.models_panel
    window.tabs.setCurrentWidget(panel)
    with qtbot.waitSignal(window.importer.sigImported, timeout=IMPORT_S):
        drop(panel, [weights_file(tmp_path / "esr.pth", "esrgan", scale=2)], wait=False)
    out = tmp_path / "esr.onnx"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(out), ""))
    assert panel.select("esr") and panel.buttons["export"].isEnabled()
    panel.buttons["export"].click()
    qtbot.waitUntil(lambda: "Exported to" in panel.info.text() or "Could not" in panel.info.text(), timeout=120_000)
    assert "Exported to" in panel.info.text(), panel.info.text()

    import torch

    from imgen_desktop.core.enhance import open_model

    x = torch.rand(1, 3, 21, 30, generator=torch.Generator().manual_seed(0))  # not the export's example size
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    (got,) = session.run(None, {"image": x.numpy()})
    with torch.no_grad():
        want = open_model("esr", "cpu")(x).numpy()  # the app's whole-image call (pads 21 -> 22 rows)
    assert got.shape == want.shape == (1, 3, 42, 60)
    assert np.abs(got - want).max() < 1e-4
