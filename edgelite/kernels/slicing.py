"""Ops that read a strided window of a tensor, or repeat it.

    op              dtypes                          versions   parameters
    SLICE           any                             1-8        begin, size (-1: to the end)
    STRIDED_SLICE   any                             1-8        begin, end, strides (int32)
                                                               and the five masks, offset
    REVERSE_V2      f16 f32 i8 u8 i16 i32 i64 bool  1-4        axes (int32, contiguous once
                    rank <= 8                                  sorted, as TFLite needs)
    TILE            any                             1-3        multiples (int32/int64)
    BROADCAST_TO    any                             2-4        shape (int32/int64)

"any" is float16/32/64, (u)int8/16/32, int64 and bool; quantized tensors are copied as
stored whatever the output's quantization says (TFLite checks nothing either). Every
window is a numpy view built at prepare, copied with ``np.copyto``. Parameter inputs
only known at invoke make the output dynamic (REVERSE_V2's shape never depends on them:
its axes are read at invoke).

STRIDED_SLICE follows TFLite's rules: begin/end wrap once when negative and clamp to the
axis ([0, n] going forward, [-1, n-1] going back); begin_mask/end_mask take the whole
axis; shrink_axis_mask takes the single element at begin; new_axis_mask inserts a 1;
the first ellipsis_mask bit stands for the axes no other entry names; ``offset`` makes
end relative to begin.
"""

from __future__ import annotations

import itertools

import numpy as np

from .api import KernelDef, PrepareContext, Run
from .elementwise import dtypes
from .shape_args import (
    ALL_TYPES,
    INDEX_TYPES,
    INT32,
    BadArgs,
    Plan,
    arg_input,
    axis_value,
    copy_view,
    data_input,
    ints,
    op_label,
    planned,
    same_output,
)

_REVERSE_TYPES = dtypes("float16 float32 int8 uint8 int16 int32 int64 bool")


def _view_shape(shape: tuple, index: tuple) -> tuple:
    """The shape ``x[index]`` has, computed on a zero-byte broadcast view."""
    return np.broadcast_to(np.zeros((), np.uint8), shape)[index].shape


def prepare_slice(ctx: PrepareContext) -> Run:
    ctx.check(len(ctx.inputs) == 3, "needs 3 inputs (input, begin, size)")
    x = data_input(ctx, 0, ALL_TYPES)
    same_output(ctx, x, raw=True)
    rank = len(x.shape)
    arg_input(ctx, 1, "begin", INDEX_TYPES, rank=1, size=rank)
    arg_input(ctx, 2, "size", INDEX_TYPES, rank=1, size=rank)

    def plan(begin: np.ndarray, size: np.ndarray) -> Plan:
        index = []
        for d, (b, s, n) in enumerate(zip(ints(begin), ints(size), x.shape)):
            if s == -1:
                s = n - b
            if b < 0 or s < 0 or b + s > n:
                raise BadArgs(f"begin {ints(begin)} and size {ints(size)} do not fit "
                              f"shape {list(x.shape)}")
            index.append(slice(b, b + s))
        index = tuple(index)
        return Plan([_view_shape(x.shape, index)], copy_view(index))
    return planned(ctx, [1, 2], plan, [x.dtype])


def _forward_slice(start: int, stop: int, stride: int) -> slice:
    """The numpy slice visiting TFLite's ``start, start+stride, ...`` before ``stop``
    (start and stop already clamped; -1 means before the first element)."""
    count = len(range(start, stop, stride))
    if count == 0:
        return slice(0, 0)
    last = start + (count - 1) * stride
    end = last + (1 if stride > 0 else -1)
    return slice(start, None if end < 0 else end, stride)


def _clamp(v: int, n: int, stride: int) -> int:
    v = v + n if v < 0 else v
    return min(max(v, 0), n) if stride > 0 else min(max(v, -1), n - 1)


def _strided_item(b: int, e: int, s: int, n: int, bit, i: int, offset: bool):
    """The numpy index for one STRIDED_SLICE entry on an input axis of size ``n``."""
    start = _clamp(b, n, s)
    if bit("begin_mask", i):
        start = 0 if s > 0 else n - 1
    if bit("shrink_axis_mask", i):
        if not 0 <= start < n:
            raise BadArgs(f"shrink index {b} is out of range for a dimension of {n}")
        return start
    stop = _clamp(e + start if offset else e, n, s)
    if bit("end_mask", i):
        stop = n if s > 0 else -1
    return _forward_slice(start, stop, s)


def strided_index(shape: tuple, begin: list, end: list, strides: list,
                  options: dict) -> tuple:
    """STRIDED_SLICE's window as a numpy basic index (ints, slices, None)."""
    masks = {k: int(options.get(k, 0) or 0) for k in
             ("begin_mask", "end_mask", "ellipsis_mask", "new_axis_mask", "shrink_axis_mask")}

    def bit(name: str, i: int) -> bool:
        return bool((masks[name] >> i) & 1)

    if 0 in strides:
        raise BadArgs("strides must be non-zero")
    ellipses = [i for i in range(len(begin)) if bit("ellipsis_mask", i)]
    if len(ellipses) > 1:
        raise BadArgs("more than one ellipsis")
    ell = ellipses[0] if ellipses else len(begin)
    named = [i for i in range(len(begin)) if i != ell and not bit("new_axis_mask", i)]
    if len(named) > len(shape):
        raise BadArgs(f"{len(named)} indexed axes for rank {len(shape)}")
    after = sum(1 for i in named if i > ell)
    axis_of = {i: k for k, i in enumerate(j for j in named if j < ell)}
    axis_of.update({i: len(shape) - after + k for k, i in
                    enumerate(j for j in named if j > ell)})
    items = []
    for i in range(len(begin)):
        if i == ell:
            items.append(Ellipsis)
        elif bit("new_axis_mask", i):
            items.append(None)
        else:
            items.append(_strided_item(begin[i], end[i], strides[i], shape[axis_of[i]], bit,
                                       i, bool(options.get("offset", False))))
    return tuple(items)


def prepare_strided_slice(ctx: PrepareContext) -> Run:
    ctx.check(len(ctx.inputs) == 4, "needs 4 inputs (input, begin, end, strides)")
    x = data_input(ctx, 0, ALL_TYPES)
    same_output(ctx, x, raw=True)
    n = arg_input(ctx, 1, "begin", INT32, rank=1).size
    ctx.check(n <= 31, f"{n} indices are over TFLite's 31")
    arg_input(ctx, 2, "end", INT32, rank=1, size=n)
    arg_input(ctx, 3, "strides", INT32, rank=1, size=n)

    def plan(begin: np.ndarray, end: np.ndarray, strides: np.ndarray) -> Plan:
        index = strided_index(x.shape, ints(begin), ints(end), ints(strides), ctx.options)
        return Plan([_view_shape(x.shape, index)], copy_view(index))
    return planned(ctx, [1, 2, 3], plan, [x.dtype])


def _reverse_index(axes: list[int], rank: int) -> tuple:
    axes = sorted(axis_value(a, rank) for a in axes)
    if any(b != a + 1 for a, b in itertools.pairwise(axes)):
        raise BadArgs(f"axes {axes} are not contiguous, which TFLite's kernel needs")
    return tuple(slice(None, None, -1) if d in axes else slice(None) for d in range(rank))


def prepare_reverse(ctx: PrepareContext) -> Run:
    ctx.check(len(ctx.inputs) == 2, "needs 2 inputs")
    x = data_input(ctx, 0, _REVERSE_TYPES)
    same_output(ctx, x, raw=True)
    rank = len(x.shape)
    ctx.check(rank <= 8, f"rank {rank} is over TFLite's 8")
    axis = arg_input(ctx, 1, "axis", INT32, rank=1)
    ctx.check(axis.size <= rank, f"{axis.size} axes for rank {rank}")
    ctx.set_output(0, x.shape, x.dtype)
    if axis.is_const:
        try:
            return copy_view(_reverse_index(ints(axis.data), rank))
        except BadArgs as e:
            raise ctx.error(str(e)) from None
    name = op_label(ctx)

    def run(ins, outs, scratch):
        try:
            index = _reverse_index(ints(ins[1]), rank)
        except BadArgs as e:
            raise RuntimeError(f"{name}: {e}") from None
        np.copyto(outs[0], ins[0][index])
    return run


def prepare_tile(ctx: PrepareContext) -> Run:
    ctx.check(len(ctx.inputs) == 2, "needs 2 inputs")
    x = data_input(ctx, 0, ALL_TYPES)
    same_output(ctx, x, raw=True)
    arg_input(ctx, 1, "multiples", INDEX_TYPES, rank=1, size=len(x.shape))

    def plan(multiples: np.ndarray) -> Plan:
        reps = ints(multiples)
        if min(reps, default=0) < 0:
            raise BadArgs(f"multiples {reps} must be non-negative")
        # out viewed as (r0, n0, r1, n1, ...) is x viewed as (1, n0, 1, n1, ...) broadcast
        interleaved = tuple(v for r, n in zip(reps, x.shape) for v in (r, n))
        spread = tuple(v for n in x.shape for v in (1, n))

        def body(ins, outs, scratch):
            np.copyto(outs[0].reshape(interleaved), ins[0].reshape(spread))
        return Plan([tuple(r * n for r, n in zip(reps, x.shape))], body)
    return planned(ctx, [1], plan, [x.dtype])


def prepare_broadcast_to(ctx: PrepareContext) -> Run:
    ctx.check(len(ctx.inputs) == 2, "needs 2 inputs")
    x = data_input(ctx, 0, ALL_TYPES)
    same_output(ctx, x, raw=True)
    arg_input(ctx, 1, "shape", INDEX_TYPES, rank=1)

    def plan(shape: np.ndarray) -> Plan:
        target = ints(shape)
        lead = len(target) - len(x.shape)
        if lead < 0 or min(target, default=0) < 0 or any(
                n not in (1, t) for n, t in zip(x.shape, target[lead:])):
            raise BadArgs(f"{list(x.shape)} does not broadcast to {target}")

        def body(ins, outs, scratch):
            np.copyto(outs[0], ins[0])
        return Plan([tuple(target)], body)
    return planned(ctx, [1], plan, [x.dtype])


KERNELS = {
    "SLICE": KernelDef(prepare_slice, 8),
    "STRIDED_SLICE": KernelDef(prepare_strided_slice, 8),
    "REVERSE_V2": KernelDef(prepare_reverse, 4),
    "TILE": KernelDef(prepare_tile, 3),
    "BROADCAST_TO": KernelDef(prepare_broadcast_to, 4),
}
