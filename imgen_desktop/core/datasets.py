"""Training datasets: a folder of pictures or a built-in set, cached in memory as uint8.

* ``FOLDER`` — every image the image I/O reads, recursively; unreadable files are skipped,
  counted and logged.
* ``builtin:digits`` (UCI 8x8 handwritten digits), ``builtin:faces`` (25x25 LFW crops),
  ``builtin:photos`` (the photos shipped in ``resources/photos``; random patches).

Policies:

* task ``generate`` — each picture is resized so its shorter side is ``image_size`` and centre
  cropped (``builtin:photos``: random ``image_size`` patches of the photos downscaled to a
  shorter side of ``4 * image_size``);
* enhancement tasks — random clean ``image_size`` crops of the full-size pictures (pictures
  smaller than the crop are upscaled first);
* horizontal flips at random (not for ``builtin:digits``; ``config.extra["flip"]`` overrides); channels from the data (1 if every picture is grayscale, else 3),
  overridable with ``config.channels``.

:class:`ImageDataset` yields batches in [-1, 1], NCHW, on the training device.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from imgen_desktop.core.errors import DatasetError

BUILTINS = ("digits", "faces", "photos")
NO_FLIP = ("builtin:digits",)  # datasets whose pictures must not be mirrored
_FALLBACK_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm", ".pbm", ".tga")
MAX_SIDE = 4096  # enhancement crops come from pictures downscaled to at most this side
MAX_ASPECT = 32  # pictures longer than this many times their width (or height) are skipped
DESCRIBE_DECODED = 64  # describe(): files decoded as thumbnails; the rest are read from headers
CACHE_BUDGET_BYTES = 2 * 2**30  # the in-memory cache of a folder dataset stays under this

LogFn = Callable[[str], None]


@dataclass
class DatasetInfo:
    """What the training panel shows about a dataset before training."""

    name: str
    count: int
    channels: int
    skipped: int = 0
    thumbnails: list[np.ndarray] = field(default_factory=list)  # uint8 HxWxC
    skipped_files: list[str] = field(default_factory=list)  # the first few, for the log


# --- reading pictures --------------------------------------------------------------------

def _find_images(folder: Path) -> list[Path]:
    try:
        from imgen_desktop.core.imageio import find_images
    except ImportError:
        return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in _FALLBACK_EXTENSIONS)
    return list(find_images(folder, recursive=True))


def _to_uint8_hwc(arr: np.ndarray) -> np.ndarray:
    if arr.ndim == 2:
        arr = arr[:, :, None]
    if arr.dtype == np.uint16:
        arr = (arr >> 8).astype(np.uint8)
    elif arr.dtype != np.uint8:
        arr = np.clip(arr, 0, 255).astype(np.uint8)
    if arr.shape[2] == 2:  # gray + alpha
        arr = arr[:, :, :1]
    elif arr.shape[2] == 4:
        arr = arr[:, :, :3]
    return np.ascontiguousarray(arr)


def load_picture(path: Path) -> np.ndarray:
    """One picture as uint8 HxWxC (C = 1 or 3); raises on anything unreadable."""
    try:
        from imgen_desktop.core.imageio import load_image
    except ImportError:
        load_image = None
    if load_image is not None:
        return _to_uint8_hwc(np.asarray(load_image(path).pixels))
    from PIL import Image, ImageOps

    with Image.open(path) as im:
        im = ImageOps.exif_transpose(im)
        if im.mode.startswith("I;16"):
            return _to_uint8_hwc(np.asarray(im).astype(np.uint16))
        if im.mode in ("1", "L", "LA", "I", "F"):
            im = im.convert("L")
        elif im.mode != "RGB":
            im = im.convert("RGB")
        return _to_uint8_hwc(np.asarray(im))


def _is_gray(img: np.ndarray) -> bool:
    if img.shape[2] == 1:
        return True
    step = max(1, max(img.shape[:2]) // 64)  # a subsample is enough to tell
    sub = img[::step, ::step]
    return bool((sub[..., 0] == sub[..., 1]).all() and (sub[..., 1] == sub[..., 2]).all())


def _builtin_arrays(name: str) -> list[np.ndarray]:
    from imgen_desktop.core.paths import resource_path

    if name in ("digits", "faces"):
        path = resource_path("data", f"{name}.npz")
        if not path.is_file():
            raise DatasetError(f"the built-in dataset {name!r} is missing from this installation ({path})")
        with np.load(path) as data:
            images = data["images"]
        return [img[:, :, None] for img in images]
    if name == "photos":
        folder = resource_path("photos")
        files = sorted(p for p in folder.glob("*") if p.is_file() and p.suffix.lower() in _FALLBACK_EXTENSIONS)
        if not files:
            raise DatasetError(f"the built-in photos are missing from this installation ({folder})")
        return [load_picture(p) for p in files]
    raise DatasetError(f"unknown built-in dataset 'builtin:{name}'; choose one of " + ", ".join(f"builtin:{b}" for b in BUILTINS))


def _limit_pixels(img: np.ndarray, max_pixels: int | None) -> np.ndarray:
    h, w = img.shape[:2]
    if not max_pixels or h * w <= max_pixels:
        return img
    scale = (max_pixels / (h * w)) ** 0.5
    return _resize(img, max(1, round(w * scale)), max(1, round(h * scale)))


def _read_source(spec: str, log: LogFn | None = None, min_side: int = 0, tight: bool = False) -> tuple[str, list[np.ndarray], list[str], list[str]]:
    """``(display name, pictures, skipped file names, picture ids)``.

    A picture's id names it for the validation split: its path relative to the folder
    (``"a/b.png"``), or ``"#12"`` for the 13th picture of a built-in set.

    With ``min_side`` > 0, big folder pictures are downscaled while reading so the whole set
    fits :data:`CACHE_BUDGET_BYTES` (never below about ``min_side`` on the shorter side);
    ``tight``: downscale every picture to about ``min_side`` at once (generation keeps no more).
    """
    spec = (spec or "").strip()
    if not spec:
        raise DatasetError("no dataset given: choose a folder of pictures or builtin:digits / builtin:faces / builtin:photos")
    if spec.startswith("builtin:"):
        name = spec.split(":", 1)[1].strip().lower()
        arrays = _builtin_arrays(name)
        return spec, arrays, [], [f"#{i}" for i in range(len(arrays))]
    folder, files = _folder_files(spec)
    max_pixels = None
    if min_side and files:
        floor = 4 * min_side * min_side
        max_pixels = floor if tight else max(CACHE_BUDGET_BYTES // (3 * len(files)), floor)
    pictures, skipped, ids = [], [], []
    for path in files:
        try:
            img = load_picture(path)
            if img.shape[0] < 1 or img.shape[1] < 1:
                raise ValueError("empty picture")
            _check_shape(img.shape[1], img.shape[0], path)
            pictures.append(_limit_pixels(img, max_pixels))
            ids.append(_picture_id(folder, path))
        except Exception as exc:  # noqa: BLE001 - any decoder error means "skip this file"
            skipped.append(_skip_text(path, exc))
    if skipped and log is not None:
        shown = "; ".join(skipped[:5]) + (f"; and {len(skipped) - 5} more" if len(skipped) > 5 else "")
        log(f"skipped {len(skipped)} file(s) in {folder} that cannot be used: {shown}")
    if not pictures:
        _raise_nothing_usable(folder, skipped)
    return str(folder), pictures, skipped, ids


def _picture_id(folder: Path, path: Path) -> str:
    try:
        return path.relative_to(folder).as_posix()
    except ValueError:
        return path.name


def _folder_files(spec: str) -> tuple[Path, list[Path]]:
    folder = Path(spec).expanduser()
    if not folder.exists():
        raise DatasetError(f"dataset folder not found: {folder}")
    if not folder.is_dir():
        raise DatasetError(f"the dataset must be a folder of pictures, not a file: {folder}")
    return folder, _find_images(folder)


def _raise_nothing_usable(folder: Path, skipped: list[str]) -> None:
    if skipped:
        raise DatasetError(f"none of the {len(skipped)} picture file(s) in {folder} could be used (e.g. {skipped[0]})")
    raise DatasetError(f"no pictures found in {folder} (looked for {', '.join(_FALLBACK_EXTENSIONS[:6])}, ...)")


class _TooThin(ValueError):
    pass


def _check_shape(width: int, height: int, path: Path) -> None:
    """Refuse pictures too thin to give training crops (a 300x3 strip): they are skipped."""
    if max(width, height) > MAX_ASPECT * min(width, height):
        raise _TooThin(f"too thin for training ({width}x{height}; at most {MAX_ASPECT}:1)")


def _skip_text(path: Path, exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if text.startswith(f"{path.name}: "):  # image errors name the file already
        text = text[len(path.name) + 2 :]
    return f"{path.name} ({text[:100]})"


def _convert_channels(img: np.ndarray, channels: int) -> np.ndarray:
    if img.shape[2] == channels:
        return img
    if channels == 1:
        lum = img[..., 0] * 0.299 + img[..., 1] * 0.587 + img[..., 2] * 0.114
        return np.clip(lum + 0.5, 0, 255).astype(np.uint8)[:, :, None]
    return np.repeat(img, 3, axis=2)


def _resize(img: np.ndarray, width: int, height: int) -> np.ndarray:
    from PIL import Image

    if img.shape[1] == width and img.shape[0] == height:
        return img
    mode_img = Image.fromarray(img[:, :, 0] if img.shape[2] == 1 else img)
    out = np.asarray(mode_img.resize((width, height), Image.Resampling.BICUBIC, reducing_gap=3.0 if width < img.shape[1] else None))
    return _to_uint8_hwc(out)


def _resize_shorter(img: np.ndarray, side: int, only_down: bool = False, only_up: bool = False) -> np.ndarray:
    h, w = img.shape[:2]
    short = min(h, w)
    if short == side or (only_down and short < side) or (only_up and short > side):
        return img
    scale = side / short
    return _resize(img, max(side, round(w * scale)), max(side, round(h * scale)))


def _fit_for_patches(img: np.ndarray, size: int) -> np.ndarray:
    """Enhancement crops: upscale pictures smaller than a crop, downscale those longer than
    MAX_SIDE, but never make the shorter side smaller than the crop (a wide panorama used to end
    up thinner than its crops)."""
    img = _resize_shorter(img, size, only_up=True)
    h, w = img.shape[:2]
    if max(h, w) > MAX_SIDE:
        scale = max(MAX_SIDE / max(h, w), size / min(h, w))
        if scale < 1:
            img = _resize(img, max(size, round(w * scale)), max(size, round(h * scale)))
    return img


def _center_crop(img: np.ndarray, size: int) -> np.ndarray:
    h, w = img.shape[:2]
    top, left = (h - size) // 2, (w - size) // 2
    return img[top : top + size, left : left + size]


def _thumbnail(img: np.ndarray, size: int = 64) -> np.ndarray:
    h, w = img.shape[:2]
    scale = size / max(h, w)
    return _resize(img, max(1, round(w * scale)), max(1, round(h * scale)))


def describe(spec: str, max_thumbs: int = 8) -> DatasetInfo:
    """Count, channels, skipped files and a few thumbnails; DatasetError if nothing is usable.

    A folder is described from the files' headers and small thumbnails (JPEGs decoded at 1/8
    scale), one file at a time, so memory stays bounded whatever the photos' size: the first
    :data:`DESCRIBE_DECODED` files are decoded as thumbnails (which also tells gray pictures
    saved as RGB), the others only have their header read. A file that is damaged past its
    header is found by training, which skips it and says so.
    """
    spec = (spec or "").strip()
    if spec.startswith("builtin:"):
        name, pictures, skipped, _ids = _read_source(spec)
        channels = 1 if all(_is_gray(p) for p in pictures) else 3
        thumbs = [_thumbnail(p) for p in pictures[:max_thumbs]]
        return DatasetInfo(name=name, count=len(pictures), channels=channels, skipped=len(skipped), thumbnails=thumbs, skipped_files=skipped[:20])
    from imgen_desktop.core.imageio import load_thumbnail, probe_image

    folder, files = _folder_files(spec)
    count, gray, thumbs, skipped = 0, True, [], []
    for i, path in enumerate(files):
        try:
            header = probe_image(path)
            _check_shape(header.width, header.height, path)
            if i < DESCRIBE_DECODED or len(thumbs) < max_thumbs:
                thumb = load_thumbnail(path, 64)
                gray = gray and _is_gray(thumb)
                if len(thumbs) < max_thumbs:
                    thumbs.append(thumb)
            else:
                gray = gray and header.gray
            count += 1
        except Exception as exc:  # noqa: BLE001 - any reader error means "skip this file"
            skipped.append(_skip_text(path, exc))
    if not count:
        _raise_nothing_usable(folder, skipped)
    return DatasetInfo(name=str(folder), count=count, channels=1 if gray else 3, skipped=len(skipped), thumbnails=thumbs, skipped_files=skipped[:20])


# --- the validation split -----------------------------------------------------------------

SPLIT_FILE = "split.json"  # in the run folder: which pictures a run holds out (kept on resume)
MIN_SPLIT_PICTURES = 4  # with fewer pictures there is no validation split (training keeps them all)


@dataclass
class Split:
    """The pictures held out of training: ``held_out`` ids (see :func:`_read_source`)."""

    share: float
    seed: int
    count: int  # pictures in the dataset when the split was chosen
    held_out: list[str]

    def to_dict(self) -> dict:
        return {"share": self.share, "seed": self.seed, "count": self.count, "held_out": list(self.held_out)}

    @classmethod
    def from_dict(cls, data: dict) -> "Split":
        ids = data.get("held_out")
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            raise ValueError("held_out must be a list of picture ids")
        return cls(float(data.get("share", 0.0)), int(data.get("seed", 0)), int(data.get("count", 0)), ids)


def choose_held_out(ids: list[str], share: float, seed: int) -> list[str] | None:
    """The ids to hold out: ``round(share * N)`` (at least 1) pictures drawn from ``seed``, in
    the data's order; [] for share 0; None when the dataset is too small to spare any."""
    n = len(ids)
    if share <= 0:
        return []
    k = max(1, int(round(n * float(share))))
    if n < MIN_SPLIT_PICTURES or n - k < 1:
        return None
    rng = np.random.default_rng([int(seed) & 0xFFFFFFFF, int(seed) >> 32, 0x5A17])  # independent of the training RNG
    picked = np.sort(rng.permutation(n)[:k])
    return [ids[int(i)] for i in picked]


def plan_split(ids: list[str], share: float, seed: int, held_out: list[str] | None = None,
               log: LogFn | None = None) -> Split | None:
    """The split a run uses: the recorded one (``held_out``, on resume) or a new one; None = no split."""
    if held_out is not None:  # resumed: the same pictures stay out; pictures added since train
        known = set(ids)
        kept = [i for i in held_out if i in known]
        if len(kept) < len(held_out) and log is not None:
            log(f"{len(held_out) - len(kept)} of the run's {len(held_out)} validation picture(s) are no longer in the dataset")
        if not kept or len(kept) >= len(ids):
            if log is not None:
                log("validation is off for this run: none of its held-out pictures can be used")
            return None
        return Split(float(share), int(seed), len(ids), kept)
    chosen = choose_held_out(ids, share, seed)
    if chosen is None:
        if log is not None:
            log(f"validation is off: the dataset has only {len(ids)} picture(s); holding {share:.0%} out "
                f"needs at least {MIN_SPLIT_PICTURES} and leaves training at least one")
        return None
    if not chosen:
        return None
    return Split(float(share), int(seed), len(ids), chosen)


def save_split(folder: Path, split: Split | None) -> None:
    """Record a run's split in its folder (atomically); no split: the file is removed."""
    import json

    from imgen_desktop.core.atomic import write_text_atomic

    path = Path(folder) / SPLIT_FILE
    if split is None:
        path.unlink(missing_ok=True)
        return
    write_text_atomic(path, json.dumps(split.to_dict(), indent=1))


def load_split(folder: Path) -> Split | None:
    """The split recorded in a run folder; None when there is none; DatasetError when it is damaged."""
    import json

    path = Path(folder) / SPLIT_FILE
    if not path.is_file():
        return None
    try:
        return Split.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, UnicodeDecodeError, ValueError, TypeError, AttributeError) as exc:
        raise DatasetError(f"the run's {SPLIT_FILE} is damaged ({type(exc).__name__}); delete {path} to choose a new split") from None


# --- the training dataset ----------------------------------------------------------------

class ImageDataset:
    """An in-memory dataset that yields ``[-1, 1]`` NCHW float batches on ``device``.

    ``mode`` is "fixed" (every picture resized and centre-cropped once; the cache is one uint8
    tensor) or "patches" (random ``image_size`` crops of the larger pictures at each batch).
    """

    def __init__(self, spec: str, image_size: int, task: str = "generate", channels: int = 0, log: LogFn | None = None,
                 val_split: float = 0.0, seed: int = 0, held_out: list[str] | None = None) -> None:
        """``val_split`` > 0 holds that share of the pictures out of training (chosen from ``seed``;
        ``held_out``: the ids a resumed run recorded) into :attr:`validation`."""
        self.spec = spec
        self.image_size = int(image_size)
        self.task = task
        # generate: no need to keep more than 4x the training size; enhancement: a memory budget
        generate = task == "generate"
        self.name, pictures, skipped, ids = _read_source(spec, log, min_side=(2 if generate else 1) * self.image_size, tight=generate)
        self.skipped = len(skipped)
        data_channels = 1 if all(_is_gray(p) for p in pictures) else 3
        self.data_channels = data_channels
        self.channels = int(channels) if channels in (1, 3) else data_channels
        # handwriting is not mirror-symmetric: no random flips for the digits
        self.flip = self.spec.strip().lower() not in NO_FLIP
        self.split = plan_split(ids, val_split, seed, held_out, log)
        self.validation: ImageDataset | None = None
        if self.split is not None:
            held = set(self.split.held_out)
            val = [p for i, p in zip(ids, pictures) if i in held]
            pictures = [p for i, p in zip(ids, pictures) if i not in held]
            self.validation = self._sibling(val)
        self._setup(pictures)

    def _sibling(self, pictures: list[np.ndarray]) -> "ImageDataset":
        """A dataset of other pictures prepared the same way (the held-out validation pictures)."""
        other = object.__new__(ImageDataset)
        other.spec, other.image_size, other.task, other.name = self.spec, self.image_size, self.task, self.name
        other.skipped, other.data_channels, other.channels, other.flip = 0, self.data_channels, self.channels, self.flip
        other.split, other.validation = None, None
        other._setup(pictures)
        return other

    def _setup(self, pictures: list[np.ndarray]) -> None:
        import torch

        self.count = len(pictures)
        pictures = [_convert_channels(p, self.channels) for p in pictures]
        size = self.image_size
        task, spec = self.task, self.spec
        patches = task != "generate" or spec.strip().lower() == "builtin:photos"
        self.mode = "patches" if patches else "fixed"
        if patches:
            if task == "generate":  # builtin:photos for generation: patches of a coarser view
                pictures = [_resize_shorter(p, 4 * size) for p in pictures]
            else:
                pictures = [_fit_for_patches(p, size) for p in pictures]
            self._pictures = [torch.from_numpy(np.array(p.transpose(2, 0, 1), order="C")) for p in pictures]
            areas = np.array([p.shape[1] * p.shape[2] for p in self._pictures], dtype=np.float64)
            # bigger pictures give more distinct patches: pick pictures in proportion to sqrt(area)
            weights = np.sqrt(areas)
            self._weights = torch.from_numpy(weights / weights.sum())
            self._cache = None
        else:
            fixed = [_center_crop(_resize_shorter(p, size), size) for p in pictures]
            arr = np.stack([f.transpose(2, 0, 1) for f in fixed])  # N, C, S, S uint8
            self._cache = torch.from_numpy(np.ascontiguousarray(arr))
            self._pictures = None
        self._perm = None
        self._pos = 0
        self._shard = None  # (rank, world_size, generator) under torchrun: see shard()

    def __len__(self) -> int:
        return self.count

    # --- batches --------------------------------------------------------------------------
    def shard(self, rank: int, world_size: int, seed: int) -> None:
        """Distributed sampling (torchrun): whole-picture ("fixed") datasets draw one permutation
        per epoch from a generator seeded by ``seed`` (the same on every process) and this
        process takes positions ``rank, rank + world_size, …`` of it, all processes the same
        count, so within an epoch the processes' pictures are disjoint. Random crops
        ("patches") keep drawing from the process's own (seed, rank) stream."""
        import torch

        self._shard = (int(rank), int(world_size), torch.Generator().manual_seed(int(seed)))
        self._perm, self._pos = None, 0

    def _new_perm(self):
        import torch

        if self._shard is None:
            return torch.randperm(self.count)
        rank, world, gen = self._shard
        perm = torch.randperm(self.count, generator=gen)
        per = max(1, self.count // world)  # the same on every process: the permutations stay in step
        return perm[(rank + world * torch.arange(per)) % self.count]

    def _indices(self, n: int):
        import torch

        out = []
        while len(out) < n:
            if self._perm is None or self._pos >= len(self._perm):
                self._perm = self._new_perm()
                self._pos = 0
            take = self._perm[self._pos : self._pos + n - len(out)]
            self._pos += len(take)
            out.extend(take.tolist())
        return torch.tensor(out, dtype=torch.long)

    def batch_uint8(self, batch_size: int, flip: bool | None = None):
        """A uint8 (N, C, S, S) CPU batch (random order, random flips / crops)."""
        import torch

        s = self.image_size
        if self._cache is not None:
            batch = self._cache[self._indices(batch_size)]
        else:
            picks = torch.multinomial(self._weights, batch_size, replacement=True).tolist()
            crops = []
            for i in picks:
                pic = self._pictures[i]
                h, w = pic.shape[1:]
                top = int(torch.randint(0, h - s + 1, ()).item())
                left = int(torch.randint(0, w - s + 1, ()).item())
                crops.append(pic[:, top : top + s, left : left + s])
            batch = torch.stack(crops)
        if self.flip if flip is None else flip:
            mask = torch.rand(batch_size) < 0.5
            if mask.any():
                batch = batch.clone()
                batch[mask] = batch[mask].flip(-1)
        return batch

    def to_device(self, batch_u8, device):
        """uint8 CPU batch -> float [-1, 1] on ``device`` (pinned, non-blocking copy on CUDA)."""
        if device.type == "cuda":
            batch_u8 = batch_u8.pin_memory().to(device, non_blocking=True)
        else:
            batch_u8 = batch_u8.to(device)
        return batch_u8.float().div_(127.5).sub_(1.0)

    def batches(self, batch_size: int, device, flip: bool | None = None) -> Iterator:
        """Endless iterator of training batches on ``device``."""
        while True:
            yield self.to_device(self.batch_uint8(batch_size, flip), device)

    def fixed_batch(self, n: int, device, seed: int = 0):
        """A deterministic batch of real pictures (for diagnostics and reconstructions)."""
        import torch

        state = torch.get_rng_state()
        perm, pos, shard = self._perm, self._pos, self._shard
        try:
            torch.manual_seed(seed)
            self._perm, self._pos, self._shard = None, 0, None
            batch = self.batch_uint8(min(n, self.count) if self._cache is not None else n, flip=False)
        finally:
            torch.set_rng_state(state)
            self._perm, self._pos, self._shard = perm, pos, shard
        return self.to_device(batch, device)

    def info(self) -> str:
        what = f"{self.count} picture(s)"
        if self.validation is not None:
            what += f" + {self.validation.count} held out for validation"
        if self.skipped:
            what += f" ({self.skipped} unreadable skipped)"
        kind = "grayscale" if self.channels == 1 else "RGB"
        how = f"random {self.image_size}px patches" if self.mode == "patches" else f"{self.image_size}x{self.image_size}"
        return f"dataset {self.name}: {what}, {kind}, {how}"
