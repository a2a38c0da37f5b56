"""QuantizeLinear / DequantizeLinear as float arithmetic (the QDQ fallback).

    QuantizeLinear:   y = saturate(round_half_even(x / scale) + zero_point)
    DequantizeLinear: y = (x - zero_point) * scale

Per-tensor or per-axis (``axis``) scales and zero points, known at conversion or only at
run time. TFLite's ROUND rounds half to even, as ONNX does. Blocked quantization and the
float8/int4 types are not supported (TFLite has no tensors of those types).
"""

from __future__ import annotations

import numpy as np
from onnx import helper

from ._common import norm_axis
from .elementwise import binary, scalar, unary
from .nn import _reshape_logical

_RANGES = {np.dtype(t): (np.iinfo(t).min, np.iinfo(t).max)
           for t in (np.int8, np.uint8, np.int16, np.uint16, np.int32)}


def _along(ctx, v, x_rank: int, axis: int, dtype):
    """A scale/zero point as a float value that broadcasts against the input."""
    if v.rank == 0 or (v.rank == 1 and v.shape[0] == 1 and x_rank != 1):
        shape = ()
    else:
        axis = norm_axis(axis, x_rank, ctx)
        shape = tuple(v.shape[0] if a == axis else 1 for a in range(x_rank))
    if v.const is not None:
        return ctx.const_value(np.asarray(v.const).astype(dtype).reshape(shape))
    f = v if v.dtype == dtype else unary(ctx, "CAST", v, dtype=dtype)
    return _reshape_logical(ctx, f, shape) if f.shape != shape else f


def _check(ctx, attrs):
    if int(attrs.get("block_size", 0)):
        raise ctx.error("blocked quantization (block_size) is not supported")


def _quantize(ctx, node, ins, attrs):
    _check(ctx, attrs)
    x, scale = ins[0], ins[1]
    zp = ins[2] if len(ins) > 2 else None
    if "output_dtype" in attrs and int(attrs["output_dtype"]):
        out = np.dtype(helper.tensor_dtype_to_np_dtype(int(attrs["output_dtype"])))
    else:
        out = zp.dtype if zp is not None else np.dtype(np.uint8)
    if out not in _RANGES:
        raise ctx.error(f"quantizing to {out} is not supported")
    axis = int(attrs.get("axis", 1))
    f = np.float32
    y = unary(ctx, "ROUND", binary(ctx, "DIV", x, _along(ctx, scale, x.rank, axis, f)))
    if zp is not None:
        y = binary(ctx, "ADD", y, _along(ctx, zp, x.rank, axis, f))
    lo, hi = _RANGES[out]
    y = binary(ctx, "MINIMUM", binary(ctx, "MAXIMUM", y, scalar(ctx, lo, f)),
               scalar(ctx, hi, f))
    return [unary(ctx, "CAST", y, dtype=out)]


def _dequantize(ctx, node, ins, attrs):
    _check(ctx, attrs)
    x, scale = ins[0], ins[1]
    zp = ins[2] if len(ins) > 2 else None
    if x.dtype not in _RANGES:
        raise ctx.error(f"dequantizing {x.dtype} is not supported")
    axis = int(attrs.get("axis", 1))
    f = scale.dtype if scale.dtype.kind == "f" else np.dtype(np.float32)
    y = unary(ctx, "CAST", x, dtype=f) if x.const is None else \
        ctx.const_value(np.asarray(x.const).astype(f))
    if zp is not None:
        y = binary(ctx, "SUB", y, _along(ctx, zp, x.rank, axis, f))
    return [binary(ctx, "MUL", y, _along(ctx, scale, x.rank, axis, f))]


RULES = {"QuantizeLinear": _quantize, "DequantizeLinear": _dequantize}
