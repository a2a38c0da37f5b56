"""Elementwise unary ops: ABS NEG SQRT RSQRT EXP LOG SIN COS SQUARE FLOOR CEIL ROUND
(half to even, as TFLite) SIGN LOGICAL_NOT ZEROS_LIKE CAST (float32 and the
int/bool variants TFLite has; quantized paths come with the integer kernels)."""

from __future__ import annotations

import numpy as np

from .api import KernelDef, PrepareContext

_FLOAT = {"SQUARE": np.square, "SQRT": np.sqrt, "EXP": np.exp, "LOG": np.log, "SIN": np.sin, "COS": np.cos,
          "FLOOR": np.floor, "CEIL": np.ceil, "ROUND": np.rint}
_ANY = {"ABS": np.abs, "NEG": np.negative, "SIGN": np.sign,
        "LOGICAL_NOT": np.logical_not}


def _input(ctx: PrepareContext):
    x = ctx.input(0)
    ctx.check(x is not None, "needs an input")
    ctx.check(x.quantization is None or not len(x.quantization.scales) or ctx.opcode == "CAST",
              "quantized inputs are not supported yet")
    return x


def prepare_unary(ctx: PrepareContext):
    x = _input(ctx)
    if ctx.opcode in _FLOAT or ctx.opcode == "RSQRT":
        ctx.check(x.dtype == np.float32, f"{x.dtype} is not supported")
    if ctx.opcode == "LOGICAL_NOT":
        ctx.check(x.dtype == np.bool_, "LOGICAL_NOT takes bool")
    ctx.set_output(0, x.shape, x.dtype)
    if ctx.opcode == "RSQRT":
        def run(ins, outs, scratch):
            np.sqrt(ins[0], out=outs[0])
            np.reciprocal(outs[0], out=outs[0])
        return run
    ufunc = _FLOAT.get(ctx.opcode) or _ANY[ctx.opcode]

    def run(ins, outs, scratch):
        ufunc(ins[0], out=outs[0])
    return run


def prepare_zeros_like(ctx: PrepareContext):
    x = _input(ctx)
    ctx.set_output(0, x.shape, x.dtype)
    def run(ins, outs, scratch):
        outs[0].fill(0)
    return run


def prepare_cast(ctx: PrepareContext):
    x = _input(ctx)
    target = ctx.outputs[0].dtype
    ctx.check(target.kind in "biuf" and x.dtype.kind in "biuf",
              f"cannot cast {x.dtype} to {target}")
    ctx.set_output(0, x.shape, target)

    def run(ins, outs, scratch):
        np.copyto(outs[0], ins[0], casting="unsafe")
    return run


KERNELS = {name: KernelDef(prepare_unary, 4) for name in [*_FLOAT, *_ANY, "RSQRT"]}
KERNELS.update({"ZEROS_LIKE": KernelDef(prepare_zeros_like, 1),
                "CAST": KernelDef(prepare_cast, 7)})
