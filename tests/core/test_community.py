"""Community models through spandrel: import (.pth and .safetensors) by the CLI, then
``imgen enhance`` tiled and untiled, for six architectures built from spandrel's own classes
with random weights; hostile pickles and unknown architectures are refused in one line."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from imgen_desktop import cli
from imgen_desktop.core import community
from imgen_desktop.core.enhance import list_enhancement_models, open_model
from imgen_desktop.core.errors import ModelError
from imgen_desktop.core.imageio import load_image, photo_from_array, save_image
from imgen_desktop.core.store import ModelStore

community._spandrel()  # spandrel (with the torchvision stand-in where torchvision cannot load)
from spandrel.architectures.Compact import Compact  # noqa: E402
from spandrel.architectures.ESRGAN import ESRGAN  # noqa: E402
from spandrel.architectures.LaMa import LaMa  # noqa: E402
from spandrel.architectures.RestoreFormer import RestoreFormer  # noqa: E402
from spandrel.architectures.SCUNet import SCUNet  # noqa: E402
from spandrel.architectures.SwinIR import SwinIR  # noqa: E402

# name -> (builder, spandrel id, our task, scale); each as small as its architecture allows
ARCHS = {
    "esrgan": (lambda: ESRGAN(num_filters=8, num_blocks=1, scale=2), "ESRGAN", "upscale", 2),
    "compact": (lambda: Compact(num_feat=8, num_conv=2, upscale=4), "Compact", "upscale", 4),
    "swinir": (lambda: SwinIR(img_size=32, embed_dim=12, depths=[2], num_heads=[2], window_size=8, upscale=2,
                              upsampler="pixelshuffledirect", mlp_ratio=2.0), "SwinIR", "upscale", 2),
    "scunet": (lambda: SCUNet(config=[1, 1, 1, 1, 1, 1, 1], dim=64), "SCUNet", "denoise", 1),
    "restoreformer": (lambda: RestoreFormer(n_embed=32, embed_dim=32, ch=32, ch_mult=(1, 2), num_res_blocks=1,
                                            z_channels=32, head_size=8), "RestoreFormer", "faces", 1),
    "lama": (lambda: LaMa(in_nc=4, out_nc=3), "LaMa", "inpaint", 1),  # fixed size: 51 M parameters
}
# (architecture, file format): both formats for the small ones; SCUNet and LaMa once each
CASES = [(a, f) for a in ("esrgan", "compact", "swinir", "restoreformer") for f in ("pth", "safetensors")]
CASES += [("scunet", "pth"), ("lama", "safetensors")]


def write_weights(path, net) -> None:
    state = {k: v.detach().clone() for k, v in net.state_dict().items()}
    if str(path).endswith(".safetensors"):
        from safetensors.torch import save_file

        save_file(state, str(path))
    else:
        torch.save({"params_ema": state}, str(path))  # nested as in real releases (canonicalized)


def _photo(path, h=40, w=56, seed=0):
    arr = (np.random.default_rng(seed).random((h, w, 3)) * 255).astype(np.uint8)
    return save_image(photo_from_array(arr), path)


@pytest.mark.parametrize("arch,fmt", CASES)
def test_import_then_enhance_tiled_equals_untiled(arch, fmt, tmp_path, capsys):
    build, arch_id, task, scale = ARCHS[arch]
    torch.manual_seed(0)
    src = tmp_path / f"{arch}-model.{fmt}"
    write_weights(src, build().eval())

    assert cli.main(["models", "import", str(src), "--name", arch]) == 0
    assert f"{arch_id.upper()} {task}" in capsys.readouterr().out
    info = ModelStore().get(arch)
    assert (info.family, info.task, info.scale, info.meta["channels"]) == (arch_id, task, scale, 3)
    assert info.meta["arch_params"]["spandrel_arch"] == arch_id
    assert any(c.spec == arch and c.task == task for c in list_enhancement_models())  # on the canvas's picker
    assert cli.main(["models", "list"]) == 0
    assert arch in capsys.readouterr().out

    photo = _photo(tmp_path / "in.png")
    args = ["--model", arch, "--quiet"]
    if task == "inpaint":
        mask = np.zeros((40, 56), np.uint8)
        mask[10:22, 20:40] = 255
        save_image(photo_from_array(mask), tmp_path / "mask.png")
        args += ["--mask", str(tmp_path / "mask.png")]
    whole, tiled = tmp_path / "whole.png", tmp_path / "tiled.png"
    assert cli.main(["enhance", str(photo), "-o", str(whole), "--tile", "0", *args]) == 0
    assert cli.main(["enhance", str(photo), "-o", str(tiled), "--tile", "16", *args]) == 0
    a, b = load_image(whole).pixels.astype(int), load_image(tiled).pixels.astype(int)
    assert a.shape == (40 * scale, 56 * scale, 3)
    assert np.abs(a - b).max() <= 1  # tiled == untiled (to the 8-bit rounding)
    assert a.std() > 0  # a real picture came out, not a constant

    model = open_model(arch, "cpu")
    if model.tileable:  # the halo is the measured receptive radius: tile cores are exact
        x = torch.rand(1, 3, 44, 60)
        assert float((model.run_tiled(x, tile=0) - model.run_tiled(x, tile=16)).abs().max()) < 1e-4
        assert model.halo > 0
    if task == "inpaint":  # only the masked area changes
        before = load_image(photo).pixels.astype(int)
        assert np.array_equal(a[:10], before[:10]) and np.abs(a[10:22, 20:40] - before[10:22, 20:40]).max() > 0


def test_a_pickle_that_would_run_code_is_refused_and_never_runs(tmp_path, capsys):
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            import os

            return os.system, (f"touch {marker}",)

    evil = tmp_path / "evil.pth"
    torch.save({"params_ema": {"conv.weight": torch.zeros(1)}, "x": Payload()}, str(evil))
    assert b"system" in evil.read_bytes()  # the payload is really in the file

    assert cli.main(["models", "import", str(evil)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "evil.pth was refused" in err[0] and "Traceback" not in err[0]
    assert not marker.exists()
    assert ModelStore().list() == []


def test_unknown_architecture_is_one_clear_line_naming_the_file(tmp_path, capsys):
    odd = tmp_path / "mystery.pth"
    torch.save({"encoder.weird.weight": torch.zeros(3, 3)}, str(odd))
    assert cli.main(["models", "import", str(odd)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "mystery.pth" in err[0] and "architecture" in err[0]
    with pytest.raises(ModelError, match="not a model file"):
        community.read_state_dict(tmp_path / "notes.txt")


def test_stored_model_keeps_its_metadata_and_reloads_the_same_network(tmp_path):
    torch.manual_seed(1)
    net = ESRGAN(num_filters=8, num_blocks=1, scale=2).eval()
    write_weights(tmp_path / "m.pth", net)
    info = ModelStore().import_file(tmp_path / "m.pth")
    params = info.meta["arch_params"]
    assert info.name == "m" and info.meta["source"] == "m.pth" and params["tiling"] == "supported"
    assert 0 < params["radius"] <= community.MAX_RADIUS
    model = open_model("m", "cpu")
    x = torch.rand(1, 3, 24, 20)
    with torch.no_grad():
        assert torch.allclose(model(x), net(x).clamp(0, 1), atol=1e-5)
    assert "float32" in model.dtypes


def test_an_exported_community_model_imports_again_and_x3_is_refused_clearly(tmp_path, capsys):
    torch.manual_seed(0)
    write_weights(tmp_path / "c.pth", Compact(num_feat=8, num_conv=2, upscale=2))
    ModelStore().import_file(tmp_path / "c.pth")
    assert cli.main(["models", "export", "c", str(tmp_path / "c-copy.safetensors")]) == 0
    again = ModelStore().import_file(tmp_path / "c-copy.safetensors")
    assert (again.family, again.task, again.scale) == ("Compact", "upscale", 2)
    write_weights(tmp_path / "three.pth", Compact(num_feat=8, num_conv=2, upscale=3))
    assert cli.main(["models", "import", str(tmp_path / "three.pth")]) == 1
    assert "x3" in capsys.readouterr().err


def test_precision_falls_back_to_fp32_where_the_architecture_has_no_bf16(tmp_path):
    torch.manual_seed(0)
    write_weights(tmp_path / "c.pth", Compact(num_feat=8, num_conv=2, upscale=2))
    ModelStore().import_file(tmp_path / "c.pth")
    model = open_model("c", "cpu")
    model.descriptor.supports_bfloat16 = False
    assert model.resolve_precision("bf16").name == "fp32"
    x = torch.rand(1, 3, 20, 24)
    assert torch.equal(model.run_tiled(x, tile=0, precision="bf16"), model.run_tiled(x, tile=0, precision="fp32"))


# --- "exactly like ours": alpha, 16-bit, ICC/EXIF, self-ensemble passes, out-of-memory retry -----

def _compact_model(tmp_path, name="c", scale=2):
    torch.manual_seed(0)
    write_weights(tmp_path / f"{name}.pth", Compact(num_feat=8, num_conv=2, upscale=scale))
    ModelStore().import_file(tmp_path / f"{name}.pth")
    return name


def test_a_community_upscaler_keeps_alpha_16_bit_icc_and_exif_through_the_cli(tmp_path):
    from PIL import Image, ImageCms

    name = _compact_model(tmp_path)
    rng = np.random.default_rng(0)
    rgba = (rng.random((24, 32, 4)) * 255).astype(np.uint8)
    rgba[..., 3] = 0
    rgba[:, 16:, 3] = 255  # left half transparent, right half opaque
    save_image(photo_from_array(rgba), tmp_path / "a.png")
    assert cli.main(["enhance", str(tmp_path / "a.png"), "-o", str(tmp_path / "a2.png"), "--model", name,
                     "--tile", "16", "--quiet"]) == 0
    out = load_image(tmp_path / "a2.png")
    assert out.pixels.shape == (48, 64, 3) and out.alpha is not None and out.alpha.shape == (48, 64)
    assert out.alpha[:, :28].max() <= 8 and out.alpha[:, 36:].min() >= 247  # upscaled with the photo

    gray16 = (rng.random((20, 24)) * 65535).astype(np.uint16)  # 16 bits: gray (Pillow has no 16-bit RGB)
    from imgen_desktop.core.imageio import Photo

    save_image(Photo(gray16[:, :, None], bit_depth=16, format="PNG"), tmp_path / "deep.png")
    assert load_image(tmp_path / "deep.png").pixels.dtype == np.uint16
    assert cli.main(["enhance", str(tmp_path / "deep.png"), "-o", str(tmp_path / "deep2.png"), "--model", name,
                     "--tile", "16", "--quiet"]) == 0  # gray through the RGB network, averaged back
    deep = load_image(tmp_path / "deep2.png")
    assert deep.pixels.dtype == np.uint16 and deep.pixels.shape == (40, 48, 1) and deep.bit_depth == 16
    assert len(np.unique(deep.pixels)) > 1000  # real 16-bit values, not 8-bit steps

    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    exif = Image.Exif()
    exif[0x010F] = "TestCam"
    Image.fromarray(rgba[..., :3]).save(tmp_path / "cam.jpg", icc_profile=icc, exif=exif.tobytes())
    assert cli.main(["enhance", str(tmp_path / "cam.jpg"), "-o", str(tmp_path / "cam2.jpg"), "--model", name,
                     "--quiet"]) == 0
    from PIL import Image as _Image

    with _Image.open(tmp_path / "cam2.jpg") as im:
        assert im.size == (64, 48) and im.info.get("icc_profile") == icc and im.getexif().get(0x010F) == "TestCam"


def test_a_community_model_runs_self_ensemble_passes_and_retries_after_out_of_memory(tmp_path):
    model = open_model(_compact_model(tmp_path), "cpu")
    x = torch.rand(1, 3, 20, 28, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        one = model.run_tiled(x, tile=0)
        mirrored = model.run_tiled(x.flip(-1), tile=0).flip(-1)
        assert torch.allclose(model.run_tiled(x, tile=0, passes=2), (one + mirrored) / 2, atol=1e-6)

    real, sizes = model.net.desc, []

    class Flaky:  # the descriptor, failing once with CUDA's out-of-memory error
        def __getattr__(self, key):
            return getattr(real, key)

        def __call__(self, image, *more):
            sizes.append(image.shape[-1])
            if len(sizes) == 1:
                raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
            return real(image, *more)

    model.net.desc = Flaky()
    big = torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        got = model.run_tiled(big, tile=64)
    model.net.desc = real
    with torch.no_grad():
        want = model.run_tiled(big, tile=64)
    assert sizes[0] > sizes[1]  # retried with smaller tiles
    assert float((got - want).abs().max()) < 1e-4  # and the same picture (exact tile cores)
