"""Unary elementwise ops and CAST against LiteRT: shapes of rank 0-5, special values,
every dtype each op takes, every CAST pair, constant inputs, and the errors prepare
raises."""

from __future__ import annotations

import numpy as np
import pytest

from edgelite.interpreter import Interpreter
from edgelite.kernels.api import PrepareError
from edgelite.schema import ir, write
from tests.kernels.harness import compare, op_model

# TFLite returns inf / nan silently; numpy warnings from a kernel are bugs here
pytestmark = pytest.mark.filterwarnings("error::RuntimeWarning")

SHAPES = [(), (5,), (2, 3), (2, 3, 4), (1, 2, 3, 4), (2, 1, 2, 3, 2)]
SPECIAL = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1e-40, -2.5, 2.5, 0.5, -0.5, 1e30],
                   np.float32)
MATH = ["SQRT", "RSQRT", "EXP", "LOG", "SIN", "COS", "SQUARE", "FLOOR", "CEIL", "ROUND",
        "ABS", "NEG", "SIGN"]
# libm differences (SIMD exp/log/sin/cos in numpy vs scalar in LiteRT): a few ulp, and
# for LOG near 1 an absolute error of a few ulp of 1; rtol 1e-5 / atol 1e-6 covers both.
# The exact ops (SQRT, SQUARE, rounding, sign, ...) are held to the same bound, which
# one wrong rounding step would already break.


@pytest.mark.parametrize("opcode", MATH)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_float_math(opcode, shape):
    rng = np.random.default_rng(len(shape))
    low = 0.01 if opcode in ("SQRT", "RSQRT", "LOG") else -6
    x = rng.uniform(low, 6, shape).astype(np.float32)
    if opcode == "ROUND" and x.size:
        x.reshape(-1)[0] = 2.5   # ties go to even
    compare(op_model(opcode, [x]), [x])


@pytest.mark.parametrize("opcode", MATH)
def test_float_math_special_values(opcode):
    """Zeros, infinities, NaN, denormals, ties, out-of-domain inputs: inf and NaN come out
    where LiteRT gives them, with no warning raised."""
    compare(op_model(opcode, [SPECIAL]), [SPECIAL])


@pytest.mark.parametrize("opcode", ["EXP", "ABS", "SIN"])
def test_constant_input_is_folded(opcode):
    x = np.linspace(-2, 2, 7, dtype=np.float32)
    compare(op_model(opcode, [x], const=[True]), [])


@pytest.mark.parametrize("opcode,dtype", [
    ("ABS", np.int32), ("ABS", np.int16), ("NEG", np.int32), ("NEG", np.int64),
    ("NEG", np.int8), ("NEG", np.int16), ("SIGN", np.int32), ("SIGN", np.float64)])
def test_integer_and_double_variants(opcode, dtype):
    x = np.array([[-5, 0, 3, 7], [-100, 100, 1, -1]], np.float64).astype(dtype)
    compare(op_model(opcode, [x]), [x])


def test_abs_and_neg_of_the_most_negative_integer_wrap():
    x = np.array([-32768, 32767, 0], np.int16)
    compare(op_model("ABS", [x]), [x])
    compare(op_model("NEG", [x]), [x])


def test_logical_not():
    x = np.array([[True, False, True], [False, False, True]])
    compare(op_model("LOGICAL_NOT", [x]), [x])


@pytest.mark.parametrize("dtype", [np.float32, np.int32, np.int64])
@pytest.mark.parametrize("shape", [(), (3, 4)], ids=str)
def test_zeros_like(dtype, shape):
    x = np.full(shape, 7, dtype)
    compare(op_model("ZEROS_LIKE", [x]), [x])


# ------------------------------------------------------------------ CAST
CAST_TYPES = [np.float32, np.float16, np.float64, np.int8, np.uint8, np.int16, np.uint16,
              np.int32, np.uint32, np.int64, np.bool_]
FLOATS = np.array([np.nan, np.inf, -np.inf, 3e9, -3e9, 1e20, -1e20, 300.7, -300.7, 200.5,
                   -1.5, -0.7, 0.3, 1.0, 65504, 70000, 2.0**31, 2.0**32 - 1, 2.0**63,
                   -2.0**63, 127.9, -128.9, 255.5, 32767.5], np.float64)
INTS = np.array([0, 1, -1, 127, -128, 255, 300, -300, 65535, 70000, 2**31 - 1, -2**31,
                 2**40, -2**40, 2**62], np.int64)


def _cast_source(dtype) -> np.ndarray:
    dtype = np.dtype(dtype)
    if dtype == np.bool_:
        return np.array([True, False, True])
    with np.errstate(all="ignore"):
        return (FLOATS if dtype.kind == "f" else INTS).astype(dtype)


@pytest.mark.parametrize("src", CAST_TYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("dst", CAST_TYPES, ids=lambda d: np.dtype(d).name)
def test_cast_every_pair(src, dst):
    """Saturation, NaN, truncation toward zero, wrapping and rounding as LiteRT's CAST."""
    x = _cast_source(src)
    compare(op_model("CAST", [x], outputs=[(dst, None)]), [x], rtol=0, atol=0)


@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_cast_shapes(shape):
    x = np.random.default_rng(1).uniform(-300, 300, shape).astype(np.float32)
    compare(op_model("CAST", [x], outputs=[(np.int8, None)]), [x])


def test_cast_keeps_quantized_values_as_they_are():
    q = ir.Quantization(scales=np.array([0.5], np.float32), zero_points=np.array([-3]))
    x = np.array([-128, -3, 0, 127], np.int8)
    compare(op_model("CAST", [x], outputs=[(np.float32, None)], input_quant=[q]), [x])


# ------------------------------------------------------------------ errors
QUANT = ir.Quantization(scales=np.array([0.5], np.float32), zero_points=np.array([0]))


@pytest.mark.parametrize("opcode,dtype,quantized,match", [
    ("EXP", np.int8, True, "quantized int8 inputs are not supported yet"),
    ("RSQRT", np.int16, True, "quantized int16 inputs are not supported yet"),
    ("LOG", np.int8, False, "quantized int8"),
    ("ABS", np.int8, False, "the input and output must be quantized"), ("NEG", np.int8, True, "quantized int8"),
    ("SQRT", np.int32, False, r"int32 inputs are not supported \(takes float32\)"),
    ("SIN", np.float16, False, "float16 inputs are not supported"),
    ("SIGN", np.int64, False, "int64 inputs are not supported"),
    ("LOGICAL_NOT", np.int32, False, "int32 inputs are not supported"),
    ("ZEROS_LIKE", np.bool_, False, "bool inputs are not supported")])
def test_unsupported_inputs_fail_naming_the_op(opcode, dtype, quantized, match):
    model = op_model(opcode, [np.ones(3, dtype)], input_quant=[QUANT] if quantized else None)
    with pytest.raises(PrepareError, match=rf"operator 0 \({opcode}\): {match}"):
        Interpreter(model_content=write(model)).allocate_tensors()


@pytest.mark.parametrize("src,dst", [(np.complex64, np.float32), (np.float32, np.complex64),
                                     (np.float32, ir.dtype_of("BFLOAT16"))])
def test_cast_to_or_from_an_unsupported_type_fails(src, dst):
    model = op_model("CAST", [np.ones(3, src)], outputs=[(dst, None)])
    with pytest.raises(PrepareError, match=r"operator 0 \(CAST\): CAST from"):
        Interpreter(model_content=write(model)).allocate_tensors()
