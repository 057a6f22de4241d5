"""channels_last against NCHW in fp32 on this CPU: inference and training of the restore nets and
the DCGAN-style GAN, alternating A B A B, medians.

    PYTHONPATH=$PWD .venv/bin/python benchmarks/channels_last.py [--reps 5] [--threads 1] [--quick]

Cases: inference of the four faithful built-in networks on a 256x256 tile (x4: 128x128)
(``inference_mode``); a training step (forward, L1 loss, backward, Adam) of a restore generator
of the built-ins' shape (width 32, 4 blocks, x2) on a batch of 8 64x64 patches; one step of the
classic DCGAN (width 64, batch 64, 32x32: D on real and fake, then G), as in PyTorch's
example. "cl": the modules ``.to(memory_format=torch.channels_last)`` and the inputs made
channels_last. The clock is the process's CPU time with ``--threads`` torch threads (1 by
default: on a machine shared with other jobs, wall time measures the queue as much as the
work); wall time is printed too. A layout is worth using where it is > 5 % faster.
"""
from __future__ import annotations

import argparse
import copy
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _cases():
    import torch
    import torch.nn.functional as F

    from imgen_desktop.core.enhance import open_model
    from imgen_desktop.core.models.gan import Discriminator, Generator
    from imgen_desktop.core.models.restore import RestoreGenerator

    cl = torch.channels_last

    def inference(name, side=256):
        net = open_model(f"builtin:{name}", "cpu").net
        x = torch.rand(1, 3, side, side)
        if net.task == "inpaint":
            x = torch.cat([x, (torch.rand(1, 1, side, side) > 0.9).float()], 1)
        kw = {"noise_level": 25.0} if getattr(net, "noise_hint", False) else {}

        def make(layout):
            # a copy per layout: Module.to() converts in place, so one shared net would run
            # both cases in the last layout it was given (what an earlier version of this
            # script did, and why it measured 1.01x)
            n = copy.deepcopy(net).to(memory_format=layout)
            xi = x.contiguous(memory_format=layout)

            def step():
                with torch.inference_mode():
                    n(xi, **kw)
            return step
        return make

    def restore_train():
        def make(layout):
            torch.manual_seed(0)
            net = RestoreGenerator(3, "upscale", 2, width=32, blocks=4).to(memory_format=layout)
            opt = torch.optim.Adam(net.parameters(), 1e-4)
            lo = torch.rand(8, 3, 64, 64).contiguous(memory_format=layout)
            hi = torch.rand(8, 3, 128, 128).contiguous(memory_format=layout)

            def step():
                opt.zero_grad(set_to_none=True)
                F.l1_loss(net(lo), hi).backward()
                opt.step()
            return step
        return make

    def dcgan():
        def make(layout):
            torch.manual_seed(0)
            g, d = Generator(100, 1, 64, 32).to(memory_format=layout), Discriminator(1, 64, 32).to(memory_format=layout)
            og = torch.optim.Adam(g.parameters(), 2e-4, betas=(0.5, 0.999))
            od = torch.optim.Adam(d.parameters(), 2e-4, betas=(0.5, 0.999))
            real = (torch.rand(64, 1, 32, 32) * 2 - 1).contiguous(memory_format=layout)
            bce = torch.nn.BCEWithLogitsLoss()
            ones, zeros = torch.ones(64), torch.zeros(64)

            def step():
                z = torch.randn(64, 100, 1, 1).contiguous(memory_format=layout)
                fake = g(z)
                od.zero_grad(set_to_none=True)
                (bce(d(real).view(-1), ones) + bce(d(fake.detach()).view(-1), zeros)).backward()
                od.step()
                og.zero_grad(set_to_none=True)
                bce(d(fake).view(-1), ones).backward()
                og.step()
            return step
        return make

    return {
        "inference upscale-x2 (256x256)": inference("upscale-x2"),
        "inference upscale-x4 (128x128)": inference("upscale-x4", 128),
        "inference denoise (256x256)": inference("denoise"),
        "inference inpaint (256x256)": inference("inpaint"),
        "train restore x2 (8x64x64)": restore_train(),
        "train DCGAN classic (64x32x32)": dcgan(),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--quick", action="store_true", help="3 repetitions")
    a = ap.parse_args(argv)
    if a.quick:
        a.reps = 3
    import os

    import torch

    torch.set_num_threads(a.threads)
    print(f"load average {os.getloadavg()[0]:.1f}; torch {torch.__version__}, {a.threads} thread(s), "
          f"CPU capability {torch.backends.cpu.get_cpu_capability()}; A B x{a.reps}, medians of CPU time", flush=True)
    layouts = {"nchw": torch.contiguous_format, "cl": torch.channels_last}
    print("| case | NCHW CPU s | channels_last CPU s | cl speed-up (CPU) | NCHW wall s | cl wall s | cl speed-up (wall) |")
    print("|---|---|---|---|---|---|---|")
    for name, make in _cases().items():
        steps = {k: make(v) for k, v in layouts.items()}
        for s in steps.values():  # warm-up
            s()
        cpu: dict[str, list[float]] = {k: [] for k in layouts}
        wall: dict[str, list[float]] = {k: [] for k in layouts}
        for _ in range(a.reps):
            for k, s in steps.items():
                c0, w0 = time.process_time(), time.perf_counter()
                s()
                cpu[k].append(time.process_time() - c0)
                wall[k].append(time.perf_counter() - w0)
        mc = {k: statistics.median(v) for k, v in cpu.items()}
        mw = {k: statistics.median(v) for k, v in wall.items()}
        print(f"| {name} | {mc['nchw']:.3f} | {mc['cl']:.3f} | {mc['nchw'] / mc['cl']:.2f}x | "
              f"{mw['nchw']:.3f} | {mw['cl']:.3f} | {mw['nchw'] / mw['cl']:.2f}x |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
