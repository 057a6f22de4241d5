"""Reading, checking and writing model files (``.safetensors`` with our metadata), nothing else.

The header is read with the ``safetensors`` library itself (``safe_open``): it refuses
overlapping or out-of-file byte ranges, negative shapes, unknown dtypes and sizes that do not
match their shape, without reading the weights and without importing torch (the "np" view).
On top of that this module checks our metadata (types and ranges of every field the app
reads) and, through :mod:`core.models.specs`, the architecture parameters; and
:func:`check_tensors` compares the tensors the parameters call for (names, shapes, dtypes)
with those the file holds, before a network is built.

It imports neither the model store nor the architectures, so the store and the registry both
use it without importing each other.
"""
from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any

from imgen_desktop.core.errors import ModelError
from imgen_desktop.core.models.specs import SPECS, check_params
from imgen_desktop.core.tasks import FAMILIES, TASKS

FORMAT_VERSION = 1
META_KEY = "imgen"
SUFFIX = ".safetensors"
MAX_HEADER = 16 * 2**20  # our headers are a few KB; safetensors itself allows 100 MB
MAX_META = 2**20  # characters of our JSON metadata
MAX_DEPTH = 24  # nesting of our JSON metadata
FLOAT_DTYPES = {"F16", "BF16", "F32", "F64"}
_LATEST_CREATED = 32503680000.0  # 1 January 3000


def short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:160]


def _explain(exc: BaseException) -> str:
    """safetensors' error text, shortened into what a user can act on."""
    text = short(exc)
    low = text.lower()
    if "not fully covered" in low or "incomplete" in low or "buffer" in low:
        return "truncated: the tensor data is incomplete"
    if "header too large" in low or "headertoolarge" in low:
        return "its header is too large"
    for marker in ("while deserializing header: ", "invalid JSON in header: "):
        if marker in text:
            text = text.split(marker, 1)[1]
    text = text.split(" at line ")[0]
    if text.startswith("unknown variant"):
        text = "unknown dtype " + text.split("`")[1] if "`" in text else "unknown dtype"
    return text[:120]


def _open(path: Path):
    from safetensors import safe_open

    if not path.is_file():
        raise ModelError(f"model file not found: {path}")
    try:
        size = path.stat().st_size
        with open(path, "rb") as fh:
            head = fh.read(8)
    except OSError as exc:
        raise ModelError(f"{path.name} could not be read ({exc.strerror or short(exc)})") from None
    n = int.from_bytes(head, "little") if len(head) == 8 else -1
    if n < 2 or 8 + n > size:
        raise ModelError(f"{path.name} is not a valid safetensors file (bad header length)")
    if n > MAX_HEADER:
        raise ModelError(f"{path.name} is not a valid model file (its header is {n / 2**20:.0f} MB; at most {MAX_HEADER // 2**20} MB)")
    try:
        return safe_open(str(path), framework="np")
    except OSError as exc:
        raise ModelError(f"{path.name} could not be read ({exc.strerror or short(exc)})") from None
    except Exception as exc:  # safetensors raises its own SafetensorError for every malformed header
        raise ModelError(f"{path.name} is not a valid safetensors file ({_explain(exc)})") from None


def read_header(path: str | Path) -> tuple[dict[str, str], dict[str, tuple[tuple[int, ...], str]]]:
    """``(string metadata, {tensor name: (shape, dtype)})`` of a safetensors file; ModelError if malformed."""
    path = Path(path)
    fh = _open(path)
    try:
        meta = fh.metadata() or {}
        tensors = {}
        for key in fh.keys():
            view = fh.get_slice(key)
            tensors[key] = (tuple(int(d) for d in view.get_shape()), str(view.get_dtype()))
    except Exception as exc:  # noqa: BLE001 - whatever the library says, the file is unusable
        raise ModelError(f"{path.name} is not a valid safetensors file ({_explain(exc)})") from None
    return meta, tensors


def _depth(value: Any, limit: int) -> int:
    """Nesting depth of a parsed JSON value (stops counting past ``limit``)."""
    depth, level = 0, [value]
    while level and depth <= limit:
        depth += 1
        nxt = []
        for v in level:
            if isinstance(v, dict):
                nxt.extend(v.values())
            elif isinstance(v, list):
                nxt.extend(v)
        level = nxt
    return depth


def _whole(meta: dict, key: str, lo: int, hi: int) -> None:
    value = meta[key]
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise ModelError(f"{key} must be a whole number from {lo} to {hi}, not {str(value)[:40]!r}")


def check_meta(meta: Any) -> dict[str, Any]:
    """Type- and range-check the fields of our metadata the app reads; ModelError (no file name) if bad."""
    if not isinstance(meta, dict):
        raise ModelError("the metadata is not a JSON object")
    for key in ("family", "task", "arch"):
        if key not in meta:
            raise ModelError(f"the metadata has no {key!r}")
    if _depth(meta, MAX_DEPTH) > MAX_DEPTH:
        raise ModelError(f"the metadata is nested deeper than {MAX_DEPTH} levels")
    # our families, or an imported architecture's name (community models); checked against the
    # architecture below for our own
    if not isinstance(meta["family"], str) or not 0 < len(meta["family"]) <= 64:
        raise ModelError(f"family must be a short text, not {str(meta['family'])[:40]!r}")
    if meta["arch"] in SPECS and meta["family"] not in FAMILIES:
        raise ModelError(f"unknown family {meta['family'][:40]!r}")
    if meta["task"] not in TASKS:
        raise ModelError(f"unknown task {str(meta['task'])[:40]!r}")
    if not isinstance(meta["arch"], str) or not 0 < len(meta["arch"]) <= 64:
        raise ModelError("the architecture id is not a short text")
    if "format" in meta:
        _whole(meta, "format", 0, 10**6)
        if meta["format"] > FORMAT_VERSION:
            raise ModelError(f"it was made by a newer Imgen Desktop (format {meta['format']})")
    if "scale" in meta:
        _whole(meta, "scale", 1, 4)
        allowed = (2, 4) if meta["task"] == "upscale" else (1,)
        if meta["scale"] not in allowed:
            raise ModelError(f"scale {meta['scale']} does not fit the task {meta['task']!r}")
    elif meta["task"] == "upscale":
        raise ModelError("an upscale model needs a scale")
    if "channels" in meta:
        _whole(meta, "channels", 1, 4)
    if "steps" in meta:
        _whole(meta, "steps", 0, 10**12)
    if "image_size" in meta:
        _whole(meta, "image_size", 1, 65536)
    if "created" in meta:
        value = meta["created"]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
                or not 0 <= value <= _LATEST_CREATED:
            raise ModelError(f"created must be a time stamp, not {str(value)[:40]!r}")
    for key in ("name", "label", "dataset"):
        if key in meta and not isinstance(meta[key], str):
            raise ModelError(f"{key} must be text, not {str(meta[key])[:40]!r}")
    if "builtin" in meta and not isinstance(meta["builtin"], bool):
        raise ModelError("builtin must be true or false")
    for key in ("arch_params", "metrics", "config"):
        if key in meta and not isinstance(meta[key], dict):
            raise ModelError(f"{key} must be an object")
    if meta["arch"] in SPECS:  # other architectures are checked by their own loaders
        check_params(meta)
    return meta


def parse_meta(name: str, strings: dict[str, str]) -> dict[str, Any]:
    """Our metadata from a header's string map; ModelError naming the file ``name`` if absent or bad."""
    raw = strings.get(META_KEY)
    if raw is None:
        raise ModelError(f"{name} is a safetensors file but not an Imgen Desktop model (no '{META_KEY}' metadata)")
    if len(raw) > MAX_META:
        raise ModelError(f"{name} has invalid Imgen Desktop metadata (longer than {MAX_META // 1024} KB)")
    try:
        meta = json.loads(raw)
    except (json.JSONDecodeError, RecursionError):
        raise ModelError(f"{name} has corrupt Imgen Desktop metadata") from None
    if not isinstance(meta, dict) or not {"family", "task", "arch"} <= set(meta):
        raise ModelError(f"{name} has incomplete Imgen Desktop metadata")
    try:
        return check_meta(meta)
    except ModelError as exc:
        if "newer Imgen Desktop" in str(exc):
            raise ModelError(f"{name} was made by a newer Imgen Desktop (format {meta.get('format')})") from None
        raise ModelError(f"{name} has invalid Imgen Desktop metadata: {exc}") from None


def read_meta(path: str | Path) -> dict[str, Any]:
    """A model file's checked metadata, without loading weights or importing torch; ModelError if not ours."""
    path = Path(path)
    strings, _ = read_header(path)
    return parse_meta(path.name, strings)


def check_tensors(name: str, expected: dict[str, tuple[tuple[int, ...], str]],
                  present: dict[str, tuple[tuple[int, ...], str]]) -> None:
    """ModelError unless the file holds exactly the tensors its network needs (names, shapes, dtypes).

    ``expected`` maps names to ``(shape, kind)`` with kind "float" (any of F16/BF16/F32/F64)
    or an exact safetensors dtype such as "I64".
    """
    missing = sorted(set(expected) - set(present))
    extra = sorted(set(present) - set(expected))
    if missing or extra:
        what = f"missing {missing[0]!r}" if missing else f"unexpected {extra[0]!r}"
        count = len(missing) + len(extra)
        raise ModelError(f"{name}: weights do not match its architecture ({what}"
                         + (f" and {count - 1} more differences)" if count > 1 else ")"))
    for key, (shape, kind) in expected.items():
        got_shape, got_dtype = present[key]
        if tuple(got_shape) != tuple(shape):
            raise ModelError(f"{name}: weights do not match its architecture ({key!r} has shape "
                             f"{list(got_shape)[:8]}, the network needs {list(shape)})")
        ok = got_dtype in FLOAT_DTYPES if kind == "float" else got_dtype == kind
        if not ok:
            raise ModelError(f"{name}: weights do not match its architecture ({key!r} is {got_dtype}, "
                             f"the network needs {'a float type' if kind == 'float' else kind})")


def save_model_file(path: str | Path, tensors: dict, meta: dict[str, Any]) -> Path:
    """Write tensors + metadata to ``path`` atomically (``tensors``: name -> torch.Tensor)."""
    from safetensors.torch import save_file

    from imgen_desktop.core.atomic import atomic_path

    meta = dict(meta)
    meta.setdefault("format", FORMAT_VERSION)
    meta.setdefault("created", time.time())
    for key in ("family", "task", "arch"):
        if key not in meta:
            raise ValueError(f"model metadata needs {key!r}")
    clean = {k: v.detach().contiguous().cpu() for k, v in tensors.items()}
    path = Path(path)
    with atomic_path(path) as tmp:
        save_file(clean, str(tmp), metadata={META_KEY: json.dumps(meta, sort_keys=True)})
    return path


def load_model_file(path: str | Path, device: str = "cpu") -> tuple[dict, dict[str, Any]]:
    """Return ``(tensors, meta)``; raises ModelError for anything unreadable."""
    from safetensors.torch import load_file

    meta = read_meta(path)
    try:
        tensors = load_file(str(path), device=device)
    except Exception as exc:  # noqa: BLE001
        raise ModelError(f"{Path(path).name}: weights could not be read ({short(exc)})") from None
    return tensors, meta
