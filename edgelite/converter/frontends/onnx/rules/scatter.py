"""GatherElements, ScatterElements, ScatterND and Trilu, through index tensors.

TFLite has GATHER_ND and SCATTER_ND only. GatherElements/ScatterElements become them by
building full coordinates: for an index tensor of shape ``I`` along ``axis``, the
coordinate tuple of each element is its own position with the ``axis`` entry replaced by
the index value (constant iotas concatenated with the run-time index on a last axis).

SCATTER_ND writes into zeros (adding duplicates), so a scatter *into data* is
``select(scatter_nd(idx, 1) > 0, scatter_nd(idx, updates), data)`` — reduction "none" —
or ``data + scatter_nd(idx, updates)`` — reduction "add". (With reduction "none" ONNX leaves
duplicate indices undefined; here they add.) Reductions max, min and mul are unrolled over
the update rows (bounded), so duplicate indices combine in order, exactly.

Trilu keeps the elements with ``col - row >= k`` (upper) or ``<= k`` (lower): a constant
``col - row`` grid compared with ``k`` (which may be known only at run time).
"""

from __future__ import annotations

import numpy as np

from ._common import norm_axis
from .elementwise import binary, scalar, select
from .movement import _positive_indices, as_int32
from .nn import _reshape_logical


def _coordinates(ctx, idx, axis: int, dim: int):
    """int32 ``I + (rank,)`` coordinates for element-wise indices ``idx`` along ``axis``."""
    idx = _positive_indices(ctx, idx, dim)
    shape, rank = idx.shape, idx.rank
    parts = []
    for k in range(rank):
        if k == axis:
            v = idx     # int32 after _positive_indices
            if v.const is not None:
                parts.append(ctx.constant_index(
                    np.asarray(v.const).astype(np.int32).reshape(shape + (1,))))
            else:
                parts.append(_reshape_logical(ctx, v, shape + (1,)).index)
        else:
            grid = np.indices(shape, dtype=np.int32)[k][..., None]
            parts.append(ctx.constant_index(np.ascontiguousarray(grid)))
    return ctx.emit("CONCATENATION", parts, [shape + (rank,)], [np.int32],
                    {"axis": rank, "fused_activation_function": "NONE"})[0]


def _gather_elements(ctx, node, ins, attrs):
    x, idx = ins
    axis = norm_axis(int(attrs.get("axis", 0)), x.rank, ctx)
    if idx.rank != x.rank:
        raise ctx.error(f"indices of rank {idx.rank} for data of rank {x.rank}")
    coords = _coordinates(ctx, idx, axis, x.shape[axis])
    return ctx.emit("GATHER_ND", [ctx.logical(x), coords.index], [idx.shape], [x.dtype])


_REDUCERS = {"max": "MAXIMUM", "min": "MINIMUM", "mul": "MUL"}
_MAX_UNROLL = 256


def _row(ctx, v, i: int):
    """Row ``i`` of a [m, ...] value, kept as [1, ...]."""
    begin = [i] + [0] * (v.rank - 1)
    end = [i + 1] + list(v.shape[1:])
    idx = [ctx.constant_index(np.array(b, np.int32)) for b in (begin, end, [1] * v.rank)]
    opts = {"begin_mask": 0, "end_mask": 0, "ellipsis_mask": 0, "new_axis_mask": 0,
            "shrink_axis_mask": 0, "offset": False}
    return ctx.emit("STRIDED_SLICE", [ctx.logical(v)] + idx, [(1,) + v.shape[1:]], [v.dtype],
                    opts, version=4 if v.rank > 4 else 1)[0]


def _scatter_reduce(ctx, data, coords_index: int, updates, reduction: str):
    """max/min/mul scatter, one update row at a time in index order (duplicates combine
    exactly as the ONNX reference does): SCATTER_ND of the row and of a hit mask, then
    ``select(hit, op(data, row), data)``."""
    t = ctx.sg.tensors[coords_index]
    k = t.shape[-1]
    m = int(np.prod(t.shape[:-1], dtype=np.int64))
    if m > _MAX_UNROLL:
        raise ctx.error(f"reduction {reduction!r} over {m} updates (more than "
                        f"{_MAX_UNROLL}) is not supported")
    rest = data.shape[k:]
    coords = ctx.emit("RESHAPE", [coords_index, ctx.constant_index(np.array([m, k], np.int32))],
                      [(m, k)], [np.int32], {"new_shape": [m, k]})[0]
    rows = _reshape_logical(ctx, updates, (m,) + rest)
    shape_t = ctx.constant_index(np.array(data.shape, np.int32))
    ones = ctx.constant_index(np.ones((1,) + rest, np.int32))
    for i in range(m):
        c = _row(ctx, coords, i).index
        scattered = ctx.emit("SCATTER_ND", [c, ctx.logical(_row(ctx, rows, i)), shape_t],
                             [data.shape], [data.dtype])[0]
        hit = ctx.emit("SCATTER_ND", [c, ones, shape_t], [data.shape], [np.int32])[0]
        mask = binary(ctx, "GREATER", hit, scalar(ctx, 0, np.int32))
        data = select(ctx, mask, binary(ctx, _REDUCERS[reduction], data, scattered), data)
    return data


def _scatter_into(ctx, data, coords_index: int, updates, reduction: str):
    if reduction in _REDUCERS:
        return _scatter_reduce(ctx, data, coords_index, updates, reduction)
    shape_t = ctx.constant_index(np.array(data.shape, np.int32))
    scattered = ctx.emit("SCATTER_ND", [coords_index, ctx.logical(updates), shape_t],
                         [data.shape], [data.dtype])[0]
    if reduction == "add":
        return binary(ctx, "ADD", data, scattered)
    if reduction != "none":
        raise ctx.error(f"reduction {reduction!r} is not supported (none, add, max, min, "
                        f"mul)")
    ones = ctx.constant_index(np.ones(updates.shape, np.int32))
    hit = ctx.emit("SCATTER_ND", [coords_index, ones, shape_t], [data.shape], [np.int32])[0]
    mask = binary(ctx, "GREATER", hit, scalar(ctx, 0, np.int32))
    return select(ctx, mask, scattered, data)


def _reduction(attrs) -> str:
    r = attrs.get("reduction", "none")
    return r.decode() if isinstance(r, bytes) else r


def _scatter_elements(ctx, node, ins, attrs):
    data, idx, updates = ins
    axis = norm_axis(int(attrs.get("axis", 0)), data.rank, ctx)
    coords = _coordinates(ctx, idx, axis, data.shape[axis])
    return [_scatter_into(ctx, data, coords.index, updates, _reduction(attrs))]


def _scatter_nd(ctx, node, ins, attrs):
    data, idx, updates = ins
    k = idx.shape[-1]
    if idx.const is not None:
        c = np.asarray(idx.const).astype(np.int64)
        dims = np.array(data.shape[:k], np.int64)
        coords = ctx.constant_index(np.where(c < 0, c + dims, c).astype(np.int32))
    else:
        coords = as_int32(ctx, idx)
    return [_scatter_into(ctx, data, coords, updates, _reduction(attrs))]


def _trilu(ctx, node, ins, attrs):
    x = ins[0]
    k = ins[1] if len(ins) > 1 else None
    if x.rank < 2:
        raise ctx.error(f"Trilu needs a rank >= 2 input, got shape {list(x.shape)}")
    rows, cols = x.shape[-2:]
    diff = (np.arange(cols, dtype=np.int64)[None, :]
            - np.arange(rows, dtype=np.int64)[:, None])
    upper = bool(attrs.get("upper", 1))
    if k is None or k.const is not None:
        kk = 0 if k is None else int(np.asarray(k.const).reshape(-1)[0])
        keep = ctx.const_value(diff >= kk if upper else diff <= kk)
    else:
        kv = _reshape_logical(ctx, k, ()) if k.shape != () else k
        keep = binary(ctx, "GREATER_EQUAL" if upper else "LESS_EQUAL",
                      ctx.const_value(diff), kv)
    zero = scalar(ctx, False if x.dtype == np.bool_ else 0, x.dtype)
    return [select(ctx, keep, x, zero)]


RULES = {"GatherElements": _gather_elements, "ScatterElements": _scatter_elements,
         "Scatter": _scatter_elements,
         "ScatterND": _scatter_nd, "Trilu": _trilu}
