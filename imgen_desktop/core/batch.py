"""Batches that survive a crash, and the names of their outputs.

* :class:`BatchManifest` is a small JSON file kept in the data root, keyed by the batch's output
  folder (``$IMGEN_HOME/batches/<hash of the folder>.json``, so output folders get nothing but
  photos): the inputs, the model file, the options and the state of every file. It is rewritten
  atomically after every file, so after the app or the machine dies the same batch (same
  inputs, model and options into the same folder) continues where it stopped: files marked done
  whose output still opens are skipped, the others run.
* :func:`render_name` turns a naming template (``{name}_{model}{ext}``; fields ``{name}``,
  ``{model}``, ``{task}``, ``{scale}``, ``{date}``, ``{ext}``) into a file name;
  :func:`validate_template` refuses unknown fields and characters no file system allows, in one
  sentence.
* :func:`find_unfinished` looks through the recent manifests, so the app can offer "Continue the
  unfinished batch" when the same photos are opened again, whether the batch was started from
  the app or from ``imgen enhance``.
* Per-photo inpaint masks: ``photo.jpg`` takes its mask from ``photo.mask.png`` beside it
  (``<stem>.mask.png``; white = the area to fill). :func:`mask_for` finds it;
  :func:`is_mask_file` tells a mask (a ``<stem>.mask.*`` with its photo beside it) from a photo,
  so masks are never enhanced as photos of a batch.
"""
from __future__ import annotations

import datetime
import glob
import hashlib
import json
import re
import string
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterable

from imgen_desktop.core.atomic import write_text_atomic
from imgen_desktop.core.errors import ImgenError

BATCHES_DIR = "batches"
INDEX_SIZE = 20  # find_unfinished looks at this many recent batches
VERSION = 1
WAITING, DONE, SKIPPED, FAILED = "waiting", "done", "skipped", "failed"

# --- naming templates -----------------------------------------------------------------------

TEMPLATE_FIELDS = ("name", "model", "task", "scale", "date", "ext")
DEFAULT_TEMPLATE = "{name}_{task}{ext}"
_ILLEGAL = set('<>:"/\\|?*')
_SAFE = re.compile(r"[^\w.\-+() ]+", re.UNICODE)


def validate_template(template: str) -> str:
    """The template stripped, or ImgenError naming what is wrong with it."""
    t = str(template or "").strip()
    if not t:
        raise ImgenError("the name template is empty: use e.g. {name}_{model}{ext}")
    try:
        parsed = list(string.Formatter().parse(t))
    except ValueError:
        raise ImgenError(f"the name template {t!r} has an unmatched brace: fields look like {{name}}") from None
    literal = ""
    fields: list[str] = []
    for text, fname, spec, conv in parsed:
        literal += text
        if fname is None:
            continue
        if fname not in TEMPLATE_FIELDS or spec or conv:
            raise ImgenError(f"unknown field {{{fname}}} in the name template; use "
                             + ", ".join("{" + f + "}" for f in TEMPLATE_FIELDS))
        fields.append(fname)
    bad = sorted({c for c in literal if c in _ILLEGAL or ord(c) < 32})
    if bad:
        shown = " ".join(repr(c) for c in bad)
        raise ImgenError(f"the name template contains characters a file name cannot have: {shown}")
    if "name" not in fields:
        raise ImgenError("the name template needs {name}, so every photo gets its own file")
    if literal.strip(". ") == "" and set(fields) <= {"name", "ext"}:
        raise ImgenError("the name template would give the photo its own name: add e.g. _{model} or _{task}")
    return t


def _safe(text: str) -> str:
    return _SAFE.sub("-", str(text)).strip(" .-") or "model"


def render_name(template: str | None, src: Path, *, task_tag: str, model: str, scale: int, ext: str,
                when: datetime.date | None = None) -> str:
    """``photo.jpg`` + ``{name}_{model}{ext}`` -> ``photo_upscale-x2.jpg``. ``ext`` has its dot."""
    t = validate_template(template or DEFAULT_TEMPLATE)
    when = when or datetime.date.today()
    name = t.format(name=src.stem, model=_safe(Path(model).stem if model.endswith(".safetensors") else
                                              model.removeprefix("builtin:")),
                    task=task_tag, scale=f"x{int(scale)}", date=when.isoformat(), ext=ext)
    if not name.lower().endswith(ext.lower()):
        name += ext  # the format decides the extension, whatever the template says
    return name


# --- per-photo masks ------------------------------------------------------------------------

MASK_TAG = ".mask"  # photo.jpg -> photo.mask.png
MASK_EXTENSIONS = (".png", ".webp", ".tif", ".tiff", ".bmp", ".jpg", ".jpeg")  # .png first: the documented one


def mask_name(photo: str | Path) -> str:
    """``photo.jpg`` -> ``photo.mask.png``: the name of its mask file."""
    return f"{Path(photo).stem}{MASK_TAG}.png"


def mask_for(photo: str | Path) -> Path | None:
    """The mask file beside ``photo`` (``<stem>.mask.png``, or the same name with another image
    extension), or None."""
    photo = Path(photo)
    for ext in MASK_EXTENSIONS:
        for cand in (photo.with_name(f"{photo.stem}{MASK_TAG}{ext}"), photo.with_name(f"{photo.stem}{MASK_TAG}{ext.upper()}")):
            if cand.is_file() and cand != photo:
                return cand
    return None


def is_mask_file(path: str | Path) -> bool:
    """True for ``a.mask.png`` when a photo ``a.*`` (not itself a mask) lies beside it: a mask,
    never a photo of a batch. A ``*.mask.*`` file alone is an ordinary photo."""
    from imgen_desktop.core.imageio import IMAGE_EXTENSIONS

    path = Path(path)
    if not path.stem.lower().endswith(MASK_TAG) or path.suffix.lower() not in IMAGE_EXTENSIONS:
        return False
    base = path.stem[: -len(MASK_TAG)]
    if not base:
        return False
    try:
        siblings = list(path.parent.glob(glob.escape(base) + ".*"))
    except OSError:
        return False
    return any(s.stem == base and s.suffix.lower() in IMAGE_EXTENSIONS and s.is_file() for s in siblings)


# --- the manifest ---------------------------------------------------------------------------

@dataclass
class FileEntry:
    input: str
    output: str
    status: str = WAITING
    error: str = ""
    seconds: float = 0.0


@dataclass
class BatchCounts:
    done: int
    left: int
    failed: int

    @property
    def total(self) -> int:
        return self.done + self.left + self.failed

    def text(self) -> str:
        return f"{self.done} done, {self.left} left, {self.failed} failed"


@dataclass
class BatchManifest:
    out_dir: str
    model: str
    inputs: list[str]
    options: dict[str, Any]
    files: list[FileEntry] = field(default_factory=list)
    created: float = 0.0
    updated: float = 0.0
    version: int = VERSION

    # --- identity ---
    def same_batch(self, inputs: Iterable[str | Path], model: str, options: dict[str, Any]) -> bool:
        return (self.model == model and self.inputs == _norm_inputs(inputs) and self.options == options)

    def entry(self, src: str | Path) -> FileEntry | None:
        key = str(resolved_path(src))
        return next((e for e in self.files if e.input == key), None)

    def is_done(self, src: str | Path) -> bool:
        e = self.entry(src)
        return e is not None and e.status in (DONE, SKIPPED)

    def counts(self, check_outputs: bool = False) -> BatchCounts:
        """Done (and, with ``check_outputs``, still there), left (waiting, or done whose output
        is gone), failed."""
        done = failed = 0
        for e in self.files:
            if e.status in (DONE, SKIPPED) and (not check_outputs or Path(e.output).is_file()):
                done += 1
            elif e.status == FAILED:
                failed += 1
        return BatchCounts(done, len(self.files) - done - failed, failed)

    def unfinished(self) -> bool:
        c = self.counts(check_outputs=True)
        return c.left > 0 or c.failed > 0

    # --- updates ---
    def set_state(self, src: str | Path, status: str, output: str = "", error: str = "", seconds: float = 0.0) -> None:
        e = self.entry(src)
        if e is None:
            return
        e.status, e.error, e.seconds = status, error, float(seconds)
        if output:
            e.output = str(output)
        self.save()

    def save(self) -> bool:
        """Write it (atomically); False when the data root cannot take it (a full or read-only
        disk): the batch goes on, it only cannot be resumed from where it stopped."""
        self.updated = time.time()
        data = asdict(self)
        try:
            write_text_atomic(manifest_path(self.out_dir), json.dumps(data, indent=1))
        except OSError:
            return False
        return True


def resolved_path(p: str | Path) -> Path:
    """The resolved path; a link loop or an unreadable link keeps the absolute path."""
    try:
        return Path(p).expanduser().resolve()
    except (OSError, RuntimeError):  # RuntimeError: a link loop (Python < 3.13)
        return Path(p).expanduser().absolute()


def _norm_inputs(inputs: Iterable[str | Path]) -> list[str]:
    return [str(resolved_path(p)) for p in inputs]


def _key(out_dir: str | Path) -> str:
    folder = resolved_path(out_dir)
    return str(folder)


def manifest_path(out_dir: str | Path) -> Path:
    """Where the manifest of the batch into ``out_dir`` lives (in the data root)."""
    from imgen_desktop.core.paths import data_root

    digest = hashlib.sha1(_key(out_dir).encode("utf-8")).hexdigest()[:20]
    return data_root() / BATCHES_DIR / f"{digest}.json"


def load_manifest(out_dir: str | Path) -> BatchManifest | None:
    """The manifest of the batch into ``out_dir``, or None (none there, or unreadable)."""
    return _read(manifest_path(out_dir))


def _read(path: Path) -> BatchManifest | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        files = [FileEntry(**f) for f in data.pop("files", [])]
        m = BatchManifest(**{k: v for k, v in data.items() if k in BatchManifest.__dataclass_fields__})
        m.files = files
        return m if m.version == VERSION else None
    except (OSError, ValueError, TypeError):
        return None


def new_manifest(out_dir: str | Path, model: str, inputs: Iterable[str | Path], options: dict[str, Any],
                 pairs: Iterable[tuple[Path, Path]]) -> BatchManifest:
    now = time.time()
    m = BatchManifest(_key(out_dir), model, _norm_inputs(inputs), dict(options),
                      [FileEntry(str(resolved_path(s)), str(t)) for s, t in pairs], now, now)
    return m


# --- recent batches (data root) ------------------------------------------------------------

def recent_batches() -> list[str]:
    """Output folders of the most recent batches, newest first."""
    from imgen_desktop.core.paths import data_root

    folder = data_root() / BATCHES_DIR
    try:
        files = sorted(folder.glob("*.json"), key=lambda p: p.stat().st_mtime, reverse=True)[:INDEX_SIZE]
    except OSError:
        return []
    out = []
    for path in files:
        m = _read(path)
        if m is not None:
            out.append(m.out_dir)
    return out


def find_unfinished(paths: Iterable[str | Path]) -> BatchManifest | None:
    """The most recent unfinished batch whose input files are exactly ``paths`` (any order)."""
    wanted = sorted(_norm_inputs(paths))
    if not wanted:
        return None
    for folder in recent_batches():
        m = load_manifest(folder)
        if m is not None and sorted(e.input for e in m.files) == wanted and m.unfinished():
            return m
    return None
