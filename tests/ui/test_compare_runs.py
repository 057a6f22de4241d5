"""Compare runs in the Train tab of the real window: tick past runs, their curves overlay the loss
plot (one colour per run, named in the legend), per-curve visibility, step / time alignment,
smoothing and log scale apply to them, and a live run keeps updating beside them."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox, QComboBox, QLineEdit, QPushButton, QSlider, QTabWidget, QTreeWidget

from tests.ui.train_runs_helpers import make_runs

pytestmark = pytest.mark.timeout(240)
RUNS = (("gan-a", "gan", 30), ("vae-b", "vae", 30), ("gan-c", "gan", 20))


@pytest.fixture(autouse=True)
def _one_thread(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")


def _open_compare(qtbot, window):
    panel = window.train_panel
    window.tabs.setCurrentWidget(panel)
    tabs = panel.findChild(QTabWidget, "trainBottomTabs")
    tabs.setCurrentWidget(panel.compare)
    tree = panel.findChild(QTreeWidget, "compareRunList")
    qtbot.waitUntil(lambda: tree.topLevelItemCount() == len(RUNS), timeout=30_000)
    return panel, tree


def _tick(tree, name):
    for i in range(tree.topLevelItemCount()):
        item = tree.topLevelItem(i)
        if item.text(0) == name:
            item.setCheckState(0, Qt.CheckState.Checked)
            return item
    raise AssertionError(f"{name} not listed")


def test_runs_list_shows_each_run_with_its_summary(qtbot, main_window, imgen_home):
    make_runs(imgen_home, RUNS)
    panel, tree = _open_compare(qtbot, main_window())
    rows = {tree.topLevelItem(i).text(0): [tree.topLevelItem(i).text(c) for c in range(tree.columnCount())]
            for i in range(tree.topLevelItemCount())}
    assert set(rows) == {"gan-a", "vae-b", "gan-c"}
    assert [tree.headerItem().text(c) for c in range(6)] == ["Run", "Model", "Pictures", "Steps", "Final losses", "Date"]
    assert rows["gan-a"][1].startswith("GAN") and rows["vae-b"][1].startswith("VAE")
    assert rows["gan-a"][2] == "builtin:digits"
    assert rows["gan-a"][3] == "30 / 30" and rows["gan-c"][3] == "20 / 20"
    assert "Generator" in rows["gan-a"][4] and "Discriminator" in rows["gan-a"][4]
    assert rows["gan-a"][5][:2] == "20"  # a date


def test_ticked_runs_overlay_the_plot_with_one_colour_each(qtbot, main_window, imgen_home):
    from imgen_desktop.core.runs import read_curves

    make_runs(imgen_home, RUNS)
    panel, tree = _open_compare(qtbot, main_window())
    plot = panel.loss_plot
    _tick(tree, "gan-a")
    _tick(tree, "vae-b")
    qtbot.waitUntil(lambda: set(plot.overlay_runs()) == {"gan-a", "vae-b"} and not panel.compare.is_loading(), timeout=30_000)
    plot.flush()
    names = plot.curve_names()
    assert {"gan-a · Generator", "gan-a · Discriminator", "vae-b · Reconstruction", "vae-b · KL divergence"} <= set(names)
    # the curves are the run's own metrics, on the step axis
    truth = read_curves("gan-a")["loss.g"]
    x, y = plot.overlay_curves[("gan-a", "loss.g")].getData()
    np.testing.assert_array_equal(x, truth.steps.astype(float))
    np.testing.assert_allclose(y, truth.values)
    # one colour per run (its curves share it; the runs differ)
    def colour(run, key):
        return plot.overlay_curves[(run, key)].opts["pen"].color().name()
    assert colour("gan-a", "loss.g") == colour("gan-a", "loss.d") != colour("vae-b", "loss.recon")
    # per-curve visibility
    plot.set_curve_visible("gan-a · Generator", False)
    assert not plot.overlay_curves[("gan-a", "loss.g")].isVisible() and plot.overlay_curves[("gan-a", "loss.d")].isVisible()
    plot.set_curve_visible("gan-a · Generator", True)
    # align on training time: x becomes the seconds recorded in metrics.jsonl
    align = panel.findChild(QComboBox, "alignCombo")
    align.setCurrentIndex(align.findData("time"))
    x, _ = plot.overlay_curves[("gan-a", "loss.g")].getData()
    np.testing.assert_allclose(x, truth.times)
    assert plot.getPlotItem().getAxis("bottom").labelText == "training time (s)"
    align.setCurrentIndex(align.findData("step"))
    # the same smoothing and log toggles
    panel.findChild(QSlider, "smoothingSlider").setValue(80)
    _, ys = plot.overlay_curves[("gan-a", "loss.g")].getData()
    assert not np.allclose(ys, truth.values) and np.std(np.diff(ys)) < np.std(np.diff(truth.values))
    panel.findChild(QCheckBox, "logScaleCheck").setChecked(True)
    assert plot.is_log_scale()
    # unticking removes the run's curves and legend entries
    _tick(tree, "gan-a").setCheckState(0, Qt.CheckState.Unchecked)
    assert plot.overlay_runs() == ["vae-b"]
    assert not any(n.startswith("gan-a") for n in plot.curve_names())


def test_a_live_run_keeps_updating_beside_compared_runs(qtbot, main_window, imgen_home):
    make_runs(imgen_home, RUNS)
    window = main_window()
    panel, tree = _open_compare(qtbot, window)
    qtbot.waitUntil(lambda: panel.preset_combo.count() > 0, timeout=10_000)
    plot = panel.loss_plot
    _tick(tree, "gan-c")
    qtbot.waitUntil(lambda: plot.overlay_runs() == ["gan-c"], timeout=30_000)
    family = panel.findChild(QComboBox, "familyCombo")
    family.setCurrentIndex(family.findData("gan"))
    panel.findChild(QLineEdit, "datasetEdit").setText("builtin:digits")
    for key, value in (("image_size", 16), ("width", 8), ("batch_size", 16), ("steps", 30), ("sample_every", 10),
                       ("checkpoint_every", 0)):
        panel.fields[key].put(value)
    panel.findChild(QLineEdit, "runNameEdit").setText("live-d")
    qtbot.mouseClick(panel.findChild(QPushButton, "startButton"), Qt.MouseButton.LeftButton)
    with qtbot.waitSignal(panel.sigRunFinished, timeout=180_000):
        pass
    plot.flush()
    assert plot.point_count("loss.g") >= 5  # the live curve grew...
    assert plot.overlay_runs() == ["gan-c"]  # ...and the compared run stayed
    assert {"gan-c · Generator", "live-d · Generator"} <= set(plot.curve_names())  # the live run is named too
    live, other = plot.curves["loss.g"].opts["pen"].color().name(), plot.overlay_curves[("gan-c", "loss.g")].opts["pen"].color().name()
    assert live != other
    x, _ = plot.curves["loss.g"].getData()
    assert x[-1] == 30
    # training time is known for the live curve too
    assert np.all(np.isfinite(plot.series["loss.g"].xs("time")))
    # the finished run joins the list, and the ticks are kept
    qtbot.waitUntil(lambda: "live-d" in panel.compare.run_names(), timeout=30_000)
    assert panel.compare.checked() == ["gan-c"]


def test_a_run_loaded_before_the_devices_are_known_keeps_its_settings(qtbot, main_window, imgen_home):
    """First launch on a CPU picks the quick preset when the devices arrive, but never over a loaded run."""
    make_runs(imgen_home, RUNS)
    window = main_window()
    panel = window.train_panel
    panel.prepare_resume("gan-a")  # before the device scan has answered
    device = panel.findChild(QComboBox, "deviceCombo")
    qtbot.waitUntil(lambda: device.count() > 1, timeout=120_000)
    cfg = panel.config()
    assert (cfg.image_size, cfg.batch_size, cfg.steps, cfg.width, cfg.name) == (16, 16, 30, 8, "gan-a")
