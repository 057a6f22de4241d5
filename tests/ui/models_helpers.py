"""Helpers for the Models tab tests: a real tiny generator in the store, and the window's tabs."""
from __future__ import annotations

import time

from PySide6.QtWidgets import QTabWidget, QWidget


def save_real_generator(store_dir, name="tiny-gan"):
    """Export a real (untrained) tiny DCGAN generator through the registry, as the trainer does."""
    import torch

    from imgen_desktop.core.config import TrainConfig
    from imgen_desktop.core.models import for_training
    from imgen_desktop.core.models.base import Amp
    from imgen_desktop.core.store import ModelStore

    cfg = TrainConfig(family="gan", task="generate", image_size=32, width=8, z_dim=16, batch_size=4, ema=0.0)
    torch.manual_seed(0)
    arch = for_training("gan", "generate")
    device = torch.device("cpu")
    recipe = arch.recipe(cfg, 1, device, Amp(device, enabled=False))
    net, arch_id, params = recipe.export()
    meta = {"family": "gan", "task": "generate", "scale": 1, "channels": 1, "arch": arch_id, "arch_params": params,
            "dataset": "builtin:digits", "steps": 123, "created": time.time(), "metrics": {}, "config": cfg.to_dict()}
    return ModelStore(store_dir).save(name, dict(net.state_dict()), meta)


def shipped_builtins() -> tuple[str, ...]:
    """The built-in models this installation ships (the sharp upscalers only where their files are)."""
    from imgen_desktop.core import enhance

    return tuple(enhance.BUILTIN_PREFIX + n for n in enhance.ALL_BUILTIN_NAMES if enhance.builtin_path(n).is_file())


def open_models_tab(window, qtbot, rows: int):
    """Switch the window to its Models tab and wait until the table lists ``rows`` rows."""
    tabs = window.findChild(QTabWidget, "mainTabs")
    panel = window.findChild(QWidget, "modelsPanel")
    tabs.setCurrentWidget(panel)
    qtbot.waitUntil(lambda: panel.table.rowCount() == rows, timeout=30_000)
    return panel


def row_of(panel, name: str) -> int:
    for row in range(panel.table.rowCount()):
        if panel.table.item(row, 0).data(0x0100) == name:  # Qt.UserRole
            return row
    raise AssertionError(f"{name!r} not in the table")
