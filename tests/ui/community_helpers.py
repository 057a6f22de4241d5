"""Helpers for the GUI tests of community models: weights files built from spandrel's own
architecture classes with random weights (tiny where the architecture allows), real photos."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

PHOTOS = Path(__file__).resolve().parents[2] / "resources" / "photos"


def spandrel_arch(name: str):
    from imgen_desktop.core import community

    community._spandrel()  # spandrel, with the torchvision stand-in where torchvision cannot load
    import importlib

    return getattr(importlib.import_module(f"spandrel.architectures.{name}"), name)


def builders():
    return {
        "compact": lambda scale=4: spandrel_arch("Compact")(num_feat=8, num_conv=2, upscale=scale),
        "esrgan": lambda scale=2: spandrel_arch("ESRGAN")(num_filters=8, num_blocks=1, scale=scale),
        "restoreformer": lambda: spandrel_arch("RestoreFormer")(
            n_embed=32, embed_dim=32, ch=32, ch_mult=(1, 2), num_res_blocks=1, z_channels=32, head_size=8),
        "lama": lambda: spandrel_arch("LaMa")(in_nc=4, out_nc=3),  # fixed size (51 M parameters)
    }


def weights_file(path: Path, arch: str, seed: int = 0, **kw) -> Path:
    """``path`` (.pth nested as real releases are, or .safetensors) with random weights of ``arch``."""
    import torch

    torch.manual_seed(seed)
    net = builders()[arch](**kw).eval()
    state = {k: v.detach().clone() for k, v in net.state_dict().items()}
    if str(path).endswith(".safetensors"):
        from safetensors.torch import save_file

        save_file(state, str(path))
    else:
        torch.save({"params_ema": state}, str(path))
    return path


def hostile_pth(path: Path, marker: Path) -> Path:
    """A .pth whose pickle would run ``touch marker`` if it were unpickled without restriction."""
    import torch

    class Payload:
        def __reduce__(self):
            import os

            return os.system, (f"touch {marker}",)

    torch.save({"params_ema": {"conv.weight": torch.zeros(1)}, "x": Payload()}, str(path))
    assert b"system" in path.read_bytes()
    return path


def real_photo(path: Path, name: str = "rocket.jpg", box=(220, 120, 300, 180)) -> Path:
    """A crop of one of the app's real sample photos (small, so the tests stay fast)."""
    with Image.open(PHOTOS / name) as im:
        im.convert("RGB").crop(box).save(path)
    return path


def pixels(path: Path) -> np.ndarray:
    from imgen_desktop.core.imageio import load_image

    return load_image(path).pixels
