"""Slicing and splitting with parameters known at prepare: SLICE, STRIDED_SLICE, SPLIT,
SPLIT_V, PACK, UNPACK, TILE, BROADCAST_TO, REVERSE_V2, MIRROR_PAD, SHAPE, FILL, RANGE.
Index tuples are built once in prepare and applied as numpy views at run time."""

from __future__ import annotations

import numpy as np

from .api import KernelDef, PrepareContext
from .layout import _known


def _shape_of(shape, index) -> tuple:
    """Shape numpy indexing gives, computed on a zero-byte broadcast view."""
    return np.broadcast_to(np.zeros(1, np.uint8), shape)[index].shape


def _copy_index(index):
    def run(ins, outs, scratch):
        np.copyto(outs[0], ins[0][index].reshape(outs[0].shape))
    return run


def prepare_slice(ctx: PrepareContext):
    x = ctx.input(0)
    begin = _known(ctx, 1, "begin").reshape(-1).tolist()
    size = _known(ctx, 2, "size").reshape(-1).tolist()
    ctx.check(len(begin) == len(size) == len(x.shape), "begin/size must match the rank")
    index = tuple(slice(b, x.shape[d] if s == -1 else b + s) for d, (b, s) in
                  enumerate(zip(begin, size)))
    shape = _shape_of(x.shape, index)
    ctx.check(all(b + s <= n for b, s, n in zip(begin, shape, x.shape)) and min(begin,
              default=0) >= 0, f"slice {begin}+{size} is outside {list(x.shape)}")
    ctx.set_output(0, shape, x.dtype)
    return _copy_index(index)


def prepare_strided_slice(ctx: PrepareContext):
    x = ctx.input(0)
    begin = _known(ctx, 1, "begin").reshape(-1).tolist()
    end = _known(ctx, 2, "end").reshape(-1).tolist()
    strides = _known(ctx, 3, "strides").reshape(-1).tolist() if ctx.input(3) is not None \
        else [1] * len(begin)
    ctx.check(0 not in strides, "strides must be non-zero")
    o = ctx.options
    bit = lambda name, i: bool((o.get(name, 0) >> i) & 1)  # noqa: E731
    index = []
    for i, (b, e, s) in enumerate(zip(begin, end, strides)):
        if bit("ellipsis_mask", i):
            index.append(Ellipsis)
        elif bit("new_axis_mask", i):
            index.append(np.newaxis)
        elif bit("shrink_axis_mask", i):
            index.append(b)
        else:
            if o.get("offset", False):
                e = b + e
            index.append(slice(None if bit("begin_mask", i) else b,
                               None if bit("end_mask", i) else e, s))
    index = tuple(index)
    try:
        shape = _shape_of(x.shape, index)
    except IndexError as err:
        raise ctx.error(f"strided slice does not fit {list(x.shape)}: {err}") from None
    ctx.set_output(0, shape, x.dtype)
    return _copy_index(index)


def _axis(ctx: PrepareContext, axis: int, rank: int) -> int:
    ctx.check(-rank <= axis < max(rank, 1), f"axis {axis} out of range for rank {rank}")
    return axis % max(rank, 1)


def _split_run(pieces, source: int = 0):
    def run(ins, outs, scratch):
        for out, index in zip(outs, pieces):
            np.copyto(out, ins[source][index])
    return run


def prepare_split(ctx: PrepareContext):
    x = ctx.input(1)   # SPLIT takes (axis, value)
    axis = _axis(ctx, int(_known(ctx, 0, "axis").reshape(-1)[0]), len(x.shape))
    n = ctx.options.get("num_splits", len(ctx.outputs))
    ctx.check(n > 0 and x.shape[axis] % n == 0, f"dimension {x.shape[axis]} does not split "
                                                 f"into {n} equal parts")
    step = x.shape[axis] // n
    pieces = [(slice(None),) * axis + (slice(k * step, (k + 1) * step),) for k in range(n)]
    for k in range(n):
        ctx.set_output(k, _shape_of(x.shape, pieces[k]), x.dtype)
    return _split_run(pieces, source=1)


def prepare_split_v(ctx: PrepareContext):
    x = ctx.input(0)
    sizes = _known(ctx, 1, "size_splits").reshape(-1).tolist()
    axis = _axis(ctx, int(_known(ctx, 2, "axis").reshape(-1)[0]), len(x.shape))
    if sizes.count(-1) == 1:
        sizes[sizes.index(-1)] = x.shape[axis] - (sum(sizes) + 1)
    ctx.check(sum(sizes) == x.shape[axis] and min(sizes) >= 0,
              f"size_splits {sizes} do not add up to {x.shape[axis]}")
    pieces, start = [], 0
    for k, size in enumerate(sizes):
        pieces.append((slice(None),) * axis + (slice(start, start + size),))
        ctx.set_output(k, _shape_of(x.shape, pieces[-1]), x.dtype)
        start += size
    return _split_run(pieces)


def prepare_pack(ctx: PrepareContext):
    specs = list(ctx.inputs)
    first = specs[0]
    ctx.check(all(s.shape == first.shape and s.dtype == first.dtype for s in specs),
              "all inputs must have the same shape and dtype")
    axis = _axis(ctx, ctx.options.get("axis", 0), len(first.shape) + 1)
    shape = list(first.shape)
    shape.insert(axis, len(specs))
    ctx.set_output(0, shape, first.dtype)
    where = [(slice(None),) * axis + (k,) for k in range(len(specs))]

    def run(ins, outs, scratch):
        for x, index in zip(ins, where):
            np.copyto(outs[0][index], x)
    return run


def prepare_unpack(ctx: PrepareContext):
    x = ctx.input(0)
    axis = _axis(ctx, ctx.options.get("axis", 0), len(x.shape))
    n = ctx.options.get("num", x.shape[axis]) or x.shape[axis]
    ctx.check(n == x.shape[axis], f"num {n} != dimension {x.shape[axis]}")
    pieces = [(slice(None),) * axis + (k,) for k in range(n)]
    for k in range(n):
        ctx.set_output(k, _shape_of(x.shape, pieces[k]), x.dtype)
    return _split_run(pieces)


def prepare_tile(ctx: PrepareContext):
    x = ctx.input(0)
    reps = _known(ctx, 1, "multiples").reshape(-1).tolist()
    ctx.check(len(reps) == len(x.shape) and min(reps, default=1) >= 0,
              f"multiples {reps} do not fit rank {len(x.shape)}")
    shape = [s * r for s, r in zip(x.shape, reps)]
    ctx.set_output(0, shape, x.dtype)
    interleaved = [v for s, r in zip(x.shape, reps) for v in (r, s)]
    spread = [v for s in x.shape for v in (1, s)]

    def run(ins, outs, scratch):
        np.copyto(outs[0].reshape(interleaved), ins[0].reshape(spread))
    return run


def prepare_broadcast_to(ctx: PrepareContext):
    x = ctx.input(0)
    shape = _known(ctx, 1, "shape").reshape(-1).tolist()
    try:
        np.broadcast_shapes(x.shape, tuple(shape))
    except ValueError:
        raise ctx.error(f"{list(x.shape)} does not broadcast to {shape}") from None
    ctx.set_output(0, shape, x.dtype)

    def run(ins, outs, scratch):
        np.copyto(outs[0], ins[0])
    return run


def prepare_reverse(ctx: PrepareContext):
    x = ctx.input(0)
    axes = [_axis(ctx, int(a), len(x.shape)) for a in _known(ctx, 1, "axis").reshape(-1)]
    index = tuple(slice(None, None, -1) if d in axes else slice(None)
                  for d in range(len(x.shape)))
    ctx.set_output(0, x.shape, x.dtype)
    return _copy_index(index)


def prepare_mirror_pad(ctx: PrepareContext):
    x = ctx.input(0)
    pads = _known(ctx, 1, "paddings").reshape(-1, 2).astype(np.int64)
    mode = "reflect" if ctx.options.get("mode", "REFLECT") == "REFLECT" else "symmetric"
    ctx.set_output(0, [s + int(a) + int(b) for s, (a, b) in zip(x.shape, pads)], x.dtype)
    # index map computed once: out = x.flat[index]
    index = np.pad(np.arange(x.size).reshape(x.shape), pads.tolist(), mode=mode)

    def run(ins, outs, scratch):
        np.take(ins[0].reshape(-1), index, out=outs[0])
    return run


def prepare_shape(ctx: PrepareContext):
    x = ctx.input(0)
    dtype = np.int64 if ctx.options.get("out_type") == "INT64" else np.int32
    ctx.set_output(0, (len(x.shape),), dtype)
    # the value is known now whatever the input holds: readers (RESHAPE, ...) see it
    ctx.outputs[0].data = np.array(x.shape, dtype)

    def run(ins, outs, scratch):
        pass
    return run


def prepare_fill(ctx: PrepareContext):
    dims = _known(ctx, 0, "dims").reshape(-1).tolist()
    value = ctx.input(1)
    ctx.set_output(0, dims, value.dtype)

    def run(ins, outs, scratch):
        np.copyto(outs[0], ins[1])
    return run


def prepare_range(ctx: PrepareContext):
    specs = [ctx.input(i) for i in range(3)]
    dtype = specs[0].dtype
    if all(s.data is not None for s in specs):
        start, limit, delta = (np.asarray(s.data).reshape(-1)[0] for s in specs)
        ctx.check(delta != 0, "delta must be non-zero")
        value = np.arange(start, limit, delta).astype(dtype)
        ctx.set_output(0, value.shape, dtype)

        def run(ins, outs, scratch):
            np.copyto(outs[0], value)
        return run
    ctx.set_output_dynamic(0, dtype)   # the length depends on values seen at run time

    def run_dynamic(ins, outs, scratch):
        start, limit, delta = (a.reshape(-1)[0] for a in ins)
        if delta == 0:
            raise ValueError(f"operator {ctx.op_index} (RANGE): delta is 0")
        outs[0] = np.arange(start, limit, delta).astype(dtype)
    return run_dynamic


KERNELS = {
    "SLICE": KernelDef(prepare_slice, 6),
    "STRIDED_SLICE": KernelDef(prepare_strided_slice, 8),
    "SPLIT": KernelDef(prepare_split, 4),
    "SPLIT_V": KernelDef(prepare_split_v, 2),
    "PACK": KernelDef(prepare_pack, 4),
    "UNPACK": KernelDef(prepare_unpack, 4),
    "TILE": KernelDef(prepare_tile, 3),
    "BROADCAST_TO": KernelDef(prepare_broadcast_to, 3),
    "REVERSE_V2": KernelDef(prepare_reverse, 3),
    "MIRROR_PAD": KernelDef(prepare_mirror_pad, 3),
    "SHAPE": KernelDef(prepare_shape, 1),
    "FILL": KernelDef(prepare_fill, 4),
    "RANGE": KernelDef(prepare_range, 2),
}
