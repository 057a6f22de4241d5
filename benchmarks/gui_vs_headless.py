"""GUI training vs headless: the same tiny config through the Train panel's child process
(``core.process_runner.train_in_process``, what the GUI's training worker runs) and through
``core.trainer.train`` called in-process (what ``imgen train`` does), alternating A B A B.

    PYTHONPATH=$PWD .venv/bin/python benchmarks/gui_vs_headless.py [--pairs 2] [--steps 40] [--quick]

Each run is a fresh process (so both pay the same start-up): "headless" calls ``train`` in
it; "gui" calls ``train_in_process`` in it, which spawns the training child and consumes its
event stream in the parent as the Train panel's worker does. Speed: images/s from the run's
own ``metrics.jsonl`` ``time`` column, step 2 to the last (start-up, the warm-up step and the
export are not counted), and the wall time of the whole run. The GUI's child normally runs at
niceness +10 so the window gets the CPU first; on a machine shared with other jobs that alone
would slow it, so the child runs with ``IMGEN_TRAIN_NICE=0`` here (``--nice`` to keep the +10)
and what is compared is the process boundary and the event pipe. Goal: gui / headless >= 0.95.
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

_RUN = r"""
import json, sys, time
import torch
mode, steps, run = json.loads(sys.argv[1])
torch.set_num_threads(1)
from imgen_desktop.core.config import TrainConfig
from imgen_desktop.core.trainer import run_dir, train
cfg = TrainConfig(family="gan", task="generate", data="builtin:digits")
cfg.image_size, cfg.batch_size, cfg.steps, cfg.sample_every, cfg.checkpoint_every = 32, 16, steps, 0, 0
cfg.name, cfg.device, cfg.seed = f"gvh-{mode}-{run}", "cpu", run
events = []
t0 = time.perf_counter()
if mode == "gui":
    from imgen_desktop.core.process_runner import train_in_process
    result = train_in_process(cfg, events.append)
else:
    result = train(cfg, events.append)
wall = time.perf_counter() - t0
assert type(result).__name__ == "Finished", result
rows = [json.loads(l) for l in (run_dir(cfg.name) / "metrics.jsonl").read_text().splitlines() if l.strip()]
rows = [r for r in rows if "time" in r][1:]
ips = (rows[-1]["step"] - rows[0]["step"]) * cfg.batch_size / (rows[-1]["time"] - rows[0]["time"])
print(json.dumps({"ips": ips, "wall": wall, "events": len(events)}))
"""


def one(mode: str, steps: int, run: int, home: str, nice: bool) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "IMGEN_HOME": home, "OMP_NUM_THREADS": "1"}
    if not nice:
        env["IMGEN_TRAIN_NICE"] = "0"
    out = subprocess.run([sys.executable, "-c", _RUN, json.dumps([mode, steps, run])], env=env,
                         capture_output=True, text=True, check=False)
    if out.returncode:
        raise SystemExit(f"{mode} run failed: {out.stderr.strip()[-800:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pairs", type=int, default=2)
    ap.add_argument("--steps", type=int, default=40)
    ap.add_argument("--nice", action="store_true", help="keep the GUI child's niceness +10")
    ap.add_argument("--quick", action="store_true", help="1 pair of 20 steps")
    a = ap.parse_args(argv)
    if a.quick:
        a.pairs, a.steps = 1, 20
    home = tempfile.mkdtemp(prefix="imgen-gvh-")
    print(f"load average {os.getloadavg()[0]:.1f}; gan generate digits 32x32, batch 16, {a.steps} steps, 1 thread; "
          f"A B A B x{a.pairs}", flush=True)
    got: dict[str, list[dict]] = {"headless": [], "gui": []}
    for run in range(a.pairs):
        for mode in ("headless", "gui"):
            r = one(mode, a.steps, run, home, a.nice)
            got[mode].append(r)
            print(f"  {mode:8s} run {run}: {r['ips']:6.1f} img/s, wall {r['wall']:5.1f} s, {r['events']} events", flush=True)
    med = {m: statistics.median(r["ips"] for r in rs) for m, rs in got.items()}
    wall = {m: statistics.median(r["wall"] for r in rs) for m, rs in got.items()}
    ratio = med["gui"] / med["headless"]
    print(f"headless {med['headless']:.1f} img/s | gui {med['gui']:.1f} img/s | gui / headless = {ratio:.2f}x "
          f"(goal >= 0.95) | wall {wall['headless']:.1f} s vs {wall['gui']:.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
