"""TopK, CumSum and OneHot."""

from __future__ import annotations

import numpy as np

from ._common import int_array, norm_axis, out_info, out_shape
from .elementwise import unary
from .movement import _positive_indices, as_int32


def scalar_int32(ctx, v):
    """A one-element integer value (constant or computed) as an int32 scalar tensor."""
    if v.const is not None:
        return ctx.constant_index(np.array(int(np.asarray(v.const).reshape(-1)[0]), np.int32))
    i = as_int32(ctx, v)
    if v.shape == ():
        return i
    shape_t = ctx.constant_index(np.zeros(0, np.int32))
    return ctx.emit("RESHAPE", [i, shape_t], [()], [np.int32], {"new_shape": []})[0].index


def _topk(ctx, node, ins, attrs):
    x = ins[0]
    k_v = ins[1] if ctx.opset >= 10 else ctx.const_value(np.array(attrs["k"]))
    axis = norm_axis(int(attrs.get("axis", -1)), x.rank, ctx)
    largest = bool(attrs.get("largest", 1))
    src = x if largest else unary(ctx, "NEG", x)
    perm = tuple(a for a in range(x.rank) if a != axis) + (axis,)   # TOPK_V2: last axis
    xi = ctx.physical(src, perm)
    k = int(np.asarray(k_v.const).reshape(-1)[0]) if k_v.const is not None else \
        (out_shape(ctx, [0] * x.rank)[axis])
    shape = x.shape[:axis] + (k,) + x.shape[axis + 1:]
    k_t = scalar_int32(ctx, k_v)
    values, idx = ctx.emit("TOPK_V2", [xi, k_t], [shape, shape], [x.dtype, np.int32],
                           perm=perm)
    if not largest:
        values = unary(ctx, "NEG", values)
    return [values, unary(ctx, "CAST", idx, dtype=np.int64)]


def _cumsum(ctx, node, ins, attrs):
    x, axis_v = ins
    opts = {"exclusive": bool(attrs.get("exclusive", 0)),
            "reverse": bool(attrs.get("reverse", 0))}
    if axis_v.const is None:      # axis known at run time only: logical layout
        return ctx.emit("CUMSUM", [ctx.logical(x), scalar_int32(ctx, axis_v)], [x.shape],
                        [x.dtype], opts)
    axis = norm_axis(int(int_array(axis_v, "CumSum's axis", ctx)[0]), x.rank, ctx)
    a = axis if x.perm is None else x.perm.index(axis)
    axis_t = ctx.constant_index(np.array(a, np.int32))
    src = x.index if x.const is None else ctx.logical(x)
    return ctx.emit("CUMSUM", [src, axis_t], [x.shape], [x.dtype], opts,
                    perm=x.perm if x.const is None else None)


def _one_hot(ctx, node, ins, attrs):
    indices, depth_v, values = ins
    rank = indices.rank + 1
    axis = norm_axis(int(attrs.get("axis", -1)), rank, ctx)
    if depth_v.const is None:
        # depth known only at run time: the inferred output shape holds it
        known, _ = out_info(ctx)
        if known is None:
            raise ctx.error("OneHot's depth known only at run time needs a statically "
                            "known output shape")
        depth = int(known[axis])
    else:
        depth = int(int_array(depth_v, "OneHot's depth", ctx)[0])
    idx = _positive_indices(ctx, indices, depth)
    shape = out_shape(ctx, indices.shape[:axis] + (depth,) + indices.shape[axis:])
    dtype = values.dtype
    if values.const is not None:
        off, on = np.asarray(values.const).reshape(-1)[:2]
        on_t, off_t = (ctx.constant_index(np.array(v, dtype)) for v in (on, off))
    else:     # [off, on] computed at run time: two scalar GATHERs
        on_t, off_t = (ctx.emit("GATHER", [ctx.logical(values), ctx.constant_index(
            np.array(k, np.int32))], [()], [dtype], {"axis": 0, "batch_dims": 0})[0].index
            for k in (1, 0))
    args = [ctx.logical(idx), ctx.constant_index(np.array(depth, np.int32)), on_t, off_t]
    return ctx.emit("ONE_HOT", args, [shape], [dtype], {"axis": axis})


RULES = {"TopK": _topk, "CumSum": _cumsum, "OneHot": _one_hot}
