"""Where things live: the per-user data root and the shipped ``resources/`` folder.

Data root: ``$IMGEN_HOME`` if set, else the platform's per-user application data folder.
Resources are resolved for a source/editable checkout, a wheel install (``resources/`` is
packaged as ``imgen_desktop.resources``) and a PyInstaller bundle (``sys._MEIPASS``).
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

APP_DIR_NAME = "imgen-desktop"


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
    root.mkdir(parents=True, exist_ok=True)
    return root


def models_dir() -> Path:
    path = data_root() / "models"
    path.mkdir(parents=True, exist_ok=True)
    return path


def runs_dir() -> Path:
    path = data_root() / "runs"
    path.mkdir(parents=True, exist_ok=True)
    return path


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
