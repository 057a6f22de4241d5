"""Batches that survive a crash (core.batch manifest + enhance_files), and output name templates."""
from __future__ import annotations

import datetime
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from imgen_desktop.core import batch, enhance
from imgen_desktop.core.control import ControlToken
from imgen_desktop.core.errors import Cancelled, ImgenError
from imgen_desktop.core.imageio import load_image, photo_from_array, save_image
from imgen_desktop.core.models import restore
from imgen_desktop.core.store import save_model_file

X2 = dict(channels=3, task="upscale", scale=2, width=4, blocks=1)


def _model_file(path: Path) -> Path:
    torch.manual_seed(0)
    net = restore.RestoreGenerator(**X2)
    meta = {"family": "gan", "task": "upscale", "scale": 2, "channels": 3, "arch": "gan.restore", "arch_params": X2}
    save_model_file(path, net.state_dict(), meta)
    return path


def _photos(folder: Path, names: list[str]) -> list[Path]:
    out = []
    for k, name in enumerate(names):
        p = folder / name
        p.parent.mkdir(parents=True, exist_ok=True)
        arr = (np.random.default_rng(k).random((8, 10, 3)) * 255).astype(np.uint8)
        out.append(save_image(photo_from_array(arr), p))
    return out


def test_templates_render_and_refuse_bad_ones():
    src = Path("/x/photo.jpg")
    day = datetime.date(2026, 12, 2)
    kw = dict(task_tag="x2", model="builtin:upscale-x2", scale=2, ext=".jpg", when=day)
    assert batch.render_name("{name}_{model}{ext}", src, **kw) == "photo_upscale-x2.jpg"
    assert batch.render_name("{date}-{name}-{task}-{scale}", src, **kw) == "2026-12-02-photo-x2-x2.jpg"
    for bad, words in (("{name}/{model}", "cannot have: '/'"), ("{nom}{ext}", "unknown field {nom}"),
                       ("{model}{ext}", "needs {name}"), ("{name}{ext}", "its own name"), ("", "empty"),
                       ("{name", "unmatched brace"), ("{name}?{ext}", "'?'")):
        with pytest.raises(ImgenError, match=None) as info:
            batch.validate_template(bad)
        assert words in str(info.value), (bad, str(info.value))


def test_folder_keeps_layout_template_and_manifest(tmp_path, imgen_home):
    model = _model_file(tmp_path / "m.safetensors")
    _photos(tmp_path / "in", ["x.png", "a/y.png", "a/b/z.png"])
    opts = enhance.EnhanceOptions(tile=0, name_template="{name}_{model}{ext}")
    results = enhance.enhance_files([tmp_path / "in"], tmp_path / "out", str(model), opts)
    assert [r.status for r in results] == ["done"] * 3
    outs = sorted(str(Path(r.output).relative_to(tmp_path / "out")) for r in results)
    assert outs == ["a/b/z_m.png", "a/y_m.png", "x_m.png"]
    assert load_image(tmp_path / "out/a/b/z_m.png").pixels.shape == (16, 20, 3)
    assert not [p for p in (tmp_path / "out").rglob("*") if p.name.startswith(".")]  # only photos there
    m = batch.load_manifest(tmp_path / "out")
    assert m is not None and m.counts(check_outputs=True).text() == "3 done, 0 left, 0 failed"
    assert not m.unfinished()
    assert str((tmp_path / "out").resolve()) in batch.recent_batches()


def test_output_folder_inside_input_is_not_enhanced_again(tmp_path, imgen_home):
    model = _model_file(tmp_path / "m.safetensors")
    _photos(tmp_path / "in", ["x.png"])
    opts = enhance.EnhanceOptions(tile=0, name_template="{name}-{model}{ext}")
    enhance.enhance_files([tmp_path / "in"], tmp_path / "in" / "out", str(model), opts)
    again = enhance.enhance_files([tmp_path / "in"], tmp_path / "in" / "out", str(model), opts)
    assert [Path(r.input).name for r in again] == ["x.png"] and again[0].status == "skipped"


def test_cancelled_batch_resumes_without_redoing_files(tmp_path, imgen_home):
    model = _model_file(tmp_path / "m.safetensors")
    _photos(tmp_path / "in", [f"p{k}.png" for k in range(4)])
    (tmp_path / "in" / "p9.png").write_bytes(b"not an image")
    token = ControlToken()
    done = []

    def on_done(i, r):
        done.append(r.output)
        if len(done) == 2:
            token.cancel()

    with pytest.raises(Cancelled):
        enhance.enhance_files([tmp_path / "in"], tmp_path / "out", str(model), enhance.EnhanceOptions(tile=0),
                              on_file_done=on_done, token=token)
    mtimes = {p: Path(p).stat().st_mtime_ns for p in done}
    found = batch.find_unfinished(sorted((tmp_path / "in").glob("*.png")))
    assert found is not None and found.counts(check_outputs=True).text() == "2 done, 3 left, 0 failed"
    resumed = []
    results = enhance.enhance_files([tmp_path / "in"], tmp_path / "out", str(model),
                                    enhance.EnhanceOptions(tile=0, overwrite=True), on_resumed=resumed.append)
    # overwrite differs only in how existing outputs of *other* batches are treated: same batch
    assert [c.text() for c in resumed] == ["2 done, 3 left, 0 failed"]
    assert [r.status for r in results] == ["skipped", "skipped", "done", "done", "failed"]
    assert all(Path(p).stat().st_mtime_ns == t for p, t in mtimes.items())
    m = batch.load_manifest(tmp_path / "out")
    assert m.counts().text() == "4 done, 0 left, 1 failed" and m.unfinished()


def test_a_missing_or_torn_output_is_redone_and_other_settings_start_a_new_batch(tmp_path, imgen_home):
    model = _model_file(tmp_path / "m.safetensors")
    _photos(tmp_path / "in", ["a.png", "b.png"])
    enhance.enhance_files([tmp_path / "in"], tmp_path / "out", str(model), enhance.EnhanceOptions(tile=0))
    (tmp_path / "out" / "a_x2.png").write_bytes(b"torn")  # not possible with atomic writes, but checked
    (tmp_path / "out" / "b_x2.png").unlink()
    m = batch.load_manifest(tmp_path / "out")
    assert m.counts(check_outputs=True).text() == "1 done, 1 left, 0 failed"
    results = enhance.enhance_files([tmp_path / "in"], tmp_path / "out", str(model), enhance.EnhanceOptions(tile=0))
    assert [r.status for r in results] == ["done", "done"]
    enhance.enhance_files([tmp_path / "in"], tmp_path / "out", str(model), enhance.EnhanceOptions(tile=0, quality=50))
    data = json.loads(batch.manifest_path(tmp_path / "out").read_text())
    assert data["options"]["quality"] == 50  # another batch: a fresh manifest


def test_pause_blocks_between_tiles_until_resumed(tmp_path, imgen_home):
    import threading

    model = _model_file(tmp_path / "m.safetensors")
    _photos(tmp_path / "in", ["a.png", "b.png"])
    token = ControlToken()
    token.pause()
    results = []
    t = threading.Thread(target=lambda: results.extend(enhance.enhance_files(
        [tmp_path / "in"], tmp_path / "out", str(model), enhance.EnhanceOptions(tile=0), token=token)))
    t.start()
    t.join(0.5)
    assert t.is_alive() and not list((tmp_path / "out").glob("*.png"))
    token.resume()
    t.join(60)
    assert [r.status for r in results] == ["done", "done"]


def test_mask_files_are_found_beside_their_photo_and_told_from_photos(tmp_path):
    photo, other, lonely = _photos(tmp_path, ["a.jpg", "b.png", "solo.mask.png"])
    mask = _photos(tmp_path, ["a.mask.png"])[0]
    assert batch.mask_name(photo) == "a.mask.png"
    assert batch.mask_for(photo) == mask and batch.mask_for(other) is None
    assert batch.is_mask_file(mask)
    assert not batch.is_mask_file(photo) and not batch.is_mask_file(other)
    assert not batch.is_mask_file(lonely)  # no "solo.*" photo beside it: an ordinary photo
    found, _missing = enhance.expand_inputs([tmp_path])
    assert sorted(p.name for p in found) == ["a.jpg", "b.png", "solo.mask.png"]
