"""Indexing ops: elements picked (or scattered) by index tensors read at invoke.

    op                dtypes                              versions   indices
    GATHER            f16 f32 i8 u8 i16 i32 i64 bool      1-8        int16/32/64; axis and
                                                                     batch_dims options
    GATHER_ND         f16 f32 i8 u8 i16 i32 i64 bool      1-6        int16/32/64, last axis
                                                                     indexes the leading axes
    SCATTER_ND        f32 i8 u8 i32 i64 bool              1          int32 indices and shape;
                                                                     duplicates add (bool: or)
    EMBEDDING_LOOKUP  any; int8/uint8 -> float32 hybrid   1-5        1-D int32 row ids
    ONE_HOT           f32 i8 u8 i32 i64 bool              1          int32/int64; depth int32

A negative or too large index fails the invoke with a RuntimeError naming the op (LiteRT
fails its invoke too). Output shapes depend only on input shapes, except SCATTER_ND's
shape input and ONE_HOT's depth: known only at invoke, they make the output dynamic.

The copies run as numba loops over bytes (each element's bytes an extra innermost axis),
so one compiled loop serves every dtype. EMBEDDING_LOOKUP with int8 (or uint8, whose bytes
TFLite also reads as int8) rows and a float32 output dequantizes: ``row * scale``, the
scale per row when the table has one per row; zero points must be 0.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .api import KernelDef, PrepareContext, Run
from .elementwise import dtypes
from .shape_args import (
    ALL_TYPES,
    INDEX_TYPES,
    INT32,
    BadArgs,
    Plan,
    arg_input,
    as_bytes,
    data_input,
    ints,
    op_label,
    planned,
    same_output,
)

_GATHER_TYPES = dtypes("float16 float32 int8 uint8 int16 int32 int64 bool")
_POSITION_TYPES = dtypes("int16 int32 int64")
_SCATTER_TYPES = dtypes("float32 int8 uint8 int32 int64 bool")
_ONE_HOT_TYPES = dtypes("float32 int8 uint8 int32 int64 bool")


@njit(cache=True)
def _gather(src, idx, out):
    """out[b, o, k] = src[b, o, idx[b, k]] over byte rows; returns where a bad index
    sits in ``idx`` (flat), or -1."""
    n = src.shape[2]
    for b in range(idx.shape[0]):
        for k in range(idx.shape[1]):
            i = idx[b, k]
            if i < 0 or i >= n:
                return b * idx.shape[1] + k
            for o in range(src.shape[1]):
                out[b, o, k, :] = src[b, o, i, :]
    return -1


@njit(cache=True)
def _gather_nd(src, dims, idx, out):
    """out[m] = src[row idx[m] of the leading ``dims``] over byte rows; returns a bad
    index row or -1."""
    for m in range(idx.shape[0]):
        row = 0
        for j in range(idx.shape[1]):
            i = idx[m, j]
            if i < 0 or i >= dims[j]:
                return m
            row = row * dims[j] + i
        out[m, :] = src[row, :]
    return -1


def _index_error(ctx: PrepareContext, what: str):
    name = op_label(ctx)

    def fail(bad) -> None:
        raise RuntimeError(f"{name}: {what} {bad} is out of range")
    return fail


def prepare_gather(ctx: PrepareContext) -> Run:
    ctx.check(len(ctx.inputs) == 2, "needs 2 inputs (params, indices)")
    x = data_input(ctx, 0, _GATHER_TYPES)
    same_output(ctx, x, typed_by_input=True, raw=True)
    idx = arg_input(ctx, 1, "indices", _POSITION_TYPES)
    rank, irank = len(x.shape), len(idx.shape)
    axis, bd = int(ctx.options.get("axis", 0)), int(ctx.options.get("batch_dims", 0) or 0)
    axis, bd = axis + rank if axis < 0 else axis, bd + irank if bd < 0 else bd
    ctx.check(0 <= axis < rank, f"axis {ctx.options.get('axis')} is out of range for rank "
                                f"{rank}")
    ctx.check(0 <= bd <= axis and bd < rank and bd <= irank,
              f"batch_dims {ctx.options.get('batch_dims')} does not fit axis {axis}, ranks "
              f"{rank} and {irank}")
    ctx.check(x.shape[:bd] == idx.shape[:bd], f"batch dimensions of {list(x.shape)} and "
                                              f"{list(idx.shape)} differ")
    ctx.set_output(0, x.shape[:axis] + idx.shape[bd:] + x.shape[axis + 1:], x.dtype)
    batch = int(np.prod(x.shape[:bd], dtype=np.int64))
    outer = int(np.prod(x.shape[bd:axis], dtype=np.int64))
    inner = int(np.prod(x.shape[axis + 1:], dtype=np.int64))
    src_shape = (batch, outer, x.shape[axis], inner)
    idx_shape = (batch, int(np.prod(idx.shape[bd:], dtype=np.int64)))
    out_shape = (batch, outer, idx_shape[1], inner)
    fail = _index_error(ctx, "index")

    def run(ins, outs, scratch):
        bad = _gather(as_bytes(ins[0], src_shape), ins[1].reshape(idx_shape),
                      as_bytes(outs[0], out_shape))
        if bad != -1:
            fail(ins[1].reshape(-1)[bad])
    return run


def prepare_gather_nd(ctx: PrepareContext) -> Run:
    ctx.check(len(ctx.inputs) == 2, "needs 2 inputs (params, indices)")
    x = data_input(ctx, 0, _GATHER_TYPES)
    same_output(ctx, x, typed_by_input=True, raw=True)
    idx = arg_input(ctx, 1, "indices", _POSITION_TYPES)
    ctx.check(len(x.shape) >= 1 and len(idx.shape) >= 1, "params and indices must not be 0-D")
    nd = idx.shape[-1]
    ctx.check(nd <= len(x.shape), f"index depth {nd} is over the params rank {len(x.shape)}")
    ctx.check(x.size > 0 or idx.size == 0, "empty params")
    ctx.set_output(0, idx.shape[:-1] + x.shape[nd:], x.dtype)
    rows = int(np.prod(x.shape[:nd], dtype=np.int64))
    inner = int(np.prod(x.shape[nd:], dtype=np.int64))
    dims = np.array(x.shape[:nd], np.int64)
    count = int(np.prod(idx.shape[:-1], dtype=np.int64))
    fail = _index_error(ctx, "index row")

    def run(ins, outs, scratch):
        bad = _gather_nd(as_bytes(ins[0], (rows, inner)), dims,
                         ins[1].reshape(count, nd), as_bytes(outs[0], (count, inner)))
        if bad != -1:
            fail(ints(ins[1].reshape(count, nd)[bad]))
    return run


@njit(cache=True)
def _scatter_nd(idx, updates, dims, out, logical):
    """out = 0, then out[idx[m]] += updates[m] (wrapping; ``logical``: or) over flat rows;
    returns a bad update row or -1."""
    out[:] = 0
    for m in range(idx.shape[0]):
        row = 0
        for j in range(idx.shape[1]):
            i = idx[m, j]
            if i < 0 or i >= dims[j]:
                return m
            row = row * dims[j] + i
        for e in range(updates.shape[1]):
            if logical:
                out[row, e] = max(out[row, e], updates[m, e])   # bools as 0/1 bytes
            else:
                out[row, e] = out[row, e] + updates[m, e]
    return -1


def prepare_scatter_nd(ctx: PrepareContext) -> Run:
    ctx.check(len(ctx.inputs) == 3, "needs 3 inputs (indices, updates, shape)")
    idx = arg_input(ctx, 0, "indices", INT32)
    upd = data_input(ctx, 1, _SCATTER_TYPES)
    same_output(ctx, upd, typed_by_input=True)
    arg_input(ctx, 2, "shape", INT32, rank=1)
    ctx.check(len(idx.shape) >= 1 and len(upd.shape) >= 1, "indices and updates must not be "
                                                           "0-D")
    outer, nd = idx.shape[:-1], idx.shape[-1]
    logical = upd.dtype == np.bool_
    fail = _index_error(ctx, "index row")

    def plan(shape: np.ndarray) -> Plan:
        dims = ints(shape)
        if upd.shape != outer + tuple(dims[nd:]) or nd > len(dims) or min(dims, default=0) < 0:
            raise BadArgs(f"indices {list(idx.shape)} and updates {list(upd.shape)} do not "
                          f"fit shape {dims}")
        inner = int(np.prod(dims[nd:], dtype=np.int64))
        count, rows = int(np.prod(outer, dtype=np.int64)), int(np.prod(dims[:nd],
                                                                        dtype=np.int64))
        lead = np.array(dims[:nd], np.int64)

        def body(ins, outs, scratch):
            u, o = ins[1].reshape(count, inner), outs[0].reshape(rows, inner)
            if logical:
                u, o = u.view(np.uint8), o.view(np.uint8)
            bad = _scatter_nd(ins[0].reshape(count, nd), u, lead, o, logical)
            if bad != -1:
                fail(ints(ins[0].reshape(count, nd)[bad]))
        return Plan([tuple(dims)], body)
    return planned(ctx, [2], plan, [upd.dtype])


@njit(cache=True)
def _lookup_scaled(ids, table, scales, out):
    """Hybrid lookup: out[i] = float32(table[ids[i]]) * scale of that row; returns the
    position of a bad id, or -1."""
    for i in range(ids.size):
        r = ids[i]
        if r < 0 or r >= table.shape[0]:
            return i
        s = scales[r] if scales.size > 1 else scales[0]
        for e in range(table.shape[1]):
            out[i, e] = np.float32(table[r, e]) * s
    return -1


def prepare_embedding_lookup(ctx: PrepareContext) -> Run:
    ctx.check(len(ctx.inputs) == 2, "needs 2 inputs (ids, table)")
    ids = arg_input(ctx, 0, "ids", INT32, rank=1)
    table = data_input(ctx, 1, ALL_TYPES)
    ctx.check(len(table.shape) >= 2, f"the table must be 2-D or more, not {list(table.shape)}")
    out = ctx.outputs[0]
    n, rows = ids.shape[0], table.shape[0]
    width = int(np.prod(table.shape[1:], dtype=np.int64))
    ctx.set_output(0, (n,) + table.shape[1:], out.dtype)
    fail = _index_error(ctx, "row id")
    if out.dtype == table.dtype:
        same_output(ctx, table)

        def run(ins, outs, scratch):
            bad = _gather(as_bytes(ins[1], (1, 1, rows, width)), ins[0].reshape(1, n),
                          as_bytes(outs[0], (1, 1, n, width)))
            if bad != -1:
                fail(ins[0][bad])
        return run
    q = table.quantization
    ctx.check(out.dtype == np.float32 and table.dtype in (np.int8, np.uint8) and q is not None
              and len(q.scales) in (1, rows), f"looking up {table.dtype} rows as {out.dtype} "
                                              "is not supported yet")
    ctx.check(not np.any(q.zero_points), "a hybrid lookup needs zero points of 0")
    scales = np.asarray(q.scales, np.float32)

    def run_hybrid(ins, outs, scratch):
        bad = _lookup_scaled(ins[0], ins[1].reshape(rows, width).view(np.int8), scales,
                             outs[0].reshape(n, width))
        if bad != -1:
            fail(ins[0][bad])
    return run_hybrid


@njit(cache=True)
def _one_hot(idx, on, off, out):
    for p in range(out.shape[0]):
        for d in range(out.shape[1]):
            for s in range(out.shape[2]):
                out[p, d, s] = on[0] if np.int32(idx[p, s]) == d else off[0]


def prepare_one_hot(ctx: PrepareContext) -> Run:
    ctx.check(len(ctx.inputs) == 4, "needs 4 inputs (indices, depth, on_value, off_value)")
    idx = arg_input(ctx, 0, "indices", INDEX_TYPES)
    arg_input(ctx, 1, "depth", INT32, size=1)
    on, off = data_input(ctx, 2, _ONE_HOT_TYPES), data_input(ctx, 3, _ONE_HOT_TYPES)
    ctx.check(on.size == 1 and off.size == 1 and on.dtype == off.dtype,
              "on_value and off_value must be single values of one dtype")
    same_output(ctx, on, typed_by_input=True)
    rank = len(idx.shape) + 1
    axis = int(ctx.options.get("axis", -1))
    axis = rank - 1 if axis == -1 else axis
    ctx.check(0 <= axis < rank, f"axis {ctx.options.get('axis')} is out of range for rank "
                                f"{rank}")
    prefix = int(np.prod(idx.shape[:axis], dtype=np.int64))
    suffix = int(np.prod(idx.shape[axis:], dtype=np.int64))

    def plan(depth: np.ndarray) -> Plan:
        d = ints(depth)[0]
        if d < 0:
            raise BadArgs(f"depth {d} must be non-negative")

        def body(ins, outs, scratch):
            _one_hot(ins[0].reshape(prefix, suffix), ins[2].reshape(1), ins[3].reshape(1),
                     outs[0].reshape(prefix, d, suffix))
        return Plan([idx.shape[:axis] + (d,) + idx.shape[axis:]], body)
    return planned(ctx, [1], plan, [on.dtype])


KERNELS = {
    "GATHER": KernelDef(prepare_gather, 8),
    "GATHER_ND": KernelDef(prepare_gather_nd, 6),
    "SCATTER_ND": KernelDef(prepare_scatter_nd, 1),
    "EMBEDDING_LOOKUP": KernelDef(prepare_embedding_lookup, 5),
    "ONE_HOT": KernelDef(prepare_one_hot, 1),
}
