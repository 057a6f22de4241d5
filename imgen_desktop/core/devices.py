"""Device discovery: CPU, every CUDA GPU, Apple MPS; ``auto`` picks the best."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass

from imgen_desktop.core.errors import ImgenError


@dataclass(frozen=True)
class DeviceInfo:
    id: str  # "cpu", "cuda:0", "mps"
    kind: str  # cpu | cuda | mps
    name: str
    memory_bytes: int = 0  # total memory (GPU) or 0
    detail: str = ""

    def label(self) -> str:
        if self.kind == "cuda":
            return f"{self.id} — {self.name} ({self.memory_bytes / 2**30:.1f} GiB)"
        return f"{self.id} — {self.name}"


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform

    return platform.processor() or platform.machine() or "CPU"


def list_devices() -> list[DeviceInfo]:
    import torch

    cores = os.cpu_count() or 1
    devices = [DeviceInfo("cpu", "cpu", f"{_cpu_name()}, {cores} cores", detail=f"{cores} cores")]
    if torch.cuda.is_available():
        for i in range(torch.cuda.device_count()):
            props = torch.cuda.get_device_properties(i)
            devices.append(DeviceInfo(f"cuda:{i}", "cuda", props.name, int(props.total_memory)))
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        devices.append(DeviceInfo("mps", "mps", "Apple Metal (MPS)"))
    return devices


def nvidia_gpu_present() -> bool:
    """Whether the machine has an NVIDIA GPU, independent of the torch build."""
    if os.path.exists("/proc/driver/nvidia/version"):
        return True
    smi = shutil.which("nvidia-smi")
    if smi:
        try:
            out = subprocess.run([smi, "-L"], capture_output=True, text=True, timeout=5)
            return out.returncode == 0 and "GPU" in out.stdout
        except (OSError, subprocess.SubprocessError):
            return False
    return False


def cpu_only_build_warning() -> str | None:
    """A message when an NVIDIA GPU is present but torch cannot use it (a CPU-only build)."""
    import torch

    if torch.cuda.is_available() or not nvidia_gpu_present():
        return None
    if torch.version.cuda is None:
        return (
            f"An NVIDIA GPU is present but this PyTorch ({torch.__version__}) is a CPU-only build; "
            "install a CUDA build of torch to train on the GPU."
        )
    return f"An NVIDIA GPU is present but PyTorch (CUDA {torch.version.cuda}) cannot use it; check the NVIDIA driver."


def resolve_device(spec: str = "auto"):
    """``auto|cpu|cuda|cuda:N|mps`` -> ``torch.device``; a clear error if it is not there."""
    import torch

    spec = (spec or "auto").strip().lower()
    if spec == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda:0")
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if spec == "cpu":
        return torch.device("cpu")
    if spec.startswith("cuda"):
        match = re.fullmatch(r"cuda(?::(\d+))?", spec)
        if match is None:
            raise ImgenError(f"bad device {spec!r}; use cuda or cuda:N (N = 0, 1, ...)")
        index = int(match.group(1) or 0)
        if not torch.cuda.is_available():
            hint = cpu_only_build_warning() or "no CUDA GPU is available"
            raise ImgenError(f"device {spec!r} is not available: {hint}")
        if index >= torch.cuda.device_count():
            raise ImgenError(f"device {spec!r} is not available: {torch.cuda.device_count()} CUDA GPU(s) found")
        return torch.device(f"cuda:{index}")
    if spec == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            raise ImgenError("device 'mps' is not available (Apple Silicon with macOS 12.3+ only)")
        return torch.device("mps")
    raise ImgenError(f"unknown device {spec!r}; use auto, cpu, cuda, cuda:N or mps")


def torch_version() -> str:
    import torch

    return torch.__version__
