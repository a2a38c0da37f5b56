"""Ops that change a tensor's shape but not its bytes, and SHAPE.

    op            dtypes     versions   shape from
    RESHAPE       any        1          input 1 when it is a 1-D int32 tensor, else the
                                        ``new_shape`` option ([0] meaning a scalar);
                                        at most one -1, inferred from the element count
    SQUEEZE       any        1-2        ``squeeze_dims`` (all size-1 dims when empty)
    EXPAND_DIMS   any        1          axis input (int32/int64) in [-rank-1, rank]
    SHAPE         any        1          ``out_type`` INT32 or INT64

"any" is float16/32/64, (u)int8/16/32, int64 and bool; quantized tensors are copied as
stored (RESHAPE and SQUEEZE whatever the output's quantization, as TFLite; EXPAND_DIMS
needs it equal, as TFLite). A shape or axis input whose value is only
known at invoke makes the output dynamic, as in TFLite. SHAPE's value depends only on
its input's shape, so prepare publishes it (``outputs[0].data``) for the ops reading it.
"""

from __future__ import annotations

import numpy as np

from .api import KernelDef, PrepareContext, Run
from .shape_args import (
    ALL_TYPES,
    INDEX_TYPES,
    BadArgs,
    Plan,
    arg_input,
    data_input,
    ints,
    planned,
    same_output,
)


def _flat_copy(ins, outs, scratch):
    np.copyto(outs[0].reshape(-1), ins[0].reshape(-1))


def resolve_shape(shape: list[int], in_shape: tuple) -> tuple[int, ...]:
    """TFLite's reshape rule: one -1 takes what the other dimensions leave of the input's
    (zero-sized dimensions set aside), and the element counts must then agree."""
    count = int(np.prod(in_shape, dtype=np.int64))
    if shape.count(-1) > 1:
        raise BadArgs(f"new shape {shape} has more than one -1")
    if any(d < -1 for d in shape):
        raise BadArgs(f"new shape {shape} has a negative dimension")
    shape = list(shape)
    if -1 in shape:
        known = int(np.prod([d for d in shape if d != -1], dtype=np.int64))
        nonzero = int(np.prod([d for d in shape if d > 0], dtype=np.int64))
        in_nonzero = int(np.prod([d for d in in_shape if d], dtype=np.int64))
        shape[shape.index(-1)] = 0 if count == 0 and known != 0 else in_nonzero // nonzero
    if int(np.prod(shape, dtype=np.int64)) != count:
        raise BadArgs(f"cannot reshape {count} values to {shape}")
    return tuple(shape)


def prepare_reshape(ctx: PrepareContext) -> Run:
    ctx.check(len(ctx.inputs) in (1, 2), "needs 1 or 2 inputs")
    x = data_input(ctx, 0, ALL_TYPES)
    same_output(ctx, x, raw=True)
    spec = ctx.input(1)
    if spec is not None and len(spec.shape) == 1 and spec.dtype == np.int32:
        def plan(shape: np.ndarray) -> Plan:
            return Plan([resolve_shape(ints(shape), x.shape)], _flat_copy)
        return planned(ctx, [1], plan, [x.dtype])
    new_shape = [int(d) for d in ctx.options.get("new_shape") or []]
    if new_shape == [0]:   # legacy converters wrote [0] for a scalar
        new_shape = []
    try:
        shape = resolve_shape(new_shape, x.shape)
    except BadArgs as e:
        raise ctx.error(str(e)) from None
    ctx.set_output(0, shape, x.dtype)
    return _flat_copy


def prepare_squeeze(ctx: PrepareContext) -> Run:
    ctx.check(len(ctx.inputs) == 1, "needs one input")
    x = data_input(ctx, 0, ALL_TYPES)
    same_output(ctx, x, raw=True)
    rank = len(x.shape)
    ctx.check(rank <= 8, f"rank {rank} is over TFLite's 8")
    dims = [int(d) for d in ctx.options.get("squeeze_dims") or []]
    squeeze = set()
    for d in dims:
        ctx.check(-rank <= d < rank and x.shape[d] == 1,
                  f"cannot squeeze dimension {d} of shape {list(x.shape)}")
        squeeze.add(d % rank)
    if not dims:
        squeeze = {d for d, n in enumerate(x.shape) if n == 1}
    ctx.set_output(0, [n for d, n in enumerate(x.shape) if d not in squeeze], x.dtype)
    return _flat_copy


def prepare_expand_dims(ctx: PrepareContext) -> Run:
    ctx.check(len(ctx.inputs) == 2, "needs 2 inputs")
    x = data_input(ctx, 0, ALL_TYPES)
    same_output(ctx, x, typed_by_input=True)
    arg_input(ctx, 1, "axis", INDEX_TYPES, size=1)
    rank = len(x.shape)

    def plan(axis: np.ndarray) -> Plan:
        a = ints(axis)[0]
        if not -rank - 1 <= a <= rank:
            raise BadArgs(f"axis {a} is out of range for rank {rank} (+1)")
        shape = list(x.shape)
        shape.insert(a % (rank + 1), 1)
        return Plan([tuple(shape)], _flat_copy)
    return planned(ctx, [1], plan, [x.dtype])


_OUT_TYPES = {"INT32": np.int32, "INT64": np.int64}


def prepare_shape(ctx: PrepareContext) -> Run:
    ctx.check(len(ctx.inputs) == 1, "needs one input")
    x = data_input(ctx, 0, ALL_TYPES)
    out_type = ctx.options.get("out_type", "INT32")
    ctx.check(out_type in _OUT_TYPES, f"out_type {out_type} is not INT32 or INT64")
    value = np.array(x.shape, _OUT_TYPES[out_type])
    ctx.set_output(0, value.shape, value.dtype)
    ctx.outputs[0].data = value   # known from shapes alone: readers plan statically

    def run(ins, outs, scratch):
        np.copyto(outs[0], value)
    return run


KERNELS = {
    "RESHAPE": KernelDef(prepare_reshape, 1),
    "SQUEEZE": KernelDef(prepare_squeeze, 2),
    "EXPAND_DIMS": KernelDef(prepare_expand_dims, 1),
    "SHAPE": KernelDef(prepare_shape, 1),
}
