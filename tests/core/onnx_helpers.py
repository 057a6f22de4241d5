"""Shared check for the generator ONNX tests: save a net as a model file, export it to ONNX and
compare onnxruntime's output with torch's on the same latents."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch


def assert_onnx_matches(tmp_path: Path, net, meta: dict, latents: torch.Tensor, tol: float = 1e-4) -> None:
    pytest.importorskip("onnxruntime")
    import onnxruntime as ort

    from imgen_desktop.core.export import export_onnx
    from imgen_desktop.core.store import save_model_file

    path = tmp_path / "net.safetensors"
    save_model_file(path, net.state_dict(), meta)
    sess = ort.InferenceSession(str(export_onnx(path, tmp_path / "net.onnx")))
    got = sess.run(None, {sess.get_inputs()[0].name: latents.numpy()})[0]
    with torch.no_grad():
        want = net(latents).numpy()
    assert np.abs(got - want).max() < tol
