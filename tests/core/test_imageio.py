"""Image I/O: modes, formats, EXIF orientation, ICC, alpha, 16-bit, bombs, atomic saves."""
from __future__ import annotations

import errno
import io
import os
import struct
import subprocess
import sys
import warnings
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageCms, ImageOps

from imgen_desktop.core import imageio
from imgen_desktop.core.errors import ImageError
from imgen_desktop.core.imageio import (
    Photo,
    find_images,
    load_image,
    load_image_bytes,
    photo_from_array,
    save_image,
    to_display_rgba8,
)

RNG = np.random.default_rng(0)


def _rgb(h=6, w=5):
    return RNG.integers(0, 256, (h, w, 3), dtype=np.uint8)


def _srgb_icc() -> bytes:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def _save_pil(im: Image.Image, path: Path, **kw) -> Path:
    im.save(path, **kw)
    return path


# --- modes ---------------------------------------------------------------------------------

@pytest.mark.parametrize("ext", [".png", ".bmp", ".tif"])
def test_mode_1_becomes_gray_0_255(tmp_path, ext):
    bits = RNG.integers(0, 2, (7, 9)).astype(bool)
    path = _save_pil(Image.fromarray(bits), tmp_path / f"bits{ext}")
    photo = load_image(path)
    assert photo.pixels.shape == (7, 9, 1) and photo.pixels.dtype == np.uint8
    assert photo.alpha is None and photo.bit_depth == 8
    np.testing.assert_array_equal(photo.pixels[:, :, 0], np.where(bits, 255, 0))


@pytest.mark.parametrize("ext", [".png", ".bmp", ".tif", ".webp", ".gif"])
def test_mode_L_lossless_formats(tmp_path, ext):
    gray = RNG.integers(0, 256, (6, 5), dtype=np.uint8)
    kw = {"lossless": True} if ext == ".webp" else {}
    path = _save_pil(Image.fromarray(gray), tmp_path / f"gray{ext}", **kw)
    photo = load_image(path)
    # WebP has no gray mode: Pillow reads it back as RGB with equal channels
    got = photo.pixels[:, :, 0]
    np.testing.assert_array_equal(got, gray)
    assert photo.alpha is None


def test_mode_LA_keeps_alpha(tmp_path):
    arr = RNG.integers(0, 256, (6, 5, 2), dtype=np.uint8)
    photo = load_image(_save_pil(Image.fromarray(arr), tmp_path / "la.png"))
    assert photo.channels == 1
    np.testing.assert_array_equal(photo.pixels[:, :, 0], arr[:, :, 0])
    np.testing.assert_array_equal(photo.alpha, arr[:, :, 1])


@pytest.mark.parametrize("ext", [".png", ".gif"])
def test_mode_P_with_transparency_becomes_alpha(tmp_path, ext):
    idx = RNG.integers(0, 4, (6, 5), dtype=np.uint8)
    im = Image.new("P", (5, 6))
    im.putpalette([255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 20, 30] + [0] * (256 * 3 - 12))
    im.putdata(idx.ravel().tolist())
    path = _save_pil(im, tmp_path / f"pal{ext}", transparency=3)
    photo = load_image(path)
    assert photo.channels == 3 and photo.alpha is not None
    np.testing.assert_array_equal(photo.alpha, np.where(idx == 3, 0, 255))
    palette = np.array([[255, 0, 0], [0, 255, 0], [0, 0, 255], [10, 20, 30]], dtype=np.uint8)
    opaque = idx != 3
    np.testing.assert_array_equal(photo.pixels[opaque], palette[idx][opaque])


def test_mode_P_without_transparency_is_rgb(tmp_path):
    rgb = _rgb()
    im = Image.fromarray(rgb).quantize(16)
    photo = load_image(_save_pil(im, tmp_path / "pal.png"))
    assert photo.alpha is None and photo.channels == 3
    np.testing.assert_array_equal(photo.pixels, np.asarray(im.convert("RGB")))


def test_rgb_with_trns_becomes_alpha(tmp_path):
    rgb = _rgb()
    rgb[0, 0] = (1, 2, 3)
    photo = load_image(_save_pil(Image.fromarray(rgb), tmp_path / "trns.png", transparency=(1, 2, 3)))
    assert photo.alpha is not None and photo.alpha[0, 0] == 0
    assert (photo.alpha[np.any(rgb != (1, 2, 3), axis=2)] == 255).all()


@pytest.mark.parametrize("ext,kw", [(".png", {}), (".bmp", {}), (".tif", {}), (".webp", {"lossless": True})])
def test_mode_RGB_lossless_round_trip(tmp_path, ext, kw):
    rgb = _rgb()
    photo = load_image(_save_pil(Image.fromarray(rgb), tmp_path / f"rgb{ext}", **kw))
    assert photo.format in {"PNG", "BMP", "TIFF", "WEBP"}
    np.testing.assert_array_equal(photo.pixels, rgb)
    assert photo.alpha is None


@pytest.mark.parametrize("ext,kw", [(".png", {}), (".tif", {}), (".webp", {"lossless": True})])
def test_mode_RGBA_round_trip(tmp_path, ext, kw):
    rgba = RNG.integers(1, 256, (6, 5, 4), dtype=np.uint8)
    photo = load_image(_save_pil(Image.fromarray(rgba), tmp_path / f"rgba{ext}", **kw))
    np.testing.assert_array_equal(photo.pixels, rgba[:, :, :3])
    np.testing.assert_array_equal(photo.alpha, rgba[:, :, 3])


def test_jpeg_rgb_is_close(tmp_path):
    rgb = np.full((16, 16, 3), (200, 100, 50), dtype=np.uint8)
    photo = load_image(_save_pil(Image.fromarray(rgb), tmp_path / "a.jpg", quality=95))
    assert photo.format == "JPEG"
    assert np.abs(photo.pixels.astype(int) - rgb).max() <= 4


@pytest.mark.parametrize("ext", [".jpg", ".tif"])
def test_cmyk_becomes_rgb(tmp_path, ext):
    cmyk = Image.fromarray(_rgb(8, 8)).convert("CMYK")
    photo = load_image(_save_pil(cmyk, tmp_path / f"cmyk{ext}"))
    assert photo.channels == 3 and photo.alpha is None and photo.icc is None
    reopened = Image.open(tmp_path / f"cmyk{ext}")
    assert reopened.mode == "CMYK"
    np.testing.assert_array_equal(photo.pixels, np.asarray(reopened.convert("RGB")))


def test_cmyk_with_unusable_profile_falls_back_and_drops_it(tmp_path):
    # an sRGB profile cannot describe CMYK pixels: the plain conversion is used, the profile dropped
    cmyk = Image.fromarray(_rgb(8, 8)).convert("CMYK")
    path = _save_pil(cmyk, tmp_path / "cmyk.tif", icc_profile=_srgb_icc())
    photo = load_image(path)
    assert photo.channels == 3 and photo.icc is None
    np.testing.assert_array_equal(photo.pixels, np.asarray(Image.open(path).convert("RGB")))


@pytest.mark.parametrize("ext", [".png", ".tif"])
def test_16bit_gray_round_trip(tmp_path, ext):
    gray = RNG.integers(0, 65536, (6, 5), dtype=np.uint16)
    photo = load_image(_save_pil(Image.fromarray(gray), tmp_path / f"g16{ext}"))
    assert photo.bit_depth == 16 and photo.pixels.dtype == np.uint16
    np.testing.assert_array_equal(photo.pixels[:, :, 0], gray)
    out = save_image(photo, tmp_path / f"again{ext}")
    with Image.open(out) as im:
        assert im.mode.startswith("I;16")
    np.testing.assert_array_equal(load_image(out).pixels, photo.pixels)


def test_16bit_big_endian_tiff(tmp_path):
    gray = RNG.integers(0, 65536, (6, 5), dtype=np.uint16)
    im = Image.frombytes("I;16B", (5, 6), gray.astype(">u2").tobytes())
    photo = load_image_bytes(_encode(im, "TIFF"), "be.tif")
    assert photo.pixels.dtype == np.uint16
    np.testing.assert_array_equal(photo.pixels[:, :, 0], gray)


def test_mode_I_32bit_within_16bit_range(tmp_path):
    gray = RNG.integers(0, 65536, (6, 5)).astype(np.int32)
    im = Image.fromarray(gray)
    assert im.mode == "I"
    photo = load_image(_save_pil(im, tmp_path / "i32.tif"))
    assert photo.bit_depth == 16
    np.testing.assert_array_equal(photo.pixels[:, :, 0], gray)


def test_16bit_rgb_png_reads_as_8bit(tmp_path):
    """Documented limit: Pillow has no 16-bit colour mode, so 16-bit RGB PNGs load as 8-bit."""
    rgb16 = RNG.integers(0, 65536, (4, 3, 3), dtype=np.uint16)
    path = tmp_path / "rgb16.png"
    path.write_bytes(_png16_rgb(rgb16))
    photo = load_image(path)
    assert photo.bit_depth == 8 and photo.channels == 3
    np.testing.assert_array_equal(photo.pixels, (rgb16 >> 8).astype(np.uint8))


def test_gif_first_frame_and_tiff_first_page(tmp_path):
    frames = [Image.fromarray(np.full((4, 4), v, dtype=np.uint8)) for v in (10, 200)]
    frames[0].save(tmp_path / "anim.gif", save_all=True, append_images=frames[1:])
    frames[0].save(tmp_path / "pages.tif", save_all=True, append_images=frames[1:])
    for name in ("anim.gif", "pages.tif"):
        with Image.open(tmp_path / name) as im:
            assert im.n_frames == 2
        photo = load_image(tmp_path / name)
        assert int(photo.pixels[..., 0].mean()) == 10, name


# --- EXIF orientation ----------------------------------------------------------------------

def _exif(orientation: int | None, make="TestCam") -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F] = make
    if orientation is not None:
        exif[0x0112] = orientation
    return exif


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_matches_pillow_exif_transpose(tmp_path, orientation):
    rgba = RNG.integers(0, 256, (3, 5, 4), dtype=np.uint8)  # non-square, non-symmetric
    path = _save_pil(Image.fromarray(rgba), tmp_path / "o.png", exif=_exif(orientation))
    photo = load_image(path)
    with Image.open(path) as im:
        expected = np.asarray(ImageOps.exif_transpose(im))
    np.testing.assert_array_equal(photo.pixels, expected[:, :, :3])
    np.testing.assert_array_equal(photo.alpha, expected[:, :, 3])
    kept = Image.Exif()
    kept.load(photo.exif)
    assert kept[0x0112] == 1 and kept[0x010F] == "TestCam"
    # saving does not rotate a second time
    out = save_image(photo, tmp_path / "saved.png")
    with Image.open(out) as im:
        assert im.getexif()[0x0112] == 1
        np.testing.assert_array_equal(np.asarray(ImageOps.exif_transpose(im)), expected)


def test_exif_orientation_jpeg(tmp_path):
    rgb = np.zeros((16, 32, 3), dtype=np.uint8)
    rgb[:, :16] = 255  # left half white
    path = _save_pil(Image.fromarray(rgb), tmp_path / "o.jpg", exif=_exif(6), quality=95)
    photo = load_image(path)
    assert photo.pixels.shape == (32, 16, 3)  # rotated 90 degrees clockwise: left half is on top
    assert photo.pixels[:16].mean() > 240 and photo.pixels[16:].mean() < 15
    out = save_image(photo, tmp_path / "out.jpg")
    with Image.open(out) as im:
        assert im.size == (16, 32) and im.getexif()[0x0112] == 1 and im.getexif()[0x010F] == "TestCam"


def test_tiff_exif_keeps_no_layout_tags(tmp_path):
    """A TIFF's EXIF is its whole first IFD; width, strips etc. must not travel to the next file."""
    rgb = _rgb(20, 30)
    src = _save_pil(Image.fromarray(rgb), tmp_path / "a.tif", exif=_exif(6))
    photo = load_image(src)
    with Image.open(src) as im:
        np.testing.assert_array_equal(photo.pixels, np.asarray(ImageOps.exif_transpose(im)))
    kept = Image.Exif()
    kept.load(photo.exif)
    assert kept[0x010F] == "TestCam" and kept.get(0x0112, 1) == 1
    assert not {256, 257, 258, 259, 273, 279}.intersection(kept.keys())
    bigger = Photo(np.repeat(np.repeat(photo.pixels, 2, axis=0), 2, axis=1), icc=photo.icc, exif=photo.exif)
    for ext in (".tif", ".png", ".jpg"):
        again = load_image(save_image(bigger, tmp_path / f"big{ext}"))
        assert again.pixels.shape == bigger.pixels.shape, ext
    np.testing.assert_array_equal(load_image(tmp_path / "big.tif").pixels, bigger.pixels)


def test_oversized_exif_is_dropped_for_jpeg_only(tmp_path):
    exif = _exif(1)
    exif[0x010E] = "x" * 70000  # ImageDescription: more than a JPEG EXIF segment holds
    photo = photo_from_array(_rgb(8, 8), exif=exif.tobytes())
    assert load_image(save_image(photo, tmp_path / "a.jpg")).exif is None
    kept = Image.Exif()
    kept.load(load_image(save_image(photo, tmp_path / "a.png")).exif)
    assert len(kept[0x010E]) == 70000


def test_no_exif_gives_none(tmp_path):
    assert load_image(_save_pil(Image.fromarray(_rgb()), tmp_path / "a.png")).exif is None


# --- ICC, alpha, 16-bit on save -------------------------------------------------------------

@pytest.mark.parametrize("ext", [".png", ".jpg", ".webp", ".tif"])
def test_icc_and_exif_kept_through_load_and_save(tmp_path, ext):
    icc = _srgb_icc()
    src = _save_pil(Image.fromarray(_rgb(8, 8)), tmp_path / "src.png", icc_profile=icc, exif=_exif(1))
    photo = load_image(src)
    assert photo.icc == icc
    out = save_image(photo, tmp_path / f"out{ext}")
    again = load_image(out)
    assert again.icc == icc
    kept = Image.Exif()
    kept.load(again.exif)
    assert kept[0x010F] == "TestCam"


@pytest.mark.parametrize("ext", [".png", ".webp", ".tif"])
def test_save_keeps_alpha(tmp_path, ext):
    rgba = RNG.integers(0, 256, (8, 8, 4), dtype=np.uint8)
    rgba[0, :, 3] = 0  # fully transparent pixels keep their colour too (lossless WebP: exact)
    out = save_image(photo_from_array(rgba), tmp_path / f"a{ext}", quality=100)
    again = load_image(out)
    np.testing.assert_array_equal(again.alpha, rgba[:, :, 3])
    np.testing.assert_array_equal(again.pixels, rgba[:, :, :3])


def test_save_gray_alpha_png(tmp_path):
    la = RNG.integers(0, 256, (8, 8, 2), dtype=np.uint8)
    again = load_image(save_image(photo_from_array(la), tmp_path / "la.png"))
    np.testing.assert_array_equal(again.pixels[:, :, 0], la[:, :, 0])
    np.testing.assert_array_equal(again.alpha, la[:, :, 1])


def test_jpeg_flattens_alpha_on_white(tmp_path):
    rgba = np.zeros((16, 16, 4), dtype=np.uint8)  # black, fully transparent
    rgba[:8, :, 3] = 255  # top half opaque black
    out = save_image(photo_from_array(rgba), tmp_path / "a.jpg")
    again = load_image(out)
    assert again.alpha is None
    assert again.pixels[:6].mean() < 10 and again.pixels[10:].mean() > 245


def test_16bit_rgb_saved_as_rounded_8bit(tmp_path):
    rgb16 = RNG.integers(0, 65536, (5, 4, 3), dtype=np.uint16)
    again = load_image(save_image(photo_from_array(rgb16), tmp_path / "a.png"))
    assert again.bit_depth == 8
    np.testing.assert_array_equal(again.pixels, np.rint(rgb16 / 257).astype(np.uint8))


def test_16bit_gray_to_jpeg_is_8bit(tmp_path):
    gray = np.full((8, 8), 257 * 100, dtype=np.uint16)
    again = load_image(save_image(photo_from_array(gray), tmp_path / "g.jpg"))
    assert again.bit_depth == 8 and abs(int(again.pixels.mean()) - 100) <= 1


def test_webp_gray_saved_as_rgb(tmp_path):
    gray = RNG.integers(0, 256, (8, 8), dtype=np.uint8)
    again = load_image(save_image(photo_from_array(gray), tmp_path / "g.webp", quality=100))
    assert again.channels == 3
    for c in range(3):
        np.testing.assert_array_equal(again.pixels[:, :, c], gray)


# --- formats, atomic writes, errors ----------------------------------------------------------

def test_format_from_argument_and_extension(tmp_path):
    photo = photo_from_array(_rgb())
    out = save_image(photo, tmp_path / "noext", format="jpeg")
    assert out == tmp_path / "noext" and Image.open(out).format == "JPEG"
    for ext, fmt in [(".PNG", "PNG"), (".jpeg", "JPEG"), (".webp", "WEBP"), (".tiff", "TIFF")]:
        assert Image.open(save_image(photo, tmp_path / f"x{ext}")).format == fmt
    with pytest.raises(ImageError, match=r"\.bmp"):
        save_image(photo, tmp_path / "x.bmp")
    with pytest.raises(ImageError, match="no extension"):
        save_image(photo, tmp_path / "noext2")
    with pytest.raises(ImageError, match="gif"):
        save_image(photo, tmp_path / "x.png", format="gif")


def test_save_is_atomic(tmp_path, monkeypatch):
    target = tmp_path / "out.png"
    save_image(photo_from_array(_rgb()), target)
    before = target.read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.png"]

    real_write = os.write

    def write_then_disk_full(fd, data):  # the disk fills after 20 bytes of the new file
        real_write(fd, bytes(data[:20]))
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "write", write_then_disk_full)
    with pytest.raises(ImageError, match="out.png.*no space left"):
        save_image(photo_from_array(_rgb(9, 9)), target)
    assert target.read_bytes() == before  # the old file is untouched
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.png"]  # no temporary left behind


def test_load_errors_name_the_file(tmp_path):
    with pytest.raises(ImageError, match="missing.png"):
        load_image(tmp_path / "missing.png")
    (tmp_path / "notes.png").write_text("not an image")
    with pytest.raises(ImageError, match="notes.png.*not a readable image"):
        load_image(tmp_path / "notes.png")
    data = _encode(Image.fromarray(_rgb(64, 64)), "PNG")
    (tmp_path / "cut.png").write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageError, match="cut.png.*damaged or truncated"):
        load_image(tmp_path / "cut.png")
    with pytest.raises(ImageError, match="folder"):
        load_image(tmp_path)
    with pytest.raises(ImageError, match="pasted"):
        load_image_bytes(b"")


def test_load_image_bytes():
    rgba = RNG.integers(0, 256, (5, 7, 4), dtype=np.uint8)
    photo = load_image_bytes(_encode(Image.fromarray(rgba), "PNG"), "clip")
    assert photo.source == "clip" and photo.format == "PNG"
    np.testing.assert_array_equal(photo.alpha, rgba[:, :, 3])


# --- decompression bombs --------------------------------------------------------------------

def _png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims width x height but holds no pixel data at all."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b"")


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_bomb_refused_from_header_before_decoding(tmp_path):
    # 12000 x 9000 = 108 MP: over our limit, under Pillow's hard limit; no pixel data exists,
    # so only a check made before decoding can produce the "megapixels" error
    path = tmp_path / "big.png"
    path.write_bytes(_png_header_only(12000, 9000))
    with pytest.raises(ImageError, match=r"big.png.*108.0 megapixels.*limit of 100"):
        load_image(path)
    # only our error, no Pillow warning on stderr beside it (pytest resets warning filters
    # per test, so check in a fresh interpreter, as the CLI runs)
    code = (
        "import sys\n"
        "from imgen_desktop.core.errors import ImageError\n"
        "from imgen_desktop.core.imageio import load_image\n"
        "try:\n    load_image(sys.argv[1])\nexcept ImageError as exc:\n    print(exc)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=120)
    assert "megapixels" in proc.stdout and proc.stderr == "", proc.stderr


def test_pillow_bomb_error_becomes_image_error(tmp_path):
    path = tmp_path / "huge.png"
    path.write_bytes(_png_header_only(60000, 60000))  # over Pillow's own hard limit
    with pytest.raises(ImageError, match=r"huge.png.*megapixels"):
        load_image(path)


def test_no_bomb_warning_below_our_limit(tmp_path, recwarn):
    path = tmp_path / "big.png"
    path.write_bytes(_png_header_only(10000, 9500))  # 95 MP: over Pillow's 89.5 MP warning level
    with pytest.raises(ImageError, match="damaged or truncated"):  # opened, then no pixel data
        load_image(path)
    assert not [w for w in recwarn if issubclass(w.category, Image.DecompressionBombWarning)]


def test_bomb_warning_as_error_is_still_a_clear_refusal(tmp_path):
    path = tmp_path / "big.png"
    path.write_bytes(_png_header_only(12000, 9000))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ImageError, match="megapixels"):
            load_image(path)


def test_16bit_gray_with_transparent_value(tmp_path):
    gray = np.array([[0, 1000], [65535, 1000]], dtype=np.uint16)
    path = _save_pil(Image.fromarray(gray), tmp_path / "t.png", transparency=1000)
    photo = load_image(path)
    assert photo.bit_depth == 16
    np.testing.assert_array_equal(photo.alpha, [[65535, 0], [65535, 0]])


def test_pixel_limit_is_configurable(tmp_path, monkeypatch):
    path = _save_pil(Image.fromarray(_rgb(20, 20)), tmp_path / "a.png")
    monkeypatch.setattr(imageio, "MAX_PIXELS", 399)
    with pytest.raises(ImageError, match="a.png"):
        load_image(path)
    assert load_image(path, max_pixels=400).pixels.shape == (20, 20, 3)


# --- arrays, display, folders -----------------------------------------------------------------

def test_photo_from_array_shapes_and_types():
    assert photo_from_array(np.zeros((4, 5), np.uint8)).pixels.shape == (4, 5, 1)
    p = photo_from_array(np.zeros((4, 5, 2), np.uint16))
    assert p.channels == 1 and p.alpha.shape == (4, 5) and p.bit_depth == 16
    p = photo_from_array(np.zeros((4, 5, 4), np.uint8))
    assert p.channels == 3 and p.has_alpha and p.size == (5, 4)
    with pytest.raises(ImageError):
        photo_from_array(np.zeros((4, 5, 3), np.float32))
    with pytest.raises(ImageError):
        photo_from_array(np.zeros((4, 5, 5), np.uint8))
    with pytest.raises(ImageError):
        Photo(np.zeros((4, 5, 3), np.uint8), alpha=np.zeros((5, 4), np.uint8))
    # alpha follows the pixels' depth
    p = Photo(np.zeros((2, 2, 3), np.uint16), alpha=np.full((2, 2), 255, np.uint8))
    assert p.alpha.dtype == np.uint16 and int(p.alpha.max()) == 65535


def test_to_display_rgba8():
    gray16 = np.array([[0, 65535], [257 * 10, 257 * 200]], dtype=np.uint16)
    out = to_display_rgba8(photo_from_array(gray16))
    assert out.dtype == np.uint8 and out.shape == (2, 2, 4)
    np.testing.assert_array_equal(out[:, :, 0], [[0, 255], [10, 200]])
    np.testing.assert_array_equal(out[:, :, 2], out[:, :, 0])
    assert (out[:, :, 3] == 255).all()
    rgba = RNG.integers(0, 256, (3, 4, 4), dtype=np.uint8)
    np.testing.assert_array_equal(to_display_rgba8(photo_from_array(rgba)), rgba)


def test_find_images(tmp_path):
    for rel in ["b.png", "a.JPG", "sub/c.webp", "sub/deep/d.tiff", "notes.txt", ".hidden.png", ".git/x.png", "e.gif"]:
        p = tmp_path / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(b"x")
    found = [p.relative_to(tmp_path).as_posix() for p in find_images(tmp_path)]
    assert found == ["a.JPG", "b.png", "e.gif", "sub/c.webp", "sub/deep/d.tiff"]
    flat = [p.name for p in find_images(tmp_path, recursive=False)]
    assert flat == ["a.JPG", "b.png", "e.gif"]
    with pytest.raises(ImageError):
        find_images(tmp_path / "b.png")


# --- helpers -------------------------------------------------------------------------------

def _encode(im: Image.Image, fmt: str) -> bytes:
    buf = io.BytesIO()
    im.save(buf, format=fmt)
    return buf.getvalue()


def _png16_rgb(rgb16: np.ndarray) -> bytes:
    """A minimal valid 16-bit RGB PNG (filter 0 rows) written by hand."""
    h, w, _ = rgb16.shape

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = b"".join(b"\x00" + rgb16[y].astype(">u2").tobytes() for y in range(h))
    ihdr = struct.pack(">IIBBBBB", w, h, 16, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


# --- issue 11: full disks, hostile files, library noise -------------------------------------

@pytest.mark.parametrize("ext", [".jpg", ".png", ".webp", ".tif"])
def test_full_disk_is_an_error_never_a_truncated_saved_file(tmp_path, monkeypatch, ext):
    """Pillow's JPEG optimize=True used to swallow ENOSPC: a truncated file and "saved"."""
    photo = photo_from_array(RNG.integers(0, 256, (120, 160, 3), dtype=np.uint8))
    real_write = os.write
    budget = {"left": 300}

    def write_until_full(fd, data):
        if budget["left"] <= 0:
            raise OSError(errno.ENOSPC, "No space left on device")
        n = min(len(data), budget["left"])
        budget["left"] -= n
        return real_write(fd, bytes(data[:n]))

    monkeypatch.setattr(os, "write", write_until_full)
    target = tmp_path / f"out{ext}"
    with pytest.raises(ImageError, match=rf"out\{ext}: could not be written \(no space left"):
        save_image(photo, target)
    assert list(tmp_path.iterdir()) == []  # neither a truncated file nor a temporary one


def test_a_silently_short_write_is_caught_before_the_rename(tmp_path, monkeypatch):
    """A file system that claims to have written what it dropped: the size check catches it."""
    real_write = os.write
    monkeypatch.setattr(os, "write", lambda fd, data: real_write(fd, bytes(data[: len(data) // 2])) and len(data))
    target = tmp_path / "out.jpg"
    target.write_bytes(b"previous")
    with pytest.raises(ImageError, match="out.jpg: could not be written"):
        save_image(photo_from_array(_rgb(64, 64)), target)
    assert target.read_bytes() == b"previous"
    assert [p.name for p in tmp_path.iterdir()] == ["out.jpg"]


def test_a_written_file_that_does_not_read_back_is_not_renamed(tmp_path, monkeypatch):
    photo = photo_from_array(_rgb(32, 32))
    real_encode = imageio.encode_image
    monkeypatch.setattr(imageio, "encode_image", lambda *a, **k: real_encode(*a, **k)[:-40])  # a broken encoder
    with pytest.raises(ImageError, match="out.png: the written file does not read back"):
        save_image(photo, tmp_path / "out.png")
    assert list(tmp_path.iterdir()) == []


def test_float_tiff_with_nan_and_inf_is_not_black(tmp_path):
    ramp = np.linspace(0.0, 1.0, 64, dtype=np.float32).reshape(8, 8)
    ramp[2, 3], ramp[4, 4], ramp[5, 1] = np.nan, np.inf, -np.inf
    Image.fromarray(ramp, mode="F").save(tmp_path / "f.tif")
    photo = load_image(tmp_path / "f.tif")
    assert photo.bit_depth == 16
    gray = photo.pixels[:, :, 0].astype(np.int64)
    expected = np.rint(np.nan_to_num(ramp, nan=0.0, posinf=1.0, neginf=0.0) * 65535).astype(np.int64)
    np.testing.assert_array_equal(gray, expected)
    assert any("NaN or infinite" in note for note in photo.notes)


def test_float_tiff_with_no_finite_pixel_is_refused(tmp_path):
    Image.fromarray(np.full((4, 4), np.nan, dtype=np.float32), mode="F").save(tmp_path / "nan.tif")
    with pytest.raises(ImageError, match="nan.tif: .*no finite pixel"):
        load_image(tmp_path / "nan.tif")


def _load_in_thread(path):
    """Load in a thread that is abandoned (and unblocked) if it hangs; returns the outcome."""
    import threading

    out = {}

    def run():
        try:
            out["photo"] = load_image(path)
        except Exception as exc:  # noqa: BLE001 - the test looks at what came out
            out["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(10)
    if thread.is_alive():  # it opened the FIFO and blocks: unblock it, then fail
        fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
        os.close(fd)
        thread.join(5)
        pytest.fail(f"loading {path.name} hung")
    return out


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_a_fifo_named_like_an_image_is_refused_without_hanging(tmp_path):
    fifo = tmp_path / "photo.png"
    os.mkfifo(fifo)
    out = _load_in_thread(fifo)
    assert "photo.png: is not a regular file (a named pipe (FIFO))" in str(out.get("error"))


@pytest.mark.skipif(not os.path.exists("/dev/null"), reason="no /dev/null")
def test_a_device_and_odd_paths_get_accurate_messages(tmp_path):
    with pytest.raises(ImageError, match=r"null: is not a regular file \(a character device\)"):
        load_image("/dev/null")
    (tmp_path / "gone.png").symlink_to(tmp_path / "nowhere.png")
    with pytest.raises(ImageError, match=r"gone.png: is a broken link \(it points to .*nowhere.png"):
        load_image(tmp_path / "gone.png")
    (tmp_path / "loop.png").symlink_to(tmp_path / "loop.png")
    with pytest.raises(ImageError, match="loop.png: is a link that points to itself"):
        load_image(tmp_path / "loop.png")
    (tmp_path / "album.png").mkdir()
    with pytest.raises(ImageError, match="album.png: is a folder"):
        load_image(tmp_path / "album.png")
    (tmp_path / "empty.jpg").write_bytes(b"")
    with pytest.raises(ImageError, match=r"empty.jpg: the file is empty \(0 bytes\)"):
        load_image(tmp_path / "empty.jpg")
    with pytest.raises(ImageError, match="missing.png: file not found"):
        load_image(tmp_path / "missing.png")
    assert imageio.file_problem(tmp_path / "album.png") == "album.png: is a folder, not an image file"
    good = _save_pil(Image.fromarray(_rgb()), tmp_path / "good.png")
    assert imageio.file_problem(good) is None
    (tmp_path / "link.png").symlink_to(good)
    assert load_image(tmp_path / "link.png").size == (5, 6)  # a working link is fine


def _damaged_tiff() -> bytes:
    data = bytearray(_encode_kw(Image.fromarray(_rgb(64, 64)), "TIFF", compression="tiff_deflate"))
    mid = len(data) // 2
    data[mid : mid + 20] = bytes(range(20))
    return bytes(data)


def _encode_kw(im, fmt, **kw) -> bytes:
    buf = io.BytesIO()
    im.save(buf, format=fmt, **kw)
    return buf.getvalue()


def test_libtiff_lines_become_the_reason_not_stderr_noise(tmp_path, capfd):
    (tmp_path / "bad.tif").write_bytes(_damaged_tiff())
    with pytest.raises(ImageError, match=r"bad.tif: the file is damaged or truncated \(ZIPDecode: Decoding error"):
        load_image(tmp_path / "bad.tif")
    captured = capfd.readouterr()
    assert captured.err == "" and captured.out == ""


def test_pillow_warnings_and_logs_never_reach_stderr(tmp_path, capfd):
    data = _encode_kw(Image.fromarray(_rgb(40, 40)), "TIFF")
    (tmp_path / "short.tif").write_bytes(data[: len(data) - 30])  # "Truncated File Read" warning
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # even -W error must not turn them into tracebacks
        with pytest.raises(ImageError, match="short.tif"):
            load_image(tmp_path / "short.tif")
    import logging

    logging.getLogger("PIL.TiffImagePlugin").error("a libtiff-ish complaint")  # what Pillow logs on odd TIFFs
    captured = capfd.readouterr()
    assert captured.err == "" and captured.out == ""


def test_tiff_save_noise_is_captured(tmp_path, capfd):
    save_image(photo_from_array(_rgb(16, 16)), tmp_path / "ok.tif")
    assert load_image(tmp_path / "ok.tif").size == (16, 16)
    assert capfd.readouterr().err == ""


def test_png_with_a_2mb_icc_profile_reopens_with_the_profile(tmp_path):
    icc = _srgb_icc()
    big = icc + np.random.default_rng(1).integers(0, 256, 2 * 2**20, dtype=np.uint8).tobytes()  # incompressible
    photo = photo_from_array(_rgb(8, 8), icc=big)
    for ext in (".png", ".tif", ".jpg", ".webp"):
        save_image(photo, tmp_path / f"big{ext}")
        again = load_image(tmp_path / f"big{ext}")
        assert again.icc == big, ext


def test_animated_images_use_the_first_frame_and_say_so(tmp_path):
    frames = [Image.fromarray(np.full((4, 4, 3), v, dtype=np.uint8)) for v in (30, 220)]
    frames[0].save(tmp_path / "anim.webp", save_all=True, append_images=frames[1:], lossless=True)
    frames[0].save(tmp_path / "anim.gif", save_all=True, append_images=frames[1:])
    for name in ("anim.webp", "anim.gif"):
        photo = load_image(tmp_path / name)
        assert abs(int(photo.pixels.mean()) - 30) <= 2, name
        assert photo.notes == [f"{name} has several frames: the first frame is used"]
    assert load_image(_save_pil(Image.fromarray(_rgb()), tmp_path / "still.png")).notes == []


def test_unexpected_exceptions_inside_pillow_become_image_errors(tmp_path, monkeypatch):
    import PIL.PngImagePlugin as png

    def explode(self, *a, **k):
        raise struct.error("unpack requires a buffer of 4 bytes")

    monkeypatch.setattr(png.PngImageFile, "_open", explode)
    with pytest.raises(ImageError, match=r"x.png: the file is damaged or truncated \(it starts like a PNG file"):
        load_image_bytes(_encode(Image.fromarray(_rgb()), "PNG"), "x.png")
