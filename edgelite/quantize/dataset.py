"""Calibration data from files, for ``edgelite convert --calibration``.

* ``.npy``: samples stacked on axis 0, one row per invoke (the model's single input, in
  the converted model's layout: NHWC under ``--io-layout nhwc``);
* ``.npz``: one such stack per input, keyed by input name (all stacks equally long).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


def load_calibration(path) -> list:
    """Samples for ``calibrate``: arrays (``.npy``) or dicts by input name (``.npz``)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"calibration data {str(path)!r} does not exist")
    if path.is_dir():
        raise ValueError(f"{str(path)!r}: image-directory calibration is not available yet; "
                         "pass a .npy or .npz of preprocessed samples")
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
    raise ValueError(f"{str(path)!r}: calibration data must be a .npy or .npz file")
