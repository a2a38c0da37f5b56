"""TFLite's fixed-point helpers against definitions in exact (unbounded) integer arithmetic."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from edgelite.kernels import fixed_point as fp

int32s = st.integers(fp.INT32_MIN, fp.INT32_MAX)


def _floor_half_up(x: Fraction) -> int:
    return math.floor(x + Fraction(1, 2))


def _round_half_away(x: Fraction) -> int:
    return _floor_half_up(x) if x >= 0 else -_floor_half_up(-x)


def srdhm_reference(a: int, b: int) -> int:
    """round(a * b / 2**31), ties toward +inf, saturated to int32."""
    return max(fp.INT32_MIN, min(fp.INT32_MAX, _floor_half_up(Fraction(a * b, 2**31))))


@given(int32s, int32s)
def test_srdhm(a, b):
    assert fp.srdhm(a, b) == srdhm_reference(a, b)


@given(int32s, st.integers(0, 31))
def test_rdivpot_rounds_half_away_from_zero(x, e):
    assert fp.rdivpot(x, e) == _round_half_away(Fraction(x, 2**e))


@given(st.integers(-(2**20), 2**20), st.integers(2**30, fp.INT32_MAX), st.integers(-31, 10))
def test_mul_by_qm_is_two_roundings(x, q, shift):
    left, right = max(shift, 0), max(-shift, 0)
    expected = _round_half_away(Fraction(srdhm_reference(x * 2**left, q), 2**right))
    assert fp.mul_by_qm(x, q, shift) == expected


@given(st.integers(-(2**47), 2**47 - 1), st.integers(2**30, fp.INT32_MAX), st.integers(-31, 7))
def test_mul_by_qm_int64_uses_a_16_bit_multiplier_and_one_rounding(x, q, shift):
    q16 = _floor_half_up(Fraction(q, 2**16)) if q < 0x7FFF0000 else 0x7FFF
    exact = _floor_half_up(Fraction(x * q16, 2**(15 - shift)))
    assert fp.mul_by_qm_int64(x, q, shift) == max(fp.INT32_MIN, min(fp.INT32_MAX, exact))


@given(st.floats(1e-12, 1e6, allow_nan=False, allow_infinity=False))
def test_quantize_multiplier_is_accurate_to_q31(real):
    q, shift = fp.quantize_multiplier(real)
    if shift > 30 or q == 0:
        return
    assert 2**30 <= q < 2**31
    approx = Fraction(q) * Fraction(2) ** (shift - 31)
    assert abs(approx - Fraction(real)) <= Fraction(real) * Fraction(1, 2**31)


def test_quantize_multiplier_edges():
    assert fp.quantize_multiplier(0.0) == (0, 0)
    assert fp.quantize_multiplier(1.0) == (2**30, 1)
    assert fp.quantize_multiplier(0.5) == (2**30, 0)
    assert fp.quantize_multiplier(2.0**-40) == (0, 0)          # below Q0.31 range
    q, s = fp.quantize_multipliers([0.25, 3.0])
    assert q.tolist() == [2**30, 3 * 2**29] and s.tolist() == [-1, 2]


def test_array_form_matches_scalar():
    x = np.arange(-1000, 1000, 7, dtype=np.int32)
    out = np.empty_like(x)
    fp.mul_by_qm_array(x, 1518500250, -3, out)
    assert out.tolist() == [fp.mul_by_qm(int(v), 1518500250, -3) for v in x]


def test_quantize_multipliers_is_the_scalar_form_on_every_element():
    """The vector form takes the same steps on arrays; it must agree bit for bit,
    ties (a Q31 value ending in .5), the 2**31 round-up, underflow and overflow
    included."""
    rng = np.random.default_rng(7)
    reals = np.concatenate([
        rng.standard_normal(5000) * 10.0 ** rng.integers(-14, 14, 5000),
        (np.arange(1, 2000) + 0.5) / 2**31, -(np.arange(1, 2000) + 0.5) / 2**31,   # ties
        [0.0, -0.0, 1.0, -1.0, 0.5, 1 - 2.0**-40, -(1 - 2.0**-40), 2.0**-31, 2.0**-32,
         2.0**-31 * (1 - 2.0**-45), 2.0**30, 2.0**31, 2.0**40]])
    q, shift = fp.quantize_multipliers(reals)
    expected = [fp.quantize_multiplier(float(r)) for r in reals]
    assert q.dtype == shift.dtype == np.int32
    assert q.tolist() == [e[0] for e in expected]
    assert shift.tolist() == [e[1] for e in expected]
