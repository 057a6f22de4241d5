"""core.enhance.enhance_files (the CLI's and the canvas batches' path): per-photo inpaint masks
and the noise-level option."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from imgen_desktop.core import enhance
from imgen_desktop.core.errors import ImgenError
from imgen_desktop.core.imageio import load_image, photo_from_array, save_image
from imgen_desktop.core.models import restore
from imgen_desktop.core.store import save_model_file

FILL = dict(channels=3, task="inpaint", width=4, blocks=1, unshuffle=2)
DENOISE = dict(channels=3, task="denoise", width=4, blocks=1, noise_hint=True)


def _model(path: Path, params: dict):
    torch.manual_seed(0)
    meta = {"family": "gan", "task": params["task"], "scale": 1, "channels": 3, "arch": "gan.restore", "arch_params": params}
    save_model_file(path, restore.RestoreGenerator(**params).state_dict(), meta)
    return enhance.open_model(str(path), "cpu")


def _photo(path: Path, seed: int, h=16, w=20):
    return save_image(photo_from_array((np.random.default_rng(seed).random((h, w, 3)) * 255).astype(np.uint8)), path)


def test_each_photo_of_a_batch_is_filled_with_its_own_mask(tmp_path):
    model = _model(tmp_path / "fill.safetensors", FILL)
    a, b = _photo(tmp_path / "a.png", 0), _photo(tmp_path / "b.png", 1)
    holes = {}
    for name, (top, left) in {"a": (1, 2), "b": (9, 12)}.items():
        m = np.zeros((16, 20), np.uint8)
        m[top : top + 5, left : left + 5] = 255
        save_image(photo_from_array(m), tmp_path / f"{name}.mask.png")
        holes[name] = m > 0
    done, failed = [], []
    results = enhance.enhance_files([tmp_path], tmp_path / "out", model,
                                    on_file_done=lambda i, r: done.append(Path(r.input).name),
                                    on_file_failed=lambda i, r: failed.append(r.error))
    assert sorted(done) == ["a.png", "b.png"] and not failed and len(results) == 2
    for src, name in ((a, "a"), (b, "b")):
        before, after = load_image(src).pixels, load_image(tmp_path / "out" / f"{name}_inpainted.png").pixels
        assert np.array_equal(before[~holes[name]], after[~holes[name]])
        assert not np.array_equal(before[holes[name]], after[holes[name]])


def test_a_photo_without_a_mask_fails_alone_through_the_callback(tmp_path):
    model = _model(tmp_path / "fill.safetensors", FILL)
    _photo(tmp_path / "a.png", 0)
    _photo(tmp_path / "b.png", 1)
    m = np.zeros((16, 20), np.uint8)
    m[2:6, 2:6] = 255
    save_image(photo_from_array(m), tmp_path / "a.mask.png")
    failed = []
    results = enhance.enhance_files([tmp_path / "a.png", tmp_path / "a.mask.png", tmp_path / "b.png"], tmp_path / "out",
                                    model, on_file_failed=lambda i, r: failed.append(r))
    assert [Path(r.input).name for r in results] == ["a.png", "b.png"]  # the mask is no photo of the batch
    assert results[0].ok and not results[1].ok
    assert len(failed) == 1 and "b.png" in failed[0].error and "b.mask.png" in failed[0].error


def test_the_noise_level_option_reaches_the_model_and_is_checked(tmp_path):
    model = _model(tmp_path / "dn.safetensors", DENOISE)
    src = _photo(tmp_path / "n.png", 3)
    outs = {}
    for level in (0.0, 40.0):
        enhance.enhance_files([src], tmp_path / f"o{level:g}.png", model, enhance.EnhanceOptions(noise_level=level, passes=1))
        outs[level] = load_image(tmp_path / f"o{level:g}.png").pixels
    direct = enhance.enhance_photo(load_image(src), model, noise_level=40.0, passes=1).pixels
    assert np.array_equal(outs[40.0], direct) and not np.array_equal(outs[0.0], outs[40.0])
    fill = _model(tmp_path / "fill.safetensors", FILL)
    with pytest.raises(ImgenError, match="takes no noise level"):
        enhance.EnhanceOptions(noise_level=25).check(fill)
    with pytest.raises(ImgenError, match="0-255"):
        enhance.enhance_files([src], tmp_path / "bad.png", model, enhance.EnhanceOptions(noise_level=-3))
    assert not (tmp_path / "bad.png").exists()
    enhance.EnhanceOptions().check(fill)  # no level given: fine for any model
