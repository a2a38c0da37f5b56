"""L2_NORMALIZATION (v1-2) and LOCAL_RESPONSE_NORMALIZATION (v1), float32, last axis.

L2_NORMALIZATION: ``out = x / max(sqrt(sum(x^2)), 1e-6)`` over the last axis (TFLite's
epsilon bounds the norm, not the squared sum); rank at most 4, no fused activation.

LOCAL_RESPONSE_NORMALIZATION (4-D input): for channel ``c``,
``out = x * (bias + alpha * sum(x[c'] ^ 2)) ^ -beta`` with ``c'`` over
``[c - radius, c + radius]`` clipped to the channels; ``alpha`` is used as given (not
divided by the window size).

Both are numba loops over rows of the last axis, accumulating in float32 as TFLite does.
Quantized variants are a later issue.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .api import KernelDef, PrepareContext, Run
from .conv import float_operand

_L2_EPSILON = np.float32(1e-6)


@njit(cache=True)
def _l2_normalize(x, out, epsilon):
    for r in range(x.shape[0]):
        acc = np.float32(0.0)
        for c in range(x.shape[1]):
            acc += x[r, c] * x[r, c]
        norm = max(np.sqrt(acc), epsilon)
        for c in range(x.shape[1]):
            out[r, c] = x[r, c] / norm


def prepare_l2_norm(ctx: PrepareContext) -> Run:
    x = float_operand(ctx, 0, "input")
    ctx.check(1 <= len(x.shape) <= 4, f"input must have rank 1 to 4, got {list(x.shape)}")
    activation = ctx.options.get("fused_activation_function", "NONE")
    ctx.check(activation == "NONE", f"fused activation {activation} is not supported")
    ctx.set_output(0, x.shape, np.float32)
    depth = x.shape[-1]
    rows = x.size // depth if depth else 0

    def run(ins, outs, scratch):
        _l2_normalize(ins[0].reshape(rows, depth), outs[0].reshape(rows, depth), _L2_EPSILON)
    return run


@njit(cache=True)
def _lrn(x, out, radius, bias, alpha, neg_beta):
    depth = x.shape[1]
    for r in range(x.shape[0]):
        for c in range(depth):
            acc = np.float32(0.0)
            for k in range(max(0, c - radius), min(depth, c + radius + 1)):
                acc += x[r, k] * x[r, k]
            out[r, c] = x[r, c] * (bias + alpha * acc) ** neg_beta


def prepare_lrn(ctx: PrepareContext) -> Run:
    x = float_operand(ctx, 0, "input", 4)
    ctx.set_output(0, x.shape, np.float32)
    o = ctx.options
    radius = int(o.get("radius", 0))
    ctx.check(radius >= 0, f"radius {radius} must be >= 0")
    args = (radius, np.float32(o.get("bias", 0.0)), np.float32(o.get("alpha", 0.0)),
            np.float32(-float(o.get("beta", 0.0))))
    depth = x.shape[-1]
    rows = x.size // depth if depth else 0

    def run(ins, outs, scratch):
        _lrn(ins[0].reshape(rows, depth), outs[0].reshape(rows, depth), *args)
    return run


KERNELS = {
    "L2_NORMALIZATION": KernelDef(prepare_l2_norm, 2),
    "LOCAL_RESPONSE_NORMALIZATION": KernelDef(prepare_lrn, 1),
}
