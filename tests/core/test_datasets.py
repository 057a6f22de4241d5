"""Datasets: folders (recursive, unreadable files skipped), built-ins, crop policies, batches."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from pathlib import Path

from PIL import Image

from imgen_desktop.core.datasets import ImageDataset, describe
from imgen_desktop.core.errors import DatasetError


def _write(path, array):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)
    return path


@pytest.fixture
def mixed_folder(tmp_path):
    rng = np.random.default_rng(0)
    _write(tmp_path / "a.png", rng.integers(0, 255, (20, 40, 3), dtype=np.uint8))
    _write(tmp_path / "sub" / "deeper" / "b.jpg", rng.integers(0, 255, (30, 30, 3), dtype=np.uint8))
    _write(tmp_path / "sub" / "c.png", rng.integers(0, 255, (24, 24), dtype=np.uint8))
    (tmp_path / "broken.png").write_bytes(b"not a picture at all")
    (tmp_path / "notes.txt").write_text("ignored")
    return tmp_path


def test_describe_folder_recursive_counts_and_skips(mixed_folder):
    info = describe(str(mixed_folder), max_thumbs=2)
    assert info.count == 3
    assert info.skipped == 1
    assert info.channels == 3  # one picture has colour
    assert len(info.thumbnails) == 2
    assert all(t.dtype == np.uint8 and t.ndim == 3 and max(t.shape[:2]) <= 64 for t in info.thumbnails)


def test_gray_folder_gives_one_channel_and_override(tmp_path):
    rng = np.random.default_rng(1)
    for i in range(3):
        _write(tmp_path / f"g{i}.png", rng.integers(0, 255, (12, 16), dtype=np.uint8))
    assert describe(str(tmp_path)).channels == 1
    ds = ImageDataset(str(tmp_path), 8, "generate", channels=3)
    assert ds.channels == 3 and ds.data_channels == 1
    batch = next(ds.batches(4, torch.device("cpu")))
    assert batch.shape == (4, 3, 8, 8)


def test_generate_policy_resizes_shorter_side_then_centre_crops(mixed_folder):
    logs = []
    ds = ImageDataset(str(mixed_folder), 16, "generate", log=logs.append)
    assert ds.mode == "fixed" and ds._cache.shape == (3, 3, 16, 16) and ds._cache.dtype == torch.uint8
    assert ds.skipped == 1 and any("broken.png" in m for m in logs)
    batch = next(ds.batches(5, torch.device("cpu")))
    assert batch.shape == (5, 3, 16, 16) and batch.dtype == torch.float32
    assert batch.min() >= -1.0 and batch.max() <= 1.0


def test_enhancement_crops_are_unresized_windows_of_full_pictures(tmp_path):
    rng = np.random.default_rng(2)
    big = rng.integers(0, 255, (48, 64, 3), dtype=np.uint8)
    _write(tmp_path / "big.png", big)
    ds = ImageDataset(str(tmp_path), 16, "denoise")
    assert ds.mode == "patches"
    torch.manual_seed(0)
    crops = ds.batch_uint8(6, flip=False).permute(0, 2, 3, 1).numpy()
    for crop in crops:
        windows = np.lib.stride_tricks.sliding_window_view(big, (16, 16, 3)).reshape(-1, 16, 16, 3)
        assert (windows == crop).all(axis=(1, 2, 3)).any(), "a crop must be an exact window of the picture"


def test_small_pictures_are_upscaled_for_crops(tmp_path):
    _write(tmp_path / "tiny.png", np.full((10, 12, 3), (200, 100, 50), np.uint8))
    ds = ImageDataset(str(tmp_path), 16, "upscale")
    assert next(ds.batches(2, torch.device("cpu"))).shape == (2, 3, 16, 16)


def test_flips_happen(tmp_path):
    img = np.zeros((8, 8), np.uint8)
    img[:, :2] = 255  # a bright left edge
    _write(tmp_path / "edge.png", img)
    ds = ImageDataset(str(tmp_path), 8, "generate")
    torch.manual_seed(0)
    lefts = ds.batch_uint8(32)[:, 0, :, 0].float().mean(1)
    assert (lefts > 200).any() and (lefts < 50).any()


def test_builtin_digits():
    info = describe("builtin:digits")
    assert info.count == 1797 and info.channels == 1
    ds = ImageDataset("builtin:digits", 32)
    assert ds._cache.shape == (1797, 1, 32, 32)
    assert not ds.flip  # digits are not mirror-symmetric
    torch.manual_seed(0)
    ds._perm, ds._pos = torch.arange(1797), 0
    assert torch.equal(ds.batch_uint8(8), ds._cache[:8])


def test_builtin_photos_are_patches():
    ds = ImageDataset("builtin:photos", 32, "generate")
    assert ds.mode == "patches" and ds.channels == 3
    assert next(ds.batches(3, torch.device("cpu"))).shape == (3, 3, 32, 32)


def test_empty_and_unreadable_folders_fail_clearly(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DatasetError, match="no pictures found"):
        describe(str(empty))
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "x.png").write_bytes(b"junk")
    (bad / "y.jpg").write_bytes(b"junk")
    with pytest.raises(DatasetError, match="none of the 2"):
        ImageDataset(str(bad), 16)
    with pytest.raises(DatasetError, match="not found"):
        describe(str(tmp_path / "missing"))
    with pytest.raises(DatasetError, match="unknown built-in"):
        describe("builtin:nope")


def test_folder_cache_stays_within_memory_budget(tmp_path, monkeypatch):
    import imgen_desktop.core.datasets as datasets

    _write(tmp_path / "big.png", np.random.default_rng(3).integers(0, 255, (200, 300, 3), dtype=np.uint8))
    monkeypatch.setattr(datasets, "CACHE_BUDGET_BYTES", 3 * 100 * 150)
    ds = ImageDataset(str(tmp_path), 16, "upscale")
    h, w = ds._pictures[0].shape[1:]
    assert h * w <= 100 * 150 + 300 and min(h, w) >= 16
    assert abs(w / h - 1.5) < 0.05


# --- issue 11: thin pictures, bounded memory while describing -------------------------------

@pytest.mark.parametrize("task", ["denoise", "upscale", "inpaint", "generate"])
def test_a_thin_picture_is_skipped_with_a_note_not_a_crash(tmp_path, task):
    rng = np.random.default_rng(4)
    _write(tmp_path / "thin.png", rng.integers(0, 255, (3, 300, 3), dtype=np.uint8))
    _write(tmp_path / "ok.png", rng.integers(0, 255, (80, 90, 3), dtype=np.uint8))
    logs = []
    ds = ImageDataset(str(tmp_path), 64, task, log=logs.append)
    assert ds.count == 1 and ds.skipped == 1
    assert any("thin.png (too thin for training (300x3" in line for line in logs), logs
    for _ in range(5):
        assert ds.batch_uint8(4).shape == (4, 3, 64, 64)
    info = describe(str(tmp_path))
    assert info.count == 1 and info.skipped == 1 and "thin.png (too thin" in info.skipped_files[0]


def test_only_thin_pictures_fail_with_one_clear_line(tmp_path):
    _write(tmp_path / "strip.png", np.zeros((300, 2), np.uint8))
    with pytest.raises(DatasetError, match=r"none of the 1 picture file\(s\) .* could be used \(e.g. strip.png \(too thin"):
        ImageDataset(str(tmp_path), 32, "denoise")


def test_a_wide_panorama_keeps_its_shorter_side_at_least_a_crop(tmp_path, monkeypatch):
    import imgen_desktop.core.datasets as datasets

    monkeypatch.setattr(datasets, "MAX_SIDE", 256)  # a 600x40 panorama is then "too long"
    _write(tmp_path / "pano.png", np.random.default_rng(5).integers(0, 255, (40, 600, 3), dtype=np.uint8))
    ds = ImageDataset(str(tmp_path), 32, "upscale")
    h, w = ds._pictures[0].shape[1:]
    assert h >= 32 and w <= 600
    for _ in range(5):
        assert ds.batch_uint8(3).shape == (3, 3, 32, 32)


_DESCRIBE_CHILD = r"""
import resource, sys, json
from imgen_desktop.core.datasets import describe
import numpy, PIL.Image, PIL.JpegImagePlugin, PIL.PngImagePlugin
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
info = describe(sys.argv[1], max_thumbs=8)
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"grow_mb": (after - before) / 1024, "count": info.count, "channels": info.channels,
                  "thumbs": [list(t.shape) for t in info.thumbnails]}))
"""


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="ru_maxrss in KB is Linux")
def test_describe_reads_headers_and_thumbnails_in_bounded_memory(tmp_path):
    """40 photos of 12 MP: the Train tab used to decode them all at full size (1.85 GB)."""
    import json
    import os
    import shutil
    import subprocess
    import sys

    yy, xx = np.mgrid[0:3000, 0:4000]
    photo = np.stack([(xx // 16) % 256, (yy // 12) % 256, ((xx + yy) // 28) % 256], axis=2).astype(np.uint8)
    Image.fromarray(photo).save(tmp_path / "p00.jpg", quality=80)
    for i in range(1, 40):
        shutil.copyfile(tmp_path / "p00.jpg", tmp_path / f"p{i:02d}.jpg")
    Image.fromarray(photo[:1500, :2000]).save(tmp_path / "big.png", compress_level=1)  # 3 MP PNG: no draft
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    out = subprocess.run([sys.executable, "-c", _DESCRIBE_CHILD, str(tmp_path)], capture_output=True, text=True, env=env, timeout=240)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["count"] == 41 and result["channels"] == 3
    assert len(result["thumbs"]) == 8 and all(max(t[:2]) == 64 for t in result["thumbs"])
    assert result["grow_mb"] < 120, result  # one 3 MP PNG decode at most, never 40 x 36 MB
