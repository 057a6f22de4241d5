"""Datasets: folders (recursive, unreadable files skipped), built-ins, crop policies, batches."""
from __future__ import annotations

import numpy as np
import pytest
import torch
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
