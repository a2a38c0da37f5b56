"""Fused activations (the ``fused_activation_function`` option) as clamp bounds."""

from __future__ import annotations

import numpy as np

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
        np.clip(out, bounds[0], bounds[1], out=out)
