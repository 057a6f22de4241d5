"""Enhancement speed and memory: every built-in on a 1 MP and a 12 MP photo, in one run.

    PYTHONPATH=$PWD .venv/bin/python benchmarks/enhance_speed.py [--sizes 1,12] [--models ...]
        [--baseline TREE] [--sweep] [--quick]

For each built-in and each size (megapixels of *output*: the photo is a real photo of
``resources/photos`` resized so that the model's output has that many pixels), a fresh child
process runs ``core.enhance.enhance_photo`` with the defaults a user gets (default tile, the
task's default passes: 4 for denoise) and reports seconds, megapixels of output per second,
the child's peak RSS (``wait4``), and the multiply-adds it really did (a forward hook on every
convolution: halos and passes included) per output pixel, next to the network's own count
(one untiled forward of a small image). The GFLOPS that inference reaches (2 x MACs / s) are
given as a fraction of this machine's fp32 and bf16 matmul peak, measured here first
(2048x2048 fp32 and 1024x1024 bf16 ``torch.mm``, alternating, medians). ``--clock cpu``
times everything by the process's CPU time divided by its threads instead of the wall clock
(on a machine shared with other jobs the wall clock measures the queue).

``--baseline TREE`` (e.g. ``git archive main imgen_desktop | tar -x -C /tmp/base``) runs the
same photos through another source tree's code, alternating ours and its (A B A B), to show
the before/after of time and peak RSS. ``--sweep``: tile size and tiles per forward call
(in-process, alternating, medians) on ``upscale-x2``. ``--quick``: 1 MP, no sweep.
Inpaint gets a fixed random free-form mask over ~10 % of the photo.
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
MODELS = ("upscale-x2", "upscale-x4", "denoise", "inpaint")

_CHILD = r"""
import json, sys, time
import numpy as np
import torch
name, mp, photo_name, clock = json.loads(sys.argv[1])
tick = (lambda: time.process_time() / torch.get_num_threads()) if clock == "cpu" else time.perf_counter
from imgen_desktop.core.enhance import enhance_photo, open_model
from imgen_desktop.core.imageio import load_image, photo_from_array
from PIL import Image
model = open_model(f"builtin:{name}", "cpu")
s = model.scale
src = load_image(photo_name).pixels
ow = int(round((mp * 1e6 * 4 / 3) ** 0.5))  # 4:3 output
w, h = max(8, ow // s), max(8, ow * 3 // 4 // s)
arr = np.asarray(Image.fromarray(src if src.shape[2] == 3 else src[:, :, 0]).resize((w, h), Image.BICUBIC))
photo = photo_from_array(arr)
kw = {}
if model.task == "inpaint":
    rng = np.random.default_rng(0)
    mask = np.zeros((h, w), np.uint8)
    while mask.mean() < 0.1 * 255:
        y, x, r = rng.integers(0, h), rng.integers(0, w), int(rng.integers(4, max(5, min(h, w) // 12)))
        mask[max(0, y - r):y + r, max(0, x - r):x + r] = 255
    kw["mask"] = mask
macs = [0]
def hook(mod, inp, out):
    k = mod.kernel_size[0] * mod.kernel_size[1] * mod.in_channels // mod.groups
    macs[0] += out.numel() * k
hooks = [m.register_forward_hook(hook) for m in model.net.modules() if isinstance(m, torch.nn.Conv2d)]
# the network's own count: one untiled forward of a 64x64 image
x = torch.rand(1, model.channels, 64, 64)
m = torch.ones(1, 1, 64, 64) if model.task == "inpaint" else None
model(x, mask=m, noise_level=25.0 if model.supports_noise_level else None)
net_macs = macs[0] / (64 * s) ** 2
macs[0] = 0
t0 = tick()
out = enhance_photo(photo, model, **kw)
sec = tick() - t0
px = out.pixels.shape[0] * out.pixels.shape[1]
print(json.dumps({"sec": sec, "out_mp": px / 1e6, "in": [w, h], "macs_px": macs[0] / px, "net_macs_px": net_macs,
                  "passes": model.default_passes, "tile": model.default_tile()}))
"""


def run_child(tree: Path, name: str, mp: float, photo: str, clock: str = "wall") -> dict:
    """A child measured by its own wait4 rusage (exact per child)."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    env.setdefault("IMGEN_HOME", tempfile.mkdtemp(prefix="imgen-es-"))
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        p = subprocess.Popen([sys.executable, "-c", _CHILD, json.dumps([name, mp, photo, clock])], env=env, stdout=out, stderr=err)
        _pid, status, usage = os.wait4(p.pid, 0)
        p.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0), err.seek(0)
        if p.returncode:
            raise SystemExit(f"{name} ({tree}) failed: {err.read().strip()[-800:]}")
        r = json.loads(out.read().strip().splitlines()[-1])
    r["rss_mb"] = usage.ru_maxrss / 1024
    return r


def matmul_peak(reps: int = 3, clock: str = "wall") -> dict[str, float]:
    """GFLOPS of fp32 (2048^2) and bf16 (1024^2) matmuls, alternating, medians."""
    import torch

    tick = (lambda: time.process_time() / torch.get_num_threads()) if clock == "cpu" else time.perf_counter

    got: dict[str, list[float]] = {"fp32": [], "bf16": []}
    for n, dt in ((2048, torch.float32), (1024, torch.bfloat16)):  # warm-up
        torch.mm(torch.rand(n, n, dtype=dt), torch.rand(n, n, dtype=dt))
    for _ in range(reps):
        for key, n, dt in (("fp32", 2048, torch.float32), ("bf16", 1024, torch.bfloat16)):
            a, b = torch.rand(n, n, dtype=dt), torch.rand(n, n, dtype=dt)
            t0 = tick()
            torch.mm(a, b)
            got[key].append(2 * n**3 / (tick() - t0) / 1e9)
    return {k: statistics.median(v) for k, v in got.items()}


def sweep(photo: str, reps: int) -> None:
    """Tile size x tiles per forward on upscale-x2, in-process, 1 thread, CPU time, alternating."""
    import numpy as np
    import torch
    from PIL import Image

    from imgen_desktop.core.enhance import enhance_photo, open_model
    from imgen_desktop.core.imageio import load_image, photo_from_array

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    model = open_model("builtin:upscale-x2", "cpu")
    src = load_image(photo).pixels
    p = photo_from_array(np.asarray(Image.fromarray(src).resize((400, 300), Image.BICUBIC)))
    configs = [(512, 1), (256, 1), (256, 2), (128, 1), (128, 4)]
    times: dict[tuple, list[float]] = {c: [] for c in configs}
    for _ in range(reps):
        for tile, batch in configs:
            model.tile_batch = batch
            t0 = time.process_time()
            enhance_photo(p, model, tile=tile)
            times[(tile, batch)].append(time.process_time() - t0)
    model.tile_batch = 1
    torch.set_num_threads(threads)
    ref = statistics.median(times[configs[0]])
    print(f"\ntile sweep: upscale-x2 on a 400x300 photo (0.48 MP out), in-process, 1 thread, CPU time, x{reps}, medians")
    print("| tile | tiles per forward | CPU s | speed vs 512 x 1 |\n|---|---|---|---|")
    for c in configs:
        t = statistics.median(times[c])
        print(f"| {c[0]} | {c[1]} | {t:.2f} | {ref / t:.2f}x |", flush=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="1,12", help="megapixels of output, comma-separated")
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--photo", default=str(ROOT / "resources" / "photos" / "hubble_deep_field.jpg"))
    ap.add_argument("--baseline", type=Path, default=None, help="another source tree to compare with (A B)")
    ap.add_argument("--pairs", type=int, default=1)
    ap.add_argument("--sweep", action="store_true")
    ap.add_argument("--quick", action="store_true", help="1 MP only, no sweep")
    ap.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                    help="cpu: process CPU time / threads, for a machine shared with other jobs")
    a = ap.parse_args(argv)
    if a.quick:
        a.sizes, a.sweep = "1", False
    sizes = [float(s) for s in a.sizes.split(",") if s]
    import torch

    print(f"load average {os.getloadavg()[0]:.1f}; torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"CPU capability {torch.backends.cpu.get_cpu_capability()}", flush=True)
    peak = matmul_peak(clock=a.clock)
    print(f"matmul peak: fp32 {peak['fp32']:.1f} GFLOPS (2048^2), bf16 {peak['bf16']:.1f} GFLOPS (1024^2): "
          f"bf16 / fp32 = {peak['bf16'] / peak['fp32']:.2f}x", flush=True)
    trees = [("new", ROOT)] + ([("base", a.baseline.resolve())] if a.baseline else [])
    rows = []
    for name in a.models.split(","):
        for mp in sizes:
            got: dict[str, list[dict]] = {t: [] for t, _ in trees}
            for _ in range(a.pairs):
                for tag, tree in trees:
                    got[tag].append(run_child(tree, name, mp, a.photo, a.clock))
            rows.append((name, mp, got))
            r = got["new"][-1]
            print(f"  {name} {mp:g} MP: {r['sec']:.1f} s, {r['rss_mb']:.0f} MB"
                  + (f"; base {got['base'][-1]['sec']:.1f} s, {got['base'][-1]['rss_mb']:.0f} MB" if a.baseline else ""),
                  flush=True)
    print("\n| model | input | out MP | passes | s | MP/s out | peak RSS MB | MACs/out px (net) | GFLOPS | % fp32 peak | % bf16 peak |"
          + (" base s | base RSS MB | speed new/base |" if a.baseline else ""))
    print("|---" * (11 + (3 if a.baseline else 0)) + "|")
    for name, mp, got in rows:
        med = {k: statistics.median(r["sec"] for r in v) for k, v in got.items()}
        rss = {k: statistics.median(r["rss_mb"] for r in v) for k, v in got.items()}
        r = got["new"][0]
        gflops = 2 * r["macs_px"] * r["out_mp"] * 1e6 / med["new"] / 1e9
        line = (f"| {name} | {r['in'][0]}x{r['in'][1]} | {r['out_mp']:.1f} | {r['passes']} | {med['new']:.1f} | "
                f"{r['out_mp'] / med['new']:.3f} | {rss['new']:.0f} | {r['macs_px'] / 1e3:.1f}k ({r['net_macs_px'] / 1e3:.1f}k) | "
                f"{gflops:.1f} | {100 * gflops / peak['fp32']:.0f} % | {100 * gflops / peak['bf16']:.0f} % |")
        if a.baseline:
            line += f" {med['base']:.1f} | {rss['base']:.0f} | {med['base'] / med['new']:.2f}x |"
        print(line, flush=True)
    if a.sweep:
        sweep(a.photo, max(1, a.pairs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
