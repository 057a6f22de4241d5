"""Training speed: our trainer against a plain PyTorch DCGAN loop, alternating in one run.

    PYTHONPATH=$PWD .venv/bin/python benchmarks/train_speed.py [--sizes 32,64] [--steps 12] [--pairs 2]

"Ours" is ``core.trainer.train`` with the ``classic`` preset (the DCGAN configuration: BCE,
Adam 2e-4 betas (0.5, 0.999), z = 100, width 64, batch 64) on ``builtin:digits`` at each
image size, no sampling or checkpoints during the run; its speed comes from the ``time``
column of ``metrics.jsonl`` (seconds of training before each logged step), from step 2 to the
last, so start-up, the first (warm-up) step, the final sample and the export are not counted;
each run is a fresh process (``--baseline TREE`` adds the trainer of another source tree, e.g.
``git archive main imgen_desktop | tar -x -C /tmp/base``, to show before/after).
"Plain" is the loop of the classic PyTorch DCGAN example (``examples/dcgan/main.py``: D on a
real batch, D on ``G(z).detach()``, one D step; G step through the same fake; ``.item()`` of
the losses every step) over the same networks (``core.models.gan.Generator`` /
``Discriminator``, BCE on logits) and the same pictures preloaded as one float tensor. The two
alternate A B A B (``--pairs``); the script prints the median images/s of each and the ratio
ours / plain per size.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("IMGEN_HOME", tempfile.mkdtemp(prefix="imgen-bench-"))


_OURS = r"""
import json, sys, time, types
import torch
size, steps, run, precision, tag, threads, clock, preset = json.loads(sys.argv[1])
torch.set_num_threads(threads)
import imgen_desktop.core.trainer as trainer_module
if clock == "cpu":  # the trainer's step clock becomes this thread's CPU time
    trainer_module.time = types.SimpleNamespace(perf_counter=time.thread_time, monotonic=time.monotonic, time=time.time)
from imgen_desktop.core.config import TrainConfig
from imgen_desktop.core.presets import apply_preset
from imgen_desktop.core.trainer import run_dir, train
cfg = apply_preset(TrainConfig(family="gan", task="generate", data="builtin:digits"), preset)
cfg.image_size, cfg.steps, cfg.sample_every, cfg.checkpoint_every = size, steps, 0, 0
cfg.name, cfg.device, cfg.seed = f"speed-{tag}-{size}-{run}", "cpu", run
if precision:
    cfg.precision = precision
result = train(cfg, lambda event: None)
assert type(result).__name__ == "Finished", result
rows = [json.loads(l) for l in (run_dir(cfg.name) / "metrics.jsonl").read_text().splitlines() if l.strip()]
rows = [r for r in rows if "time" in r][1:]  # row k's time covers steps 1..k-1: skip step 1 (warm-up)
print(json.dumps((rows[-1]["step"] - rows[0]["step"]) * cfg.batch_size / (rows[-1]["time"] - rows[0]["time"])))
"""


def ours(tree: Path, size: int, steps: int, run: int, precision: str | None, threads: int, clock: str,
         env_extra: dict[str, str] | None = None, preset: str = "classic") -> float:
    """Images/s of ``core.trainer.train`` from the code in ``tree`` (a fresh process each run)."""
    import subprocess

    tag = ("new" if tree == ROOT else "base") + "".join(f"-{k[-4:].lower()}{v}" for k, v in (env_extra or {}).items())
    arg = json.dumps([size, steps, run, precision, tag, threads, clock, preset])
    env = {**os.environ, "PYTHONPATH": str(tree), **(env_extra or {})}
    out = subprocess.run([sys.executable, "-c", _OURS, arg], env=env, capture_output=True, text=True, check=False)
    if out.returncode:
        raise SystemExit(f"ours ({tree}) failed: {out.stderr.strip()[-800:]}")
    return float(out.stdout.strip().splitlines()[-1])


def plain(size: int, steps: int, run: int, data, clock) -> float:
    import torch
    import torch.nn as nn

    from imgen_desktop.core.models.gan import Discriminator, Generator

    torch.manual_seed(run)
    nz, batch = 100, 64
    netG, netD = Generator(nz, data.shape[1], 64, size), Discriminator(data.shape[1], 64, size)
    criterion = nn.BCEWithLogitsLoss()
    optimizerD = torch.optim.Adam(netD.parameters(), lr=2e-4, betas=(0.5, 0.999))
    optimizerG = torch.optim.Adam(netG.parameters(), lr=2e-4, betas=(0.5, 0.999))
    perm = torch.randperm(data.shape[0])
    times = []
    for i in range(steps):
        start = clock()
        idx = perm[(i * batch) % (data.shape[0] - batch):][:batch]
        real = data[idx]
        # (1) Update D: maximize log(D(x)) + log(1 - D(G(z)))
        netD.zero_grad()
        label = torch.full((batch,), 1.0)
        output = netD(real).view(-1)
        errD_real = criterion(output, label)
        errD_real.backward()
        D_x = output.mean().item()  # noqa: F841 - the example prints these
        noise = torch.randn(batch, nz, 1, 1)
        fake = netG(noise)
        label.fill_(0.0)
        output = netD(fake.detach()).view(-1)
        errD_fake = criterion(output, label)
        errD_fake.backward()
        D_G_z1 = output.mean().item()  # noqa: F841
        errD = errD_real + errD_fake
        optimizerD.step()
        # (2) Update G: maximize log(D(G(z)))
        netG.zero_grad()
        label.fill_(1.0)
        output = netD(fake).view(-1)
        errG = criterion(output, label)
        errG.backward()
        D_G_z2 = output.mean().item()  # noqa: F841
        optimizerG.step()
        _ = (errD.item(), errG.item())
        times.append(clock() - start)
    return (steps - 1) * batch / sum(times[1:])  # the same window as ours: step 1 (warm-up) skipped


def main() -> int:
    import torch

    from imgen_desktop.core.datasets import ImageDataset

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="32,64")
    parser.add_argument("--steps", type=int, default=12)
    parser.add_argument("--pairs", type=int, default=2)
    parser.add_argument("--precision", default=None, help="ours: fp32 | bf16 (if the trainer has the option)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1: CPU time is a clean measure of work)")
    parser.add_argument("--clock", default="cpu", choices=["cpu", "wall"],
                        help="cpu: CPU time of the training thread (robust on a shared machine, needs --threads 1); wall")
    parser.add_argument("--baseline", default=None, help="also time the trainer of this source tree (e.g. an export of main)")
    parser.add_argument("--preset", default="classic",
                        help="ours: this preset (the plain loop is always the classic DCGAN one; compare with --nchw)")
    parser.add_argument("--nchw", action="store_true",
                        help="time ours with IMGEN_CHANNELS_LAST=1 and also =0 (NCHW), to show what channels_last gives")
    args = parser.parse_args()
    if args.nchw and args.baseline:
        parser.error("--nchw and --baseline each add the third column: give one")
    torch.set_num_threads(args.threads)
    clock = time.thread_time if args.clock == "cpu" else time.perf_counter
    print(f"# clock: {args.clock} time, {args.threads} torch thread(s)")
    print(f"# {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; torch {torch.__version__}, {torch.get_num_threads()} threads; "
          f"load average {os.getloadavg()[0]:.1f}; {args.steps} steps per run, batch 64, ours: {args.preset} preset")
    base = Path(args.baseline) if args.baseline else (ROOT if args.nchw else None)
    third = "ours NCHW" if args.nchw else "before"
    print("| size | ours img/s (runs) | plain img/s (runs) | ours / plain |" + (f" {third} img/s (runs) | {third} / plain |" if base else ""))
    print("|---|---|---|---|" + ("---|---|" if base else ""))
    fmt = lambda vs: f"{statistics.median(vs):.1f} ({', '.join(f'{v:.0f}' for v in vs)})"  # noqa: E731
    for size in [int(s) for s in args.sizes.split(",")]:
        ds = ImageDataset("builtin:digits", size, "generate", 0)
        data = ds.to_device(ds.batch_uint8(min(ds.count, 1024), False), torch.device("cpu"))
        a, b, c = [], [], []
        for run in range(args.pairs):  # A B (C) A B (C): alternating in one run
            a.append(ours(ROOT, size, args.steps, run, args.precision, args.threads, args.clock,
                          {"IMGEN_CHANNELS_LAST": "1"} if args.nchw else None, args.preset))
            b.append(plain(size, args.steps, run, data, clock))
            if base:
                c.append(ours(base, size, args.steps, run, None, args.threads, args.clock,
                              {"IMGEN_CHANNELS_LAST": "0"} if args.nchw else None, args.preset))
        ra, rb = statistics.median(a), statistics.median(b)
        extra = f" {fmt(c)} | {statistics.median(c) / rb:.2f}x |" if base else ""
        print(f"| {size} | {fmt(a)} | {fmt(b)} | {ra / rb:.2f}x |{extra}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
