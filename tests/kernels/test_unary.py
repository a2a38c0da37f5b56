"""Unary elementwise ops and CAST vs LiteRT."""

from __future__ import annotations

import numpy as np
import pytest

from tests.kernels.harness import compare, op_model


@pytest.mark.parametrize("opcode", ["ABS", "NEG", "SQRT", "RSQRT", "EXP", "LOG", "SIN", "COS",
                                    "SQUARE", "FLOOR", "CEIL", "ROUND", "SIGN", "ZEROS_LIKE"])
@pytest.mark.parametrize("shape", [(5,), (2, 3, 4)], ids=str)
def test_float_unary(opcode, shape):
    rng = np.random.default_rng(0)
    low = 0.1 if opcode in ("SQRT", "RSQRT", "LOG") else -4
    x = rng.uniform(low, 4, shape).astype(np.float32)
    if opcode == "ROUND":
        x[..., 0] = 2.5   # ties go to even
    compare(op_model(opcode, [x]), [x], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("opcode", ["ABS", "NEG"])
def test_int32_unary(opcode):
    x = np.array([-5, 0, 3, 7], np.int32)
    compare(op_model(opcode, [x]), [x])


def test_logical_not():
    x = np.array([True, False, True])
    compare(op_model("LOGICAL_NOT", [x]), [x])


@pytest.mark.parametrize("src,dst", [(np.float32, np.int32), (np.int32, np.float32),
                                     (np.bool_, np.float32), (np.float32, np.bool_),
                                     (np.int64, np.int32), (np.uint8, np.float32)])
def test_cast(src, dst):
    x = np.array([-2.7, -0.5, 0, 0.4, 3.9, 200], np.float32)
    x = x.astype(src) if src != np.uint8 else np.abs(x).astype(src)
    compare(op_model("CAST", [x], outputs=[(dst, None)]), [x])

