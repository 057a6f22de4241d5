"""EnhanceState without any widget: photo/result/saved, batch items, models, progress text, banners."""
from __future__ import annotations

import numpy as np
import pytest

from imgen_desktop.core.enhance import ModelChoice
from imgen_desktop.core.imageio import photo_from_array
from imgen_desktop.ui.enhance.state import DONE, FAILED, SKIPPED, WORKING, BatchItem, EnhanceState


def _photo(w=40, h=30):
    return photo_from_array(np.zeros((h, w, 3), np.uint8), source="p.png")


X4 = ModelChoice("builtin:upscale-x4", "Upscale ×4 (built-in)", "upscale", 4, "gan", True, "/m/x4.safetensors")
DN = ModelChoice("mine", "mine — GAN Denoise", "denoise", 1, "gan", False, "/m/mine.safetensors", takes_noise_level=True)


@pytest.fixture
def state(qapp):
    return EnhanceState()


def _record(signal):
    calls = []
    signal.connect(lambda *a: calls.append(a))
    return calls


def test_result_saved_flag_and_a_new_photo_drops_the_result(state):
    changed = _record(state.sigResultChanged)
    state.set_photo(_photo(), None)
    assert not state.has_unsaved_result()
    state.set_result(_photo(80, 60), None, task=("upscale", 2))
    assert state.has_unsaved_result() and state.result_task == ("upscale", 2)
    state.mark_saved("/tmp/out.png")
    assert not state.has_unsaved_result() and state.result_saved == "/tmp/out.png"
    state.set_result(_photo(80, 60), None)
    assert state.has_unsaved_result()
    state.set_photo(_photo(), None)
    assert state.result is None and not state.has_unsaved_result()
    assert len(changed) >= 4


def test_batch_items_statuses_and_summaries(state):
    state.set_batch(["/in/a.png", "/in/b.png", "/in/c.png"])
    state.batch_out = "/out"
    assert state.has_content() and state.batch_index("/in/b.png") == 1
    items = _record(state.sigBatchItemChanged)
    state.update_item(0, status=DONE, output="/out/a_x2.png", seconds=2.0)
    state.update_item(1, status=FAILED, error="b.png: not a readable image")
    assert items == [(0,), (1,)]
    assert state.batch[0].reviewable and not state.batch[1].reviewable
    assert state.batch[1].text() == "b.png — ✗ not a readable image"  # named once
    assert state.batch_summary(cancelled=True) == "Cancelled: 1 of 3 photos were written in /out; 1 failed (see the list)."
    state.update_item(2, status=SKIPPED, output="/out/c_x2.png")
    assert state.batch_summary() == "2 of 3 photos saved in /out; 1 already done and kept; 1 failed (see the list)."
    assert BatchItem("/x.png", WORKING, progress="tile 2 of 4").status_text() == "working… tile 2 of 4"
    state.set_batch([])
    assert state.batch_summary(cancelled=True).startswith("Cancelled: no photo was written")


def test_models_are_found_by_spec_name_path_and_label(state):
    state.set_models([DN, X4])
    assert [m.spec for m in state.models] == ["builtin:upscale-x4", "mine"]  # built-ins first
    for key in ("builtin:upscale-x4", "upscale-x4", "/m/x4.safetensors", "Upscale ×4 (built-in)"):
        assert state.find_model(key) == 0, key
    assert state.select_model("mine") and state.model is DN
    assert not state.select_model("nope") and state.model is DN
    state.set_models([X4])  # the chosen model went away
    assert state.model is None


def test_progress_text_counts_from_one_and_gives_an_eta(state, monkeypatch):
    state.set_busy("apply")
    state._started -= 10  # ten seconds have passed
    state.set_tiles(0, 4)
    assert state.progress_text == "Tile 1 of 4"
    state.set_tiles(1, 4)
    assert state.progress_text == "Tile 2 of 4 · ETA 30 s"
    state.set_tiles(4, 4)
    assert state.progress_text == "Tile 4 of 4 · finishing…"
    state.set_tiles(1, 2, photo=(1, 3))
    assert state.progress_text.startswith("Photo 2 of 3 · tile 2 of 2 · ETA ")
    state.end_busy("done")
    assert state.busy == "" and state.progress_text == "done"
    state.set_photo(_photo(), None)  # a new photo: the old job's line goes
    assert state.progress_text == ""


def test_banners_clear_by_cause_and_info_ones_time_out(state):
    state.error("Tile size “16” is not valid", cause="tile")
    assert state.error_text().startswith("Tile size")
    state.clear_banner("load")  # another cause: stays
    assert state.error_text()
    state.clear_banner("tile")
    assert state.error_text() == "" and state.banner is None
    state.info("Done in 2 s", cause="apply")
    assert state.banner.timeout_ms > 0 and state.error_text() == ""
    state.error("bad.jpg: not a readable image", cause="load")
    state.set_photo(_photo(), None)  # a new photo: its banner goes
    assert state.banner is None
    state.error("Could not list the models", cause="models")
    state.set_photo(_photo(), None)
    assert state.banner is not None  # not about the photo


def test_output_estimate_and_warning(state):
    state.set_photo(photo_from_array(np.zeros((1800, 2400, 3), np.uint8)), None)
    state.set_model(X4)
    assert state.output_estimate().text() == "Output 9600 × 7200 (69 MP, ~0.8 GB)"
    assert state.output_is_large()
    state.set_model(DN)
    assert state.output_estimate().text().startswith("Output 2400 × 1800") and not state.output_is_large()
