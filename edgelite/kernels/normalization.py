"""L2_NORMALIZATION (v1-2) and LOCAL_RESPONSE_NORMALIZATION (v1), float32, last axis.

L2_NORMALIZATION: ``out = x / max(sqrt(sum(x^2)), 1e-6)`` over the last axis (TFLite's
epsilon bounds the norm, not the squared sum); rank at most 4, no fused activation.

LOCAL_RESPONSE_NORMALIZATION (4-D input): for channel ``c``,
``out = x * (bias + alpha * sum(x[c'] ^ 2)) ^ -beta`` with ``c'`` over
``[c - radius, c + radius]`` clipped to the channels; ``alpha`` is used as given (not
divided by the window size).

Both are numba loops over rows of the last axis, accumulating in float32 as TFLite does.

Quantized L2_NORMALIZATION (int8, uint8; the output fixed at scale 1/128 and zero point
0 / 128, as LiteRT requires): the int32 sum of squared ``x - zp`` goes through TFLite's
fixed-point inverse square root (five Newton-Raphson steps in Q3.28, gemmlowp rounding),
then every ``x - zp`` is requantized by it: int8 with ``mul_by_qm(d, m, 7 - shift)``,
uint8 as ``128 + mul_by_qm(128 * d, m, -shift)``.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .api import KernelDef, PrepareContext, Run
from .conv import float_operand
from .fixed_point import INT32_MAX, INT32_MIN, mul_by_qm, rdivpot, srdhm

_L2_EPSILON = np.float32(1e-6)


@njit(cache=True)
def _l2_normalize(x, out, epsilon):
    for r in range(x.shape[0]):
        acc = np.float32(0.0)
        for c in range(x.shape[1]):
            acc += x[r, c] * x[r, c]
        norm = max(np.sqrt(acc), epsilon)
        for c in range(x.shape[1]):
            out[r, c] = x[r, c] / norm


def prepare_l2_norm(ctx: PrepareContext) -> Run:
    x = ctx.input(0)
    if x is not None and x.dtype in (np.int8, np.uint8) and \
            not (x.dtype.metadata or {}).get("tflite_type"):
        return _prepare_l2_norm_int(ctx, x)
    x = float_operand(ctx, 0, "input")
    ctx.check(1 <= len(x.shape) <= 4, f"input must have rank 1 to 4, got {list(x.shape)}")
    activation = ctx.options.get("fused_activation_function", "NONE")
    ctx.check(activation == "NONE", f"fused activation {activation} is not supported")
    ctx.set_output(0, x.shape, np.float32)
    depth = x.shape[-1]
    rows = x.size // depth if depth else 0

    def run(ins, outs, scratch):
        _l2_normalize(ins[0].reshape(rows, depth), outs[0].reshape(rows, depth), _L2_EPSILON)
    return run


@njit(cache=True, inline="always")
def _sat_shl(x, exponent):
    """gemmlowp's saturating multiply by ``2**exponent`` (exponent > 0)."""
    if x > (INT32_MAX >> exponent):
        return np.int32(INT32_MAX)
    if x < (INT32_MIN >> exponent):
        return np.int32(INT32_MIN)
    return np.int32(x << exponent)


@njit(cache=True)
def _inv_sqrt(value):
    """TFLite's ``GetInvSqrtQuantizedMultiplierExp``: (multiplier, right shift) with
    ``multiplier * 2**(shift - 31) ~= 1 / sqrt(value)``."""
    if value <= 1:
        return INT32_MAX, 0
    shift = 11
    while value >= (1 << 29):
        value //= 4
        shift += 1
    bits = 0
    v = value
    while v < (1 << 31) and bits < 32:    # count leading zeros of a uint32
        if v & (1 << (31 - bits)):
            break
        bits += 1
    pairs = (bits - 1) // 2 - 1
    shift -= pairs
    value = value << (2 * pairs)
    half_input = rdivpot(np.int32(value >> 1), 1)
    half_three = np.int32((1 << 28) + (1 << 27))
    x = np.int32(1 << 28)
    for _ in range(5):
        x3 = _sat_shl(srdhm(srdhm(x, x), x), 6)
        t = np.int64(srdhm(half_three, x)) - np.int64(srdhm(half_input, x3))
        x = _sat_shl(np.int32(t), 3)
    x = srdhm(x, 1518500250)
    if shift < 0:
        x = np.int32(np.int64(x) << -shift)
        shift = 0
    return x, shift


@njit(cache=True)
def _l2_normalize_int(x, out, zp, unsigned):
    for r in range(x.shape[0]):
        acc = np.int32(0)
        for c in range(x.shape[1]):
            d = np.int32(x[r, c]) - zp
            acc = np.int32(acc + d * d)
        m, shift = _inv_sqrt(acc)
        for c in range(x.shape[1]):
            d = np.int32(x[r, c]) - zp
            if unsigned:
                v = 128 + mul_by_qm(np.int32(128 * d), m, -shift)
                out[r, c] = min(255, max(0, v))
            else:
                v = mul_by_qm(d, m, 7 - shift)
                out[r, c] = min(127, max(-128, v))


def _prepare_l2_norm_int(ctx: PrepareContext, x) -> Run:
    out = ctx.outputs[0]
    ctx.check(out.dtype == x.dtype, f"output is {out.dtype}, not {x.dtype}")
    ctx.check(len(x.shape) >= 1, "input must have rank >= 1")
    want_zp = 128 if x.dtype == np.uint8 else 0
    ctx.check(out.quantization is not None and len(out.quantization.scales) == 1
              and np.float32(out.scale) == np.float32(1 / 128)
              and out.zero_point == want_zp,
              f"{x.dtype} output needs scale 1/128 and zero point {want_zp}")
    activation = ctx.options.get("fused_activation_function", "NONE")
    ctx.check(activation == "NONE", f"fused activation {activation} is not supported")
    ctx.set_output(0, x.shape, x.dtype)
    depth = x.shape[-1]
    rows = x.size // depth if depth else 0
    zp, unsigned = x.zero_point, x.dtype == np.uint8

    def run(ins, outs, scratch):
        _l2_normalize_int(ins[0].reshape(rows, depth), outs[0].reshape(rows, depth),
                          zp, unsigned)
    return run


@njit(cache=True)
def _lrn(x, out, radius, bias, alpha, neg_beta):
    depth = x.shape[1]
    for r in range(x.shape[0]):
        for c in range(depth):
            acc = np.float32(0.0)
            for k in range(max(0, c - radius), min(depth, c + radius + 1)):
                acc += x[r, k] * x[r, k]
            out[r, c] = x[r, c] * (bias + alpha * acc) ** neg_beta


def prepare_lrn(ctx: PrepareContext) -> Run:
    x = float_operand(ctx, 0, "input", 4)
    ctx.set_output(0, x.shape, np.float32)
    o = ctx.options
    radius = int(o.get("radius", 0))
    ctx.check(radius >= 0, f"radius {radius} must be >= 0")
    args = (radius, np.float32(o.get("bias", 0.0)), np.float32(o.get("alpha", 0.0)),
            np.float32(-float(o.get("beta", 0.0))))
    depth = x.shape[-1]
    rows = x.size // depth if depth else 0

    def run(ins, outs, scratch):
        _lrn(ins[0].reshape(rows, depth), outs[0].reshape(rows, depth), *args)
    return run


KERNELS = {
    "L2_NORMALIZATION": KernelDef(prepare_l2_norm, 2),
    "LOCAL_RESPONSE_NORMALIZATION": KernelDef(prepare_lrn, 1),
}
