"""Operands of the integer and hybrid conv/FC kernels, checked and turned into constants at
prepare: operand dtypes and quantization, the bias, the requantization parameters
(``requantize.Requant``), and the hybrid ops' run-time input quantizers (LiteRT's
SymmetricQuantizeFloats and AsymmetricQuantizeFloats).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from . import quant
from .api import PrepareContext, TensorSpec
from .quant import is_hybrid_op, is_integer_op  # noqa: F401 - the kernels import them here
from .requantize import DOUBLE, Q15, Q31, Requant

# --------------------------------------------------------------------------- operands

def _channel_values(ctx, values, channels: int, what: str) -> np.ndarray:
    values = np.asarray(values).reshape(-1)
    if values.size == 1:
        return np.repeat(values, channels)
    ctx.check(values.size == channels,
              f"{what} has {values.size} values for {channels} output channels")
    return values


def weight_scales(ctx: PrepareContext, w: TensorSpec, channels: int) -> np.ndarray:
    ctx.check(quant.is_quantized(w), f"{w.dtype} weights {w.name!r} carry no quantization")
    return _channel_values(ctx, quant.scales(w), channels, f"weights {w.name!r} scale")



def check_int_operands(ctx: PrepareContext, x: TensorSpec, w: TensorSpec,
                        out: TensorSpec) -> None:
    ctx.check(out.dtype == x.dtype,
              f"output {out.name!r} is {out.dtype}, the input {x.dtype}")
    for spec in (x, out):
        ctx.check(quant.is_quantized(spec),
                  f"{spec.dtype} tensor {spec.name!r} carries no quantization")
    if x.dtype == np.uint8:
        ctx.check(w.dtype == np.uint8, f"uint8 input needs uint8 weights, got {w.dtype}")
        ctx.check(len(quant.scales(w)) == 1,
                  "uint8 weights must be quantized per tensor")
    else:
        ctx.check(w.dtype == np.int8,
                  f"{x.dtype} input needs int8 weights, got {w.dtype}")
        ctx.check(not np.any(quant.zero_points(w)),
                  f"int8 weights {w.name!r} must have zero points 0")
    if x.dtype == np.int16:
        ctx.check(x.zero_point == 0 and out.zero_point == 0,
                  "int16 input and output must have zero point 0")


def bias_values(ctx: PrepareContext, x: TensorSpec, channels: int):
    """(bias dtype expected, int64 constant bias or None when absent/run-time, present)."""
    b = ctx.input(2)
    if b is None:
        return None, False
    if x.dtype == np.int16:
        ok = (np.dtype(np.int64), np.dtype(np.int32))
    else:
        ok = (np.dtype(np.int32),)
    ctx.check(b.dtype in ok, f"{x.dtype} input needs a bias of type "
                             f"{' or '.join(str(t) for t in ok)}, got {b.dtype}")
    ctx.check(b.size == channels, f"bias has {b.size} values for {channels} output channels")
    return (None if b.data is None else np.asarray(b.data, np.int64).reshape(-1)), True


def integer_requant(ctx: PrepareContext, w_scales: np.ndarray, channels: int, *,
                    legacy_multiplier: bool, fully_connected: bool = False) -> Requant:
    """The epilogue parameters of an integer conv/FC op (bias not yet corrected)."""
    x, out = ctx.input(0), ctx.outputs[0]
    in_scale, out_scale = x.scale, out.scale
    ctx.check(out_scale > 0, f"output {out.name!r} has scale {out_scale}")
    if legacy_multiplier:
        m, s = quant.per_tensor_conv_multiplier(in_scale, float(w_scales[0]), out_scale)
        mult, shift = np.full(channels, m, np.int32), np.full(channels, s, np.int32)
    else:
        mult, shift = quant.per_channel_multipliers(in_scale, w_scales, out_scale)
    scale = (np.float64(np.float32(in_scale)) * w_scales.astype(np.float32).astype(np.float64)
             / np.float64(np.float32(out_scale)))
    mode = Q31
    b = ctx.input(2)
    if x.dtype == np.int16:
        if fully_connected:
            mode = DOUBLE
        elif b is None or b.dtype == np.int64:
            mode = Q15
        else:
            ctx.check(ctx.options.get("quantized_bias_type") == "INT32",
                      "an int32 bias with int16 input needs quantized_bias_type INT32")
    lo, hi = quant.output_activation_range(ctx, out)
    return Requant(np.zeros(channels, np.int64), mult, shift, scale, mode, 0,
                   out.zero_point, lo, hi)


def float_bias(ctx: PrepareContext, channels: int):
    b = ctx.input(2)
    if b is None:
        return np.zeros(channels, np.float32), False
    ctx.check(b.dtype == np.float32, f"hybrid ops need a float32 bias, got {b.dtype}")
    ctx.check(b.size == channels, f"bias has {b.size} values for {channels} output channels")
    if b.data is None:
        return None, True
    return np.array(b.data, np.float32).reshape(-1), True


def float_activation(ctx: PrepareContext):
    from .conv import activation_bounds
    return activation_bounds(ctx)


def gemm_dtype(k: int, x_dtype, w_max: int):
    """float32 when every partial sum of a K-deep integer dot product is exact in it."""
    x_max = {np.dtype(np.int8): 128, np.dtype(np.uint8): 255,
             np.dtype(np.int16): 32768}[np.dtype(x_dtype)]
    return np.float32 if k * x_max * max(w_max, 1) < 2**24 else np.float64


# --------------------------------------------------------------------------- input quantizers
# LiteRT's x86 build runs these NEON loops emulated with SSE: blocks of 8 round with
# RoundToNearest's pre-ARMv8 form, trunc(p +- 0.5) with the addition in float32 (so
# 0.49999997 rounds to 1); the scalar tail rounds exactly, half away from zero. Both add
# the asymmetric zero point after rounding.
@njit(cache=True, inline="always")
def _round_neon(p):
    half = np.float32(0.5) if p >= 0 else np.float32(-0.5)
    return int(np.float32(p + half))


@njit(cache=True, inline="always")
def _round_away(p):
    a = abs(p)
    r = np.floor(a)
    if a - r >= np.float32(0.5):
        r += 1
    return int(r) if p >= 0 else -int(r)


@njit(cache=True)
def symmetric_values(values, out):
    lo, hi = np.float32(np.inf), np.float32(-np.inf)
    for v in values:
        lo = min(lo, v)
        hi = max(hi, v)
    rng = max(abs(lo), abs(hi))
    if values.size == 0 or rng == 0:
        out[:] = 0
        return np.float32(1.0)
    inv = np.float32(127.0) / rng
    blocks = values.size - values.size % 8
    for i in range(values.size):
        p = values[i] * inv
        q = _round_neon(p) if i < blocks else _round_away(p)
        out[i] = min(127, max(-127, q))
    return rng / np.float32(127.0)


@njit(cache=True)
def asymmetric_values(values, out):
    lo, hi = np.float32(np.inf), np.float32(-np.inf)
    for v in values:
        lo = min(lo, v)
        hi = max(hi, v)
    rmin = np.float64(min(np.float32(0.0), lo))
    rmax = np.float64(max(np.float32(0.0), hi))
    if rmin == rmax:
        out[:] = 0
        return np.float32(1.0), 0
    scale = (rmax - rmin) / 255.0
    zp_min, zp_max = -128.0 - rmin / scale, 127.0 - rmax / scale
    err_min, err_max = 128.0 + abs(rmin / scale), 127.0 + abs(rmax / scale)
    zp = zp_min if err_min < err_max else zp_max
    if zp <= -128.0:
        offset = -128
    elif zp >= 127.0:
        offset = 127
    else:
        offset = int(np.floor(abs(zp) + 0.5)) * (1 if zp >= 0 else -1)
    sf = np.float32(scale)
    inv = np.float32(1.0 / np.float64(sf))   # 1.0 / float in double, stored as float
    blocks = values.size - values.size % 8
    for i in range(values.size):
        p = values[i] * inv
        q = (_round_neon(p) if i < blocks else _round_away(p)) + offset
        out[i] = min(127, max(-128, q))
    return sf, offset


def symmetric_quantize(values: np.ndarray, out: np.ndarray) -> float:
    """LiteRT's SymmetricQuantizeFloats: int8 in [-127, 127], returns the scale."""
    return float(symmetric_values(values.reshape(-1), out.reshape(-1)))


def asymmetric_quantize(values: np.ndarray, out: np.ndarray) -> tuple[float, int]:
    """LiteRT's AsymmetricQuantizeFloats: (scale, zero point) of the int8 values."""
    sf, offset = asymmetric_values(values.reshape(-1), out.reshape(-1))
    return float(sf), int(offset)
