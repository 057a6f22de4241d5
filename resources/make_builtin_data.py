"""Extract the built-in datasets and sample photos into ``resources/`` (run once, offline).

The app must not depend on scikit-learn / scikit-image at run time (hundreds of MB in the
bundle), so the small public data they carry is copied here, with licences and attribution
(see ``resources/ATTRIBUTION.md``).

Reproduce (from the repo root)::

    python -m venv /tmp/xvenv && /tmp/xvenv/bin/pip install scikit-learn==1.9.1 scikit-image==0.26.0
    /tmp/xvenv/bin/python resources/make_builtin_data.py

Outputs:
    resources/data/digits.npz   images uint8 (1797, 8, 8) (0..16 scaled to 0..255), labels int64
    resources/data/faces.npz    images uint8 (100, 25, 25): the faces half of skimage's LFW subset
    resources/photos/*.{png,jpg}       training photos for the enhancement built-ins
    resources/photos/test/*.{png,jpg}  held-out photos: never used in training (benchmarks, samples)
"""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import skimage
import sklearn
from sklearn.datasets import load_digits

HERE = Path(__file__).resolve().parent
SKIMAGE_DATA = Path(skimage.__file__).parent / "data"
SKLEARN_IMAGES = Path(sklearn.__file__).parent / "datasets" / "images"

TRAIN_PHOTOS = {
    "astronaut.png": SKIMAGE_DATA / "astronaut.png",
    "coffee.png": SKIMAGE_DATA / "coffee.png",
    "rocket.jpg": SKIMAGE_DATA / "rocket.jpg",
    "hubble_deep_field.jpg": SKIMAGE_DATA / "hubble_deep_field.jpg",
    "immunohistochemistry.png": SKIMAGE_DATA / "ihc.png",
    "retina.jpg": SKIMAGE_DATA / "retina.jpg",
    "china.jpg": SKLEARN_IMAGES / "china.jpg",
    "brick.png": SKIMAGE_DATA / "brick.png",
    "grass.png": SKIMAGE_DATA / "grass.png",
    "gravel.png": SKIMAGE_DATA / "gravel.png",
    "coins.png": SKIMAGE_DATA / "coins.png",
}
TEST_PHOTOS = {
    "chelsea.png": SKIMAGE_DATA / "chelsea.png",
    "flower.jpg": SKLEARN_IMAGES / "flower.jpg",
    "camera.png": SKIMAGE_DATA / "camera.png",
}


def main() -> None:
    data = HERE / "data"
    data.mkdir(exist_ok=True)
    digits = load_digits()
    images = np.clip(np.rint(digits.images * (255.0 / 16.0)), 0, 255).astype(np.uint8)
    np.savez_compressed(data / "digits.npz", images=images, labels=digits.target.astype(np.int64))

    lfw = np.load(SKIMAGE_DATA / "lfw_subset.npy")  # (200, 25, 25) float in [0, 1]; first 100 are faces
    faces = np.clip(np.rint(lfw[:100] * 255.0), 0, 255).astype(np.uint8)
    np.savez_compressed(data / "faces.npz", images=faces)

    photos = HERE / "photos"
    (photos / "test").mkdir(parents=True, exist_ok=True)
    for name, src in TRAIN_PHOTOS.items():
        shutil.copyfile(src, photos / name)
    for name, src in TEST_PHOTOS.items():
        shutil.copyfile(src, photos / "test" / name)
    print(f"digits {images.shape}, faces {faces.shape}, {len(TRAIN_PHOTOS)} training photos, {len(TEST_PHOTOS)} test photos")


if __name__ == "__main__":
    main()
