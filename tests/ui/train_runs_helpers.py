"""Tiny real training runs (builtin:digits, 16 px, 30 steps, batch 16, samples every 10) made once
per test session and copied into each test's data root."""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

_CACHE: dict[tuple, Path] = {}


def tiny_config(name: str, family: str = "gan", steps: int = 30, **extra):
    from imgen_desktop.core.config import TrainConfig

    return TrainConfig(family=family, task="generate", data="builtin:digits", image_size=16, batch_size=16,
                       steps=steps, sample_every=10, checkpoint_every=0, width=8, name=name, device="cpu", **extra)


def make_runs(home: Path, specs: tuple[tuple[str, str, int], ...]) -> None:
    """Put the runs ``(name, family, steps)`` into the data root ``home`` (trained once, then copied)."""
    if specs not in _CACHE:
        os.environ.setdefault("OMP_NUM_THREADS", "1")
        import torch

        torch.set_num_threads(1)
        from imgen_desktop.core.trainer import train

        root = Path(tempfile.mkdtemp(prefix="imgen-tiny-runs-"))
        old = os.environ.get("IMGEN_HOME")
        os.environ["IMGEN_HOME"] = str(root)
        try:
            for seed, (name, family, steps) in enumerate(specs):
                result = train(tiny_config(name, family, steps, seed=seed), lambda _e: None)
                assert type(result).__name__ == "Finished", result
        finally:
            os.environ["IMGEN_HOME"] = old or ""
        _CACHE[specs] = root
    for sub in ("runs", "models"):
        src = _CACHE[specs] / sub
        if src.is_dir():
            shutil.copytree(src, home / sub, dirs_exist_ok=True)
