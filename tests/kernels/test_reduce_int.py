"""Quantized reductions (int8, uint8, int16) against LiteRT's builtin kernels, bit-exact."""

from __future__ import annotations

import numpy as np
import pytest

from edgelite.kernels.api import PrepareError
from edgelite.schema import ir
from tests.kernels.harness import compare, op_model, run_kernel

DTYPES = [np.int8, np.uint8, np.int16]


def quant(scale: float, zero_point: int) -> ir.Quantization:
    return ir.Quantization(scales=np.array([scale], np.float32),
                           zero_points=np.array([zero_point], np.int64))


def random_params(rng, dtype, mode: str):
    """(in_scale, in_zp, out_scale, out_zp) for a test mode."""
    info = np.iinfo(dtype)
    zps = [int(rng.integers(info.min, info.max + 1)) for _ in range(2)]
    if mode == "limits":
        zps = [info.min, info.max]
    if dtype == np.int16:
        zps = [0, 0]
    s_in, s_out = (float(10 ** rng.uniform(-3, 1)) for _ in range(2))
    if mode == "same":
        s_out, zps[1] = s_in, zps[0]
    elif mode == "tiny_out":          # outputs saturate
        s_out = s_in * 1e-4
    elif mode == "huge_out":          # outputs collapse onto the zero point
        s_out = s_in * 1e4
    elif mode == "extreme":
        s_in, s_out = 1e-7, 3e-6
    return s_in, zps[0], s_out, zps[1]


def reduce_model(op, x, axis, keep, params):
    s_in, z_in, s_out, z_out = params
    return op_model(op, [x, np.array(axis, np.int32)], {"keep_dims": keep},
                    const=[False, True], input_quant=[quant(s_in, z_in), None],
                    outputs=[(x.dtype, quant(s_out, z_out))])


MEAN_CASES = [
    # the global-average special case (4-D, axes {1, 2}, keep_dims), 16-wide lanes + rest
    ((1, 7, 7, 40), [1, 2], True),
    ((2, 3, 5, 16), [2, 1], True),
    ((1, 7, 7, 9), [-3, -2], True),
    ((1, 1, 1, 20), [1, 2], True),
    # general paths
    ((1, 7, 7, 24), [1, 2], False),
    ((2, 4, 6, 3), [1], True),
    ((3, 4, 5), [0, 2], True),
    ((4, 33), [1], False),
    ((2, 3, 4, 5), [3, 0, 3], False),
    ((2, 3, 4, 5), [0, 1, 2, 3], True),
    ((5, 3), [], False),
]
MODES = ["random", "same", "limits", "tiny_out", "huge_out", "extreme"]


@pytest.mark.parametrize("op", ["MEAN", "SUM"])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", range(len(MEAN_CASES)))
def test_mean_sum(op, dtype, case):
    shape, axis, keep = MEAN_CASES[case]
    rng = np.random.default_rng(case * 7 + DTYPES.index(dtype))
    info = np.iinfo(dtype)
    for mode in MODES:
        x = rng.integers(info.min, info.max + 1, size=shape).astype(dtype)
        if mode == "limits":
            x[...] = info.max if case % 2 else info.min
        compare(reduce_model(op, x, axis, keep, random_params(rng, dtype, mode)), [x])


def test_mean_mobilenet_head_int8_int16():
    """The corpus models' pooling head: 1x7x7xC, axes [1, 2], keep_dims."""
    rng = np.random.default_rng(5)
    for dtype, c in ((np.int8, 1280), (np.int16, 1280), (np.int8, 1001)):
        info = np.iinfo(dtype)
        x = rng.integers(info.min, info.max + 1, size=(1, 7, 7, c)).astype(dtype)
        zp = 0 if dtype == np.int16 else -128
        compare(reduce_model("MEAN", x, [1, 2], True, (0.0235, zp, 0.0117, zp)), [x])


PROD_CASES = [((2, 3, 4), [1], True), ((2, 3, 4), [0, 2], False), ((5, 6), [-1], False),
              ((2, 3, 4, 5), [1, 3], True), ((7,), [0], True)]


@pytest.mark.parametrize("dtype", [np.int8, np.int16])
@pytest.mark.parametrize("case", range(len(PROD_CASES)))
def test_reduce_prod(dtype, case):
    shape, axis, keep = PROD_CASES[case]
    rng = np.random.default_rng(100 + case)
    info = np.iinfo(dtype)
    for mode in ("random", "same", "limits", "tiny_out", "huge_out"):
        x = rng.integers(info.min, info.max + 1, size=shape).astype(dtype)
        compare(reduce_model("REDUCE_PROD", x, axis, keep, random_params(rng, dtype, mode)),
                [x])


@pytest.mark.parametrize("op", ["REDUCE_MAX", "REDUCE_MIN"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_reduce_max_min(op, dtype):
    rng = np.random.default_rng(3)
    info = np.iinfo(dtype)
    for shape, axis, keep in MEAN_CASES[::2]:
        x = rng.integers(info.min, info.max + 1, size=shape).astype(dtype)
        s_in, z_in, _, _ = random_params(rng, dtype, "limits")
        compare(reduce_model(op, x, axis, keep, (s_in, z_in, s_in, z_in)), [x])


def test_errors():
    x = np.zeros((2, 3), np.int16)
    with pytest.raises(PrepareError, match="zero points 0"):
        run_kernel(reduce_model("MEAN", x, [1], False, (0.5, 3, 0.5, 0)), [x])
    u = np.zeros((2, 3), np.uint8)
    with pytest.raises(PrepareError, match="uint8 REDUCE_PROD"):
        run_kernel(reduce_model("REDUCE_PROD", u, [1], False, (0.5, 3, 0.5, 3)), [u])
    m = op_model("SUM", [u, np.array([1], np.int32)], {"keep_dims": False},
                 const=[False, True])
    with pytest.raises(PrepareError, match="needs quantized"):
        run_kernel(m, [u])


# L2_NORMALIZATION reduces the last axis too; its integer tests live here.
@pytest.mark.parametrize("dtype", [np.int8, np.uint8])
@pytest.mark.parametrize("shape", [(3, 17), (2, 3, 64), (1, 2, 2, 5), (7,), (4, 1)])
def test_l2_normalization_int(dtype, shape):
    rng = np.random.default_rng(len(shape) * 3 + shape[-1])
    info = np.iinfo(dtype)
    out_q = quant(1 / 128, 128 if dtype == np.uint8 else 0)
    for k in range(4):
        zp = [0, info.min, info.max, int(rng.integers(info.min, info.max))][k]
        x = rng.integers(info.min, info.max + 1, size=shape).astype(dtype)
        if k == 3:
            x[...] = zp    # all-zero rows: the inverse square root of 0
            x.reshape(-1)[::3] = zp + 1
        m = op_model("L2_NORMALIZATION", [x], {"fused_activation_function": "NONE"},
                     input_quant=[quant(float(10 ** rng.uniform(-3, 0)), zp)],
                     outputs=[(x.dtype, out_q)], version=2)
        compare(m, [x])


def test_l2_normalization_output_quantization_is_checked():
    x = np.zeros((2, 3), np.int8)
    m = op_model("L2_NORMALIZATION", [x], {}, input_quant=[quant(0.1, 0)],
                 outputs=[(x.dtype, quant(0.1, 0))])
    with pytest.raises(PrepareError, match="1/128"):
        run_kernel(m, [x])
