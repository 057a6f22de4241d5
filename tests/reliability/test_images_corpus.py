"""The image corpus through the real CLI: every awkward file loads right, every hostile one is
refused with one clear line, nothing else reaches stderr, and nothing partial or misplaced is
written -- all in one ``imgen enhance`` batch in a child process under an address-space cap."""
from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import pytest
from conftest import TRACEBACK, assert_one_clear_line, leftovers, run_imgen

from imgen_desktop.core.enhance import output_name


def _output_for(case, tag: str = "denoised") -> str:
    name = output_name(Path(case.name), "denoise", 1)
    return str(Path(name).with_suffix(case.output_ext)) if case.output_ext else name


@pytest.fixture(scope="module")
def batch(corpus, tmp_path_factory):
    """One ``imgen enhance`` over the whole corpus (the expensive part, shared by the tests)."""
    folder, cases = corpus
    out = tmp_path_factory.mktemp("corpus-out")
    home = tmp_path_factory.mktemp("corpus-home")
    before = sorted(p.name for p in folder.iterdir())
    run = run_imgen(["enhance", *[folder / c.name for c in cases], "-o", out, "--model", "builtin:denoise",
                     "--tile", "0", "--passes", "1", "--quiet"], home)
    return folder, cases, out, run, before


def test_every_refused_file_gets_exactly_one_clear_line(batch):
    folder, cases, out, run, _ = batch
    refused = [c for c in cases if c.kind == "refused"]
    assert not TRACEBACK.search(run.err.replace("imgen: error:", "")), run.err
    assert run.rc == 1 and run.out == ""
    lines = run.err_lines
    assert len(lines) == len(refused), "one line per refused file and nothing else:\n" + run.err
    for case in refused:
        mine = [line for line in lines if line.startswith(f"imgen: error: {case.name}: ")]
        assert len(mine) == 1, f"{case.name}: {len(mine)} lines in\n{run.err}"
        assert re.search(case.error, mine[0]), f"{case.name}: {mine[0]!r} does not match {case.error!r}"


def test_valid_files_give_the_right_pixels(batch):
    folder, cases, out, run, _ = batch
    failures = []
    for case in (c for c in cases if c.kind == "valid"):
        target = out / _output_for(case)
        if not target.is_file():
            failures.append(f"{case.name}: no output {target.name}")
            continue
        try:
            case.check(target)
        except AssertionError as exc:
            failures.append(str(exc).splitlines()[0])
    assert not failures, "\n".join(failures)


def test_no_partial_or_misplaced_output(batch):
    folder, cases, out, run, before = batch
    expected = sorted(_output_for(c) for c in cases if c.kind == "valid")
    assert sorted(p.name for p in out.iterdir()) == expected  # nothing for refused files, no temporaries
    assert sorted(p.name for p in folder.iterdir()) == before  # nothing written next to the inputs
    assert leftovers(out) == [] and leftovers(folder) == []


def test_a_fifo_or_broken_mask_is_refused_without_hanging(corpus, tmp_path, capfd):
    """``--mask`` used to open a FIFO and block forever. In this process (torch is loaded once),
    in a thread that the test abandons if it hangs."""
    import threading

    from conftest import Run

    from imgen_desktop import cli

    folder, cases = corpus
    photo = folder / "plain_png.png"
    for mask, pattern in (("fifo.png", r"fifo.png: is not a regular file"), ("dangling.png", r"dangling.png: is a broken link")):
        if not (folder / mask).is_symlink() and not (folder / mask).exists():
            continue
        capfd.readouterr()
        rc: list[int] = []
        args = ["enhance", str(photo), "-o", str(tmp_path / "out.png"), "--model", "builtin:inpaint", "--tile", "0",
                "--mask", str(folder / mask), "--quiet"]
        thread = threading.Thread(target=lambda: rc.append(cli.main(args)), daemon=True)
        thread.start()
        thread.join(120)
        if thread.is_alive():
            os.close(os.open(folder / mask, os.O_WRONLY | os.O_NONBLOCK))  # unblock it, then fail
            pytest.fail(f"imgen enhance --mask {mask} hung")
        assert_one_clear_line(Run(rc[0], *capfd.readouterr(), 0.0), pattern)
        assert not (tmp_path / "out.png").exists() and list(tmp_path.glob(".*")) == []


def test_a_big_image_within_the_pixel_limit_fails_cleanly_under_a_memory_cap(tmp_path):
    """9000 x 9000 (81 MP, under the 100 MP limit, 80 KB on disk): with --tile 0 and 1.5 GB of
    address space the whole-image run cannot fit; it must end in one line, not a crash."""
    import zlib

    from imgcorpus import _chunk, _png_header

    raw = zlib.compress(b"\x00" * (9000 * 9001), 9)  # filter byte + 9000 gray pixels per row
    (tmp_path / "big.png").write_bytes(_png_header(9000, 9000, 8, 0) + _chunk(b"IDAT", raw) + _chunk(b"IEND", b""))
    run = run_imgen(["enhance", tmp_path / "big.png", "-o", tmp_path / "out.png", "--model", "builtin:denoise",
                     "--tile", "0", "--passes", "1", "--quiet"], tmp_path / "home", limit_as=int(1.5 * 2**30), timeout=180)
    assert_one_clear_line(run, r"memory")
    assert not (tmp_path / "out.png").exists() and leftovers(tmp_path) == []


def test_the_corpus_covers_every_kind(corpus):
    """A guard: the corpus keeps its breadth (a generator change cannot silently drop cases)."""
    _, cases = corpus
    names = {c.name for c in cases}
    for needed in ("orient6.jpg", "alpha.png", "gray16.png", "cmyk.jpg", "lab.tif", "float_nan_inf.tif",
                   "animated.gif", "animated.webp", "icc_2mb.png", "bomb.png", "text_bomb.png", "truncated.jpg",
                   "empty.png", "damaged.tif", "dangling.png"):
        assert needed in names
    assert sum(c.kind == "valid" for c in cases) >= 25 and sum(c.kind == "refused" for c in cases) >= 15
    assert np.all([c.check is not None for c in cases if c.kind == "valid"])
