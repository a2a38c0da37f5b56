"""FULLY_CONNECTED (v1-12, float32 default weights format): ``y = x W^T + b``, and
BATCH_MATMUL (v1-4, float32, adj_x/adj_y, broadcast batch dimensions).

The input is flattened to ``[-1, in_features]``; ``keep_num_dims`` keeps its leading
dimensions in the output. Constant weights are transposed once in prepare.
"""

from __future__ import annotations

import numpy as np

from . import fused_activation
from .api import KernelDef, PrepareContext


def prepare_fully_connected(ctx: PrepareContext):
    x, w, b = ctx.input(0), ctx.input(1), ctx.input(2)
    ctx.check(x is not None and w is not None, "needs input and weights")
    ctx.check(x.dtype == np.float32 and w.dtype == np.float32,
              f"{x.dtype} x {w.dtype} is not supported yet (quantized kernels come later)")
    ctx.check(len(w.shape) == 2, f"weights must be 2-D, got {list(w.shape)}")
    units, depth = w.shape
    ctx.check(depth > 0 and x.size % depth == 0,
              f"input {list(x.shape)} does not flatten to rows of {depth}")
    rows = x.size // depth
    if ctx.options.get("keep_num_dims", False):
        ctx.check(x.shape[-1] == depth, f"keep_num_dims needs the last input dim = {depth}")
        shape = tuple(x.shape[:-1]) + (units,)
    else:
        shape = (rows, units)
    ctx.set_output(0, shape, np.float32)
    bias = None
    if b is not None:
        ctx.check(b.data is not None and b.size == units, "bias must be constant, one per unit")
        bias = np.ascontiguousarray(b.data, np.float32).reshape(-1)
    packed = None if w.data is None else np.ascontiguousarray(np.asarray(w.data, np.float32).T)
    bounds = fused_activation.float_bounds(ctx, ctx.options.get("fused_activation_function",
                                                                "NONE"))

    def run(ins, outs, scratch):
        out2d = outs[0].reshape(rows, units)
        np.matmul(ins[0].reshape(rows, depth), packed if packed is not None else ins[1].T,
                  out=out2d)
        if bias is not None:
            np.add(out2d, bias, out=out2d)
        fused_activation.apply_float(out2d, bounds)

    return run


def prepare_batch_matmul(ctx: PrepareContext):
    a, b = ctx.input(0), ctx.input(1)
    ctx.check(a.dtype == b.dtype == np.float32, f"{a.dtype} x {b.dtype} is not supported yet")
    ctx.check(len(a.shape) >= 2 and len(b.shape) >= 2, "inputs must be at least 2-D")
    adj_x, adj_y = bool(ctx.options.get("adj_x")), bool(ctx.options.get("adj_y"))
    m, k = (a.shape[-1], a.shape[-2]) if adj_x else (a.shape[-2], a.shape[-1])
    k2, n = (b.shape[-1], b.shape[-2]) if adj_y else (b.shape[-2], b.shape[-1])
    ctx.check(k == k2, f"inner dimensions differ: {list(a.shape)} x {list(b.shape)}")
    try:
        batch = np.broadcast_shapes(tuple(a.shape[:-2]), tuple(b.shape[:-2]))
    except ValueError:
        raise ctx.error("batch dimensions do not broadcast") from None
    ctx.set_output(0, tuple(batch) + (m, n), np.float32)

    def run(ins, outs, scratch):
        x = np.swapaxes(ins[0], -1, -2) if adj_x else ins[0]
        y = np.swapaxes(ins[1], -1, -2) if adj_y else ins[1]
        np.matmul(x, y, out=outs[0])
    return run


KERNELS = {"FULLY_CONNECTED": KernelDef(prepare_fully_connected, 12),
           "BATCH_MATMUL": KernelDef(prepare_batch_matmul, 4)}
