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


# --- issue 11: verification, full disks, stale temporaries ----------------------------------

import errno  # noqa: E402
import time  # noqa: E402

from imgen_desktop.core import atomic  # noqa: E402
from imgen_desktop.core.atomic import clean_stale_temps, is_temp_name, write_bytes_atomic  # noqa: E402


def _age(path, seconds):
    old = time.time() - seconds
    os.utime(path, (old, old))


def test_temporary_names_carry_our_marker(tmp_path):
    seen = []
    with atomic_path(tmp_path / "model.safetensors") as tmp:
        seen.append(tmp.name)
        tmp.write_bytes(b"x")
    assert seen[0].startswith(".model.safetensors.imgen-tmp-") and seen[0].endswith(".safetensors")
    assert is_temp_name(seen[0])
    long_name = "n" * 250 + ".png"  # a temporary name must still fit in 255 characters
    write_bytes_atomic(tmp_path / long_name, b"data")
    assert (tmp_path / long_name).read_bytes() == b"data"


def test_clean_stale_temps_removes_only_our_old_leftovers(tmp_path):
    sub = tmp_path / "runs" / "r1"
    sub.mkdir(parents=True)
    old_ours = [tmp_path / ".a.png.imgen-tmp-ab3d_f9k.png", sub / ".checkpoint.pt.imgen-tmp-0123abcd.pt"]
    fresh_ours = tmp_path / ".b.png.imgen-tmp-zzzzzzzz.png"
    legacy = sub / ".config.json.k2j4h5g6.json"
    keep = [tmp_path / "photo.png", tmp_path / ".hidden.png", tmp_path / ".a.png.abcdefgh", tmp_path / "x.imgen-tmp-abcdefgh.png"]
    for p in [*old_ours, fresh_ours, legacy, *keep]:
        p.write_bytes(b"x")
    for p in [*old_ours, legacy, *keep]:
        _age(p, 3600)
    link = tmp_path / ".c.png.imgen-tmp-linklink.png"  # a link with our name: never followed or removed
    link.symlink_to(tmp_path / "photo.png")

    assert clean_stale_temps(tmp_path) == [old_ours[0]]  # not recursive by default
    removed = clean_stale_temps(tmp_path, recursive=True, legacy=True)
    assert set(removed) == {old_ours[1], legacy}
    assert fresh_ours.exists() and link.is_symlink() and all(p.exists() for p in keep)
    assert clean_stale_temps(tmp_path / "missing") == []


def test_first_write_into_a_folder_cleans_its_stale_leftovers(tmp_path, monkeypatch):
    monkeypatch.setattr(atomic, "_cleaned", set())
    stale = tmp_path / ".out.png.imgen-tmp-deadbeef.png"
    stale.write_bytes(b"partial")
    _age(stale, 3600)
    write_text_atomic(tmp_path / "other.txt", "hi")
    assert not stale.exists()


def test_the_written_size_is_checked(tmp_path, monkeypatch):
    real_write = os.write
    monkeypatch.setattr(os, "write", lambda fd, data: real_write(fd, bytes(data[:3])) and len(data))  # lies
    with pytest.raises(OSError, match="3 of 10 bytes reached the disk"):
        write_bytes_atomic(tmp_path / "t.bin", b"0123456789")
    assert list(tmp_path.iterdir()) == []


def test_verify_runs_before_the_rename(tmp_path):
    target = tmp_path / "t.bin"
    target.write_bytes(b"old")

    def refuse(tmp):
        assert tmp.read_bytes() == b"new" and tmp.parent == tmp_path
        raise ValueError("not what was meant")

    with pytest.raises(ValueError):
        write_bytes_atomic(target, b"new", verify=refuse)
    assert target.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["t.bin"]


def test_an_empty_result_can_be_refused(tmp_path):
    with pytest.raises(OSError, match="empty"):
        with atomic_path(tmp_path / "m.safetensors", allow_empty=False):
            pass  # the writer wrote nothing
    assert list(tmp_path.iterdir()) == []


def test_a_foreign_error_on_a_full_disk_becomes_enospc(tmp_path, monkeypatch):
    """torch.save on a full disk says "unexpected pos 10048 vs 9942"; the caller gets ENOSPC."""
    monkeypatch.setattr(atomic, "_free_bytes", lambda folder: 0)
    with pytest.raises(OSError) as info:
        with atomic_path(tmp_path / "checkpoint.pt") as tmp:
            tmp.write_bytes(b"half")
            raise RuntimeError("[enforce fail at inline_container.cc:664] . unexpected pos 10048 vs 9942")
    assert info.value.errno == errno.ENOSPC and isinstance(info.value.__cause__, RuntimeError)
    assert list(tmp_path.iterdir()) == []
    monkeypatch.setattr(atomic, "_free_bytes", lambda folder: 10**9)  # space left: the error is the error
    with pytest.raises(RuntimeError):
        with atomic_path(tmp_path / "checkpoint.pt"):
            raise RuntimeError("a real bug")


def test_clean_data_root_cleans_models_and_runs_only(tmp_path):
    from imgen_desktop.core.atomic import clean_data_root

    (tmp_path / "models").mkdir()
    (tmp_path / "runs" / "r" / "samples").mkdir(parents=True)
    stale = [tmp_path / "models" / ".m.safetensors.k2j4h5g6.safetensors",  # an earlier version's name
             tmp_path / "runs" / "r" / ".checkpoint.pt.imgen-tmp-aaaabbbb.pt",
             tmp_path / "runs" / "r" / "samples" / ".step_000100.png.imgen-tmp-ccccdddd.png"]
    elsewhere = tmp_path / ".settings.ini.imgen-tmp-eeeeffff.ini"  # not in models/ or runs/
    for p in [*stale, elsewhere]:
        p.write_bytes(b"x")
        _age(p, 3600)
    assert sorted(clean_data_root(tmp_path)) == sorted(stale)
    assert elsewhere.exists()
