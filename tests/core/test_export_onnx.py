"""ONNX export (``imgen models export NAME OUT.onnx``): every enhancement model, ours and
imported, runs in onnxruntime at a size other than the export example's (non-square, dynamic
height/width) and matches torch."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from imgen_desktop import cli
from imgen_desktop.core import export
from imgen_desktop.core.enhance import builtin_path, open_model
from imgen_desktop.core.errors import ModelError
from imgen_desktop.core.models import restore
from imgen_desktop.core.store import ModelStore

ort = pytest.importorskip("onnxruntime")  # the test extra

H, W = 44, 62  # not the 64x64 export example, not square


def _run_onnx(path, feeds):
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {k: v.numpy() for k, v in feeds.items()})[0]


def _store_tiny(name, cls, arch, **params):
    torch.manual_seed(0)
    net = cls(**params)
    meta = {"family": arch.split(".")[0], "task": params["task"], "scale": params.get("scale", 1),
            "channels": 3, "arch": arch, "arch_params": params}
    ModelStore().save(name, net.state_dict(), meta)


def _export(name, tmp_path, capsys):
    out = tmp_path / f"{name}.onnx"
    assert cli.main(["models", "export", name, str(out)]) == 0
    assert out.is_file() and "Traceback" not in capsys.readouterr().err
    return out


@pytest.mark.parametrize("builtin", ["upscale-x2", "upscale-x4", "denoise", "inpaint"])
def test_builtin_models_export_and_match_torch(builtin, tmp_path, capsys):
    ModelStore().import_file(builtin_path(builtin), name=builtin)
    out = _export(builtin, tmp_path, capsys)
    model = open_model(builtin, "cpu")
    torch.manual_seed(1)
    x = torch.rand(1, 3, H, W)
    feeds = {"image": x}
    if model.task == "inpaint":
        mask = torch.zeros(1, 1, H, W)
        mask[..., 10:30, 20:40] = 1
        feeds["mask"] = mask
        want = model(x, mask=mask)
    elif model.supports_noise_level:
        feeds["noise_level"] = torch.tensor([25.0])
        want = model(x, noise_level=25.0)
    else:
        want = model(x)
    got = _run_onnx(out, feeds)
    assert got.shape == tuple(want.shape) == (1, 3, H * model.scale, W * model.scale)
    assert np.abs(got - want.numpy()).max() < 1e-4


@pytest.mark.parametrize("cls,arch,extra", [
    (restore.RestoreCVAE, "vae.restore", {"dec_blocks": 1, "latent": 4}),
    (restore.RestoreRNN, "rnn.restore", {"steps": 2}),
])
def test_vae_and_rnn_enhancers_export_with_odd_sizes(cls, arch, extra, tmp_path, capsys):
    params = {"channels": 3, "task": "denoise", "scale": 1, "width": 8, "blocks": 1, "unshuffle": 2,
              "dilations": [1], "noise_hint": False, **extra}
    _store_tiny("tiny", cls, arch, **params)
    out = _export("tiny", tmp_path, capsys)
    model = open_model("tiny", "cpu")
    x = torch.rand(2, 3, H + 1, W - 1)  # odd: the graph pads to the net's multiple itself
    got = _run_onnx(out, {"image": x})
    assert got.shape == (2, 3, H + 1, W - 1)
    xe = x[..., :H, : W - 2]  # even: the canvas's own padding is not involved
    assert np.abs(_run_onnx(out, {"image": xe}) - model(xe).numpy()).max() < 1e-4


def test_imported_community_model_exports(tmp_path, capsys):
    from imgen_desktop.core import community

    community._spandrel()
    from spandrel.architectures.Compact import Compact

    torch.manual_seed(0)
    torch.save(Compact(num_feat=8, num_conv=2, upscale=2).state_dict(), str(tmp_path / "compact.pth"))
    ModelStore().import_file(tmp_path / "compact.pth")
    out = _export("compact", tmp_path, capsys)
    x = torch.rand(1, 3, H, W)
    got = _run_onnx(out, {"image": x})
    assert np.abs(got - open_model("compact", "cpu")(x).numpy()).max() < 1e-4
    import onnx

    props = {p.key: p.value for p in onnx.load(str(out)).metadata_props}
    assert props["imgen.spandrel_arch"] == "Compact" and props["imgen.scale"] == "2"


def test_without_onnx_the_error_is_one_sentence(tmp_path, monkeypatch):
    ModelStore().import_file(builtin_path("upscale-x2"), name="x2")
    monkeypatch.setattr(export, "onnx_available", lambda: False)
    with pytest.raises(ModelError, match="needs the 'onnx' package"):
        ModelStore().export("x2", tmp_path / "x2.onnx")
    assert not (tmp_path / "x2.onnx").exists()
