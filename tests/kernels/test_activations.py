"""Float activations and softmax against LiteRT: shapes of rank 0-5, options, special
values, PRELU's alpha broadcasting, constant inputs, and the errors prepare raises."""

from __future__ import annotations

import numpy as np
import pytest

from edgelite.interpreter import Interpreter
from edgelite.kernels.api import PrepareError
from edgelite.schema import ir, write
from tests.kernels.harness import compare, op_model

# TFLite returns inf / nan silently; numpy warnings from a kernel are bugs here
pytestmark = pytest.mark.filterwarnings("error::RuntimeWarning")

SHAPES = [(), (7,), (2, 5), (2, 3, 4), (1, 4, 3, 6), (2, 1, 3, 2, 5)]
SPECIAL = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1e-40, -1e-40, 3.0, -3.0, 6.0, -6.0,
                    1.0, -1.0, 50.0, -50.0, 100.0, -100.0], np.float32)

# Tolerances. The clamps, LEAKY_RELU, PRELU and HARD_SWISH are exact or within an ulp, and
# the default rtol 1e-5 / atol 1e-6 holds them. LiteRT evaluates tanh, the logistic, exp
# and erfc with Eigen's float approximations (a few ulp from the true value) where this
# kernel uses libm or double precision: also within the default bound, except that
# GELU's tanh form differs by up to 1e-6 absolute around x = -5, where Eigen's tanh
# saturates to exactly -1 (and the output to 0) before libm's does.
TOLERANCE = {"GELU_APPROX": {"atol": 2e-6}}
OPS = [("RELU", {}), ("RELU6", {}), ("RELU_N1_TO_1", {}), ("RELU_0_TO_1", {}),
       ("LEAKY_RELU", {"alpha": 0.2}), ("LEAKY_RELU", {"alpha": 1.5}),
       ("LEAKY_RELU", {"alpha": -0.3}), ("LOGISTIC", {}), ("TANH", {}), ("HARD_SWISH", {}),
       ("ELU", {}), ("GELU", {"approximate": False}), ("GELU", {"approximate": True})]
SOFTMAXES = [("SOFTMAX", {"beta": 1.0}), ("SOFTMAX", {"beta": 0.5}),
             ("SOFTMAX", {"beta": 2.0}), ("LOG_SOFTMAX", {})]


def tolerance(opcode: str, options: dict) -> dict:
    key = "GELU_APPROX" if opcode == "GELU" and options.get("approximate") else opcode
    return TOLERANCE.get(key, {})


@pytest.mark.parametrize("opcode,options", OPS, ids=str)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_activation(opcode, options, shape):
    x = np.random.default_rng(len(shape)).uniform(-8, 8, shape).astype(np.float32)
    compare(op_model(opcode, [x], options), [x], **tolerance(opcode, options))


@pytest.mark.parametrize("opcode,options", OPS + SOFTMAXES, ids=str)
def test_activation_special_values(opcode, options):
    x = SPECIAL if not opcode.endswith("SOFTMAX") else SPECIAL[[0, 5, 7, 8, 11, 13]]
    compare(op_model(opcode, [x], options), [x], **tolerance(opcode, options))


@pytest.mark.parametrize("opcode,options", SOFTMAXES, ids=str)
@pytest.mark.parametrize("shape", SHAPES[1:] + [(3, 1), (2, 1000)], ids=str)
def test_softmax(opcode, options, shape):
    x = np.random.default_rng(len(shape)).uniform(-8, 8, shape).astype(np.float32)
    compare(op_model(opcode, [x], options), [x])


@pytest.mark.parametrize("opcode,options", [("TANH", {}), ("SOFTMAX", {"beta": 1.0}),
                                            ("GELU", {"approximate": False})], ids=str)
def test_constant_input_is_folded(opcode, options):
    x = np.linspace(-3, 3, 12, dtype=np.float32).reshape(3, 4)
    compare(op_model(opcode, [x], options, const=[True]), [])


@pytest.mark.parametrize("alpha_shape", [(6,), (1, 1, 6), (3, 6), (4, 3, 6), (1, 4, 3, 6),
                                         (), (1,)], ids=str)
@pytest.mark.parametrize("const", [True, False])
def test_prelu_broadcasts_alpha(alpha_shape, const):
    rng = np.random.default_rng(0)
    x = rng.uniform(-2, 2, (1, 4, 3, 6)).astype(np.float32)
    x[0, 0, 0, :3] = [0.0, -0.0, np.nan]
    alpha = rng.uniform(-1, 1, alpha_shape).astype(np.float32)
    model = op_model("PRELU", [x, alpha], const=[False, const])
    compare(model, [x] if const else [x, alpha])


# ------------------------------------------------------------------ errors
QUANT = ir.Quantization(scales=np.array([1 / 256], np.float32), zero_points=np.array([-128]))


def _prepare(model: ir.Model) -> None:
    Interpreter(model_content=write(model)).allocate_tensors()


@pytest.mark.parametrize("opcode,dtype,quantized,match", [
    ("RELU", np.int8, False, r"the input \(int8\) must be quantized"),
    ("SOFTMAX", np.int8, False, r"the input \(int8\) must be quantized"),
    ("ELU", np.int16, True, "int16 inputs are not supported"),
    ("RELU_N1_TO_1", np.int16, True, "int16 inputs are not supported"),
    ("HARD_SWISH", np.int16, True, "int16 inputs are not supported"),
    ("ELU", np.uint8, True, "uint8 inputs are not supported")])
def test_integer_inputs_outside_the_integer_kernels_fail(opcode, dtype, quantized, match):
    model = op_model(opcode, [np.zeros(4, dtype)], input_quant=[QUANT] if quantized else None)
    with pytest.raises(PrepareError, match=rf"\({opcode}\): {match}"):
        _prepare(model)


@pytest.mark.parametrize("opcode", ["TANH", "ELU", "LOG_SOFTMAX"])
def test_other_dtypes_fail_naming_the_op(opcode):
    with pytest.raises(PrepareError, match=rf"\({opcode}\): int32 inputs are not supported"):
        _prepare(op_model(opcode, [np.zeros(4, np.int32)]))


@pytest.mark.parametrize("opcode", ["SOFTMAX", "LOG_SOFTMAX"])
def test_softmax_of_a_scalar_fails(opcode):
    with pytest.raises(PrepareError, match=rf"\({opcode}\): input must have at least one"):
        _prepare(op_model(opcode, [np.zeros((), np.float32)]))


@pytest.mark.parametrize("alpha_shape", [(5,), (2, 4, 3, 6)], ids=str)
def test_prelu_alpha_must_broadcast_into_the_input(alpha_shape):
    x, alpha = np.zeros((1, 4, 3, 6), np.float32), np.zeros(alpha_shape, np.float32)
    with pytest.raises(PrepareError, match=r"\(PRELU\)"):
        _prepare(op_model("PRELU", [x, alpha], const=[False, True]))
