"""QUANTIZE (v1-6): float32 -> int8 / uint8 / int16, and integer requantization.

float32 -> int, per tensor: LiteRT's x86 build runs the NEON kernels through NEON_2_SSE, so
the flat array is processed in two parts that round differently:

* the vector body (the first ``size - size % 8`` elements): ``x * float32(1 / scale)`` in
  float32, rounded to nearest *even* (``cvtps2dq``), an out-of-range or NaN product
  becoming INT32_MIN (SSE's "integer indefinite");
* the scalar tail (``size % 8`` elements): ``double(x) / double(scale)`` rounded half
  away from zero, out-of-range/NaN again INT32_MIN (``cvttsd2si``).

Then ``+ zero_point`` (wrapping int32) and a clamp to the output type.

float32 -> int, per channel (the reference path only): ``x / scale[c]`` in float32,
rounded half away from zero, ``+ zero_point[c]``, clamped.

int -> int (int8/uint8 -> int8/uint8, int16 -> int8/int16/int32, int32 -> int8/int16):
``(q - in_zp) * in_scale / out_scale + out_zp`` with the multiplier of
``double(in_scale) / double(out_scale)``. The four 8-bit pairs have NEON bodies of 16
elements whose rounding is "half up" (``vqrdmulh`` then a rounding shift ``vrshl``); their
scalar tail and every other pair use ``fixed_point.mul_by_qm`` (ties away from zero).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ..schema import ir
from .api import KernelDef, PrepareContext
from .fixed_point import mul_by_qm, quantize_multiplier
from .quant import dtype_range

INT32_MIN = -(2**31)
_F32 = np.dtype(np.float32)
_OUT_FROM_FLOAT = (np.dtype(np.int8), np.dtype(np.uint8), np.dtype(np.int16))
# input dtype -> output dtypes LiteRT's QUANTIZE requantizes to
_REQUANT = {
    np.dtype(np.int8): (np.dtype(np.int8), np.dtype(np.uint8)),
    np.dtype(np.uint8): (np.dtype(np.int8), np.dtype(np.uint8)),
    np.dtype(np.int16): (np.dtype(np.int8), np.dtype(np.int16), np.dtype(np.int32)),
    np.dtype(np.int32): (np.dtype(np.int8), np.dtype(np.int16)),
}
_NEON_PAIRS = {(a, b) for a in ("int8", "uint8") for b in ("int8", "uint8")}


@njit(cache=True, inline="always")
def _wrap32(v):
    return ((np.int64(v) + 2**31) & 0xFFFFFFFF) - 2**31


@njit(cache=True, inline="always")
def _clamp(v, lo, hi):
    return lo if v < lo else (hi if v > hi else v)


@njit(cache=True, error_model="numpy")
def quantize_per_tensor(x, inv_scale, scale, zero_point, qmin, qmax, out):
    """float32 ``x`` -> ``out`` (flat arrays) with LiteRT's body/tail rounding split."""
    n = x.size
    body = n - n % 8
    for i in range(n):
        if i < body:
            p = np.float32(x[i] * inv_scale)        # float32 product, as the SIMD body
            if p >= 2147483648.0 or p < -2147483648.0 or p != p:
                r = np.int64(INT32_MIN)
            else:
                r = np.int64(np.rint(p))             # round half to even
        else:
            d = np.float64(x[i]) / scale
            if d != d:
                r = np.int64(INT32_MIN)
            else:
                d = np.floor(d + 0.5) if d >= 0 else -np.floor(-d + 0.5)
                r = np.int64(d) if -2147483648.0 <= d < 2147483648.0 else np.int64(INT32_MIN)
        out[i] = _clamp(_wrap32(r + zero_point), qmin, qmax)


@njit(cache=True, error_model="numpy")
def quantize_per_channel(x, scales, zero_points, qmin, qmax, out):
    """``x``/``out`` shaped (outer, channels, inner); float32 division, ties away."""
    for o in range(x.shape[0]):
        for c in range(x.shape[1]):
            s = scales[c]
            zp = zero_points[c]
            for k in range(x.shape[2]):
                q = np.float32(x[o, c, k] / s)
                if q != q or q >= 2147483648.0 or q < -2147483648.0:
                    r = np.int64(INT32_MIN)
                else:
                    r = np.int64(np.floor(q + np.float32(0.5)) if q >= 0
                                 else -np.floor(-q + np.float32(0.5)))
                    if r >= 2**31:
                        r = np.int64(INT32_MIN)
                out[o, c, k] = _clamp(_wrap32(r + zp), qmin, qmax)


@njit(cache=True, inline="always")
def _mul_half_up(x, multiplier, shift):
    """NEON's double-rounding multiply: ``vqrdmulh`` then a rounding right shift, both
    rounding ties towards +infinity."""
    left = shift if shift > 0 else 0
    right = -shift if shift < 0 else 0
    v = _wrap32(np.int64(x) << left)
    high = (v * np.int64(multiplier) + (np.int64(1) << 30)) >> 31
    if high > 2**31 - 1:
        high = np.int64(2**31 - 1)
    if right > 0:
        high = (high + (np.int64(1) << (right - 1))) >> right
    return high


@njit(cache=True)
def requantize(x, in_zp, multiplier, shift, out_zp, qmin, qmax, vector_width, out):
    """Integer ``x`` -> ``out`` (flat). The first ``size - size % vector_width`` elements
    round as the NEON body (``vector_width`` 0: none), the rest as the scalar code."""
    n = x.size
    body = n - n % vector_width if vector_width > 0 else 0
    for i in range(n):
        v = _wrap32(np.int64(x[i]) - in_zp)
        if i < body:
            r = _mul_half_up(v, multiplier, shift)
        else:
            r = np.int64(mul_by_qm(v, multiplier, shift))
        out[i] = _clamp(_wrap32(r + out_zp), qmin, qmax)


def _params(ctx: PrepareContext, spec, role: str):
    q = spec.quantization
    ctx.check(q is not None and len(q.scales) > 0,
              f"the {role} tensor {spec.name!r} has no quantization parameters")
    return q


def prepare_quantize(ctx: PrepareContext):
    x = ctx.input(0)
    ctx.check(x is not None and len(ctx.inputs) == 1 and len(ctx.outputs) == 1,
              "needs one input and one output")
    out = ctx.outputs[0]
    oq = _params(ctx, out, "output")
    ctx.set_output(0, x.shape)
    if x.dtype == _F32:
        ctx.check(out.dtype in _OUT_FROM_FLOAT and not out.dtype.metadata,
                  f"cannot quantize float32 to {ir.tensor_type_of(out.dtype)} "
                  f"(expects int8, uint8 or int16)")
        return _prepare_from_float(ctx, x, out, oq)
    ctx.check(x.dtype in _REQUANT and not x.dtype.metadata and out.dtype in _REQUANT[x.dtype],
              f"cannot requantize {ir.tensor_type_of(x.dtype)} to "
              f"{ir.tensor_type_of(out.dtype)}")
    _params(ctx, x, "input")
    if x.dtype == np.int16 and out.dtype == np.int16:
        ctx.check(x.zero_point == 0 and out.zero_point == 0,
                  "int16 -> int16 requantization needs zero points 0")
    multiplier, shift = quantize_multiplier(
        float(np.float64(np.float32(x.scale)) / np.float64(np.float32(out.scale))))
    qmin, qmax = dtype_range(out.dtype)
    width = 16 if (x.dtype.name, out.dtype.name) in _NEON_PAIRS else 0
    in_zp, out_zp = x.zero_point, out.zero_point

    def run(ins, outs, scratch):
        requantize(ins[0].reshape(-1), in_zp, multiplier, shift, out_zp, qmin, qmax, width,
                   outs[0].reshape(-1))
    return run


def _prepare_from_float(ctx: PrepareContext, x, out, oq: ir.Quantization):
    qmin, qmax = dtype_range(out.dtype)
    if len(oq.scales) > 1:
        axis = int(oq.axis)
        ctx.check(0 <= axis < len(x.shape) and x.shape[axis] == len(oq.scales),
                  f"{len(oq.scales)} scales do not match dimension {axis} of {list(x.shape)}")
        scales = np.asarray(oq.scales, np.float32)
        zps = np.asarray(oq.zero_points, np.int64).reshape(-1)
        ctx.check(len(zps) in (1, len(scales)), "zero points do not match the scales")
        zps = np.broadcast_to(zps, scales.shape).copy()
        shape3 = (int(np.prod(x.shape[:axis], dtype=np.int64)), len(scales),
                  int(np.prod(x.shape[axis + 1:], dtype=np.int64)))

        def run(ins, outs, scratch):
            quantize_per_channel(ins[0].reshape(shape3), scales, zps, qmin, qmax,
                                 outs[0].reshape(shape3))
        return run
    scale = float(np.float32(oq.scales[0]))
    with np.errstate(all="ignore"):
        inv_scale = np.float32(1.0 / scale) if scale != 0.0 else np.float32(np.inf)
    zp = out.zero_point

    def run(ins, outs, scratch):
        quantize_per_tensor(ins[0].reshape(-1), inv_scale, scale, zp, qmin, qmax,
                            outs[0].reshape(-1))
    return run


KERNELS = {"QUANTIZE": KernelDef(prepare_quantize, 6)}
