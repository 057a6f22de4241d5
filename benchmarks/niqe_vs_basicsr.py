"""Check benchmarks/niqe.py against basicsr 1.4.2's own ``calculate_niqe`` on a few images.

    .venv/bin/pip download basicsr==1.4.2 --no-deps --no-binary :all: --no-build-isolation -d /tmp/b
    tar xzf /tmp/b/basicsr-1.4.2.tar.gz -C /tmp/b
    PYTHONPATH=$PWD .venv/bin/python benchmarks/niqe_vs_basicsr.py /tmp/b/basicsr-1.4.2 [IMAGE...]

basicsr's package ``__init__`` imports its whole training stack; only the four modules NIQE
needs are loaded here (metrics/niqe.py, metrics/metric_util.py, utils/matlab_functions.py,
utils/color_util.py, utils/registry.py), with OpenCV, SciPy and torch from this environment.
Default images: Set5 baby and butterfly, CBSD68's first photo, a bicubic x4 of Set5 bird.
"""
from __future__ import annotations

import importlib.util
import sys
import time
import types
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from benchmarks import niqe as ours  # noqa: E402
from benchmarks.sharpness import eval_dir  # noqa: E402


def load_basicsr(sdist: Path):
    pkg = sdist / "basicsr"
    for name, path in (("basicsr", pkg), ("basicsr.utils", pkg / "utils"), ("basicsr.metrics", pkg / "metrics")):
        mod = types.ModuleType(name)
        mod.__path__ = [str(path)]
        sys.modules[name] = mod

    def load(name: str, file: Path):
        spec = importlib.util.spec_from_file_location(name, file)
        mod = importlib.util.module_from_spec(spec)
        sys.modules[name] = mod
        spec.loader.exec_module(mod)
        return mod

    load("basicsr.utils.registry", pkg / "utils" / "registry.py")
    color = load("basicsr.utils.color_util", pkg / "utils" / "color_util.py")
    sys.modules["basicsr.utils"].bgr2ycbcr = color.bgr2ycbcr
    load("basicsr.utils.matlab_functions", pkg / "utils" / "matlab_functions.py")
    load("basicsr.metrics.metric_util", pkg / "metrics" / "metric_util.py")
    return load("basicsr.metrics.niqe", pkg / "metrics" / "niqe.py")


def main() -> int:
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    ref = load_basicsr(Path(sys.argv[1]))
    eval_root = eval_dir()
    images = [Path(p) for p in sys.argv[2:]] or [
        eval_root / "Set5" / "baby.bmp", eval_root / "Set5" / "butterfly.bmp", sorted((eval_root / "CBSD68").glob("*.png"))[0]]
    cases = [(p.name, np.asarray(Image.open(p).convert("RGB"))) for p in images]
    if not sys.argv[2:]:
        bird = Image.open(eval_root / "Set5" / "bird.bmp").convert("RGB")
        w, h = bird.size[0] // 4 * 4, bird.size[1] // 4 * 4
        lr = bird.crop((0, 0, w, h)).resize((w // 4, h // 4), Image.BICUBIC)
        cases.append(("bird bicubic x4", np.asarray(lr.resize((w, h), Image.BICUBIC))))
    print(f"{'image':28s} {'basicsr':>10s} {'ours':>10s} {'diff':>9s}")
    worst = 0.0
    for name, rgb in cases:
        for border in (0, 4):
            t0 = time.time()
            theirs = ref.calculate_niqe(rgb[..., ::-1].astype(np.float64), crop_border=border, input_order="HWC", convert_to="y")
            t1 = time.time()
            mine = ours.calculate_niqe(rgb, crop_border=border)
            t2 = time.time()
            worst = max(worst, abs(theirs - mine))
            print(f"{name + f' (crop {border})':28s} {theirs:10.5f} {mine:10.5f} {mine - theirs:+9.2e}  ({t1 - t0:.1f} s vs {t2 - t1:.1f} s)")
    print(f"largest difference: {worst:.2e}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
