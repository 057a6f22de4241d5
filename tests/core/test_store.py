"""The model store: round trips, metadata, corrupt and foreign files, management, atomic writes."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import torch
from safetensors.torch import save_file

from imgen_desktop.core import paths
from imgen_desktop.core.errors import ModelError
from imgen_desktop.core.store import (
    FORMAT_VERSION,
    META_KEY,
    ModelStore,
    load_model_file,
    read_meta,
    save_model_file,
    validate_name,
)

META = {
    "family": "vae",
    "task": "denoise",
    "scale": 1,
    "channels": 1,
    "arch": "vae.restore",
    "arch_params": {"width": 16, "latent": 8},
    "dataset": "builtin:digits",
    "steps": 123,
    "metrics": {"psnr": 28.25},
    "config": {"lr": 0.001},
}


def _tensors():
    torch.manual_seed(1)
    return {"enc.weight": torch.randn(8, 1, 3, 3), "enc.bias": torch.randn(8), "step": torch.tensor([7])}


def test_store_lives_in_imgen_home(imgen_home):
    store = ModelStore()
    assert store.root == imgen_home / "models" and store.root.is_dir()
    assert paths.data_root() == imgen_home


def test_save_load_round_trip_keeps_tensors_and_metadata():
    store = ModelStore()
    tensors = _tensors()
    info = store.save("my model", tensors, META)
    assert info.ok and info.path.name == "my model.safetensors" and info.size_bytes > 0
    loaded, meta = store.load("my model")
    assert set(loaded) == set(tensors)
    for key, value in tensors.items():
        assert torch.equal(loaded[key], value)
    for key, value in META.items():
        assert meta[key] == value
    assert meta["format"] == FORMAT_VERSION and meta["name"] == "my model"
    assert meta["created"] > 1.6e9
    got = store.get("my model")
    assert (got.family, got.task, got.scale, got.steps) == ("vae", "denoise", 1, 123)
    assert got.describe() == "my model — VAE denoise"
    up = store.save("up", tensors, {**META, "task": "upscale", "scale": 4, "family": "gan", "arch": "gan.restore"})
    assert up.describe() == "up — GAN upscale x4"


def test_metadata_is_in_the_safetensors_header(tmp_path):
    path = save_model_file(tmp_path / "m.safetensors", _tensors(), META)
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as fh:
        header = json.loads(fh.metadata()[META_KEY])
    assert header["arch_params"] == {"width": 16, "latent": 8}
    assert read_meta(path)["dataset"] == "builtin:digits"


def test_save_requires_core_metadata(tmp_path):
    with pytest.raises(ValueError, match="arch"):
        save_model_file(tmp_path / "m.safetensors", _tensors(), {"family": "gan", "task": "generate"})
    assert list(tmp_path.iterdir()) == []


def test_corrupt_and_foreign_files_are_listed_with_an_error(make_model_file):
    store = ModelStore()
    make_model_file(store.root / "good.safetensors")
    (store.root / "corrupt.safetensors").write_bytes(b"\x00\x01 this is not safetensors")
    save_file({"w": torch.zeros(2)}, str(store.root / "foreign.safetensors"))  # no imgen metadata
    save_file({"w": torch.zeros(2)}, str(store.root / "badjson.safetensors"), metadata={META_KEY: "{nope"})
    save_file(
        {"w": torch.zeros(2)},
        str(store.root / "weird.safetensors"),
        metadata={META_KEY: json.dumps({"family": "gan", "task": "generate", "arch": "x", "format": "banana"})},
    )
    save_file(
        {"w": torch.zeros(2)},
        str(store.root / "future.safetensors"),
        metadata={META_KEY: json.dumps({"family": "gan", "task": "generate", "arch": "x", "format": 99})},
    )
    (store.root / "notes.txt").write_text("ignored")

    infos = {info.name: info for info in store.list()}
    assert sorted(infos) == ["badjson", "corrupt", "foreign", "future", "good", "weird"]
    assert infos["good"].ok and infos["good"].family == "gan"
    assert "corrupt.safetensors" in infos["corrupt"].error and "not a valid safetensors" in infos["corrupt"].error
    assert "not an Imgen Desktop model" in infos["foreign"].error
    assert "corrupt" in infos["badjson"].error
    assert "weird.safetensors" in infos["weird"].error
    assert "newer" in infos["future"].error
    for name in ("corrupt", "foreign", "badjson", "weird", "future"):
        assert not infos[name].ok
        assert "unreadable" in infos[name].describe()
        with pytest.raises(ModelError, match=name):
            store.get(name)


def test_empty_file_and_folder_named_like_a_model_do_not_break_listing():
    store = ModelStore()
    (store.root / "empty.safetensors").write_bytes(b"")
    (store.root / "dir.safetensors").mkdir()
    infos = {info.name: info for info in store.list()}
    assert not infos["empty"].ok and not infos["dir"].ok


def test_truncated_weights_are_reported(tmp_path, make_model_file):
    path = make_model_file(tmp_path / "m.safetensors")
    data = path.read_bytes()
    path.write_bytes(data[:-20])  # header intact, weights cut short
    with pytest.raises(ModelError, match="m.safetensors.*truncated"):
        read_meta(path)
    with pytest.raises(ModelError, match="m.safetensors"):
        load_model_file(path)


def test_listing_reads_headers_without_importing_torch(imgen_home, make_model_file):
    make_model_file(imgen_home / "models" / "a.safetensors")
    code = (
        "import sys\n"
        "from imgen_desktop.core.store import ModelStore\n"
        "infos = ModelStore().list()\n"
        "print(infos[0].ok, infos[0].family, 'torch' in sys.modules)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=dict(os.environ))
    assert proc.stdout.split() == ["True", "gan", "False"], proc.stderr


def test_rename_remove(make_model_file):
    store = ModelStore()
    make_model_file(store.root / "a.safetensors")
    make_model_file(store.root / "b.safetensors")
    info = store.rename("a", "c")
    assert info.name == "c" and info.ok and not store.exists("a")
    with pytest.raises(ModelError, match="already exists"):
        store.rename("c", "b")
    with pytest.raises(ModelError, match="no model named 'zzz'"):
        store.rename("zzz", "y")
    store.remove("c")
    assert [i.name for i in store.list()] == ["b"]
    with pytest.raises(ModelError, match="no model named 'c'"):
        store.remove("c")
    with pytest.raises(ModelError, match="no model named"):
        store.get("c")


def test_import_export(tmp_path, make_model_file):
    store = ModelStore()
    src = make_model_file(tmp_path / "downloaded.safetensors")
    info = store.import_file(src)
    assert info.name == "downloaded" and info.ok
    assert store.import_file(src, name="second").name == "second"
    with pytest.raises(ModelError, match="already exists"):
        store.import_file(src)
    out = store.export("second", tmp_path / "out" / "exported.safetensors")
    assert out.read_bytes() == src.read_bytes()
    with pytest.raises(ModelError, match="exported.png"):
        store.export("second", tmp_path / "exported.png")


def test_import_refuses_corrupt_and_foreign_files(tmp_path):
    store = ModelStore()
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"garbage")
    foreign = tmp_path / "foreign.safetensors"
    save_file({"w": torch.zeros(2)}, str(foreign))
    with pytest.raises(ModelError, match="bad.safetensors"):
        store.import_file(bad)
    with pytest.raises(ModelError, match="not an Imgen Desktop model"):
        store.import_file(foreign)
    with pytest.raises(ModelError, match="not found"):
        store.import_file(tmp_path / "missing.safetensors")
    assert store.list() == []


def test_atomic_writes_leave_no_temporary_files(monkeypatch):
    store = ModelStore()
    store.save("m", _tensors(), META)
    before = (store.root / "m.safetensors").read_bytes()
    assert [p.name for p in store.root.iterdir()] == ["m.safetensors"]

    import safetensors.torch

    def failing_save(tensors, filename, metadata=None):
        with open(filename, "wb") as fh:
            fh.write(b"half a file")
        raise OSError("disk full")

    monkeypatch.setattr(safetensors.torch, "save_file", failing_save)
    with pytest.raises(OSError, match="disk full"):
        store.save("m", {"x": torch.ones(3)}, META)
    assert (store.root / "m.safetensors").read_bytes() == before  # old model intact
    assert [p.name for p in store.root.iterdir()] == ["m.safetensors"]
    assert [i.name for i in store.list()] == ["m"]


def test_temporary_files_are_not_listed():
    store = ModelStore()
    (store.root / ".m.safetensors.abc123.safetensors").write_bytes(b"in progress")
    assert store.list() == []


@pytest.mark.parametrize(
    "name", ["", " ", "../escape", "a/b", "a\\b", ".hidden", "x.safetensors", "a" * 101, "tab\there", "-dash-first"]
)
def test_invalid_names_are_refused(name):
    with pytest.raises(ModelError, match="invalid model name"):
        validate_name(name)
    with pytest.raises(ModelError):
        ModelStore().save(name, _tensors(), META)


@pytest.mark.parametrize("name", ["a", "My model 2", "gan_x2-v1.5", "a+b", "a" * 100])
def test_valid_names(name):
    assert validate_name(f"  {name} ") == name


def test_unique_name():
    store = ModelStore()
    assert store.unique_name("m") == "m"
    store.save("m", _tensors(), META)
    assert store.unique_name("m") == "m-2"
    store.save("m-2", _tensors(), META)
    assert store.unique_name("m") == "m-3"
