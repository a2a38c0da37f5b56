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
