"""Elementwise binary arithmetic with broadcasting: ADD, SUB, MUL, DIV (float32/int32/int64).

TFLite versions: ADD v1-5, SUB v1-5, MUL v1-7, DIV v1-2 (float and int32 paths; the
quantized paths belong to the integer kernels).
"""

from __future__ import annotations

import numpy as np

from . import fused_activation
from .api import KernelDef, PrepareContext

_UFUNCS = {"ADD": np.add, "SUB": np.subtract, "MUL": np.multiply, "DIV": np.divide}
_FLOAT_OR_INT = (np.dtype(np.float32), np.dtype(np.int32), np.dtype(np.int64))


def prepare_arithmetic(ctx: PrepareContext):
    a, b = ctx.input(0), ctx.input(1)
    ctx.check(a is not None and b is not None, "needs two inputs")
    ctx.check(a.dtype == b.dtype, f"input dtypes differ: {a.dtype} vs {b.dtype}")
    ctx.check(a.dtype in _FLOAT_OR_INT, f"{a.dtype} inputs are not supported")
    try:
        shape = np.broadcast_shapes(a.shape, b.shape)
    except ValueError:
        raise ctx.error(f"shapes {list(a.shape)} and {list(b.shape)} do not broadcast") from None
    ctx.set_output(0, shape, a.dtype)
    ufunc = _UFUNCS[ctx.opcode]
    if ctx.opcode == "DIV" and a.dtype.kind == "i":
        ufunc = _int_div
    bounds = fused_activation.float_bounds(ctx, ctx.options.get("fused_activation_function",
                                                                "NONE"))

    def run(ins, outs, scratch):
        ufunc(ins[0], ins[1], out=outs[0])
        fused_activation.apply_float(outs[0], bounds)

    return run


def _int_div(a, b, out):
    # TFLite's integer DIV truncates toward zero (C semantics), unlike numpy's floor.
    np.floor_divide(a, b, out=out)
    fix = (np.remainder(a, b) != 0) & ((a < 0) != (b < 0))
    out += fix  # TODO: allocates temporaries; int32 DIV is rare on the hot path
    return out


KERNELS = {
    "ADD": KernelDef(prepare_arithmetic, 5),
    "SUB": KernelDef(prepare_arithmetic, 5),
    "MUL": KernelDef(prepare_arithmetic, 7),
    "DIV": KernelDef(prepare_arithmetic, 2),
}
