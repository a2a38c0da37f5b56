"""Real photos from scikit-image (bundled in its wheel; no download), preprocessed as the
corpus EfficientNet-Lite0 expects: centre square crop, 224x224, RGB scaled to [-1, 1],
NHWC float32 with a batch dimension."""

from __future__ import annotations

import numpy as np
import pytest

# calibration and test photos never overlap (``cat`` is ``chelsea``: neither calibrates)
CALIBRATION = ["astronaut", "rocket", "colorwheel", "immunohistochemistry",
               "hubble_deep_field", "retina", "brick", "grass"]
TEST = ["chelsea", "coffee", "logo", "camera", "cell", "checkerboard", "clock", "coins",
        "horse", "microaneurysms", "moon", "page", "text", "binary_blobs",
        "shepp_logan_phantom", "gravel"]


def _skimage():
    try:
        import skimage.data
        from skimage.transform import resize
    except ImportError:
        pytest.fail("the photo tests need scikit-image: pip install -e '.[test]'")
    return skimage.data, resize


def _rgb(name: str) -> np.ndarray:
    data, _ = _skimage()
    a = np.asarray(getattr(data, name)())
    if a.dtype == bool:
        a = a.astype(np.uint8) * 255
    elif a.dtype.kind == "f":
        a = np.clip(a * 255, 0, 255)
    if a.ndim == 2:
        a = np.stack([a] * 3, axis=-1)
    return a[..., :3].astype(np.float32)


def _preprocess(a: np.ndarray, size: int) -> np.ndarray:
    _, resize = _skimage()
    a = resize(a, (size, size), preserve_range=True, anti_aliasing=True)
    return np.ascontiguousarray(((a / 255.0 - 0.5) / 0.5).astype(np.float32)[None])


def photo(name: str, size: int = 224) -> np.ndarray:
    a = _rgb(name)
    h, w = a.shape[:2]
    s = min(h, w)
    return _preprocess(a[(h - s) // 2:(h - s) // 2 + s, (w - s) // 2:(w - s) // 2 + s], size)


def calibration_samples(crops: int = 4, seed: int = 0, size: int = 224) -> list:
    """The calibration photos, centre-cropped, plus ``crops`` random square crops of
    each (40% to 100% of the short side, half of them mirrored): 40 samples."""
    rng = np.random.default_rng(seed)
    samples = [photo(n, size) for n in CALIBRATION]
    for name in CALIBRATION:
        a = _rgb(name)
        h, w = a.shape[:2]
        for _ in range(crops):
            s = int(min(h, w) * rng.uniform(0.4, 1.0))
            y, x = rng.integers(0, h - s + 1), rng.integers(0, w - s + 1)
            c = a[y:y + s, x:x + s]
            samples.append(_preprocess(c[:, ::-1] if rng.random() < 0.5 else c, size))
    return samples
