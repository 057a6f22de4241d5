"""Load every file of the generated hostile-model corpus; report refusals, peak memory and time.

    PYTHONPATH=$PWD IMGEN_HOME=$(mktemp -d) .venv/bin/python benchmarks/hostile_models.py

The corpus is the one tests/reliability/test_models_hostile.py builds (parameter bombs such as
``blocks=100000`` or ``scale=1000`` in a tiny file, odd metadata, broken safetensors structure).
Linux only (reads VmHWM from /proc).
"""
from __future__ import annotations

import re
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "reliability"))

from test_models_hostile import build_corpus  # noqa: E402

from imgen_desktop.core.errors import ModelError  # noqa: E402
from imgen_desktop.core.models import load_network  # noqa: E402


def peak_mb() -> float:
    return int(re.search(r"VmHWM:\s+(\d+)", Path("/proc/self/status").read_text()).group(1)) / 1024


def main() -> None:
    corpus = build_corpus(Path(tempfile.mkdtemp(prefix="hostile-")))
    load_network(corpus["good"])
    base = peak_mb()
    refused, loaded = [], []
    t0 = time.perf_counter()
    for name, path in corpus.items():
        try:
            load_network(path)
            loaded.append(name)
        except ModelError:
            refused.append(name)
    per_file = (time.perf_counter() - t0) * 1000 / len(corpus)
    print(f"{len(corpus)} files: {len(refused)} refused with a ModelError, loaded: {', '.join(loaded)}")
    print(f"peak RSS {peak_mb():.0f} MB (torch + one good load: {base:.0f} MB); {per_file:.1f} ms per file")


if __name__ == "__main__":
    main()
