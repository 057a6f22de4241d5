"""Persistent UI settings (window geometry, last folders, theme) in the data root."""
from __future__ import annotations

from PySide6.QtCore import QSettings

from imgen_desktop.core.paths import settings_path


def app_settings() -> QSettings:
    return QSettings(str(settings_path()), QSettings.Format.IniFormat)


def last_folder(key: str, default: str = "") -> str:
    value = app_settings().value(f"folders/{key}", default)
    return str(value) if value else default


def remember_folder(key: str, folder: str) -> None:
    s = app_settings()
    s.setValue(f"folders/{key}", folder)
    s.sync()
