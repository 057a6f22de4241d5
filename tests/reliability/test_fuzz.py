"""Property-based fuzzing of the image loader: random bytes and mutated valid PNG / JPEG / TIFF /
GIF / WebP / BMP files give either a Photo or an ImgenError -- never another exception, never a
hang (hypothesis' deadline; pytest-timeout behind it). The suite runs the ``ci`` profile (about
100 examples per property); ``make fuzz`` runs the ``fuzz`` profile (5,000 each)."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import example, given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import imgcorpus  # noqa: E402

from imgen_desktop.core.errors import ImgenError  # noqa: E402
from imgen_desktop.core.imageio import Photo, load_image, load_image_bytes, load_thumbnail, probe_image  # noqa: E402

SEEDS = imgcorpus.seeds()
LIMIT = 4_000_000  # pixels: a mutated header may claim a big image; keep each example cheap


def _loads_or_refuses(data: bytes, name: str = "fuzz") -> None:
    try:
        photo = load_image_bytes(data, name, max_pixels=LIMIT)
    except ImgenError as exc:
        text = str(exc)
        assert text and "\n" not in text and text.startswith(f"{name}: "), repr(text)
        return
    assert isinstance(photo, Photo)
    assert photo.pixels.ndim == 3 and photo.pixels.shape[2] in (1, 3) and photo.width * photo.height <= LIMIT
    assert photo.alpha is None or photo.alpha.shape == photo.pixels.shape[:2]


@st.composite
def mutated(draw):
    """A valid seed file with a few bytes replaced (mostly in the header), cut, or spliced."""
    fmt = draw(st.sampled_from(sorted(SEEDS)))
    data = bytearray(SEEDS[fmt])
    for _ in range(draw(st.integers(1, 8))):
        where = draw(st.one_of(st.integers(0, min(63, len(data) - 1)), st.integers(0, len(data) - 1)))
        data[where] = draw(st.integers(0, 255))
    action = draw(st.sampled_from(["keep", "cut", "splice", "repeat"]))
    if action == "cut":
        data = data[: draw(st.integers(0, len(data)))]
    elif action == "splice":
        at = draw(st.integers(0, len(data)))
        data[at:at] = draw(st.binary(min_size=1, max_size=64))
    elif action == "repeat":
        a = draw(st.integers(0, len(data) - 1))
        data[a:a] = data[a : a + draw(st.integers(1, 32))] * draw(st.integers(1, 50))
    return fmt, bytes(data)


@given(st.binary(max_size=4096))
@example(b"")
@example(b"\x89PNG\r\n\x1a\n")
@example(b"II*\x00\x08\x00\x00\x00")
@example(b"\xff\xd8\xff")
@example(b"GIF89a\xff\xff\xff\xff")
def test_random_bytes_load_or_are_refused(data):
    _loads_or_refuses(data)


@given(mutated())
def test_mutated_images_load_or_are_refused(case):
    fmt, data = case
    _loads_or_refuses(data, f"m.{fmt}")


@given(mutated())
def test_header_and_thumbnail_readers_too(case):
    """probe_image and load_thumbnail (the Train tab's describe) share the loader's safety."""
    fmt, data = case
    fd, name = tempfile.mkstemp(prefix="fuzz-", suffix=".img")
    try:
        os.write(fd, data)
        os.close(fd)
        for reader in (lambda p: probe_image(p, max_pixels=LIMIT), lambda p: load_thumbnail(p, 32, max_pixels=LIMIT),
                       lambda p: load_image(p, max_pixels=LIMIT)):
            try:
                out = reader(Path(name))
            except ImgenError as exc:
                assert "\n" not in str(exc) and str(exc).startswith(Path(name).name)
                continue
            if isinstance(out, np.ndarray):
                assert out.dtype == np.uint8 and out.ndim == 3 and max(out.shape[:2]) <= 32
    finally:
        os.unlink(name)


def test_every_seed_is_a_valid_image():
    """The fuzzer mutates real files: each seed must load as it is."""
    for fmt, data in SEEDS.items():
        assert isinstance(load_image_bytes(data, fmt), Photo), fmt
