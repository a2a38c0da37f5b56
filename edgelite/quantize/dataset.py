"""Calibration data from files, for ``edgelite convert --calibration``.

* ``.npy``: samples stacked on axis 0, one row per invoke (the model's single input, in
  the converted model's layout: NHWC under ``--io-layout nhwc``);
* ``.npz``: one such stack per input, keyed by input name (all stacks equally long);
* a directory of images (``.jpg``/``.jpeg``/``.png``/``.bmp``, read with Pillow, the
  ``images`` extra): each is centre-cropped to a square, resized to ``size`` x ``size``,
  scaled as ``(pixel / 255 - mean) / std`` per RGB channel and laid out NHWC or NCHW.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")


def load_images(directory: Path, size: int = 224, mean=(0.5, 0.5, 0.5),
                std=(0.5, 0.5, 0.5), layout: str = "nhwc") -> list[np.ndarray]:
    """One preprocessed (1, size, size, 3) or (1, 3, size, size) float32 sample per
    image file in ``directory`` (sorted by name)."""
    try:
        from PIL import Image
    except ImportError:
        raise ValueError("image-directory calibration needs Pillow: "
                         "pip install 'edgelite[images]'") from None
    files = sorted(p for p in directory.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise ValueError(f"{str(directory)!r} holds no {'/'.join(IMAGE_SUFFIXES)} images")
    mean32, std32 = np.asarray(mean, np.float32), np.asarray(std, np.float32)
    samples = []
    for f in files:
        try:
            with Image.open(f) as im:
                im = im.convert("RGB")
                w, h = im.size
                s = min(w, h)
                im = im.crop(((w - s) // 2, (h - s) // 2, (w - s) // 2 + s, (h - s) // 2 + s))
                a = np.asarray(im.resize((size, size), Image.BILINEAR), np.float32)
        except OSError as e:
            raise ValueError(f"{str(f)!r} is not a readable image: {e}") from None
        a = (a / 255.0 - mean32) / std32
        a = a[None] if layout == "nhwc" else a.transpose(2, 0, 1)[None]
        samples.append(np.ascontiguousarray(a, np.float32))
    return samples


def load_calibration(path, **image_options) -> list:
    """Samples for ``calibrate``: arrays (``.npy``, image directory) or dicts by input
    name (``.npz``); ``image_options`` go to ``load_images``."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"calibration data {str(path)!r} does not exist")
    if path.is_dir():
        return load_images(path, **image_options)
    if path.suffix == ".npy":
        stack = np.load(path, allow_pickle=False)
        if stack.ndim < 1 or len(stack) == 0:
            raise ValueError(f"{str(path)!r} holds no samples (expected them on axis 0)")
        return [stack[k] for k in range(len(stack))]
    if path.suffix == ".npz":
        with np.load(path, allow_pickle=False) as z:
            stacks = {name: z[name] for name in z.files}
        lengths = {name: len(a) for name, a in stacks.items()}
        if not stacks or len(set(lengths.values())) != 1 or 0 in lengths.values():
            raise ValueError(f"{str(path)!r}: every input needs the same, non-zero number "
                             f"of samples on axis 0, got {lengths}")
        n = next(iter(lengths.values()))
        return [{name: a[k] for name, a in stacks.items()} for k in range(n)]
    raise ValueError(f"{str(path)!r}: calibration data must be a .npy or .npz file or a "
                     "directory of images")
