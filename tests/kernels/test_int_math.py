"""int_math's helpers against definitions in exact (unbounded) integer / rational
arithmetic: int16 fixed point, the ADD/SUB rescaling chain, LUT interpolation, rounding,
broadcast indices."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from edgelite.kernels import int_math
from edgelite.kernels.fixed_point import quantize_multiplier

int16s = st.integers(-32768, 32767)


def _floor_half_up(x: Fraction) -> int:
    return math.floor(x + Fraction(1, 2))


def _round_half_away(x: Fraction) -> int:
    return _floor_half_up(x) if x >= 0 else -_floor_half_up(-x)


@given(int16s, int16s)
def test_srdhm16_is_round_ab_over_2_15_ties_up(a, b):
    # gemmlowp's nudge (1 - 2**14 below zero, then a truncating division) sends a
    # negative tie toward zero: every tie goes toward +inf, as in the int32 version
    expected = 32767 if a == b == -32768 else _floor_half_up(Fraction(a * b, 2**15))
    assert int_math.srdhm16(a, b) == expected


def test_srdhm16_ties():
    assert [int_math.srdhm16(a, 16384) for a in (-3, -1, 1, 3)] == [-1, 0, 1, 2]


@given(st.integers(0, 2**31 - 1))
def test_to_q15_rounds_and_saturates(m):
    assert int_math.to_q15(m) == min(_floor_half_up(Fraction(m, 2**16)), 32767)


@given(st.floats(-1e6, 1e6, allow_nan=False))
def test_round_away_exact(x):
    assert int_math._round_away_exact(x) == _round_half_away(Fraction(x))


@given(int16s, st.lists(int16s, min_size=513, max_size=513))
def test_lut_lookup16_interpolates_between_entries(v, entries):
    lut = np.array(entries, np.int16)
    index, offset = 256 + (v >> 7), v & 0x7F
    base, slope = entries[index], entries[index + 1] - entries[index]
    expected = base + math.floor(Fraction(slope * offset + 64, 128))
    expected = (expected + 2**15) % 2**16 - 2**15   # the int16 store wraps
    assert int_math.lut_lookup16(v, lut) == expected


def _mul_by_qm_reference(x: int, m: int, shift: int) -> int:
    """TFLite's two-rounding fixed-point multiply, in unbounded integers."""
    left, right = max(shift, 0), max(-shift, 0)
    a = ((x << left) + 2**31) % 2**32 - 2**31
    high = _floor_half_up(Fraction(a * m, 2**31))
    return _round_half_away(Fraction(high, 2**right))


@settings(max_examples=200)
@given(st.sampled_from([np.int8, np.uint8]), st.floats(1e-5, 10), st.floats(1e-5, 10),
       st.floats(1e-4, 100), st.data())
def test_add_sub_rescaled_matches_the_wide_integer_chain(dtype, s1, s2, so, data):
    info = np.iinfo(dtype)
    (m1, sh1), (m2, sh2), (mo, sho) = int_math.add_sub_params(s1, s2, so, 20)
    if sho > 0:
        return   # LiteRT refuses these scales (ADD)
    values = st.integers(int(info.min), int(info.max))
    x, y, z1, z2, zo = (data.draw(values) for _ in range(5))
    sign = data.draw(st.sampled_from([1, -1]))
    out = np.zeros(1, np.int32)
    int_math.add_sub_rescaled(np.array([x], dtype), np.array([y], dtype),
                              int_math.EMPTY_INDEX, int_math.EMPTY_INDEX, out, 20, -z1, m1,
                              sh1, -z2, m2, sh2, sign, zo, mo, sho, int(info.min),
                              int(info.max), 0, int(info.min), int(info.max), 0)
    a = _mul_by_qm_reference((x - z1) << 20, m1, sh1)
    b = _mul_by_qm_reference((y - z2) << 20, m2, sh2)
    r = _mul_by_qm_reference(a + sign * b, mo, sho) + zo
    assert out[0] == min(max(r, int(info.min)), int(info.max))
    # and the rescaling is close to the real arithmetic
    real = (Fraction(s1) * (x - z1) + sign * Fraction(s2) * (y - z2)) / Fraction(so) + zo
    if info.min < real < info.max:
        assert abs(out[0] - real) <= 1


@given(st.floats(1e-4, 1.0), st.floats(0.1, 10.0))
def test_softmax_int16_multiplier_scales_to_the_lut_range(scale, beta):
    m, s, exp_lut, recip_lut = int_math.softmax_int16_params(scale, beta)
    real = float(np.float32(scale) * np.float32(beta)) / (10.0 / 65535.0)
    assert abs(m * 2.0 ** (s - 31) - real) <= real * 2**-30
    assert exp_lut[-1] == 32767 and recip_lut[0] == 32767


def test_int16_luts_follow_their_functions():
    _, _, exp_lut, recip_lut = int_math.softmax_int16_params(0.01, 1.0)
    xs = np.linspace(-10, 0, 513)
    np.testing.assert_allclose(exp_lut / 32767.5, np.exp(xs), atol=2e-4)
    np.testing.assert_allclose(recip_lut / 32767.5, 1 / (1 + np.linspace(0, 1, 513)),
                               atol=2e-4)


@given(st.lists(st.integers(1, 3), min_size=0, max_size=4), st.data())
def test_broadcast_index(out_shape, data):
    in_shape = [data.draw(st.sampled_from([1, d])) for d in out_shape]
    in_shape = in_shape[data.draw(st.integers(0, len(in_shape))):]
    src = np.arange(int(np.prod(in_shape)), dtype=np.int64).reshape(in_shape)
    index = int_math.broadcast_index(tuple(in_shape), tuple(out_shape))
    expected = np.broadcast_to(src, out_shape).reshape(-1)
    if tuple(in_shape) == tuple(out_shape):
        assert index.size == 0
    else:
        np.testing.assert_array_equal(index, expected)


@given(st.integers(-40, 20))
def test_pot_log2(e):
    assert int_math.pot_log2(2.0**e) == e
    assert int_math.pot_log2(2.0**e * 1.1) is None


def test_quantize_multiplier_sign_symmetry_breaks_at_ties():
    # why LEAKY_RELU's int16 kernel (negative multiplier) and the 8-bit ones (negated
    # product) differ: srdhm rounds ties toward +inf
    m, s = quantize_multiplier(0.5)
    mn, sn = quantize_multiplier(-0.5)
    assert (mn, sn) == (-m, s)
    assert _mul_by_qm_reference(3, mn, sn) != -_mul_by_qm_reference(3, m, s)
