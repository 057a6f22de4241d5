"""Process start -> first paint of the main window, and whether torch was imported by then.

    .venv/bin/python benchmarks/startup.py                 # 5 runs, Qt offscreen
    .venv/bin/python benchmarks/startup.py --runs 9 --platform xcb   # on a real display

Each run spawns a fresh ``python -c`` that builds the window the way ``imgen-desktop`` does
(``create_main_window()`` + theme), shows it, and records ``time.perf_counter()`` on the
window's first paint event. ``perf_counter`` is the system-wide monotonic clock on Linux,
macOS and Windows, so the child's paint time minus the parent's time just before spawning is
the time from process start (interpreter start-up included) to first paint. The child's CPU
time at first paint (all threads) is printed too: on a busy machine wall time is inflated by
waiting for a core, CPU time much less so. Each run uses a
fresh, empty ``IMGEN_HOME``. Goal: <= 1.5 s. Prints each run and the median.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CHILD = r"""
import time
t_start = time.perf_counter()
import json, sys
from PySide6.QtCore import QEvent, QObject, QTimer
from imgen_desktop.app import create_main_window

window = create_main_window()
from PySide6.QtWidgets import QApplication
try:
    from imgen_desktop.ui.theme import apply_theme
    apply_theme(QApplication.instance())
except ImportError:
    pass
t_built = time.perf_counter()
result = {}

class FirstPaint(QObject):
    def eventFilter(self, obj, event):
        if event.type() == QEvent.Type.Paint:
            result = dict(
                paint=time.perf_counter(), child_start=t_start, built=t_built, cpu=time.process_time(),
                torch_imported="torch" in sys.modules,
            )
            print("STARTUP " + json.dumps(result), flush=True)
            os._exit(0)  # measured; do not wait for the background device scan
        return False

import os
watcher = FirstPaint()
window.installEventFilter(watcher)
window.show()
QTimer.singleShot(60000, lambda: os._exit(3))  # safety net: never painted
QApplication.instance().exec()
"""


def one_run(platform: str) -> dict:
    with tempfile.TemporaryDirectory(prefix="imgen-startup-") as home:
        env = dict(os.environ, IMGEN_HOME=home, QT_QPA_PLATFORM=platform)
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, "-c", CHILD], env=env, cwd=ROOT, capture_output=True, text=True, timeout=180)
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("STARTUP ")), None)
    if proc.returncode != 0 or line is None:
        raise SystemExit(f"child failed (status {proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    data = json.loads(line[len("STARTUP "):])
    return {
        "to_paint": data["paint"] - t0,
        "interpreter": data["child_start"] - t0,
        "build": data["built"] - data["child_start"],
        "torch_imported": data["torch_imported"],
        "cpu": data["cpu"],
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--platform", default="offscreen", help="Qt platform plugin (offscreen, xcb, ...)")
    args = parser.parse_args(argv)
    runs = []
    for i in range(args.runs):
        r = one_run(args.platform)
        runs.append(r)
        print(
            f"run {i + 1}: start->first paint {r['to_paint']:.2f} s "
            f"(interpreter {r['interpreter']:.2f} s, imports+build {r['build']:.2f} s, CPU {r['cpu']:.2f} s), "
            f"torch imported at first paint: {r['torch_imported']}",
            flush=True,
        )
    times = [r["to_paint"] for r in runs]
    torch_any = any(r["torch_imported"] for r in runs)
    cpu = statistics.median(r["cpu"] for r in runs)
    print(
        f"startup: median {statistics.median(times):.2f} s (min {min(times):.2f}, max {max(times):.2f}) over "
        f"{len(times)} runs, platform {args.platform}; CPU time to first paint: median {cpu:.2f} s; torch imported before first paint: {'yes' if torch_any else 'no'}; "
        f"goal <= 1.5 s: {'met' if statistics.median(times) <= 1.5 else 'NOT met'}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
