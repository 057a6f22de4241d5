"""The sample grid's timeline in the real window: scrub a past run's saved grids step by step,
open one full size, save it (atomically, in a worker); compared runs side by side at the same
(nearest saved) step; a live run's timeline grows as grids arrive."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QLabel, QLineEdit, QPushButton, QSlider, QTreeWidget

from tests.ui.train_runs_helpers import make_runs

pytestmark = pytest.mark.timeout(240)
RUNS = (("gan-a", "gan", 30), ("vae-b", "vae", 30), ("gan-c", "gan", 20))


@pytest.fixture(autouse=True)
def _one_thread(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")


def _panel(qtbot, main_window):
    window = main_window()
    panel = window.train_panel
    window.tabs.setCurrentWidget(panel)
    return panel


def _pixels(qimage) -> np.ndarray:
    img = qimage.convertToFormat(qimage.Format.Format_RGB888)
    ptr = img.constBits()
    rows = np.frombuffer(ptr, np.uint8, img.sizeInBytes()).reshape(img.height(), img.bytesPerLine())
    return rows[:, : 3 * img.width()].reshape(img.height(), img.width(), 3).copy()


def test_scrub_a_past_runs_grids_open_and_save(qtbot, main_window, imgen_home, tmp_path):
    make_runs(imgen_home, RUNS)
    panel = _panel(qtbot, main_window)
    grid = panel.sample_grid
    panel.prepare_resume("gan-a")  # what "Continue a run…" → Load run does
    qtbot.waitUntil(lambda: grid.timeline_steps() == [10, 20, 30], timeout=30_000)
    timeline = panel.findChild(QSlider, "sampleTimeline")
    step_label = panel.findChild(QLabel, "sampleStepLabel")
    assert timeline.isEnabled() and timeline.value() == timeline.maximum()  # the newest first
    assert step_label.text() == "step 30" and panel.findChild(QLabel, "timelineLabel").text() == "3 / 3"
    shown = {}
    for index in range(3):
        timeline.setValue(index)
        shown[grid.shown_step()] = _pixels(grid.view.image())
        assert step_label.text() == f"step {grid.shown_step()}"
    assert sorted(shown) == [10, 20, 30]
    assert not np.array_equal(shown[10], shown[30])  # the samples change as it trains
    saved10 = np.asarray(Image.open(imgen_home / "runs/gan-a/samples/step_000010.png").convert("RGB"))
    np.testing.assert_array_equal(shown[10], saved10)
    # keyboard scrubbing
    timeline.setFocus()
    qtbot.keyClick(timeline, Qt.Key.Key_Right)
    assert grid.shown_step() == 30
    qtbot.keyClick(timeline, Qt.Key.Key_Left)
    assert grid.shown_step() == 20
    # open full size
    qtbot.mouseClick(panel.findChild(QPushButton, "openSampleButton"), Qt.MouseButton.LeftButton)
    dialog = next(w for w in panel.findChildren(object) if getattr(w, "objectName", lambda: "")() == "sampleFullSizeDialog")
    assert dialog.isVisible() and dialog.zoom >= 2
    assert dialog.windowTitle() == "gan-a · step 20"
    dialog.close()
    # save the grid shown, through core, in a worker
    out = tmp_path / "grid20.png"
    with qtbot.waitSignal(grid.sigSaved, timeout=30_000) as saved:
        grid.save_shown(str(out))
    assert saved.args == [str(out)]
    np.testing.assert_array_equal(np.asarray(Image.open(out).convert("RGB")), shown[20])
    assert not list(tmp_path.glob("*.tmp*"))  # no temporary file left behind
    # an unwritable place ends in one sentence, and the app goes on
    (tmp_path / "taken.png").mkdir()  # a folder where the file should go
    with qtbot.waitSignal(grid.sigError, timeout=30_000) as failed:
        grid.save_shown(str(tmp_path / "taken.png"))
    assert failed.args[0] and "\n" not in failed.args[0]


def test_compared_runs_side_by_side_at_the_nearest_step(qtbot, main_window, imgen_home):
    make_runs(imgen_home, RUNS)
    panel = _panel(qtbot, main_window)
    grid = panel.sample_grid
    tree = panel.findChild(QTreeWidget, "compareRunList")
    qtbot.waitUntil(lambda: tree.topLevelItemCount() == 3, timeout=30_000)
    panel.prepare_resume("gan-a")
    qtbot.waitUntil(lambda: grid.timeline_steps() == [10, 20, 30], timeout=30_000)
    panel.compare.set_checked("gan-c")  # saved at 10 and 20 only
    qtbot.waitUntil(lambda: "gan-c" in grid.compared_shown(), timeout=30_000)
    views = [v for v in grid.findChildren(object) if getattr(v, "objectName", lambda: "")() == "comparedSampleView"]
    assert len(views) == 1 and views[0].isVisible() and grid.view.isVisible()
    grid.set_step(30)
    assert grid.compared_shown() == {"gan-c": 20}  # its nearest saved step
    labels = [w.text() for w in grid.findChildren(QLabel, "comparedSampleLabel")]
    assert labels == ["gan-c · step 20"]
    grid.set_step(10)
    assert grid.compared_shown() == {"gan-c": 10}
    c10 = np.asarray(Image.open(imgen_home / "runs/gan-c/samples/step_000010.png").convert("RGB"))
    np.testing.assert_array_equal(_pixels(views[0].image()), c10)
    # a second compared run; the panes go when the runs are unticked
    panel.compare.set_checked("vae-b")
    qtbot.waitUntil(lambda: set(grid.compared_shown()) == {"gan-c", "vae-b"}, timeout=30_000)
    panel.compare.set_checked("gan-c", False)
    panel.compare.set_checked("vae-b", False)
    assert grid.compared_shown() == {}
    assert not [w for w in grid.findChildren(QLabel, "comparedSampleLabel") if w.isVisible()]


def test_live_timeline_grows_as_grids_arrive(qtbot, main_window, imgen_home):
    panel = _panel(qtbot, main_window)
    qtbot.waitUntil(lambda: panel.preset_combo.count() > 0, timeout=10_000)
    grid = panel.sample_grid
    family = panel.findChild(QComboBox, "familyCombo")
    family.setCurrentIndex(family.findData("gan"))
    panel.findChild(QLineEdit, "datasetEdit").setText("builtin:digits")
    for key, value in (("image_size", 16), ("width", 8), ("batch_size", 16), ("steps", 30), ("sample_every", 10),
                       ("checkpoint_every", 0)):
        panel.fields[key].put(value)
    panel.findChild(QLineEdit, "runNameEdit").setText("live-t")
    seen = []
    grid.sigShown.connect(seen.append)
    qtbot.mouseClick(panel.findChild(QPushButton, "startButton"), Qt.MouseButton.LeftButton)
    with qtbot.waitSignal(panel.sigRunFinished, timeout=180_000):
        pass
    qtbot.waitUntil(lambda: grid.timeline_steps()[-1:] == [30], timeout=10_000)
    steps = grid.timeline_steps()
    assert {10, 20, 30} <= set(steps)
    assert sorted(set(seen)) == sorted(set(seen) & set(steps)) and 10 in seen and 30 in seen  # followed as they came
    assert grid.shown_step() == 30
    timeline = panel.findChild(QSlider, "sampleTimeline")
    timeline.setValue(steps.index(10))
    assert panel.findChild(QLabel, "sampleStepLabel").text() == "step 10"
