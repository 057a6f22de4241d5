"""Where things live: the per-user data root and the shipped ``resources/`` folder.

Data root: ``$IMGEN_HOME`` if set, else the platform's per-user application data folder.
Resources are resolved for a source/editable checkout, a wheel install (``resources/`` is
packaged as ``imgen_desktop.resources``) and a PyInstaller bundle (``sys._MEIPASS``).
"""
from __future__ import annotations

import os
import re
import sys
from pathlib import Path

from imgen_desktop.core.errors import ImgenError, ModelError

APP_DIR_NAME = "imgen-desktop"
MODEL_SUFFIX = ".safetensors"
MAX_NAME = 100
# letters, digits, space, '.', '_', '+', '-'; starts with a letter or digit (so never '..', '.x' or '-x')
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._+-]*$")
# names Windows reserves for devices, with or without an extension (CON, CON.txt, com1 ...)
_RESERVED = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(10)), *(f"lpt{i}" for i in range(10))}


def data_root() -> Path:
    """The one folder that holds the user's models, runs and settings (created on demand)."""
    env = os.environ.get("IMGEN_HOME")
    if env:
        root = Path(env).expanduser()
    elif sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or os.environ.get("APPDATA") or str(Path.home() / "AppData" / "Local")
        root = Path(base) / "ImgenDesktop"
    elif sys.platform == "darwin":
        root = Path.home() / "Library" / "Application Support" / "Imgen Desktop"
    else:
        base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
        root = Path(base) / APP_DIR_NAME
    _make_dir(root, "the data folder")
    return root


def _make_dir(path: Path, what: str) -> None:
    """``mkdir -p`` with one clear ImgenError (the GUI shows it, the CLI prints it) on failure."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        hint = " (set IMGEN_HOME to a folder you can write to)" if what == "the data folder" else ""
        raise ImgenError(f"cannot create {what} {path}: {reason}{hint}") from None
    if not path.is_dir():
        raise ImgenError(f"cannot use {what} {path}: it is not a folder")


def models_dir() -> Path:
    path = data_root() / "models"
    _make_dir(path, "the models folder")
    return path


def runs_dir() -> Path:
    path = data_root() / "runs"
    _make_dir(path, "the runs folder")
    return path


def safe_name(name: object, kind: str = "run") -> str:
    """The one validator for every name that becomes a file or folder name in the data root.

    ``kind`` is "run" or "model" (a model name may not end in ``.safetensors``). Returns the
    name without surrounding spaces; raises ImgenError (ModelError for models) with one
    sentence for anything that could leave its folder or trip an operating system: path
    separators, ``..``, absolute paths, NUL and other control characters, leading dots or
    dashes, trailing dots, more than 100 characters, Windows device names (CON, NUL, COM1...).
    """
    error = ModelError if kind == "model" else ImgenError
    text = name.strip() if isinstance(name, str) else ""
    shown = repr(name)[:60] + ("..." if len(repr(name)) > 60 else "")
    rule = f"use letters, digits, spaces, '.', '_', '+' or '-', starting with a letter or digit (at most {MAX_NAME})"
    if not text:
        raise error(f"invalid {kind} name {shown}: the name is empty; {rule}")
    if len(text) > MAX_NAME or not _NAME_RE.match(text) or text.endswith("."):
        raise error(f"invalid {kind} name {shown}: {rule}")
    if kind == "model" and text.lower().endswith(MODEL_SUFFIX):
        raise error(f"invalid {kind} name {shown}: leave out the {MODEL_SUFFIX} ending")
    if text.split(".", 1)[0].strip().lower() in _RESERVED:
        raise error(f"invalid {kind} name {shown}: {text.split('.', 1)[0]} is a name Windows reserves for a device")
    return text


def _inside(path: Path, root: Path, kind: str, name: str) -> Path:
    """``path`` unless it (or a link on the way) leads outside ``root``."""
    try:
        real, real_root = path.resolve(), root.resolve()
    except (OSError, RuntimeError):  # a link loop
        real, real_root = None, root
    if real is None or (real != real_root and real_root not in real.parents) or path.is_symlink():
        error = ModelError if kind == "model" else ImgenError
        raise error(f"the {kind} {name!r} is a link that leads outside {root}; refusing to use it")
    return path


def run_dir(name: str) -> Path:
    """``$IMGEN_HOME/runs/NAME`` for a valid run name (not created); never a path outside it."""
    name = safe_name(name, "run")
    root = runs_dir()
    return _inside(root / name, root, "run", name)


def model_path(name: str, root: str | os.PathLike | None = None) -> Path:
    """``$IMGEN_HOME/models/NAME.safetensors`` (or in ``root``) for a valid model name."""
    name = safe_name(name, "model")
    folder = Path(root) if root is not None else models_dir()
    return folder / f"{name}{MODEL_SUFFIX}"


def settings_path() -> Path:
    return data_root() / "settings.ini"


def _resource_candidates() -> list[Path]:
    here = Path(__file__).resolve().parent.parent  # imgen_desktop/
    candidates = []
    meipass = getattr(sys, "_MEIPASS", None)
    if meipass:
        candidates.append(Path(meipass) / "resources")
    candidates.append(here.parent / "resources")  # source checkout / editable install
    candidates.append(here / "resources")  # wheel install
    return candidates


def resources_dir() -> Path:
    """The shipped resources folder (icons, built-in models, sample data)."""
    for cand in _resource_candidates():
        if (cand / "icons").is_dir():
            return cand
    raise FileNotFoundError(
        "Imgen Desktop's resources folder was not found; looked in: "
        + ", ".join(str(c) for c in _resource_candidates())
    )


def resource_path(*parts: str) -> Path:
    """Path of a file inside ``resources/``, e.g. ``resource_path("icons", "app.png")``."""
    return resources_dir().joinpath(*parts)
