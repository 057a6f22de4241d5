"""Discover devices off the GUI thread (the first torch import takes a second or two)."""
from __future__ import annotations

from PySide6.QtCore import QThread, Signal


class DeviceScanner(QThread):
    """Emits ``sigDevices(list[(id, label)], warning)`` once torch is imported and devices listed."""

    sigDevices = Signal(list, str)

    def run(self) -> None:
        try:
            from imgen_desktop.core.devices import cpu_only_build_warning, list_devices

            devices = [(d.id, d.label()) for d in list_devices()]
            warning = cpu_only_build_warning() or ""
        except Exception as exc:  # torch missing or broken: still usable for browsing
            devices, warning = [("cpu", "cpu")], f"device discovery failed: {exc}"
        self.sigDevices.emit(devices, warning)
