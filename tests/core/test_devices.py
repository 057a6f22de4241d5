"""Device discovery: the list, ``auto``, bad specs, and the CPU-only-build warning."""
from __future__ import annotations

import os

import pytest
import torch

from imgen_desktop.core import devices
from imgen_desktop.core.errors import ImgenError


def test_listing_has_cpu_with_core_count():
    found = devices.list_devices()
    cpu = found[0]
    assert cpu.id == "cpu" and cpu.kind == "cpu"
    cores = os.cpu_count()
    assert f"{cores} cores" in cpu.name and f"{cores} cores" in cpu.label()
    ids = [d.id for d in found]
    assert len(ids) == len(set(ids))
    cuda = [d for d in found if d.kind == "cuda"]
    assert len(cuda) == (torch.cuda.device_count() if torch.cuda.is_available() else 0)
    for d in cuda:
        assert d.memory_bytes > 0 and "GiB" in d.label()


def test_cuda_label_shows_memory():
    dev = devices.DeviceInfo("cuda:1", "cuda", "Example GPU", memory_bytes=8 * 2**30)
    assert dev.label() == "cuda:1 — Example GPU (8.0 GiB)"


def test_resolve_auto_and_cpu():
    assert devices.resolve_device("cpu") == torch.device("cpu")
    assert devices.resolve_device(" CPU ") == torch.device("cpu")
    expected = "cuda" if torch.cuda.is_available() else ("mps" if torch.backends.mps.is_available() else "cpu")
    assert devices.resolve_device("auto").type == expected
    assert devices.resolve_device("").type == expected


@pytest.mark.parametrize("spec", ["gpu", "tpu", "cuda0x", "cuda:x", "cuda:-1", "vulkan:0"])
def test_bad_spec_is_a_clear_error(spec):
    with pytest.raises(ImgenError, match="unknown device|bad device"):
        devices.resolve_device(spec)


def test_cuda_unavailable_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(devices, "nvidia_gpu_present", lambda: False)
    with pytest.raises(ImgenError, match=r"'cuda:0' is not available: no CUDA GPU"):
        devices.resolve_device("cuda:0")
    with pytest.raises(ImgenError, match="not available"):
        devices.resolve_device("cuda")
    assert devices.resolve_device("auto").type in ("cpu", "mps")


def test_cuda_index_out_of_range(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    with pytest.raises(ImgenError, match=r"'cuda:3' is not available: 1 CUDA GPU"):
        devices.resolve_device("cuda:3")
    with pytest.raises(ImgenError, match="bad device"):
        devices.resolve_device("cuda:x")
    assert devices.resolve_device("cuda:0") == torch.device("cuda:0")


def test_mps_unavailable_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    with pytest.raises(ImgenError, match="'mps' is not available"):
        devices.resolve_device("mps")


def test_cpu_only_build_warning(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.version, "cuda", None)
    monkeypatch.setattr(devices, "nvidia_gpu_present", lambda: True)
    warning = devices.cpu_only_build_warning()
    assert warning and "CPU-only build" in warning and torch.__version__ in warning
    # the same hint explains why cuda cannot be chosen
    with pytest.raises(ImgenError, match="CPU-only build"):
        devices.resolve_device("cuda")


def test_cuda_build_without_usable_gpu_warns_about_driver(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.version, "cuda", "12.4")
    monkeypatch.setattr(devices, "nvidia_gpu_present", lambda: True)
    assert "driver" in devices.cpu_only_build_warning()


def test_no_warning_without_nvidia_gpu_or_with_working_cuda(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(devices, "nvidia_gpu_present", lambda: False)
    assert devices.cpu_only_build_warning() is None
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(devices, "nvidia_gpu_present", lambda: True)
    assert devices.cpu_only_build_warning() is None


def test_nvidia_gpu_present_uses_nvidia_smi(monkeypatch, tmp_path):
    real_exists = os.path.exists
    monkeypatch.setattr(os.path, "exists", lambda p: False if p == "/proc/driver/nvidia/version" else real_exists(p))
    smi = tmp_path / "nvidia-smi"
    smi.write_text("#!/bin/sh\necho 'GPU 0: Example GPU (UUID: GPU-1234)'\n")
    smi.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert devices.nvidia_gpu_present() is True
    smi.write_text("#!/bin/sh\necho 'NVIDIA-SMI has failed' >&2\nexit 9\n")
    assert devices.nvidia_gpu_present() is False
    smi.unlink()
    assert devices.nvidia_gpu_present() is False
