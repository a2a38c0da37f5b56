"""Elementwise binary ops with broadcasting: ADD, SUB, MUL, DIV, SQUARED_DIFFERENCE,
MAXIMUM, MINIMUM, POW, FLOOR_DIV, FLOOR_MOD (float32/int32/int64), LOGICAL_AND/OR (bool),
SELECT/SELECT_V2. The quantized paths belong to the integer kernels.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from . import fused_activation
from .api import KernelDef, PrepareContext

_UFUNCS = {"ADD": np.add, "SUB": np.subtract, "MUL": np.multiply, "DIV": np.divide,
           "MAXIMUM": np.maximum, "MINIMUM": np.minimum, "POW": np.power,
           "FLOOR_DIV": np.floor_divide, "FLOOR_MOD": np.mod,
           "LOGICAL_AND": np.logical_and, "LOGICAL_OR": np.logical_or}
_FLOAT_OR_INT = (np.dtype(np.float32), np.dtype(np.int32), np.dtype(np.int64))


def prepare_arithmetic(ctx: PrepareContext):
    a, b = ctx.input(0), ctx.input(1)
    ctx.check(a is not None and b is not None, "needs two inputs")
    ctx.check(a.dtype == b.dtype, f"input dtypes differ: {a.dtype} vs {b.dtype}")
    logical = ctx.opcode.startswith("LOGICAL")
    ctx.check(a.dtype == np.bool_ if logical else a.dtype in _FLOAT_OR_INT,
              f"{a.dtype} inputs are not supported")
    ctx.check(a.quantization is None or not len(a.quantization.scales),
              "quantized inputs are not supported yet")
    shape = ctx.broadcast(a, b)
    ctx.set_output(0, shape, a.dtype)
    if ctx.opcode == "SQUARED_DIFFERENCE":
        def run(ins, outs, scratch):
            np.subtract(ins[0], ins[1], out=outs[0])
            np.multiply(outs[0], outs[0], out=outs[0])
        return run
    ufunc = _UFUNCS[ctx.opcode]
    if ctx.opcode == "DIV" and a.dtype.kind == "i":
        ufunc = _trunc_div
    bounds = fused_activation.float_bounds(ctx, ctx.options.get("fused_activation_function",
                                                                "NONE"))

    def run(ins, outs, scratch):
        ufunc(ins[0], ins[1], out=outs[0])
        fused_activation.apply_float(outs[0], bounds)

    return run


def _trunc_div(a, b, out):
    """Integer DIV truncating toward zero (C semantics, where numpy floors)."""
    _trunc_div_loop(np.broadcast_to(a, out.shape), np.broadcast_to(b, out.shape), out)


@njit(cache=True)
def _trunc_div_loop(a, b, out):
    for idx in np.ndindex(out.shape):
        x, y = a[idx], b[idx]
        q = x // y
        if q < 0 and q * y != x:
            q += 1
        out[idx] = q


def prepare_select(ctx: PrepareContext):
    c, a, b = ctx.input(0), ctx.input(1), ctx.input(2)
    ctx.check(c is not None and a is not None and b is not None and c.dtype == np.bool_,
              "needs a bool condition and two values")
    ctx.check(a.dtype == b.dtype, f"value dtypes differ: {a.dtype} vs {b.dtype}")
    cond_shape = c.shape
    if ctx.opcode == "SELECT" and len(c.shape) == 1 and len(a.shape) > 1:
        cond_shape = (c.shape[0],) + (1,) * (len(a.shape) - 1)   # legacy rank-1 condition
    try:
        shape = np.broadcast_shapes(cond_shape, a.shape, b.shape)
    except ValueError:
        raise ctx.error("condition and values do not broadcast") from None
    ctx.set_output(0, shape, a.dtype)

    def run(ins, outs, scratch):
        np.copyto(outs[0], ins[2])
        np.copyto(outs[0], ins[1], where=ins[0].reshape(cond_shape))
    return run


KERNELS = {
    "ADD": KernelDef(prepare_arithmetic, 5),
    "SUB": KernelDef(prepare_arithmetic, 5),
    "MUL": KernelDef(prepare_arithmetic, 7),
    "DIV": KernelDef(prepare_arithmetic, 2),
    "SQUARED_DIFFERENCE": KernelDef(prepare_arithmetic, 2),
    "MAXIMUM": KernelDef(prepare_arithmetic, 4),
    "MINIMUM": KernelDef(prepare_arithmetic, 4),
    "POW": KernelDef(prepare_arithmetic, 1),
    "FLOOR_DIV": KernelDef(prepare_arithmetic, 3),
    "FLOOR_MOD": KernelDef(prepare_arithmetic, 2),
    "LOGICAL_AND": KernelDef(prepare_arithmetic, 1),
    "LOGICAL_OR": KernelDef(prepare_arithmetic, 1),
    "SELECT": KernelDef(prepare_select, 4),
    "SELECT_V2": KernelDef(prepare_select, 2),
}
