"""``imgen enhance FOLDER --model <inpaint>``: each photo takes its own ``<stem>.mask.png`` from
beside it, masks are never enhanced as photos, a photo without one fails alone, ``--mask`` is
the default for those (and still the mask of a single photo)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from imgen_desktop import cli
from imgen_desktop.core.imageio import load_image, photo_from_array, save_image
from imgen_desktop.core.models import restore
from imgen_desktop.core.store import ModelStore

H, W = 20, 24


@pytest.fixture
def fill():
    torch.manual_seed(0)
    params = dict(channels=3, task="inpaint", width=4, blocks=1, unshuffle=2)
    meta = {"family": "gan", "task": "inpaint", "scale": 1, "channels": 3, "arch": "gan.restore", "arch_params": params}
    return ModelStore().save("tiny-fill", restore.RestoreGenerator(**params).state_dict(), meta)


def _photo(path, seed):
    arr = (np.random.default_rng(seed).random((H, W, 3)) * 255).astype(np.uint8)
    return save_image(photo_from_array(arr), path)


def _mask(path, top, left, size=6, shape=(H, W)):
    m = np.zeros(shape, np.uint8)
    m[top : top + size, left : left + size] = 255
    save_image(photo_from_array(m), path)
    return m > 0


def _filled_only_inside(src, out, hole) -> bool:
    """The output keeps every pixel outside ``hole`` and changes some inside it."""
    a, b = load_image(src).pixels, load_image(out).pixels
    return np.array_equal(a[~hole], b[~hole]) and not np.array_equal(a[hole], b[hole])


def _errors(capsys):
    return [line for line in capsys.readouterr().err.splitlines() if line.startswith("imgen: error:")]


def test_a_folder_uses_each_photos_own_mask_and_a_photo_without_one_fails_alone(tmp_path, fill, capsys):
    photos = tmp_path / "photos"
    photos.mkdir()
    a, b, c = (_photo(photos / f"{n}.png", k) for k, n in enumerate("abc"))
    hole_a = _mask(photos / "a.mask.png", 2, 3)
    hole_b = _mask(photos / "b.mask.png", 10, 14)  # another place: a wrong mask would show
    out = tmp_path / "out"
    rc = cli.main(["enhance", str(photos), "-o", str(out), "--model", "tiny-fill", "--quiet"])
    errors = _errors(capsys)
    assert rc == 1
    assert sorted(p.name for p in out.iterdir()) == ["a_inpainted.png", "b_inpainted.png"]  # no mask enhanced
    assert _filled_only_inside(a, out / "a_inpainted.png", hole_a)
    assert _filled_only_inside(b, out / "b_inpainted.png", hole_b)
    assert len(errors) == 1 and "c.png" in errors[0] and "c.mask.png" in errors[0]
    assert not (out / "c_inpainted.png").exists() and c.exists()


def test_mask_option_is_the_default_for_photos_without_their_own(tmp_path, fill, capsys):
    photos = tmp_path / "photos"
    photos.mkdir()
    a, c = _photo(photos / "a.png", 0), _photo(photos / "c.png", 2)
    hole_a = _mask(photos / "a.mask.png", 2, 3)
    hole_default = _mask(tmp_path / "everywhere.png", 8, 8, size=9)
    out = tmp_path / "out"
    assert cli.main(["enhance", str(photos), "-o", str(out), "--model", "tiny-fill", "--mask",
                     str(tmp_path / "everywhere.png"), "--quiet"]) == 0
    assert _filled_only_inside(a, out / "a_inpainted.png", hole_a)  # its own mask wins in a batch
    assert _filled_only_inside(c, out / "c_inpainted.png", hole_default)


def test_a_shell_glob_with_the_masks_in_it_enhances_only_the_photos(tmp_path, fill, capsys):
    a, b = _photo(tmp_path / "a.png", 0), _photo(tmp_path / "b.jpg", 1)
    hole_a = _mask(tmp_path / "a.mask.png", 2, 3)
    _mask(tmp_path / "b.mask.png", 10, 14)
    inputs = sorted(str(p) for p in tmp_path.iterdir())  # a.mask.png a.png b.jpg b.mask.png
    out = tmp_path / "out"
    rc = cli.main(["enhance", *inputs, "-o", str(out), "--model", "tiny-fill", "--format", "png"])
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    assert sorted(p.name for p in out.iterdir()) == ["a_inpainted.png", "b_inpainted.png"]
    assert _filled_only_inside(a, out / "a_inpainted.png", hole_a)
    assert "mask" not in captured.out.replace("inpainted", "")  # no "a.mask.png -> ..." line


def test_a_mask_of_the_wrong_size_fails_that_photo_only(tmp_path, fill, capsys):
    photos = tmp_path / "photos"
    photos.mkdir()
    _photo(photos / "a.png", 0)
    _photo(photos / "b.png", 1)
    _mask(photos / "a.mask.png", 2, 3, shape=(H + 4, W))
    _mask(photos / "b.mask.png", 2, 3)
    out = tmp_path / "out"
    assert cli.main(["enhance", str(photos), "-o", str(out), "--model", "tiny-fill", "--quiet"]) == 1
    errors = _errors(capsys)
    assert len(errors) == 1 and "a.png" in errors[0] and "mask" in errors[0]
    assert [p.name for p in out.iterdir()] == ["b_inpainted.png"]


def test_a_single_photo_takes_the_mask_beside_it_or_the_one_given(tmp_path, fill, capsys):
    a = _photo(tmp_path / "a.png", 0)
    hole_own = _mask(tmp_path / "a.mask.png", 2, 3)
    hole_given = _mask(tmp_path / "other.png", 10, 12)
    assert cli.main(["enhance", str(a), "-o", str(tmp_path / "own.png"), "--model", "tiny-fill", "--quiet"]) == 0
    assert _filled_only_inside(a, tmp_path / "own.png", hole_own)
    assert cli.main(["enhance", str(a), "-o", str(tmp_path / "given.png"), "--model", "tiny-fill",
                     "--mask", str(tmp_path / "other.png"), "--quiet"]) == 0
    assert _filled_only_inside(a, tmp_path / "given.png", hole_given)  # --mask wins for one photo


def test_a_single_photo_without_any_mask_is_one_clear_line(tmp_path, fill, capsys):
    a = _photo(tmp_path / "a.png", 0)
    assert cli.main(["enhance", str(a), "-o", str(tmp_path / "o.png"), "--model", "tiny-fill"]) == 1
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(err) == 1 and "--mask" in err[0] and "a.mask.png" in err[0]
    assert not (tmp_path / "o.png").exists()


def test_upscaling_a_folder_leaves_its_masks_alone(tmp_path, capsys):
    torch.manual_seed(0)
    params = dict(channels=3, task="upscale", scale=2, width=4, blocks=1)
    ModelStore().save("tiny-x2", restore.RestoreGenerator(**params).state_dict(),
                      {"family": "gan", "task": "upscale", "scale": 2, "channels": 3, "arch": "gan.restore", "arch_params": params})
    photos = tmp_path / "photos"
    photos.mkdir()
    _photo(photos / "a.png", 0)
    _mask(photos / "a.mask.png", 2, 3)
    _photo(photos / "lonely.mask.png", 3)  # no "lonely.*" photo beside it: an ordinary photo
    out = tmp_path / "out"
    assert cli.main(["enhance", str(photos), "-o", str(out), "--model", "tiny-x2", "--quiet"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["a_x2.png", "lonely.mask_x2.png"]
