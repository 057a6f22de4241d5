"""Community models (ESRGAN, Real-ESRGAN Compact, SwinIR, SCUNet, LaMa, RestoreFormer, …) through
spandrel: import, store and run them exactly like our own models.

* :func:`import_model` reads a ``.pth/.pt/.ckpt`` file with ``torch.load(weights_only=True)``
  only (a pickle that would build any object other than tensors and plain containers is
  refused before any of its code runs) or a ``.safetensors`` file with safetensors, lets
  spandrel detect the architecture and its hyper-parameters, and stores the model as one of
  our ``.safetensors`` files: the canonical state dict plus our metadata (family = the
  architecture, task from its purpose, scale, channels, size needs, tiling, dtypes and the
  measured receptive radius that tiling uses as its halo).
* :func:`open_image_model` rebuilds it (spandrel detects the same architecture from the stored
  weights) and wraps the spandrel descriptor in :class:`CommunityImageModel`, an
  :class:`core.enhance.ImageModel`, so tiling, alpha, 16-bit, ICC/EXIF, cancel, out-of-memory
  retry and self-ensemble passes are the canvas's and the CLI's usual ones.

spandrel imports torchvision for two helpers (LaMa's rotation, RestoreFormer's normalisation).
Where torchvision is missing or cannot load its compiled ops (PyPI's CUDA wheel beside a CPU
build of torch fails with "operator torchvision::nms does not exist"), :func:`_spandrel`
provides exactly those helpers from torch itself before importing spandrel.
"""
from __future__ import annotations

import pickle
import sys
import types
from pathlib import Path
from typing import Any

from imgen_desktop.core.errors import ImgenError, ModelError

ARCH = "spandrel"  # our architecture id for every imported community model
SUFFIXES = (".pth", ".pt", ".ckpt", ".safetensors")
MAX_RADIUS = 96  # cap of the tiling halo (input pixels); larger receptive fields are blended
PROBE = 2 * MAX_RADIUS + 32  # side of the probe image that measures the receptive radius
FACES_TASK = "faces"
_PURPOSE_TASK = {"Inpainting": "inpaint", "FaceSR": FACES_TASK, "Restoration": "denoise"}


def is_community(meta: dict[str, Any]) -> bool:
    return meta.get("arch") == ARCH


# --- spandrel, with a torch-only stand-in for the two torchvision helpers it uses -----------

def _torchvision_stand_in() -> None:
    import torch
    import torch.nn.functional as F

    class InterpolationMode:
        NEAREST, BILINEAR, BICUBIC = "nearest", "bilinear", "bicubic"

    def normalize(tensor, mean, std, inplace=False):
        mean_t = torch.as_tensor(mean, dtype=tensor.dtype, device=tensor.device).view(-1, 1, 1)
        std_t = torch.as_tensor(std, dtype=tensor.dtype, device=tensor.device).view(-1, 1, 1)
        return tensor.sub_(mean_t).div_(std_t) if inplace else (tensor - mean_t) / std_t

    def rotate(img, angle, interpolation=InterpolationMode.NEAREST, expand=False, center=None, fill=None):
        """Counter-clockwise rotation about the centre, same size (what LaMa's wrapper needs)."""
        if expand or center is not None:
            raise NotImplementedError("rotate(expand/center) needs torchvision")
        a = torch.deg2rad(torch.as_tensor(angle, dtype=img.dtype, device=img.device)).reshape(())
        cos, sin = torch.cos(a), torch.sin(a)
        h, w = img.shape[-2:]
        zero = torch.zeros_like(cos)
        theta = torch.stack([torch.stack([cos, sin * h / w, zero]), torch.stack([-sin * w / h, cos, zero])])
        grid = F.affine_grid(theta[None].expand(img.shape[0], 2, 3), list(img.shape), align_corners=False)
        mode = "bilinear" if str(interpolation).lower().endswith("bilinear") else "nearest"
        return F.grid_sample(img, grid, mode=mode, padding_mode="zeros", align_corners=False)

    tv = types.ModuleType("torchvision")
    tv.__path__ = []  # a package, so its submodules import
    transforms = types.ModuleType("torchvision.transforms")
    transforms.__path__ = []
    functional = types.ModuleType("torchvision.transforms.functional")
    functional.InterpolationMode, functional.normalize, functional.rotate = InterpolationMode, normalize, rotate
    tv.transforms, transforms.functional = transforms, functional
    tv.__imgen_stand_in__ = True
    sys.modules.update({"torchvision": tv, "torchvision.transforms": transforms,
                        "torchvision.transforms.functional": functional})


def _spandrel():
    """Import spandrel (see the module docstring for the torchvision stand-in)."""
    try:
        import torchvision.transforms.functional  # noqa: F401
    except Exception:  # noqa: BLE001 - ImportError, or RuntimeError from its compiled ops
        for key in [k for k in sys.modules if k == "torchvision" or k.startswith("torchvision.")]:
            del sys.modules[key]
        _torchvision_stand_in()
    try:
        import spandrel
    except ImportError:
        raise ModelError("importing community models needs the 'spandrel' package, which is missing "
                         "from this installation") from None
    return spandrel


# --- reading files ---------------------------------------------------------------------------

def read_state_dict(path: str | Path) -> dict[str, Any]:
    """A weights file -> its (canonical) state dict. Never runs code from the file."""
    import torch

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise ModelError(f"{path.name}: not a model file (use {', '.join(SUFFIXES)})")
    if not path.is_file():
        raise ModelError(f"model file not found: {path}")
    try:
        if suffix == ".safetensors":
            from safetensors.torch import load_file

            state = load_file(str(path), device="cpu")
        else:
            state = torch.load(str(path), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        raise ModelError(f"{path.name} was refused: it is not a plain weights file (its pickle would run "
                         "code or build objects other than tensors), and it was not loaded") from None
    except OSError as exc:
        raise ModelError(f"{path.name} could not be read ({exc.strerror or exc})") from None
    except Exception as exc:  # noqa: BLE001 - zip/pickle/safetensors format errors
        raise ModelError(f"{path.name} is not a readable PyTorch or safetensors weights file "
                         f"({_first_line(exc)})") from None
    if not isinstance(state, dict):
        raise ModelError(f"{path.name} holds no state dict (a {type(state).__name__}); "
                         "only weights files of known architectures can be imported")
    state = _spandrel().canonicalize_state_dict(state)
    tensors = {k: v for k, v in state.items() if isinstance(v, torch.Tensor)}
    if not tensors:
        raise ModelError(f"{path.name} holds no weights")
    return tensors


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return (text.splitlines()[0] if text else type(exc).__name__)[:160]


def _load(state: dict, name: str):
    spandrel = _spandrel()
    try:
        return spandrel.MAIN_REGISTRY.load(state)
    except spandrel.UnsupportedModelError:
        raise ModelError(f"{name} is not an Imgen Desktop model, nor a community model of an architecture "
                         "that spandrel recognises (unknown or unsupported architecture)") from None
    except Exception as exc:  # noqa: BLE001 - a recognised architecture whose weights do not fit
        raise ModelError(f"{name}: the architecture was recognised but its weights do not fit "
                         f"({_first_line(exc)})") from None


# --- metadata --------------------------------------------------------------------------------

def _task_of(desc) -> str:
    if desc.purpose == "SR":
        return "upscale" if int(desc.scale) > 1 else "denoise"
    return _PURPOSE_TASK.get(desc.purpose, "denoise")


def _tileable(desc, task: str) -> bool:
    """Tiled with a measured halo only where spandrel says tiling is fine; architectures it
    discourages tiling for (global or shifted-window attention: SwinIR, SCUNet, …), inpainting
    and face restoration see the whole image (tiles only after an out-of-memory error)."""
    return task in ("upscale", "denoise") and desc.tiling.name == "SUPPORTED"


def measure_radius(desc) -> int:
    """The receptive radius (input pixels) of the network, measured: the gradient of one
    output pixel in the middle of a random probe image reaches this far into the input
    (relative threshold 1e-6). Capped at :data:`MAX_RADIUS`."""
    import torch

    req = desc.size_requirements
    m = max(1, int(req.multiple_of))
    side = max(PROBE, int(req.minimum)) // m * m + m
    model = desc.model
    try:
        x = torch.rand(1, int(desc.input_channels), side, side, dtype=desc.dtype, requires_grad=True)
        with torch.enable_grad():
            y = model(x)
            if isinstance(y, (tuple, list)):
                y = y[0]
            s = int(desc.scale)
            c = side // 2
            y[..., c * s, c * s].sum().backward()
        g = x.grad.abs().sum(dim=(0, 1))
    except Exception:  # noqa: BLE001 - an architecture that cannot be probed keeps the default
        return 32
    finally:
        model.zero_grad(set_to_none=True)
    ys, xs = torch.nonzero(g > g.max() * 1e-6, as_tuple=True)
    if ys.numel() == 0:
        return 0
    reach = int(max((ys - c).abs().max(), (xs - c).abs().max()))
    if reach >= side // 2 - m:
        return MAX_RADIUS
    return min(MAX_RADIUS, reach + 1)


def describe(desc, source: str) -> dict[str, Any]:
    """Our metadata for a spandrel descriptor."""
    task = _task_of(desc)
    if int(desc.input_channels) != int(desc.output_channels):
        raise ModelError(f"{source}: {desc.architecture.name} turns {desc.input_channels}-channel images into "
                         f"{desc.output_channels}-channel ones, which the canvas does not support")
    if task == "upscale" and int(desc.scale) not in (2, 4):
        raise ModelError(f"{source}: a x{desc.scale} {desc.architecture.name} model; the canvas takes x2 and x4 "
                         "upscalers (and x1 restoration models)")
    req = desc.size_requirements
    tileable = _tileable(desc, task)
    params = {
        "spandrel_arch": desc.architecture.id,
        "purpose": desc.purpose,
        "tags": list(desc.tags),
        "size_multiple": int(req.multiple_of),
        "size_minimum": int(req.minimum),
        "square": bool(req.square),
        "tiling": desc.tiling.name.lower() if tileable else "whole-image",
        "radius": measure_radius(desc) if tileable else 0,  # whole-image: no halo around it
        "supports_half": bool(desc.supports_half),
        "supports_bfloat16": bool(desc.supports_bfloat16),
    }
    return {
        "family": desc.architecture.id,
        "task": task,
        "scale": int(desc.scale) if task == "upscale" else 1,
        "channels": int(desc.input_channels),
        "arch": ARCH,
        "arch_params": params,
        "source": source,
        "dataset": "",
        "steps": 0,
    }


# --- import / load ---------------------------------------------------------------------------

def import_model(store, src: str | Path, name: str | None = None):
    """Import a community weights file into ``store``; returns the new ModelInfo."""
    from imgen_desktop.core.store import validate_name

    src = Path(src)
    state = read_state_dict(src)
    desc = _load(state, src.name).eval()  # eval first: probing in train mode would move BatchNorm stats
    meta = describe(desc, src.name)
    name = validate_name(name or src.stem)
    if store.exists(name):
        raise ModelError(f"a model named {name!r} already exists; choose another name")
    tensors = {k: v.detach().clone() for k, v in desc.model.state_dict().items()}
    return store.save(name, tensors, meta)


def load_descriptor(path: str | Path, device: str = "cpu"):
    """A stored community model -> (spandrel descriptor on ``device``, meta)."""
    from imgen_desktop.core.store import load_model_file

    path = Path(path)
    tensors, meta = load_model_file(path, "cpu")
    desc = _load(tensors, path.name)
    expected = meta.get("arch_params", {}).get("spandrel_arch")
    if desc.architecture.id != expected:
        raise ModelError(f"{path.name}: its weights are {desc.architecture.id}, but it was imported as {expected}")
    return desc.to(device).eval(), meta


def raw_call(desc):
    """``(module, fn)`` with ``fn(module, image[, mask])`` the architecture's own call, without
    spandrel's padding or inference mode (for tracing / ONNX export)."""
    fn = getattr(desc, "_call_fn", None)
    if fn is None:
        fn = lambda model, *inputs: model(*inputs)  # noqa: E731
    return desc.model, fn


class _DescriptorNet:
    """What :class:`ImageModel` expects of a net: ``scale``, ``channels``, ``pad_multiple``,
    ``radius`` and ``net(x)``, where inpaint input carries the mask as its last channel."""

    def __init__(self, desc, meta: dict[str, Any]) -> None:
        params = meta.get("arch_params", {})
        self.desc = desc
        self.task = meta["task"]
        self.scale = int(desc.scale) if self.task == "upscale" else 1
        self.channels = int(desc.input_channels)
        self.pad_multiple = max(1, int(params.get("size_multiple", 1)))
        self.radius = int(params.get("radius", 0))
        self.minimum = int(params.get("size_minimum", 0))

    def __call__(self, x, **_):
        import torch

        x = x.to(self.desc.dtype)
        outs = []
        for i in range(x.shape[0]):  # spandrel's call takes one image at a time
            if self.task == "inpaint":
                img, mask = x[i : i + 1, : self.channels], (x[i : i + 1, self.channels :] > 0.5).to(x.dtype)
                outs.append(self.desc(img, mask))
            else:
                outs.append(self.desc(x[i : i + 1]))
        return torch.cat(outs, 0)


def _image_model_class():
    from imgen_desktop.core.enhance import ImageModel

    class CommunityImageModel(ImageModel):
        """An imported model on the canvas / in the CLI. Architectures that must see the whole
        image (inpainting, face restoration, spandrel's tiling "discouraged") run untiled."""

        def __init__(self, desc, meta, device, spec="", path="") -> None:
            super().__init__(_DescriptorNet(desc, meta), meta, device, spec=spec, path=path)
            params = meta.get("arch_params", {})
            self.descriptor = desc
            self.architecture = desc.architecture.id
            self.tileable = params.get("tiling") != "whole-image"
            self.composites = False  # its output outside the hole is not known to be the input
            self.dtypes = ("float32",) + (("bfloat16",) if desc.supports_bfloat16 else ()) + (
                ("float16",) if desc.supports_half else ())

        def resolve_precision(self, precision=None):
            """The app's precision choice, fp32 where the architecture does not support it."""
            prec = super().resolve_precision(precision)
            if (prec.name == "bf16" and not self.descriptor.supports_bfloat16) or (
                    prec.name == "fp16" and not self.descriptor.supports_half):
                import dataclasses

                # what fp32 is on this device (on a CPU: the layout its probe chose), with a note
                return dataclasses.replace(super().resolve_precision("fp32"),
                                           note=f"{self.architecture} does not support {prec.name}")
            return prec

        def _round_tile(self, tile: int) -> int:
            return max(super()._round_tile(tile), self.net.minimum)

        def run_tiled(self, x, mask=None, tile=None, **kwargs):
            return super().run_tiled(x, mask=mask, tile=tile if self.tileable else 0, **kwargs)

    return CommunityImageModel


def open_image_model(path: str | Path, device, spec: str = ""):
    """The canvas / CLI model object for a stored community model (see the module docstring)."""
    desc, meta = load_descriptor(path, str(device))
    if meta.get("task") not in ("upscale", "denoise", "inpaint", FACES_TASK):
        raise ImgenError(f"{Path(path).name} is not an enhancement model")
    return _image_model_class()(desc, meta, device, spec=spec, path=str(path))


def is_foreign(path: str | Path) -> bool:
    """Whether ``path`` is for :func:`import_model` rather than a plain copy into the store: a
    ``.pth/.pt/.ckpt`` file, a readable ``.safetensors`` file without our metadata, or an
    exported community model (ours, architecture ``spandrel``: detected again on import)."""
    import json

    from imgen_desktop.core.models.files import META_KEY, read_header

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in (".pth", ".pt", ".ckpt"):
        return True
    if suffix != ".safetensors" or not path.is_file():
        return False
    try:
        strings, _ = read_header(path)
    except ModelError:
        return False  # the store's own reader reports what is wrong with it
    if META_KEY not in strings:
        return True
    try:
        return json.loads(strings[META_KEY]).get("arch") == ARCH
    except (ValueError, AttributeError, RecursionError):
        return False
