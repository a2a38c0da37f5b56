"""Fused activations (the ``fused_activation_function`` option) as clamp bounds, and the
numba loops that apply a clamp (alone, or fused with a same-shape ADD/SUB/MUL): one pass
over contiguous memory, 3-4x numpy's ``maximum``/``clip`` on these sizes. NaN passes
through every clamp, as it does in TFLite's float kernels."""

from __future__ import annotations

import numpy as np
from numba import njit

from .views import view1d

_FLOAT_BOUNDS = {
    "NONE": (-np.inf, np.inf),
    "RELU": (0.0, np.inf),
    "RELU_N1_TO_1": (-1.0, 1.0),
    "RELU6": (0.0, 6.0),
}


def float_bounds(ctx, name: str) -> tuple[float, float] | None:
    """(lo, hi) clamp for a float fused activation; None when there is nothing to clamp.

    TANH and SIGN_BIT are not clamps: no TFLite float kernel accepts them fused, so they
    are rejected here with the op named."""
    if name not in _FLOAT_BOUNDS:
        raise ctx.error(f"fused activation {name} is not supported")
    return None if name == "NONE" else _FLOAT_BOUNDS[name]


def apply_float(out: np.ndarray, bounds: tuple[float, float] | None) -> None:
    """Clamp ``out`` in place (no allocation)."""
    if bounds is not None:
        if out.dtype == np.float32 and out.flags.c_contiguous:
            clamp(out, np.float32(bounds[0]), np.float32(bounds[1]), out)
        else:
            np.clip(out, bounds[0], bounds[1], out=out)


@njit(cache=True)
def clamp(x, lo, hi, out):
    """``out = min(max(x, lo), hi)`` elementwise (contiguous, same size)."""
    a, o = view1d(x), view1d(out)
    for i in range(a.shape[0]):
        o[i] = min(max(a[i], lo), hi)


ADD, SUB, MUL = 0, 1, 2


@njit(cache=True)
def binary_clamp(op, x, y, lo, hi, out):
    """``out = clamp(x op y)`` for same-size contiguous float32 arrays, ``op`` ADD, SUB or
    MUL."""
    a, b, o = view1d(x), view1d(y), view1d(out)
    if op == ADD:
        for i in range(a.shape[0]):
            o[i] = min(max(a[i] + b[i], lo), hi)
    elif op == SUB:
        for i in range(a.shape[0]):
            o[i] = min(max(a[i] - b[i], lo), hi)
    else:
        for i in range(a.shape[0]):
            o[i] = min(max(a[i] * b[i], lo), hi)
