"""The queue survives a SIGKILL of the app: a real app process runs the queue from its Train tab and
is killed (SIGKILL: no handler, no clean-up) in the middle of an entry; a new window shows the
stored queue — the killed entry waiting again, "interrupted at step N" — and finishes it, with one
continuous step counter."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPushButton, QTreeWidget

from conftest import REPO, imgen_env
from imgen_desktop.core.config import TrainConfig
from imgen_desktop.core.queue import TrainingQueue
from imgen_desktop.core.store import ModelStore

pytestmark = [pytest.mark.timeout(600), pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")]

APP = """
import sys
from PySide6.QtCore import QTimer
from imgen_desktop.app import create_main_window
from PySide6.QtWidgets import QApplication
window = create_main_window()
window.show()
window.tabs.setCurrentWidget(window.train_panel)
QTimer.singleShot(300, window.train_panel.queue_view.run_button.click)
sys.exit(QApplication.instance().exec())
"""


def tiny(name: str, steps: int, checkpoint_every: int = 0) -> TrainConfig:
    return TrainConfig(family="gan", task="generate", data="builtin:digits", image_size=16, batch_size=8, width=8,
                       z_dim=8, ema=0.0, steps=steps, sample_every=0, checkpoint_every=checkpoint_every, device="cpu",
                       name=name)


def stored(home) -> list[dict]:
    try:
        return json.loads((home / "queue.json").read_text())["entries"]
    except (OSError, ValueError, KeyError):
        return []


def wait_for(predicate, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError("timed out")


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
        return True
    except ProcessLookupError:
        return False


def test_sigkill_of_the_app_mid_entry_then_a_new_window_finishes_the_queue(qtbot, main_window, imgen_home):
    queue = TrainingQueue()
    queue.add(tiny("k-one", steps=24, checkpoint_every=4))
    queue.add(tiny("k-two", steps=3))
    env = imgen_env(imgen_home, OMP_NUM_THREADS="1", QT_QPA_PLATFORM=os.environ["QT_QPA_PLATFORM"])
    app = subprocess.Popen([sys.executable, "-c", APP], env=env, cwd=REPO, stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        wait_for(lambda: (stored(imgen_home)[0]["state"] == "running" and stored(imgen_home)[0]["step"] >= 4)
                 or app.poll() is not None, timeout=180)
        assert app.poll() is None, app.communicate()[0][-3000:]
        os.kill(app.pid, signal.SIGKILL)
        app.wait(30)
        # the app's training process notices, saves and ends: nothing of the app is left behind
        wait_for(lambda: not group_alive(app.pid), timeout=120)
    finally:
        if group_alive(app.pid):
            os.killpg(app.pid, signal.SIGKILL)
        app.communicate()
    assert stored(imgen_home)[0]["state"] == "running"  # as the killed app left it

    window = main_window()
    window.tabs.setCurrentWidget(window.train_panel)
    tree = window.findChild(QTreeWidget, "queueList")

    def row(i: int) -> list[str]:
        item = tree.topLevelItem(i)
        return [item.text(c) for c in range(tree.columnCount())]

    assert tree.topLevelItemCount() == 2
    assert row(0)[1] == "k-one" and row(0)[5].startswith("waiting — interrupted at step "), row(0)
    assert "continues from its last checkpoint" in row(0)[5]
    assert row(1)[1] == "k-two" and row(1)[5] == "waiting"
    qtbot.mouseClick(window.findChild(QPushButton, "queueRunButton"), Qt.MouseButton.LeftButton)
    start = window.findChild(QPushButton, "startButton")
    qtbot.waitUntil(lambda: start.isEnabled() and row(1)[5].startswith("done"), timeout=480_000)
    assert row(0)[5].startswith("done") and row(0)[6] == "24 / 24", row(0)
    assert [e["state"] for e in stored(imgen_home)] == ["done", "done"]
    steps = [json.loads(line)["step"] for line in (imgen_home / "runs" / "k-one" / "metrics.jsonl").read_text().splitlines()
             if line.strip()]
    assert steps and all(b >= a for a, b in zip(steps, steps[1:])) and steps[-1] == 24  # one continuous counter
    assert ModelStore().get("k-one").steps == 24 and ModelStore().get("k-two").steps == 3
