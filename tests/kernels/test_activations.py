"""Float activations and softmax vs LiteRT."""

from __future__ import annotations

import numpy as np
import pytest

from tests.kernels.harness import compare, op_model

SHAPES = [(7,), (2, 5), (1, 4, 3, 6)]


@pytest.mark.parametrize("opcode,options", [
    ("RELU", {}), ("RELU6", {}), ("RELU_N1_TO_1", {}), ("RELU_0_TO_1", {}),
    ("LEAKY_RELU", {"alpha": 0.2}), ("LOGISTIC", {}), ("TANH", {}), ("HARD_SWISH", {}),
    ("ELU", {}), ("GELU", {"approximate": False}), ("GELU", {"approximate": True}),
    ("SOFTMAX", {"beta": 1.0}), ("SOFTMAX", {"beta": 0.5}), ("LOG_SOFTMAX", {})])
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_activation(opcode, options, shape):
    x = np.random.default_rng(len(shape)).uniform(-8, 8, shape).astype(np.float32)
    # transcendental functions: LiteRT uses its own approximations in places
    compare(op_model(opcode, [x], options), [x], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("alpha_shape", [(6,), (1, 1, 6), (4, 3, 6)])
def test_prelu_broadcasts_alpha(alpha_shape):
    rng = np.random.default_rng(0)
    x = rng.uniform(-2, 2, (1, 4, 3, 6)).astype(np.float32)
    alpha = rng.uniform(0, 1, alpha_shape).astype(np.float32)
    compare(op_model("PRELU", [x, alpha], const=[False, True]), [x])
