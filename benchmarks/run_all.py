"""``make bench``: run every benchmark in turn and print their figures.

Long (tens of minutes on 2 CPU cores). Each script records nothing by itself: copy the figures
you want to keep into ``benchmarks/RESULTS.md`` with the command and the machine's load.
The enhancement benchmarks need the classical references of the ``bench`` extra (benchmark-only,
``make bench`` installs it): ``.venv/bin/pip install -e ".[bench]"``. The standard-set benchmark
runs here as a smoke test (``--quick``); its full table is ``benchmarks/standard_sets.py``.
``--quick`` (``make bench BENCH_ARGS=--quick``): the benchmarks that have a quick mode run it
(about a minute each on 2 cores), the others are skipped.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHES = [
    ["startup.py"],
    ["ui_stall.py"],
    ["health_proof.py"],
    ["digits_quality.py"],
    ["enhance_quality.py"],
    ["sharpness.py", "--quick"],  # Set5 x4: NIQE / sharpness / Y-PSNR, ~1 min
    ["standard_sets.py", "--quick"],
    ["enhance_speed.py"],
    ["gui_vs_headless.py"],
    ["channels_last.py"],
]
QUICK = {"sharpness.py", "standard_sets.py", "enhance_speed.py", "gui_vs_headless.py", "channels_last.py"}  # have --quick


def main(argv: list[str] | None = None) -> int:
    quick = "--quick" in (sys.argv[1:] if argv is None else argv)
    env = {**os.environ, "QT_QPA_PLATFORM": os.environ.get("QT_QPA_PLATFORM", "offscreen"), "PYTHONUNBUFFERED": "1"}
    if (HERE.parent / "dist" / "ImgenDesktop").is_dir():
        BENCHES.append(["bundle_launch.py"])
    failed = []
    for bench in BENCHES:
        if quick:
            if bench[0] not in QUICK:
                continue
            bench = bench if "--quick" in bench else [*bench, "--quick"]
        print(f"\n=== {' '.join(bench)}", flush=True)
        start = time.perf_counter()
        rc = subprocess.call([sys.executable, str(HERE / bench[0]), *bench[1:]], env=env)
        print(f"=== {bench[0]}: exit {rc} after {time.perf_counter() - start:.0f} s", flush=True)
        if rc:
            failed.append(bench[0])
    if failed:
        print("failed: " + ", ".join(failed))
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
