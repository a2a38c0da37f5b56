"""Integer AVERAGE_POOL_2D / MAX_POOL_2D (int8, uint8, int16) against LiteRT, bit-exact."""

from __future__ import annotations

import numpy as np
import pytest

from edgelite.kernels.api import PrepareError
from edgelite.schema import ir
from tests.kernels.harness import compare, op_model, run_kernel

DTYPES = [np.int8, np.uint8, np.int16]
CASES = [
    # shape, filter (h, w), strides (h, w), padding
    ((1, 7, 7, 20), (3, 3), (2, 2), "SAME"),
    ((2, 6, 5, 3), (2, 3), (1, 2), "VALID"),
    ((1, 5, 8, 17), (5, 2), (3, 1), "SAME"),
    ((1, 4, 4, 9), (4, 4), (1, 1), "VALID"),     # global window
    ((1, 3, 3, 2), (5, 5), (1, 1), "SAME"),      # windows larger than the input
    ((3, 9, 1, 33), (3, 1), (2, 1), "SAME"),
    ((1, 17, 17, 8), (16, 17), (1, 1), "VALID"),  # 272 cells per window
]
ACTIVATIONS = ["NONE", "RELU", "RELU6", "RELU_N1_TO_1"]


def quant(scale: float, zero_point: int) -> ir.Quantization:
    return ir.Quantization(scales=np.array([scale], np.float32),
                           zero_points=np.array([zero_point], np.int64))


def pool_model(op, x, case, activation, scale, zp):
    _, (fh, fw), (sh, sw), padding = case
    options = {"filter_height": fh, "filter_width": fw, "stride_h": sh, "stride_w": sw,
               "padding": padding, "fused_activation_function": activation}
    q = quant(scale, zp)
    return op_model(op, [x], options, input_quant=[q], outputs=[(x.dtype, q)])


@pytest.mark.parametrize("op", ["AVERAGE_POOL_2D", "MAX_POOL_2D"])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", range(len(CASES)))
def test_pool_int(op, dtype, case):
    rng = np.random.default_rng(case * 11 + DTYPES.index(dtype))
    info = np.iinfo(dtype)
    shape = CASES[case][0]
    for k, activation in enumerate(ACTIVATIONS):
        x = rng.integers(info.min, info.max + 1, size=shape).astype(dtype)
        if k == 3:   # constant extremes: sums far from zero, ties in rounding
            x[..., ::2] = info.min
            x[..., 1::2] = info.max
        zp = 0 if dtype == np.int16 else int(rng.choice([info.min, info.max,
                                                         rng.integers(info.min, info.max)]))
        scale = float(10 ** rng.uniform(-4, 0)) if k != 2 else 0.05
        compare(pool_model(op, x, CASES[case], activation, scale, zp), [x])


def test_average_rounding_ties():
    """Sums that are exact half-multiples of the count round away from zero."""
    x = np.array([-3, -1, 1, 3, -2, 2, -5, 5], np.int8).reshape(1, 2, 4, 1)
    for dtype in DTYPES:
        v = x.astype(dtype) if dtype != np.uint8 else (x + 10).astype(dtype)
        case = ((1, 2, 4, 1), (1, 2), (1, 1), "VALID")
        compare(pool_model("AVERAGE_POOL_2D", v, case, "NONE", 0.1, 0), [v])


def test_errors():
    x = np.zeros((1, 4, 4), np.int8)
    with pytest.raises(PrepareError, match="4-D"):
        run_kernel(pool_model("MAX_POOL_2D", x, (None, (2, 2), (1, 1), "VALID"),
                              "NONE", 0.1, 0), [x])
    x = np.zeros((1, 4, 4, 1), np.int8)
    with pytest.raises(PrepareError, match="TANH"):
        run_kernel(pool_model("AVERAGE_POOL_2D", x, (None, (2, 2), (1, 1), "VALID"),
                              "TANH", 0.1, 0), [x])
