"""Persistent UI settings (window geometry, last folders, theme, recent files) in the data root.

settings.ini is a text file a user (or a crash) can leave in any state, so nothing reads it
raw: the typed readers below (:func:`read_int`, :func:`read_float`, :func:`read_bool`,
:func:`read_str`, :func:`read_bytes`, :func:`read_list`) return the default for a missing,
unparsable or out-of-range value, and a bad value never stops the window from starting.
"""
from __future__ import annotations

import math
import os
from typing import Iterable

from PySide6.QtCore import QByteArray, QSettings

from imgen_desktop.core.paths import settings_path
from imgen_desktop.core.tasks import FAMILY_LIST, TASK_LIST

RECENT_KEY = "files/recent"
RECENT_MAX = 10


def app_settings() -> QSettings:
    return QSettings(str(settings_path()), QSettings.Format.IniFormat)


def _raw(key: str, settings: QSettings | None = None):
    try:
        return (settings or app_settings()).value(key, None)
    except Exception:  # noqa: BLE001 - a value QSettings cannot even decode
        return None


def read_int(key: str, default: int, lo: int | None = None, hi: int | None = None,
             settings: QSettings | None = None) -> int:
    """The integer at ``key``, or ``default`` if it is missing, not an integer or outside [lo, hi]."""
    value = _raw(key, settings)
    try:
        if isinstance(value, bool) or value is None:
            return default
        if isinstance(value, float):
            if not value.is_integer():
                return default
            number = int(value)
        else:
            number = int(str(value).strip())
    except (TypeError, ValueError, OverflowError):
        return default
    if (lo is not None and number < lo) or (hi is not None and number > hi):
        return default
    return number


def read_float(key: str, default: float, lo: float | None = None, hi: float | None = None,
               settings: QSettings | None = None) -> float:
    """The finite number at ``key``, or ``default`` if it is missing, not a number or outside [lo, hi]."""
    value = _raw(key, settings)
    try:
        if isinstance(value, bool) or value is None:
            return default
        number = float(str(value).strip()) if not isinstance(value, (int, float)) else float(value)
    except (TypeError, ValueError, OverflowError):
        return default
    if not math.isfinite(number) or (lo is not None and number < lo) or (hi is not None and number > hi):
        return default
    return number


_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off"}


def read_bool(key: str, default: bool, settings: QSettings | None = None) -> bool:
    """true/false, yes/no, on/off or 1/0 at ``key``; ``default`` for anything else."""
    value = _raw(key, settings)
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower() if value is not None else ""
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    return default


def read_str(key: str, default: str, choices: Iterable[str] | None = None,
             settings: QSettings | None = None) -> str:
    """The text at ``key`` (one of ``choices`` when given), else ``default``."""
    value = _raw(key, settings)
    if value is None or isinstance(value, (list, tuple, dict, QByteArray, bytes)):
        return default
    text = str(value)
    if choices is not None and text not in set(choices):
        return default
    return text


def read_bytes(key: str, settings: QSettings | None = None) -> QByteArray | None:
    """The binary value at ``key`` (window geometry), or None if it is missing or not binary."""
    value = _raw(key, settings)
    if isinstance(value, (bytes, bytearray)):
        value = QByteArray(bytes(value))
    if isinstance(value, QByteArray) and not value.isEmpty():
        return value
    return None


def read_list(key: str, settings: QSettings | None = None) -> list[str]:
    """A list of texts at ``key`` (a single text is a one-item list); [] for anything else."""
    value = _raw(key, settings)
    if isinstance(value, str):
        return [value] if value else []
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value if isinstance(v, str) and v]
    return []


def write_value(key: str, value) -> None:
    s = app_settings()
    s.setValue(key, value)
    s.sync()


def last_folder(key: str, default: str = "") -> str:
    return read_str(f"folders/{key}", default) or default


def remember_folder(key: str, folder: str) -> None:
    write_value(f"folders/{key}", folder)


# --- recent files ---------------------------------------------------------------------------

def recent_files() -> list[str]:
    """The last opened files, newest first; entries whose file is gone are dropped (and forgotten)."""
    listed = read_list(RECENT_KEY)
    alive = [p for p in listed if os.path.exists(p)][:RECENT_MAX]
    if alive != listed:
        write_value(RECENT_KEY, alive)
    return alive


def add_recent_file(path: str) -> list[str]:
    path = os.path.abspath(path)
    files = [path] + [p for p in read_list(RECENT_KEY) if os.path.abspath(p) != path]
    files = files[:RECENT_MAX]
    write_value(RECENT_KEY, files)
    return files


def clear_recent_files() -> None:
    write_value(RECENT_KEY, [])


# --- repair at start-up ---------------------------------------------------------------------
# Known keys and what a valid value is; :func:`sanitize_settings` removes any other value, so
# code that still reads a key raw (or an older version's reader) never sees garbage.
_SCHEMA: dict[str, tuple] = {
    "window/tab": ("int", 0, 16),
    "window/geometry": ("bytes",),
    "ui/theme": ("str", ("system", "dark", "light")),
    "enhance/quality": ("int", 1, 100),
    "enhance/model": ("str", None),
    "train/dataset": ("str", None),
    "train/family": ("str", tuple(f.name for f in FAMILY_LIST)),
    "train/task": ("str", tuple(t.name for t in TASK_LIST)),
    "train/preset": ("str", None),
    RECENT_KEY: ("list",),
}


def _valid(key: str, kind: tuple, s: QSettings) -> bool:
    sentinel = object()
    if kind[0] == "int":
        return read_int(key, sentinel, kind[1], kind[2], settings=s) is not sentinel  # type: ignore[arg-type]
    if kind[0] == "bytes":
        return read_bytes(key, settings=s) is not None
    if kind[0] == "str":
        return read_str(key, sentinel, kind[1], settings=s) is not sentinel  # type: ignore[arg-type]
    if kind[0] == "list":
        value = _raw(key, s)
        return isinstance(value, (str, list, tuple))
    return True


def sanitize_settings() -> list[str]:
    """Remove the known keys whose stored value is invalid; returns the keys removed."""
    s = app_settings()
    removed = []
    for key, kind in _SCHEMA.items():
        try:
            present = s.contains(key)
        except Exception:  # noqa: BLE001
            present = False
        if present and not _valid(key, kind, s):
            s.remove(key)
            removed.append(key)
    if removed:
        s.sync()
    return removed
