"""Elementwise unary ops and CAST.

    op                              dtypes                   versions (what a version adds)
    SQRT EXP LOG                    f32                      1-2  (2 int8/int16-q)
    RSQRT                           f32                      1-3  (2 int8-q, 3 int16-q)
    SIN COS SQUARE FLOOR CEIL       f32                      1
    ROUND (half to even)            f32                      1
    ABS                             f32 i16 i32              1-5  (2 int8-q, 3 int16-q,
                                                                   4 int16, 5 int32)
    NEG                             f32 i8 i16 i32 i64       1
    SIGN                            f32 f64 i32              1-2  (2 int32)
    LOGICAL_NOT                     bool                     1
    ZEROS_LIKE                      f32 i32 i64              1
    CAST                            any pair of f16 f32 f64  1-5  (2 uint32, 3 int8,
                                    i8 u8 i16 u16 i32 u32         4 uint16, 5 f16/f64)
                                    i64 bool

Quantized ABS (int8, int16) and RSQRT (int8) run TFLite's integer kernels bit-exactly;
other quantized inputs fail prepare with "not supported yet", except CAST's: TFLite
casts the stored values as they are, and so does this kernel. CAST from float to an integer type
saturates (NaN goes to the maximum), as LiteRT does; integers wrap; anything to bool
tests for non-zero.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from . import int_math, quant
from .api import KernelDef, PrepareContext, Run, TensorSpec
from .elementwise import check_dtype, dtypes
from .fixed_point import quantize_multiplier

_MATH = {"SQRT": np.sqrt, "EXP": np.exp, "LOG": np.log, "SIN": np.sin, "COS": np.cos,
         "SQUARE": np.square, "FLOOR": np.floor, "CEIL": np.ceil, "ROUND": np.rint}
_QUANTIZED_MATH = {"SQRT", "RSQRT", "EXP", "LOG"}   # TFLite runs int8/int16 through LUTs
_SIMPLE = {  # op: (ufunc, plain dtypes, dtypes TFLite runs quantized)
    "ABS": (np.abs, dtypes("float32 int16 int32"), dtypes("int8")),
    "NEG": (np.negative, dtypes("float32 int8 int16 int32 int64"), dtypes("")),
    "SIGN": (np.sign, dtypes("float32 float64 int32"), dtypes("")),
    "LOGICAL_NOT": (np.logical_not, dtypes("bool"), dtypes("")),
}
_F32 = dtypes("float32")
_CASTABLE = dtypes("float16 float32 float64 int8 uint8 int16 uint16 int32 uint32 int64 bool")


def _input(ctx: PrepareContext) -> TensorSpec:
    ctx.check(len(ctx.inputs) == 1 and ctx.inputs[0] is not None, "needs one input")
    return ctx.inputs[0]


def prepare_math(ctx: PrepareContext) -> Run:
    """float32 math; numpy's domain warnings are silenced (TFLite returns inf/nan)."""
    x = _input(ctx)
    if ctx.opcode == "RSQRT" and x.dtype == np.int8 and not (x.dtype.metadata or {}):
        return _prepare_rsqrt_int8(ctx, x)
    check_dtype(ctx, x, _F32, dtypes("int8 int16") if ctx.opcode in _QUANTIZED_MATH
                else dtypes(""))
    ctx.set_output(0, x.shape, x.dtype)
    if ctx.opcode == "RSQRT":
        def run_rsqrt(ins, outs, scratch):
            with np.errstate(all="ignore"):
                np.sqrt(ins[0], out=outs[0])
                np.reciprocal(outs[0], out=outs[0])
        return run_rsqrt
    ufunc = _MATH[ctx.opcode]

    def run(ins, outs, scratch):
        with np.errstate(all="ignore"):
            ufunc(ins[0], out=outs[0])
    return run


def prepare_simple(ctx: PrepareContext) -> Run:
    ufunc, plain, quantized = _SIMPLE[ctx.opcode]
    x = _input(ctx)
    if ctx.opcode == "ABS" and not (x.dtype.metadata or {}) and (
            x.dtype == np.int8 or (x.dtype == np.int16 and quant.is_quantized(x))):
        return _prepare_abs_quantized(ctx, x)
    check_dtype(ctx, x, plain, quantized)
    ctx.set_output(0, x.shape, x.dtype)

    def run(ins, outs, scratch):
        ufunc(ins[0], out=outs[0])
    return run


def _prepare_abs_quantized(ctx: PrepareContext, x: TensorSpec) -> Run:
    """int8 and quantized int16 ABS: |x - zp_in| rescaled by s_in / s_out (float32
    ratio) when the scales differ, plus zp_out."""
    out = ctx.outputs[0]
    ctx.check(out.dtype == x.dtype, f"output dtype {out.dtype} differs from {x.dtype}")
    ctx.check(quant.is_quantized(x) and quant.is_quantized(out),
              "the input and output must be quantized")
    if x.dtype == np.int16:
        ctx.check(x.zero_point == 0 and out.zero_point == 0,
                  "int16 input and output must have zero point 0")
    ctx.set_output(0, x.shape, x.dtype)
    s_in, s_out = np.float32(x.scale), np.float32(out.scale)
    m, sh = quantize_multiplier(float(s_in / s_out))
    qmin, qmax = quant.dtype_range(x.dtype)
    args = (x.zero_point, bool(s_in != s_out), m, sh, out.zero_point, qmin, qmax)

    def run(ins, outs, scratch):
        int_math.abs_q(ins[0].reshape(-1), *args, outs[0].reshape(-1))
    return run


def _prepare_rsqrt_int8(ctx: PrepareContext, x: TensorSpec) -> Run:
    """int8 RSQRT: 1/sqrt(x - zp) in fixed point (``int_math.inv_sqrt_multiplier``),
    rescaled by 1 / (sqrt(s_in) * s_out); a value below the zero point fails invoke."""
    out = ctx.outputs[0]
    ctx.check(out.dtype == x.dtype, f"output dtype {out.dtype} differs from {x.dtype}")
    ctx.check(quant.is_quantized(x) and quant.is_quantized(out),
              "the input and output must be quantized")
    ctx.set_output(0, x.shape, x.dtype)
    s_in, s_out = np.float32(x.scale), np.float32(out.scale)
    m, sh = quantize_multiplier(1.0 / float(np.float32(np.sqrt(s_in) * s_out)))
    in_zp, out_zp = x.zero_point, out.zero_point
    message = (f"subgraph {ctx.subgraph_index}, operator {ctx.op_index} (RSQRT): "
               "Rsqrt is only defined for positive values")

    def run(ins, outs, scratch):
        if not int_math.rsqrt_int8(ins[0].reshape(-1), in_zp, m, sh, out_zp,
                                   outs[0].reshape(-1)):
            raise RuntimeError(message)
    return run


def prepare_zeros_like(ctx: PrepareContext) -> Run:
    x = _input(ctx)
    check_dtype(ctx, x, dtypes("float32 int32 int64"))
    ctx.set_output(0, x.shape, x.dtype)

    def run(ins, outs, scratch):
        outs[0].fill(0)
    return run


def prepare_cast(ctx: PrepareContext) -> Run:
    x = _input(ctx)
    target = ctx.outputs[0].dtype
    for d in (x.dtype, target):
        tagged = (d.metadata or {}).get("tflite_type")
        ctx.check(d in _CASTABLE and not tagged,
                  f"CAST from {x.dtype} to {target} is not supported ({tagged or d})")
    ctx.set_output(0, x.shape, target)
    if target == np.bool_:
        def run_bool(ins, outs, scratch):
            np.not_equal(ins[0], 0, out=outs[0])
        return run_bool
    if x.dtype.kind == "f" and target.kind in "iu":
        return _float_to_int(ctx, x, target)
    via = ctx.scratch(x.shape, np.float32) if (x.dtype, target) == (np.float64, np.float16) \
        else None   # TFLite rounds float64 to float32, then to float16

    def run(ins, outs, scratch):
        src = ins[0]
        with np.errstate(all="ignore"):   # float overflow to inf, as TFLite
            if via is not None:
                np.copyto(scratch[via], src, casting="unsafe")
                src = scratch[via]
            np.copyto(outs[0], src, casting="unsafe")
    return run


def _float_to_int(ctx: PrepareContext, x: TensorSpec, target: np.dtype) -> Run:
    info = np.iinfo(target)
    lo, hi = float(info.min), float(info.max) + 1.0   # hi: the exclusive bound, 2 ** bits
    low, high = target.type(info.min), target.type(info.max)
    widen = ctx.scratch(x.shape, np.float32) if x.dtype == np.float16 else None

    def run(ins, outs, scratch):
        src = ins[0]
        if widen is not None:
            np.copyto(scratch[widen], src)
            src = scratch[widen]
        _saturating_cast(src.reshape(-1), outs[0].reshape(-1), lo, hi, low, high)
    return run


@njit(cache=True)
def _saturating_cast(x, out, lo, hi, low, high):
    """``out = x`` truncated toward zero, saturating outside [lo, hi); NaN gives high."""
    for i in range(x.size):
        v = x[i]
        if math.isnan(v) or v >= hi:
            out[i] = high
        elif v < lo:
            out[i] = low
        else:
            out[i] = v


KERNELS = {name: KernelDef(prepare_math, 2 if name in _QUANTIZED_MATH else 1)
           for name in _MATH}
KERNELS.update({
    "RSQRT": KernelDef(prepare_math, 3),
    "ABS": KernelDef(prepare_simple, 5),
    "NEG": KernelDef(prepare_simple, 1),
    "SIGN": KernelDef(prepare_simple, 2),
    "LOGICAL_NOT": KernelDef(prepare_simple, 1),
    "ZEROS_LIKE": KernelDef(prepare_zeros_like, 1),
    "CAST": KernelDef(prepare_cast, 5),
})
