"""A batch of photos with their own inpaint masks beside them (``photo.mask.png``), through the
real window: the masks are not listed as photos, each photo is filled with its own mask, and a
photo without one fails alone."""
from __future__ import annotations

import numpy as np
from PIL import Image

from tests.ui.enhance_helpers import drop, list_models, png


def test_an_inpaint_batch_uses_the_masks_beside_the_photos(main_window, qtbot, tmp_path, imgen_home):
    src = tmp_path / "in"
    src.mkdir()
    for k, name in enumerate("abc"):
        png(src / f"{name}.png", 40, 30, k)
    for name, (top, left) in {"a": (4, 5), "b": (15, 20)}.items():
        m = np.zeros((30, 40), np.uint8)
        m[top : top + 8, left : left + 8] = 255
        Image.fromarray(m).save(src / f"{name}.mask.png")
    c = main_window().canvas
    list_models(c, qtbot, "builtin:inpaint")
    drop(c, [src])
    assert sorted(item.path.rsplit("/", 1)[-1] for item in c.batch_items()) == ["a.png", "b.png", "c.png"]
    assert c.select_model("builtin:inpaint")
    out = tmp_path / "out"
    with qtbot.waitSignal(c.sigBatchFinished, timeout=120000) as blocker:
        assert c.start_batch(str(out))
    assert blocker.args == [2, 1]  # c.png has no mask
    assert sorted(p.name for p in out.iterdir()) == ["a_inpainted.png", "b_inpainted.png"]
    for name in "ab":
        before = np.asarray(Image.open(src / f"{name}.png"))
        after = np.asarray(Image.open(out / f"{name}_inpainted.png"))
        hole = np.asarray(Image.open(src / f"{name}.mask.png")) > 0
        assert np.array_equal(before[~hole], after[~hole]) and not np.array_equal(before[hole], after[hole])
    failed = [item for item in c.batch_items() if item.status == "failed"]
    assert len(failed) == 1 and failed[0].path.endswith("c.png")


def test_an_inpaint_batch_without_any_mask_asks_for_them(main_window, qtbot, tmp_path, imgen_home):
    src = tmp_path / "in"
    src.mkdir()
    png(src / "a.png")
    png(src / "b.png", seed=1)
    c = main_window().canvas
    list_models(c, qtbot, "builtin:inpaint")
    drop(c, [src])
    assert c.select_model("builtin:inpaint")
    assert not c.start_batch(str(tmp_path / "out"))
    assert "a.mask.png" not in c.error_text() and "photo.mask.png" in c.error_text()
    assert not (tmp_path / "out").exists()
