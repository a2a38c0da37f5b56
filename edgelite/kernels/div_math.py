"""TFLite's quantized DIV (uint8, int8, int16), bit-exact with LiteRT's builtin kernel.

Per element, with offsets applied (a = x - zp_x, b = y - zp_y, both signs moved onto a
so that b > 0):

1. the reciprocal of b as a Q0.31 multiplier and an exponent (``get_reciprocal``): b is
   normalised into [1, 2) by its leading zeros and 1 / b computed by gemmlowp's
   Newton-Raphson ``one_over_one_plus_x_for_x_in_0_1`` on int32;
2. a is shifted left by its headroom (leading sign bits) and multiplied by it
   (saturating rounding doubling high multiply);
3. that quotient is rescaled by s_x / (s_y * s_out) with the exponent reduced by the
   reciprocal's exponent and the headroom, the output offset added and the result
   clamped.

Step 3's rounding right shift often gets an exponent past 31 (small output multipliers
with the headroom of small values: 8-bit values have at least 23 bits of it), and a
negative one for huge output multipliers. TFLite's shift then relies on out-of-range
shift counts, which x86 reduces modulo 64 (the mask) and 32 (the shift): LiteRT's x86
results are then far from the quotient (often saturated), and ``rounding_shift_x86``
reproduces them.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from .fixed_point import INT32_MAX, INT32_MIN, srdhm


def quantize_multiplier_uncapped(real: float) -> tuple[int, int]:
    """``fixed_point.quantize_multiplier`` without its cap of the exponent at 30: TFLite's
    double-rounding builds (LiteRT's x86 wheel) keep exponents past 30."""
    q, shift = math.frexp(real)
    q_fixed = math.floor(q * 2.0**31 + 0.5)
    if q_fixed == 2**31:
        q_fixed //= 2
        shift += 1
    return (0, 0) if shift < -31 else (q_fixed, shift)


@njit(cache=True, inline="always")
def _wrap32(v):
    return ((v + 2**31) & 0xFFFFFFFF) - 2**31


@njit(cache=True, inline="always")
def clz32(x):
    """Leading zeros of a uint32 value (32 for 0)."""
    if x == 0:
        return 32
    n = 0
    for bits in (16, 8, 4, 2, 1):
        if x < (1 << (32 - bits)):
            n += bits
            x <<= bits
    return n


@njit(cache=True, inline="always")
def leading_sign_bits(x):
    """Redundant sign bits of an int32 (GCC's ``__builtin_clrsb``; 31 for 0 and -1)."""
    return clz32((x ^ (x >> 31)) & 0xFFFFFFFF) - 1


@njit(cache=True, inline="always")
def _sat_shl32(x, e):
    threshold = (1 << (31 - e)) - 1
    if x > threshold:
        return INT32_MAX
    if x < -threshold:
        return INT32_MIN
    return x << e


@njit(cache=True, inline="always")
def one_over_one_plus_x(a):
    """gemmlowp's int32 1 / (1 + a) for a in [0, 1) (Q0.31), result Q0.31."""
    half_denominator = (a + INT32_MAX + 1) >> 1       # rounding half sum, sum >= 0
    x = _wrap32(1515870810 + srdhm(half_denominator, -1010580540))   # 48/17 - 32/17 d
    for _ in range(3):
        one_minus = _wrap32((1 << 29) - srdhm(half_denominator, x))
        x = _wrap32(x + _sat_shl32(srdhm(x, one_minus), 2))
    return _sat_shl32(x, 1)


@njit(cache=True, inline="always")
def get_reciprocal(b):
    """(Q0.31 multiplier, exponent) with 1 / b ~ multiplier * 2**-exponent / 2**31
    for 0 < b < 2**31, as TFLite's ``GetReciprocal(b, 31, ...)``."""
    lz = clz32(b)
    shifted_minus_one = ((b << lz) & 0xFFFFFFFF) - 2**31
    return one_over_one_plus_x(shifted_minus_one), 31 - lz


@njit(cache=True, inline="always")
def rounding_shift_x86(x, exponent):
    """gemmlowp's int32 ``RoundingDivideByPOT(x, exponent)`` as LiteRT's x86 build runs
    it for any exponent: the 64-bit mask shift counts modulo 64 and the 32-bit arithmetic
    shift modulo 32, so past 31 (or below 0) the mask is all ones, the shift wraps and
    every value not below the threshold is rounded up by one."""
    s = exponent & 63
    mask = -1 if s >= 32 else (1 << s) - 1
    threshold = (mask >> 1) + (1 if x < 0 else 0)
    return _wrap32((x >> (exponent & 31)) + (1 if (x & mask) > threshold else 0))


@njit(cache=True, inline="always")
def _at(ix, i):
    return ix[i] if ix.size else i


@njit(cache=True)
def div_quantized(x, y, ix, iy, out, off1, off2, off_out, m, shift, lo, hi):
    """Quantized DIV over flat arrays (``ix``/``iy``: broadcast indices or empty)."""
    for i in range(out.size):
        a = np.int64(x[_at(ix, i)]) + off1
        b = np.int64(y[_at(iy, i)]) + off2
        if b < 0:
            a, b = -a, -b
        recip, recip_shift = get_reciprocal(b)
        headroom = leading_sign_bits(a)
        quotient = srdhm(_wrap32(a << headroom), recip)
        total_shift = shift - recip_shift - headroom
        r = _wrap32(rounding_shift_x86(srdhm(quotient, m), -total_shift) + off_out)
        out[i] = min(max(r, lo), hi)


@njit(cache=True)
def has_zero_divisor(y, zero_point):
    """Whether a flat divisor holds its zero point (a real zero)."""
    for i in range(y.size):
        if y[i] == zero_point:
            return True
    return False
