"""No name leads out of the data root: --resume, --name, the GUI's TrainConfig, model names, links.

Before, ``imgen train --resume ../../elsewhere`` (or an absolute path) trained in that folder
and rewrote its config.json, checkpoint.pt, metrics.jsonl and samples/. Every name that
becomes a path now goes through ``core.paths.safe_name``.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from imgen_desktop.cli import main
from imgen_desktop.core import paths
from imgen_desktop.core.config import TrainConfig
from imgen_desktop.core.errors import ImgenError, ModelError
from imgen_desktop.core.store import ModelStore

TINY = ["--family", "gan", "--data", "builtin:digits", "--preset", "quick", "--image-size", "16", "--batch-size", "8",
        "--steps", "4", "--sample-every", "0", "--checkpoint-every", "0", "--device", "cpu", "--quiet"]

BAD_NAMES = ["..", "../x", "../../elsewhere", "/tmp/abs", "a/b", "a\\b", "a\0b", "", "   ", "x" * 101, "CON", "nul.txt",
             "com1", "LPT9.log", ".hidden", "-flag", "trailing.", "tab\there", "new\nline", "é" * 3]


def one_error_line(capsys) -> str:
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("imgen: error: "), captured.err
    assert "Traceback" not in captured.err + captured.out
    return lines[0]


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def outside_run(imgen_home, capsys):
    """A real, resumable run folder that lies outside ``$IMGEN_HOME/runs`` (next to the data root)."""
    assert main(["train", *TINY, "--name", "src"]) == 0
    capsys.readouterr()
    target = imgen_home.parent / f"elsewhere-{imgen_home.name}"
    shutil.copytree(imgen_home / "runs" / "src", target)
    shutil.rmtree(imgen_home / "runs" / "src")
    (imgen_home / "models" / "src.safetensors").unlink()
    yield target
    shutil.rmtree(target, ignore_errors=True)


def test_resume_cannot_leave_the_runs_folder(outside_run, imgen_home, capsys):
    before = snapshot(outside_run)
    relative = f"../../{outside_run.name}"
    assert (imgen_home / "runs" / relative).resolve() == outside_run.resolve()
    for spec in (relative, str(outside_run), f"../{outside_run.name}"):
        assert main(["train", "--resume", spec, "--steps", "8", "--device", "cpu", "--quiet"]) == 1
        assert "invalid run name" in one_error_line(capsys)
    assert snapshot(outside_run) == before  # not a byte written there
    assert sorted(p.name for p in (imgen_home / "runs").iterdir()) == []


def test_a_linked_run_folder_is_refused(outside_run, imgen_home, capsys):
    before = snapshot(outside_run)
    (imgen_home / "runs" / "linked").symlink_to(outside_run, target_is_directory=True)
    assert main(["train", "--resume", "linked", "--steps", "8", "--device", "cpu", "--quiet"]) == 1
    assert "leads outside" in one_error_line(capsys)
    assert main(["train", *TINY, "--name", "linked"]) == 1
    assert "leads outside" in one_error_line(capsys)
    assert snapshot(outside_run) == before


def test_a_linked_file_inside_a_run_folder_is_refused(imgen_home, tmp_path, capsys):
    assert main(["train", *TINY, "--name", "r"]) == 0
    capsys.readouterr()
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    metrics = imgen_home / "runs" / "r" / "metrics.jsonl"
    metrics.unlink()
    metrics.symlink_to(victim)
    assert main(["train", "--resume", "r", "--steps", "8", "--device", "cpu", "--quiet"]) == 1
    assert "link metrics.jsonl" in one_error_line(capsys)
    assert victim.read_text() == "precious\n"


@pytest.mark.parametrize("name", BAD_NAMES)
def test_bad_run_names_are_one_line_in_the_cli(name, imgen_home, capsys):
    assert main(["train", *TINY, f"--name={name}"]) == 1
    assert "invalid run name" in one_error_line(capsys)
    if name.strip():  # (an empty --resume is bad usage: exit 2)
        assert main(["train", f"--resume={name}", "--device", "cpu", "--quiet"]) == 1
        assert "invalid run name" in one_error_line(capsys)
    assert sorted(p.name for p in imgen_home.iterdir()) in ([], ["models"], ["models", "runs"], ["runs"])
    assert not any((imgen_home / "runs").iterdir()) if (imgen_home / "runs").exists() else True


@pytest.mark.parametrize("name", BAD_NAMES)
def test_bad_names_are_refused_by_core(name):
    """The same validator for the GUI's TrainConfig (and so the queue), run folders and the model store."""
    with pytest.raises(ImgenError):
        paths.run_dir(name)
    with pytest.raises(ModelError):
        paths.model_path(name)
    if name.strip():
        with pytest.raises(ImgenError, match="invalid run name"):
            TrainConfig(family="gan", name=name).validate()
        from imgen_desktop.core.queue import TrainingQueue

        for resume in (False, True):  # queue entries: a new run, or the continuation of one
            with pytest.raises(ImgenError, match="invalid run name"):
                TrainingQueue().add(TrainConfig(family="gan", name=name), resume=resume)
    store = ModelStore()
    for call in (lambda: store.path_for(name), lambda: store.remove(name), lambda: store.rename("a", name),
                 lambda: store.export(name, "/tmp/x.safetensors"), lambda: store.get(name)):
        with pytest.raises(ModelError):
            call()


def test_import_with_a_bad_name_copies_nothing(make_model_file, tmp_path, imgen_home):
    src = make_model_file(tmp_path / "m.safetensors")
    for name in ("../escape", str(tmp_path / "abs"), "CON"):
        with pytest.raises(ModelError, match="invalid model name"):
            ModelStore().import_file(src, name)
    assert list((imgen_home / "models").iterdir()) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.safetensors"]


def test_generate_model_names_go_through_the_validator(tmp_path, capsys):
    assert main(["generate", "--model", "a\0b", "-n", "1", "-o", str(tmp_path / "g.png")]) == 1
    assert "invalid model name" in one_error_line(capsys)
    assert main(["generate", "--model", "CON", "-n", "1", "-o", str(tmp_path / "g.png")]) == 1
    assert "reserves" in one_error_line(capsys)


def test_good_names_still_work():
    for name in ("a", "My run 2", "gan_x2-v1.5", "a+b", "x" * 100, "console", "nul-ish"):
        assert paths.safe_name(f" {name} ") == name
        assert paths.run_dir(name).parent == paths.runs_dir()


def test_the_gui_training_process_refuses_a_bad_name(imgen_home):
    """The GUI trains in a child process from a TrainConfig: the name is checked there too."""
    from imgen_desktop.core.events import Failed
    from imgen_desktop.core.process_runner import train_in_process

    cfg = TrainConfig(family="gan", data="builtin:digits", image_size=16, batch_size=8, steps=2, device="cpu",
                      name="../../outside")
    result = train_in_process(cfg, lambda e: None)
    assert isinstance(result, Failed) and "invalid run name" in result.message
    assert not (imgen_home.parent / "outside").exists()
