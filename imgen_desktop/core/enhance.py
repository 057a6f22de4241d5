"""Apply enhancement models (upscale, denoise, inpaint) to photos: the one path the canvas and
the CLI share.

* :class:`ImageModel` is the model descriptor (like spandrel's ``ImageModelDescriptor``): it
  knows the task, scale, channels and dtypes of a network, validates input, pads to the
  multiple the net needs, runs under ``torch.inference_mode``, clamps and crops. Nothing
  outside this module touches the raw ``nn.Module``.
* :meth:`ImageModel.run_tiled` cuts big images into overlapping tiles: each tile carries a
  halo of context (the net's receptive radius, so its core is exact) and neighbouring cores
  overlap and are blended with feathered weights, so the result equals whole-image inference
  to well within 1/255. The tile size comes from free GPU memory on CUDA, a fixed default on
  CPU/MPS; out-of-memory retries with smaller tiles. Progress per tile, cancel per tile.
  The tiles stream (:mod:`core.tiling`): each tile's input is made from the photo's own
  pixels and finished rows go straight into the output photo's uint8/uint16 pixels, so no
  whole-image float copy exists (:meth:`ImageModel.run_stream`).
* :func:`enhance_photo` keeps what the photo carries: alpha (bicubic-upscaled with the
  pixels), grayscale (run as replicated gray through an RGB model, returned as one channel),
  16-bit depth (processed in float), ICC profile and EXIF.

Model specs: ``builtin:upscale-x2`` / ``builtin:upscale-x4`` / ``builtin:denoise`` /
``builtin:inpaint`` (files in ``resources/models/``; ``builtin:upscale-x2-sharp`` /
``builtin:upscale-x4-sharp`` where the installation has them), a model name from the store,
or a path to a ``.safetensors`` model file.
"""
from __future__ import annotations

import contextlib
import dataclasses
import glob
import math
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from imgen_desktop.core.batch import resolved_path as _resolved
from imgen_desktop.core.errors import Cancelled, ImgenError, ModelError

from imgen_desktop.core.tasks import TASKS_BY_NAME, ENHANCE_TASKS, output_tag, task_cli_title, task_title  # noqa: F401 (re-exported)


def task_needs_mask(name: str) -> bool:
    t = TASKS_BY_NAME.get(name)
    return bool(t and t.needs_mask)

BUILTIN_NAMES = ("upscale-x2", "upscale-x4", "denoise", "inpaint")  # shipped in every installation
# GAN-trained sharp upscalers (issue 17): listed next to their faithful sibling when their file
# is in resources/models/ (an installation without them simply does not offer them)
SHARP_BUILTIN_NAMES = ("upscale-x2-sharp", "upscale-x4-sharp")
ALL_BUILTIN_NAMES = ("upscale-x2", "upscale-x2-sharp", "upscale-x4", "upscale-x4-sharp", "denoise", "inpaint")
# one line on what a built-in is for, when its file's metadata has no "description"
BUILTIN_DESCRIPTIONS = {
    "upscale-x2": "Faithful: stays closest to the original (highest PSNR); edges can look soft.",
    "upscale-x4": "Faithful: stays closest to the original (highest PSNR); edges can look soft.",
    "upscale-x2-sharp": "Sharp: crisper edges and texture (GAN-trained); may invent detail.",
    "upscale-x4-sharp": "Sharp: crisper edges and texture (GAN-trained); may invent detail.",
}
BUILTIN_PREFIX = "builtin:"
CPU_TILE = 512  # input pixels per tile side on CPU / MPS
MIN_TILE = 32
MAX_TILE = 2048
NOISE_MAX_DEFAULT = 50  # the noise slider's end for a denoiser whose file does not record its training range
ProgressFn = Callable[[int, int], None]


# --- model choices ------------------------------------------------------------------------

@dataclass(frozen=True)
class ModelChoice:
    """One entry of the model picker, with what the model declares it can take.

    The canvas reads these flags only; it never opens the network or its hyper-parameters.
    """

    spec: str  # "builtin:upscale-x2" or a store name
    label: str
    task: str
    scale: int
    family: str
    builtin: bool
    path: str = ""
    takes_variation: bool = False  # samples a different plausible result from a seed (VAE)
    takes_noise_level: bool = False  # accepts a noise strength (denoise nets with a noise hint)
    noise_max: int = NOISE_MAX_DEFAULT  # the strongest noise (0..255 sigma) it was trained on: the slider's end
    description: str = ""  # one line on what the model is for (metadata "description"), may be empty

    @property
    def needs_mask(self) -> bool:
        return task_needs_mask(self.task)

    @property
    def title(self) -> str:
        """"Upscale ×2", "Denoise"."""
        return task_title(self.task, self.scale)

    @property
    def verb(self) -> str:
        """"Upscaling", "Denoising"."""
        t = TASKS_BY_NAME.get(self.task)
        return t.verb if t else "Enhancing"


def capabilities(meta: dict[str, Any]) -> dict[str, bool]:
    """What a model file declares it can take, from its header (no weights are read)."""
    params = meta.get("arch_params") or {}
    return {
        "takes_variation": bool(meta.get("takes_variation", "latent" in params or str(meta.get("arch", "")).startswith("vae."))),
        "takes_noise_level": bool(meta.get("takes_noise_level", params.get("noise_hint", False))),
    }


def trained_noise_max(meta: dict[str, Any]) -> int:
    """The strongest noise sigma (0..255) a denoiser was trained on, from its recorded training
    config (the built-in: 55); :data:`NOISE_MAX_DEFAULT` when the file does not say."""
    config = meta.get("config")
    value = config.get("noise_sigma") if isinstance(config, dict) else None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return NOISE_MAX_DEFAULT
    return int(min(255, max(5, round(value))))


def model_description(meta: dict[str, Any], default: str = "") -> str:
    """The metadata's one-line "description" (first line, at most 200 characters), or ``default``."""
    text = meta.get("description")
    if not isinstance(text, str) or not text.strip():
        return default
    line = text.strip().splitlines()[0]
    return line if len(line) <= 200 else line[:199] + "…"


def choice_for(spec: str, path: str | Path, meta: dict[str, Any], builtin: bool, label: str, description: str = "") -> ModelChoice:
    task, scale = str(meta.get("task", "")), int(meta.get("scale", 1) or 1)
    return ModelChoice(spec, label, task, scale if task == "upscale" else 1, str(meta.get("family", "")), builtin,
                       str(path), **capabilities(meta), noise_max=trained_noise_max(meta),
                       description=model_description(meta, description))


def builtin_path(name: str) -> Path:
    from imgen_desktop.core.paths import resource_path

    return resource_path("models", f"{name}.safetensors")


def _task_text(task: str, scale: int) -> str:
    return task_cli_title(task, scale)


def list_enhancement_models() -> list[ModelChoice]:
    """Built-ins first (those present in this installation), then the user's enhancement models."""
    from imgen_desktop.core.store import ModelStore, read_meta

    choices: list[ModelChoice] = []
    for name in ALL_BUILTIN_NAMES:
        path = builtin_path(name)
        try:
            meta = read_meta(path)
        except ModelError:
            continue
        task, scale = meta.get("task", ""), int(meta.get("scale", 1) or 1)
        sharp = ", sharp" if name in SHARP_BUILTIN_NAMES else ""
        label = f"{task_title(task, scale)}{sharp} (built-in)"
        choices.append(choice_for(BUILTIN_PREFIX + name, path, meta, True, label, BUILTIN_DESCRIPTIONS.get(name, "")))
    for info in ModelStore().list():
        if not info.ok or info.task not in ENHANCE_TASKS:
            continue
        label = f"{info.name} — {info.family.upper()} {task_title(info.task, info.scale)}"
        choices.append(choice_for(info.name, info.path, info.meta, info.builtin, label))
    return choices


def resolve_spec(spec: str) -> Path:
    """``builtin:NAME`` | store name | path -> the model file; ModelError if there is none."""
    from imgen_desktop.core.store import SUFFIX, ModelStore

    spec = (spec or "").strip()
    if not spec:
        raise ModelError("no model given: use builtin:upscale-x2, a model name or a .safetensors path")
    if spec.lower().startswith(BUILTIN_PREFIX):
        name = spec[len(BUILTIN_PREFIX):].strip().lower()
        if name not in ALL_BUILTIN_NAMES:
            raise ModelError(f"unknown built-in model {spec!r}; choose one of " + ", ".join(
                BUILTIN_PREFIX + n for n in ALL_BUILTIN_NAMES if n in BUILTIN_NAMES or builtin_path(n).is_file()))
        path = builtin_path(name)
        if not path.is_file():
            raise ModelError(f"the built-in model {spec!r} is missing from this installation ({path})")
        return path
    path = Path(spec).expanduser()
    if path.is_file():
        return path
    if spec.endswith(SUFFIX) or "/" in spec or "\\" in spec:
        raise ModelError(f"model file not found: {path}")
    store = ModelStore()
    try:
        return store.get(spec).path
    except ModelError:
        raise ModelError(
            f"no model named {spec!r}: give builtin:NAME, a name from 'imgen models list' or a .safetensors path"
        ) from None


# --- the descriptor -------------------------------------------------------------------------

class _OutOfMemory(Exception):
    pass


def _is_oom(exc: BaseException) -> bool:
    import torch

    oom = getattr(torch, "OutOfMemoryError", None) or torch.cuda.OutOfMemoryError
    text = str(exc).lower()
    return isinstance(exc, (oom, MemoryError)) or (
        isinstance(exc, RuntimeError) and any(w in text for w in ("out of memory", "can't allocate memory", "cannot allocate memory")))


class ImageModel:
    """An enhancement network with its metadata; call it on [0, 1] NCHW tensors."""

    def __init__(self, net, meta: dict[str, Any], device, spec: str = "", path: str = "") -> None:
        self.net = net
        self.meta = dict(meta)
        self.device = device
        self.spec = spec
        self.path = path
        self.task = str(meta.get("task"))
        if self.task not in ENHANCE_TASKS:
            raise ModelError(f"{spec or path} is a {self.task!r} model, not an enhancement model (it makes new images: generate with it instead)")
        self.scale = int(getattr(net, "scale", meta.get("scale", 1)) or 1) if self.task == "upscale" else 1
        self.channels = int(getattr(net, "channels", meta.get("channels", 3)))
        self.family = str(meta.get("family", ""))
        self.name = str(meta.get("name", spec))
        self.pad_multiple = int(getattr(net, "pad_multiple", 1) or 1)
        self.radius = int(getattr(net, "radius", 16))
        self.supports_variation = hasattr(net, "latent") and hasattr(net, "prior")
        self.supports_noise_level = bool(getattr(net, "noise_hint", False))
        self.dtypes = ("float32", "bfloat16", "float16")
        self.precision = "auto"  # auto | fp32 | bf16: what run_tiled / __call__ use unless told (core/precision.py)
        self.halo = int(math.ceil(self.radius / self.pad_multiple) * self.pad_multiple)
        self.tileable = True  # False: the network must see the whole image (run untiled)
        self.tile_batch = 1  # tiles per forward call (core/tiling.py)
        # our inpaint nets return the known pixels unchanged, so a tile with no hole in it is
        # its own result and is not run (an imported model may not: it clears this)
        self.composites = self.task == "inpaint"
        # a denoised result keeps the noisy photo's local mean colour (core/consistency.py): no
        # cast where the noise was clipped; costs one float copy of the photo while it runs
        self.mean_consistent = self.task == "denoise"
        self._layout = None  # the memory format the net's weights are in (set on first forward)
        self._nhwc_ok = True

    def __repr__(self) -> str:
        return f"ImageModel({self.spec!r}, task={self.task}, scale={self.scale}, channels={self.channels}, device={self.device})"

    @property
    def input_channels(self) -> int:
        return self.channels + (1 if self.task == "inpaint" else 0)

    # --- one forward pass ----------------------------------------------------------------
    def __call__(self, x, mask=None, noise_level=None, noise=None, precision: str | None = None):
        """Whole-tensor inference: ``x`` (N, C, H, W) float in [0, 1] -> (N, C, H*s, W*s).

        Pads (reflect) to the net's multiple and crops back; clamps to [0, 1]. ``mask``
        (N, 1, H, W), 1 = fill, is required for inpaint.
        """
        import torch
        import torch.nn.functional as F

        x = self._validate(x, mask)
        h, w = x.shape[-2:]
        m = self.pad_multiple
        ph, pw = (-h) % m, (-w) % m
        inp = torch.cat([x, mask.to(x)], 1) if self.task == "inpaint" else x
        if ph or pw:
            inp = F.pad(inp, (0, pw, 0, ph), mode="reflect" if ph < h and pw < w else "replicate")
        y = self._forward(inp, noise_level, noise, self.resolve_precision(precision))
        return y[..., : h * self.scale, : w * self.scale]

    def _validate(self, x, mask):
        import torch

        if not isinstance(x, torch.Tensor) or x.dim() != 4:
            raise ImgenError("the model needs a 4-D image tensor (N, C, H, W)")
        if x.shape[1] != self.channels:
            raise ImgenError(f"this model takes {self.channels}-channel images, not {x.shape[1]}")
        if not x.is_floating_point():
            raise ImgenError("the model needs float pixels in [0, 1]")
        if self.task == "inpaint":
            if mask is None:
                raise ImgenError("inpainting needs a mask (white = fill)")
            if tuple(mask.shape[-2:]) != tuple(x.shape[-2:]):
                raise ImgenError(f"the mask is {mask.shape[-1]}x{mask.shape[-2]} but the image is {x.shape[-1]}x{x.shape[-2]}")
        return x.float()

    def resolve_precision(self, precision: str | None = None):
        """The :class:`core.precision.Precision` a run uses (None = :attr:`precision`)."""
        from imgen_desktop.core.precision import resolve_precision

        return resolve_precision(precision or self.precision, self.device)

    def _forward(self, inp, noise_level=None, noise=None, prec=None):
        """One network pass; float32 in and out whatever precision the network runs in."""
        import torch

        kwargs: dict[str, Any] = {}
        if self.supports_noise_level:
            kwargs["noise_level"] = noise_level
        if noise is not None and self.supports_variation:
            kwargs["noise"] = noise.to(self.device)
        inp = inp.to(self.device)
        layout = torch.channels_last if prec is not None and prec.channels_last and self._nhwc_ok else torch.contiguous_format
        if layout is torch.channels_last:
            inp = inp.contiguous(memory_format=torch.channels_last)
        if self._layout is not layout:
            # the weights too, so every conv runs in that layout (an imported model: its
            # descriptor's module)
            module = self.net if isinstance(self.net, torch.nn.Module) else getattr(getattr(self.net, "desc", None), "model", None)
            if isinstance(module, torch.nn.Module):
                module.to(memory_format=layout)
            self._layout = layout
        try:
            with torch.inference_mode():
                with prec.autocast() if prec is not None else contextlib.nullcontext():
                    y = self.net(inp, **kwargs)
                y = y.float().clamp(0, 1).cpu()
        except Exception as exc:  # noqa: BLE001
            if layout is not torch.channels_last or _is_oom(exc):
                raise
            self._nhwc_ok = False  # a network with an op that does not take NHWC: NCHW from now on
            return self._forward(inp.contiguous(), noise_level, noise, prec)
        return y.contiguous().clone()  # a normal NCHW tensor, usable outside inference mode

    # --- tiling --------------------------------------------------------------------------
    def default_tile(self) -> int:
        """Tile side (input pixels): from free memory on CUDA, :data:`CPU_TILE` elsewhere."""
        import torch

        dev = torch.device(self.device)
        if dev.type != "cuda":
            return CPU_TILE
        try:
            free, _total = torch.cuda.mem_get_info(dev)
        except Exception:  # noqa: BLE001 - driver quirks: fall back to the CPU default
            return CPU_TILE
        width = int(getattr(self.net, "width", 64))
        u = int(getattr(self.net, "unshuffle", 1))
        # float32 activations alive at once: ~12 feature maps of the trunk + the output side
        per_px = 4 * (12 * width / (u * u) + 8 * self.channels * self.scale**2)
        side = int(math.sqrt(max(free * 0.5, 1) / per_px)) - 2 * self.halo
        return self._round_tile(side)

    def _round_tile(self, tile: int) -> int:
        m = self.pad_multiple
        return max(MIN_TILE, min(MAX_TILE, int(tile) // m * m))

    def noise_for(self, seed: int, height: int, width: int):
        """Latent noise for a whole (padded) input of ``height`` x ``width`` (VAE variations)."""
        import torch

        g = torch.Generator().manual_seed(int(seed))
        f = self.pad_multiple
        return torch.randn((1, int(self.net.latent), height // f, width // f), generator=g)

    @property
    def default_passes(self) -> int:
        return default_passes(self.task)

    def run_tiled(
        self, x, mask=None, tile: int | None = None, noise_level=None, variation_seed: int | None = None,
        progress: ProgressFn | None = None, token=None, passes: int | None = None, precision: str | None = None,
    ):
        """Tiled inference over ``x`` (N, C, H, W) in [0, 1] -> (N, C, H*s, W*s), on CPU.

        ``tile``: core size in input pixels (None: :meth:`default_tile`; 0: the whole image
        in one piece). Out-of-memory halves the tile and starts over. ``passes`` (1, 2 or 4;
        None = :attr:`default_passes`): the self-ensemble — the image is also run mirrored
        left-right (2) and upside down (4), each result mirrored back, and the results averaged;
        each pass costs a full run. Progress counts the tiles of all passes. ``precision``
        (auto | fp32 | bf16; None = :attr:`precision`): see :mod:`core.precision`; tiles are
        cast back to float32 before they are blended.
        """
        from imgen_desktop.core import tiling

        x = self._validate(x, mask)
        n, _c, h, w = x.shape
        sink = tiling.TensorSink(n, self.channels, h * self.scale, w * self.scale)
        source = tiling.TensorSource(x, mask if self.task == "inpaint" else None)
        self.run_stream(source, sink, tile=tile, noise_level=noise_level, variation_seed=variation_seed,
                        progress=progress, token=token, passes=passes, precision=precision)
        return sink.out

    def run_stream(self, source, sink, tile: int | None = None, noise_level=None, variation_seed: int | None = None,
                   progress: ProgressFn | None = None, token=None, passes: int | None = None,
                   precision: str | None = None, batch: int | None = None) -> None:
        """:meth:`run_tiled` from a :class:`core.tiling.Source` to a sink (finished rows are
        written as they are done; see :mod:`core.tiling`). ``batch``: tiles per forward call
        (None: :attr:`tile_batch`)."""
        import torch

        from imgen_desktop.core import tiling

        passes = self.default_passes if passes is None else int(passes)
        if passes not in PASSES:
            raise ImgenError(f"passes must be one of {', '.join(map(str, PASSES))}, not {passes}")
        h, w = source.height, source.width
        consistent = bool(getattr(self, "mean_consistent", False)) and self.scale == 1
        sigma = noise_level
        if (self.supports_noise_level or consistent) and sigma is None:
            from imgen_desktop.core.degrade import estimate_noise_sigma

            side = 1024
            top, left = max(0, (h - side) // 2), max(0, (w - side) // 2)
            crop = source.image(np.arange(top, min(h, top + side)), np.arange(left, min(w, left + side)))
            sigma = float(estimate_noise_sigma(crop[:1]).mean())
        if self.supports_noise_level:
            noise_level = sigma
        if consistent:
            from imgen_desktop.core.consistency import ConsistentSink

            sink = ConsistentSink(sink, source, self.channels, float(sigma) / 255.0)
        if not getattr(self, "tileable", True):
            tile = 0
        size = 0 if tile == 0 else self._round_tile(tile if tile else self.default_tile())
        prec = self.resolve_precision(precision)
        m, halo = self.pad_multiple, self.halo
        hm, wm = h + (-h) % m, w + (-w) % m
        noise = None
        if variation_seed is not None and self.supports_variation:
            noise = self.noise_for(variation_seed, hm + 2 * halo, wm + 2 * halo)

        def forward(inp, pnoise):
            try:
                return self._forward(inp, noise_level, pnoise, prec)
            except Exception as exc:  # noqa: BLE001
                if _is_oom(exc):
                    raise _OutOfMemory() from None
                raise

        while True:
            try:
                tiling.stream(source, sink, forward, channels=self.channels, multiple=m, halo=halo, scale=self.scale,
                              size=size, passes=passes, noise=noise, progress=progress, token=token,
                              batch=self.tile_batch if batch is None else int(batch),
                              skip_unmasked=bool(getattr(self, "composites", False)))
                if consistent:
                    sink.finish(token)  # the corrected rows go on to the caller's sink
                return
            except _OutOfMemory:
                if self.device is not None and torch.device(self.device).type == "cuda":
                    torch.cuda.empty_cache()
                longest = max(h, w)
                current = size if size else longest
                if current <= MIN_TILE:
                    raise ImgenError(
                        f"out of memory even with {MIN_TILE}-pixel tiles on {self.device}; try the CPU device"
                    ) from None
                size = self._round_tile(min(current, longest) // 2)


PASSES = (1, 2, 4)


def default_passes(task: str) -> int:
    """Flipped passes averaged by default: 4 for denoising (+0.1 dB at sigma 25 on the
    held-out photos, and denoise models are cheap), 1 otherwise."""
    return 4 if task == "denoise" else 1


_CACHE: dict[tuple, ImageModel] = {}
_CACHE_LOCK = threading.Lock()


def open_model(spec: str, device: str = "auto") -> ImageModel:
    """Load an enhancement model (cached per file version and device)."""
    from imgen_desktop.core.devices import resolve_device
    from imgen_desktop.core.models import load_network
    from imgen_desktop.core.store import read_meta

    path = resolve_spec(spec)
    dev = resolve_device(device)
    meta = read_meta(path)
    if meta.get("task") not in ENHANCE_TASKS:
        raise ModelError(f"{path.name} is a {meta.get('task')!r} model, not an enhancement model (it makes new images: generate with it instead)")
    stat = path.stat()
    key = (str(path.resolve()), stat.st_mtime_ns, stat.st_size, str(dev))
    with _CACHE_LOCK:
        cached = _CACHE.get(key)
    if cached is not None:
        return cached
    if meta.get("arch") == "spandrel":  # an imported community model (core/community.py)
        from imgen_desktop.core import community

        model = community.open_image_model(path, dev, spec=spec)
    else:
        net, meta = load_network(path, device=str(dev))
        model = ImageModel(net, meta, dev, spec=spec, path=str(path))
    with _CACHE_LOCK:
        if len(_CACHE) >= 4:
            _CACHE.pop(next(iter(_CACHE)))
        _CACHE[key] = model
    return model


# --- photos ---------------------------------------------------------------------------------

def _mask_array(mask, height: int, width: int) -> np.ndarray:
    arr = np.asarray(mask)
    if arr.ndim == 3:
        arr = arr[..., :3].mean(axis=2) if arr.shape[2] >= 3 else arr[..., 0]
    if arr.shape != (height, width):
        raise ImgenError(f"the mask is {arr.shape[1]}x{arr.shape[0]} but the photo is {width}x{height}")
    top = 65535 if arr.dtype == np.uint16 else 255 if arr.dtype == np.uint8 else 1.0
    return (arr.astype(np.float32) / top) > 0.5


HOLE_WINDOW_SHARE = 0.6  # run a crop around the hole when it is under this share of the photo


def hole_window(mask: np.ndarray, model: ImageModel) -> tuple[int, int, int, int] | None:
    """``(top, bottom, left, right)`` of the part of the photo an inpaint net must see to fill
    ``mask``: the hole's bounding box grown by the net's halo (its receptive radius, so the fill
    is the one a run over the whole photo makes; where the box meets the photo's edge the same
    mirroring applies). None when that is most of the photo anyway, or for a model that does
    not return the known pixels unchanged (imported ones), or one that rescales."""
    if not getattr(model, "composites", False) or model.scale != 1:
        return None
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if not len(rows):
        return None
    h, w = mask.shape
    halo, m = int(model.halo), int(model.pad_multiple)
    # the top-left corner on the photo's grid of pad_multiple (a pixel-unshuffling net sees the
    # same 2x2 cells as in a whole-photo run)
    y0, y1 = max(0, int(rows[0]) - halo) // m * m, min(h, int(rows[-1]) + 1 + halo)
    x0, x1 = max(0, int(cols[0]) - halo) // m * m, min(w, int(cols[-1]) + 1 + halo)
    if (y1 - y0) * (x1 - x0) > HOLE_WINDOW_SHARE * h * w:
        return None
    return y0, y1, x0, x1


def enhance_photo(
    photo, model: ImageModel, tile: int | None = None, mask=None, noise_level: float | None = None,
    variation_seed: int | None = None, progress: ProgressFn | None = None, token=None, passes: int | None = None,
    precision: str | None = None,
):
    """Run ``model`` over a :class:`core.imageio.Photo`; returns a new Photo.

    ``mask``: HxW (uint8, 255 = fill) for inpaint. ``noise_level``: denoise strength (sigma on
    the 0..255 scale; None = estimated from the photo). ``variation_seed``: VAE models sample a
    variation instead of the deterministic result. ``passes``: flipped passes averaged (1, 2,
    4; None = :func:`default_passes` of the task). Raises ``Cancelled`` when ``token`` is
    cancelled. Alpha, bit depth, grayscale, ICC and EXIF are kept.
    """
    from imgen_desktop.core import tiling

    pixels = np.asarray(photo.pixels)
    if pixels.ndim == 2:
        pixels = pixels[:, :, None]
    h, w, c = pixels.shape
    if model.channels != c and not (c, model.channels) in ((1, 3), (3, 1)):
        raise ImgenError(f"this model takes {model.channels}-channel images, not {c}")
    m = None
    if model.task == "inpaint":
        if mask is None:
            raise ImgenError("inpainting needs a mask: the area to fill")
        m = _mask_array(mask, h, w)
        if not m.any():
            raise ImgenError("the inpaint mask is empty: paint the area to fill")
    window = hole_window(m, model) if m is not None else None
    if window is not None and tile and tile < max(window[1] - window[0], window[3] - window[2]):
        window = None  # tiles asked for that are smaller than the window: those the hole touches run
    if window is not None:
        # a compact hole (an object to remove): only the hole and the net's reach around it are
        # run, in one piece up to twice the default tile side (a halo per tile inside it would
        # cost more than it saves; out of memory, run_stream halves the tiles as usual), in
        # default tiles beyond that (a huge hole on a huge photo: bounded memory); the rest is
        # the photo's own pixels, as a whole-photo run returns them
        y0, y1, x0, x1 = window
        if max(y1 - y0, x1 - x0) <= 2 * model.default_tile():
            tile = 0
        source = tiling.ArraySource(np.ascontiguousarray(pixels[y0:y1, x0:x1]), model.channels, m[y0:y1, x0:x1])
    else:
        # tiles are made from the photo's own pixels and written into its own dtype (core/tiling.py)
        source = tiling.ArraySource(pixels, model.channels, m)
    sink = tiling.ArraySink(source, source.height * model.scale, source.width * model.scale, c)
    model.run_stream(source, sink, tile=tile, noise_level=noise_level, variation_seed=variation_seed,
                     progress=progress, token=token, passes=passes, precision=precision)
    out = sink.out
    if window is not None:
        out, part = pixels.copy(), out
        out[y0:y1, x0:x1] = part
    alpha = photo.alpha
    if alpha is not None and model.scale > 1:
        alpha = tiling.upscale_plane(np.asarray(alpha), model.scale)
    if np.asarray(photo.pixels).ndim == 2:
        out = out[:, :, 0]
    return dataclasses.replace(photo, pixels=out, alpha=alpha)


# --- options, output sizes ------------------------------------------------------------------

@dataclass
class EnhanceOptions:
    """How to run a model over photos: one value object for the CLI, the canvas and batches.

    ``tile``: core size in input pixels (None = from free memory, 0 = whole image).
    ``passes``: flipped passes averaged (1, 2, 4; None = the task's default).
    ``noise_level``: denoise strength, sigma on 0..255 (None = estimated; only for models
    that take it). ``variation_seed``: VAE models sample a variation (None = most likely).
    ``mask``: inpaint mask, an HxW array (255 = fill) or an image file. ``format`` / ``quality``:
    the output files. ``overwrite``: replace output files that exist (never an input).
    """

    tile: int | None = None
    passes: int | None = None
    noise_level: float | None = None
    variation_seed: int | None = None
    mask: Any = None
    device: str = "auto"
    format: str | None = None
    quality: int = 95
    overwrite: bool = False
    precision: str = "auto"  # auto | fp32 | bf16 (core/precision.py)
    name_template: str | None = None  # e.g. "{name}_{model}{ext}" (core.batch); None: photo_x2.png

    def identity(self) -> dict[str, Any]:
        """What makes two batches the same batch (a resumed one must use the same settings)."""
        return {"tile": self.tile, "passes": self.passes, "noise_level": self.noise_level,
                "variation_seed": self.variation_seed, "format": self.format, "quality": int(self.quality),
                "name_template": self.name_template}

    def check(self, model: "ImageModel", name: str = "") -> None:
        """ImgenError (one sentence) for options ``model`` cannot take: a noise level outside
        0..255, or one for a model without a noise-level input (files and batches: the CLI's
        ``--noise-level``; a single photo on the canvas shows the control only where it applies)."""
        if self.noise_level is None:
            return
        level = float(self.noise_level)
        if not (0.0 <= level <= 255.0):  # NaN fails too
            raise ImgenError(f"the noise level is a sigma on the 0-255 scale (e.g. 25), not {self.noise_level:g}")
        if not model.supports_noise_level:
            raise ImgenError(f"{name or model_key(model)} ({task_cli_title(model.task, model.scale)}) takes no noise level: "
                             "leave out --noise-level (it is for denoise models with a noise-level input, such as builtin:denoise)")

    def run_kwargs(self, model: "ImageModel") -> dict[str, Any]:
        """The keyword arguments of :func:`enhance_photo` that apply to ``model``."""
        kwargs: dict[str, Any] = {"tile": self.tile, "passes": self.passes, "precision": self.precision}
        if model.task == "inpaint":
            kwargs["mask"] = self.mask
        if self.noise_level is not None and model.supports_noise_level:
            kwargs["noise_level"] = float(self.noise_level)
        if self.variation_seed is not None and model.supports_variation:
            kwargs["variation_seed"] = int(self.variation_seed)
        return kwargs


@dataclass(frozen=True)
class OutputEstimate:
    width: int
    height: int
    megapixels: float
    bytes: int  # memory for the result while it is made (float32 pixels of the output)

    def text(self) -> str:
        gb = self.bytes / 1e9
        size = f"~{gb:.1f} GB" if gb >= 0.1 else f"~{max(1, round(self.bytes / 1e6))} MB"
        mp = f"{self.megapixels:.0f} MP" if self.megapixels >= 10 else f"{self.megapixels:.1f} MP"
        return f"Output {self.width} \u00d7 {self.height} ({mp}, {size})"


LARGE_OUTPUT_BYTES = 500_000_000  # warn above this (the canvas colours the estimate)


def estimate_output(width: int, height: int, channels: int, scale: int) -> OutputEstimate:
    """The output size of an enhancement and the memory its result takes while it is made."""
    w, h = int(width) * max(1, int(scale)), int(height) * max(1, int(scale))
    c = max(3, int(channels))
    return OutputEstimate(w, h, w * h / 1e6, w * h * c * 4)


# --- files (the CLI and the canvas's batches) ------------------------------------------------

DONE, SKIPPED, FAILED = "done", "skipped", "failed"


@dataclass
class FileResult:
    input: str
    output: str = ""
    error: str = ""
    status: str = DONE  # done | skipped (a complete output already existed) | failed
    seconds: float = 0.0

    def __post_init__(self) -> None:
        if self.error:
            self.status = FAILED

    @property
    def ok(self) -> bool:
        return not self.error


def output_name(src: Path, task: str, scale: int, fmt: str | None = None, template: str | None = None,
                model: str = "") -> str:
    """``photo.jpg`` -> ``photo_x2.jpg`` / ``photo_denoised.jpg`` / ``photo_inpainted.jpg``; with a
    ``template`` (:func:`core.batch.render_name`) e.g. ``photo_upscale-x2.jpg``."""
    tag = output_tag(task, scale)
    ext = src.suffix.lower()
    if fmt:
        ext = "." + fmt.lower().replace("jpeg", "jpg").replace("tiff", "tif")
    elif ext not in (".png", ".jpg", ".jpeg", ".webp", ".tif", ".tiff"):
        ext = ".png"
    if template:
        from imgen_desktop.core.batch import render_name

        return render_name(template, src, task_tag=tag, model=model or task, scale=scale, ext=ext)
    return f"{src.stem}_{tag}{ext}"


def model_key(model: "ImageModel") -> str:
    """The name a model goes by in output names and batch manifests: ``upscale-x2`` for a
    built-in, the store name, or the file's stem (the same from the CLI and the app)."""
    return Path(model.path).stem if model.path else str(model.spec).removeprefix(BUILTIN_PREFIX)


def _is_own_output(path: Path, siblings: set[Path], tag: str) -> bool:
    """``a_x2.png`` (or ``a_x2-2.png``) next to an ``a.*`` of the same folder: one of our outputs."""
    stem = path.stem
    base, dash, num = stem.rpartition("-")
    if dash and num.isdigit():
        stem = base
    suffix = f"_{tag}"
    if not stem.endswith(suffix):
        return False
    original = stem[: -len(suffix)]
    return any(s.parent == path.parent and s.stem == original for s in siblings)


def expand_inputs(inputs: Sequence[str | Path], tag: str | None = None) -> tuple[list[Path], list[FileResult]]:
    found, missing = _expand(inputs, tag)
    return [f for f, _rel in found], missing


def _expand(inputs: Sequence[str | Path], tag: str | None = None, skip: Path | None = None,
            ) -> tuple[list[tuple[Path, Path]], list[FileResult]]:
    """Files and folders -> (image files, results for inputs that do not exist).

    With ``tag`` (the output tag of the model: "x2", "denoised"), files found in a folder that
    are outputs of another file there (``a_x2.png`` next to ``a.png``) are left out, so
    enhancing a folder into itself does not enhance its own results again. Inpaint masks
    (``a.mask.png`` beside ``a.png``, :func:`core.batch.is_mask_file`) are never photos of the
    batch, whether found in a folder or given as files (``photos/*.png`` from a shell).
    """
    from imgen_desktop.core.batch import is_mask_file
    from imgen_desktop.core.imageio import file_problem, find_images

    files: list[tuple[Path, Path]] = []  # (file, its sub-folder relative to the folder given)
    missing: list[FileResult] = []
    skip_r = _resolved(skip) if skip is not None else None
    for item in inputs:
        p = Path(item).expanduser()
        if p.is_dir():
            found = find_images(p)
            if tag:
                names = set(found)
                found = [f for f in found if not _is_own_output(f, names, tag)]
            if skip_r is not None and skip_r != _resolved(p):  # an output folder inside the input folder
                found = [f for f in found if skip_r not in _resolved(f).parents]
            found = [f for f in found if not is_mask_file(f)]
            if not found:
                missing.append(FileResult(str(p), error=f"no images found in folder {p}"))
            files.extend((f, f.parent.relative_to(p)) for f in found)
        elif p.is_file():
            if not (len(inputs) > 1 and is_mask_file(p)):  # one file given alone is what the user asked for
                files.append((p, Path()))
        else:
            missing.append(FileResult(str(p), error=file_problem(p) or f"{p.name}: cannot be read"))
    return files, missing


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve() or (a.exists() and b.exists() and a.samefile(b))
    except (OSError, RuntimeError):  # RuntimeError: a link loop (Python < 3.13)
        return False


def is_complete_image(path: Path) -> bool:
    """True if ``path`` is an image file that opens (a finished output, not a torn one)."""
    from imgen_desktop.core.imageio import load_image

    if not path.is_file():
        return False
    try:
        load_image(path)
    except Exception:  # noqa: BLE001 - anything unreadable is not complete
        return False
    return True


def plan_outputs(
    inputs: Sequence[str | Path], output: str | Path, task: str, scale: int, options: EnhanceOptions,
    model: str = "",
) -> tuple[list[tuple[Path, Path]], list[FileResult], bool]:
    """(input, target) pairs, results for missing inputs, and whether ``output`` is one file.

    Checks everything that can be checked before inference and raises ImgenError with one
    sentence: an output that would replace an input, an output format that cannot be written,
    a file where a folder is needed. Nothing is written here.
    """
    from imgen_desktop.core.imageio import save_format

    tag = output_tag(task, scale)
    if options.name_template:
        from imgen_desktop.core.batch import validate_template

        validate_template(options.name_template)
    found, missing = _expand(inputs, tag, skip=Path(output))
    files = [f for f, _rel in found]
    as_folder = str(output).endswith(("/", "\\"))  # "out/": a folder, even if it does not exist yet
    output = Path(output).expanduser()
    given = [Path(i).expanduser() for i in inputs]
    one_file = len(given) == 1 and not given[0].is_dir()
    single = one_file and not output.is_dir() and not as_folder
    if not one_file and output.exists() and not output.is_dir():
        raise ImgenError(f"{output} is a file; with several inputs or a folder the output must be a folder")
    if not single and not output.exists() and output.suffix.lower() in (".png", ".jpg", ".jpeg", ".webp", ".tif", ".tiff"):
        raise ImgenError(f"{output.name} looks like a file name, but several photos need an output folder")
    pairs: list[tuple[Path, Path]] = []
    used: set[Path] = set()
    for path, rel in found:
        if single:
            target = output
        else:  # sub-folders of a folder given keep their layout: in/a/x.jpg -> out/a/x_x2.jpg
            target = output / rel / output_name(path, task, scale, options.format, options.name_template, model)
            stem, k = target.stem, 2
            while target in used:
                target = target.with_name(f"{stem}-{k}{target.suffix}")
                k += 1
        used.add(target)
        pairs.append((path, target))
    fmt_checked: set[tuple[str, str | None]] = set()
    for path, target in pairs:
        key = (target.suffix.lower(), options.format)
        if key not in fmt_checked:
            save_format(target, options.format)  # an unwritable format fails now, not after inference
            fmt_checked.add(key)
        for src in files:
            if _same_file(src, target):
                raise ImgenError(f"refusing to overwrite the input {src.name}: choose another output name or folder")
    return pairs, missing, single


def _photo_mask(path: Path, default):
    """The inpaint mask of one photo of a batch: its own ``<stem>.mask.png`` beside it, else
    ``default`` (``--mask``); ImgenError naming the photo when it has neither."""
    from imgen_desktop.core.batch import mask_for, mask_name
    from imgen_desktop.core.imageio import load_image

    own = mask_for(path)
    if own is not None:
        return load_image(own).pixels
    if default is None:
        raise ImgenError(f"{path.name}: no mask to fill: put {mask_name(path)} beside it (white = fill) "
                         "or pass --mask for every photo without one")
    return default


def _reconcile(manifest, overwrite: bool) -> None:
    """A batch killed hard: drop its temporary files, and count an output written just before
    the kill (the manifest had no time to say so) as done."""
    from imgen_desktop.core.batch import DONE as M_DONE, SKIPPED as M_SKIPPED

    for e in manifest.files:
        target = Path(e.output)
        for tmp in target.parent.glob(glob.escape(f".{target.name}.") + "*"):
            tmp.unlink(missing_ok=True)
        if e.status not in (M_DONE, M_SKIPPED) and not overwrite and is_complete_image(target):
            e.status, e.error = M_DONE, ""


def enhance_files(
    inputs: Sequence[str | Path], output: str | Path, model: "str | ImageModel", options: EnhanceOptions | None = None,
    on_file_started: Callable[[int, int, Path, Path], None] | None = None,
    on_file_progress: Callable[[int, int, int], None] | None = None,
    on_file_done: Callable[[int, FileResult], None] | None = None,
    on_file_failed: Callable[[int, FileResult], None] | None = None,
    token=None,
    on_resumed: "Callable[[Any], None] | None" = None,
) -> list[FileResult]:
    """Enhance files and folders: the one path of the CLI and the canvas's batches.

    One input file: ``output`` is the output file (or an existing folder to write into);
    otherwise ``output`` is a folder (outputs ``photo_x2.png``… or ``options.name_template``;
    sub-folders of a folder keep their layout; two inputs with the same name get ``-2``, ``-3``).
    An input is never overwritten. An existing output file is replaced only with
    ``options.overwrite``: one output file raises ImgenError, a batch skips outputs that already
    exist and open. A batch keeps a manifest in the data root (:mod:`core.batch`), updated
    atomically after every file: run the same batch again (after a cancel, a crash, a power cut)
    and it continues — ``on_resumed(BatchCounts)`` reports what was done / left / failed, and
    files it finished are never redone, even with ``overwrite``. A file that fails gets an error
    in its result and the others continue. ``token`` pauses (between tiles and files) and
    cancels. Callbacks: ``on_file_started(i, n, src, target)``, ``on_file_progress(i,
    tiles_done, tiles)``, ``on_file_done(i, result)`` (done or skipped), ``on_file_failed(i,
    result)``. Cancelling raises ``Cancelled`` (no partial file; files already written stay and
    were reported through ``on_file_done``).

    Inpaint masks (white = fill): one photo uses ``options.mask`` when given, else its own
    ``<stem>.mask.png`` beside it; in a batch every photo uses its own ``<stem>.mask.png`` and
    ``options.mask`` is the default for photos without one (a photo with neither fails with its
    own error and the batch goes on). Mask files are never enhanced as photos of the batch.
    ``options.noise_level`` for a model without a noise-level input raises ImgenError.
    """
    import time

    from imgen_desktop.core import batch as batches
    from imgen_desktop.core.imageio import load_image, save_image

    options = options or EnhanceOptions()
    if isinstance(model, str):
        model = open_model(model, options.device)
    key = model_key(model)
    pairs, results, single = plan_outputs(inputs, output, model.task, model.scale, options, model=key)
    if single and pairs and pairs[0][1].exists() and not options.overwrite:
        raise ImgenError(f"{pairs[0][1]} already exists; pass --overwrite to replace it")
    if single and pairs and pairs[0][1].is_dir():
        raise ImgenError(f"{pairs[0][1]} is a folder")
    options.check(model, key)
    mask_arr = None
    if options.mask is not None:
        mask_arr = load_image(options.mask).pixels if isinstance(options.mask, (str, Path)) else options.mask
    elif model.task == "inpaint" and pairs and single and batches.mask_for(pairs[0][0]) is None:
        src = pairs[0][0]
        raise ImgenError(f"inpainting needs a mask image: pass --mask MASK.png or put {batches.mask_name(src)} "
                         "beside the photo (white = fill)")
    run_options = dataclasses.replace(options, mask=mask_arr)
    manifest = None
    if not single and pairs and model.task != "inpaint":
        out_dir = Path(output).expanduser()
        identity = options.identity()
        manifest = batches.load_manifest(out_dir)
        if manifest is not None and manifest.same_batch(inputs, str(_resolved(Path(model.path))), identity):
            _reconcile(manifest, options.overwrite)
            if on_resumed is not None:
                on_resumed(manifest.counts(check_outputs=True))
        else:
            manifest = batches.new_manifest(out_dir, str(_resolved(Path(model.path))), inputs, identity, pairs)
        if not manifest.save():
            manifest = None  # enhancing needs no space in the data root; only resuming does
    n = len(pairs)
    for i, (path, target) in enumerate(pairs):
        if token is not None and token.checkpoint():
            raise Cancelled("enhancement cancelled")
        if on_file_started:
            on_file_started(i, n, path, target)
        started = time.monotonic()
        done_before = manifest is not None and manifest.is_done(path)
        if not single and (done_before or not options.overwrite) and is_complete_image(target):
            result = FileResult(str(path), str(target), status=SKIPPED)
            results.append(result)
            if manifest is not None and not done_before:
                manifest.set_state(path, SKIPPED, str(target))
            if on_file_done:
                on_file_done(i, result)
            continue
        progress = None if on_file_progress is None else (lambda done, total, i=i: on_file_progress(i, done, total))
        try:
            kwargs = run_options.run_kwargs(model)
            if model.task == "inpaint":
                kwargs["mask"] = mask_arr if single and mask_arr is not None else _photo_mask(path, mask_arr)
            photo = load_image(path)
            enhanced = enhance_photo(photo, model, progress=progress, token=token, **kwargs)
            save_image(enhanced, target, format=options.format, quality=options.quality)
        except Cancelled:
            raise
        except Exception as exc:  # noqa: BLE001 - one bad file never stops the batch
            if isinstance(exc, ImgenError):
                message = str(exc)
            elif _is_oom(exc):
                message = "not enough memory to enhance this photo; choose a smaller tile size or fewer passes"
            else:
                message = f"{type(exc).__name__}: {str(exc).strip()[:200]}"
            # image errors already name the file; others get it added
            result = FileResult(str(path), error=message if path.name in message else f"{path.name}: {message}")
            results.append(result)
            if manifest is not None:
                manifest.set_state(path, FAILED, error=result.error)
            if on_file_failed:
                on_file_failed(i, result)
            continue
        result = FileResult(str(path), str(target), seconds=time.monotonic() - started)
        results.append(result)
        if manifest is not None:
            manifest.set_state(path, DONE, str(target), seconds=result.seconds)
        if on_file_done:
            on_file_done(i, result)
    return results
