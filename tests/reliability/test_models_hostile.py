"""Hostile and broken model files: one clear line, bounded memory, nothing copied, nothing hidden.

The corpus is generated here (no committed binaries): a valid tiny upscaler, then the same
file with a header that lies (parameter bombs: ``blocks=100000``, ``scale=1000`` ...), odd
metadata (``scale: "2.5"``, ``family: 7``, ``created: NaN``, deep JSON ...) and broken
safetensors structure (overlapping or out-of-file byte ranges, negative shapes, unknown
dtypes, tensors that do not fit the architecture).
"""
from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

from imgen_desktop.cli import main
from imgen_desktop.core.store import META_KEY, ModelStore, save_model_file

PARAMS = {"channels": 3, "task": "upscale", "scale": 2, "width": 4, "blocks": 1, "unshuffle": 1,
          "dilations": [1], "noise_hint": False}
META = {"family": "gan", "task": "upscale", "scale": 2, "channels": 3, "arch": "gan.restore", "arch_params": PARAMS,
        "dataset": "builtin:photos", "steps": 10, "created": 1.8e9, "format": 1}


def _tiny_tensors() -> dict[str, torch.Tensor]:
    from imgen_desktop.core.models import restore

    torch.manual_seed(0)
    return {k: v.contiguous() for k, v in restore.RestoreGenerator(**PARAMS).state_dict().items()}


def _raw(path: Path, header: dict, data: bytes) -> Path:
    blob = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(blob)) + blob + data)
    return path


def _with_meta(path: Path, meta_text: str, tensors=None) -> Path:
    """A file with the tiny net's tensors (or ``tensors``) and ``meta_text`` as our metadata string."""
    from safetensors.torch import save_file

    save_file(tensors if tensors is not None else _tiny_tensors(), str(path), metadata={META_KEY: meta_text})
    return path


def _params(**changes) -> str:
    return json.dumps({**META, "arch_params": {**PARAMS, **changes}})


def _meta(**changes) -> str:
    return json.dumps({**META, **changes})


def _deep(levels: int) -> str:
    return json.dumps({**META, "metrics": {}})[:-1] + ', "extra": ' + "[" * levels + "]" * levels + "}"


def build_corpus(folder: Path) -> dict[str, Path]:
    """name -> path of every hostile or broken file (and ``good``, a valid one)."""
    folder.mkdir(parents=True, exist_ok=True)
    c: dict[str, Path] = {}
    c["good"] = save_model_file(folder / "good.safetensors", _tiny_tensors(), META)
    # parameter bombs: the header asks for a network far larger than the file
    bombs = {
        "blocks-1e5": _params(blocks=100_000),
        "blocks-1e9": _params(blocks=1_000_000_000),
        "blocks-float": _params(blocks=1e5),
        "scale-1000": json.dumps({**META, "scale": 1000, "arch_params": {**PARAMS, "scale": 1000}}),
        "params-scale-1000": _params(scale=1000),
        "width-1e6": _params(width=1_000_000),
        "width-negative": _params(width=-4),
        "width-string": _params(width="32"),
        "width-list": _params(width=[32]),
        "width-bool": _params(width=True),
        "dilations-10000": _params(dilations=[1] * 10_000),
        "unshuffle-1000": _params(unshuffle=1000),
        "channels-1000": _params(channels=1000),
        "params-not-object": _meta(arch_params=[1, 2, 3]),
        "task-arch-mismatch": _meta(task="generate", scale=1),
        "family-arch-mismatch": _meta(family="vae"),
        "params-task-mismatch": _params(task="denoise"),
        "dcgan-huge": json.dumps({**META, "task": "generate", "scale": 1, "arch": "gan.dcgan",
                                  "arch_params": {"z_dim": 10**9, "channels": 3, "width": 64, "image_size": 2**20}}),
        "draw-huge": json.dumps({**META, "family": "rnn", "task": "generate", "scale": 1, "arch": "rnn.draw",
                                 "arch_params": {"size": 32, "channels": 1, "z_dim": 16, "hidden": 10**6, "steps": 10**9}}),
        "vae-huge": json.dumps({**META, "family": "vae", "task": "generate", "scale": 1, "arch": "vae.conv",
                                "arch_params": {"size": 2**30, "channels": 3, "latent_dim": 32, "width": 32}}),
    }
    # odd metadata
    odd = {
        "scale-string": _meta(scale="2.5"),
        "scale-float": _meta(scale=2.5),
        "family-number": _meta(family=7),
        "task-list": _meta(task=["upscale"]),
        "created-nan": _meta(created=float("nan")),
        "created-huge": _meta(created=1e300),
        "created-string": _meta(created="yesterday"),
        "steps-negative": _meta(steps=-1),
        "format-bool": _meta(format=True),
        "name-number": _meta(name=5),
        "label-object": _meta(label={"x": 1}),
        "builtin-string": _meta(builtin="yes"),
        "metrics-list": _meta(metrics=[1, 2]),
        "deep-json-50": _deep(50),
        "deep-json-100000": _deep(100_000),
        "meta-2mb": _meta(dataset="x" * (2 * 2**20)),
        "meta-array": "[1, 2, 3]",
    }
    for name, text in {**bombs, **odd}.items():
        c[name] = _with_meta(folder / f"{name}.safetensors", text)
    tensors = _tiny_tensors()
    first = sorted(tensors)[0]
    # tensors that do not fit the architecture
    c["shape-mismatch"] = _with_meta(folder / "shape-mismatch.safetensors", json.dumps(META),
                                     {**tensors, first: torch.zeros(7, 7)})
    c["missing-tensor"] = _with_meta(folder / "missing-tensor.safetensors", json.dumps(META),
                                     {k: v for k, v in tensors.items() if k != first})
    c["extra-tensor"] = _with_meta(folder / "extra-tensor.safetensors", json.dumps(META), {**tensors, "evil": torch.zeros(3)})
    c["int-weights"] = _with_meta(folder / "int-weights.safetensors", json.dumps(META),
                                  {k: v.to(torch.int8) for k, v in tensors.items()})
    # broken safetensors structure (hand-made headers)
    meta = {"__metadata__": {META_KEY: json.dumps(META)}}
    c["overlap"] = _raw(folder / "overlap.safetensors", {**meta, "a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                                                       "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}, bytes(12))
    c["negative-shape"] = _raw(folder / "negative-shape.safetensors",
                               {**meta, "a": {"dtype": "F32", "shape": [-2], "data_offsets": [0, 8]}}, bytes(8))
    c["bad-dtype"] = _raw(folder / "bad-dtype.safetensors",
                          {**meta, "a": {"dtype": "F128", "shape": [2], "data_offsets": [0, 8]}}, bytes(8))
    c["size-mismatch"] = _raw(folder / "size-mismatch.safetensors",
                              {**meta, "a": {"dtype": "F32", "shape": [10**12], "data_offsets": [0, 8]}}, bytes(8))
    c["beyond-end"] = _raw(folder / "beyond-end.safetensors",
                           {**meta, "a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}, bytes(4))
    good = c["good"].read_bytes()
    (folder / "truncated.safetensors").write_bytes(good[:-100])
    c["truncated"] = folder / "truncated.safetensors"
    (folder / "huge-header.safetensors").write_bytes(struct.pack("<Q", 2**40) + b"{}")
    c["huge-header"] = folder / "huge-header.safetensors"
    (folder / "empty.safetensors").write_bytes(b"")
    c["empty"] = folder / "empty.safetensors"
    return c


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> dict[str, Path]:
    return build_corpus(tmp_path_factory.mktemp("hostile-models"))


def _hostile(corpus) -> list[str]:
    return [name for name in corpus if name != "good"]


_CHILD = textwrap.dedent("""
    import re, resource, sys
    import torch
    from imgen_desktop.core.errors import ModelError
    from imgen_desktop.core.models import load_network

    def vm_kb():
        return int(re.search(r"VmSize:\\s+(\\d+)", open("/proc/self/status").read()).group(1))

    limit = vm_kb() * 1024 + int(sys.argv[1])  # this much address space above what torch itself maps
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    for path in sys.argv[2:]:
        try:
            net, meta = load_network(path)
            print("OK", path, flush=True)
        except ModelError as exc:
            print("ERR", path, str(exc).replace("\\n", "\\\\n"), flush=True)
        except MemoryError:
            print("MEM", path, flush=True)
        except BaseException as exc:
            print("EXC", path, type(exc).__name__, str(exc).splitlines()[0][:100] if str(exc) else "", flush=True)
""")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc and uses RLIMIT_AS")
def test_hostile_files_load_with_bounded_memory_and_one_clear_line(corpus):
    """Every hostile file is refused with one ModelError line naming it, inside 1 GiB of address
    space above torch's own (``blocks=1e5`` took 8.6 GB before, ``blocks=1e9`` grew to the cap)."""
    files = [str(corpus[name]) for name in corpus]
    proc = subprocess.run([sys.executable, "-c", _CHILD, str(2**30), *files], capture_output=True, text=True,
                          timeout=300, env=dict(os.environ))
    assert proc.returncode == 0, proc.stderr[-2000:]
    results = {}
    for line in proc.stdout.splitlines():
        kind, path, *rest = line.split(" ", 2)
        results[Path(path).stem] = (kind, rest[0] if rest else "")
    assert set(results) == set(corpus), proc.stdout
    assert results["good"][0] == "OK"
    for name in _hostile(corpus):
        kind, message = results[name]
        assert kind == "ERR", (name, kind, message)
        assert f"{name}.safetensors" in message, (name, message)
        assert "\\n" not in message and len(message) < 400, (name, message)


@pytest.mark.parametrize("name", ["blocks-1e5", "scale-1000", "shape-mismatch", "overlap", "negative-shape",
                                  "bad-dtype", "int-weights", "scale-string", "deep-json-100000", "truncated"])
def test_import_refuses_what_cannot_load_and_copies_nothing(corpus, name, imgen_home, capsys):
    assert main(["models", "import", str(corpus[name]), "--name", "incoming"]) == 1
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("imgen: error: "), captured.err
    assert f"{name}.safetensors" in lines[0] and "Traceback" not in captured.err + captured.out
    assert list((imgen_home / "models").iterdir()) == []  # nothing copied, not even a temporary file


def test_every_hostile_file_is_refused_by_import(corpus, imgen_home):
    from imgen_desktop.core.errors import ModelError

    store = ModelStore()
    for name in _hostile(corpus):
        with pytest.raises(ModelError) as info:
            store.import_file(corpus[name], "incoming")
        assert f"{name}.safetensors" in str(info.value) and "\n" not in str(info.value)
    assert store.list() == []
    assert store.import_file(corpus["good"], "fine").ok


def test_a_bad_file_never_breaks_the_list_or_hides_the_others(corpus, imgen_home, capsys):
    """Every hostile file copied straight into the store: listing still works, shows the good
    model and names each bad one as unreadable; the canvas's picker keeps the built-ins."""
    import shutil

    from imgen_desktop.core.enhance import list_enhancement_models

    store = ModelStore()
    for name, path in corpus.items():
        shutil.copyfile(path, store.root / f"{name}.safetensors")
    infos = {info.name: info for info in store.list()}
    assert set(infos) == set(corpus)
    assert infos["good"].ok
    # the listing reads headers only (no torch): files whose tensors do not fit their network
    # list as models and are refused, with one line, when loaded or imported
    tensor_only = {"shape-mismatch", "missing-tensor", "extra-tensor", "int-weights"}
    assert sorted(n for n, info in infos.items() if info.ok and n != "good") == sorted(tensor_only)
    for info in infos.values():  # every property a list or a picker reads works on every entry
        info.describe(), info.family, info.task, info.scale, info.created, info.steps, info.builtin

    assert main(["models", "list"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert any(line.split()[0] == "good" and "GAN" in line for line in out)
    assert sum("unreadable" in line for line in out) == len(corpus) - 1 - len(tensor_only)

    specs = [choice.spec for choice in list_enhancement_models()]
    from imgen_desktop.core import enhance

    shipped = [n for n in enhance.ALL_BUILTIN_NAMES if enhance.builtin_path(n).is_file()]
    assert "good" in specs and sum(s.startswith("builtin:") for s in specs) == len(shipped) >= 4


def test_generate_with_a_hostile_model_is_one_line(corpus, tmp_path, imgen_home, capsys):
    target = ModelStore().root / "bomb.safetensors"
    target.write_bytes(corpus["dcgan-huge"].read_bytes())
    out = tmp_path / "grid.png"
    assert main(["generate", "--model", "bomb", "-n", "2", "-o", str(out)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "bomb.safetensors" in err[0] and "out of range" in err[0]
    assert not out.exists()


def test_import_through_the_real_cli_is_one_line(corpus, imgen_home):
    """A real process (torch's own warnings and log lines included): exit 1, one stderr line."""
    proc = subprocess.run([sys.executable, "-m", "imgen_desktop.cli", "models", "import", str(corpus["blocks-1e9"])],
                          capture_output=True, text=True, timeout=300, env=dict(os.environ))
    assert proc.returncode == 1, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "blocks-1e9.safetensors" in lines[0] and "blocks" in lines[0], proc.stderr
    assert list((imgen_home / "models").iterdir()) == []


def test_models_and_store_do_not_import_each_other():
    """The registry (core.models) reads files through core.models.files, never through the store."""
    code = ("import sys\nimport imgen_desktop.core.models as m\nm.architectures()\n"
            "print('imgen_desktop.core.store' in sys.modules)\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=dict(os.environ))
    assert proc.stdout.split() == ["False"], proc.stderr
