"""core/precision.py: what ``auto`` picks, forced choices, and bf16 inference staying close to fp32."""
from __future__ import annotations

import pytest
import torch

from imgen_desktop.core import enhance, precision
from imgen_desktop.core.errors import ImgenError
from imgen_desktop.core.models import restore


@pytest.fixture
def cpu(monkeypatch):
    """Pretend CPU: set ``flags`` (bf16 instruction sets found) and ``speedup`` (the probe)."""
    state = {"flags": [], "speedup": 5.0, "probed": 0}

    def probe(repeats=5):
        state["probed"] += 1
        return state["speedup"]

    monkeypatch.setattr(precision, "cpu_bf16_flags", lambda: list(state["flags"]))
    monkeypatch.setattr(precision, "measure_cpu_bf16_speedup", probe)
    return state


def test_auto_picks_bf16_only_where_the_cpu_has_it_and_it_measures_faster(cpu, monkeypatch):
    monkeypatch.delenv("IMGEN_PRECISION", raising=False)
    assert precision.resolve_precision("auto", "cpu").name == "fp32"
    assert cpu["probed"] == 0  # no bf16 instructions: nothing to measure
    cpu["flags"] = ["amx"]
    p = precision.resolve_precision("auto", "cpu")
    assert (p.name, p.channels_last, p.note) == ("bf16", True, "")
    assert p.autocast_dtype is torch.bfloat16
    cpu["speedup"] = 1.05  # reported but not faster in practice (e.g. a throttled VM)
    assert precision.resolve_precision(None, "cpu").name == "fp32"


def test_forced_choices_and_unsupported_bf16_says_why(cpu):
    cpu["flags"] = ["avx512_bf16"]
    assert precision.resolve_precision("fp32", "cpu").name == "fp32"
    assert precision.resolve_precision("bf16", "cpu").note == ""
    cpu["flags"] = []
    forced = precision.resolve_precision("BF16", torch.device("cpu"))
    assert forced.name == "bf16" and "no bf16 instructions" in forced.note
    assert precision.resolve_precision("bf16", "mps").name == "fp32"
    with pytest.raises(ImgenError, match="unknown precision 'fp8'"):
        precision.resolve_precision("fp8", "cpu")


def test_real_probe_is_measured_once_per_process():
    first = precision.measure_cpu_bf16_speedup(repeats=1)
    assert first > 0 and precision.measure_cpu_bf16_speedup() == first


def _model(task="upscale", **params):
    torch.manual_seed(0)
    net = restore.RestoreGenerator(channels=3, task=task, width=8, blocks=2, **params)
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for p in net.parameters():
            p.add_(torch.randn(p.shape, generator=g) * 0.05)
    return enhance.ImageModel(net.eval(), {"task": task, "family": "gan"}, torch.device("cpu"), spec="test")


@pytest.mark.parametrize("task,params", [("upscale", {"scale": 2}), ("denoise", {"unshuffle": 2, "noise_hint": True})])
def test_bf16_tiled_equals_untiled_and_stays_close_to_fp32(task, params):
    model = _model(task, **params)
    x = torch.rand((1, 3, 53, 45), generator=torch.Generator().manual_seed(1))
    fp32 = model.run_tiled(x, tile=0, passes=1, noise_level=25.0, precision="fp32")
    whole = model.run_tiled(x, tile=0, passes=1, noise_level=25.0, precision="bf16")
    tiled = model.run_tiled(x, tile=24, passes=1, noise_level=25.0, precision="bf16")
    assert whole.dtype == tiled.dtype == torch.float32
    assert not torch.equal(whole, fp32)  # bf16 really ran
    assert float((whole - tiled).abs().max()) < 4 / 255  # bf16 rounding differs per tile, a few levels at most
    assert float((whole - fp32).abs().max()) < 4 / 255
    assert float((whole - fp32).abs().mean()) < 0.5 / 255
    assert float(whole.min()) >= 0 and float(whole.max()) <= 1
    # the default of the descriptor is what a run without `precision` uses
    model.precision = "fp32"
    assert torch.equal(model.run_tiled(x, tile=0, passes=1, noise_level=25.0), fp32)


def test_imgen_precision_sets_what_auto_means(monkeypatch):
    monkeypatch.setenv("IMGEN_PRECISION", "bf16")
    assert precision.resolve_precision("auto", "cpu").name == "bf16"
    assert precision.resolve_precision("fp32", "cpu").name == "fp32"  # an explicit choice wins
    monkeypatch.setenv("IMGEN_PRECISION", "fp32")
    assert precision.resolve_precision(None, "cpu").name == "fp32"


def test_fp32_runs_channels_last_where_the_probe_measures_it_faster(monkeypatch):
    """fp32 on a CPU: NHWC where the one-off probe says it is >= 1.1x faster, NCHW otherwise
    (IMGEN_CHANNELS_LAST forces it); never on other devices."""
    monkeypatch.delenv("IMGEN_CHANNELS_LAST", raising=False)
    monkeypatch.setattr(precision, "measure_cpu_channels_last_speedup", lambda repeats=5: 1.4)
    assert precision.resolve_precision("fp32", "cpu").channels_last
    assert precision.resolve_precision("auto", "cpu") == precision.Precision("fp32", "cpu", channels_last=True)
    monkeypatch.setattr(precision, "measure_cpu_channels_last_speedup", lambda repeats=5: 1.02)
    assert not precision.resolve_precision("fp32", "cpu").channels_last
    monkeypatch.setenv("IMGEN_CHANNELS_LAST", "1")
    assert precision.resolve_precision("fp32", "cpu").channels_last
    assert not precision.resolve_precision("fp32", "mps").channels_last
    monkeypatch.setenv("IMGEN_CHANNELS_LAST", "0")
    monkeypatch.setattr(precision, "measure_cpu_channels_last_speedup", lambda repeats=5: 9.0)
    assert not precision.resolve_precision("fp32", "cpu").channels_last
    real = precision._PROBE.pop("cpu_cl", None)
    try:
        assert precision.cpu_channels_last() is False  # forced off: not even measured
        assert "cpu_cl" not in precision._PROBE
    finally:
        if real is not None:
            precision._PROBE["cpu_cl"] = real


def test_a_channels_last_run_matches_nchw_and_a_net_that_cannot_falls_back(monkeypatch):
    model = enhance.open_model("builtin:inpaint", "cpu")
    g = torch.Generator().manual_seed(0)
    x = torch.rand(1, 3, 64, 80, generator=g)
    mask = (torch.rand(1, 1, 64, 80, generator=g) > 0.8).float()
    monkeypatch.setenv("IMGEN_CHANNELS_LAST", "0")
    nchw = model.run_tiled(x, mask=mask, tile=0, precision="fp32")
    assert model.net.trunk.head.weight.is_contiguous()
    monkeypatch.setenv("IMGEN_CHANNELS_LAST", "1")
    nhwc = model.run_tiled(x, mask=mask, tile=0, precision="fp32")
    assert model.net.trunk.head.weight.is_contiguous(memory_format=torch.channels_last)
    assert float((nchw - nhwc).abs().max()) < 1e-5
    forward = model.net.forward

    def picky(inp, *a, **kw):  # an imported net with an op that refuses NHWC input
        if inp.is_contiguous(memory_format=torch.channels_last) and not inp.is_contiguous():
            raise RuntimeError("this op needs a contiguous NCHW input")
        return forward(inp, *a, **kw)

    monkeypatch.setattr(model.net, "forward", picky)
    again = model.run_tiled(x, mask=mask, tile=0, precision="fp32")
    assert float((again - nchw).abs().max()) < 1e-5 and not model._nhwc_ok
