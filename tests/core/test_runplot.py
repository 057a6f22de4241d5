"""core.runplot (and the curve readers it uses in core.runs): series, smoothing, ticks, the PNG chart."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
from PIL import Image, ImageColor

from imgen_desktop.core import runplot, runs
from imgen_desktop.core.config import TrainConfig
from imgen_desktop.core.errors import ImgenError


def _write_run(home, name, rows, family="gan", steps=100, grids=()):
    folder = home / "runs" / name
    (folder / "samples").mkdir(parents=True)
    (folder / "config.json").write_text(TrainConfig(family=family, name=name, steps=steps).to_json())
    text = "".join(json.dumps(r) + "\n" for r in rows)
    (folder / "metrics.jsonl").write_text(text + '{"step": 99999, "loss.d": 1')  # a line cut short by a crash
    for g in grids:
        (folder / "samples" / g).write_bytes(b"png")
    return folder


def _gan_rows(n=50, scale=1.0, t=0.5):
    return [{"step": s, "time": s * t, "loss.d": scale * (1.5 - s / (2 * n)), "loss.g": scale * (0.8 + s / n)} for s in range(1, n + 1)]


def test_read_curves_gives_arrays_per_metric_and_skips_bad_values(imgen_home):
    rows = _gan_rows(5) + [{"step": 5, "time": 2.5, "health.diversity": 0.7}, {"step": 6, "time": 3.0, "loss.d": "nan", "loss.g": 1.0}]
    _write_run(imgen_home, "r", rows, grids=("step_000005.png", "step_000005_reconstructions.png", "step_000002.png", "notes.txt"))
    curves = runs.read_curves("r")
    assert set(curves) == {"loss.d", "loss.g", "health.diversity"}
    d = curves["loss.d"]
    assert d.steps.tolist() == [1, 2, 3, 4, 5, 6] and d.times[-1] == pytest.approx(3.0)
    assert math.isnan(d.values[-1]) and d.last() == (5, pytest.approx(1.5 - 5 / 10))  # the last finite value
    assert curves["health.diversity"].steps.tolist() == [5]
    assert set(runs.read_curves("r", ["loss.g"])) == {"loss.g"}
    assert runs.read_curves("missing") == {}
    grids = runs.sample_grids("r")
    assert [(g.step, g.kind) for g in grids] == [(2, "samples"), (5, "samples"), (5, "reconstructions")]
    assert [g.step for g in runs.sample_grids("r", "samples")] == [2, 5]


def test_smooth_is_a_bias_corrected_average_that_keeps_gaps():
    flat = runplot.smooth(np.full(20, 3.0), 10)
    assert np.allclose(flat, 3.0)  # no pull towards 0 at the start
    noisy = np.array([1.0, 3.0] * 50)
    smoothed = runplot.smooth(noisy, 20)
    assert smoothed[0] == 1.0 and abs(smoothed[-1] - 2.0) < 0.1 and smoothed[50:].std() < noisy.std() / 5
    gap = runplot.smooth(np.array([1.0, np.nan, 1.0]), 5)
    assert math.isnan(gap[1]) and gap[2] == pytest.approx(1.0)
    assert np.array_equal(runplot.smooth(noisy, 1), noisy)


def test_ticks_are_round_numbers_covering_the_data():
    lo, hi, ticks = runplot.linear_ticks(0.031, 0.712)
    assert lo <= 0.031 and hi >= 0.712 and ticks[0] == lo and ticks[-1] == pytest.approx(hi)
    assert ticks == pytest.approx([0.0, 0.2, 0.4, 0.6, 0.8])
    assert [runplot.format_tick(v, 0.2) for v in ticks] == ["0.0", "0.2", "0.4", "0.6", "0.8"]
    assert runplot.format_tick(2400, 500) == "2,400"
    assert runplot.nice_step(2400) == 500
    lo, hi, major, minor = runplot.log_ticks(0.14, 3.2)
    assert (lo, hi) == (0.1, 5.0) and major == pytest.approx([0.1, 0.2, 0.5, 1, 2, 5]) and minor
    lo, hi, major, _ = runplot.log_ticks(1e-4, 30)
    assert major == pytest.approx([1e-4, 1e-3, 1e-2, 0.1, 1, 10, 100])
    assert [runplot.format_log_tick(v) for v in (0.001, 1.0, 100.0, 1e-6)] == ["0.001", "1", "100", "1e-6"]
    hi, ticks, label = runplot.time_ticks(500)
    assert hi >= 500 and label == "Training time (min:s)" and runplot.format_time(ticks[1], label) == "2:00"


def test_collect_one_series_per_run_and_loss(imgen_home):
    _write_run(imgen_home, "a", _gan_rows(40))
    _write_run(imgen_home, "b", _gan_rows(20, t=2.0))
    _write_run(imgen_home, "empty", [{"step": 1, "time": 0.1, "lr": 0.001}])
    data = runplot.collect(["a", "b", "empty"], x="time", smoothing=5)
    assert [(s.run, s.key) for s in data.series] == [("a", "loss.d"), ("a", "loss.g"), ("b", "loss.d"), ("b", "loss.g")]
    assert data.series[2].x[-1] == pytest.approx(40.0)  # b's training time, not its step
    assert data.series[0].raw is not None and data.series[0].y[0] == data.series[0].raw[0]
    assert data.runs == ["a", "b"] and "empty" in data.notes[0] and "GAN generate · digits" in data.run_notes["a"]
    with pytest.raises(ImgenError, match="no run named"):
        runplot.collect(["a", "nope"])
    with pytest.raises(ImgenError, match="nothing to plot"):
        runplot.collect(["empty"])
    with pytest.raises(ImgenError, match="x axis"):
        runplot.collect(["a"], x="epoch")
    assert [s.key for s in runplot.collect(["a", "empty"], keys=["lr"]).series] == ["lr"]


def _pixels_near(img, colour, tol=40):
    target = np.array(ImageColor.getrgb(colour), dtype=np.int32)
    arr = np.asarray(img.convert("RGB"), dtype=np.int32)
    return int((np.abs(arr - target).sum(axis=2) < tol).sum())


def test_render_draws_each_run_in_its_colour_with_a_legend(imgen_home):
    _write_run(imgen_home, "a", _gan_rows(60))
    _write_run(imgen_home, "b", _gan_rows(60, scale=0.5))
    img = runplot.render(runplot.collect(["a", "b"]), size=(900, 500))
    assert img.size == (900, 500) and img.mode == "RGB"
    first, second, third = (_pixels_near(img, c) for c in runplot.PALETTE[:3])
    assert first > 300 and second > 300 and third == 0  # two runs, two colours
    arr = np.asarray(img)
    right = arr[:, int(900 * 0.72):]
    assert _pixels_near(Image.fromarray(right), runplot.PALETTE[0]) > 20  # the legend's swatch, right of the plot
    assert (arr < 100).all(axis=2).sum() > 200  # dark text: title, ticks, labels


def test_log_scale_leaves_out_values_at_or_below_zero_with_a_note(imgen_home):
    rows = [{"step": s, "time": s, "loss.d": 1.0 / s, "loss.g": -1.0 + s / 10} for s in range(1, 31)]
    _write_run(imgen_home, "w", rows)
    data = runplot.for_log_scale(runplot.collect(["w"]))
    assert any("at or below 0" in n for n in data.notes)
    g = next(s for s in data.series if s.key == "loss.g")
    assert np.isnan(g.y[:10]).all() and (g.y[10:] > 0).all()
    assert runplot.render(data, log=True).size == (1200, 700)
    _write_run(imgen_home, "neg", [{"step": s, "loss.d": -float(s)} for s in range(1, 5)])
    with pytest.raises(ImgenError, match="log scale"):
        runplot.for_log_scale(runplot.collect(["neg"]))


def test_write_plot_writes_a_png_atomically_and_refuses_other_names(imgen_home, tmp_path):
    _write_run(imgen_home, "a", _gan_rows(10))
    out = tmp_path / "curves.png"
    data = runplot.write_plot(["a"], out, smoothing=3, log=True)
    assert Image.open(out).format == "PNG" and Image.open(out).size == (1200, 700)
    assert len(data.series) == 2 and [p.name for p in tmp_path.iterdir()] == ["curves.png"]  # no temporary left
    with pytest.raises(ImgenError, match=r"\.png"):
        runplot.write_plot(["a"], tmp_path / "curves.jpg")
    with pytest.raises(ImgenError, match="no run named"):
        runplot.write_plot(["zzz"], tmp_path / "x.png")
    assert not (tmp_path / "x.png").exists()
