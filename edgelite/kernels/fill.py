"""Ops that make a tensor from scalars.

    op      dtypes                  versions   parameters
    FILL    any value dtype         1-5        dims (1-D int32/int64, >= 0), value (0-D)
    RANGE   f32 i32 i64             1-2        start, limit, delta (0-D, one dtype)

"any" is float16/32/64, (u)int8/16/32, int64 and bool; a quantized value is copied as
stored, the output quantized alike. RANGE's length follows TFLite: integers
``ceil(|limit - start| / |delta|)``, floats ``ceil(|(limit - start) / delta|)`` in float32;
its values are accumulated (``v += delta``) as TFLite does, not ``start + i * delta``.
delta 0, or a delta pointing away from limit, is an error. A dims input (or RANGE
operands) only known at invoke makes the output dynamic.

ZEROS_LIKE lives with the unary ops (``unary.py``); TFLite has no ONES_LIKE builtin.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from .api import KernelDef, PrepareContext, Run
from .elementwise import dtypes
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

_RANGE_TYPES = dtypes("float32 int32 int64")


def prepare_fill(ctx: PrepareContext) -> Run:
    ctx.check(len(ctx.inputs) == 2, "needs 2 inputs (dims, value)")
    arg_input(ctx, 0, "dims", INDEX_TYPES, rank=1)
    value = data_input(ctx, 1, ALL_TYPES)
    ctx.check(len(value.shape) == 0, f"value must be 0-D, not {list(value.shape)}")
    same_output(ctx, value, typed_by_input=True)

    def body(ins, outs, scratch):
        np.copyto(outs[0], ins[1])

    def plan(dims: np.ndarray) -> Plan:
        shape = ints(dims)
        if min(shape, default=0) < 0:
            raise BadArgs(f"dims {shape} must be non-negative")
        return Plan([tuple(shape)], body)
    return planned(ctx, [0], plan, [value.dtype])


@njit(cache=True)
def _accumulate(start, delta, out):
    v = start
    for i in range(out.size):
        out[i] = v
        v += delta


def range_length(start, limit, delta) -> int:
    """TFLite's RANGE length (``start``... numpy scalars of the op's dtype)."""
    if delta == 0:
        raise BadArgs("delta must be non-zero")
    if not ((start >= limit and delta < 0) or (start <= limit and delta > 0)):
        raise BadArgs(f"delta {delta} does not lead from {start} to {limit}")
    if isinstance(start, np.floating):
        with np.errstate(over="ignore"):
            return math.ceil(abs((limit - start) / delta))
    span, step = abs(int(limit) - int(start)), abs(int(delta))
    return (span + step - 1) // step


def prepare_range(ctx: PrepareContext) -> Run:
    ctx.check(len(ctx.inputs) == 3, "needs 3 inputs (start, limit, delta)")
    specs = [arg_input(ctx, i, name, _RANGE_TYPES, rank=0)
             for i, name in enumerate(("start", "limit", "delta"))]
    dtype = specs[0].dtype
    ctx.check(all(s.dtype == dtype for s in specs),
              f"start, limit and delta mix {', '.join(s.dtype.name for s in specs)}")

    def body(ins, outs, scratch):
        _accumulate(ins[0].reshape(-1)[0], ins[2].reshape(-1)[0], outs[0])

    def plan(start: np.ndarray, limit: np.ndarray, delta: np.ndarray) -> Plan:
        n = range_length(start.reshape(-1)[0], limit.reshape(-1)[0], delta.reshape(-1)[0])
        return Plan([(n,)], body)
    return planned(ctx, [0, 1, 2], plan, [dtype])


KERNELS = {
    "FILL": KernelDef(prepare_fill, 5),
    "RANGE": KernelDef(prepare_range, 2),
}
