"""Quantization-parameter helpers: vectorised requantize against the scalar fixed-point
definition, and the activation clamps LiteRT computes."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from edgelite.kernels import fixed_point as fp
from edgelite.kernels import quant


@given(st.lists(st.integers(-(2**24), 2**24), min_size=1, max_size=40),
       st.integers(2**30, fp.INT32_MAX), st.integers(-31, 6))
def test_requantize_matches_the_scalar_definition(values, q, shift):
    acc = np.array(values, np.int64)
    got = quant.requantize(acc, q, shift)
    assert got.tolist() == [fp.mul_by_qm(int(v), q, shift) for v in values]


def test_requantize_per_channel_broadcasts_on_the_last_axis():
    rng = np.random.default_rng(0)
    acc = rng.integers(-(2**20), 2**20, size=(5, 3))
    mult, shift = fp.quantize_multipliers([0.3, 0.0007, 1.7])
    got = quant.requantize(acc, mult, shift)
    want = [[fp.mul_by_qm(int(acc[r, c]), int(mult[c]), int(shift[c])) for c in range(3)]
            for r in range(5)]
    assert got.tolist() == want


def test_activation_ranges():
    assert quant.activation_range("NONE", 0.1, 3, np.int8) == (-128, 127)
    assert quant.activation_range("RELU", 0.1, -5, np.int8) == (-5, 127)
    assert quant.activation_range("RELU6", 0.05, -128, np.int8) == (-128, -8)
    assert quant.activation_range("RELU6", 0.01, 0, np.int8) == (0, 127)
    assert quant.activation_range("RELU_N1_TO_1", 0.5, 10, np.uint8) == (8, 12)
    assert quant.activation_range("RELU", 1.0, 0, np.int16) == (0, 32767)


def test_a_bound_that_overflows_int32_is_refused_like_litert():
    # LiteRT: "no_integer_overflow_from_quantization was not true" for RELU6 at scale 1e-12
    assert quant.activation_range("RELU", 1e-12, -128, np.int8) == (-128, 127)
    with pytest.raises(OverflowError, match="outside int32"):
        quant.activation_range("RELU6", 1e-12, -128, np.int8)
    with pytest.raises(OverflowError):
        quant.activation_range("RELU_N1_TO_1", 0.0, 0, np.int16)
