"""The model store: one ``.safetensors`` file per model in ``$IMGEN_HOME/models/``.

Every model file carries its metadata in the safetensors header under the key ``imgen``
(a JSON object): format version, family, task, scale, channels, architecture id and
hyper-parameters, dataset, steps, created time, metrics. Nothing is ever unpickled.
"""
from __future__ import annotations

import json
import re
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from imgen_desktop.core import paths
from imgen_desktop.core.atomic import atomic_path
from imgen_desktop.core.errors import ModelError

FORMAT_VERSION = 1
META_KEY = "imgen"
SUFFIX = ".safetensors"
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._+-]{0,99}$")


@dataclass
class ModelInfo:
    """What the store knows of one model file (from its header only; weights are not read)."""

    name: str
    path: Path
    meta: dict[str, Any] = field(default_factory=dict)
    size_bytes: int = 0
    error: str | None = None  # set for corrupt or foreign files; listing never fails

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def family(self) -> str:
        return self.meta.get("family", "?")

    @property
    def task(self) -> str:
        return self.meta.get("task", "?")

    @property
    def scale(self) -> int:
        return int(self.meta.get("scale", 1))

    @property
    def created(self) -> float:
        return float(self.meta.get("created", 0.0))

    @property
    def steps(self) -> int:
        return int(self.meta.get("steps", 0))

    @property
    def builtin(self) -> bool:
        return bool(self.meta.get("builtin", False))

    def describe(self) -> str:
        """One line for lists: ``name — GAN upscale x2``."""
        if not self.ok:
            return f"{self.name} — unreadable ({self.error})"
        task = self.task + (f" x{self.scale}" if self.task == "upscale" else "")
        return f"{self.name} — {self.family.upper()} {task}"


def validate_name(name: str) -> str:
    name = name.strip()
    if not _NAME_RE.match(name) or name.endswith(SUFFIX):
        raise ModelError(
            f"invalid model name {name!r}: use letters, digits, spaces, '.', '_', '+' or '-' (at most 100)"
        )
    return name


def read_meta(path: str | Path) -> dict[str, Any]:
    """Read a model file's metadata without loading weights; raise ModelError if it is not ours."""
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"model file not found: {path}")
    try:
        header = _read_safetensors_metadata(path)
    except ValueError as exc:
        raise ModelError(f"{path.name} is not a valid safetensors file ({exc})") from None
    except OSError as exc:
        raise ModelError(f"{path.name} could not be read ({exc.strerror or _short(exc)})") from None
    raw = header.get(META_KEY)
    if raw is None:
        raise ModelError(f"{path.name} is a safetensors file but not an Imgen Desktop model (no '{META_KEY}' metadata)")
    try:
        meta = json.loads(raw)
    except json.JSONDecodeError:
        raise ModelError(f"{path.name} has corrupt Imgen Desktop metadata") from None
    if not isinstance(meta, dict) or "family" not in meta or "task" not in meta or "arch" not in meta:
        raise ModelError(f"{path.name} has incomplete Imgen Desktop metadata")
    try:
        fmt = int(meta.get("format", 0))
        for key in ("scale", "steps", "created"):  # numbers that listings and loaders rely on
            if key in meta:
                float(meta[key])
    except (TypeError, ValueError):
        raise ModelError(f"{path.name} has invalid Imgen Desktop metadata (format, scale, steps or created)") from None
    if fmt > FORMAT_VERSION:
        raise ModelError(f"{path.name} was made by a newer Imgen Desktop (format {meta.get('format')})")
    return meta


_MAX_HEADER = 100 * 2**20


def _read_safetensors_metadata(path: Path) -> dict[str, str]:
    """The ``__metadata__`` of a safetensors file, read and checked without importing torch.

    Layout: 8-byte little-endian header length N, N bytes of JSON (tensor name -> dtype, shape,
    data_offsets; plus ``__metadata__``), then the tensor data. Raises ValueError if malformed
    or truncated.
    """
    size = path.stat().st_size
    with open(path, "rb") as fh:
        head = fh.read(8)
        if len(head) < 8:
            raise ValueError("file too short")
        n = int.from_bytes(head, "little")
        if n < 2 or n > _MAX_HEADER or 8 + n > size:
            raise ValueError("bad header length")
        raw = fh.read(n)
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ValueError("header is not JSON") from None
    if not isinstance(header, dict):
        raise ValueError("header is not a JSON object")
    meta = header.pop("__metadata__", None) or {}
    if not isinstance(meta, dict) or not all(isinstance(v, str) for v in meta.values()):
        raise ValueError("metadata is not a string map")
    end = 0
    for name, entry in header.items():
        offsets = entry.get("data_offsets") if isinstance(entry, dict) else None
        if (
            not isinstance(offsets, list)
            or len(offsets) != 2
            or not all(isinstance(o, int) and o >= 0 for o in offsets)
            or offsets[0] > offsets[1]
            or "dtype" not in entry
            or not isinstance(entry.get("shape"), list)
        ):
            raise ValueError(f"bad entry for tensor {name!r}")
        end = max(end, offsets[1])
    if 8 + n + end > size:
        raise ValueError("truncated: the tensor data is incomplete")
    return meta


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:160]


def save_model_file(path: str | Path, tensors: dict, meta: dict[str, Any]) -> Path:
    """Write tensors + metadata to ``path`` atomically (``tensors``: name -> torch.Tensor)."""
    from safetensors.torch import save_file

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
    except Exception as exc:
        raise ModelError(f"{Path(path).name}: weights could not be read ({_short(exc)})") from None
    return tensors, meta


class ModelStore:
    """List / get / save / rename / remove / import / export models in one folder."""

    def __init__(self, root: str | Path | None = None) -> None:
        self.root = Path(root) if root is not None else paths.models_dir()
        self.root.mkdir(parents=True, exist_ok=True)

    def path_for(self, name: str) -> Path:
        return self.root / f"{validate_name(name)}{SUFFIX}"

    def list(self) -> list[ModelInfo]:
        infos = []
        for path in sorted(self.root.glob(f"*{SUFFIX}")):
            if path.name.startswith("."):
                continue  # temporary files of an atomic write in progress
            infos.append(self._info(path))
        return infos

    def _info(self, path: Path) -> ModelInfo:
        name = path.name[: -len(SUFFIX)]
        try:
            size = path.stat().st_size
        except OSError:
            size = 0
        try:
            return ModelInfo(name, path, read_meta(path), size)
        except ModelError as exc:
            return ModelInfo(name, path, {}, size, error=str(exc))
        except Exception as exc:  # listing never fails, whatever is in the folder
            return ModelInfo(name, path, {}, size, error=f"{path.name} could not be read ({_short(exc)})")

    def exists(self, name: str) -> bool:
        return self.path_for(name).is_file()

    def get(self, name: str) -> ModelInfo:
        path = self.path_for(name)
        if not path.is_file():
            raise ModelError(f"no model named {name!r} in {self.root}")
        info = self._info(path)
        if info.error:
            raise ModelError(info.error)
        return info

    def save(self, name: str, tensors: dict, meta: dict[str, Any]) -> ModelInfo:
        path = save_model_file(self.path_for(name), tensors, {**meta, "name": name})
        return self._info(path)

    def load(self, name: str, device: str = "cpu") -> tuple[dict, dict[str, Any]]:
        return load_model_file(self.get(name).path, device)

    def rename(self, old: str, new: str) -> ModelInfo:
        src, dst = self.path_for(old), self.path_for(new)
        if not src.is_file():
            raise ModelError(f"no model named {old!r}")
        if dst.exists():
            raise ModelError(f"a model named {new!r} already exists")
        try:
            src.rename(dst)
        except OSError as exc:
            raise ModelError(f"could not rename {old!r} to {new!r} ({exc.strerror or _short(exc)})") from None
        return self._info(dst)

    def remove(self, name: str) -> None:
        path = self.path_for(name)
        if not path.is_file():
            raise ModelError(f"no model named {name!r}")
        try:
            path.unlink()
        except OSError as exc:
            raise ModelError(f"could not remove {name!r} ({exc.strerror or _short(exc)})") from None

    def unique_name(self, base: str) -> str:
        base = validate_name(base)
        if not self.exists(base):
            return base
        i = 2
        while self.exists(f"{base}-{i}"):
            i += 1
        return f"{base}-{i}"

    def import_file(self, src: str | Path, name: str | None = None) -> ModelInfo:
        src = Path(src)
        read_meta(src)  # refuse corrupt or foreign files before copying
        name = validate_name(name or src.name.removesuffix(SUFFIX))
        dst = self.path_for(name)
        if dst.exists():
            raise ModelError(f"a model named {name!r} already exists; pass --name to choose another")
        _copy_atomic(src, dst)
        return self._info(dst)

    def export(self, name: str, out: str | Path) -> Path:
        """Copy a model to ``out`` (.safetensors), or convert it to ONNX (.onnx)."""
        info = self.get(name)
        out = Path(out)
        if out.suffix.lower() == SUFFIX:
            _copy_atomic(info.path, out)
            return out
        if out.suffix.lower() == ".onnx":
            from imgen_desktop.core.models import export_onnx

            return export_onnx(info.path, out)
        raise ModelError(f"cannot export to {out.name}: use a .safetensors or .onnx file name")


def _copy_atomic(src: Path, dst: Path) -> None:
    try:
        with atomic_path(dst) as tmp:
            shutil.copyfile(src, tmp)
    except OSError as exc:
        where = exc.filename or dst
        raise ModelError(f"could not copy {src.name} to {dst}: {exc.strerror or _short(exc)} ({where})") from None
