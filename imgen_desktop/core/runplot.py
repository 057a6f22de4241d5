"""Several runs' training curves as one chart: plain series for any plot, and a PNG drawn with Pillow.

``collect(names, ...)`` reads the runs (``core.runs.read_curves``) into :class:`Series` — one
per run and metric, x on step or training time, optionally smoothed — that a GUI plot can show
as they are; ``render(...)`` draws them as a chart (same axes, one colour per run, one line
style per metric, legend with run names and human metric labels); ``write_plot(...)`` is
``imgen runs plot``: collect, render, write the PNG atomically. No matplotlib: ImageDraw on a
2x canvas, scaled down for smooth lines. Pure Python + numpy + Pillow; no torch, no Qt.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from imgen_desktop.core import runs
from imgen_desktop.core.errors import ImgenError

X_AXES = ("step", "time")
# one colour per run (Tableau 10: distinct, readable on white, kind to colour-blind eyes)
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")
# one line style per metric: dash patterns in output pixels (None = solid)
DASHES: tuple[tuple[int, ...] | None, ...] = (None, (11, 6), (2, 4), (12, 5, 2, 5), (12, 4, 2, 4, 2, 4))
_SS = 2  # supersampling factor
_INK, _MUTED, _GRID, _GRID_MINOR, _FRAME = "#222222", "#666666", "#e4e4e4", "#f1f1f1", "#9a9a9a"


@dataclass(frozen=True)
class Series:
    run: str
    key: str  # metric key, e.g. "loss.d"
    x: np.ndarray  # step or training seconds
    y: np.ndarray  # the values drawn (smoothed when smoothing is on); NaN = a gap
    raw: np.ndarray | None = None  # the unsmoothed values (drawn faintly), None when not smoothed

    @property
    def label(self) -> str:
        return runs.metric_label(self.key)


@dataclass
class PlotData:
    series: list[Series]
    x: str = "step"
    smooth: int = 0
    run_notes: dict[str, str] = field(default_factory=dict)  # run -> "GAN generate · digits · 30 steps"
    notes: list[str] = field(default_factory=list)  # what was left out, and why (one sentence each)
    requested: list[str] = field(default_factory=list)  # the metric keys asked for, in order ([] = the losses)

    @property
    def runs(self) -> list[str]:
        return list(dict.fromkeys(s.run for s in self.series))

    @property
    def keys(self) -> list[str]:
        return list(dict.fromkeys(s.key for s in self.series))


def smooth(values: np.ndarray, n: int) -> np.ndarray:
    """Exponential moving average over about ``n`` points (span ``n``), bias-corrected so the first
    points are not pulled towards 0 (as the loss plot does). NaN stays NaN and does not spread."""
    values = np.asarray(values, dtype=np.float64)
    if n is None or n <= 1 or len(values) == 0:
        return values.copy()
    alpha = 1.0 - 2.0 / (n + 1.0)  # weight of the past
    out = np.empty_like(values)
    ema = weight = 0.0
    for i, v in enumerate(values):
        if not math.isfinite(v):
            out[i] = math.nan
            continue
        ema = alpha * ema + (1.0 - alpha) * v
        weight = alpha * weight + (1.0 - alpha)
        out[i] = ema / weight
    return out


def _run_note(summary: runs.RunSummary) -> str:
    if summary.problem and not summary.family:
        return f"{summary.steps_reached} steps"
    from imgen_desktop.core.tasks import task_cli_title

    task = task_cli_title(summary.task, summary.scale) if summary.task else ""
    data = summary.dataset.split(":", 1)[1] if summary.dataset.startswith("builtin:") else Path(summary.dataset).name
    parts = [f"{summary.family.upper()} {task}".strip(), data, f"{summary.steps_reached:,} steps"]
    return " · ".join(p for p in parts if p)


def collect(names: list[str] | tuple[str, ...], keys: list[str] | None = None, x: str = "step", smoothing: int = 0) -> PlotData:
    """The curves of runs ``names``: every ``loss.*`` metric, or only ``keys``.

    ImgenError (one sentence) for an unknown run, an unknown x axis, or nothing to plot at all;
    a run without the asked metrics is left out with a note.
    """
    if x not in X_AXES:
        raise ImgenError(f"unknown x axis {x!r}; choose step or time")
    if not names:
        raise ImgenError("name at least one run to plot")
    data = PlotData([], x=x, smooth=max(0, int(smoothing or 0)), requested=list(keys or []))
    for name in dict.fromkeys(names):
        folder = runs.run_folder(name)
        if not folder.is_dir():
            raise ImgenError(f"no run named {name!r} in {folder.parent}")
        curves = runs.read_curves(name, keys)
        wanted = [k for k in (keys or sorted(curves)) if k in curves and (keys or runs.is_loss_curve(k))]
        if not wanted:
            what = ", ".join(keys) if keys else "losses"
            data.notes.append(f"the run {name!r} has no recorded {what} yet; it is left out")
            continue
        data.run_notes[name] = _run_note(runs.read_run(name))
        for key in wanted:
            c = curves[key]
            xs = c.steps.astype(np.float64) if x == "step" else c.times
            ok = np.isfinite(xs)
            xs, ys = xs[ok], c.values[ok]
            if not len(xs):
                data.notes.append(f"the run {name!r} has no training times for {key}; it is left out")
                continue
            if data.smooth > 1:
                data.series.append(Series(name, key, xs, smooth(ys, data.smooth), ys))
            else:
                data.series.append(Series(name, key, xs, ys))
    if not data.series:
        raise ImgenError("nothing to plot: " + "; ".join(data.notes) if data.notes else "nothing to plot")
    return data


# --- ticks ----------------------------------------------------------------------------------

def nice_step(span: float, target: int = 6) -> float:
    """A step of 1, 2, 2.5 or 5 times a power of ten giving about ``target`` intervals over ``span``."""
    raw = span / max(1, target)
    if not math.isfinite(raw) or raw <= 0:
        return 1.0
    mag = 10.0 ** math.floor(math.log10(raw))
    for m in (1.0, 2.0, 2.5, 5.0, 10.0):
        if m * mag >= raw * (1 - 1e-9):
            return m * mag
    return 10.0 * mag


def linear_ticks(lo: float, hi: float, target: int = 6) -> tuple[float, float, list[float]]:
    """(lo', hi', ticks): the range widened to whole steps and the tick values in it."""
    if not hi > lo:
        pad = abs(lo) * 0.1 or 1.0
        lo, hi = lo - pad, hi + pad
    step = nice_step(hi - lo, target)
    lo2, hi2 = math.floor(lo / step + 1e-9) * step, math.ceil(hi / step - 1e-9) * step
    count = int(round((hi2 - lo2) / step))
    return lo2, hi2, [lo2 + i * step for i in range(count + 1)]


def format_tick(value: float, step: float) -> str:
    """``value`` with as many decimals as ``step`` needs; thousands separated (2,400)."""
    if abs(value) < step * 1e-6:
        value = 0.0
    decimals = 0 if step >= 1 else max(0, -math.floor(math.log10(step) + 1e-9)) + (1 if round(step / 10.0 ** math.floor(math.log10(step)), 3) == 2.5 else 0)
    if abs(value) >= 1e6 or (value and abs(value) < 1e-4):
        return f"{value:.3g}"
    return f"{value:,.{decimals}f}"


def log_ticks(lo: float, hi: float) -> tuple[float, float, list[float], list[float]]:
    """(lo', hi', labelled ticks, minor ticks) for a log axis over positive ``lo..hi``: decades
    over more than three decades, else 1-2-5 steps (the other whole multiples as faint grid)."""
    if hi < lo * 1.0001:
        lo, hi = lo / 1.5, hi * 1.5
    a, b = math.floor(math.log10(lo) + 1e-9), math.ceil(math.log10(hi) - 1e-9)
    if b - a > 3:
        major = [10.0 ** k for k in range(a, b + 1)]
        minor = [m * 10.0 ** k for k in range(a, b) for m in range(2, 10)]
        return major[0], major[-1], major, minor
    steps = [m * 10.0 ** k for k in range(a - 1, b + 1) for m in (1, 2, 5)]
    lo2 = max([v for v in steps if v <= lo * (1 + 1e-9)], default=lo)
    hi2 = min([v for v in steps if v >= hi * (1 - 1e-9)], default=hi)
    inside = lambda v: lo2 * (1 - 1e-9) <= v <= hi2 * (1 + 1e-9)  # noqa: E731
    major = [v for v in steps if inside(v)]
    minor = [m * 10.0 ** k for k in range(a - 1, b + 1) for m in (3, 4, 6, 7, 8, 9) if inside(m * 10.0 ** k)]
    return lo2, hi2, major, minor


def format_log_tick(value: float) -> str:
    return f"{value:g}" if 1e-4 <= value < 1e6 else f"{value:.0e}".replace("e-0", "e-").replace("e+0", "e")


_TIME_STEPS = (1, 2, 5, 10, 15, 20, 30, 60, 120, 300, 600, 900, 1200, 1800, 3600, 7200, 10800, 21600, 43200, 86400)


def time_ticks(hi: float, target: int = 6) -> tuple[float, list[float], str]:
    """(hi', ticks, axis label) for training seconds 0..hi: whole seconds, minutes or hours."""
    hi = max(hi, 1.0)
    step = next((s for s in _TIME_STEPS if hi / s <= target), _TIME_STEPS[-1] * math.ceil(hi / (target * _TIME_STEPS[-1])))
    hi2 = math.ceil(hi / step - 1e-9) * step
    unit = "s" if hi2 < 120 else "min:s" if hi2 < 7200 else "h:min"
    return hi2, [i * step for i in range(int(round(hi2 / step)) + 1)], f"Training time ({unit})"


def format_time(seconds: float, unit_label: str) -> str:
    s = int(round(seconds))
    if unit_label.endswith("(s)"):
        return str(s)
    if unit_label.endswith("(min:s)"):
        return f"{s // 60}:{s % 60:02d}"
    return f"{s // 3600}:{s % 3600 // 60:02d}"


def for_log_scale(data: PlotData) -> PlotData:
    """``data`` without the values a log scale cannot show (at or below 0), with a note for each
    curve that lost some; ImgenError if nothing positive is left."""
    kept, notes = [], list(data.notes)
    for sr in data.series:
        bad = ~(sr.y > 0) & np.isfinite(sr.y)
        if bad.any():
            y = np.where(sr.y > 0, sr.y, np.nan)
            raw = None if sr.raw is None else np.where(sr.raw > 0, sr.raw, np.nan)
            if not np.isfinite(y).any():
                notes.append(f"{sr.run}: {sr.label} has no positive values and is left out of the log scale")
                continue
            notes.append(f"{sr.run}: {sr.label}'s values at or below 0 are left out of the log scale")
            sr = Series(sr.run, sr.key, sr.x, y, raw)
        kept.append(sr)
    if not kept:
        raise ImgenError("nothing to plot on a log scale: no curve has positive values; leave out --log")
    return PlotData(kept, data.x, data.smooth, dict(data.run_notes), notes, list(data.requested))


# --- drawing --------------------------------------------------------------------------------

def _font(size: float):
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size * _SS)
    except TypeError:  # Pillow without FreeType: the small bitmap font
        return ImageFont.load_default()


def _text_size(draw, text: str, font) -> tuple[int, int]:
    box = draw.textbbox((0, 0), text, font=font)
    return box[2] - box[0], box[3] - box[1]


def _ellipsize(draw, text: str, font, width: float) -> str:
    if _text_size(draw, text, font)[0] <= width:
        return text
    while len(text) > 1 and _text_size(draw, text + "…", font)[0] > width:
        text = text[:-1]
    return text + "…"


def _pieces(px: np.ndarray, py: np.ndarray) -> list[list[tuple[float, float]]]:
    """Runs of consecutive finite points (a NaN breaks the line)."""
    ok = np.isfinite(px) & np.isfinite(py)
    out, cur = [], []
    for good, x, y in zip(ok, px, py):
        if good:
            cur.append((float(x), float(y)))
        elif cur:
            out.append(cur)
            cur = []
    if cur:
        out.append(cur)
    return out


def _polyline(draw, points, fill, width: int, dash: tuple[int, ...] | None) -> None:
    if len(points) == 1:
        (x, y), r = points[0], width * 1.5
        draw.ellipse((x - r, y - r, x + r, y + r), fill=fill)
        return
    if dash is None:
        draw.line(points, fill=fill, width=width, joint="curve")
        return
    pattern = [d * _SS for d in dash]
    index, left, on = 0, pattern[0], True
    current: list[tuple[float, float]] = [points[0]]
    for (x0, y0), (x1, y1) in zip(points, points[1:]):
        seg = math.hypot(x1 - x0, y1 - y0)
        pos = 0.0
        while seg - pos > left:
            pos += left
            t = pos / seg
            p = (x0 + (x1 - x0) * t, y0 + (y1 - y0) * t)
            if on:
                current.append(p)
                draw.line(current, fill=fill, width=width, joint="curve")
            current = [p]
            index = (index + 1) % len(pattern)
            left, on = pattern[index], not on
        left -= seg - pos
        if on:
            current.append((x1, y1))
        else:
            current = [(x1, y1)]
    if on and len(current) > 1:
        draw.line(current, fill=fill, width=width, joint="curve")


def _rgba(colour: str, alpha: int) -> tuple[int, int, int, int]:
    from PIL import ImageColor

    r, g, b = ImageColor.getrgb(colour)[:3]
    return r, g, b, alpha


def render(data: PlotData, log: bool = False, size: tuple[int, int] = (1200, 700), title: str | None = None):
    """The chart of ``data`` as an RGB PIL image of ``size`` (output pixels)."""
    from PIL import Image, ImageDraw

    W, H = size[0] * _SS, size[1] * _SS
    img = Image.new("RGBA", (W, H), "white")
    draw = ImageDraw.Draw(img)
    f_title, f_text, f_small = _font(19), _font(13), _font(12)
    s = _SS

    if log:
        data = for_log_scale(data)
    series, notes = data.series, data.notes
    run_names = list(dict.fromkeys(sr.run for sr in series))
    order = {k: i for i, k in enumerate(data.requested)}
    keys = sorted(dict.fromkeys(sr.key for sr in series), key=lambda k: (order.get(k, len(order)), k))
    colour = {name: PALETTE[i % len(PALETTE)] for i, name in enumerate(run_names)}
    dash = {key: DASHES[i % len(DASHES)] for i, key in enumerate(keys)}

    # --- ranges -----------------------------------------------------------------------------
    xs = np.concatenate([sr.x for sr in series])
    ys = np.concatenate([sr.y[np.isfinite(sr.y)] for sr in series])
    if not len(ys):
        raise ImgenError("nothing to plot: every value is missing or not a number")
    if data.x == "time":
        x_lo, (x_hi, x_ticks, x_label) = 0.0, time_ticks(float(np.nanmax(xs)))
        x_text = [format_time(v, x_label) for v in x_ticks]
    else:
        x_max = float(np.nanmax(xs))
        step = nice_step(max(x_max, 1.0))
        x_lo, x_hi = 0.0, math.ceil(max(x_max, 1.0) / step - 1e-9) * step
        x_ticks = [i * step for i in range(int(round(x_hi / step)) + 1)]
        x_text, x_label = [format_tick(v, step) for v in x_ticks], "Step"
    y_minor: list[float] = []
    if log:
        y_lo, y_hi, y_ticks, y_minor = log_ticks(float(ys.min()), float(ys.max()))
        y_text = [format_log_tick(v) for v in y_ticks]
    else:
        y_lo, y_hi, y_ticks = linear_ticks(float(ys.min()), float(ys.max()))
        ystep = y_ticks[1] - y_ticks[0] if len(y_ticks) > 1 else 1.0
        y_text = [format_tick(v, ystep) for v in y_ticks]
    all_loss = all(runs.is_loss_curve(k) for k in keys)
    y_label = ("Loss" if all_loss else "Value") + (" (log scale)" if log else "")

    # --- layout -----------------------------------------------------------------------------
    legend_w = 0
    legend_rows: list[tuple[str, str, str]] = []  # (kind, text, key-or-run)
    legend_rows.append(("head", "Runs", ""))
    shown_runs = run_names[:12]
    for name in shown_runs:
        legend_rows.append(("run", name, name))
    if len(run_names) > len(shown_runs):
        legend_rows.append(("more", f"+ {len(run_names) - len(shown_runs)} more", ""))
    legend_rows.append(("gap", "", ""))
    legend_rows.append(("head", "Curves", ""))
    for key in keys:
        legend_rows.append(("key", runs.metric_label(key), key))
    max_legend_text = 250 * s
    for kind, text, ref in legend_rows:
        w = _text_size(draw, text, f_text)[0]
        if kind == "run" and data.run_notes.get(ref):
            w = max(w, _text_size(draw, data.run_notes[ref], f_small)[0])
        legend_w = max(legend_w, min(w, max_legend_text))
    swatch = 46 * s  # long enough to show a whole dash pattern
    legend_w += swatch + 10 * s

    tick_h = _text_size(draw, "0123456789", f_text)[1]
    y_text_w = max(_text_size(draw, t, f_text)[0] for t in y_text)
    left = 24 * s + tick_h + 12 * s + y_text_w + 10 * s
    top = 22 * s + _text_size(draw, "Tg", f_title)[1] + 10 * s + tick_h + 18 * s
    right = W - 28 * s - legend_w - 24 * s
    bottom = H - (tick_h * 2 + 40 * s) - (len(notes[:3]) * (tick_h + 6 * s))
    pw, ph = right - left, bottom - top

    def px(x: np.ndarray) -> np.ndarray:
        return left + (np.asarray(x, dtype=np.float64) - x_lo) / (x_hi - x_lo) * pw

    def py(y) -> np.ndarray:
        y = np.asarray(y, dtype=np.float64)
        if log:
            with np.errstate(divide="ignore", invalid="ignore"):
                y = np.log10(y)
            lo, hi = math.log10(y_lo), math.log10(y_hi)
        else:
            lo, hi = y_lo, y_hi
        return bottom - (y - lo) / (hi - lo) * ph

    # --- title --------------------------------------------------------------------------------
    heading = title or ("Loss curves" if all_loss else "Training curves")
    draw.text((left, 22 * s), heading, font=f_title, fill=_INK)
    detail = [f"{len(run_names)} run{'s' if len(run_names) != 1 else ''}", "by step" if data.x == "step" else "by training time"]
    if data.smooth > 1:
        detail.append(f"smoothed over {data.smooth} points")
    draw.text((left, 22 * s + _text_size(draw, "Tg", f_title)[1] + 14 * s), " · ".join(detail), font=f_small, fill=_MUTED)

    # --- grid and axes ------------------------------------------------------------------------
    for v in y_minor:
        y = float(py(v))
        if top <= y <= bottom:
            draw.line([(left, y), (right, y)], fill=_GRID_MINOR, width=s)
    for v, t in zip(y_ticks, y_text):
        y = float(py(v))
        draw.line([(left, y), (right, y)], fill=_GRID, width=s)
        tw, th = _text_size(draw, t, f_text)
        draw.text((left - 10 * s - tw, y - th / 2 - 2 * s), t, font=f_text, fill=_MUTED)
        draw.line([(left - 5 * s, y), (left, y)], fill=_FRAME, width=s)
    for v, t in zip(x_ticks, x_text):
        x = float(px(v))
        draw.line([(x, top), (x, bottom)], fill=_GRID, width=s)
        draw.line([(x, bottom), (x, bottom + 5 * s)], fill=_FRAME, width=s)
        tw, _ = _text_size(draw, t, f_text)
        draw.text((min(max(x - tw / 2, left - tw / 2), W - tw - 4 * s), bottom + 9 * s), t, font=f_text, fill=_MUTED)
    draw.rectangle((left, top, right, bottom), outline=_FRAME, width=s)
    lw, lh = _text_size(draw, x_label, f_text)
    draw.text((left + pw / 2 - lw / 2, bottom + 16 * s + tick_h), x_label, font=f_text, fill=_INK)
    yl_w, yl_h = _text_size(draw, y_label, f_text)
    label = Image.new("RGBA", (yl_w + 8 * s, yl_h + 12 * s), (255, 255, 255, 0))
    ImageDraw.Draw(label).text((4 * s, 2 * s), y_label, font=f_text, fill=_INK)
    label = label.rotate(90, expand=True)
    img.alpha_composite(label, (int(18 * s), int(top + ph / 2 - label.height / 2)))

    # --- curves (drawn on layers the size of the plot area: clipped to it) ---------------------------
    def layer():
        return Image.new("RGBA", (int(pw), int(ph)), (0, 0, 0, 0))

    faint, lines = layer(), layer()
    d_faint, d_lines = ImageDraw.Draw(faint), ImageDraw.Draw(lines)
    width = 2 * s
    for sr in series:
        x = px(sr.x) - left
        if sr.raw is not None:
            for piece in _pieces(x, py(sr.raw) - top):
                _polyline(d_faint, piece, _rgba(colour[sr.run], 70), s, None)
        for piece in _pieces(x, py(sr.y) - top):
            _polyline(d_lines, piece, _rgba(colour[sr.run], 255), width, dash[sr.key])
    img.alpha_composite(faint, (int(left), int(top)))
    img.alpha_composite(lines, (int(left), int(top)))
    draw = ImageDraw.Draw(img)
    draw.rectangle((left, top, right, bottom), outline=_FRAME, width=s)

    # --- legend ----------------------------------------------------------------------------
    lx, ly = right + 24 * s, top
    row_h = tick_h + 12 * s
    for kind, text, ref in legend_rows:
        if ly > H - row_h:
            break
        if kind == "gap":
            ly += row_h * 0.5
            continue
        if kind == "head":
            draw.text((lx, ly), text.upper(), font=f_small, fill=_MUTED)
            ly += row_h
            continue
        if kind == "run":
            mid = ly + tick_h / 2 + 2 * s
            draw.line([(lx, mid), (lx + swatch - 8 * s, mid)], fill=colour[ref], width=4 * s)
            draw.text((lx + swatch, ly), _ellipsize(draw, text, f_text, max_legend_text), font=f_text, fill=_INK)
            ly += row_h
            note = data.run_notes.get(ref)
            if note:
                draw.text((lx + swatch, ly - 4 * s), _ellipsize(draw, note, f_small, max_legend_text), font=f_small, fill=_MUTED)
                ly += row_h
            continue
        if kind == "key":
            mid = ly + tick_h / 2 + 2 * s
            _polyline(draw, [(lx, mid), (lx + swatch - 8 * s, mid)], _INK, width, dash[ref])
        draw.text((lx + (swatch if kind == "key" else 0), ly), _ellipsize(draw, text, f_text, max_legend_text), font=f_text,
                  fill=_INK if kind == "key" else _MUTED)
        ly += row_h

    # --- notes (what was left out) -------------------------------------------------------------
    ny = bottom + 22 * s + tick_h * 2 + 14 * s
    for note in notes[:3]:
        draw.text((left, ny), _ellipsize(draw, "Note: " + note, f_small, W - left - 20 * s), font=f_small, fill=_MUTED)
        ny += tick_h + 6 * s

    return img.convert("RGB").resize(size, Image.LANCZOS)


def write_plot(names: list[str] | tuple[str, ...], out: str | Path, x: str = "step", smoothing: int = 0, log: bool = False,
               keys: list[str] | None = None, size: tuple[int, int] = (1200, 700)) -> PlotData:
    """``imgen runs plot``: the runs' curves as a PNG chart at ``out`` (written atomically).

    Returns the plotted data (its ``notes`` say what was left out)."""
    from imgen_desktop.core.atomic import atomic_path

    out = Path(out)
    if out.suffix.lower() != ".png":
        raise ImgenError(f"the chart is a PNG picture: give an output name ending in .png (not {out.name!r})")
    if out.is_dir():
        raise ImgenError(f"{out} is a folder; give a file name ending in .png")
    data = collect(names, keys=keys, x=x, smoothing=smoothing)
    if log:
        data = for_log_scale(data)
    image = render(data, log=log, size=size)
    try:
        with atomic_path(out) as tmp:
            image.save(tmp, format="PNG")
    except OSError as exc:
        raise ImgenError(f"cannot write {out}: {exc.strerror or exc}") from None
    return data
