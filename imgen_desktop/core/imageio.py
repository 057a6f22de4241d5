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
    Float images (mode F) are scaled by their finite values; NaN and +/-inf pixels are replaced
    (and said so in ``Photo.notes``). Animated GIF/WebP/PNG and multi-page TIFF: the first
    frame or page, said so in ``Photo.notes``.
    Only regular files are opened: a FIFO, device or socket is refused before it is opened (it
    would block or never end), with "is not a regular file"; a dangling link "is a broken link";
    a folder "is a folder"; an empty file "is empty".
    Library noise (Pillow's warnings and log records, libtiff's lines on stderr while a TIFF is
    decoded or encoded) never reaches the terminal: it is captured, and a decoder's own words
    become the reason in our one-line error.

Saving
    PNG, JPEG, WebP, TIFF, chosen from the extension or ``format=``; written atomically.
    Alpha is kept except in JPEG, which has none: there the image is flattened on white.
    ICC and EXIF are written in all four formats (EXIF over JPEG's 64 KB segment is dropped). 16 bits are kept for gray images in PNG and
    TIFF; other 16-bit cases (colour, gray + alpha, JPEG, WebP) are rounded to 8 bits.
    WebP at ``quality >= 100`` is written lossless; WebP has no gray mode, so gray is saved
    as RGB.
    Every file is encoded in memory first, then written, fsynced, checked (size equal to the bytes
    encoded, re-opened with Pillow) and only then renamed over the target: a full disk or a
    short write is an error, never a truncated "saved" file.
"""
from __future__ import annotations

import contextlib
import errno
import io
import logging
import os
import re
import stat
import tempfile
import threading
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Iterator

import numpy as np
from PIL import Image, PngImagePlugin

from imgen_desktop.core.atomic import write_bytes_atomic
from imgen_desktop.core.errors import ImageError

# Pillow warns (inside Image.open) about images between its limit and twice that; our own limit
# refuses them with a clear error instead, so the warning is noise. Installed once, at import.
warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)

#: Largest decompressed PNG text or ICC chunk that is read. Pillow's default (1 MB) refuses
#: PNGs with a big ICC profile (print profiles reach several MB), so the app could not reopen a
#: file it wrote. All text chunks together stay under Pillow's MAX_TEXT_MEMORY (64 MB).
MAX_PNG_CHUNK = 32 * 2**20
if PngImagePlugin.MAX_TEXT_CHUNK < MAX_PNG_CHUNK:
    PngImagePlugin.MAX_TEXT_CHUNK = MAX_PNG_CHUNK


class _PillowLogCapture(logging.Handler):
    """Pillow's log records go to the load/save that is running (see :func:`_quiet`), never to stderr."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.local = threading.local()

    def emit(self, record: logging.LogRecord) -> None:
        sink = getattr(self.local, "sink", None)
        if sink is not None:
            with contextlib.suppress(Exception):
                sink.append(record.getMessage())


_PIL_LOG = _PillowLogCapture()
logging.getLogger("PIL").addHandler(_PIL_LOG)
logging.getLogger("PIL").propagate = False

# Image.open / load / save run one at a time: warnings.catch_warnings and the stderr redirect
# around libtiff change process-wide state, and Pillow's pixel limit is lifted while our own
# writes are verified.
_IO_LOCK = threading.RLock()

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
    ``notes``: what the user should know about the load (first frame of an animation, replaced
    non-finite pixels), one short sentence each.
    """

    pixels: np.ndarray
    alpha: np.ndarray | None = None
    icc: bytes | None = None
    exif: bytes | None = None
    bit_depth: int = 8
    source: str = ""
    format: str = ""
    notes: list[str] = field(default_factory=list)

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


def _checked_size(im, name: str, limit: int) -> tuple[int, int]:
    """The image's (width, height); refuses an empty one or one over the pixel limit (before decoding)."""
    width, height = im.size
    if width * height > limit:
        raise _too_large(name, width * height, limit)
    if width <= 0 or height <= 0:
        raise ImageError(f"{name}: the image is empty ({width}x{height})")
    return width, height


def _too_large(name: str, pixels: int, limit: int) -> ImageError:
    return ImageError(
        f"{name}: the image has {pixels / 1e6:.1f} megapixels, over the limit of {limit / 1e6:.0f} "
        "megapixels; refusing to open it (it could exhaust memory)"
    )


def _reason(exc: BaseException, noise=None) -> str:
    if str(exc).strip():
        return str(exc).strip().splitlines()[0][:200]
    if noise is not None and noise.messages:  # no words of its own: what Pillow warned about
        return noise.messages[-1].strip().splitlines()[0][:200]
    return type(exc).__name__


# --- library noise -------------------------------------------------------------------------

class _Noise:
    """What the libraries said during one load or save: warnings, log records, libtiff's lines."""

    def __init__(self) -> None:
        self.lines: list[str] = []  # what C libraries printed on stderr (libtiff)
        self.messages: list[str] = []  # Pillow's warnings and log records
        self.sink = None  # the file that stderr goes to while it is captured
        self._read = 0

    def collect(self) -> None:
        """Take in what reached the captured stderr so far."""
        if self.sink is None:
            return
        with contextlib.suppress(OSError, ValueError):
            self.sink.seek(self._read)
            chunk = self.sink.read(65536)
            self._read += len(chunk)
            text = chunk.decode("utf-8", "replace")
            self.lines.extend(line.strip() for line in text.splitlines() if line.strip())

    def reason(self) -> str:
        """The first line a C decoder printed (its own words for what is wrong), or ""."""
        self.collect()
        for line in self.lines:
            text = line.strip()
            if text and not text.lower().startswith(("warning", "deprecat")):
                return text[:200]
        return ""


@contextlib.contextmanager
def _capture_stderr_fd(noise: _Noise) -> Iterator[None]:
    """Redirect file descriptor 2 to a temporary file (libtiff prints there from C)."""
    try:
        saved = os.dup(2)
    except OSError:  # no stderr at all (a windowed app): nothing to capture
        yield
        return
    try:
        sink = tempfile.TemporaryFile()
    except OSError:
        os.close(saved)
        yield
        return
    with sink:
        with contextlib.suppress(Exception):
            import sys

            sys.stderr.flush()
        os.dup2(sink.fileno(), 2)
        noise.sink = sink
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            noise.collect()
            noise.sink = None


@contextlib.contextmanager
def _quiet(capture_fd: bool = False) -> Iterator[_Noise]:
    """Run Pillow quietly: its warnings and log records (and, with ``capture_fd``, the C library
    lines on stderr) are collected in the yielded :class:`_Noise` instead of printed."""
    noise = _Noise()
    with _IO_LOCK:
        previous = getattr(_PIL_LOG.local, "sink", None)
        _PIL_LOG.local.sink = noise.messages
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # our own limit says it
                try:
                    with _capture_stderr_fd(noise) if capture_fd else contextlib.nullcontext():
                        yield noise
                finally:
                    noise.messages.extend(str(w.message) for w in caught if not issubclass(w.category, DeprecationWarning))
        finally:
            _PIL_LOG.local.sink = previous


def _is_tiff(head: bytes) -> bool:
    return head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")


# --- regular files only ----------------------------------------------------------------------

_KINDS = {
    stat.S_IFIFO: "a named pipe (FIFO)",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFSOCK: "a socket",
}


def _not_regular(name: str, mode: int) -> ImageError:
    kind = _KINDS.get(stat.S_IFMT(mode), "not a plain file")
    return ImageError(f"{name}: is not a regular file ({kind}); only image files can be opened")


def file_problem(path: str | os.PathLike) -> str | None:
    """Why ``path`` cannot be read as an image file, in one sentence naming it; None if it can
    be tried. Never opens the file (a FIFO would block): missing, broken link, folder, FIFO,
    device, socket, empty, no permission."""
    path = Path(path)
    name = path.name or str(path)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        if os.path.islink(path):
            try:
                to = os.readlink(path)
            except OSError:
                to = "?"
            return f"{name}: is a broken link (it points to {to}, which does not exist)"
        return f"{name}: file not found ({path})"
    except PermissionError:
        return f"{name}: cannot be opened (permission denied)"
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return f"{name}: is a link that points to itself (a loop of links)"
        return f"{name}: cannot be opened ({exc.strerror or _reason(exc)})"
    if stat.S_ISDIR(st.st_mode):
        return f"{name}: is a folder, not an image file"
    if not stat.S_ISREG(st.st_mode):
        return str(_not_regular(name, st.st_mode))
    if st.st_size == 0:
        return f"{name}: the file is empty (0 bytes)"
    return None


def check_image_file(path: str | os.PathLike) -> None:
    """Raise :class:`ImageError` with :func:`file_problem`'s sentence if ``path`` cannot be read."""
    problem = file_problem(path)
    if problem:
        raise ImageError(problem)


def _open_regular(path: Path) -> BinaryIO:
    """Open a regular file for reading without ever blocking on a FIFO or device."""
    check_image_file(path)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise ImageError(f"{path.name}: cannot be opened ({exc.strerror or _reason(exc)})") from None
    try:
        st = os.fstat(fd)  # it may have been swapped since the check
        if not stat.S_ISREG(st.st_mode):
            raise _not_regular(path.name, st.st_mode)
        if getattr(os, "O_NONBLOCK", 0):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


# --- loading -------------------------------------------------------------------------------

def load_image(path: str | os.PathLike, max_pixels: int | None = None) -> Photo:
    """Read an image file into a :class:`Photo`; raise :class:`ImageError` with the file name and reason."""
    path = Path(path)
    fh = _open_regular(path)
    with fh:
        return _load(fh, path.name, str(path), max_pixels)


def load_image_bytes(data: bytes, name: str = "pasted", max_pixels: int | None = None) -> Photo:
    """Read an encoded image held in memory (clipboard, drag-and-drop data)."""
    if not data:
        raise ImageError(f"{name}: no image data")
    return _load(io.BytesIO(bytes(data)), name, name, max_pixels)


def _open_pil(fp: BinaryIO, name: str, limit: int, noise: _Noise):
    """``Image.open`` (header only) with every failure turned into one clear ImageError."""
    from PIL import UnidentifiedImageError

    # Pillow refuses images over twice MAX_IMAGE_PIXELS inside Image.open. Our limit is the one
    # that counts: lift Pillow's threshold to it if it is lower, and turn Pillow's refusal into
    # the same clear error.
    if Image.MAX_IMAGE_PIXELS is not None and Image.MAX_IMAGE_PIXELS < limit:
        Image.MAX_IMAGE_PIXELS = limit
    try:
        head = fp.read(16)
        fp.seek(0)
    except (OSError, ValueError) as exc:
        raise ImageError(f"{name}: cannot be read ({_reason(exc)})") from None
    kind = _sniff(head)
    try:
        return Image.open(fp)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        numbers = [int(n) for n in re.findall(r"\d+", str(exc))]
        raise _too_large(name, numbers[0] if numbers else 0, limit) from None
    except UnidentifiedImageError:
        if kind:  # it starts like an image file of a known format: damaged, not foreign
            raise ImageError(f"{name}: the file is damaged or truncated (it starts like a {kind} file but its header cannot be read)") from None
        raise ImageError(f"{name}: not a readable image (unknown or unsupported format)") from None
    except MemoryError:
        raise ImageError(f"{name}: not enough memory to read the image header") from None
    except Exception as exc:  # plugins raise OSError, ValueError, SyntaxError, struct.error, EOFError, ...
        text = _reason(exc, noise)
        if "MAX_TEXT_CHUNK" in text or "Decompressed data too large" in text:
            raise ImageError(f"{name}: not a readable image (a text or colour-profile chunk is larger than {MAX_PNG_CHUNK // 2**20} MB)") from None
        raise ImageError(f"{name}: the file is damaged or truncated ({noise.reason() or text})") from None


_MAGIC = ((b"\x89PNG\r\n\x1a\n", "PNG"), (b"\xff\xd8\xff", "JPEG"), (b"GIF87a", "GIF"), (b"GIF89a", "GIF"),
          (b"II*\x00", "TIFF"), (b"MM\x00*", "TIFF"), (b"II+\x00", "TIFF"), (b"MM\x00+", "TIFF"), (b"BM", "BMP"))


def _sniff(head: bytes) -> str:
    """The format a file's first bytes announce ("PNG", "JPEG", ...), or ""."""
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WebP"
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            return kind
    return ""


def _load(fp: BinaryIO, name: str, source: str, max_pixels: int | None) -> Photo:
    limit = int(max_pixels if max_pixels is not None else MAX_PIXELS)
    try:
        head = fp.read(4)
        fp.seek(0)
    except OSError as exc:
        raise ImageError(f"{name}: cannot be read ({exc.strerror or _reason(exc)})") from None
    notes: list[str] = []
    with _quiet(capture_fd=_is_tiff(head)) as noise:
        im = _open_pil(fp, name, limit, noise)
        with im:
            width, height = _checked_size(im, name, limit)
            fmt = im.format or ""
            try:
                if getattr(im, "is_animated", False):  # is_animated looks at two frames, n_frames at all
                    im.seek(0)
                    what = "page" if fmt in ("TIFF", "MPO") else "frame"
                    notes.append(f"{name} has several {what}s: the first {what} is used")
                im.load()
                pixels, alpha, icc = _pixels_from_pil(im, notes)
                exif, orientation = _exif_of(im)
            except ImageError as exc:
                if str(exc).startswith(f"{name}:"):
                    raise
                raise ImageError(f"{name}: {exc}") from None
            except MemoryError:
                raise ImageError(f"{name}: not enough memory to decode the image") from None
            except Exception as exc:  # Pillow plugins raise OSError, ValueError, SyntaxError, struct.error, ...
                raise ImageError(f"{name}: the file is damaged or truncated ({noise.reason() or _reason(exc, noise)})") from None
    if orientation in range(2, 9):
        pixels = _orient(pixels, orientation)
        alpha = _orient(alpha, orientation) if alpha is not None else None
    return Photo(pixels, alpha, icc, exif, source=source, format=fmt, notes=notes)


# --- headers and thumbnails (datasets: bounded memory) ------------------------------------

#: Pillow modes whose pixels are gray whatever they hold.
GRAY_MODES = frozenset({"1", "L", "LA", "La", "I", "I;16", "I;16L", "I;16B", "I;16N", "F"})


@dataclass
class ImageHeader:
    """What an image file says about itself before any pixel is decoded."""

    width: int
    height: int
    mode: str
    format: str

    @property
    def gray(self) -> bool:
        return self.mode in GRAY_MODES


def probe_image(path: str | os.PathLike, max_pixels: int | None = None) -> ImageHeader:
    """Size, mode and format from the file's header (no decoding; EXIF rotations swap the size).
    Raises :class:`ImageError` like :func:`load_image` for what it can tell from the header."""
    path = Path(path)
    limit = int(max_pixels if max_pixels is not None else MAX_PIXELS)
    with _open_regular(path) as fh, _quiet() as noise:
        im = _open_pil(fh, path.name, limit, noise)
        with im:
            width, height = _checked_size(im, path.name, limit)
            _, orientation = _exif_of(im)
            if orientation in (5, 6, 7, 8):
                width, height = height, width
            return ImageHeader(width, height, im.mode, im.format or "")


def load_thumbnail(path: str | os.PathLike, size: int = 64, max_pixels: int | None = None) -> np.ndarray:
    """A small upright uint8 ``HxWxC`` (C = 1 or 3) view of an image, longer side at most ``size``.

    JPEGs are decoded at a reduced scale (libjpeg's DCT scaling, 1/2 .. 1/8), so a 12 MP photo
    costs about 1/64 of its full decode; other formats are decoded once and reduced at once.
    Raises :class:`ImageError` like :func:`load_image`.
    """
    path = Path(path)
    name = path.name
    limit = int(max_pixels if max_pixels is not None else MAX_PIXELS)
    with _open_regular(path) as fh:
        head = fh.read(4)
        fh.seek(0)
        with _quiet(capture_fd=_is_tiff(head)) as noise:
            im = _open_pil(fh, name, limit, noise)
            with im:
                width, height = _checked_size(im, name, limit)
                try:
                    if getattr(im, "is_animated", False):
                        im.seek(0)
                    if im.format == "JPEG":
                        im.draft("L" if im.mode == "L" else "RGB", (size, size))
                    im.load()
                    _, orientation = _exif_of(im)
                    pixels, _alpha, _icc = _pixels_from_pil(im)
                except ImageError as exc:
                    raise ImageError(f"{name}: {exc}") from None
                except MemoryError:
                    raise ImageError(f"{name}: not enough memory to decode the image") from None
                except Exception as exc:
                    raise ImageError(f"{name}: the file is damaged or truncated ({noise.reason() or _reason(exc, noise)})") from None
    pixels = _to8(pixels)
    small = Image.fromarray(pixels[:, :, 0] if pixels.shape[2] == 1 else pixels)
    del pixels
    small.thumbnail((size, size), Image.Resampling.BICUBIC, reducing_gap=2.0)
    arr = np.asarray(small)
    if arr.ndim == 2:
        arr = arr[:, :, None]
    if orientation in range(2, 9):
        arr = _orient(arr, orientation)
    return np.ascontiguousarray(arr)


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


def _float_to_uint16(arr: np.ndarray, notes: list[str] | None) -> np.ndarray:
    """A float image -> uint16: 0..1 data is scaled to 0..65535, larger values are taken as they
    are (clipped). Only finite values decide the range: NaN becomes 0, +inf the largest finite
    value, -inf the smallest (one bad pixel used to turn the whole image black)."""
    arr = np.asarray(arr, dtype=np.float32)
    finite = np.isfinite(arr)
    bad = int(arr.size - np.count_nonzero(finite))
    if bad:
        if bad == arr.size:
            raise ImageError("the image has no finite pixel values (every pixel is NaN or infinite)")
        top, bottom = float(arr[finite].max()), float(arr[finite].min())
        arr = np.where(np.isnan(arr), np.float32(0.0), arr)
        arr = np.where(np.isposinf(arr), np.float32(top), arr)
        arr = np.where(np.isneginf(arr), np.float32(bottom), arr)
        if notes is not None:
            notes.append(f"{bad} pixel(s) were NaN or infinite and were replaced")
    if float(arr.max(initial=0.0)) <= 1.0:
        arr = arr * np.float32(65535.0)
    return np.clip(np.rint(arr), 0, 65535).astype(np.uint16)


def _pixels_from_pil(im, notes: list[str] | None = None) -> tuple[np.ndarray, np.ndarray | None, bytes | None]:
    """Pillow image -> (pixels HxWxC, alpha HxW or None, icc bytes or None)."""
    mode = im.mode
    icc = im.info.get("icc_profile") or None
    transparency = im.info.get("transparency")

    if mode in ("I;16", "I;16L", "I;16B", "I;16N", "I", "F"):
        arr = np.asarray(im)
        if mode == "F":
            gray = _float_to_uint16(arr, notes)
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


def _flatten_on_white(pixels: np.ndarray, alpha: np.ndarray, band: int = 256) -> np.ndarray:
    """8-bit pixels composited over white by 8-bit alpha, ``band`` rows at a time (no
    whole-image float copies of a big output)."""
    out = np.empty(pixels.shape, dtype=np.uint8)
    for r0 in range(0, pixels.shape[0], band):
        a = alpha[r0:r0 + band].astype(np.float32)[:, :, None] / 255.0
        p = pixels[r0:r0 + band].astype(np.float32)
        out[r0:r0 + band] = np.clip(np.rint(p * a + 255.0 * (1.0 - a)), 0, 255)
    return out


def _to_pil(photo: Photo, fmt: str):
    pixels, alpha = photo.pixels, photo.alpha
    gray = pixels.shape[2] == 1
    keep16 = photo.bit_depth == 16 and gray and alpha is None and fmt in ("PNG", "TIFF")
    if keep16:
        return Image.fromarray(np.ascontiguousarray(pixels[:, :, 0].astype(np.uint16)))
    pixels = _to8(pixels)
    alpha = _to8(alpha) if alpha is not None else None
    if fmt == "JPEG" and alpha is not None:  # JPEG has no alpha: flatten on white
        pixels = _flatten_on_white(pixels, alpha)
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
    """Write ``photo`` to ``path`` atomically (temporary file + verify + rename); returns the path.

    The format comes from ``format`` ("png", "jpeg", "webp", "tiff") or the file extension.
    Alpha, ICC profile and EXIF (orientation 1) are kept as far as the format allows; see the
    module notes. ``quality`` (1..100) applies to JPEG and WebP. The file is encoded in memory,
    written, and checked (size, re-opened with Pillow) before it replaces ``path``; on any
    failure ``path`` is untouched and no temporary file is left.
    """
    path = Path(path)
    fmt = save_format(path, format)
    data = encode_image(photo, fmt, quality, name=path.name)
    size = (photo.width, photo.height)
    try:
        write_bytes_atomic(path, data, verify=lambda tmp: verify_image_file(tmp, fmt, size, name=path.name))
    except ImageError:
        raise
    except OSError as exc:
        raise ImageError(f"{path.name}: could not be written ({_write_reason(exc)})") from None
    return path


def _write_reason(exc: OSError) -> str:
    if exc.errno == errno.ENOSPC:
        return "no space left on the disk; nothing was saved"
    if exc.errno == errno.EROFS:
        return "the folder is on a read-only disk"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "permission denied"
    return exc.strerror or _reason(exc)


def encode_image(photo: Photo, format: str, quality: int = 95, name: str = "image") -> bytes:
    """``photo`` encoded as ``format`` (a Pillow format name or alias) in memory, with its ICC,
    EXIF and alpha as :func:`save_image` keeps them."""
    fmt = save_format(name, format)
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
    buf = io.BytesIO()
    try:
        with _quiet(capture_fd=fmt == "TIFF") as noise:
            try:
                im.save(buf, format=fmt, **kwargs)
            except MemoryError:
                raise ImageError(f"{name}: not enough memory to encode the image as {fmt}") from None
            except Exception as exc:  # encoders raise OSError, ValueError, TypeError, struct.error, ...
                raise ImageError(f"{name}: could not be saved as {fmt} ({noise.reason() or _reason(exc, noise)})") from None
    finally:
        im.close()
    return buf.getvalue()


def verify_image_file(path: str | os.PathLike, format: str, size: tuple[int, int], name: str | None = None) -> None:
    """Re-open a file just written and check it is a complete ``format`` image of ``size``
    (``(width, height)``); raises :class:`ImageError` otherwise. PNG: every chunk's checksum;
    JPEG: a reduced decode of all the data; other formats: a full decode."""
    path = Path(path)
    name = name or path.name
    with _quiet(capture_fd=format == "TIFF") as noise:
        previous = Image.MAX_IMAGE_PIXELS
        Image.MAX_IMAGE_PIXELS = None  # our own output: no bomb check (under _IO_LOCK)
        try:
            with open(path, "rb") as fh, Image.open(fh) as im:
                if im.format != format or im.size != tuple(size):
                    raise ValueError(f"it reads back as {im.format} {im.size[0]}x{im.size[1]}")
                if format == "PNG":
                    im.verify()
                else:
                    if format == "JPEG":
                        im.draft(im.mode, (max(1, size[0] // 8), max(1, size[1] // 8)))
                    im.load()
        except ImageError:
            raise
        except Exception as exc:
            raise ImageError(f"{name}: the written file does not read back ({noise.reason() or _reason(exc, noise)}); nothing was saved") from None
        finally:
            Image.MAX_IMAGE_PIXELS = previous


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
