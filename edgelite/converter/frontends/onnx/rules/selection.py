"""ReverseSequence and Compress: element selection driven by run-time values.

ReverseSequence reverses the first ``len[b]`` steps of every batch entry: a GatherElements
along the time axis with the source step ``len - 1 - t`` where ``t < len`` and ``t``
elsewhere. Compress gathers the positions where the condition holds (WHERE, a run-time
output size); a condition shorter than the axis leaves the rest out, as in ONNX.
"""

from __future__ import annotations

import numpy as np

from ._common import norm_axis, out_shape
from .elementwise import binary, scalar, select, unary
from .nn import _reshape_logical
from .scatter import _coordinates


def _reverse_sequence(ctx, node, ins, attrs):
    x, lens = ins
    t_axis, b_axis = int(attrs.get("time_axis", 0)), int(attrs.get("batch_axis", 1))
    if {t_axis, b_axis} != {0, 1}:
        raise ctx.error("ReverseSequence needs time_axis and batch_axis to be 0 and 1")
    steps, batch = x.shape[t_axis], x.shape[b_axis]
    lens = lens if lens.dtype == np.int32 else unary(ctx, "CAST", lens, dtype=np.int32)
    # [T, B] grids laid out along (time_axis, batch_axis), padded to x's rank
    shape = [1] * x.rank
    shape[t_axis], shape[b_axis] = steps, batch
    t = ctx.const_value(np.arange(steps, dtype=np.int32).reshape(
        [steps if a == t_axis else 1 for a in range(x.rank)]))
    lb = _reshape_logical(ctx, lens, [batch if a == b_axis else 1 for a in range(x.rank)])
    reversed_t = binary(ctx, "SUB", binary(ctx, "SUB", lb, scalar(ctx, 1, np.int32)), t)
    src = select(ctx, binary(ctx, "LESS", t, lb), reversed_t, t)
    full = ctx.emit("BROADCAST_TO", [ctx.logical(src), ctx.constant_index(
        np.array(x.shape, np.int32))], [x.shape], [np.int32], version=2)[0]
    coords = _coordinates(ctx, full, t_axis, steps)
    return ctx.emit("GATHER_ND", [ctx.logical(x), coords.index], [x.shape], [x.dtype])


def _compress(ctx, node, ins, attrs):
    x, cond = ins
    if "axis" in attrs:
        axis = norm_axis(int(attrs["axis"]), x.rank, ctx)
    else:
        x, axis = _reshape_logical(ctx, x, (int(np.prod(x.shape, dtype=np.int64)),)), 0
    if cond.rank != 1 or cond.shape[0] > x.shape[axis]:
        raise ctx.error(f"Compress condition of shape {list(cond.shape)} does not fit an "
                        f"axis of {x.shape[axis]}")
    shape = out_shape(ctx, [])
    count = shape[axis] if len(shape) == x.rank else 0
    where = ctx.emit("WHERE", [ctx.logical(cond)], [(count, 1)], [np.int64])[0]
    flat = ctx.emit("RESHAPE", [where.index, ctx.constant_index(np.array([-1], np.int32))],
                    [(count,)], [np.int64], {"new_shape": [-1]})[0]
    return ctx.emit("GATHER", [ctx.logical(x), flat.index], [shape], [x.dtype],
                    {"axis": axis, "batch_dims": 0})


RULES = {"ReverseSequence": _reverse_sequence, "Compress": _compress}
