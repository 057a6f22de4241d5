"""``imgen`` basics in a real subprocess: help, usage errors, devices, models list/import/export/remove."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from imgen_desktop.core.store import ModelStore

IMGEN_SCRIPT = Path(sys.executable).with_name("imgen")


def imgen(*args: str, script: bool = False) -> subprocess.CompletedProcess:
    """Run the CLI with the test's IMGEN_HOME (set by the autouse fixture)."""
    cmd = [str(IMGEN_SCRIPT)] if script else [sys.executable, "-m", "imgen_desktop.cli"]
    return subprocess.run(cmd + list(args), capture_output=True, text=True, timeout=300, env=dict(os.environ))


def assert_one_line_error(proc: subprocess.CompletedProcess, *needles: str) -> None:
    assert proc.returncode == 1, (proc.stdout, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("imgen: error: ")
    assert "Traceback" not in proc.stderr + proc.stdout
    for needle in needles:
        assert needle in lines[0], lines[0]


def test_help_via_the_console_script():
    assert IMGEN_SCRIPT.exists(), "the 'imgen' console script is installed with the package"
    proc = imgen("--help", script=True)
    assert proc.returncode == 0, proc.stderr
    for command in ("devices", "train", "generate", "enhance", "models"):
        assert command in proc.stdout


@pytest.mark.parametrize(
    "args",
    [
        (),
        ("frobnicate",),
        ("models",),
        ("models", "export", "only-one-arg"),
        ("train", "--family", "lstm"),
    ],
)
def test_bad_usage_exits_2(args):
    proc = imgen(*args)
    assert proc.returncode == 2, (args, proc.stdout, proc.stderr)
    assert "usage:" in proc.stderr and "error:" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_devices_lists_cpu_first():
    proc = imgen("devices")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert lines[0].startswith("cpu — ") and f"{os.cpu_count()} cores" in lines[0]
    assert all(line.split(" — ")[0] in ("cpu", "mps") or line.startswith("cuda:") for line in lines)


def test_models_list_empty(imgen_home):
    proc = imgen("models", "list")
    assert proc.returncode == 0, proc.stderr
    assert "no models yet" in proc.stdout and str(imgen_home / "models") in proc.stdout


def test_models_import_list_export_remove(tmp_path, imgen_home, make_model_file):
    src = make_model_file(tmp_path / "downloaded.safetensors", family="vae", task="denoise", scale=1)
    proc = imgen("models", "import", str(src), "--name", "my denoiser")
    assert proc.returncode == 0, proc.stderr
    assert "my denoiser" in proc.stdout
    assert (imgen_home / "models" / "my denoiser.safetensors").read_bytes() == src.read_bytes()

    make_model_file(imgen_home / "models" / "upx2.safetensors")
    (imgen_home / "models" / "broken.safetensors").write_bytes(b"junk")
    proc = imgen("models", "list")
    assert proc.returncode == 0, proc.stderr
    rows = {line.split()[0]: line for line in proc.stdout.splitlines()[1:]}
    assert proc.stdout.splitlines()[0].split() == ["NAME", "FAMILY", "TASK", "CREATED", "SIZE"]
    assert "VAE" in rows["my"] and "denoise" in rows["my"]
    assert "GAN" in rows["upx2"] and "upscale x2" in rows["upx2"]
    assert "unreadable" in rows["broken"] and "broken.safetensors" in rows["broken"]

    out = tmp_path / "exported" / "copy.safetensors"
    proc = imgen("models", "export", "my denoiser", str(out))
    assert proc.returncode == 0, proc.stderr
    assert out.read_bytes() == src.read_bytes()

    proc = imgen("models", "remove", "my denoiser")
    assert proc.returncode == 0, proc.stderr
    assert [i.name for i in ModelStore().list()] == ["broken", "upx2"]


def test_models_errors_are_one_line(tmp_path):
    assert_one_line_error(imgen("models", "remove", "nosuch"), "no model named 'nosuch'")
    assert_one_line_error(imgen("models", "export", "nosuch", str(tmp_path / "x.safetensors")), "nosuch")
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"not a model")
    assert_one_line_error(imgen("models", "import", str(bad)), "bad.safetensors")
    assert_one_line_error(imgen("models", "import", str(tmp_path / "missing.safetensors")), "not found")
    assert_one_line_error(imgen("models", "remove", "../etc/passwd"), "invalid model name")


def test_export_to_an_unwritable_place_is_one_line(tmp_path, imgen_home, make_model_file):
    make_model_file(imgen_home / "models" / "m.safetensors")
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    assert_one_line_error(imgen("models", "export", "m", str(blocker / "out.safetensors")), "could not copy m.safetensors")


def test_onnx_export_without_the_onnx_package_is_one_line(tmp_path, imgen_home):
    """ONNX export is optional: with the ``onnx`` package it writes the file, without it the user
    gets one line saying what to install (torch raised its own OnnxExporterError: a traceback)."""
    import importlib.util

    import torch

    from imgen_desktop.core.models import restore
    from imgen_desktop.core.store import ModelStore

    params = {"channels": 3, "task": "upscale", "scale": 2, "width": 4, "blocks": 1}
    torch.manual_seed(0)
    ModelStore().save("x2", restore.RestoreGenerator(**params).state_dict(),
                      {"family": "gan", "task": "upscale", "scale": 2, "channels": 3, "arch": "gan.restore", "arch_params": params})
    out = tmp_path / "x2.onnx"
    proc = imgen("models", "export", "x2", str(out))
    if importlib.util.find_spec("onnx") is None:
        assert_one_line_error(proc, "pip install onnx")
        assert not out.exists() and not list(tmp_path.glob(".*"))  # nothing half-written
    else:
        assert proc.returncode == 0 and out.stat().st_size > 0, proc.stderr
