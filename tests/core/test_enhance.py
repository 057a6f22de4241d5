"""The enhancement wrapper: tiling, photo round-trips, OOM retry, cancel; restore recipes learn."""
from __future__ import annotations

import glob

import numpy as np
import pytest
import torch

from imgen_desktop.core import enhance
from imgen_desktop.core.config import TrainConfig
from imgen_desktop.core.control import ControlToken
from imgen_desktop.core.errors import Cancelled, ImgenError, ModelError
from imgen_desktop.core.models import load_network, restore
from imgen_desktop.core.models.base import Amp
from imgen_desktop.core.paths import resource_path
from imgen_desktop.core.store import save_model_file


def _perturbed(net, seed=0):
    """Random, non-trivial weights (a fresh net's last layer starts near zero)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in net.parameters():
            p.add_(torch.randn(p.shape, generator=g) * 0.05)
    return net.eval()


def _model(cls, **params):
    torch.manual_seed(0)
    net = _perturbed(cls(**params))
    family = {restore.RestoreGenerator: "gan", restore.RestoreCVAE: "vae", restore.RestoreRNN: "rnn"}[cls]
    return enhance.ImageModel(net, {"task": params["task"], "family": family}, torch.device("cpu"), spec="test")


def _model_file(path, cls=restore.RestoreGenerator, **params):
    torch.manual_seed(0)
    net = _perturbed(cls(**params))
    arch = {restore.RestoreGenerator: "gan.restore", restore.RestoreCVAE: "vae.restore", restore.RestoreRNN: "rnn.restore"}[cls]
    meta = {"family": arch.split(".")[0], "task": params["task"], "scale": params.get("scale", 1),
            "channels": params["channels"], "arch": arch, "arch_params": params}
    save_model_file(path, net.state_dict(), meta)
    return path


X2 = dict(channels=3, task="upscale", scale=2, width=8, blocks=2)


@pytest.mark.parametrize(
    "cls,params,tile",
    [
        (restore.RestoreGenerator, X2, 24),
        (restore.RestoreGenerator, dict(channels=3, task="denoise", width=8, blocks=2, unshuffle=2, noise_hint=True), 24),
        (restore.RestoreRNN, dict(channels=1, task="upscale", scale=4, width=6, blocks=1, steps=2), 16),
        (restore.RestoreCVAE, dict(channels=3, task="inpaint", width=4, blocks=1, dec_blocks=1, latent=2, unshuffle=2, dilations=[1, 2]), 40),
    ],
)
def test_tiled_equals_whole_image(cls, params, tile):
    model = _model(cls, **params)
    model.mean_consistent = False  # the tiling engine alone (the denoise mean correction: test_consistency.py)
    g = torch.Generator().manual_seed(1)
    x = torch.rand((1, params["channels"], 61, 47), generator=g)
    mask = (torch.rand((1, 1, 61, 47), generator=g) > 0.8).float()
    calls = []
    whole = model.run_tiled(x, mask=mask, tile=0)
    tiled = model.run_tiled(x, mask=mask, tile=tile, progress=lambda d, t: calls.append((d, t)))
    s = model.scale
    assert whole.shape == (1, params["channels"], 61 * s, 47 * s)
    assert float((whole - tiled).abs().max()) < 1 / 255
    assert calls[0][0] == 0 and calls[-1][0] == calls[-1][1] > 1  # progress per tile
    # the plain call (no tiling, no halo) agrees with one pass away from the border
    direct = model(x, mask=mask)
    one = model.run_tiled(x, mask=mask, tile=0, passes=1)
    b = model.halo * s
    if 2 * b < min(direct.shape[-2:]):
        assert float((direct - one)[..., b:-b, b:-b].abs().max()) < 1 / 255


@pytest.mark.parametrize(
    "cls,params",
    [
        (restore.RestoreGenerator, dict(channels=3, task="denoise", width=8, blocks=2, unshuffle=2, noise_hint=True)),
        (restore.RestoreGenerator, X2),
        (restore.RestoreCVAE, dict(channels=3, task="inpaint", width=4, blocks=1, dec_blocks=1, latent=2, unshuffle=2, dilations=[1, 2])),
    ],
)
def test_flipped_passes_average_mirrored_runs(cls, params):
    """passes=2 is the mean of the plain run and the run on the mirrored photo, mirrored back;
    passes=4 adds the upside-down runs, which makes the result mirror-consistent."""
    model = _model(cls, **params)
    model.mean_consistent = False  # the passes alone: the denoise mean correction comes after them
    g = torch.Generator().manual_seed(2)
    x = torch.rand((1, params["channels"], 37, 29), generator=g)
    mask = (torch.rand((1, 1, 37, 29), generator=g) > 0.8).float()
    kw = dict(mask=mask, tile=0, noise_level=20.0)
    one = model.run_tiled(x, passes=1, **kw)
    mirrored = model.run_tiled(x.flip(-1), mask=mask.flip(-1), tile=0, noise_level=20.0, passes=1).flip(-1)
    assert float((one - mirrored).abs().max()) > 1e-3  # a random net is not mirror-symmetric by itself
    torch.testing.assert_close(model.run_tiled(x, passes=2, **kw), (one + mirrored) / 2, atol=1e-5, rtol=0)
    four = model.run_tiled(x, passes=4, **kw)
    four_of_mirror = model.run_tiled(x.flip(-2), mask=mask.flip(-2), tile=0, noise_level=20.0, passes=4).flip(-2)
    torch.testing.assert_close(four, four_of_mirror, atol=1e-5, rtol=0)
    calls = []
    model.run_tiled(x, passes=4, mask=mask, tile=16, noise_level=20.0, progress=lambda d, t: calls.append((d, t)))
    tiles = calls[0][1] // 4
    assert calls[-1] == (4 * tiles, 4 * tiles) and tiles > 1  # progress counts the tiles of every pass
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)
    assert model.default_passes == (4 if params["task"] == "denoise" else 1)
    with pytest.raises(ImgenError, match="passes"):
        model.run_tiled(x, passes=3, **kw)


def test_vae_variations_are_seeded_and_tile_consistent():
    model = _model(restore.RestoreCVAE, channels=3, task="denoise", width=6, blocks=1, dec_blocks=1, latent=3, unshuffle=2, noise_hint=True)
    x = torch.rand((1, 3, 40, 36), generator=torch.Generator().manual_seed(2))
    base = model.run_tiled(x, tile=0)
    v1 = model.run_tiled(x, tile=0, variation_seed=7)
    v1_tiled = model.run_tiled(x, tile=16, variation_seed=7)
    v2 = model.run_tiled(x, tile=0, variation_seed=8)
    assert model.supports_variation
    assert float((v1 - v1_tiled).abs().max()) < 1 / 255
    assert float((v1 - base).abs().max()) > 1e-3 and float((v1 - v2).abs().max()) > 1e-3


def test_save_load_round_trip_keeps_hyper_parameters(tmp_path):
    params = dict(channels=3, task="inpaint", width=6, blocks=2, dec_blocks=1, latent=3, unshuffle=2, dilations=[1, 2, 4, 1])
    path = _model_file(tmp_path / "m.safetensors", restore.RestoreCVAE, **params)
    net, meta = load_network(path)
    assert meta["arch_params"] == params
    assert isinstance(net, restore.RestoreCVAE) and net.latent == 3 and net.dilations == [1, 2, 4, 1]
    model = enhance.open_model(str(path), "cpu")
    assert (model.task, model.scale, model.channels, model.family) == ("inpaint", 1, 3, "vae")
    assert model is enhance.open_model(str(path), "cpu")  # cached


def test_recipe_export_round_trip(tmp_path):
    for family, cls in (("gan", restore.GanRestoreRecipe), ("rnn", restore.RnnRestoreRecipe)):
        cfg = TrainConfig(family=family, task="upscale", scale=4, width=8, rnn_steps=2, extra={"blocks": 1})
        recipe = cls(cfg, 3, torch.device("cpu"), Amp(torch.device("cpu")))
        net, arch, params = recipe.export()
        path = save_model_file(tmp_path / f"{family}.safetensors", net.state_dict(),
                               {"family": family, "task": "upscale", "scale": 4, "channels": 3, "arch": arch, "arch_params": params})
        loaded, meta = load_network(path)
        x = torch.rand(1, 3, 8, 8)
        with torch.no_grad():
            assert torch.allclose(loaded(x), net.eval()(x), atol=1e-6)
        assert meta["arch_params"]["scale"] == 4


def test_photo_round_trip_alpha_16bit_gray_icc_exif(tmp_path):
    from imgen_desktop.core.imageio import Photo, load_image, photo_from_array, save_image

    model = enhance.open_model(str(_model_file(tmp_path / "x2.safetensors", **X2)), "cpu")
    rng = np.random.default_rng(0)
    rgba = (rng.random((20, 18, 4)) * 255).astype(np.uint8)
    photo = photo_from_array(rgba, icc=b"fake-icc-profile", exif=b"Exif\x00\x00MM\x00*\x00\x00\x00\x08\x00\x00")
    out = enhance.enhance_photo(photo, model, tile=0)
    assert out.pixels.shape == (40, 36, 3) and out.pixels.dtype == np.uint8
    assert out.alpha is not None and out.alpha.shape == (40, 36) and out.alpha.dtype == np.uint8
    assert abs(float(out.alpha.mean()) - float(rgba[..., 3].mean())) < 4  # alpha upscaled, not dropped
    assert out.icc == photo.icc and out.exif == photo.exif

    gray16 = (rng.random((16, 20)) * 65535).astype(np.uint16)
    p16 = Photo(gray16[:, :, None], bit_depth=16, format="PNG")
    o16 = enhance.enhance_photo(p16, model, tile=8)
    assert o16.pixels.shape == (32, 40, 1) and o16.pixels.dtype == np.uint16 and o16.bit_depth == 16
    assert len(np.unique(o16.pixels)) > 300  # real 16-bit values, not 8-bit steps
    saved = save_image(o16, tmp_path / "g16.png")
    back = load_image(saved)
    assert back.pixels.dtype == np.uint16 and back.pixels.shape == (32, 40, 1)

    # ICC and EXIF survive a real file round trip through enhance
    from PIL import Image, ImageCms

    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    exif = Image.Exif()
    exif[0x010F] = "TestCam"
    src = tmp_path / "src.jpg"
    Image.fromarray(rgba[..., :3]).save(src, icc_profile=icc, exif=exif.tobytes())
    res = enhance.enhance_photo(load_image(src), model)
    saved = save_image(res, tmp_path / "out.jpg")
    with Image.open(saved) as im:
        assert im.info.get("icc_profile") == icc
        assert im.getexif().get(0x010F) == "TestCam"
        assert im.size == (36, 40)


def test_out_of_memory_retries_with_smaller_tiles(tmp_path):
    model = _model(restore.RestoreGenerator, **X2)
    x = torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    expected = model.run_tiled(x, tile=64)
    real_forward = model.net.forward
    sizes = []

    def flaky(inp, **kw):
        sizes.append(inp.shape[-1])
        if len(sizes) == 1:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return real_forward(inp, **kw)

    model.net.forward = flaky
    got = model.run_tiled(x, tile=64)
    assert sizes[1] < sizes[0]  # retried with a smaller tile
    assert float((got - expected).abs().max()) < 1 / 255

    def always(inp, **kw):
        raise torch.OutOfMemoryError("out of memory")

    model.net.forward = always
    with pytest.raises(ImgenError, match="out of memory"):
        model.run_tiled(x, tile=64)


def test_cancel_raises_and_writes_no_file(tmp_path):
    from imgen_desktop.core.imageio import photo_from_array, save_image

    path = _model_file(tmp_path / "x2.safetensors", **X2)
    src = tmp_path / "in.png"
    save_image(photo_from_array((np.random.default_rng(0).random((64, 64, 3)) * 255).astype(np.uint8)), src)
    token = ControlToken()

    def progress(_i, done, total):
        if done >= 1:
            token.cancel()

    out = tmp_path / "out.png"
    with pytest.raises(Cancelled):
        enhance.enhance_files([src], out, str(path), enhance.EnhanceOptions(tile=32), on_file_progress=progress, token=token)
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_grayscale_model_on_rgb_and_errors(tmp_path):
    from imgen_desktop.core.imageio import photo_from_array

    gray_model = enhance.open_model(str(_model_file(tmp_path / "g.safetensors", channels=1, task="denoise", width=4, blocks=1, unshuffle=2, noise_hint=True)), "cpu")
    rgb = photo_from_array((np.random.default_rng(0).random((12, 14, 3)) * 255).astype(np.uint8))
    out = enhance.enhance_photo(rgb, gray_model, noise_level=10)
    assert out.pixels.shape == (12, 14, 3)
    inpaint = enhance.open_model(str(_model_file(tmp_path / "i.safetensors", channels=3, task="inpaint", width=4, blocks=1, unshuffle=2)), "cpu")
    with pytest.raises(ImgenError, match="mask"):
        enhance.enhance_photo(rgb, inpaint)
    mask = np.zeros((12, 14), np.uint8)
    mask[3:8, 4:9] = 255
    filled = enhance.enhance_photo(rgb, inpaint, mask=mask)
    keep = mask == 0
    assert np.array_equal(filled.pixels[keep], rgb.pixels[keep])  # outside the hole untouched
    with pytest.raises(ModelError):
        enhance.open_model("no-such-model", "cpu")
    with pytest.raises(ModelError, match="built-in"):
        enhance.open_model("builtin:sharpen", "cpu")


# --- every family x task learns ------------------------------------------------------------

def _photo_crops(files, n, size, seed):
    from PIL import Image

    rng = np.random.default_rng(seed)
    imgs = [np.asarray(Image.open(f).convert("RGB"), dtype=np.float32) / 255 for f in files]
    out = []
    for _ in range(n):
        im = imgs[rng.integers(len(imgs))]
        y, x = rng.integers(im.shape[0] - size), rng.integers(im.shape[1] - size)
        out.append(im[y : y + size, x : x + size])
    return torch.from_numpy(np.stack(out)).permute(0, 3, 1, 2) * 2 - 1


@pytest.mark.parametrize("family", ["gan", "vae", "rnn"])
def test_each_family_and_task_beats_its_degraded_input(family):
    torch.set_num_threads(1)
    train_files = sorted(glob.glob(str(resource_path("photos", "*.png"))))[:4]
    test_files = sorted(glob.glob(str(resource_path("photos", "test", "*.png"))))
    held = _photo_crops(test_files, 12, 48, 99)
    recipe_cls = {"gan": restore.GanRestoreRecipe, "vae": restore.VaeRestoreRecipe, "rnn": restore.RnnRestoreRecipe}[family]
    for task in ("upscale", "denoise", "inpaint"):
        torch.manual_seed(0)
        cfg = TrainConfig(family=family, task=task, scale=2, image_size=24, width=16, lr=2e-3, steps=60, batch_size=8,
                          rnn_steps=3, kl_warmup=20, adv_weight=0.01 if family == "gan" else 0.0, extra={"blocks": 3})
        recipe = recipe_cls(cfg, 3, torch.device("cpu"), Amp(torch.device("cpu")))
        rng = np.random.default_rng(0)
        for step in range(60):
            metrics = recipe.train_step(_photo_crops(train_files, 8, 24, int(rng.integers(1 << 30))), step)
        assert all(np.isfinite(v) for v in metrics.values())
        d = recipe.pair(held, torch.Generator().manual_seed(0), plain=True)
        with torch.no_grad():
            out = recipe.run(d).clamp(0, 1)
        if task == "upscale":
            degraded = torch.nn.functional.interpolate(d["input"], scale_factor=2, mode="bicubic", align_corners=False)
        elif task == "inpaint":
            degraded = d["input"][:, :3] + 0.5 * d["mask"]
        else:
            degraded = d["input"]
        got, ref = restore.psnr(out, d["target"]), restore.psnr(degraded, d["target"])
        assert got > ref, f"{family} {task}: {got:.2f} dB vs degraded {ref:.2f} dB"
        grid = recipe.sample(2, 0, held[:2])["enhanced"]
        assert grid.shape == (6, 48, 48, 3) and grid.dtype == np.uint8


# --- built-ins ---------------------------------------------------------------------------

def test_builtins_listed_load_and_beat_bicubic():
    present = [n for n in enhance.BUILTIN_NAMES if enhance.builtin_path(n).is_file()]
    assert present == list(enhance.BUILTIN_NAMES), f"missing built-in models: {set(enhance.BUILTIN_NAMES) - set(present)}"
    choices = enhance.list_enhancement_models()
    sharp = {f"builtin:{n}" for n in enhance.SHARP_BUILTIN_NAMES}  # listed next to their faithful sibling when shipped
    assert [c.spec for c in choices if c.builtin and c.spec not in sharp][:4] == [f"builtin:{n}" for n in enhance.BUILTIN_NAMES]
    from PIL import Image

    from imgen_desktop.core.imageio import photo_from_array

    src = np.asarray(Image.open(resource_path("photos", "test", "chelsea.png")).convert("RGB"))[60:188, 100:228]
    hr = src.astype(np.float64)
    for scale in (2, 4):
        model = enhance.open_model(f"builtin:upscale-x{scale}", "cpu")
        lr = Image.fromarray(src).resize((128 // scale, 128 // scale), Image.BICUBIC)
        bicubic = np.asarray(lr.resize((128, 128), Image.BICUBIC)).astype(np.float64)
        out = enhance.enhance_photo(photo_from_array(np.asarray(lr)), model).pixels.astype(np.float64)
        b = scale
        mse = lambda a: float(((a - hr)[b:-b, b:-b] ** 2).mean())  # noqa: E731
        assert mse(out) < mse(bicubic), f"x{scale}: model MSE {mse(out):.1f} vs bicubic {mse(bicubic):.1f}"
    model = enhance.open_model("builtin:denoise", "cpu")
    noisy = np.clip(hr + np.random.default_rng(0).normal(0, 25, hr.shape), 0, 255).round().astype(np.uint8)
    out = enhance.enhance_photo(photo_from_array(noisy), model).pixels.astype(np.float64)
    assert ((out - hr) ** 2).mean() < 0.5 * ((noisy - hr) ** 2).mean()


def test_model_choices_declare_their_capabilities():
    choices = {c.spec: c for c in enhance.list_enhancement_models()}
    dn, fill, x4 = choices["builtin:denoise"], choices["builtin:inpaint"], choices["builtin:upscale-x4"]
    assert dn.takes_noise_level and not dn.takes_variation and not dn.needs_mask and dn.title == "Denoise"
    assert fill.needs_mask and not fill.takes_noise_level
    assert x4.scale == 4 and x4.title == "Upscale \u00d74" and x4.verb == "Upscaling"
    caps = enhance.capabilities({"arch": "vae.restore", "arch_params": {"latent": 4, "noise_hint": False}})
    assert caps == {"takes_variation": True, "takes_noise_level": False}


def test_output_estimate_text():
    est = enhance.estimate_output(2400, 1800, 3, 4)
    assert (est.width, est.height) == (9600, 7200)
    assert est.text() == "Output 9600 \u00d7 7200 (69 MP, ~0.8 GB)" and est.bytes > enhance.LARGE_OUTPUT_BYTES
    assert enhance.estimate_output(40, 30, 3, 1).text() == "Output 40 \u00d7 30 (0.0 MP, ~1 MB)"


def test_enhance_files_reports_each_file_through_callbacks(tmp_path):
    from imgen_desktop.core.imageio import photo_from_array, save_image

    path = _model_file(tmp_path / "x2.safetensors", **X2)
    src = tmp_path / "in"
    src.mkdir()
    save_image(photo_from_array(np.zeros((8, 10, 3), np.uint8)), src / "a.png")
    (src / "b.png").write_bytes(b"junk")
    events = []
    results = enhance.enhance_files(
        [src], tmp_path / "out", str(path), enhance.EnhanceOptions(tile=0),
        on_file_started=lambda i, n, s, t: events.append(("start", i, n, t.name)),
        on_file_done=lambda i, r: events.append(("done", i, r.status)),
        on_file_failed=lambda i, r: events.append(("failed", i, "b.png" in r.error)),
    )
    assert events == [("start", 0, 2, "a_x2.png"), ("done", 0, "done"), ("start", 1, 2, "b_x2.png"), ("failed", 1, True)]
    assert [r.status for r in results] == ["done", "failed"]


def test_a_compact_hole_runs_only_its_window_and_fills_as_the_whole_photo_run_does(monkeypatch):
    """Object removal on a photo: the built-in inpaint net runs on the hole's bounding box grown by
    its halo (aligned to its 2x2 cells), not on every tile the hole touches; the fill is the
    whole-photo run's (within float error), the rest of the photo is untouched, and a hole
    spread over the photo (or at its corner) still runs correctly."""
    from PIL import Image

    from imgen_desktop.core.imageio import photo_from_array

    with Image.open(resource_path("photos", "test", "chelsea.png")) as im:  # a 0.35 MP photo
        arr = np.asarray(im.convert("RGB").resize((720, 480), Image.Resampling.LANCZOS))
    photo = photo_from_array(arr)
    model = enhance.open_model("builtin:inpaint", "cpu")
    seen: list[int] = []
    forward = model._forward
    monkeypatch.setattr(model, "_forward", lambda inp, *a: seen.append(inp.shape[-2] * inp.shape[-1]) or forward(inp, *a))
    h, w = arr.shape[:2]
    for top, left in ((225, 315), (0, w - 40)):  # inside, and at the top-right corner
        mask = np.zeros((h, w), np.uint8)
        mask[top:top + 31, left:left + 40] = 255
        seen.clear()
        part = enhance.enhance_photo(photo, model, mask=mask)
        windowed = sum(seen)
        monkeypatch.setattr(enhance, "HOLE_WINDOW_SHARE", 0.0)  # the whole photo, tile by tile
        seen.clear()
        full = enhance.enhance_photo(photo, model, mask=mask)  # 512-pixel tiles, those with hole
        monkeypatch.setattr(enhance, "HOLE_WINDOW_SHARE", 0.6)
        assert len(seen) >= 1 and windowed < 0.5 * sum(seen)
        diff = np.abs(part.pixels.astype(int) - full.pixels.astype(int))
        assert diff.max() <= 1 and (diff > 0).mean() < 0.001
        keep = mask == 0
        assert np.array_equal(part.pixels[keep], arr[keep])
        assert np.abs(part.pixels[~keep].astype(int) - arr[~keep]).mean() > 1  # it did fill
    spread = np.zeros((h, w), np.uint8)
    spread[10:20, 10:20] = spread[h - 20:h - 10, w - 20:w - 10] = 255
    assert enhance.hole_window(spread > 0, model) is None  # most of the photo: the usual tiles
    assert enhance.hole_window(mask > 0, model) is not None
    ran = []  # tiles asked smaller than the window: the whole photo's tiles (those with hole) run

    def record(source, sink, **kw):
        ran.append(((source.height, source.width), kw["tile"]))

    monkeypatch.setattr(model, "run_stream", record)
    enhance.enhance_photo(photo, model, mask=mask, tile=64)
    enhance.enhance_photo(photo, model, mask=mask)
    assert ran[0] == ((h, w), 64)
    assert ran[1][0] < (h, w) and ran[1][1] == 0  # the window, in one piece
    monkeypatch.setattr(model, "default_tile", lambda: 64)  # a window over twice the tile side
    enhance.enhance_photo(photo, model, mask=mask)
    assert ran[2][0] == ran[1][0] and ran[2][1] is None  # the window, in the default tiles
