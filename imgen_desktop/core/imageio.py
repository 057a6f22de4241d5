"""Image I/O: load and save photos with their alpha, colour profile, EXIF and bit depth.

A :class:`Photo` carries the pixels (``HxWxC``, C = 1 or 3, ``uint8`` or ``uint16``), an
optional alpha plane of the same dtype, the ICC profile and EXIF block of the source file.

Loading
    PNG, JPEG, WebP, TIFF (first page), BMP and GIF (first frame). EXIF orientation is
    applied to the pixels (the same eight cases as ``PIL.ImageOps.exif_transpose``) and the
    kept EXIF says orientation 1 (or has no orientation tag: Pillow applies a TIFF's own
    orientation while loading and drops the tag), so saving never rotates twice. Tags that
    describe a TIFF's layout (size, strips, compression) are not kept as EXIF. Pillow modes: 1, L, LA, La,
    P/PA (palette transparency becomes alpha), RGB (tRNS becomes alpha), RGBA, RGBa, RGBX,
    CMYK (converted to sRGB through its ICC profile when it has one), YCbCr/LAB/HSV, and
    16-bit gray (I;16, I;16B, I;16L, I) which stays 16-bit.
    Limit: Pillow has no 16-bit-per-channel colour mode, so 16-bit RGB(A) PNG/TIFF files are
    read as 8-bit RGB(A) (Pillow reduces them); only gray images keep 16 bits.
    Images over :data:`MAX_PIXELS` are refused from their header, before any decoding.

Saving
    PNG, JPEG, WebP, TIFF, chosen from the extension or ``format=``; written atomically.
    Alpha is kept except in JPEG, which has none: there the image is flattened on white.
    ICC and EXIF are written in all four formats (EXIF over JPEG's 64 KB segment is dropped). 16 bits are kept for gray images in PNG and
    TIFF; other 16-bit cases (colour, gray + alpha, JPEG, WebP) are rounded to 8 bits.
    WebP at ``quality >= 100`` is written lossless; WebP has no gray mode, so gray is saved
    as RGB.
"""
from __future__ import annotations

import io
import os
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import Image

from imgen_desktop.core.atomic import atomic_path
from imgen_desktop.core.errors import ImageError

# Pillow warns (inside Image.open) about images between its limit and twice that; our own limit
# refuses them with a clear error instead, so the warning is noise. Installed once, at import.
warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)

#: Largest image (width * height) that is opened: 100 megapixels (a 10000 x 10000 photo).
MAX_PIXELS = 100_000_000

#: File extensions that :func:`find_images` picks up (lower case, with the dot).
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".webp", ".tif", ".tiff", ".bmp", ".gif")

#: Formats :func:`save_image` writes, by extension.
SAVE_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP", ".tif": "TIFF", ".tiff": "TIFF"}
_FORMAT_ALIASES = {"png": "PNG", "jpg": "JPEG", "jpeg": "JPEG", "webp": "WEBP", "tif": "TIFF", "tiff": "TIFF"}

_ORIENTATION_TAG = 0x0112
# TIFF tags that describe a file's pixel layout rather than the photo. A TIFF's EXIF as Pillow
# reads it is its whole first IFD, so these would come along and, written into another file
# (a TIFF especially), describe the wrong size, compression or strips. They are dropped.
_LAYOUT_TAGS = frozenset({
    254, 255, 256, 257, 258, 259, 262, 263, 264, 265, 266, 269, 273, 277, 278, 279, 280, 281,
    284, 288, 289, 290, 291, 292, 293, 317, 320, 322, 323, 324, 325, 330, 332, 338, 339, 340,
    341, 347, 512, 513, 514, 515, 517, 518, 519, 520, 521, 530, 531, 532,
    700, 33723, 34377, 34675, 37724,  # XMP, IPTC, Photoshop, ICC, Photoshop layers: not EXIF
})


@dataclass
class Photo:
    """Pixels plus what a photo file carries besides them.

    ``pixels``: ``HxWxC`` with C 1 (gray) or 3 (RGB), dtype ``uint8`` or ``uint16``.
    ``alpha``: ``HxW`` of the same dtype, or None. ``icc``/``exif``: raw bytes or None (EXIF
    orientation is already applied and reset to 1). ``bit_depth`` follows the dtype.
    ``source``: file path or a name such as "pasted". ``format``: e.g. "PNG", "JPEG", "" if made in memory.
    """

    pixels: np.ndarray
    alpha: np.ndarray | None = None
    icc: bytes | None = None
    exif: bytes | None = None
    bit_depth: int = 8
    source: str = ""
    format: str = ""

    def __post_init__(self) -> None:
        pixels = np.asarray(self.pixels)
        if pixels.ndim == 2:
            pixels = pixels[:, :, None]
        if pixels.ndim != 3 or pixels.shape[2] not in (1, 3):
            raise ImageError(f"photo pixels must be HxW, HxWx1 or HxWx3, not shape {tuple(np.shape(self.pixels))}")
        if pixels.dtype not in (np.uint8, np.uint16):
            raise ImageError(f"photo pixels must be uint8 or uint16, not {pixels.dtype}")
        self.pixels = pixels
        self.bit_depth = 16 if pixels.dtype == np.uint16 else 8
        if self.alpha is not None:
            alpha = np.asarray(self.alpha)
            if alpha.ndim == 3 and alpha.shape[2] == 1:
                alpha = alpha[:, :, 0]
            if alpha.shape != pixels.shape[:2]:
                raise ImageError(f"alpha shape {alpha.shape} does not match the pixels {pixels.shape[:2]}")
            self.alpha = _convert_depth(alpha, pixels.dtype)
        self.icc = self.icc or None
        self.exif = self.exif or None

    @property
    def height(self) -> int:
        return int(self.pixels.shape[0])

    @property
    def width(self) -> int:
        return int(self.pixels.shape[1])

    @property
    def size(self) -> tuple[int, int]:
        """``(width, height)`` like Pillow."""
        return self.width, self.height

    @property
    def channels(self) -> int:
        return int(self.pixels.shape[2])

    @property
    def has_alpha(self) -> bool:
        return self.alpha is not None

    @property
    def name(self) -> str:
        return Path(self.source).name if self.source else "image"


# --- helpers -------------------------------------------------------------------------------

def _convert_depth(arr: np.ndarray, dtype) -> np.ndarray:
    """uint8 <-> uint16 with full-range scaling (x * 257 up, rounded / 257 down)."""
    dtype = np.dtype(dtype)
    if arr.dtype == dtype:
        return arr
    if arr.dtype == np.uint8 and dtype == np.uint16:
        return arr.astype(np.uint16) * 257
    if arr.dtype == np.uint16 and dtype == np.uint8:
        return ((arr.astype(np.uint32) + 128) // 257).astype(np.uint8)
    raise ImageError(f"unsupported pixel type {arr.dtype}")


def _to8(arr: np.ndarray) -> np.ndarray:
    return _convert_depth(arr, np.uint8)


def _orient(arr: np.ndarray, orientation: int) -> np.ndarray:
    """Apply an EXIF orientation (1..8) to an ``HxW[xC]`` array, like ImageOps.exif_transpose."""
    if orientation == 2:  # mirrored horizontally
        arr = arr[:, ::-1]
    elif orientation == 3:  # rotated 180
        arr = arr[::-1, ::-1]
    elif orientation == 4:  # mirrored vertically
        arr = arr[::-1]
    elif orientation == 5:  # transpose
        arr = np.swapaxes(arr, 0, 1)
    elif orientation == 6:  # rotate 90 clockwise to display
        arr = np.rot90(arr, -1)
    elif orientation == 7:  # transverse
        arr = np.swapaxes(arr[::-1, ::-1], 0, 1)
    elif orientation == 8:  # rotate 90 counter-clockwise to display
        arr = np.rot90(arr, 1)
    return np.ascontiguousarray(arr)


def _too_large(name: str, pixels: int, limit: int) -> ImageError:
    return ImageError(
        f"{name}: the image has {pixels / 1e6:.1f} megapixels, over the limit of {limit / 1e6:.0f} "
        "megapixels; refusing to open it (it could exhaust memory)"
    )


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:200]


# --- loading -------------------------------------------------------------------------------

def load_image(path: str | os.PathLike, max_pixels: int | None = None) -> Photo:
    """Read an image file into a :class:`Photo`; raise :class:`ImageError` with the file name and reason."""
    path = Path(path)
    if path.is_dir():
        raise ImageError(f"{path.name}: is a folder, not an image file")
    try:
        fh = open(path, "rb")
    except OSError as exc:
        raise ImageError(f"{path.name}: cannot be opened ({exc.strerror or _reason(exc)})") from None
    with fh:
        return _load(fh, path.name, str(path), max_pixels)


def load_image_bytes(data: bytes, name: str = "pasted", max_pixels: int | None = None) -> Photo:
    """Read an encoded image held in memory (clipboard, drag-and-drop data)."""
    if not data:
        raise ImageError(f"{name}: no image data")
    return _load(io.BytesIO(bytes(data)), name, name, max_pixels)


def _load(fp: BinaryIO, name: str, source: str, max_pixels: int | None) -> Photo:
    from PIL import UnidentifiedImageError

    limit = int(max_pixels if max_pixels is not None else MAX_PIXELS)
    # Pillow refuses images over twice MAX_IMAGE_PIXELS inside Image.open. Our limit is the one
    # that counts: lift Pillow's threshold to it if it is lower, and turn Pillow's refusal (or
    # its warning, under -W error) into the same clear error.
    if Image.MAX_IMAGE_PIXELS is not None and Image.MAX_IMAGE_PIXELS < limit:
        Image.MAX_IMAGE_PIXELS = limit
    try:
        im = Image.open(fp)  # reads the header only
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        numbers = [int(n) for n in re.findall(r"\d+", str(exc))]
        raise _too_large(name, numbers[0] if numbers else 0, limit) from None
    except UnidentifiedImageError:
        raise ImageError(f"{name}: not a readable image (unknown or unsupported format)") from None
    except (OSError, ValueError, SyntaxError) as exc:
        raise ImageError(f"{name}: not a readable image ({_reason(exc)})") from None
    with im:
        width, height = im.size
        if width * height > limit:
            raise _too_large(name, width * height, limit)
        if width <= 0 or height <= 0:
            raise ImageError(f"{name}: the image is empty ({width}x{height})")
        fmt = im.format or ""
        try:
            if getattr(im, "n_frames", 1) > 1:
                im.seek(0)  # first page / frame
            im.load()
            pixels, alpha, icc = _pixels_from_pil(im)
            exif, orientation = _exif_of(im)
        except ImageError:
            raise
        except MemoryError:
            raise ImageError(f"{name}: not enough memory to decode the image") from None
        except Exception as exc:  # Pillow plugins raise OSError, ValueError, SyntaxError, struct.error, ...
            raise ImageError(f"{name}: the file is damaged or truncated ({_reason(exc)})") from None
    if orientation in range(2, 9):
        pixels = _orient(pixels, orientation)
        alpha = _orient(alpha, orientation) if alpha is not None else None
    return Photo(pixels, alpha, icc, exif, source=source, format=fmt)


def _exif_of(im) -> tuple[bytes | None, int]:
    """The EXIF block with orientation reset to 1, and the original orientation."""
    try:
        exif = im.getexif()
    except Exception:  # malformed EXIF: keep the pixels, drop the EXIF
        return None, 1
    if not exif:
        return None, 1
    try:
        orientation = int(exif.get(_ORIENTATION_TAG, 1) or 1)
    except (TypeError, ValueError):
        orientation = 1
    if _ORIENTATION_TAG in exif:
        exif[_ORIENTATION_TAG] = 1
    for tag in _LAYOUT_TAGS.intersection(exif.keys()):
        del exif[tag]
    if not len(exif):
        return None, orientation
    try:
        return exif.tobytes(), orientation
    except Exception:
        return None, orientation


def _pixels_from_pil(im) -> tuple[np.ndarray, np.ndarray | None, bytes | None]:
    """Pillow image -> (pixels HxWxC, alpha HxW or None, icc bytes or None)."""
    mode = im.mode
    icc = im.info.get("icc_profile") or None
    transparency = im.info.get("transparency")

    if mode in ("I;16", "I;16L", "I;16B", "I;16N", "I", "F"):
        arr = np.asarray(im)
        if mode == "F":
            arr = arr.astype(np.float64)
            arr = np.nan_to_num(arr)
            if arr.max(initial=0.0) <= 1.0:
                arr = arr * 65535.0
            gray = np.clip(np.rint(arr), 0, 65535).astype(np.uint16)
        elif mode == "I":
            arr = arr.astype(np.int64)
            if arr.max(initial=0) > 65535:  # 32-bit data: keep the top 16 bits
                arr = np.clip(arr, 0, None) >> 16
            gray = np.clip(arr, 0, 65535).astype(np.uint16)
        else:
            gray = arr.astype(np.uint16)  # native byte order
        alpha = None
        if isinstance(transparency, int) and not isinstance(transparency, bool):
            alpha = np.where(gray == transparency, 0, 65535).astype(np.uint16)
        return gray[:, :, None], alpha, icc

    if mode == "CMYK":
        return _cmyk_to_rgb(im, icc)

    if mode == "1":
        im = im.convert("L")
        mode = "L"
    if mode in ("L", "RGB") and transparency is not None:
        im = im.convert("LA" if mode == "L" else "RGBA")
    elif mode in ("P", "PA"):
        has_alpha = mode == "PA" or transparency is not None or (im.palette is not None and im.palette.mode == "RGBA")
        im = im.convert("RGBA" if has_alpha else "RGB")
    elif mode == "La":
        im = im.convert("LA")
    elif mode == "RGBa":
        im = im.convert("RGBA")
    elif mode not in ("L", "LA", "RGB", "RGBA"):
        im = im.convert("RGB")  # RGBX, YCbCr, LAB, HSV, ...
        if mode in ("LAB", "HSV"):
            icc = None  # the profile (if any) does not describe sRGB-converted pixels

    arr = np.asarray(im)
    if arr.ndim == 2:
        arr = arr[:, :, None]
    if im.mode in ("LA", "RGBA"):
        return np.ascontiguousarray(arr[:, :, :-1]), np.ascontiguousarray(arr[:, :, -1]), icc
    return np.ascontiguousarray(arr), None, icc


def _srgb_profile_bytes() -> bytes | None:
    try:
        from PIL import ImageCms

        return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    except Exception:
        return None


def _cmyk_to_rgb(im, icc: bytes | None):
    """CMYK -> RGB: through the embedded profile to sRGB when there is one, else Pillow's formula."""
    if icc:
        try:
            from PIL import ImageCms

            src = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            dst = ImageCms.createProfile("sRGB")
            rgb = ImageCms.profileToProfile(im, src, dst, outputMode="RGB")
            return np.ascontiguousarray(np.asarray(rgb)), None, _srgb_profile_bytes()
        except Exception:
            pass  # a broken profile: fall back to the plain conversion below
    rgb = im.convert("RGB")
    return np.ascontiguousarray(np.asarray(rgb)), None, None


# --- making and showing --------------------------------------------------------------------

def photo_from_array(
    arr: np.ndarray,
    *,
    icc: bytes | None = None,
    exif: bytes | None = None,
    source: str = "",
    format: str = "",
) -> Photo:
    """A Photo from ``uint8``/``uint16`` ``HxW`` or ``HxWxC`` (C: 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA)."""
    arr = np.asarray(arr)
    if arr.dtype not in (np.uint8, np.uint16):
        raise ImageError(f"image arrays must be uint8 or uint16, not {arr.dtype}")
    if arr.ndim == 2:
        arr = arr[:, :, None]
    if arr.ndim != 3 or arr.shape[2] not in (1, 2, 3, 4) or arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ImageError(f"image arrays must be HxW or HxWxC with C in 1..4, not shape {arr.shape}")
    alpha = None
    if arr.shape[2] in (2, 4):
        alpha = np.ascontiguousarray(arr[:, :, -1])
        arr = arr[:, :, :-1]
    return Photo(np.ascontiguousarray(arr), alpha, icc, exif, source=source, format=format)


def to_display_rgba8(photo: Photo) -> np.ndarray:
    """``HxWx4`` uint8 RGBA for showing on screen (gray expanded, 16-bit reduced, opaque if no alpha)."""
    h, w = photo.pixels.shape[:2]
    out = np.empty((h, w, 4), dtype=np.uint8)
    pixels = _to8(photo.pixels)
    out[:, :, :3] = pixels if pixels.shape[2] == 3 else pixels[:, :, :1]
    out[:, :, 3] = 255 if photo.alpha is None else _to8(photo.alpha)
    return out


# --- saving --------------------------------------------------------------------------------

def save_format(path: str | os.PathLike, format: str | None = None) -> str:
    """The Pillow format name for ``path`` (or the explicit ``format``); ImageError if unsupported."""
    if format:
        fmt = _FORMAT_ALIASES.get(format.strip().lower().lstrip("."))
        if fmt is None:
            raise ImageError(f"cannot save as {format!r}: use png, jpeg, webp or tiff")
        return fmt
    suffix = Path(path).suffix.lower()
    fmt = SAVE_FORMATS.get(suffix)
    if fmt is None:
        what = f"a {suffix} file" if suffix else f"{Path(path).name!r} (no extension)"
        raise ImageError(f"cannot save {what}: use a .png, .jpg, .webp or .tif file name")
    return fmt


def _to_pil(photo: Photo, fmt: str):
    pixels, alpha = photo.pixels, photo.alpha
    gray = pixels.shape[2] == 1
    keep16 = photo.bit_depth == 16 and gray and alpha is None and fmt in ("PNG", "TIFF")
    if keep16:
        return Image.fromarray(np.ascontiguousarray(pixels[:, :, 0].astype(np.uint16)))
    pixels = _to8(pixels)
    alpha = _to8(alpha) if alpha is not None else None
    if fmt == "JPEG" and alpha is not None:  # JPEG has no alpha: flatten on white
        a = alpha.astype(np.float32)[:, :, None] / 255.0
        pixels = np.clip(np.rint(pixels.astype(np.float32) * a + 255.0 * (1.0 - a)), 0, 255).astype(np.uint8)
        alpha = None
    if fmt == "WEBP" and gray:  # WebP has no gray mode
        pixels = np.repeat(pixels, 3, axis=2)
        gray = False
    if alpha is not None:
        arr = np.concatenate([pixels, alpha[:, :, None]], axis=2)
        return Image.fromarray(np.ascontiguousarray(arr))  # LA or RGBA
    if gray:
        return Image.fromarray(np.ascontiguousarray(pixels[:, :, 0]))
    return Image.fromarray(np.ascontiguousarray(pixels))


def save_image(photo: Photo, path: str | os.PathLike, format: str | None = None, quality: int = 95) -> Path:
    """Write ``photo`` to ``path`` atomically (temporary file + rename); returns the path.

    The format comes from ``format`` ("png", "jpeg", "webp", "tiff") or the file extension.
    Alpha, ICC profile and EXIF (orientation 1) are kept as far as the format allows; see the
    module notes. ``quality`` (1..100) applies to JPEG and WebP.
    """
    path = Path(path)
    fmt = save_format(path, format)
    quality = int(min(100, max(1, quality)))
    im = _to_pil(photo, fmt)
    kwargs: dict = {}
    if photo.icc:
        kwargs["icc_profile"] = photo.icc
    if photo.exif and not (fmt == "JPEG" and len(photo.exif) > 65000):  # JPEG's EXIF segment is <= 64 KB
        kwargs["exif"] = photo.exif
    if fmt == "JPEG":
        kwargs.update(quality=quality, optimize=True)
    elif fmt == "WEBP":
        # exact: lossless WebP would otherwise rewrite the colour under fully transparent pixels
        kwargs.update(quality=quality, lossless=quality >= 100, exact=quality >= 100, method=4)
    elif fmt == "PNG":
        kwargs.update(compress_level=6)
    elif fmt == "TIFF":
        kwargs.update(compression="tiff_deflate")
    try:
        with atomic_path(path) as tmp:
            im.save(tmp, format=fmt, **kwargs)
    except OSError as exc:
        raise ImageError(f"{path.name}: could not be written ({exc.strerror or _reason(exc)})") from None
    except (ValueError, TypeError) as exc:
        raise ImageError(f"{path.name}: could not be saved as {fmt} ({_reason(exc)})") from None
    return path


# --- folders -------------------------------------------------------------------------------

def find_images(folder: str | os.PathLike, recursive: bool = True) -> list[Path]:
    """Image files in ``folder`` (by extension, case-insensitive), sorted; hidden files skipped."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ImageError(f"{folder}: not a folder")
    found = []
    walker = folder.rglob("*") if recursive else folder.glob("*")
    for path in walker:
        rel = path.relative_to(folder)
        if any(part.startswith(".") for part in rel.parts):
            continue
        if path.suffix.lower() in IMAGE_EXTENSIONS and path.is_file():
            found.append(path)
    return sorted(found)
