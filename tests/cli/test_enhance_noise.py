"""``imgen enhance --noise-level SIGMA``: reaches a denoiser that takes a noise level; a model
that takes none, or a value off the 0-255 scale, is one clear line."""
from __future__ import annotations

import numpy as np
import pytest

from imgen_desktop import cli
from imgen_desktop.core.imageio import load_image, photo_from_array, save_image


@pytest.fixture
def noisy(tmp_path):
    """A flat grey photo with sigma-30 noise (8-bit, as a saved file is)."""
    rng = np.random.default_rng(0)
    arr = np.clip(np.round(128 + rng.normal(0, 30, (48, 64, 3))), 0, 255).astype(np.uint8)
    return save_image(photo_from_array(arr), tmp_path / "noisy.png")


def _run(noisy, out, *extra):
    return cli.main(["enhance", str(noisy), "-o", str(out), "--model", "builtin:denoise", "--passes", "1",
                     "--tile", "0", "--quiet", *extra])


def test_the_noise_level_reaches_the_builtin_denoiser(tmp_path, noisy):
    assert _run(noisy, tmp_path / "low.png", "--noise-level", "3") == 0
    assert _run(noisy, tmp_path / "high.png", "--noise-level", "60") == 0
    low = load_image(tmp_path / "low.png").pixels.astype(float)
    high = load_image(tmp_path / "high.png").pixels.astype(float)
    # the photo is flat grey: whatever is left is noise, and a higher level removes more of it
    assert high.std() < 0.7 * low.std()


def test_a_model_without_a_noise_level_input_is_one_clear_line(tmp_path, noisy, capsys):
    rc = cli.main(["enhance", str(noisy), "-o", str(tmp_path / "x2.png"), "--model", "builtin:upscale-x2",
                   "--noise-level", "25"])
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert rc == 1 and len(err) == 1
    assert err[0].startswith("imgen: error:") and "noise level" in err[0] and "upscale-x2" in err[0]
    assert not (tmp_path / "x2.png").exists()


@pytest.mark.parametrize("value", ["-1", "256", "nan", "lots"])
def test_a_noise_level_off_the_scale_is_bad_usage(tmp_path, noisy, capsys, value):
    with pytest.raises(SystemExit) as exc:
        _run(noisy, tmp_path / "o.png", "--noise-level", value)
    assert exc.value.code == 2
    assert "--noise-level" in capsys.readouterr().err
    assert not (tmp_path / "o.png").exists()
