"""The model store: one ``.safetensors`` file per model in ``$IMGEN_HOME/models/``.

Every model file carries its metadata in the safetensors header under the key ``imgen``
(a JSON object): format version, family, task, scale, channels, architecture id and
hyper-parameters, dataset, steps, created time, metrics. Nothing is ever unpickled.
"""
from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from imgen_desktop.core import paths
from imgen_desktop.core.atomic import atomic_path
from imgen_desktop.core.errors import ModelError
from imgen_desktop.core.models.files import (  # noqa: F401 (re-exported: the store's file format)
    FORMAT_VERSION,
    META_KEY,
    SUFFIX,
    load_model_file,
    read_meta,
    save_model_file,
    short,
)

__all__ = [
    "FORMAT_VERSION", "META_KEY", "SUFFIX", "ModelInfo", "ModelStore", "load_model_file", "read_meta",
    "save_model_file", "validate_name",
]


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
    """A model name that is safe as a file name in the store (``core.paths.safe_name``)."""
    return paths.safe_name(name, "model")


_short = short


class ModelStore:
    """List / get / save / rename / remove / import / export models in one folder."""

    def __init__(self, root: str | Path | None = None) -> None:
        self.root = Path(root) if root is not None else paths.models_dir()
        self.root.mkdir(parents=True, exist_ok=True)

    def path_for(self, name: str) -> Path:
        return paths.model_path(name, self.root)

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
        """Copy a model file into the store after checking it will load (header only, no weights read)."""
        from imgen_desktop.core.models import validate_model_file

        src = Path(src)
        if not src.is_file():
            raise ModelError(f"model file not found: {src}")
        from imgen_desktop.core import community

        if community.is_foreign(src):  # a community model (.pth/.pt/.ckpt, or foreign .safetensors)
            return community.import_model(self, src, name)
        name = validate_name(name or src.name.removesuffix(SUFFIX))
        dst = self.path_for(name)
        if dst.exists():
            raise ModelError(f"a model named {name!r} already exists; pass --name to choose another")
        validate_model_file(src)  # refuse what cannot load before anything is copied
        _copy_atomic(src, dst)
        try:
            validate_model_file(dst)  # the copy is what will be loaded: it must be the file we checked
        except ModelError:
            dst.unlink(missing_ok=True)
            raise ModelError(f"{src.name} changed while it was imported; nothing was imported") from None
        return self._info(dst)

    def export(self, name: str, out: str | Path, overwrite: bool = False) -> Path:
        """Copy a model to ``out`` (.safetensors), or convert it to ONNX (.onnx).

        Refuses to write into the store's own folder, onto the model itself, or over an
        existing file unless ``overwrite``.
        """
        info = self.get(name)
        out = Path(out)
        suffix = out.suffix.lower()
        if suffix not in (SUFFIX, ".onnx"):
            raise ModelError(f"cannot export to {out.name}: use a .safetensors or .onnx file name")
        self._check_export_target(info, out, overwrite)
        if suffix == SUFFIX:
            _copy_atomic(info.path, out)
            return out
        from imgen_desktop.core.export import export_onnx

        return export_onnx(info.path, out)

    def _check_export_target(self, info: ModelInfo, out: Path, overwrite: bool) -> None:
        try:
            target = out.parent.resolve() / out.name
            store = self.root.resolve()
        except (OSError, RuntimeError):
            raise ModelError(f"cannot export to {out}: the folder cannot be reached") from None
        if target.parent == store or store in target.parents or _same_file(target, info.path):
            raise ModelError(f"cannot export into the model store ({self.root}); choose a file outside it")
        if out.is_dir():
            raise ModelError(f"cannot export to {out}: it is a folder; give a file name")
        if (out.exists() or out.is_symlink()) and not overwrite:
            raise ModelError(f"{out} already exists; pass --overwrite to replace it")


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _copy_atomic(src: Path, dst: Path) -> None:
    try:
        with atomic_path(dst) as tmp:
            shutil.copyfile(src, tmp)
    except OSError as exc:
        where = exc.filename or dst
        raise ModelError(f"could not copy {src.name} to {dst}: {exc.strerror or _short(exc)} ({where})") from None
