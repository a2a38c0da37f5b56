"""Indexing ops: WHERE (dynamic output), SCATTER_ND, GATHER (batch_dims 0), GATHER_ND, EMBEDDING_LOOKUP, ONE_HOT, ARG_MAX,
ARG_MIN, CUMSUM, TOPK_V2. Output shapes depend only on input shapes (and constant
parameters), so all of these plan statically; index values are read at run time."""

from __future__ import annotations

import numpy as np

from .api import KernelDef, PrepareContext
from .layout import _known


def prepare_gather(ctx: PrepareContext):
    x, idx = ctx.input(0), ctx.input(1)
    rank = len(x.shape)
    axis = ctx.options.get("axis", 0)
    ctx.check(-rank <= axis < rank, f"axis {axis} out of range for rank {rank}")
    axis %= rank
    ctx.check(ctx.options.get("batch_dims", 0) == 0, "batch_dims != 0 is not supported yet")
    ctx.check(idx.dtype in (np.int32, np.int64), "indices must be int32 or int64")
    shape = tuple(x.shape[:axis]) + tuple(idx.shape) + tuple(x.shape[axis + 1:])
    ctx.set_output(0, shape, x.dtype)
    limit = x.shape[axis]
    where = ctx.op_index

    def run(ins, outs, scratch):
        if ins[1].size and (ins[1].min() < 0 or ins[1].max() >= limit):
            raise IndexError(f"operator {where} (GATHER): index out of range [0, {limit})")
        np.take(ins[0], ins[1], axis=axis, out=outs[0])
    return run


def prepare_embedding_lookup(ctx: PrepareContext):
    ids, table = ctx.input(0), ctx.input(1)
    ctx.set_output(0, tuple(ids.shape) + tuple(table.shape[1:]), table.dtype)

    def run(ins, outs, scratch):
        np.take(ins[1], ins[0], axis=0, out=outs[0])
    return run


def prepare_gather_nd(ctx: PrepareContext):
    x, idx = ctx.input(0), ctx.input(1)
    depth = idx.shape[-1]
    ctx.check(depth <= len(x.shape), f"index depth {depth} > rank {len(x.shape)}")
    ctx.set_output(0, tuple(idx.shape[:-1]) + tuple(x.shape[depth:]), x.dtype)

    def run(ins, outs, scratch):
        flat = ins[1].reshape(-1, depth)
        np.copyto(outs[0].reshape((flat.shape[0],) + tuple(x.shape[depth:])),
                  ins[0][tuple(flat.T)])
    return run


def prepare_one_hot(ctx: PrepareContext):
    idx, on, off = ctx.input(0), ctx.input(2), ctx.input(3)
    depth = int(_known(ctx, 1, "depth").reshape(-1)[0])
    axis = ctx.options.get("axis", -1)
    rank = len(idx.shape) + 1
    axis = axis % rank
    shape = list(idx.shape)
    shape.insert(axis, depth)
    ctx.set_output(0, shape, on.dtype)
    classes = np.arange(depth).reshape([depth if d == axis else 1 for d in range(rank)])

    def run(ins, outs, scratch):
        hit = np.expand_dims(ins[0], axis) == classes
        np.copyto(outs[0], np.where(hit, ins[2], ins[3]))
    return run


def prepare_arg(ctx: PrepareContext):
    x = ctx.input(0)
    axis = int(_known(ctx, 1, "axis").reshape(-1)[0]) % len(x.shape)
    out_type = ctx.options.get("output_type", "INT64")
    ctx.set_output(0, [s for d, s in enumerate(x.shape) if d != axis],
                   np.int32 if out_type == "INT32" else np.int64)
    fn = np.argmax if ctx.opcode == "ARG_MAX" else np.argmin

    def run(ins, outs, scratch):
        np.copyto(outs[0], fn(ins[0], axis=axis), casting="unsafe")
    return run


def prepare_cumsum(ctx: PrepareContext):
    x = ctx.input(0)
    axis = int(_known(ctx, 1, "axis").reshape(-1)[0]) % len(x.shape)
    exclusive, reverse = ctx.options.get("exclusive", False), ctx.options.get("reverse", False)
    ctx.set_output(0, x.shape, x.dtype)
    flip = tuple(slice(None, None, -1) if d == axis else slice(None) for d in range(len(x.shape)))

    def run(ins, outs, scratch):
        src, dst = (ins[0][flip], outs[0][flip]) if reverse else (ins[0], outs[0])
        np.cumsum(src, axis=axis, out=dst)
        if exclusive:
            np.subtract(dst, src, out=dst)
    return run


def prepare_topk(ctx: PrepareContext):
    x = ctx.input(0)
    k = int(_known(ctx, 1, "k").reshape(-1)[0])
    ctx.check(0 <= k <= x.shape[-1], f"k={k} exceeds the last dimension {x.shape[-1]}")
    shape = tuple(x.shape[:-1]) + (k,)
    ctx.set_output(0, shape, x.dtype)
    ctx.set_output(1, shape, ctx.outputs[1].dtype if ctx.outputs[1].dtype.kind == "i"
                   else np.int32)

    def run(ins, outs, scratch):
        # stable descending order: among equal values the lower index comes first
        order = np.argsort(-ins[0], axis=-1, kind="stable")[..., :k]
        np.copyto(outs[1], order, casting="unsafe")
        np.copyto(outs[0], np.take_along_axis(ins[0], order, axis=-1))
    return run


def prepare_scatter_nd(ctx: PrepareContext):
    idx, updates = ctx.input(0), ctx.input(1)
    shape = _known(ctx, 2, "shape").reshape(-1).tolist()
    depth = idx.shape[-1]
    ctx.set_output(0, shape, updates.dtype)

    def run(ins, outs, scratch):
        outs[0].fill(0)
        flat = ins[0].reshape(-1, depth)
        np.add.at(outs[0], tuple(flat.T), ins[1].reshape((flat.shape[0],) +
                                                         tuple(shape[depth:])))
    return run


def prepare_where(ctx: PrepareContext):
    ctx.set_output_dynamic(0, np.int64)   # one row per true element: known only at run time

    def run(ins, outs, scratch):
        outs[0] = np.argwhere(ins[0]).astype(np.int64)
    return run


KERNELS = {
    "SCATTER_ND": KernelDef(prepare_scatter_nd, 1),
    "WHERE": KernelDef(prepare_where, 2),
    "GATHER": KernelDef(prepare_gather, 7),
    "GATHER_ND": KernelDef(prepare_gather_nd, 5),
    "EMBEDDING_LOOKUP": KernelDef(prepare_embedding_lookup, 3),
    "ONE_HOT": KernelDef(prepare_one_hot, 1),
    "ARG_MAX": KernelDef(prepare_arg, 3),
    "ARG_MIN": KernelDef(prepare_arg, 3),
    "CUMSUM": KernelDef(prepare_cumsum, 1),
    "TOPK_V2": KernelDef(prepare_topk, 3),
}
