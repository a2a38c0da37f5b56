"""TFLite's integer arithmetic, as small pure functions (numba-compiled, scalar).

Every integer kernel reuses these; nothing here knows about tensors or the interpreter.
The definitions follow TFLite's reference arithmetic (gemmlowp's fixed-point rules):

* ``quantize_multiplier(m)``: a real multiplier as ``q * 2**shift`` with ``q`` an int32 in
  Q0.31 (``[2**30, 2**31)``) — ``frexp`` then round half away from zero;
* ``srdhm(a, b)``: saturating rounding doubling high multiply, ``round(a * b / 2**31)`` with
  ties away from zero, saturating the one overflow case (``INT32_MIN * INT32_MIN``);
* ``rdivpot(x, e)``: ``x / 2**e`` rounded to nearest, ties away from zero;
* ``mul_by_qm(x, q, shift)``: ``x * q * 2**(shift - 31)`` as TFLite computes it: a left
  shift, ``srdhm``, then ``rdivpot`` (two roundings);
* ``mul_by_qm_int64(x, q, shift)``: the int64-accumulator variant (int16x8 kernels):
  ``q`` rounded to 16 bits, then one rounding of ``x * q16 / 2**(15 - shift)``.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from .views import view1d

INT32_MIN = -(2**31)
INT32_MAX = 2**31 - 1


def quantize_multiplier(real: float) -> tuple[int, int]:
    """(quantized multiplier, shift) with ``real ~= multiplier * 2**(shift - 31)``."""
    if real == 0.0:
        return 0, 0
    q, shift = math.frexp(real)
    q_fixed = int(_round_half_away(q * (1 << 31)))
    if q_fixed == 1 << 31:
        q_fixed //= 2
        shift += 1
    if shift < -31:
        return 0, 0
    if shift > 30:
        return INT32_MAX, 30
    return q_fixed, shift


def _round_half_away(x: float) -> float:
    return math.floor(x + 0.5) if x >= 0 else -math.floor(-x + 0.5)


def quantize_multipliers(reals) -> tuple[np.ndarray, np.ndarray]:
    """Vector form of :func:`quantize_multiplier` (per-channel scales), the same steps
    on whole arrays: ``frexp`` and the scaling by 2**31 are exact in float64, and so is
    adding 0.5 to a value below 2**31 before the floor."""
    reals = np.asarray(reals, np.float64).reshape(-1)
    if not np.all(np.isfinite(reals)):   # the scalar form says what is wrong
        pairs = [quantize_multiplier(float(r)) for r in reals]
        return (np.array([p[0] for p in pairs], np.int32),
                np.array([p[1] for p in pairs], np.int32))
    q, shift = np.frexp(reals)
    shift = shift.astype(np.int64)
    scaled = q * float(1 << 31)
    q_fixed = (np.sign(scaled) * np.floor(np.abs(scaled) + 0.5)).astype(np.int64)
    full = q_fixed == 1 << 31
    q_fixed = np.where(full, q_fixed // 2, q_fixed)
    shift = shift + full
    zero = (reals == 0.0) | (shift < -31)
    big = ~zero & (shift > 30)
    q_fixed = np.where(zero, 0, np.where(big, INT32_MAX, q_fixed))
    shift = np.where(zero, 0, np.where(big, 30, shift))
    return q_fixed.astype(np.int32), shift.astype(np.int32)


@njit(cache=True, inline="always")
def srdhm(a: int, b: int) -> int:
    # written with shifts and selects rather than branches and Python's floor division,
    # so that loops calling it vectorize
    ab = np.int64(a) * np.int64(b)
    nudge = (np.int64(1) << 30) + (ab >> 63) * np.int64(0x7FFFFFFF)   # 1 - 2**30 if ab < 0
    total = ab + nudge
    q = (total + ((total >> 63) & np.int64(0x7FFFFFFF))) >> 31   # C division: toward zero
    saturate = (a == INT32_MIN) & (b == INT32_MIN)
    return np.int32(INT32_MAX) if saturate else np.int32(q)


@njit(cache=True, inline="always")
def rdivpot(x: int, exponent: int) -> int:
    v = np.int32(x)
    mask = np.int32((1 << exponent) - 1)
    remainder = v & mask
    threshold = (mask >> 1) + ((v >> 31) & 1)
    return np.int32((v >> exponent) + np.int32(remainder > threshold))


@njit(cache=True, inline="always")
def mul_by_qm(x: int, multiplier: int, shift: int) -> int:
    left = shift if shift > 0 else 0
    right = 0 if shift > 0 else -shift
    return rdivpot(srdhm(np.int32(np.int64(x) * (1 << left)), multiplier), right)


@njit(cache=True, inline="always")
def mul_by_qm_int64(x: int, multiplier: int, shift: int) -> int:
    # The multiplier is first rounded to Q0.15 so that x (|x| < 2**47) times it fits int64.
    reduced = (multiplier + (1 << 15)) >> 16 if multiplier < 0x7FFF0000 else 0x7FFF
    total_shift = 15 - shift
    rounding = np.int64(1) << (total_shift - 1)
    result = (np.int64(x) * np.int64(reduced) + rounding) >> total_shift
    if result > INT32_MAX:
        return INT32_MAX
    if result < INT32_MIN:
        return INT32_MIN
    return np.int32(result)


@njit(cache=True)
def mul_by_qm_array(values: np.ndarray, multiplier: int, shift: int, out: np.ndarray) -> None:
    """``out[i] = mul_by_qm(values[i], multiplier, shift)`` over flat arrays."""
    flat_in, flat_out = view1d(values), view1d(out)
    for i in range(flat_in.size):
        flat_out[i] = mul_by_qm(flat_in[i], multiplier, shift)
