"""``imgen enhance --precision``: fp32 forced works, bf16 output is close to the fp32 one."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from imgen_desktop import cli
from imgen_desktop.core.imageio import load_image, photo_from_array, save_image
from imgen_desktop.core.models import restore
from imgen_desktop.core.store import ModelStore


def test_precision_flag_fp32_and_bf16_close(tmp_path, capsys, monkeypatch):
    torch.manual_seed(0)
    params = dict(channels=3, task="upscale", scale=2, width=8, blocks=1)
    net = restore.RestoreGenerator(**params)
    with torch.no_grad():
        net.tail.weight.normal_(0, 0.05)  # a fresh tail is zero: make the net do something
    ModelStore().save("tiny-x2", net.state_dict(), {"family": "gan", "task": "upscale", "scale": 2, "channels": 3,
                                                    "arch": "gan.restore", "arch_params": params})
    src = save_image(photo_from_array((np.random.default_rng(0).random((24, 28, 3)) * 255).astype(np.uint8)), tmp_path / "a.png")
    outs = {}
    for prec in ("fp32", "bf16"):
        out = tmp_path / f"{prec}.png"
        assert cli.main(["enhance", str(src), "-o", str(out), "--model", "tiny-x2", "--tile", "0", "--precision", prec]) == 0
        outs[prec] = load_image(out).pixels.astype(int)
    assert outs["fp32"].shape == (48, 56, 3)
    diff = np.abs(outs["fp32"] - outs["bf16"])
    assert diff.max() <= 3 and diff.mean() < 0.5
    monkeypatch.setattr("imgen_desktop.core.precision.cpu_bf16_flags", lambda: [])
    assert cli.main(["enhance", str(src), "-o", str(tmp_path / "b.png"), "--model", "tiny-x2", "--precision", "bf16"]) == 0
    assert "imgen: note: this CPU has no bf16 instructions" in capsys.readouterr().err
    with pytest.raises(SystemExit) as usage:
        cli.main(["enhance", str(src), "-o", str(tmp_path / "c.png"), "--model", "tiny-x2", "--precision", "fp8"])
    assert usage.value.code == 2
