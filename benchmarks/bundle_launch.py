"""Launch-to-window time of the bundled app (or any command) in a real X server (Xvfb).

    .venv/bin/python benchmarks/bundle_launch.py                       # dist/ImgenDesktop/ImgenDesktop
    .venv/bin/python benchmarks/bundle_launch.py --runs 5 -- .venv/bin/imgen-desktop

Starts Xvfb, then for each run starts the app with an empty data root and polls the screen
(every 20 ms) until the window's pixels appear; the time from process start to that frame is
the launch time. The first run may include a cold disk cache. Needs Xvfb and Pillow.
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _screen_has_window(display: str) -> bool:
    from PIL import ImageGrab

    image = ImageGrab.grab(xdisplay=display)
    lo, hi = image.convert("L").getextrema()
    return hi - lo > 40  # Xvfb's root window is flat black until the window paints


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a running process (Linux /proc)."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def launch_time(cmd: list[str], display: str, timeout: float = 60.0) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the app) from process start to the window's first frame."""
    with tempfile.TemporaryDirectory(prefix="imgen-launch-") as home:
        env = dict(os.environ, DISPLAY=display, QT_QPA_PLATFORM="xcb", IMGEN_HOME=home)
        start = time.perf_counter()
        log = open(os.path.join(home, "app.log"), "w+b")
        proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            while time.perf_counter() - start < timeout:
                if proc.poll() is not None:
                    log.seek(0)
                    tail = log.read().decode(errors="replace")[-2000:]
                    raise SystemExit(f"{cmd[0]} exited with status {proc.returncode} before showing a window:\n{tail}")
                if _screen_has_window(display):
                    return time.perf_counter() - start, _cpu_seconds(proc.pid)
                time.sleep(0.02)
            raise SystemExit(f"no window within {timeout:.0f} s")
        finally:
            proc.terminate()
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("cmd", nargs="*", default=[str(ROOT / "dist" / "ImgenDesktop" / "ImgenDesktop")])
    args = parser.parse_args(argv)
    if shutil.which("Xvfb") is None:
        raise SystemExit("Xvfb is not installed (apt-get install xvfb)")
    display = next(f":{n}" for n in range(150 + os.getpid() % 300, 1000) if not os.path.exists(f"/tmp/.X11-unix/X{n}"))
    xvfb = subprocess.Popen(["Xvfb", display, "-screen", "0", "1400x900x24", "-nolisten", "tcp"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(1.0)
        times, cpus = [], []
        for i in range(args.runs):
            t, cpu = launch_time(args.cmd, display)
            times.append(t)
            cpus.append(cpu)
            print(f"run {i + 1}: {t:.2f} s wall, {cpu:.2f} s CPU", flush=True)
        print(f"launch-to-window: median {statistics.median(times):.2f} s wall (min {min(times):.2f}, "
              f"max {max(times):.2f}), median {statistics.median(cpus):.2f} s CPU, {len(times)} runs "
              f"({' '.join(args.cmd)}); load average {os.getloadavg()[0]:.1f}")
    finally:
        xvfb.terminate()
        xvfb.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
