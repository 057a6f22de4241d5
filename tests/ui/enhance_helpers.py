"""Helpers shared by the Enhance tab's GUI tests (real window, real engine)."""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from PIL import Image
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QTimer, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget


def png(path: Path, w: int = 40, h: int = 30, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    arr = np.stack([x * 255 // max(1, w - 1), y * 255 // max(1, h - 1), (x + y) % 256], -1).astype(np.uint8)
    arr = np.clip(arr.astype(int) + rng.integers(-10, 10, arr.shape), 0, 255).astype(np.uint8)
    Image.fromarray(arr).save(path)
    return path


def child(canvas, name: str, cls=QWidget):
    w = canvas.findChild(cls, name)
    assert w is not None, f"no {cls.__name__} named {name!r}"
    return w


def drop(widget, paths: list[Path], wait: bool = True) -> None:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    pos = QPoint(widget.width() // 2, widget.height() // 2)
    enter = QDragEnterEvent(pos, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, enter)
    assert enter.isAccepted()
    event = QDropEvent(QPointF(pos), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, event)
    if wait:
        wait_opened(widget)


def wait_opened(canvas, timeout_s: float = 30.0) -> None:
    """Photos open in a worker thread: run the event loop until the canvas has shown it (or its error)."""
    deadline = time.monotonic() + timeout_s
    while canvas.is_loading() and time.monotonic() < deadline:
        QApplication.processEvents()
        time.sleep(0.005)
    assert not canvas.is_loading(), "the photo did not open in time"


def tiny_upscale_model(name: str = "tiny-up") -> str:
    """A real (untrained) GAN upscale x2 network saved in the store via the registry."""
    from imgen_desktop.core import models
    from imgen_desktop.core.store import ModelStore

    params = {"channels": 3, "task": "upscale", "scale": 2, "width": 8, "blocks": 1, "unshuffle": 1,
              "dilations": [1], "noise_hint": False}
    net = models.get("gan.restore").build_network(params)
    ModelStore().save(name, net.state_dict(), {
        "family": "gan", "task": "upscale", "scale": 2, "channels": 3, "arch": "gan.restore",
        "arch_params": params, "dataset": "none", "steps": 0,
    })
    return name


def list_models(canvas, qtbot, name: str) -> None:
    canvas.refresh_models()
    qtbot.waitUntil(lambda: canvas.state.find_model(name) >= 0, timeout=60000)


def choose_upscale_x2(canvas, qtbot):
    """The built-in x2 upscaler when it ships, else a tiny real model made in the test."""
    if canvas.select_model("builtin:upscale-x2"):
        return canvas.current_model()
    name = tiny_upscale_model()
    list_models(canvas, qtbot, name)
    assert canvas.select_model(name), canvas.error_text()
    return canvas.current_model()


def apply_and_wait(canvas, qtbot, click: bool = True) -> None:
    with qtbot.waitSignal(canvas.sigResultReady, timeout=120000):
        if click:
            qtbot.mouseClick(canvas.apply_button, Qt.MouseButton.LeftButton)
        else:
            canvas.apply()
    qtbot.waitUntil(lambda: not canvas.is_busy(), timeout=30000)


def answer_box(qtbot, name: str, button, seen: list | None = None) -> QTimer:
    """Click ``button`` (a StandardButton or a button text) in the modal QMessageBox ``name``
    as soon as it shows; appends the box's text to ``seen``."""
    timer = QTimer()
    timer.setInterval(20)

    def poll():
        box = QApplication.activeModalWidget()
        if isinstance(box, QMessageBox) and box.objectName() == name:
            timer.stop()
            if seen is not None:
                seen.append(box.text())
            if isinstance(button, str):
                target = next(b for b in box.buttons() if b.text() == button)
            else:
                target = box.button(button)
            target.click()

    timer.timeout.connect(poll)
    timer.start()
    return timer
