"""Comparisons with broadcasting, bool output.

    op                dtypes                       versions (what a version adds)
    EQUAL             bool f32 i16 i32 i64         1-5  (2 int8-q, 3 string, 5 int16)
    NOT_EQUAL         bool f32 i16 i32 i64         1-4  (2 int8-q, 3 string, 4 int16)
    LESS              f32 i16 i32 i64              1-3  (2 int8-q, 3 int16)
    GREATER_EQUAL     f32 i16 i32 i64              1-3  (2 int8-q, 3 int16)
    GREATER           f32 i16 i32 i64              1-2  (2 int8-q)
    LESS_EQUAL        f32 i16 i32 i64              1-2  (2 int8-q)

TFLite compares int8/uint8 (and quantized int16) after rescaling both sides to a common
scale: that is the quantized path, not supported yet. Strings are not supported.
"""

from __future__ import annotations

import numpy as np

from .api import KernelDef, PrepareContext, Run
from .elementwise import binary_inputs, dtypes

_UFUNCS = {"EQUAL": np.equal, "NOT_EQUAL": np.not_equal, "LESS": np.less,
           "LESS_EQUAL": np.less_equal, "GREATER": np.greater,
           "GREATER_EQUAL": np.greater_equal}
_ORDERED = dtypes("float32 int16 int32 int64")
_EQUALITY = _ORDERED | dtypes("bool")


def prepare_compare(ctx: PrepareContext) -> Run:
    plain = _EQUALITY if ctx.opcode in ("EQUAL", "NOT_EQUAL") else _ORDERED
    _, _, shape = binary_inputs(ctx, plain, dtypes("int8 uint8"))
    ctx.set_output(0, shape, np.bool_)
    ufunc = _UFUNCS[ctx.opcode]

    def run(ins, outs, scratch):
        ufunc(ins[0], ins[1], out=outs[0])
    return run


KERNELS = {
    "EQUAL": KernelDef(prepare_compare, 5),
    "NOT_EQUAL": KernelDef(prepare_compare, 4),
    "LESS": KernelDef(prepare_compare, 3),
    "GREATER_EQUAL": KernelDef(prepare_compare, 3),
    "GREATER": KernelDef(prepare_compare, 2),
    "LESS_EQUAL": KernelDef(prepare_compare, 2),
}
