"""The Train tab's plain state objects, without widgets."""
from __future__ import annotations

import pytest

from imgen_desktop.core import presets
from imgen_desktop.ui.train.state import FormState, RunState, exists_message, fmt_duration, gui_message


def _form(**cfg) -> FormState:
    st = FormState(presets=presets)
    for k, v in cfg.items():
        setattr(st.config, k, v)
    st.set_preset(st.config.preset)
    return st


def test_presets_follow_family_and_task():
    st = _form()
    st.set_preset("quick")
    assert (st.config.steps, st.config.width) == (300, 16)
    st.set_family("vae")
    assert st.config.steps == 400 and "classic" not in st.preset_names()
    st.set_family("gan")
    st.set_preset("classic")
    st.set_task("denoise")
    assert st.config.preset == "standard"  # classic is only for generating


def test_task_switch_says_which_dataset_it_uses():
    st = _form(data="builtin:digits")
    st.set_task("upscale")
    assert st.config.data == "builtin:photos"
    assert "builtin:digits" in st.dataset_note and "builtin:photos" in st.dataset_note
    st.set_data("/some/folder")
    assert st.dataset_note == ""
    st.set_task("denoise")
    assert st.config.data == "/some/folder" and st.dataset_note == ""  # the user's own folder is kept


def test_a_remedy_survives_preset_and_task_changes_or_says_it_was_dropped():
    st = _form()
    st.choose_remedy("Use hinge loss", {"gan_loss": "hinge"})
    assert st.config.gan_loss == "hinge" and "hinge" in st.remedy_note
    st.set_task("upscale")
    st.set_preset("quick")
    assert st.config.gan_loss == "hinge"  # kept over the preset
    st.set_family("vae")
    assert st.remedy == {} and "dropped" in st.remedy_note and "hinge" in st.remedy_note
    st = _form(lr=2e-4)
    st.choose_remedy("Halve the learning rate", {"lr_factor": 0.5})
    assert st.config.lr == pytest.approx(1e-4) and st.remedy == {"lr": pytest.approx(1e-4)}
    st.set_preset("quality")
    assert st.config.lr == pytest.approx(1e-4)  # not halved twice, not lost
    st.run_started()
    assert st.remedy == {} and st.remedy_note == "" and st.config.name == ""


def test_run_started_forgets_the_name_so_the_next_run_gets_a_new_one():
    st = _form(name="my-run")
    st.run_started()
    assert st.config.name == ""


def test_eta_is_smoothed_and_replaced_when_stopped():
    run = RunState()
    run.start("r", total=1000, resume=False)
    assert run.phase == "starting" and run.eta_s is None
    t = 0.0
    rates = [10, 10, 10, 100, 10, 10, 1, 10, 10]  # steps per second, with spikes (sampling, a burst)
    step = 0
    etas = []
    for r in rates:
        t += 1.0
        step += r
        run.on_progress(step, 1000, t, 640.0)
        etas.append(run.eta_s)
    assert run.phase == "running"
    raw_last = (1000 - step) / 10
    assert etas[0] is None and etas[1] is None  # "measuring…" until two seconds of steps were timed
    assert "measuring" in RunState(phase="running").speed_text()
    assert all(e is not None for e in etas[2:])
    spread = max(etas[2:]) / min(etas[2:])
    assert spread < 3  # the raw per-interval ETA swings 100x between 1 and 100 steps/s
    assert etas[-1] == pytest.approx(raw_last, rel=0.8)
    assert "ETA" in run.speed_text() and "images/s" in run.speed_text()
    run.stop()
    assert run.phase == "stopping" and "ETA" not in run.speed_text()
    run.finished(step, stopped=True)
    assert run.phase == "idle" and run.speed_text() == f"Stopped at step {step}"
    assert "ETA" not in run.speed_text() and run.progress_format() == f"stopped at step {step}"


def test_pause_and_resume_phases():
    run = RunState()
    run.start("r", total=10, resume=False)
    run.on_progress(1, 10, 0.5)
    run.pause()
    assert run.phase == "paused" and "paused" in run.progress_format()
    run.resume()
    assert run.phase == "running"
    run.failed()
    assert run.phase == "idle" and run.ended.startswith("Failed")


def test_gui_messages_have_no_cli_flags():
    assert gui_message("--lr must be positive") == "“Learning rate” must be positive"
    assert gui_message("--image-size must be at least 8") == "“Image size (px)” must be at least 8"
    text = gui_message("a run named 'x' already exists; resume it (--resume x) or choose another name")
    assert "--" not in text
    assert "Resume it" in exists_message("x") and "--" not in exists_message("x")
    assert fmt_duration(75) == "1:15" and fmt_duration(None) == "—"
