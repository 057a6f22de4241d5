"""Models panel: listing (with a corrupt file), rename, delete, use on canvas, auto-refresh,
and the Generate view on a real tiny GAN generator."""
from __future__ import annotations

import shutil
import time

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtWidgets import QInputDialog, QMessageBox

pytestmark = pytest.mark.timeout(120)


def _save_real_generator(store_dir, name="tiny-gan"):
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


@pytest.fixture
def panel(qtbot, imgen_home, make_model_file):
    from imgen_desktop.core.paths import models_dir
    from imgen_desktop.ui.models_panel import ModelsPanel

    root = models_dir()
    _save_real_generator(root)
    make_model_file(root / "sharp-x2.safetensors", steps=4321)
    (root / "broken.safetensors").write_bytes(b"\x00\x01 this is not a safetensors file")
    widget = ModelsPanel()
    qtbot.addWidget(widget)
    widget.resize(1100, 700)
    widget.show()
    qtbot.waitUntil(lambda: len(widget.infos) == 3, timeout=30_000)
    yield widget
    widget.shutdown()


def _row(panel, name):
    return [i.name for i in panel.infos].index(name)


def test_lists_models_and_a_corrupt_file_without_breaking(panel):
    t = panel.table
    assert t.rowCount() == 3
    r = _row(panel, "tiny-gan")
    assert [t.item(r, c).text() for c in (0, 1, 2, 5)] == ["tiny-gan", "GAN", "generate", "123"]
    assert t.item(r, 3).text().startswith(time.strftime("%Y-"))
    assert t.item(r, 4).text().endswith("KB")
    r = _row(panel, "sharp-x2")
    assert t.item(r, 2).text() == "upscale ×2" and t.item(r, 5).text() == "4,321"
    r = _row(panel, "broken")
    err = t.item(r, 0)
    assert "unreadable" in err.text() and "broken.safetensors" in err.text()
    assert err.foreground().color().red() > 200 and t.item(r, 1).text() == ""
    assert "1 unreadable" in panel.info.text()
    panel.select("broken")
    assert panel.selected_name() == "broken"  # the row still knows its model name
    assert "not a valid safetensors file" in panel.info.text()


def test_rename_delete_and_use_on_canvas(qtbot, panel, monkeypatch):
    panel.select("sharp-x2")
    assert panel.buttons["use"].isEnabled()  # an enhancement model
    with qtbot.waitSignal(panel.sigUseModel) as used:
        panel.buttons["use"].click()
    assert used.args == ["sharp-x2"]

    monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: ("crisp x2", True))
    with qtbot.waitSignal(panel.sigModelsChanged, timeout=5000):
        panel.buttons["rename"].click()
    assert (panel.root / "crisp x2.safetensors").is_file() and not (panel.root / "sharp-x2.safetensors").exists()
    assert panel.selected_name() == "crisp x2"

    monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: ("tiny-gan", True))  # taken
    panel.buttons["rename"].click()
    assert "already exists" in panel.info.text()
    panel._error_box.close()

    panel.select("broken")
    assert not panel.buttons["use"].isEnabled() and not panel.buttons["export"].isEnabled()
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.No)
    panel.buttons["delete"].click()
    assert (panel.root / "broken.safetensors").exists()  # declined
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    panel.buttons["delete"].click()
    assert not (panel.root / "broken.safetensors").exists()
    assert sorted(i.name for i in panel.infos) == ["crisp x2", "tiny-gan"]


def test_folder_is_watched(qtbot, panel, tmp_path):
    copy = tmp_path / "elsewhere.safetensors"
    shutil.copyfile(panel.root / "tiny-gan.safetensors", copy)
    with qtbot.waitSignal(panel.sigModelsChanged, timeout=15_000):
        shutil.copyfile(copy, panel.root / "from-cli.safetensors")
    assert "from-cli" in [i.name for i in panel.infos]


def test_generate_view_samples_reseeds_interpolates_and_saves(qtbot, panel, tmp_path):
    view = panel.generate_view
    assert view.objectName() == "generateView"
    panel.select("tiny-gan")
    qtbot.waitUntil(lambda: len(view.tiles.images) == 16, timeout=60_000)
    first = np.stack(view.tiles.images)
    assert first.shape == (16, 32, 32, 1) and first.dtype == np.uint8
    assert view.seeds == list(range(16))
    assert len({im.tobytes() for im in view.tiles.images}) == 16  # 16 different pictures

    view.reseed()
    qtbot.waitUntil(lambda: view.seeds and view.seeds[0] != 0 and view.reseed_button.isEnabled(), timeout=60_000)
    assert not np.array_equal(np.stack(view.tiles.images), first)

    # click two tiles, interpolate A -> B: the path starts at A and ends at B
    for i in (2, 5):
        qtbot.mouseClick(view.tiles, Qt.MouseButton.LeftButton, pos=view.tiles.tile_rect(i).center().toPoint())
    assert view.tiles.selected == [2, 5]
    a, b = view.tiles.images[2].astype(int), view.tiles.images[5].astype(int)
    view.interp_button.click()
    qtbot.waitUntil(lambda: view.interpolation is not None, timeout=60_000)
    frames = view.interpolation.astype(int)
    assert frames.shape == (8, 32, 32, 1)
    assert np.abs(frames[0] - a).max() <= 2 and np.abs(frames[-1] - b).max() <= 2
    assert view.strip.isVisible()

    written = view.save_images(tmp_path / "out")
    assert len(written) == 16 + 8 and all(p.stat().st_size > 0 for p in written)

    panel.select("sharp-x2")  # not a generator: the view says so and clears
    qtbot.waitUntil(lambda: view.tiles.images == [], timeout=5000)
    assert "enhancement model" in view.status.text()
