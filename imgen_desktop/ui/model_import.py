"""Importing model files off the GUI thread: the Models tab's Import… and a model file dropped
anywhere on the window (ours, or a community ``.pth/.pt/.ckpt/.safetensors`` that spandrel
recognises).

:class:`ModelImporter` runs the store's ``import_file`` (the CLI's ``imgen models import``) in a
worker; reading the weights, detecting the architecture and measuring its receptive field take
seconds for large models. It reports plain data only: ``sigStarted(file name)``,
``sigImported(model name, one line, context)`` and ``sigFailed(one line naming the file, context)``.
A name that is taken or unusable opens the name dialog first (``ask_name``, the Models tab's).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from PySide6.QtCore import QObject, Signal

from imgen_desktop.core.community import SUFFIXES as MODEL_SUFFIXES, is_community
from imgen_desktop.core.tasks import task_title
from imgen_desktop.ui.workers import WorkerPool


def is_model_file(path: str | Path) -> bool:
    """A weights file (ours or a community one) rather than a photo or a folder."""
    p = Path(path)
    return p.suffix.lower() in MODEL_SUFFIXES and not p.is_dir()


def split_models(paths: list[str]) -> tuple[list[str], list[str]]:
    """(model files, everything else: photos, folders, unknown files) in the order given."""
    models = [str(p) for p in paths if is_model_file(p)]
    return models, [str(p) for p in paths if not is_model_file(p)]


def kind_text(meta: dict[str, Any]) -> str:
    """What a model is, in a few words: "COMPACT upscale ×4", "RESTOREFORMER restore faces"."""
    task, scale = str(meta.get("task", "?")), int(meta.get("scale", 1) or 1)
    return f"{str(meta.get('family', '?')).upper()} {task_title(task, scale).lower()}"


def details_text(meta: dict[str, Any], builtin: bool = False) -> str:
    """The Models tab's line about one model: what it is, where it comes from, its architecture."""
    if is_community(meta):
        arch = meta.get("arch_params", {}).get("spandrel_arch", meta.get("family", "?"))
        return (f"{kind_text(meta)}, a community model imported from {meta.get('source') or 'a file'}, "
                f"architecture {arch} (recognised by spandrel)")
    where = "built-in" if builtin else f"trained on {meta.get('dataset') or 'an unknown dataset'}"
    return f"{kind_text(meta)}, {where}, architecture {meta.get('arch', '?')}"


def steps_text(meta: dict[str, Any], steps: int) -> str:
    return "—" if is_community(meta) else f"{steps:,}"  # an imported model was not trained here


def _import(root: str, path: str, name: str) -> tuple[str, str]:
    """In the worker: import ``path`` as ``name``; (stored name, what it is)."""
    from imgen_desktop.core.store import ModelStore

    info = ModelStore(root).import_file(path, name)
    return info.name, kind_text(info.meta)


class ModelImporter(QObject):
    sigStarted = Signal(str, object)  # file name, context
    sigImported = Signal(str, str, object)  # model name, "Imported x.pth as “x”: COMPACT upscale ×4", context
    sigFailed = Signal(str, object)  # one line naming the file, context

    def __init__(self, root: str | Path, ask_name: Callable, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.root = Path(root)
        self._ask_name = ask_name
        self._pool = WorkerPool(self)
        self._running: set[str] = set()  # names being imported now

    def _taken(self, name: str) -> bool:
        from imgen_desktop.core.errors import ModelError
        from imgen_desktop.core.store import ModelStore

        if name in self._running:
            return True
        try:
            return ModelStore(self.root).exists(name)
        except ModelError:
            return False

    def import_file(self, path: str, name: str | None = None, context: Any = None) -> None:
        """Import ``path`` (as ``name``, default its stem) in the background; a taken or
        unusable name asks for another first. ``context`` comes back with the result."""
        from imgen_desktop.ui.model_name_dialog import free_name, name_problem

        file = Path(path).name
        name = name or Path(path).stem  # "x.safetensors", "x.pth", "x.ckpt" -> "x"
        if not Path(path).is_file():
            self.sigFailed.emit(f"Could not import {file}: the file is not there ({path}).", context)
            return
        if name_problem(name, self._taken):
            taken = self._taken(name)
            self._ask_name("Import model", f"Name for the imported model ({file}):",
                           free_name(name, self._taken) if taken else name, "Import",
                           lambda new, path=path, context=context: self.import_file(path, new, context),
                           note=f"A model named “{name}” is already in your models." if taken else "")
            return
        self._running.add(name)
        self.sigStarted.emit(file, context)
        self._pool.start(_import, str(self.root), str(path), name, tag=(path, name, context),
                         on_done=self._on_done, on_error=self._on_error)

    def _on_done(self, result: tuple[str, str], tag: tuple) -> None:
        path, name, context = tag
        self._running.discard(name)
        stored, kind = result
        self.sigImported.emit(stored, f"Imported {Path(path).name} as “{stored}”: {kind}", context)

    def _on_error(self, message: str, tag: tuple) -> None:
        path, name, context = tag
        self._running.discard(name)
        if self._taken(name):  # taken meanwhile (a CLI import, a training that just ended): ask again
            self.import_file(path, name, context)
            return
        file = Path(path).name  # the store's messages about a file name it; others get the name first
        self.sigFailed.emit(message if file in message else f"Could not import {file}: {message}", context)

    def busy(self) -> bool:
        return self._pool.busy()

    def wait(self, timeout_ms: int = 60000) -> bool:
        return self._pool.wait_all(timeout_ms)

