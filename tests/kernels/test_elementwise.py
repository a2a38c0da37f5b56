"""ADD/SUB/MUL/DIV against LiteRT, with broadcasting and fused activations."""

from __future__ import annotations

import numpy as np
import pytest

from tests.kernels.harness import compare, op_model

SHAPES = [((2, 3, 4), (2, 3, 4)), ((1, 5, 5, 3), (3,)), ((4, 1, 3), (1, 6, 1)), ((), (7,))]


@pytest.mark.parametrize("opcode", ["ADD", "SUB", "MUL", "DIV"])
@pytest.mark.parametrize("shapes", SHAPES, ids=str)
@pytest.mark.parametrize("activation", ["NONE", "RELU", "RELU6", "RELU_N1_TO_1"])
def test_float_binary(opcode, shapes, activation):
    rng = np.random.default_rng(len(shapes[0]) + len(activation))
    x = rng.uniform(-3, 3, shapes[0]).astype(np.float32)
    y = rng.uniform(0.5, 3, shapes[1]).astype(np.float32)
    model = op_model(opcode, [x, y], {"fused_activation_function": activation})
    compare(model, [x, y])


@pytest.mark.parametrize("opcode", ["ADD", "SUB", "MUL"])
def test_int32_binary_with_constant(opcode):
    rng = np.random.default_rng(3)
    x = rng.integers(-100, 100, (3, 4)).astype(np.int32)
    y = rng.integers(-100, 100, (4,)).astype(np.int32)
    model = op_model(opcode, [x, y], {"fused_activation_function": "NONE"}, const=[False, True])
    compare(model, [x])


@pytest.mark.parametrize("opcode", ["SQUARED_DIFFERENCE", "MAXIMUM", "MINIMUM", "FLOOR_DIV",
                                    "FLOOR_MOD", "POW"])
@pytest.mark.parametrize("shapes", SHAPES[:3], ids=str)
def test_more_float_binary(opcode, shapes):
    rng = np.random.default_rng(5)
    x = rng.uniform(0.5 if opcode == "POW" else -3, 3, shapes[0]).astype(np.float32)
    y = rng.uniform(0.5, 2, shapes[1]).astype(np.float32)
    compare(op_model(opcode, [x, y]), [x, y], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("opcode", ["DIV", "FLOOR_DIV", "FLOOR_MOD", "MAXIMUM"])
def test_int32_division_rounding(opcode):
    x = np.array([[-7, 7, -8, 9, 0, -1]], np.int32)
    y = np.array([[2, -2, 3, -4, 5, 3]], np.int32)
    options = {"fused_activation_function": "NONE"} if opcode == "DIV" else {}
    compare(op_model(opcode, [x, y], options), [x, y])


@pytest.mark.parametrize("opcode", ["LOGICAL_AND", "LOGICAL_OR"])
def test_logical(opcode):
    rng = np.random.default_rng(1)
    x, y = rng.integers(0, 2, (3, 4)).astype(bool), rng.integers(0, 2, (4,)).astype(bool)
    compare(op_model(opcode, [x, y]), [x, y])


@pytest.mark.parametrize("opcode,cond_shape", [("SELECT_V2", (3, 1)), ("SELECT_V2", (3, 4)),
                                               ("SELECT", (3, 4)), ("SELECT", (3,))])
def test_select(opcode, cond_shape):
    rng = np.random.default_rng(2)
    c = rng.integers(0, 2, cond_shape).astype(bool)
    a, b = rng.normal(size=(3, 4)).astype(np.float32), rng.normal(size=(3, 4)).astype(np.float32)
    compare(op_model(opcode, [c, a, b], outputs=[(np.float32, None)]), [c, a, b])
