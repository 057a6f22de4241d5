"""Event-loop stalls of the Enhance canvas while a user opens a large photo, applies a model and saves.

A precise 10 ms ``QTimer`` on the GUI thread records how late each tick fires. The real main
window (``create_main_window()``, offscreen) goes through what a photographer does, each step
started from the event loop as a click would be: open a large photo (a JPEG of ``--big``
megapixels, made from a shipped photo), open a medium photo and Apply the built-in
``upscale-x2`` (tiles in the worker thread, progress and the result shown live), drag the
before/after divider across the result, and Save the result as PNG. Reports p50 / p99 / max
lateness per phase. Goal (issue 4): no stall over 50 ms.

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/enhance_stall.py [--big 12] [--medium 1.0]
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def make_photo(path: Path, megapixels: float) -> Path:
    from PIL import Image

    src = Image.open(ROOT / "resources" / "photos" / "test" / "chelsea.png").convert("RGB")
    scale = (megapixels * 1e6 / (src.width * src.height)) ** 0.5
    src.resize((round(src.width * scale), round(src.height * scale)), Image.Resampling.BICUBIC).save(path, quality=92)
    return path


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--big", type=float, default=12.0, help="megapixels of the large photo that is opened")
    ap.add_argument("--medium", type=float, default=1.0, help="megapixels of the photo that is upscaled and saved")
    args = ap.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    tmp = Path(tempfile.mkdtemp(prefix="imgen-enhance-stall-"))
    os.environ["IMGEN_HOME"] = str(tmp / "home")
    big = make_photo(tmp / "big.jpg", args.big)
    medium = make_photo(tmp / "medium.jpg", args.medium)

    from PySide6.QtCore import QEventLoop, QPointF, Qt, QTimer
    from PySide6.QtGui import QMouseEvent
    from PySide6.QtWidgets import QApplication

    from imgen_desktop.app import create_main_window

    window = create_main_window()
    app = QApplication.instance()
    window.resize(1400, 900)
    window.show()
    canvas = window.canvas
    window.tabs.setCurrentWidget(canvas)

    ticks: list[tuple[float, str]] = []
    phase = {"name": "settle", "last": time.perf_counter()}

    def on_tick() -> None:
        now = time.perf_counter()
        ticks.append((now - phase["last"] - 0.010, phase["name"]))
        phase["last"] = now

    timer = QTimer()
    timer.setTimerType(Qt.TimerType.PreciseTimer)
    timer.setInterval(10)
    timer.timeout.connect(on_tick)

    def run_until(done, limit_s: float = 300.0) -> None:
        loop = QEventLoop()
        check = QTimer()
        check.setInterval(20)
        t0 = time.perf_counter()
        check.timeout.connect(lambda: loop.quit() if done() or time.perf_counter() - t0 > limit_s else None)
        check.start()
        loop.exec()
        check.stop()

    def step(name: str, action, done, after_s: float = 0.5) -> float:
        """Start ``action`` from the event loop (as a click would), run until ``done()`` and ``after_s`` more."""
        phase["name"] = name
        t0 = time.perf_counter()
        QTimer.singleShot(0, action)
        run_until(done)
        took = time.perf_counter() - t0
        end = time.perf_counter() + after_s
        run_until(lambda: time.perf_counter() >= end)
        return took

    # the model list loads in the background (it imports torch): wait for it, then measure
    run_until(lambda: canvas.model_combo.count() > 0 and canvas.select_model("builtin:upscale-x2"), 120)
    settle_end = time.perf_counter() + 2.0  # the device scan and first paints finish
    run_until(lambda: time.perf_counter() >= settle_end)
    timer.start()
    phase.update(name="idle", last=time.perf_counter())
    run_until(lambda: False, 1.0)
    timings = {}
    timings["open large"] = step("open large", lambda: canvas.open_paths([str(big)]),
                                 lambda: canvas.photo() is not None and canvas.photo().name == big.name)
    timings["open medium"] = step("open medium", lambda: canvas.open_paths([str(medium)]),
                                  lambda: canvas.photo() is not None and canvas.photo().name == medium.name)
    canvas.select_model("builtin:upscale-x2")
    timings["apply x2"] = step("apply x2", canvas.apply, lambda: canvas.result() is not None and not canvas.is_busy())

    view = canvas.view
    def drag() -> None:
        y = view.height() / 2
        for i in range(41):
            x = view.width() * (0.1 + 0.8 * i / 40)
            kind = QMouseEvent.Type.MouseButtonPress if i == 0 else QMouseEvent.Type.MouseMove
            app.sendEvent(view, QMouseEvent(kind, QPointF(x, y), QPointF(x, y), Qt.MouseButton.LeftButton,
                                            Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier))
            view.repaint()
        app.sendEvent(view, QMouseEvent(QMouseEvent.Type.MouseButtonRelease, QPointF(x, y), QPointF(x, y), Qt.MouseButton.LeftButton,
                                        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier))
    saved = {}
    out = tmp / "result.png"
    timings["save png"] = step("save png", lambda: saved.update(path=canvas.save_result(str(out))),
                               lambda: out.is_file() and not canvas.is_saving())
    drag_t0 = time.perf_counter()
    phase["name"] = "divider drag (41 repaints)"
    drag()
    timings["divider drag (41 repaints)"] = time.perf_counter() - drag_t0
    phase["name"] = "after"
    run_until(lambda: False, 0.3)
    timer.stop()

    result = canvas.result()
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    print(f"large photo {big.stat().st_size / 1e6:.1f} MB JPEG ({args.big:g} MP); medium {args.medium:g} MP -> "
          f"result {result.width}x{result.height}; saved {out.stat().st_size / 1e6:.1f} MB PNG")
    print("phase                          took s   ticks   p50 ms   p99 ms   max ms   >50ms")
    for name in ("idle", *timings):
        late = np.array([t for t, p in ticks if p == name]) * 1000
        took = f"{timings[name]:7.2f}" if name in timings else "      -"
        if len(late) == 0:
            print(f"{name:30s} {took}  (synchronous repaints: {1000 * timings[name] / 41:.1f} ms each)")
            continue
        print(f"{name:30s} {took} {len(late):7d} {np.percentile(late, 50):8.1f} {np.percentile(late, 99):8.1f} "
              f"{late.max():8.1f} {int((late > 50).sum()):7d}")
    window.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
