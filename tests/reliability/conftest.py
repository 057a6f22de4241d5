"""Shared fixtures of the reliability suite: the CLI in a child process under a memory cap,
the generated image corpus, small or read-only file systems, and hypothesis profiles.

Profiles: ``ci`` (default: about 100 examples per property, a deadline) and ``fuzz`` (many more;
``make fuzz`` or ``HYPOTHESIS_PROFILE=fuzz``).
"""
from __future__ import annotations

import os
import re
import resource
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(Path(__file__).resolve().parent))  # imgcorpus

try:
    from hypothesis import HealthCheck, settings

    settings.register_profile(
        "ci", max_examples=100, deadline=3000, database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    settings.register_profile(
        "fuzz", max_examples=5000, deadline=10000, database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
except ImportError:  # the fuzz tests skip themselves
    pass

#: Address-space cap for a CLI child: torch's CPU runtime needs about 0.8 GB of address space;
#: anything that tried to decode a bomb or allocate a huge buffer would hit this cap.
CHILD_AS_BYTES = 3 * 2**30
TRACEBACK = re.compile(r"Traceback|^\s+File \"|Error:|Warning:", re.M)


@dataclass
class Run:
    rc: int
    out: str
    err: str
    seconds: float

    @property
    def err_lines(self) -> list[str]:
        return [line for line in self.err.splitlines() if line.strip()]


def imgen_env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "HYPOTHESIS"))}
    env.update(PYTHONPATH=str(REPO), IMGEN_HOME=str(home), PYTHONUNBUFFERED="1", **extra)
    return env


def _limit_memory(limit: int | None):
    def apply() -> None:
        if limit:
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    return apply


def run_imgen(args: list[str], home: Path, timeout: float = 240, limit_as: int | None = CHILD_AS_BYTES,
              cwd: Path | None = None, **env: str) -> Run:
    """``imgen ARGS`` in a child process (``python -m imgen_desktop.cli``) under an address-space cap."""
    start = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "imgen_desktop.cli", *map(str, args)], capture_output=True, text=True,
        env=imgen_env(home, **env), timeout=timeout, preexec_fn=_limit_memory(limit_as), cwd=cwd or REPO,
        stdin=subprocess.DEVNULL,
    )
    return Run(proc.returncode, proc.stdout, proc.stderr, time.monotonic() - start)


def spawn_imgen(args: list[str], home: Path, **env: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "imgen_desktop.cli", *map(str, args)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, env=imgen_env(home, **env), preexec_fn=_limit_memory(CHILD_AS_BYTES), cwd=REPO,
        stdin=subprocess.DEVNULL,
    )


def assert_one_clear_line(run: Run, *patterns: str) -> None:
    """Exit status 1, exactly one stderr line per pattern (in any order), no traceback."""
    assert run.rc == 1, f"exit status {run.rc}; stderr:\n{run.err}"
    lines = run.err_lines
    assert not TRACEBACK.search(run.err.replace("imgen: error:", "")), run.err
    assert len(lines) == len(patterns), f"expected {len(patterns)} line(s), got:\n{run.err}"
    for pattern in patterns:
        assert any(re.search(pattern, line) for line in lines), f"no line matches {pattern!r} in:\n{run.err}"


@pytest.fixture(scope="session")
def corpus(tmp_path_factory):
    """``(folder, cases)``: the generated corpus of awkward images (see imgcorpus.py)."""
    import imgcorpus

    folder = tmp_path_factory.mktemp("corpus")
    return folder, imgcorpus.build(folder)


def _mount(args: list[str]) -> bool:
    try:
        return subprocess.run(args, capture_output=True, timeout=20).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@pytest.fixture
def tmpfs(tmp_path):
    """Factory: ``tmpfs(size_kb, readonly=False, fill=None)`` mounts a small tmpfs and returns its
    folder (``fill``: a callable that writes into it before it is made read-only). Skips when
    mounting is not permitted here. Unmounted at teardown."""
    mounted: list[Path] = []

    def make(size_kb: int, readonly: bool = False, fill=None) -> Path:
        if not sys.platform.startswith("linux") or os.geteuid() != 0:
            pytest.skip("mounting a tmpfs needs Linux and root")
        point = tmp_path / f"mnt-{uuid.uuid4().hex[:8]}"
        point.mkdir()
        if not _mount(["mount", "-t", "tmpfs", "-o", f"size={size_kb}k,mode=0755", "tmpfs", str(point)]):
            pytest.skip("cannot mount a tmpfs here")
        mounted.append(point)
        if fill is not None:
            fill(point)
        if readonly and not _mount(["mount", "-o", "remount,ro", str(point)]):
            pytest.skip("cannot remount a tmpfs read-only here")
        return point

    yield make
    for point in reversed(mounted):
        _mount(["umount", "-l", str(point)])


def fill_up(folder: Path, leave_bytes: int = 0) -> None:
    """Fill the file system of ``folder`` until about ``leave_bytes`` are free."""
    free = os.statvfs(folder).f_bavail * os.statvfs(folder).f_frsize
    with open(folder / "filler.bin", "wb") as fh:
        try:
            fh.write(b"\0" * max(0, free - leave_bytes))
        except OSError:
            pass


def leftovers(folder: Path) -> list[str]:
    """Names in ``folder`` (recursively) that are temporary files of ours."""
    from imgen_desktop.core.atomic import is_temp_name

    return sorted(p.name for p in folder.rglob("*") if is_temp_name(p.name, legacy=True))
