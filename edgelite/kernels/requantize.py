"""Requantizing epilogues of the integer conv/FC kernels: int32 accumulators to 8/16-bit
outputs, as LiteRT rounds them.

Modes (``Requant.mode``), chosen as LiteRT chooses them:

* ``Q31``: int32 accumulator, ``fixed_point.mul_by_qm`` (int8, uint8, int16 with an int32
  bias) — except that where LiteRT requantizes in a ruy GEMM (CONV_2D without groups,
  FULLY_CONNECTED) or in SIMD blocks of 8 channels (int8 DEPTHWISE_CONV_2D), ties round
  toward +inf (``mul_by_qm_ruy``) instead of away from zero; ``Requant.ruy_channels`` says
  for how many leading channels (the tie-heavy tests in test_conv_int.py pin this down);
* ``Q15``: int64 accumulator, ``fixed_point.mul_by_qm_int64`` (int16 activations with an
  int64 bias: the 16x8 conv kernels);
* ``DOUBLE``: ``round(acc * in_scale * w_scale / out_scale)`` in double precision, ties away
  from zero (LiteRT's int16 FULLY_CONNECTED).

The fast path (``exact_affine`` + ``requantize_affine``) computes ruy's rounding as one
float64 multiply-add and a truncation. Ruy's result is
``floor((a * m * 2**left + 2**30 + nudge * 2**31) / 2**(31 + right))`` for the sum ``a``
of accumulator and bias (the two floors of its shifts merge into one, since
``floor(floor(p / b) / c) == floor(p / (b * c))`` for integers). With ``S = m * 2**left /
D`` and ``O = (bias * m * 2**left + 2**30 + nudge * 2**31 + (zp + wrap) * D) / D``
(``D = 2**(31 + right)``) both exact in float64, ``acc * S`` is exact when
``|acc| * m * 2**left < 2**53``, and ``acc * S + O`` is exact when its numerator is below
2**53 (the exact sum is representable, so the rounded sum equals it; a fused
multiply-add is exact for the same reason). Clamping to ``[lo, hi] + wrap`` (positive:
truncation is then the floor) and keeping the low bits (``wrap`` is 256 or 65536) gives
the output. ``exact_affine`` checks those bounds per channel from bounds on ``|acc|``
and ``|acc + bias|`` and returns None when any fails (the int64 ``q31_flat`` then runs).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from .fixed_point import mul_by_qm, mul_by_qm_int64

Q31, Q15, DOUBLE = 0, 1, 2


@dataclass
class Requant:
    """Everything the requantizing epilogue needs, per output channel."""

    bias: np.ndarray        # int64[c]: bias, minus zp_in * sum(w) for the GEMM paths
    mult: np.ndarray        # int32[c]
    shift: np.ndarray       # int32[c]
    scale: np.ndarray       # float64[c] (DOUBLE mode)
    mode: int
    ruy_channels: int       # Q31 mode: channels below this round as ruy does
    zp_out: int
    lo: int
    hi: int



@njit(cache=True, inline="always")
def mul_by_qm_ruy(a, multiplier, shift):
    """The multiplier as ruy's x86 kernels apply it (LiteRT's int8 GEMMs): after the left
    shift, ``(x * m + 2**30) >> 31``, then a right shift rounding half *up* — both ties go
    toward +inf, where ``fixed_point.mul_by_qm`` rounds ties away from zero."""
    left = max(shift, 0)
    right = -shift if shift < 0 else 0
    x = np.int64(np.int32(np.int64(a) << left))
    v = (x * np.int64(multiplier) + (np.int64(1) << 30)) >> 31
    if right > 0:
        nudge = np.int64(1) << (right - 1)
        if v > 2147483647 - nudge:
            return np.int64(1) << (31 - right)
        v = (v + nudge) >> right
    return v


@njit(cache=True, inline="always")
def requant_one(a, c, mode, mult, shift, scale, ruy_channels):
    if mode == 0:
        if c < ruy_channels:
            return mul_by_qm_ruy(a, mult[c], shift[c])
        return np.int64(mul_by_qm(np.int32(a), mult[c], shift[c]))
    if mode == 1:
        return np.int64(mul_by_qm_int64(a, mult[c], shift[c]))
    v = np.float64(a) * scale[c]
    r = np.floor(abs(v))
    if abs(v) - r >= 0.5:   # C round(): ties away from zero
        r += 1.0
    if v < 0:
        r = -r
    if not (-2147483648.0 <= r <= 2147483647.0):
        return np.int64(-2147483648)
    return np.int64(r)


def q31_arrays(mult, shift) -> tuple:
    """Per-channel int64 multiplier, left shift, right shift and ruy's rounding nudge,
    made at prepare: the kernels take the arrays as arguments, so that they allocate
    nothing (an allocation in a cached kernel imports numba's array library when the
    kernel loads)."""
    m = np.asarray(mult, np.int64)
    shift = np.asarray(shift, np.int64)
    right = np.maximum(-shift, 0)
    return m, np.maximum(shift, 0), right, np.left_shift(1, right) >> 1


@njit(cache=True, inline="always")
def q31_row(acc, bias, q, mult, shift, ruy_channels, zp, lo, hi, out):
    """One output row of the int8/uint8 epilogue, ``requant_one``'s mode 0 written
    without branches so that LLVM vectorizes it: ruy's rounding (ties up; saturating
    as ``min(v + nudge, 2**31) >> right``) on the first ``ruy_channels`` channels,
    gemmlowp's (ties away from zero) on the rest. ``q``: ``q31_arrays``. The sum with
    the bias wraps in int32, as LiteRT's int32 accumulators do."""
    m, left, right, nudge = q
    for c in range(ruy_channels):
        x = np.int64(np.int32(np.int64(np.int32(acc[c])) + bias[c]) << left[c])
        v = (np.int64(np.int32(x)) * m[c] + (np.int64(1) << 30)) >> 31
        v = min(v + nudge[c], np.int64(1) << 31) >> right[c]
        out[c] = min(max(v + zp, lo), hi)
    for c in range(ruy_channels, out.shape[0]):
        a = np.int32(np.int64(np.int32(acc[c])) + bias[c])
        out[c] = min(max(mul_by_qm(a, mult[c], shift[c]) + zp, lo), hi)


@njit(cache=True)
def requantize_rows(acc, bias, q, mult, shift, scale, mode, ruy_channels, zp, lo, hi, out):
    """``out[r, c] = clamp(requant(int(acc[r, c]) + bias[c]) + zp)``; ``q``:
    ``q31_arrays(mult, shift)``."""
    if mode == 0:
        for r in range(acc.shape[0]):
            q31_row(acc[r], bias, q, mult, shift, ruy_channels, zp, lo, hi, out[r])
        return
    for r in range(acc.shape[0]):
        for c in range(acc.shape[1]):
            a = np.int64(acc[r, c]) + bias[c]
            v = requant_one(a, c, mode, mult, shift, scale, ruy_channels) + zp
            out[r, c] = min(max(v, lo), hi)


def tile_q31(rq: Requant, bias: np.ndarray, pixels: int) -> tuple:
    """Per-channel epilogue parameters (bias, multiplier, left/right shift, nudge) tiled
    over ``pixels`` output pixels, for ``q31_flat``; only for ruy's rounding on every
    channel."""
    m, left, right, nudge = q31_arrays(rq.mult, rq.shift)
    # int32 keeps them small (they stay in cache); the bias wraps as LiteRT's sum does
    bias32 = ((np.asarray(bias, np.int64) + 2**31) % 2**32 - 2**31).astype(np.int32)
    return tuple(np.tile(a.astype(np.int32), pixels) for a in (bias32, m, left, right,
                                                               nudge))


@njit(cache=True)
def q31_flat(acc, bias, m, left, right, nudge, zp, lo, hi, out):
    """``q31_row`` (all channels ruy-rounded) over a flat run of whole pixels, in chunks
    of the tiled parameters' length: long loops, so few runtime alias checks."""
    chunk = m.shape[0]
    n = out.shape[0]
    for start in range(0, n, chunk):
        length = min(chunk, n - start)
        a = acc[start:start + length]
        o = out[start:start + length]
        for k in range(length):
            x = np.int64(np.int32(np.int64(np.int32(a[k])) + bias[k]) << left[k])
            v = (np.int64(np.int32(x)) * np.int64(m[k]) + (np.int64(1) << 30)) >> 31
            v = min(v + nudge[k], np.int64(1) << 31) >> right[k]
            o[k] = min(max(v + zp, lo), hi)


_EXACT = 2**53   # integers below this are exact in float64


def exact_affine(rq: Requant, bias: np.ndarray, acc_max: np.ndarray, sum_max: np.ndarray,
                 wrap: int, length: int) -> np.ndarray | None:
    """Float64 ``[scale, offset]`` per channel, tiled to ``length`` values (a multiple of
    the channel count), for ``requantize_affine``: ruy's rounding of ``acc + bias[c]``
    plus the output zero point and ``wrap``. None unless Q31 mode with ruy rounding on
    every channel and every bound holds (module docstring); ``acc_max``, ``sum_max``:
    per-channel bounds on ``|acc|`` and ``|acc + bias|``.

    The bounds are screened on all channels at once in float64, whose relative error
    here is far below the margin kept around 2**53; a value inside the margin sends the
    layer to the exact integer check (``_exact_affine_ints``). Channels that pass have
    every product below 2**54, so int64 holds them exactly."""
    channels = len(rq.mult)
    if rq.mode != Q31 or rq.ruy_channels != channels or length % max(channels, 1):
        return None
    m = np.asarray(rq.mult, np.int64)
    shift = np.asarray(rq.shift, np.int64)
    left, right = np.maximum(shift, 0), np.maximum(-shift, 0)
    sum_max = np.asarray(sum_max, np.int64)
    small_sum = np.where(left <= 30, sum_max < np.left_shift(1, 30 - np.minimum(left, 30)),
                         sum_max == 0)
    if not (np.all(m >= 0) and np.all(small_sum)):
        return None
    gain = m * np.exp2(left)                                # m * 2**left, exact in float64
    d = np.exp2(31 + right)
    constant = 2.0**30 + np.floor(np.exp2(right - 1)) * 2.0**31 + (rq.zp_out + wrap) * d
    bias_f = np.asarray(bias, np.float64)
    estimates = np.stack([np.abs(bias_f * gain + constant),
                          np.asarray(acc_max, np.float64) * gain,
                          sum_max * gain + np.abs(constant)])
    low, high = _EXACT * (1 - 2.0**-30), _EXACT * (1 + 2.0**-30)
    if np.any(estimates >= high):
        return None
    if np.any(estimates >= low):          # too close to call in float: decide exactly
        return _exact_affine_ints(rq, bias, acc_max, sum_max, wrap, length)
    constant_i = ((1 << 30) + ((np.left_shift(1, right) >> 1) << 31)
                  + (rq.zp_out + wrap) * np.left_shift(1, 31 + right))
    offset = np.asarray(bias, np.int64) * m * np.left_shift(1, left) + constant_i
    out = np.stack([gain / d, offset.astype(np.float64) / d])   # both exact (module doc)
    return np.tile(out, (1, length // max(channels, 1)))


def _exact_affine_ints(rq: Requant, bias: np.ndarray, acc_max: np.ndarray,
                       sum_max: np.ndarray, wrap: int, length: int) -> np.ndarray | None:
    """``exact_affine`` channel by channel in Python integers (no rounding anywhere)."""
    channels = len(rq.mult)
    out = np.empty((2, channels), np.float64)
    for c in range(channels):
        m, shift = int(rq.mult[c]), int(rq.shift[c])
        left, right = max(shift, 0), max(-shift, 0)
        d = 1 << (31 + right)
        constant = (1 << 30) + ((1 << right) >> 1) * (1 << 31) + (rq.zp_out + wrap) * d
        offset = int(bias[c]) * m * (1 << left) + constant
        top = int(sum_max[c]) * m * (1 << left) + abs(constant)
        if not (m >= 0 and int(sum_max[c]) << left < 2**30 and abs(offset) < _EXACT
                and int(acc_max[c]) * m * (1 << left) < _EXACT and top < _EXACT):
            return None
        out[0, c] = (m << left) / d   # exact: m < 2**31, d a power of two
        out[1, c] = offset / d
    return np.tile(out, (1, length // max(channels, 1)))


def affine_bounds(rq: Requant, wrap: int) -> tuple[float, float]:
    """Clamp bounds of ``requantize_affine``: the activation range plus ``wrap``."""
    return float(rq.lo + wrap), float(rq.hi + wrap)


@njit(cache=True, fastmath={"contract"})
def requantize_affine(acc, affine, lo, hi, out):
    """``out[i] = trunc(clamp(acc[i] * scale + offset, lo, hi))`` (low bits kept) over
    flat runs, in chunks of the tiled ``affine`` (``exact_affine``) length."""
    scale, offset = affine[0], affine[1]
    chunk = scale.shape[0]
    n = out.shape[0]
    for start in range(0, n, chunk):
        length = min(chunk, n - start)
        a = acc[start:start + length]
        o = out[start:start + length]
        for k in range(length):
            o[k] = np.int32(min(max(np.float64(a[k]) * scale[k] + offset[k], lo), hi))


@njit(cache=True)
def hybrid_rows(acc, correction, wscale, sf, bias, lo, hi, out):
    """Hybrid epilogue: ``out = clamp((acc + correction[c]) * sf * wscale[c] + bias[c])``."""
    for r in range(acc.shape[0]):
        for c in range(acc.shape[1]):
            v = np.float32(acc[r, c] + correction[c]) * np.float32(wscale[c] * sf) + bias[c]
            out[r, c] = min(max(v, lo), hi)
