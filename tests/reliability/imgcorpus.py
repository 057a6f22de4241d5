"""A generated corpus of broken, hostile and awkward image files (nothing is committed).

``build(folder)`` writes every case into ``folder`` and returns :class:`Case` objects. A case is
either *valid* (it must load, and its enhanced output must have the right pixels: orientation,
alpha, bit depth, ICC, first frame, no black float image) or *refused* (it must fail with one
clear line that names the file and matches ``error``). Files are tiny so that a whole batch
runs through ``imgen enhance`` in seconds.
"""
from __future__ import annotations

import io
import os
import struct
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
from PIL import Image, ImageCms, TiffImagePlugin

import imgen_desktop.core.imageio  # noqa: F401 - the checks re-open outputs with the app's PNG chunk limit

H, W = 24, 36  # the upright size of the valid pictures (not square: orientation shows)
RNG = np.random.default_rng(11)

Check = Callable[[Path], None]  # checks one enhanced output file; raises AssertionError


@dataclass
class Case:
    name: str  # file name inside the corpus folder
    kind: str  # "valid" or "refused"
    error: str = ""  # refused: a regex the one error line must match (after "imgen: error: NAME: ")
    check: Check | None = None  # valid: what the output must be
    output_ext: str = ""  # valid: the output's extension when it differs from the input's
    notes: list[str] = field(default_factory=list)
    gui: bool = True  # also dropped on the canvas (a folder opens a batch there: not a load)

    @property
    def stem(self) -> str:
        return Path(self.name).stem


# --- pixel makers ------------------------------------------------------------------------------

QUADRANTS = np.array([[220, 30, 30], [30, 200, 40], [40, 50, 210], [235, 235, 235]], np.uint8)  # TL TR BL BR


def upright() -> np.ndarray:
    """HxWx3 with four flat quadrants (orientation is visible, JPEG and denoising keep them)."""
    img = np.empty((H, W, 3), np.uint8)
    img[: H // 2, : W // 2], img[: H // 2, W // 2 :] = QUADRANTS[0], QUADRANTS[1]
    img[H // 2 :, : W // 2], img[H // 2 :, W // 2 :] = QUADRANTS[2], QUADRANTS[3]
    return img


def quadrant_means(arr: np.ndarray) -> np.ndarray:
    h, w = arr.shape[:2]
    m = 3  # stay away from the edges between quadrants (JPEG ringing, denoiser blur)
    boxes = [(slice(m, h // 2 - m), slice(m, w // 2 - m)), (slice(m, h // 2 - m), slice(w // 2 + m, w - m)),
             (slice(h // 2 + m, h - m), slice(m, w // 2 - m)), (slice(h // 2 + m, h - m), slice(w // 2 + m, w - m))]
    return np.array([arr[b].reshape(-1, arr.shape[2])[:, :3].mean(axis=0) for b in boxes])


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _png_header(width: int, height: int, depth: int = 8, colour: int = 2) -> bytes:
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, 0))


def _encode(im: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    im.save(buf, format=fmt, **kw)
    return buf.getvalue()


def _srgb() -> bytes:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


# --- output checks -----------------------------------------------------------------------------

def _open(path: Path) -> Image.Image:
    im = Image.open(path)
    im.load()
    return im


def check_quadrants(tolerance: float = 40.0) -> Check:
    def check(out: Path) -> None:
        im = _open(out).convert("RGB")
        assert im.size == (W, H), f"{out.name}: {im.size} is not upright {W}x{H}"
        got = quadrant_means(np.asarray(im, dtype=np.float64))
        assert np.abs(got - QUADRANTS).max() < tolerance, f"{out.name}: quadrants {got.round()} != {QUADRANTS.tolist()}"
    return check


def check_alpha(expected: np.ndarray, mode: str = "RGBA") -> Check:
    def check(out: Path) -> None:
        im = _open(out)
        assert im.mode == mode, f"{out.name}: mode {im.mode}, not {mode}"
        np.testing.assert_array_equal(np.asarray(im)[:, :, -1], expected, err_msg=f"{out.name}: alpha changed")
    return check


def check_gray16(expected_mean: float, tolerance: float) -> Check:
    def check(out: Path) -> None:
        im = _open(out)
        assert im.mode in ("I;16", "I;16B", "I;16L", "I"), f"{out.name}: mode {im.mode} lost 16 bits"
        arr = np.asarray(im).astype(np.float64)
        assert arr.max() > 255, f"{out.name}: values fit 8 bits, depth lost"
        assert abs(arr.mean() - expected_mean) < tolerance, f"{out.name}: mean {arr.mean():.0f} != {expected_mean:.0f}"
    return check


def check_icc(icc: bytes) -> Check:
    def check(out: Path) -> None:
        im = _open(out)
        assert im.info.get("icc_profile") == icc, f"{out.name}: ICC profile not kept"
    return check


def check_mean(expected: float, tolerance: float, mode: str | None = None) -> Check:
    def check(out: Path) -> None:
        im = _open(out)
        if mode:
            assert im.mode == mode, f"{out.name}: mode {im.mode}"
        arr = np.asarray(im.convert("RGB"), dtype=np.float64)
        assert abs(arr.mean() - expected) < tolerance, f"{out.name}: mean {arr.mean():.1f}, expected {expected}"
    return check


def check_size(width: int, height: int) -> Check:
    def check(out: Path) -> None:
        assert _open(out).size == (width, height), out.name
    return check


def all_of(*checks: Check) -> Check:
    def check(out: Path) -> None:
        for c in checks:
            c(out)
    return check


# --- the corpus ----------------------------------------------------------------------------------

_TRANSPOSE_TO_STORE = {  # stored = upright.transpose(this), so that exif_transpose(stored) == upright
    2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180, 4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_90, 7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_270,
}


def _valid(folder: Path) -> list[Case]:
    cases: list[Case] = []
    up = Image.fromarray(upright())

    def add(name: str, data: bytes, check: Check, output_ext: str = "") -> None:
        (folder / name).write_bytes(data)
        cases.append(Case(name, "valid", check=check, output_ext=output_ext))

    for fmt, ext, kw in (("PNG", "png", {}), ("JPEG", "jpg", {"quality": 95}), ("WEBP", "webp", {"lossless": True}),
                         ("TIFF", "tif", {}), ("BMP", "bmp", {})):
        add(f"plain_{ext}.{ext}", _encode(up, fmt, **kw), check_quadrants(), ".png" if ext == "bmp" else "")
    for k in range(1, 9):  # EXIF orientation 1..8
        exif = Image.Exif()
        exif[0x0112] = k
        stored = up.transpose(_TRANSPOSE_TO_STORE[k]) if k > 1 else up
        add(f"orient{k}.jpg", _encode(stored, "JPEG", quality=95, exif=exif), check_quadrants())

    alpha = np.tile(np.linspace(0, 255, W).astype(np.uint8), (H, 1))
    rgba = np.dstack([upright(), alpha])
    add("alpha.png", _encode(Image.fromarray(rgba), "PNG"), all_of(check_alpha(alpha), check_quadrants()))
    la = np.dstack([np.full((H, W), 128, np.uint8), alpha])
    add("gray_alpha.png", _encode(Image.fromarray(la), "PNG"), check_alpha(alpha, "LA"))
    pal = up.convert("P", palette=Image.Palette.ADAPTIVE, colors=8)
    add("palette_trns.png", _encode(pal, "PNG", transparency=0), check_quadrants(60))

    ramp16 = np.tile(np.linspace(1000, 64000, W).astype(np.uint16), (H, 1))
    for ext in ("png", "tif"):
        add(f"gray16.{ext}", _encode(Image.fromarray(ramp16), "PNG" if ext == "png" else "TIFF"), check_gray16(ramp16.mean(), 1500))
    rgb16 = (upright().astype(np.uint16) * 257)
    raw = b"".join(b"\x00" + rgb16[y].astype(">u2").tobytes() for y in range(H))
    add("rgb16.png", _png_header(W, H, 16, 2) + _chunk(b"IDAT", zlib.compress(raw)) + _chunk(b"IEND", b""), check_quadrants())

    ramp = np.tile(np.linspace(0.0, 1.0, W, dtype=np.float32), (H, 1))
    add("float.tif", _encode(Image.fromarray(ramp, mode="F"), "TIFF"), check_gray16(0.5 * 65535, 2500))
    bad = ramp.copy()
    bad[3, 4], bad[10, 20], bad[5, 30] = np.nan, np.inf, -np.inf
    add("float_nan_inf.tif", _encode(Image.fromarray(bad, mode="F"), "TIFF"), check_gray16(0.5 * 65535, 2500))

    add("cmyk.jpg", _encode(up.convert("CMYK"), "JPEG", quality=95), check_quadrants(50))
    add("lab.tif", _encode(up.convert("LAB"), "TIFF"), check_quadrants(50))

    frames = [Image.fromarray(np.full((H, W, 3), v, np.uint8)) for v in (40, 210, 120)]
    add("animated.gif", _encode(frames[0], "GIF", save_all=True, append_images=frames[1:]), check_mean(40, 6), ".png")
    add("animated.webp", _encode(frames[0], "WEBP", save_all=True, append_images=frames[1:], lossless=True), check_mean(40, 6))
    add("pages.tif", _encode(frames[0], "TIFF", save_all=True, append_images=frames[1:]), check_mean(40, 6))

    icc = _srgb()
    big_icc = icc + RNG.integers(0, 256, 2 * 2**20, dtype=np.uint8).tobytes()  # 2 MB, incompressible
    add("icc_2mb.png", _encode(up, "PNG", icc_profile=big_icc), all_of(check_icc(big_icc), check_quadrants()))
    add("icc.jpg", _encode(up, "JPEG", quality=95, icc_profile=icc), all_of(check_icc(icc), check_quadrants()))
    add("png_named.jpg", _encode(up, "PNG"), check_quadrants())  # wrong extension: sniffed, saved as .jpg

    exif = (b"II*\x00\x08\x00\x00\x00" + struct.pack("<H", 2) + struct.pack("<HHII", 0x010F, 2, 400, 99999)
            + struct.pack("<HHII", 0x8769, 4, 1, 77777) + b"\x00\x00\x00\x00")  # offsets past the end
    add("corrupt_exif.jpg", _encode(up, "JPEG", quality=95, exif=exif), check_quadrants())
    info = TiffImagePlugin.ImageFileDirectory_v2()
    info[65000] = "unknown private tag"
    add("odd_tags.tif", _encode(up, "TIFF", compression="tiff_deflate", tiffinfo=info), check_quadrants())
    return cases


def _bomb_png() -> bytes:
    return _png_header(60000, 60000) + _chunk(b"IDAT", zlib.compress(b"\x00" * 1000)) + _chunk(b"IEND", b"")


def _bomb_jpeg() -> bytes:
    data = bytearray(_encode(Image.new("RGB", (8, 8)), "JPEG"))
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", 65000, 65000)
    return bytes(data)


def _bomb_gif() -> bytes:
    data = bytearray(_encode(Image.new("L", (8, 8)), "GIF"))
    data[6:10] = struct.pack("<HH", 65535, 65535)
    return bytes(data)


def _bomb_bmp() -> bytes:
    data = bytearray(_encode(Image.new("RGB", (8, 8)), "BMP"))
    data[18:26] = struct.pack("<ii", 30000, 30000)
    return bytes(data)


def _bomb_tiff() -> bytes:
    entries = [(256, 4, 1, 50000), (257, 4, 1, 50000), (258, 3, 1, 8), (259, 3, 1, 1), (262, 3, 1, 1),
               (273, 4, 1, 8), (277, 3, 1, 1), (278, 4, 1, 50000), (279, 4, 1, 16)]
    ifd = struct.pack("<H", len(entries)) + b"".join(struct.pack("<HHII", *e) for e in entries) + b"\x00" * 4
    return b"II*\x00" + struct.pack("<I", 8 + 16) + b"\x00" * 16 + ifd


def _text_bomb_png() -> bytes:
    """A 200 KB PNG whose zTXt chunk inflates to 200 MB: Pillow's chunk limit stops it at 32 MB."""
    comp = zlib.compressobj(9)
    zeros = b"\x00" * 2**20
    blob = b"".join(comp.compress(zeros) for _ in range(200)) + comp.flush()
    ok = _encode(Image.new("RGB", (4, 4)), "PNG")
    return ok[:33] + _chunk(b"zTXt", b"Comment\x00\x00" + blob) + ok[33:]


def _damaged_tiff() -> bytes:
    data = bytearray(_encode(Image.fromarray(RNG.integers(0, 256, (64, 64, 3), dtype=np.uint8)), "TIFF", compression="tiff_deflate"))
    mid = len(data) // 2
    data[mid : mid + 24] = bytes(range(24))
    return bytes(data)


def _refused(folder: Path) -> list[Case]:
    cases: list[Case] = []
    up = Image.fromarray(upright())

    def add(name: str, data: bytes | None, error: str, gui: bool = True) -> None:
        if data is not None:
            (folder / name).write_bytes(data)
        cases.append(Case(name, "refused", error=error, gui=gui))

    png, jpg = _encode(up, "PNG"), _encode(up, "JPEG")
    add("empty.png", b"", r"the file is empty \(0 bytes\)")
    add("random.jpg", RNG.integers(0, 256, 3000, dtype=np.uint8).tobytes(), r"not a readable image \(unknown or unsupported format\)")
    add("text.png", b"this is a text file, not a picture\n" * 20, r"not a readable image")
    add("truncated.png", png[: len(png) * 2 // 3], r"the file is damaged or truncated")
    add("truncated.jpg", jpg[: len(jpg) // 2], r"the file is damaged or truncated")
    add("header_only.png", _png_header(W, H), r"damaged or truncated|not a readable image")
    for name, data in (("bomb.png", _bomb_png()), ("bomb.jpg", _bomb_jpeg()), ("bomb.gif", _bomb_gif()),
                       ("bomb.bmp", _bomb_bmp()), ("bomb.tif", _bomb_tiff())):
        add(name, data, r"megapixels, over the limit of 100 megapixels")
    add("text_bomb.png", _text_bomb_png(), r"not a readable image \(a text or colour-profile chunk is larger than 32 MB\)")
    add("nan_only.tif", _encode(Image.fromarray(np.full((4, 4), np.nan, np.float32), mode="F"), "TIFF"),
        r"no finite pixel values")
    add("damaged.tif", _damaged_tiff(), r"the file is damaged or truncated \(ZIPDecode: ")
    if hasattr(os, "mkfifo"):
        os.mkfifo(folder / "fifo.png")
        add("fifo.png", None, r"is not a regular file \(a named pipe \(FIFO\)\)")
    (folder / "dangling.png").symlink_to(folder / "no-such-file.png")
    add("dangling.png", None, r"is a broken link \(it points to .*no-such-file.png, which does not exist\)")
    (folder / "loop.jpg").symlink_to(folder / "loop.jpg")
    add("loop.jpg", None, r"is a link that points to itself")
    return cases


def build(folder: Path) -> list[Case]:
    """Write the whole corpus into ``folder`` (created) and return its cases."""
    folder.mkdir(parents=True, exist_ok=True)
    return _valid(folder) + _refused(folder)


def seeds() -> dict[str, bytes]:
    """Small valid files of every format, to be mutated by the fuzzer."""
    img = Image.fromarray(RNG.integers(0, 256, (6, 7, 3), dtype=np.uint8))
    frames = [img, Image.fromarray(np.full((6, 7, 3), 9, np.uint8))]
    exif = Image.Exif()
    exif[0x0112] = 6
    return {
        "png": _encode(img, "PNG"),
        "png16": _encode(Image.fromarray(np.arange(42, dtype=np.uint16).reshape(6, 7) * 1000), "PNG"),
        "jpeg": _encode(img, "JPEG", quality=80, exif=exif),
        "tiff": _encode(img, "TIFF"),
        "tiff_deflate": _encode(img, "TIFF", compression="tiff_deflate"),
        "tiff_float": _encode(Image.fromarray(np.linspace(0, 1, 42, dtype=np.float32).reshape(6, 7), mode="F"), "TIFF"),
        "gif": _encode(frames[0], "GIF", save_all=True, append_images=frames[1:]),
        "webp": _encode(img, "WEBP", lossless=True),
        "bmp": _encode(img, "BMP"),
    }
