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


def clean_params(arch: Architecture, meta: dict[str, Any]) -> dict[str, Any]:
    """The architecture parameters of checked metadata, bounded (``core.models.specs``)."""
    from imgen_desktop.core.models.specs import SPECS, check_params

    if arch.id in SPECS:
        return check_params(meta)
    return dict(meta.get("arch_params", {}))


def build_from_meta(meta: dict[str, Any]):
    arch = get(meta["arch"])
    return arch.build_network(clean_params(arch, meta))


def expected_tensors(arch: Architecture, params: dict[str, Any]) -> dict[str, tuple[tuple[int, ...], str]]:
    """Names, shapes and dtype kinds of the weights ``arch`` built from ``params`` needs.

    The network is built on torch's "meta" device: shapes only, no memory for the weights
    (the parameters are already bounded, so the number of layers is small).
    """
    import torch

    with torch.device("meta"):
        net = arch.build_network(params)
    return {
        k: (tuple(v.shape), "float" if v.is_floating_point() else str(v.dtype).replace("torch.int", "I").replace("torch.uint", "U"))
        for k, v in net.state_dict().items()
    }


def validate_model_file(path: str | Path) -> tuple[Architecture, dict[str, Any], dict[str, Any]]:
    """``(architecture, clean parameters, metadata)`` of a model file that will load; ModelError otherwise.

    Everything is decided from the header: metadata types and ranges, bounded architecture
    parameters, and the tensors present against those the network needs. No weight is read
    and no real network is built, so a hostile file costs no more than its header.
    """
    from imgen_desktop.core.models.files import check_tensors, parse_meta, read_header

    path = Path(path)
    strings, present = read_header(path)
    meta = parse_meta(path.name, strings)
    try:
        arch = get(meta["arch"])
        params = clean_params(arch, meta)
        if meta["family"] != arch.family or meta["task"] not in arch.tasks:
            raise ModelError(f"the architecture {arch.id!r} cannot do {meta['family'].upper()} {meta['task']}")
    except ModelError as exc:
        raise ModelError(f"{path.name}: {exc}") from None
    try:
        expected = expected_tensors(arch, params)
    except Exception as exc:  # noqa: BLE001 - a parameter combination the builder refuses
        first = str(exc).strip().splitlines()[0][:160] if str(exc).strip() else type(exc).__name__
        raise ModelError(f"{path.name}: its architecture parameters cannot be built ({first})") from None
    check_tensors(path.name, expected, present)
    return arch, params, meta


def load_network(path: str | Path, device: str = "cpu"):
    """Rebuild a network from a model file's metadata and load its weights (no pickle).

    The file is validated first (:func:`validate_model_file`), so memory is bounded by the
    file's own size whatever its header says.
    """
    from safetensors.torch import load_file

    from imgen_desktop.core.models.files import short

    arch, params, meta = validate_model_file(path)
    try:
        tensors = load_file(str(path), device="cpu")
    except Exception as exc:  # noqa: BLE001
        raise ModelError(f"{Path(path).name}: weights could not be read ({short(exc)})") from None
    net = arch.build_network(params)
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
