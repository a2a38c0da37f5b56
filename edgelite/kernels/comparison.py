"""Comparisons with broadcasting, bool output.

    op                dtypes                       versions (what a version adds)
    EQUAL             bool f32 i16 i32 i64         1-5  (2 int8-q, 3 string, 5 int16)
    NOT_EQUAL         bool f32 i16 i32 i64         1-4  (2 int8-q, 3 string, 4 int16)
    LESS              f32 i16 i32 i64              1-3  (2 int8-q, 3 int16)
    GREATER_EQUAL     f32 i16 i32 i64              1-3  (2 int8-q, 3 int16)
    GREATER           f32 i16 i32 i64              1-2  (2 int8-q)
    LESS_EQUAL        f32 i16 i32 i64              1-2  (2 int8-q)

TFLite compares int8/uint8 (and quantized int16 for EQUAL/NOT_EQUAL) after rescaling
both sides to real values in fixed point (``int_math.compare_rescaled``); the ordered
comparisons of int16 compare the raw values whatever the quantization. Strings are not supported.
"""

from __future__ import annotations

import numpy as np

from . import int_math, quant
from .api import KernelDef, PrepareContext, Run
from .elementwise import binary_inputs, dtypes
from .fixed_point import quantize_multiplier
from .quant import quantized_inputs

_UFUNCS = {"EQUAL": np.equal, "NOT_EQUAL": np.not_equal, "LESS": np.less,
           "LESS_EQUAL": np.less_equal, "GREATER": np.greater,
           "GREATER_EQUAL": np.greater_equal}
_ORDERED = dtypes("float32 int16 int32 int64")
_EQUALITY = _ORDERED | dtypes("bool")


def prepare_compare(ctx: PrepareContext) -> Run:
    if quantized_inputs(ctx) and (ctx.inputs[0].dtype != np.int16
                                  or ctx.opcode in ("EQUAL", "NOT_EQUAL")):
        return _prepare_quantized(ctx)
    plain = _EQUALITY if ctx.opcode in ("EQUAL", "NOT_EQUAL") else _ORDERED
    _, _, shape = binary_inputs(ctx, plain, dtypes("int8 uint8"), raw_quantized=True)
    ctx.set_output(0, shape, np.bool_)
    ufunc = _UFUNCS[ctx.opcode]

    def run(ins, outs, scratch):
        ufunc(ins[0], ins[1], out=outs[0])
    return run


def _prepare_quantized(ctx: PrepareContext) -> Run:
    """int8/uint8 (quantized or not) and quantized int16: both sides rescaled to real
    values in fixed point (scale multipliers of their own, offsets, a left shift of 8)."""
    ctx.check(len(ctx.inputs) == 2 and None not in ctx.inputs, "needs two inputs")
    a, b = ctx.inputs
    ctx.check(a.dtype == b.dtype, f"input dtypes differ: {a.dtype} vs {b.dtype}")
    for k, spec in enumerate((a, b)):
        # LiteRT 2.3 aborts on both (its multiplier helper CHECK-fails)
        ctx.check(quant.is_quantized(spec) and spec.scale != 0.0,
                  f"input {k} ({spec.dtype}) must be quantized")
        ctx.check(np.float32(spec.scale) != 1.0,
                  f"input {k}: a scale of exactly 1.0 is not supported (LiteRT aborts)")
    shape = ctx.broadcast(a, b)
    ctx.set_output(0, shape, np.bool_)
    m1, s1 = quantize_multiplier(float(np.float32(a.scale)))
    m2, s2 = quantize_multiplier(float(np.float32(b.scale)))
    ix = int_math.broadcast_index(a.shape, shape)
    iy = int_math.broadcast_index(b.shape, shape)
    code = int_math.COMPARISON_CODES[ctx.opcode]
    off1, off2 = -a.zero_point, -b.zero_point

    def run(ins, outs, scratch):
        int_math.compare_rescaled(ins[0].reshape(-1), ins[1].reshape(-1), ix, iy,
                                  outs[0].reshape(-1), off1, m1, s1, off2, m2, s2, code)
    return run


KERNELS = {
    "EQUAL": KernelDef(prepare_compare, 5),
    "NOT_EQUAL": KernelDef(prepare_compare, 4),
    "LESS": KernelDef(prepare_compare, 3),
    "GREATER_EQUAL": KernelDef(prepare_compare, 3),
    "GREATER": KernelDef(prepare_compare, 2),
    "LESS_EQUAL": KernelDef(prepare_compare, 2),
}
