"""Numeric precision per device: bf16 where the hardware makes it faster, fp32 elsewhere.

``auto`` picks:

* CUDA: fp16 autocast (bf16 where the GPU supports it, which is as fast and cannot overflow).
* CPU: bf16 autocast with channels_last when the CPU reports AMX or AVX-512-BF16 **and** a
  one-off tiny measurement (a width-32 3x3 conv, fp32 against bf16, alternating) says bf16 is
  really faster here; the answer is cached for the process. fp32 everywhere else (AVX2-only
  CPUs emulate bf16 and are several times slower with it).
* MPS and anything else: fp32.

On a CPU the network also runs **channels_last** (NHWC) in fp32 when a second one-off probe (the
same conv, NCHW against channels_last, fp32, alternating) says it is faster here: oneDNN's NHWC
kernels ran 1.2-1.7x faster on the built-ins of a Zen 3 CPU (dilated convs 3x), and the numbers
differ by float rounding only. ``IMGEN_CHANNELS_LAST=0`` / ``1`` turns the probe's answer off / on.

``fp32`` / ``bf16`` force one. A forced bf16 on a CPU without bf16 instructions still runs
(torch emulates it) and says so in :attr:`Precision.note`, so a user who asked sees why it is
slow. Inputs and outputs of a model stay float32: only the network runs in the low precision.
"""
from __future__ import annotations

import contextlib
import os
import statistics
import threading
import time
from dataclasses import dataclass

from imgen_desktop.core.errors import ImgenError

PRECISIONS = ("auto", "fp32", "bf16")
_MIN_SPEEDUP = 1.3  # bf16 must beat fp32 by this much on the probe to be picked by auto
_MIN_CL_SPEEDUP = 1.1  # channels_last must beat NCHW (fp32, CPU) by this much to be used


@dataclass(frozen=True)
class Precision:
    name: str  # fp32 | bf16 | fp16
    device_type: str  # cpu | cuda | mps
    channels_last: bool = False
    note: str = ""

    @property
    def autocast_dtype(self):
        import torch

        return {"bf16": torch.bfloat16, "fp16": torch.float16}.get(self.name)

    def autocast(self):
        """The context to run a network in (a no-op for fp32)."""
        import torch

        dtype = self.autocast_dtype
        if dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device_type, dtype=dtype)


def cpu_bf16_flags() -> list[str]:
    """The bf16-capable instruction sets this CPU reports (empty on AVX2-only CPUs)."""
    found: list[str] = []
    try:
        import torch.cpu as tcpu

        if getattr(tcpu, "_is_amx_tile_supported", lambda: False)():
            found.append("amx")
        if getattr(tcpu, "_is_avx512_bf16_supported", lambda: False)():
            found.append("avx512_bf16")
    except Exception:  # noqa: BLE001 - private helpers may move between torch versions
        pass
    if not found:
        try:
            with open("/proc/cpuinfo", encoding="utf-8") as fh:
                for line in fh:
                    if line.startswith("flags"):
                        flags = set(line.split(":", 1)[1].split())
                        found = [f for f in ("amx_bf16", "avx512_bf16") if f in flags]
                        break
        except OSError:
            pass
    return found


def cpu_bf16_supported() -> bool:
    import torch

    return bool(cpu_bf16_flags()) and torch.backends.mkldnn.is_available()


_PROBE_LOCK = threading.Lock()
_PROBE: dict[str, float] = {}


def _probe(key: str, baseline, candidate, repeats: int) -> float:
    """``baseline`` time / ``candidate`` time (each a callable running a few convs), medians of
    alternating runs after one warm-up each (oneDNN builds its kernels on first use); measured
    once per process under ``key``."""
    with _PROBE_LOCK:
        if key not in _PROBE:
            def once(fn) -> float:
                start = time.perf_counter()
                fn()
                return time.perf_counter() - start

            once(baseline), once(candidate)
            base, cand = [], []
            for _ in range(repeats):
                base.append(once(baseline))
                cand.append(once(candidate))
            _PROBE[key] = statistics.median(base) / max(statistics.median(cand), 1e-9)
        return _PROBE[key]


def measure_cpu_bf16_speedup(repeats: int = 5) -> float:
    """fp32 time / bf16 time of a width-32 channels_last 3x3 conv on a 64x64 map (median of
    alternating runs), measured once per process."""
    import torch

    conv = torch.nn.Conv2d(32, 32, 3, padding=1).to(memory_format=torch.channels_last)
    x = torch.rand(1, 32, 64, 64).to(memory_format=torch.channels_last)

    def run(bf16: bool):
        def go() -> None:
            with torch.inference_mode(), (torch.autocast("cpu", dtype=torch.bfloat16) if bf16 else contextlib.nullcontext()):
                for _ in range(4):
                    conv(x)
        return go

    return _probe("cpu", run(False), run(True), repeats)


def measure_cpu_channels_last_speedup(repeats: int = 5) -> float:
    """NCHW time / channels_last time of a width-32 3x3 fp32 conv on a 96x96 map (median of
    alternating runs), measured once per process."""
    import torch

    def run(layout):
        conv = torch.nn.Conv2d(32, 32, 3, padding=1).to(memory_format=layout)
        x = torch.rand(1, 32, 96, 96).contiguous(memory_format=layout)

        def go() -> None:
            with torch.inference_mode():
                for _ in range(4):
                    conv(x)
        return go

    return _probe("cpu_cl", run(torch.contiguous_format), run(torch.channels_last), repeats)


def cpu_channels_last() -> bool:
    """Whether fp32 networks run channels_last on this CPU (``IMGEN_CHANNELS_LAST`` overrides)."""
    forced = os.environ.get("IMGEN_CHANNELS_LAST", "").strip()
    if forced in ("0", "1"):
        return forced == "1"
    try:
        return measure_cpu_channels_last_speedup() >= _MIN_CL_SPEEDUP
    except Exception:  # noqa: BLE001 - a build without oneDNN: keep NCHW
        return False


def _cuda_bf16(device) -> bool:
    import torch

    try:
        return bool(torch.cuda.is_bf16_supported())
    except Exception:  # noqa: BLE001
        return False


def resolve_precision(requested: str | None, device) -> Precision:
    """The precision to run on ``device`` (a torch.device or string) for ``requested``
    (auto | fp32 | bf16; None = auto). Raises ImgenError for an unknown name."""
    import torch

    name = (requested or "auto").lower()
    if name == "auto" and os.environ.get("IMGEN_PRECISION", "").lower() in ("fp32", "bf16"):
        name = os.environ["IMGEN_PRECISION"].lower()  # a machine-wide default (tests pin fp32)
    if name not in PRECISIONS:
        raise ImgenError(f"unknown precision {requested!r}: choose {', '.join(PRECISIONS)}")
    dev = torch.device(device if device is not None else "cpu")
    kind = dev.type
    if name == "fp32":
        return Precision("fp32", kind, channels_last=kind == "cpu" and cpu_channels_last())
    if kind == "cuda":
        if name == "bf16" or _cuda_bf16(dev):
            return Precision("bf16", kind)
        return Precision("fp16", kind)
    if kind != "cpu":
        note = f"bf16 is not used on {kind}; running in fp32" if name == "bf16" else ""
        return Precision("fp32", kind, note=note)
    supported = cpu_bf16_supported()
    if name == "bf16":
        note = "" if supported else "this CPU has no bf16 instructions (AMX / AVX-512-BF16): bf16 runs emulated and slower than fp32"
        return Precision("bf16", kind, channels_last=True, note=note)
    if supported and measure_cpu_bf16_speedup() >= _MIN_SPEEDUP:
        return Precision("bf16", kind, channels_last=True)
    return Precision("fp32", kind, channels_last=cpu_channels_last())


def describe_cpu() -> str:
    """One line for benchmark records: what the CPU offers for bf16."""
    import torch

    flags = cpu_bf16_flags()
    return f"cpu capability {torch.backends.cpu.get_cpu_capability()}, bf16 flags: {', '.join(flags) or 'none'}"
