"""Shared fixtures: every test gets its own data root and runs Qt offscreen."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

# Set at import time so that anything imported during collection (Qt, the data root) sees them.
# Offscreen with a 1920x1080 screen (Qt's default offscreen screen is 800x800, smaller than the
# window's minimum width, which makes geometry tests meaningless).
OFFSCREEN = f"offscreen:configfile={Path(__file__).with_name('offscreen_screen.json')}"
os.environ["QT_QPA_PLATFORM"] = OFFSCREEN
os.environ.setdefault("IMGEN_HOME", tempfile.mkdtemp(prefix="imgen-test-home-"))


@pytest.fixture(autouse=True)
def imgen_home(tmp_path_factory, monkeypatch):
    """A fresh, empty data root (``$IMGEN_HOME``) for each test; returns its path.

    It lies outside ``tmp_path`` so a test's own ``tmp_path`` starts empty.
    """
    home = tmp_path_factory.mktemp("imgen-home")
    monkeypatch.setenv("IMGEN_HOME", str(home))
    monkeypatch.setenv("QT_QPA_PLATFORM", OFFSCREEN)
    # exact comparisons (tiled == whole image within 1/255) assume fp32; on a CPU with AMX /
    # AVX-512-BF16 "auto" would pick bf16. Tests of auto itself delete this variable.
    monkeypatch.setenv("IMGEN_PRECISION", "fp32")
    return home


@pytest.fixture
def main_window(qtbot):
    """Factory: ``main_window(show=True)`` builds a main window via ``create_main_window()``.

    Windows are registered with qtbot and closed at teardown (which saves their layout);
    teardown also checks that each window's device scanner thread has finished.
    """
    windows = []

    def make(show: bool = True):
        from imgen_desktop.app import create_main_window

        window = create_main_window()
        qtbot.addWidget(window)
        windows.append(window)
        if show:
            window.show()
            qtbot.waitExposed(window)
        return window

    yield make

    for window in windows:
        window.close()
        scanner = getattr(window, "_scanner", None)
        if scanner is not None:
            # the scanner imports torch, which can take a while on a loaded machine
            assert scanner.wait(120_000), "device scanner thread still running after close"


@pytest.fixture
def make_model_file():
    """Factory: ``make_model_file(path, **meta)`` writes a tiny, valid Imgen model file.

    ``meta`` overrides the defaults (a GAN x2 upscaler). The weights are a real, tiny network
    of the file's architecture (``{family}.restore``, or the family's generator for
    ``task="generate"``), so the file passes the store's import checks and loads; returns the path.
    """

    def make(path, **meta):
        import torch

        from imgen_desktop.core import models
        from imgen_desktop.core.store import save_model_file

        base = {
            "family": "gan",
            "task": "upscale",
            "scale": 2,
            "channels": 3,
            "dataset": "builtin:photos",
            "steps": 10,
            "metrics": {"psnr": 30.5},
        }
        full = {**base, **meta}
        if "arch" not in meta:
            if full["task"] == "generate":
                full["arch"], full["arch_params"] = {
                    "gan": ("gan.dcgan", {"z_dim": 4, "channels": full["channels"], "width": 2, "image_size": 16}),
                    "vae": ("vae.conv", {"size": 8, "channels": full["channels"], "latent_dim": 2, "width": 2}),
                    "rnn": ("rnn.draw", {"size": 8, "channels": full["channels"], "z_dim": 2, "hidden": 4, "steps": 2}),
                }[full["family"]]
            else:
                full["arch"] = f"{full['family']}.restore"
                full["arch_params"] = {"channels": full["channels"], "task": full["task"], "scale": full["scale"],
                                       "width": 4, "blocks": 1, **({"latent": 2} if full["family"] == "vae" else {})}
            full.update({k: v for k, v in meta.items() if k == "arch_params"})
        torch.manual_seed(0)
        try:
            tensors = models.build_from_meta(full).state_dict()
        except Exception:  # an architecture the test invents: any small tensors will do
            tensors = {"conv.weight": torch.randn(4, 3, 3, 3), "conv.bias": torch.zeros(4)}
        return save_model_file(path, tensors, full)

    return make


@pytest.fixture(autouse=True)
def _collect_qt_garbage(request):
    """After each test that used Qt widgets (and after qtbot closed them): deliver pending
    deletions and collect reference cycles now. Otherwise the garbage collector may free a closed
    window's widgets at an arbitrary allocation inside a *later* test's event loop, which crashed
    the process (SIGSEGV). Tests without qtbot or qapp make no widgets: they skip the ~0.4 s collection."""
    yield
    if not {"qtbot", "qapp"} & set(request.fixturenames):
        return
    import gc
    import sys

    if "PySide6.QtCore" in sys.modules:
        from PySide6.QtCore import QCoreApplication, QEvent

        app = QCoreApplication.instance()
        if app is not None:
            QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
            app.processEvents()
    gc.collect()
