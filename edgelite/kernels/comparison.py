"""Comparisons with broadcasting, bool output: EQUAL, NOT_EQUAL, LESS, LESS_EQUAL,
GREATER, GREATER_EQUAL (float32, int32, int64, bool where TFLite allows)."""

from __future__ import annotations

import numpy as np

from .api import KernelDef, PrepareContext

_UFUNCS = {"EQUAL": np.equal, "NOT_EQUAL": np.not_equal, "LESS": np.less,
           "LESS_EQUAL": np.less_equal, "GREATER": np.greater,
           "GREATER_EQUAL": np.greater_equal}


def prepare_compare(ctx: PrepareContext):
    a, b = ctx.input(0), ctx.input(1)
    ctx.check(a is not None and b is not None and a.dtype == b.dtype,
              "needs two inputs of one dtype")
    ctx.check(a.quantization is None or not len(a.quantization.scales),
              "quantized comparisons are not supported yet")
    shape = ctx.broadcast(a, b)
    ctx.set_output(0, shape, np.bool_)
    ufunc = _UFUNCS[ctx.opcode]

    def run(ins, outs, scratch):
        ufunc(ins[0], ins[1], out=outs[0])
    return run


KERNELS = {name: KernelDef(prepare_compare, 4) for name in _UFUNCS}
