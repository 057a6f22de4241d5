"""Atomic file writes: write to a temporary file in the same folder, verify, fsync, then rename.

Every temporary file is named ``.<target name>.imgen-tmp-XXXXXXXX<suffix>`` (hidden, next to its
target). A write that is interrupted (SIGKILL, power loss) can leave one behind;
:func:`clean_stale_temps` removes such leftovers by that pattern only, and :func:`atomic_path`
calls it once per folder and process the first time it writes into a folder.

A full disk does not always surface as ``ENOSPC``: some writers (torch's zip writer, some
encoders) report it as their own error or swallow it. :func:`atomic_path` checks the written file
(it exists, its size, an optional ``verify``) before the rename, and when the body fails with a
foreign error on a folder with no free space left, it raises ``OSError(ENOSPC)`` instead so the
caller can say "no space left on device".
"""
from __future__ import annotations

import contextlib
import errno
import os
import re
import stat
import tempfile
import threading
import time
from pathlib import Path
from typing import Callable, Iterator

#: The marker in every temporary file name (see the module notes).
TEMP_MARKER = ".imgen-tmp-"
#: Leftover temporary files older than this (seconds since their last write) are stale.
STALE_AFTER_S = 300.0
#: A folder with less free space than this is treated as full when a write fails.
FULL_DISK_BYTES = 256 * 1024

_NAME_ROOM = 120  # characters of the target name kept in a temporary name (a name is at most 255)
_TEMP_RE = re.compile(r"^\..+" + re.escape(TEMP_MARKER) + r"[a-z0-9_]{8}(\.[^./\\]{1,16})?$")
# the pattern of earlier versions: ".<name>.<8 random><suffix>" where <name> ends with <suffix>
_LEGACY_RE = re.compile(r"^\.(?P<name>.+)\.[a-z0-9_]{8}(?P<suffix>\.[^./\\]{1,16})$")

_cleaned: set[str] = set()
_cleaned_lock = threading.Lock()

VerifyFn = Callable[[Path], None]


class WriteVerificationError(OSError):
    """A written file is not what was meant to be written (short, empty or unreadable)."""


def _temp_name_prefix(target: Path) -> str:
    return f".{target.name[:_NAME_ROOM]}{TEMP_MARKER}"


def is_temp_name(name: str, legacy: bool = False) -> bool:
    """True for the names of our temporary files (``legacy``: also the pattern of earlier versions)."""
    if _TEMP_RE.match(name):
        return True
    if legacy:
        m = _LEGACY_RE.match(name)
        return bool(m and m.group("name").endswith(m.group("suffix")) and len(m.group("name")) > len(m.group("suffix")))
    return False


def clean_stale_temps(
    folder: str | os.PathLike, max_age_s: float = STALE_AFTER_S, recursive: bool = False, legacy: bool = False,
) -> list[Path]:
    """Remove leftover temporary files of interrupted atomic writes in ``folder``; returns them.

    Only regular files (not links) whose name matches our temporary-file pattern and that were
    last written more than ``max_age_s`` seconds ago. ``recursive``: also in sub-folders (links
    to folders are not followed). ``legacy``: also the pattern of earlier versions
    (``.<name>.XXXXXXXX<suffix>``) -- use it only in the app's own folders (the data root's
    ``models/`` and ``runs/``). Never raises: what cannot be listed or removed is left alone.
    """
    removed: list[Path] = []
    now = time.time()
    stack = [Path(folder)]
    while stack:
        current = stack.pop()
        try:
            entries = list(os.scandir(current))
        except OSError:
            continue
        for entry in entries:
            try:
                if entry.is_dir(follow_symlinks=False):
                    if recursive:
                        stack.append(Path(entry.path))
                    continue
                if not is_temp_name(entry.name, legacy):
                    continue
                st = entry.stat(follow_symlinks=False)
                if not stat.S_ISREG(st.st_mode) or now - st.st_mtime < max_age_s:
                    continue
                os.unlink(entry.path)
                removed.append(Path(entry.path))
            except OSError:
                continue
    return removed


def clean_data_root(root: str | os.PathLike, max_age_s: float = STALE_AFTER_S) -> list[Path]:
    """At start-up: remove stale temporaries (ours and those of earlier versions) from the data
    root's ``models/`` and ``runs/`` (recursively) -- the app's own folders, nothing else."""
    root = Path(root)
    removed = clean_stale_temps(root / "models", max_age_s, recursive=False, legacy=True)
    removed += clean_stale_temps(root / "runs", max_age_s, recursive=True, legacy=True)
    return removed


def _clean_once(folder: Path) -> None:
    key = os.path.abspath(folder)
    with _cleaned_lock:
        if key in _cleaned:
            return
        _cleaned.add(key)
    clean_stale_temps(folder)


def _free_bytes(folder: Path) -> int | None:
    try:
        st = os.statvfs(folder)
    except (OSError, AttributeError):  # AttributeError: Windows has no statvfs
        try:
            import shutil

            return shutil.disk_usage(folder).free
        except OSError:
            return None
    return st.f_bavail * st.f_frsize


def _fsync_dir(folder: Path) -> None:
    if os.name == "nt":
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_path(
    target: str | os.PathLike, suffix: str | None = None, verify: VerifyFn | None = None, allow_empty: bool = True,
) -> Iterator[Path]:
    """Yield a temporary path next to ``target``; on success it replaces ``target`` atomically.

    After the body: the file is fsynced, must exist (and be non-empty unless ``allow_empty``),
    and ``verify(temporary path)`` (if given) must not raise; only then is it renamed over
    ``target``. On any exception the temporary file is removed and ``target`` is left
    untouched; a foreign error on a full disk becomes ``OSError(ENOSPC)``.
    ``suffix`` defaults to the target's suffix so libraries that pick a format by extension work.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    _clean_once(target.parent)
    fd, tmp = tempfile.mkstemp(
        prefix=_temp_name_prefix(target), suffix=suffix if suffix is not None else target.suffix[:16], dir=target.parent,
    )
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        try:
            fh = open(tmp_path, "rb+")
        except FileNotFoundError:
            raise WriteVerificationError(errno.EIO, "the file was not written", str(target)) from None
        with fh:
            os.fsync(fh.fileno())
            size = os.fstat(fh.fileno()).st_size
        if size == 0 and not allow_empty:
            raise WriteVerificationError(errno.EIO, "the written file is empty", str(target))
        if verify is not None:
            verify(tmp_path)
        # mkstemp makes the file private (0600); give it the mode a plain open() would have
        # (or keep the mode of the file it replaces)
        try:
            mode = target.stat().st_mode & 0o7777
        except FileNotFoundError:
            mode = 0o666 & ~_umask()
        os.chmod(tmp_path, mode)
        os.replace(tmp_path, target)
        _fsync_dir(target.parent)
    except BaseException as exc:
        full = isinstance(exc, WriteVerificationError) or (isinstance(exc, Exception) and not isinstance(exc, OSError))
        if full:
            free = _free_bytes(target.parent)
            full = free is not None and free < FULL_DISK_BYTES
        with contextlib.suppress(OSError):
            tmp_path.unlink()
        if full:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(target)) from exc
        raise


def _umask() -> int:
    try:  # Linux: read it without changing it (os.umask is process-wide, not thread-safe)
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    current = os.umask(0o022)
    os.umask(current)
    return current


def _write_all(fd: int, data: bytes | memoryview) -> int:
    """``os.write`` until everything is written (a short write is retried, never ignored)."""
    view = memoryview(data)
    written = 0
    while written < len(view):
        n = os.write(fd, view[written : written + (1 << 24)])
        if n <= 0:
            raise OSError(errno.EIO, "the file system accepted no more data")
        written += n
    return written


def write_bytes_atomic(target: str | os.PathLike, data: bytes, verify: VerifyFn | None = None) -> None:
    """Write ``data`` to ``target`` atomically; the file's size is checked against ``len(data)``
    and ``verify(temporary path)`` runs before the rename."""
    data = bytes(data) if not isinstance(data, (bytes, bytearray, memoryview)) else data
    expected = len(data)

    def check(tmp: Path) -> None:
        size = tmp.stat().st_size
        if size != expected:
            raise WriteVerificationError(errno.EIO, f"{size} of {expected} bytes reached the disk", str(target))
        if verify is not None:
            verify(tmp)

    with atomic_path(target, verify=check) as tmp:
        fd = os.open(tmp, os.O_WRONLY | os.O_TRUNC | getattr(os, "O_BINARY", 0))
        try:
            _write_all(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)


def write_text_atomic(target: str | os.PathLike, text: str) -> None:
    write_bytes_atomic(target, text.encode("utf-8"))
