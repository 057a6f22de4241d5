"""The training queue from the real main window: add entries from the Train form, reorder, remove,
run the queue (a failing entry does not stop it), pause it, and find it again in a new window."""
from __future__ import annotations

import json

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QLabel, QLineEdit, QPlainTextEdit, QPushButton, QTabWidget, QTreeWidget

pytestmark = pytest.mark.timeout(900)


@pytest.fixture(autouse=True)
def one_thread(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # tiny trainings are ~10x faster on a busy machine


def tiny(panel, family: str = "gan", data: str = "builtin:digits", steps: int = 12, name: str = "") -> None:
    """A tiny generate run of ``family`` in the form (as a user would type it)."""
    combo = panel.findChild(QComboBox, "familyCombo")
    combo.setCurrentIndex(combo.findData(family))
    task = panel.findChild(QComboBox, "taskCombo")
    task.setCurrentIndex(task.findData("generate"))
    panel.findChild(QLineEdit, "datasetEdit").setText(data)
    for key, value in dict(image_size=16, batch_size=8, steps=steps, width=8, sample_every=4, checkpoint_every=0).items():
        panel.fields[key].put(value)
    if family == "gan":
        panel.fields["z_dim"].put(8)
        panel.fields["ema"].put(0.0)
    else:
        panel.fields["latent_dim"].put(4)
    device = panel.findChild(QComboBox, "deviceCombo")
    device.setCurrentIndex(device.findData("cpu") if device.findData("cpu") >= 0 else device.findData("auto"))
    panel.findChild(QLineEdit, "runNameEdit").setText(name)


def click(qtbot, widget) -> None:
    assert widget.isEnabled(), widget.objectName()
    qtbot.mouseClick(widget, Qt.MouseButton.LeftButton)


def rows(window) -> list[list[str]]:
    tree = window.findChild(QTreeWidget, "queueList")
    return [[tree.topLevelItem(i).text(c) for c in range(tree.columnCount())] for i in range(tree.topLevelItemCount())]


def select(window, row: int) -> None:
    tree = window.findChild(QTreeWidget, "queueList")
    tree.setCurrentItem(tree.topLevelItem(row))


def stored(home) -> list[dict]:
    return json.loads((home / "queue.json").read_text())["entries"]


@pytest.fixture
def opened():
    """Windows the test opened: a training still running when a test fails is stopped before the
    window closes (closing would ask "Stop it?" in a modal box)."""
    windows = []
    yield windows
    for window in windows:
        window.train_panel.stop_and_wait()


def open_train(qtbot, main_window, opened=None):
    window = main_window()
    if opened is not None:
        opened.append(window)
    panel = window.train_panel
    window.tabs.setCurrentWidget(panel)
    qtbot.waitUntil(lambda: panel.preset_combo.count() > 0, timeout=10_000)
    return window, panel


def test_add_reorder_remove_then_run_with_a_failing_entry(qtbot, main_window, imgen_home, tmp_path, opened):
    window, panel = open_train(qtbot, main_window, opened)
    add = window.findChild(QPushButton, "addToQueueButton")
    empty = tmp_path / "empty pictures"
    empty.mkdir()

    tiny(panel, "gan", name="q-gan")
    click(qtbot, add)
    tiny(panel, "vae", name="q-vae")
    click(qtbot, add)
    tiny(panel, "gan", data=str(empty), name="q-empty")
    click(qtbot, add)
    tiny(panel, "gan", steps=5, name="q-extra")
    click(qtbot, add)
    tabs = window.findChild(QTabWidget, "trainBottomTabs")
    assert tabs.currentWidget().objectName() == "queueView" and tabs.tabText(tabs.currentIndex()) == "Queue (4)"
    assert [r[1] for r in rows(window)] == ["q-gan", "q-vae", "q-empty", "q-extra"]
    assert rows(window)[0][2:] == ["GAN Generate", "standard", "builtin:digits", "waiting", "— / 12"]
    assert rows(window)[1][2] == "VAE Generate" and rows(window)[2][4] == "empty pictures"
    assert panel.findChild(QLineEdit, "runNameEdit").text() == ""  # the next entry gets its own name

    # reorder: the failing entry goes before the VAE (so an entry runs after the failure); remove one
    select(window, 2)
    click(qtbot, window.findChild(QPushButton, "queueUpButton"))
    assert [r[1] for r in rows(window)] == ["q-gan", "q-empty", "q-vae", "q-extra"]
    assert [r[0] for r in rows(window)] == ["1", "2", "3", "4"]
    assert panel.queue_view.selected_id() is not None and rows(window)[1][1] == "q-empty"  # it stays selected
    select(window, 3)
    click(qtbot, window.findChild(QPushButton, "queueRemoveButton"))
    assert [r[1] for r in rows(window)] == ["q-gan", "q-empty", "q-vae"]
    assert [e["config"]["name"] for e in stored(imgen_home)] == ["q-gan", "q-empty", "q-vae"]  # in the data root

    # run: one after another, with the live plot; Start is refused meanwhile
    start = window.findChild(QPushButton, "startButton")
    click(qtbot, window.findChild(QPushButton, "queueRunButton"))
    assert panel.is_training() and not start.isEnabled()
    assert window.findChild(QPushButton, "addToQueueButton").isEnabled()  # more can be queued while it runs
    qtbot.waitUntil(lambda: rows(window)[0][5] == "running", timeout=400_000)
    qtbot.waitUntil(lambda: panel.loss_plot.point_count("loss.g") >= 2, timeout=400_000)
    assert not start.isEnabled() and window.findChild(QPushButton, "queueRemoveButton") is not None
    qtbot.waitUntil(lambda: not panel.is_training() and start.isEnabled(), timeout=600_000)  # the thread has ended
    states = [r[5] for r in rows(window)]
    assert states[0].startswith("done") and states[2].startswith("done"), states
    assert states[1].startswith("failed: ") and len(states[1]) > len("failed: ") + 10, states
    assert [r[6] for r in rows(window)][::2] == ["12 / 12", "12 / 12"]
    assert [e["state"] for e in stored(imgen_home)] == ["done", "failed", "done"]
    assert (imgen_home / "models" / "q-gan.safetensors").is_file() and (imgen_home / "models" / "q-vae.safetensors").is_file()
    assert panel.loss_plot.point_count("loss.recon") >= 1 or panel.loss_plot.point_count("loss.total") >= 1  # the VAE's curve
    status = window.findChild(QLabel, "queueStatus").text()
    assert "Nothing left to run" in status and "1 failed" in status

    # clear finished keeps the failed entry (to retry or remove)
    click(qtbot, window.findChild(QPushButton, "queueClearButton"))
    assert [r[1] for r in rows(window)] == ["q-empty"]
    select(window, 0)
    click(qtbot, window.findChild(QPushButton, "queueRetryButton"))
    assert rows(window)[0][5] == "waiting"


def test_pause_lets_the_entry_finish_the_rest_wait_and_a_new_window_shows_it(qtbot, main_window, imgen_home, opened):
    window, panel = open_train(qtbot, main_window, opened)
    add = window.findChild(QPushButton, "addToQueueButton")
    tiny(panel, "gan", steps=30, name="p-one")
    click(qtbot, add)
    tiny(panel, "gan", steps=8, name="p-two")
    click(qtbot, add)
    click(qtbot, window.findChild(QPushButton, "queueRunButton"))
    qtbot.waitUntil(lambda: rows(window)[0][5] == "running", timeout=400_000)
    pause = window.findChild(QPushButton, "queuePauseButton")
    click(qtbot, pause)
    assert pause.isChecked() and "pauses when it ends" in window.findChild(QLabel, "queueStatus").text()
    qtbot.waitUntil(lambda: not panel.is_training() and window.findChild(QPushButton, "startButton").isEnabled(),
                    timeout=400_000)
    log = window.findChild(QPlainTextEdit, "runLog").toPlainText()
    assert [r[5] for r in rows(window)][0].startswith("done"), log  # the running entry went on to its end
    assert rows(window)[1][5] == "waiting"
    assert "paused" in window.findChild(QLabel, "queueStatus").text()
    window.close()

    # "restart": a new window on the same data root shows the stored queue, and runs the rest
    again, panel2 = open_train(qtbot, main_window, opened)
    assert [(r[1], r[5].split(" ")[0]) for r in rows(again)] == [("p-one", "done"), ("p-two", "waiting")]
    assert "paused" in again.findChild(QLabel, "queueStatus").text()
    click(qtbot, again.findChild(QPushButton, "queueRunButton"))
    qtbot.waitUntil(lambda: again.findChild(QPushButton, "startButton").isEnabled() and rows(again)[1][5].startswith("done"),
                    timeout=400_000)
    assert [e["state"] for e in stored(imgen_home)] == ["done", "done"]


def test_run_queue_during_a_training_waits_for_it(qtbot, main_window, imgen_home, opened):
    window, panel = open_train(qtbot, main_window, opened)
    tiny(panel, "gan", steps=8, name="w-queued")
    click(qtbot, window.findChild(QPushButton, "addToQueueButton"))
    tiny(panel, "gan", steps=100000, name="w-single")
    click(qtbot, window.findChild(QPushButton, "startButton"))
    assert not window.findChild(QPushButton, "addToQueueButton").isEnabled()  # the form shows the running config
    click(qtbot, window.findChild(QPushButton, "queueRunButton"))
    status = window.findChild(QLabel, "queueStatus")
    assert "starts when the current training ends" in status.text()
    qtbot.waitUntil(lambda: panel.loss_plot.point_count("loss.g") >= 1, timeout=400_000)
    assert rows(window)[0][5] == "waiting"  # never two trainings at once
    click(qtbot, window.findChild(QPushButton, "stopButton"))
    qtbot.waitUntil(lambda: rows(window)[0][5] == "running", timeout=400_000)  # the queue started by itself
    assert panel.queue_running() and not window.findChild(QPushButton, "startButton").isEnabled()
    qtbot.waitUntil(lambda: window.findChild(QPushButton, "startButton").isEnabled(), timeout=400_000)
    assert rows(window)[0][5].startswith("done")
    assert (imgen_home / "models" / "w-single.safetensors").is_file() and (imgen_home / "models" / "w-queued.safetensors").is_file()
