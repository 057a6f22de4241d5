"""The architecture registry: metadata -> network, and (family, task) -> training recipe.

An explicit list (no import-time magic): each family module exposes ``ARCHITECTURES``, a list
of :class:`Architecture`; :func:`_load` registers them once and rejects duplicate ids.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from imgen_desktop.core.errors import ModelError


@dataclass(frozen=True)
class Architecture:
    id: str  # e.g. "gan.dcgan", "vae.conv", "rnn.draw", "gan.restore"
    family: str
    tasks: tuple[str, ...]
    build_network: Callable[[dict[str, Any]], Any]  # arch hyper-params -> inference nn.Module
    recipe: type  # a core.models.base.Recipe subclass


_REGISTRY: dict[str, Architecture] = {}
_LOADED = False


def register(arch: Architecture) -> None:
    if arch.id in _REGISTRY:
        raise ValueError(f"duplicate architecture id {arch.id!r}")
    _REGISTRY[arch.id] = arch


def _load() -> None:
    global _LOADED
    if _LOADED:
        return
    _LOADED = True
    # The explicit list of family modules. Add new ones here.
    from imgen_desktop.core.models import gan, rnn, vae  # noqa: F401

    modules = [gan, vae, rnn]
    try:
        from imgen_desktop.core.models import restore  # enhancement nets of all three families
        modules.append(restore)
    except ImportError:
        pass
    for module in modules:
        for arch in getattr(module, "ARCHITECTURES", []):
            register(arch)


def architectures() -> list[Architecture]:
    _load()
    return list(_REGISTRY.values())


def get(arch_id: str) -> Architecture:
    _load()
    try:
        return _REGISTRY[arch_id]
    except KeyError:
        raise ModelError(f"unknown architecture {arch_id!r} (made by a newer Imgen Desktop?)") from None


def for_training(family: str, task: str) -> Architecture:
    _load()
    for arch in _REGISTRY.values():
        if arch.family == family and task in arch.tasks:
            return arch
    raise ModelError(f"no {family.upper()} architecture for the task {task!r}")


def build_from_meta(meta: dict[str, Any]):
    arch = get(meta["arch"])
    return arch.build_network(dict(meta.get("arch_params", {})))


def load_network(path: str | Path, device: str = "cpu"):
    """Rebuild a network from a model file's metadata and load its weights (no pickle)."""
    from imgen_desktop.core.store import load_model_file

    tensors, meta = load_model_file(path, "cpu")
    net = build_from_meta(meta)
    try:
        net.load_state_dict(tensors, strict=True)
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()[0][:200]
        raise ModelError(f"{Path(path).name}: weights do not match its architecture ({first})") from None
    net.eval()
    return net.to(device), meta


def export_onnx(path: str | Path, out: str | Path) -> Path:
    """Export a model file's inference network to ONNX (needs the optional ``onnx`` package)."""
    import torch

    from imgen_desktop.core.atomic import atomic_path

    net, meta = load_network(path)
    if meta["task"] == "generate":
        example = torch.zeros((1, *net.latent_shape))
        names = (["latent"], ["image"])
    else:
        channels = int(meta.get("channels", 3)) + (1 if meta["task"] == "inpaint" else 0)
        example = torch.zeros((1, channels, 64, 64))
        names = (["image"], ["output"])
    out = Path(out)
    try:
        with atomic_path(out) as tmp:
            torch.onnx.export(
                net, (example,), str(tmp), input_names=names[0], output_names=names[1],
                dynamic_axes={names[0][0]: {0: "batch", 2: "height", 3: "width"}} if meta["task"] != "generate" else {names[0][0]: {0: "batch"}},
                dynamo=False,
            )
    except (ImportError, torch.onnx.OnnxExporterError) as exc:
        # torch raises its own OnnxExporterError("Module onnx is not installed!") for the missing package
        if isinstance(exc, ImportError) or "not installed" in str(exc):
            raise ModelError("ONNX export needs the 'onnx' package, which is not installed; "
                             "install it with pip install onnx (or export .safetensors)") from None
        raise ModelError(f"ONNX export failed: {exc}") from None
    return out
