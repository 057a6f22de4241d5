"""ONNX export of model files: ours (generate and enhancement) and imported community models.

One function, :func:`export_onnx`, used by ``imgen models export NAME OUT.onnx`` (through
``ModelStore.export``) and the Models tab. It uses torch's TorchScript-based exporter
(``torch.onnx.export(..., dynamo=False)``), which needs only the ``onnx`` package (a run-time
dependency, about 14 MB installed without its test data); the newer torch.export-based exporter
would also need ``onnxscript``.

What the exported graph takes and returns (also written into the file's ``metadata_props``):

* enhancement models: input ``image`` (N, C, H, W) float32 in [0, 1], any height and width
  (padding to the multiple the network needs happens inside the graph); inpainting models take
  a second input ``mask`` (N, 1, H, W), 1 = fill; denoisers made by Imgen Desktop take a second
  input ``noise_level`` (N,) — the noise sigma on the 0..255 scale. Output ``output``
  (N, C, H*scale, W*scale) in [0, 1].
* generative models: input ``latent`` (N, *latent_shape), output ``image`` in [-1, 1].
"""
from __future__ import annotations

import importlib.util
import json
import warnings
from pathlib import Path
from typing import Any

from imgen_desktop.core.errors import ModelError

EXAMPLE_SIDE = 64  # the example input's side; height and width stay dynamic
OPSET = 17


def onnx_available() -> bool:
    """Whether ONNX export can run here (the ``onnx`` package is importable)."""
    return importlib.util.find_spec("onnx") is not None


def _pad_to(x, multiple: int):
    import torch.nn.functional as F

    if multiple <= 1:
        return x
    h, w = x.shape[-2], x.shape[-1]
    ph, pw = (multiple - h % multiple) % multiple, (multiple - w % multiple) % multiple
    # reflect, as the app's own whole-image call pads (core.enhance.ImageModel.__call__), so the
    # exported graph gives the app's result at the right and bottom borders too
    return F.pad(x, (0, pw, 0, ph), mode="reflect")


def _wrappers():
    """The nn.Module wrappers (defined lazily so importing this module does not import torch)."""
    from torch import nn

    class EnhanceGraph(nn.Module):
        """Our enhancement nets: pad to the multiple, run, crop, clamp; mask / noise as inputs."""

        def __init__(self, net, task: str, scale: int, multiple: int, noise_hint: bool) -> None:
            super().__init__()
            self.net, self.task, self.scale, self.multiple, self.noise_hint = net, task, scale, multiple, noise_hint

        def forward(self, image, extra=None):
            import torch

            h, w = image.shape[-2], image.shape[-1]
            x = torch.cat([image, extra], 1) if self.task == "inpaint" else image
            x = _pad_to(x, self.multiple)
            y = self.net(x, noise_level=extra) if self.noise_hint else self.net(x)
            return y[..., : h * self.scale, : w * self.scale].clamp(0, 1)

    class CommunityGraph(nn.Module):
        """An imported (spandrel) model: the architecture's own call, padding, crop, clamp."""

        def __init__(self, model, fn, inpaint: bool, scale: int, multiple: int) -> None:
            super().__init__()
            self.model, self.fn = model, fn
            self.inpaint, self.scale, self.multiple = inpaint, scale, multiple

        def forward(self, image, mask=None):
            h, w = image.shape[-2], image.shape[-1]
            x = _pad_to(image, self.multiple)
            if self.inpaint:
                y = self.fn(self.model, x, (_pad_to(mask, self.multiple) > 0.5).to(x.dtype))
            else:
                y = self.fn(self.model, x)
            return y[..., : h * self.scale, : w * self.scale].clamp(0, 1)

    return EnhanceGraph, CommunityGraph


def _graph(path: Path) -> tuple[Any, tuple, list[str], list[str], dict, dict[str, str]]:
    """-> (module, example inputs, input names, output names, dynamic axes, metadata)."""
    import torch

    from imgen_desktop.core import community
    from imgen_desktop.core.models import load_network
    from imgen_desktop.core.store import read_meta

    meta = read_meta(path)
    task = str(meta.get("task"))
    info = {"imgen.task": task, "imgen.family": str(meta.get("family", "")), "imgen.arch": str(meta.get("arch", ""))}
    dyn_img = {0: "batch", 2: "height", 3: "width"}
    EnhanceGraph, CommunityGraph = _wrappers()
    if community.is_community(meta):
        desc, meta = community.load_descriptor(path, "cpu")
        params = meta.get("arch_params", {})
        channels = int(meta.get("channels", 3))
        inpaint = task == "inpaint"
        scale = int(meta.get("scale", 1) or 1)
        module = CommunityGraph(*community.raw_call(desc), inpaint, scale, int(params.get("size_multiple", 1) or 1))
        side = max(EXAMPLE_SIDE, int(params.get("size_minimum", 0) or 0))
        example: tuple = (torch.rand(1, channels, side, side),)
        names = ["image"]
        if inpaint:
            example += ((torch.rand(1, 1, side, side) > 0.7).float(),)
            names.append("mask")
        info["imgen.spandrel_arch"] = str(params.get("spandrel_arch", ""))
    elif task == "generate":
        net, meta = load_network(path)
        module = net
        example = (torch.zeros((1, *net.latent_shape)),)
        info["imgen.latent_shape"] = json.dumps(list(net.latent_shape))
        return module, example, ["latent"], ["image"], {"latent": {0: "batch"}, "image": {0: "batch"}}, info
    else:
        net, meta = load_network(path)
        channels = int(getattr(net, "channels", meta.get("channels", 3)))
        scale = int(getattr(net, "scale", meta.get("scale", 1)) or 1)
        noise_hint = bool(getattr(net, "noise_hint", False))
        module = EnhanceGraph(net, task, scale, int(getattr(net, "pad_multiple", 1) or 1), noise_hint)
        example = (torch.rand(1, channels, EXAMPLE_SIDE, EXAMPLE_SIDE),)
        names = ["image"]
        if task == "inpaint":
            example += ((torch.rand(1, 1, EXAMPLE_SIDE, EXAMPLE_SIDE) > 0.7).float(),)
            names.append("mask")
        elif noise_hint:
            example += (torch.full((1,), 25.0),)
            names.append("noise_level")
    info.update({"imgen.scale": str(scale), "imgen.channels": str(channels),
                 "imgen.inputs": ", ".join(names), "imgen.range": "[0, 1]"})
    axes = {"image": dyn_img, "output": {0: "batch", 2: "out_height", 3: "out_width"}}
    if "mask" in names:
        axes["mask"] = dyn_img
    if "noise_level" in names:
        axes["noise_level"] = {0: "batch"}
    return module, example, names, ["output"], axes, info


def export_onnx(path: str | Path, out: str | Path) -> Path:
    """Convert the model file ``path`` to ONNX at ``out`` (written atomically); returns ``out``.

    Raises ModelError (one sentence) when onnx is missing or the architecture does not export.
    """
    from imgen_desktop.core.atomic import atomic_path

    path, out = Path(path), Path(out)
    if not onnx_available():
        raise ModelError("ONNX export needs the 'onnx' package, which is missing from this installation "
                         "(pip install onnx); "
                         "export .safetensors instead")
    import onnx
    import torch

    module, example, inputs, outputs, axes, info = _graph(path)
    module.eval()
    try:
        with atomic_path(out) as tmp, torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation and tracer warnings
            torch.onnx.export(module, example, str(tmp), input_names=inputs, output_names=outputs,
                              dynamic_axes=axes, opset_version=OPSET, dynamo=False)
            model = onnx.load(str(tmp))
            for key, value in info.items():
                model.metadata_props.add(key=key, value=value)
            onnx.save(model, str(tmp))
    except ModelError:
        raise
    except OSError as exc:
        raise ModelError(f"could not write {out}: {exc.strerror or exc}") from None
    except Exception as exc:  # noqa: BLE001 - exporter failures come in many types
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        raise ModelError(f"{path.stem} could not be converted to ONNX (its architecture does not export: {first})") from None
    return out
