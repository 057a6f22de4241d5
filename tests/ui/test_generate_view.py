"""The Generate view on the Models tab, through the real window, on a real tiny GAN generator:
samples, the picture count regenerates, reseed, interpolate, the header follows a rename, and
Save grid / Save images to folder write what ``imgen generate`` writes (same code, same names),
in a worker, atomically."""
from __future__ import annotations

import threading

import numpy as np
import pytest
from models_helpers import open_models_tab, save_real_generator, shipped_builtins
from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QLineEdit, QPushButton

pytestmark = pytest.mark.timeout(180)


@pytest.fixture
def view(main_window, qtbot, imgen_home):
    from imgen_desktop.core.paths import models_dir

    save_real_generator(models_dir())
    window = main_window()
    panel = open_models_tab(window, qtbot, rows=1 + len(shipped_builtins()))
    panel.select("tiny-gan")
    v = panel.generate_view
    qtbot.waitUntil(lambda: len(v.tiles.images) == 16 and v.reseed_button.isEnabled(), timeout=60_000)
    v.panel = panel
    return v


def test_samples_count_change_reseed_and_interpolate(view, qtbot):
    first = np.stack(view.tiles.images)
    assert first.shape == (16, 32, 32, 1) and first.dtype == np.uint8
    assert view.seeds == list(range(16)) and len({im.tobytes() for im in view.tiles.images}) == 16
    assert "tiny-gan" in view.title.text()

    view.count_spin.setValue(9)  # no Reseed needed: the pictures follow the count
    qtbot.waitUntil(lambda: len(view.tiles.images) == 9 and view.reseed_button.isEnabled(), timeout=60_000)
    assert np.array_equal(np.stack(view.tiles.images), first[:9])  # the same seeds, fewer of them

    view.reseed_button.click()
    qtbot.waitUntil(lambda: view.seeds and view.seeds[0] != 0 and view.reseed_button.isEnabled(), timeout=60_000)
    assert len(view.tiles.images) == 9 and not np.array_equal(np.stack(view.tiles.images), first[:9])

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


def test_header_follows_a_rename(view, qtbot):
    panel = view.panel
    shown = [im.copy() for im in view.tiles.images]
    panel.buttons["rename"].click()
    qtbot.waitUntil(lambda: panel.findChild(QLineEdit, "modelNameEdit") is not None, timeout=5000)
    edit = panel.findChild(QLineEdit, "modelNameEdit")
    edit.setText("digits dreamer")
    next(b for b in edit.window().findChildren(QPushButton) if b.text() == "Rename").click()
    qtbot.waitUntil(lambda: panel.selected_name() == "digits dreamer", timeout=5000)
    assert "digits dreamer" in view.title.text() and "tiny-gan" not in view.title.text()
    assert all(np.array_equal(a, b) for a, b in zip(shown, view.tiles.images))  # not reloaded
    view.reseed_button.click()  # and the model still works under its new name
    qtbot.waitUntil(lambda: view.seeds[0] != 0 and view.reseed_button.isEnabled(), timeout=60_000)


def _cli(args) -> None:
    from imgen_desktop.cli import main

    assert main(["generate", "--model", "tiny-gan", "--device", "cpu", *args]) == 0


def test_save_grid_and_folder_match_imgen_generate(view, qtbot, tmp_path, monkeypatch):
    import imgen_desktop.core.generate as core_generate

    threads = []
    real_save = core_generate.save_images
    monkeypatch.setattr(core_generate, "save_images",
                        lambda *a, **k: threads.append(threading.current_thread()) or real_save(*a, **k))
    view.count_spin.setValue(6)
    qtbot.waitUntil(lambda: len(view.tiles.images) == 6 and view.reseed_button.isEnabled(), timeout=60_000)

    grid = tmp_path / "gui grid"  # no suffix typed: the dialog's .png is added
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(grid), "PNG image (*.png)"))
    with qtbot.waitSignal(view.sigSaved, timeout=30_000) as saved:
        view.save_grid_button.click()
    assert saved.args[0] == [str(grid) + ".png"]
    assert threads and threads[-1] is not threading.main_thread()  # written off the GUI thread
    _cli(["-n", "6", "--seed", str(view.seed), "-o", str(tmp_path / "cli.png")])
    assert np.array_equal(np.asarray(Image.open(str(grid) + ".png")), np.asarray(Image.open(tmp_path / "cli.png")))
    assert "Saved a grid of 6 pictures" in view.status.text()

    folder = tmp_path / "gui"
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(folder))
    with qtbot.waitSignal(view.sigSaved, timeout=30_000):
        view.save_button.click()
    _cli(["-n", "6", "--seed", str(view.seed), "-o", str(tmp_path / "cli")])
    gui_files = sorted(p.name for p in folder.iterdir())
    assert gui_files == sorted(p.name for p in (tmp_path / "cli").iterdir())  # names like sample_0_0000.png
    assert len(gui_files) == 6 and not any(n.startswith(".") for n in gui_files)  # no temporary files left
    for name in gui_files:
        assert np.array_equal(np.asarray(Image.open(folder / name)), np.asarray(Image.open(tmp_path / "cli" / name)))
    assert "Saved 6 pictures" in view.status.text()


def test_a_save_that_cannot_be_written_says_so(view, qtbot, tmp_path, monkeypatch):
    blocker = tmp_path / "a file"
    blocker.write_text("not a folder")
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(blocker))
    view.save_button.click()
    qtbot.waitUntil(lambda: "not a folder" in view.status.text(), timeout=30_000)
    assert blocker.read_text() == "not a folder" and len(view.status.text().splitlines()) == 1
