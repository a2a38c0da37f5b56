"""Reductions over constant axes: MEAN, SUM, REDUCE_MAX, REDUCE_MIN, REDUCE_PROD (float32,
int32, int64), with ``keep_dims`` and negative axes."""

from __future__ import annotations

import numpy as np

from .api import KernelDef, PrepareContext

_UFUNCS = {"SUM": np.add, "REDUCE_MAX": np.maximum, "REDUCE_MIN": np.minimum,
           "REDUCE_PROD": np.multiply}


def prepare_reduce(ctx: PrepareContext):
    x, axes = ctx.input(0), ctx.input(1)
    ctx.check(x is not None and axes is not None, "needs input and axes")
    ctx.check(axes.data is not None, "non-constant axes are not supported yet")
    ctx.check(x.quantization is None or not len(x.quantization.scales),
              "quantized reductions are not supported yet")
    ctx.check(x.dtype in (np.float32, np.int32, np.int64), f"{x.dtype} is not supported")
    rank = len(x.shape)
    axis = sorted({int(a) % rank if rank else 0 for a in np.asarray(axes.data).reshape(-1)})
    ctx.check(all(-rank <= int(a) < max(rank, 1) for a in np.asarray(axes.data).reshape(-1)),
              f"axes {np.asarray(axes.data).tolist()} out of range for rank {rank}")
    keep = bool(ctx.options.get("keep_dims", False))
    shape = [1 if d in axis else s for d, s in enumerate(x.shape)] if keep else \
        [s for d, s in enumerate(x.shape) if d not in axis]
    ctx.set_output(0, shape, x.dtype)
    axis_t = tuple(axis)
    count = int(np.prod([x.shape[a] for a in axis])) if axis else 1
    if ctx.opcode == "MEAN":
        def run(ins, outs, scratch):
            np.add.reduce(ins[0], axis=axis_t, keepdims=keep, out=outs[0])
            if outs[0].dtype.kind == "f":
                np.divide(outs[0], count, out=outs[0])
            else:   # integer MEAN truncates like TFLite's integer division
                np.floor_divide(outs[0], count, out=outs[0])
        return run
    ufunc = _UFUNCS[ctx.opcode]

    def run(ins, outs, scratch):
        ufunc.reduce(ins[0], axis=axis_t, keepdims=keep, out=outs[0])

    return run


KERNELS = {name: KernelDef(prepare_reduce, 2) for name in
           ("MEAN", "SUM", "REDUCE_MAX", "REDUCE_MIN", "REDUCE_PROD")}
