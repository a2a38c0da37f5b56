"""Calibration data from files: .npy, .npz and image directories."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from edgelite.quantize.dataset import load_calibration, load_images


def _write_images(tmp_path, count=3):
    rng = np.random.default_rng(0)
    arrays = []
    for k in range(count):
        a = rng.integers(0, 256, (20 + 4 * k, 30, 3)).astype(np.uint8)
        Image.fromarray(a).save(tmp_path / f"img{k}.png")
        arrays.append(a)
    return arrays


def test_image_directory_is_cropped_resized_scaled_and_laid_out(tmp_path):
    _write_images(tmp_path)
    (tmp_path / "notes.txt").write_text("not an image")
    nhwc = load_calibration(tmp_path, size=8, mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5))
    nchw = load_images(tmp_path, size=8, layout="nchw")
    assert len(nhwc) == 3 and nhwc[0].shape == (1, 8, 8, 3) and nchw[0].shape == (1, 3, 8, 8)
    np.testing.assert_array_equal(nchw[1], nhwc[1].transpose(0, 3, 1, 2))
    assert -1.0 <= nhwc[0].min() and nhwc[0].max() <= 1.0
    # a flat image stays flat: (v / 255 - mean) / std exactly
    Image.fromarray(np.full((9, 9, 3), 51, np.uint8)).save(tmp_path / "flat.png")
    flat = load_images(tmp_path, size=4, mean=(0.1, 0.2, 0.3), std=(0.5, 0.25, 1.0))[0]
    want = (np.float32(51 / 255) - np.float32([0.1, 0.2, 0.3])) / np.float32([0.5, .25, 1])
    np.testing.assert_allclose(flat[0, 0, 0], want, rtol=1e-6)


def test_npy_and_npz(tmp_path):
    stack = np.arange(24, dtype=np.float32).reshape(4, 1, 2, 3)
    np.save(tmp_path / "a.npy", stack)
    rows = load_calibration(tmp_path / "a.npy")
    assert len(rows) == 4 and np.array_equal(rows[2], stack[2])
    np.savez(tmp_path / "b.npz", x=stack, y=stack[:, 0])
    dicts = load_calibration(tmp_path / "b.npz")
    assert len(dicts) == 4 and set(dicts[0]) == {"x", "y"}


def _missing(p):
    return p / "missing.npy"


def _empty_dir(p):
    (p / "empty").mkdir()
    return p / "empty"


def _bad_image(p):
    (p / "bad").mkdir()
    (p / "bad" / "x.png").write_bytes(b"no png")
    return p / "bad"


def _text(p):
    (p / "c.txt").write_text("x")
    return p / "c.txt"


def _uneven_npz(p):
    np.savez(p / "d.npz", x=np.zeros((2, 3)), y=np.zeros((3, 3)))
    return p / "d.npz"


@pytest.mark.parametrize("make,match", [
    (_missing, "does not exist"), (_empty_dir, "holds no"),
    (_bad_image, "not a readable image"), (_text, "must be a .npy"),
    (_uneven_npz, "same, non-zero number")])
def test_bad_calibration_data_fails_clearly(tmp_path, make, match):
    with pytest.raises((ValueError, FileNotFoundError), match=match):
        load_calibration(make(tmp_path))
