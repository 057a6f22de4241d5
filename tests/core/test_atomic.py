"""Atomic writes: replace-or-nothing, and files get normal permissions (not mkstemp's 0600)."""
import os
import stat

import pytest

from imgen_desktop.core.atomic import atomic_path, write_text_atomic


def test_new_file_gets_umask_permissions(tmp_path):
    old = os.umask(0o022)
    try:
        target = tmp_path / "out.txt"
        write_text_atomic(target, "hello")
        assert stat.S_IMODE(target.stat().st_mode) == 0o644
        assert target.read_text() == "hello"
    finally:
        os.umask(old)


def test_replacing_keeps_the_existing_mode(tmp_path):
    target = tmp_path / "keep.txt"
    target.write_text("old")
    os.chmod(target, 0o640)
    write_text_atomic(target, "new")
    assert stat.S_IMODE(target.stat().st_mode) == 0o640 and target.read_text() == "new"


def test_failure_leaves_target_and_no_temporary(tmp_path):
    target = tmp_path / "t.bin"
    target.write_bytes(b"original")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_bytes(b"partial")
            raise RuntimeError("disk full")
    assert target.read_bytes() == b"original"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.bin"]
