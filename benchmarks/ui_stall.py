"""Event-loop stalls of the GUI while a real GAN trains from it (in a child process, as the app does).

A 10 ms ``QTimer`` (precise) runs on the GUI thread; each tick records how late it fired
(interval - 10 ms). The real main window (``create_main_window()``) trains a GAN on
``builtin:digits`` from its Train panel (Start clicked as a user would), with the loss plot,
sample grid and progress bar updating. Reports max / p99 / p50 lateness for an idle phase and
the training phase. Goal (issue 3): no stall over 50 ms.

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/ui_stall.py [--steps 40] [--batch-size 32] [--control | --in-thread]
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--family", default="gan")
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--width", type=int, default=16)  # the quick preset's width (the --control run uses it)
    ap.add_argument("--image-size", type=int, default=32)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--sample-every", type=int, default=25)
    ap.add_argument("--idle-s", type=float, default=3.0)
    ap.add_argument("--max-s", type=float, default=600.0, help="stop the run after this long")
    ap.add_argument("--control", action="store_true",
                    help="instead: run the same training as a separate `imgen train` process while the GUI idles "
                         "(tells machine load apart from stalls that training inside the GUI causes)")
    ap.add_argument("--in-thread", action="store_true",
                    help="the old way, for comparison: train in the GUI process's worker thread instead of a child process")
    ap.add_argument("--diagnose", action="store_true", help="print where every thread was during stalls over 60 ms")
    args = ap.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ["IMGEN_HOME"] = tempfile.mkdtemp(prefix="imgen-ui-stall-")

    from PySide6.QtCore import Qt, QTimer
    from PySide6.QtWidgets import QApplication

    from imgen_desktop.app import create_main_window

    if args.in_thread:
        _train_in_worker_thread()
    window = create_main_window()
    app = QApplication.instance()
    window.show()
    panel = window.train_panel
    window.tabs.setCurrentWidget(panel)

    ticks: list[tuple[float, str, float]] = []  # (lateness_s, phase, time)
    phase = {"name": "startup", "last": time.perf_counter()}

    def on_tick() -> None:
        now = time.perf_counter()
        ticks.append((now - phase["last"] - 0.010, phase["name"], now))
        phase["last"] = now

    if args.diagnose:
        _start_watchdog(phase)
    timer = QTimer()
    timer.setTimerType(Qt.TimerType.PreciseTimer)
    timer.setInterval(10)
    timer.timeout.connect(on_tick)

    def pump(seconds: float, until=None) -> None:
        end = time.perf_counter() + seconds
        while time.perf_counter() < end and not (until and until()):
            app.processEvents()
            time.sleep(0.001)

    # let the device scan and presets settle, then measure an idle window
    pump(30, until=lambda: panel.preset_combo.count() > 0 and window._scanner.isFinished())
    pump(1.0)
    timer.start()
    phase.update(name="idle", last=time.perf_counter())
    t_idle = time.perf_counter()
    app_exec_until(app, lambda: time.perf_counter() - t_idle >= args.idle_s)
    timer.stop()

    family = panel.family_combo
    family.setCurrentIndex(family.findData(args.family))
    panel.task_combo.setCurrentIndex(panel.task_combo.findData("generate"))
    panel.preset_combo.setCurrentIndex(panel.preset_combo.findData("quick"))
    pump(0.5)
    panel.dataset_edit.setText("builtin:digits")
    for name, value in (("image_size", args.image_size), ("width", args.width), ("batch_size", args.batch_size),
                        ("steps", args.steps), ("sample_every", args.sample_every), ("checkpoint_every", 100)):
        panel.fields[name].put(value)
    panel.name_edit.setText("stall-bench")
    done = {"ok": False}
    panel.sigRunEnded.connect(lambda: done.update(ok=True))
    def on_progress(p: dict) -> None:
        if p.get("step", 0) >= 1 and phase["name"] == "start":
            phase["name"] = "steady"  # the first step is done: model built, data loaded
    t0 = time.perf_counter()
    if args.control:
        import subprocess

        proc = subprocess.Popen([sys.executable, "-m", "imgen_desktop.cli", "train", "--family", args.family, "--task", "generate",
                                 "--data", "builtin:digits", "--preset", "quick", "--image-size", str(args.image_size),
                                 "--batch-size", str(args.batch_size), "--steps", str(args.steps),
                                 "--sample-every", str(args.sample_every), "--name", "stall-control"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        timer.start()
        phase.update(name="control", last=time.perf_counter())
        app_exec_until(app, lambda: proc.poll() is not None or time.perf_counter() - t0 > args.max_s)
        timer.stop()
        late = np.array([t for t, p, _ in ticks if p == "control"]) * 1000
        print(f"control: the same training as a separate `imgen train` process (quick preset) while the GUI idles; "
              f"exit {proc.poll()}, {time.perf_counter() - t0:.1f} s, load average {os.getloadavg()[0]:.1f}")
        print("phase      ticks   p50 ms   p99 ms   max ms   >50ms")
        print(f"control   {len(late):6d} {np.percentile(late, 50):8.1f} {np.percentile(late, 99):8.1f} {late.max():8.1f} {int((late > 50).sum()):7d}")
        window.close()
        return 0
    panel.start_button.click()
    panel.worker.sigProgress.connect(on_progress)
    timer.start()
    phase.update(name="start", last=time.perf_counter())
    app_exec_until(app, lambda: done["ok"] or time.perf_counter() - t0 > args.max_s)
    train_s = time.perf_counter() - t0
    if not done["ok"]:
        panel.stop_and_wait(120_000)
    timer.stop()

    curves = {k: panel.loss_plot.point_count(k) for k in panel.loss_plot.curves}
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    print(f"run: {args.family.upper()} on builtin:digits, {args.image_size}px, width {args.width}, batch {args.batch_size}, "
          f"{args.steps} steps, samples every {args.sample_every}; {train_s:.1f} s; curve points {curves}; "
          f"progress {panel.progress.value()}/{panel.progress.maximum()}")
    print("phase: idle = window shown, nothing running; start = Start clicked until the first step is done")
    print("(data loading, network construction); steady = training steps, samples, checkpoints")
    print("phase      ticks   p50 ms   p99 ms   max ms   >50ms")
    for name in ("idle", "start", "steady"):
        late = np.array([t for t, p, _ in ticks if p == name]) * 1000
        if len(late) == 0:
            continue
        print(f"{name:9s} {len(late):6d} {np.percentile(late, 50):8.1f} {np.percentile(late, 99):8.1f} "
              f"{late.max():8.1f} {int((late > 50).sum()):7d}")
    worst = sorted((t for t in ticks if t[1] != "idle"), reverse=True)[:8]
    print("worst stalls (ms @ s after Start, phase):", ", ".join(f"{1000 * t:.0f} @ {w - t0:.1f} s {p}" for t, p, w in worst))
    window.close()
    return 0


def _train_in_worker_thread() -> None:
    """Make TrainWorker call trainer.train on its own thread (as before training moved to a child process)."""
    import dataclasses

    from imgen_desktop.ui.train_worker import TrainWorker

    def run(self) -> None:
        from imgen_desktop.core import trainer
        from imgen_desktop.core.events import Finished

        result = trainer.train(self.config, self._on_event, self.token, resume=self.resume)  # the token works in-process too
        self._flush_progress()
        if isinstance(result, Finished):
            self.result = dataclasses.asdict(result)
            self.sigFinished.emit(self.result)
        else:
            self.sigFailed.emit(getattr(result, "message", "failed"))

    TrainWorker.run = run


def _start_watchdog(phase: dict) -> None:
    """A thread that, when the GUI timer is over 60 ms late, prints the innermost frames of all threads."""
    import threading
    import traceback

    gui = threading.get_ident()

    def watch() -> None:
        reported = 0.0
        while True:
            time.sleep(0.02)
            last = phase["last"]
            if time.perf_counter() - last > 0.06 and last != reported and phase["name"] != "idle":
                reported = last
                print(f"--- stall > 60 ms in phase {phase['name']}:")
                for tid, frame in sys._current_frames().items():
                    if tid == threading.get_ident():
                        continue
                    stack = traceback.extract_stack(frame)[-4:]
                    who = "GUI" if tid == gui else f"thread {tid}"
                    print(f"  {who}: " + " <- ".join(f"{Path(f.filename).name}:{f.lineno} {f.name}" for f in reversed(stack)))

    threading.Thread(target=watch, daemon=True).start()


def app_exec_until(app, done) -> None:
    """Run the real event loop (exec) until ``done()``; checked every 50 ms."""
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    check = QTimer()
    check.setInterval(50)
    check.timeout.connect(lambda: loop.quit() if done() else None)
    check.start()
    loop.exec()
    check.stop()


if __name__ == "__main__":
    raise SystemExit(main())
