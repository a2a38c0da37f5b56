"""L2_NORMALIZATION (v1-2) and LOCAL_RESPONSE_NORMALIZATION (v1), float32, last axis."""

from __future__ import annotations

import numpy as np
from numba import njit

from .api import KernelDef, PrepareContext


def prepare_l2_norm(ctx: PrepareContext):
    x = ctx.input(0)
    ctx.check(x.dtype == np.float32, f"{x.dtype} is not supported yet")
    ctx.set_output(0, x.shape, np.float32)
    col = ctx.scratch(tuple(x.shape[:-1]) + (1,), np.float32)

    def run(ins, outs, scratch):
        norm = scratch[col]
        np.multiply(ins[0], ins[0], out=outs[0])
        np.sum(outs[0], axis=-1, keepdims=True, out=norm)
        np.maximum(norm, np.float32(1e-6), out=norm)   # TFLite's epsilon on the squared sum
        np.sqrt(norm, out=norm)
        np.divide(ins[0], norm, out=outs[0])
    return run


@njit(cache=True)
def _lrn(x, out, radius, bias, alpha, beta):
    flat_x = x.reshape(-1, x.shape[-1])
    flat_o = out.reshape(-1, x.shape[-1])
    depth = x.shape[-1]
    for r in range(flat_x.shape[0]):
        for c in range(depth):
            lo, hi = max(0, c - radius), min(depth, c + radius + 1)
            acc = 0.0
            for k in range(lo, hi):
                acc += flat_x[r, k] * flat_x[r, k]
            flat_o[r, c] = flat_x[r, c] / (bias + alpha * acc) ** beta


def prepare_lrn(ctx: PrepareContext):
    x = ctx.input(0)
    ctx.check(x.dtype == np.float32 and len(x.shape) == 4, "input must be 4-D float32")
    ctx.set_output(0, x.shape, np.float32)
    o = ctx.options
    args = (int(o.get("radius", 0)), float(o.get("bias", 0.0)), float(o.get("alpha", 0.0)),
            float(o.get("beta", 0.0)))

    def run(ins, outs, scratch):
        _lrn(ins[0], outs[0], *args)
    return run


KERNELS = {
    "L2_NORMALIZATION": KernelDef(prepare_l2_norm, 2),
    "LOCAL_RESPONSE_NORMALIZATION": KernelDef(prepare_lrn, 1),
}
