"""Reductions along axes, and the ops that rank or accumulate along one axis.

    op                    dtypes                     versions   parameters
    MEAN, SUM             f32 i32 i64; q i8 u8 i16   1-3, 1-2   axis (int32, any shape),
    REDUCE_MAX, _MIN      f32 i8 u8 i16 i32 i64      1-3        keep_dims; negative and
    REDUCE_PROD           f32 i8 u8 i16 i32 i64;     1-2        repeated axes allowed
                          q i8 i16
    ARG_MAX, ARG_MIN      f32 i8 u8 i32 bool         1-3        axis (int32/int64, one
                                                                value), output_type
    CUMSUM                f32 i32 i64                1          axis (int32), exclusive,
                                                                reverse
    TOPK_V2               f32 i8 u8 i16 i32 i64      1-3        k (int32/int16), indices
                                                                int32 or int16

Integer sums and products wrap; integer MEAN sums in int64 and divides truncating toward
zero, as TFLite does; MEAN of an empty input is NaN (0 for integers). REDUCE_MAX/MIN
compare quantized values as stored (the output quantized alike). int8/uint8/int16 MEAN
and SUM, and a quantized int8/int16 REDUCE_PROD, requantize as LiteRT does: see
:mod:`edgelite.kernels.reduce_quantized`.
ARG_MAX/MIN pick the first extreme; TOPK_V2 orders by value, descending, ties by lower
index, NaN last (TFLite's order). An axis or k known only at invoke makes the output
dynamic (CUMSUM's shape never depends on its axis, which is then read at invoke).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .api import KernelDef, PrepareContext, Run
from .elementwise import check_dtype, dtypes
from .reduce_quantized import check_quantized, quantized_body, wants_quantized
from .shape_args import (
    INDEX_TYPES,
    INT32,
    BadArgs,
    Plan,
    arg_input,
    axis_value,
    data_input,
    ints,
    op_label,
    planned,
    same_output,
)

_SUM_TYPES = dtypes("float32 int32 int64")
_EXTREME_TYPES = dtypes("float32 int8 uint8 int16 int32 int64")
_SMALL = dtypes("int8 uint8 int16")
_ARG_TYPES = dtypes("float32 int8 uint8 int32 bool")
_INDEX_OUT = {"INT32": np.int32, "INT64": np.int64}


def _reduce_input(ctx: PrepareContext):
    ctx.check(len(ctx.inputs) == 2, "needs 2 inputs (input, axis)")
    op, x = ctx.opcode, ctx.input(0)
    ctx.check(x is not None, "input 0 is missing")
    if wants_quantized(op, x):
        check_quantized(ctx, op, x, ctx.outputs[0])
    elif op in ("MEAN", "SUM"):
        check_dtype(ctx, x, _SUM_TYPES, _SMALL)
    elif op == "REDUCE_PROD":
        check_dtype(ctx, x, _EXTREME_TYPES)
    else:
        check_dtype(ctx, x, _EXTREME_TYPES, raw_quantized=True)
        same_output(ctx, x)
    ctx.check(ctx.outputs[0].dtype == x.dtype, f"output is {ctx.outputs[0].dtype}, not "
                                               f"{x.dtype}")
    arg_input(ctx, 1, "axis", INT32)
    return x


def _reduced_shape(shape: tuple, axes: list[int], keep: bool) -> tuple:
    if keep:
        return tuple(1 if d in axes else n for d, n in enumerate(shape))
    return tuple(n for d, n in enumerate(shape) if d not in axes)


def _middle_run(shape: tuple, axes: tuple):
    """(outer, reduced, inner) sizes when ``axes`` are consecutive and keep the last axis
    (a spatial MEAN over NHWC's H and W): the input as ``[outer, reduced, inner]``."""
    if not axes or axes[-1] >= len(shape) - 1 or list(axes) != list(range(axes[0],
                                                                         axes[-1] + 1)):
        return None
    def size(dims) -> int:
        return int(np.prod(dims, dtype=np.int64))
    return size(shape[:axes[0]]), size(shape[axes[0]:axes[-1] + 1]), \
        size(shape[axes[-1] + 1:])


@njit(cache=True)
def _sum_middle(x, out):
    """``out[o, i] = sum over r of x[o, r, i]``, r in order (as TFLite's reference kernel
    accumulates), whole rows of ``i`` at a time (numpy's reduce over the middle axes ran
    strided, element by element: 64 us for MobileNetV2's 7x7x1280 pooling)."""
    for o in range(x.shape[0]):
        acc = out[o]
        acc[:] = 0
        for r in range(x.shape[1]):
            row = x[o, r]
            for i in range(acc.shape[0]):
                acc[i] += row[i]


def _mean_body(x, axes: tuple, keep: bool, count: int) -> Plan:
    """Float: sum / count. Integers: int64 sum, truncating division (scratch 0, 1)."""
    if x.size == 0:
        nan = np.array(np.nan if x.dtype.kind == "f" else 0).astype(x.dtype)

        def empty(ins, outs, scratch):
            outs[0].fill(nan)
        return empty, []
    middle = _middle_run(x.shape, axes)
    if x.dtype == np.float32 and middle is not None:
        inv = x.dtype.type(count)

        def body_rows(ins, outs, scratch):
            _sum_middle(ins[0].reshape(middle), outs[0].reshape(middle[0], middle[2]))
            np.divide(outs[0], inv, out=outs[0])
        return body_rows, []
    if x.dtype.kind == "f":
        def body(ins, outs, scratch):
            np.add.reduce(ins[0], axis=axes, dtype=x.dtype, keepdims=keep, out=outs[0])
            np.divide(outs[0], x.dtype.type(count), out=outs[0])
        return body, []

    def body_int(ins, outs, scratch):
        total, rem = scratch[0], scratch[1]
        np.add.reduce(ins[0], axis=axes, dtype=np.int64, keepdims=keep, out=total)
        np.fmod(total, count, out=rem)   # total - fmod is an exact multiple of count
        np.subtract(total, rem, out=total)
        np.floor_divide(total, count, out=total)
        np.copyto(outs[0], total, casting="unsafe")
    return body_int, ["total", "rem"]


def _reduce_body(op: str, x, axes: tuple, keep: bool, shape: tuple, out=None,
                 num_threads: int = 1):
    if wants_quantized(op, x):
        return quantized_body(op, x, out, axes, keep, shape, num_threads)
    if op == "MEAN":
        count = int(np.prod([x.shape[a] for a in axes], dtype=np.int64))
        body, names = _mean_body(x, axes, keep, count)
        return body, [(shape, np.int64)] * len(names)
    ufunc = {"SUM": np.add, "REDUCE_PROD": np.multiply, "REDUCE_MAX": np.maximum,
             "REDUCE_MIN": np.minimum}[op]
    if any(x.shape[a] == 0 for a in axes):   # nothing to reduce: TFLite's initial value
        info = np.finfo(x.dtype) if x.dtype.kind == "f" else np.iinfo(x.dtype)
        initial = {"SUM": 0, "REDUCE_PROD": 1, "REDUCE_MAX": info.min,
                   "REDUCE_MIN": info.max}[op]

        def fill(ins, outs, scratch):
            outs[0].fill(initial)
        return fill, []

    def body(ins, outs, scratch):
        ufunc.reduce(ins[0], axis=axes, dtype=x.dtype, keepdims=keep, out=outs[0])
    return body, []


def prepare_reduce(ctx: PrepareContext) -> Run:
    x = _reduce_input(ctx)
    keep, rank = bool(ctx.options.get("keep_dims", False)), len(x.shape)

    def plan(axis: np.ndarray) -> Plan:
        axes = []
        for a in ints(axis) if rank else []:
            a = axis_value(a, rank)
            if a not in axes:
                axes.append(a)
        shape = _reduced_shape(x.shape, axes, keep)
        body, scratch = _reduce_body(ctx.opcode, x, tuple(sorted(axes)), keep, shape,
                                     ctx.outputs[0], ctx.num_threads)
        return Plan([shape], body, scratch)
    return planned(ctx, [1], plan, [x.dtype])


@njit(cache=True)
def _arg_extreme(x, out, is_max):
    for o in range(x.shape[0]):
        for i in range(x.shape[2]):
            best, at = x[o, 0, i], 0
            for n in range(1, x.shape[1]):
                v = x[o, n, i]
                if (v > best) if is_max else (v < best):
                    best, at = v, n
            out[o, i] = at


def _outer_axis_inner(shape: tuple, axis: int) -> tuple[int, int, int]:
    return (int(np.prod(shape[:axis], dtype=np.int64)), shape[axis],
            int(np.prod(shape[axis + 1:], dtype=np.int64)))


def prepare_arg(ctx: PrepareContext) -> Run:
    ctx.check(len(ctx.inputs) == 2, "needs 2 inputs (input, axis)")
    x = data_input(ctx, 0, _ARG_TYPES)
    ctx.check(len(x.shape) >= 1, "the input must have rank >= 1")
    arg_input(ctx, 1, "axis", INDEX_TYPES, size=1)
    out_type = ctx.options.get("output_type")
    ctx.check(out_type in _INDEX_OUT, f"output_type {out_type} is not INT32 or INT64")
    is_max = ctx.opcode == "ARG_MAX"

    def plan(axis: np.ndarray) -> Plan:
        a = axis_value(ints(axis)[0], len(x.shape))
        if x.shape[a] == 0:
            raise BadArgs(f"axis {a} is empty")
        o, n, i = _outer_axis_inner(x.shape, a)

        def body(ins, outs, scratch):
            _arg_extreme(ins[0].reshape(o, n, i), outs[0].reshape(o, i), is_max)
        return Plan([x.shape[:a] + x.shape[a + 1:]], body)
    return planned(ctx, [1], plan, [_INDEX_OUT[out_type]])


@njit(cache=True)
def _cumsum(x, out, exclusive, reverse):
    n = x.shape[1]
    for o in range(x.shape[0]):
        for i in range(x.shape[2]):
            prev = -1
            for step in range(n):
                k = n - 1 - step if reverse else step
                if exclusive:
                    out[o, k, i] = 0 if prev < 0 else out[o, prev, i] + x[o, prev, i]
                else:
                    out[o, k, i] = x[o, k, i] if prev < 0 else out[o, prev, i] + x[o, k, i]
                prev = k


def prepare_cumsum(ctx: PrepareContext) -> Run:
    ctx.check(len(ctx.inputs) == 2, "needs 2 inputs (input, axis)")
    x = ctx.input(0)
    ctx.check(x is not None, "input 0 is missing")
    check_dtype(ctx, x, _SUM_TYPES)
    ctx.check(len(x.shape) >= 1, "the input must have rank >= 1")
    axis = arg_input(ctx, 1, "axis", INT32, size=1)
    ctx.set_output(0, x.shape, x.dtype)
    exclusive = bool(ctx.options.get("exclusive", False))
    reverse = bool(ctx.options.get("reverse", False))
    if axis.is_const:
        try:
            shape3 = _outer_axis_inner(x.shape, axis_value(ints(axis.data)[0], len(x.shape)))
        except BadArgs as e:
            raise ctx.error(str(e)) from None

        def run(ins, outs, scratch):
            _cumsum(ins[0].reshape(shape3), outs[0].reshape(shape3), exclusive, reverse)
        return run
    name = op_label(ctx)

    def run_axis(ins, outs, scratch):
        try:
            shape = _outer_axis_inner(x.shape, axis_value(ints(ins[1])[0], len(x.shape)))
        except BadArgs as e:
            raise RuntimeError(f"{name}: {e}") from None
        _cumsum(ins[0].reshape(shape), outs[0].reshape(shape), exclusive, reverse)
    return run_axis


@njit(cache=True)
def _beats(v, w):
    """Does ``v`` (seen later) rank before ``w``? Greater first, NaN last, ties keep w."""
    if np.isnan(w):
        return not np.isnan(v)
    return v > w


@njit(cache=True)
def _top_k(x, values, indices):
    """Each row's k best, by insertion into the outputs themselves."""
    k = values.shape[1]
    for r in range(x.shape[0]):
        count = 0
        for c in range(x.shape[1]):
            v = x[r, c]
            if count < k:
                pos = count
                count += 1
            elif _beats(v, values[r, k - 1]):
                pos = k - 1
            else:
                continue
            while pos > 0 and _beats(v, values[r, pos - 1]):
                values[r, pos] = values[r, pos - 1]
                indices[r, pos] = indices[r, pos - 1]
                pos -= 1
            values[r, pos] = v
            indices[r, pos] = c


def prepare_topk(ctx: PrepareContext) -> Run:
    ctx.check(len(ctx.inputs) == 2 and len(ctx.outputs) == 2,
              "needs 2 inputs (input, k) and 2 outputs (values, indices)")
    x = data_input(ctx, 0, _EXTREME_TYPES)
    same_output(ctx, x)
    ctx.check(len(x.shape) >= 1, "the input must have rank >= 1")
    arg_input(ctx, 1, "k", dtypes("int32 int16"), size=1)
    index_type = ctx.outputs[1].dtype
    ctx.check(index_type in (np.int32, np.int16), f"indices output is {index_type}, not "
                                                  "int32 or int16")
    rows, n = int(np.prod(x.shape[:-1], dtype=np.int64)), x.shape[-1]

    def plan(k: np.ndarray) -> Plan:
        k = max(ints(k)[0], 0)
        if k > n:
            raise BadArgs(f"k {k} is over the last dimension ({n})")
        shape = x.shape[:-1] + (k,)

        def body(ins, outs, scratch):
            _top_k(ins[0].reshape(rows, n), outs[0].reshape(rows, k),
                   outs[1].reshape(rows, k))
        return Plan([shape, shape], body)
    return planned(ctx, [1], plan, [x.dtype, index_type])


KERNELS = {
    "MEAN": KernelDef(prepare_reduce, 3),
    "SUM": KernelDef(prepare_reduce, 2),
    "REDUCE_MAX": KernelDef(prepare_reduce, 3),
    "REDUCE_MIN": KernelDef(prepare_reduce, 3),
    "REDUCE_PROD": KernelDef(prepare_reduce, 2),
    "ARG_MAX": KernelDef(prepare_arg, 3),
    "ARG_MIN": KernelDef(prepare_arg, 3),
    "CUMSUM": KernelDef(prepare_cumsum, 1),
    "TOPK_V2": KernelDef(prepare_topk, 3),
}
