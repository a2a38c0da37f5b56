"""Integer TRANSPOSE_CONV (int8 per-channel, uint8, int16x8 with int64/int32 bias)
against LiteRT's builtin kernels, bit-exact."""

from __future__ import annotations

import numpy as np
import pytest

from edgelite.kernels.api import PrepareError
from edgelite.schema import ir
from tests.kernels.harness import compare, op_model, run_kernel

GEOMETRY = [
    # x shape, w shape (cout, kh, kw, cin), out hw, stride, padding
    ((1, 4, 4, 3), (5, 3, 3, 3), (8, 8), (2, 2), "SAME"),
    ((2, 3, 5, 4), (9, 2, 3, 4), (7, 11), (2, 2), "VALID"),
    ((1, 5, 5, 2), (16, 3, 3, 2), (5, 5), (1, 1), "SAME"),
    ((1, 2, 3, 7), (19, 4, 4, 7), (6, 9), (3, 3), "SAME"),
    ((1, 3, 3, 8), (3, 1, 1, 8), (5, 5), (2, 2), "VALID"),
]
ACTIVATIONS = ["NONE", "RELU", "RELU6", "RELU_N1_TO_1"]


def q(scales, zps, axis=0) -> ir.Quantization:
    return ir.Quantization(scales=np.asarray(scales, np.float32).reshape(-1),
                           zero_points=np.asarray(zps, np.int64).reshape(-1), axis=axis)


def tc_model(x, w, b, out_hw, stride, padding, quants, activation="NONE", version=4,
             const_w=True, bias_type=None):
    shape = np.array([x.shape[0], *out_hw, w.shape[0]], np.int32)
    inputs = [shape, w, x] + ([] if b is None else [b])
    options = {"padding": padding, "stride_h": stride[0], "stride_w": stride[1],
               "fused_activation_function": activation}
    if bias_type:
        options["quantized_bias_type"] = bias_type
    q_in, q_w, q_b, q_out = quants
    return op_model("TRANSPOSE_CONV", inputs, options, version=version,
                    const=[True, const_w, False, True][:len(inputs)],
                    input_quant=[None, q_w, q_in, q_b][:len(inputs)],
                    outputs=[(x.dtype, q_out)])


def make_case(rng, dtype, g, mode):
    x_shape, w_shape, _, _, _ = g
    cout = w_shape[0]
    info = np.iinfo(dtype)
    x = rng.integers(info.min, info.max + 1, size=x_shape).astype(dtype)
    if dtype == np.uint8:
        w = rng.integers(0, 256, size=w_shape).astype(np.uint8)
        w_scale, w_zp = [float(10 ** rng.uniform(-3, -1))], [int(rng.integers(0, 256))]
    else:
        w = rng.integers(-127, 128, size=w_shape).astype(np.int8)
        w_scale, w_zp = 10 ** rng.uniform(-3, -1, cout), np.zeros(cout)
    s_in = float(10 ** rng.uniform(-3, 0))
    s_out = float(10 ** rng.uniform(-2, 1))
    if mode == "tiny_out":
        s_out = 1e-4
    elif mode == "huge_out":
        s_out = 1e3
    if dtype == np.int16:
        z_in = z_out = 0
    elif mode == "limits":
        z_in, z_out = info.max, info.min
    else:
        z_in, z_out = (int(rng.integers(info.min, info.max + 1)) for _ in range(2))
    b_scale = s_in * np.asarray(w_scale, np.float64)
    bias_type = np.int64 if dtype == np.int16 else np.int32
    b = rng.integers(-5000, 5000, size=cout).astype(bias_type)
    q_b = q(b_scale, np.zeros(b_scale.size))   # per-tensor for uint8 (LiteRT checks it)
    quants = (q([s_in], [z_in]), q(w_scale, w_zp), q_b, q([s_out], [z_out]))
    return x, w, b, quants


@pytest.mark.parametrize("dtype", [np.int8, np.uint8, np.int16])
@pytest.mark.parametrize("geom", range(len(GEOMETRY)))
def test_transpose_conv_int(dtype, geom):
    g = GEOMETRY[geom]
    rng = np.random.default_rng(geom * 5 + [np.int8, np.uint8, np.int16].index(dtype))
    for k, mode in enumerate(["random", "limits", "tiny_out", "huge_out"]):
        x, w, b, quants = make_case(rng, dtype, g, mode)
        _, _, out_hw, stride, padding = g
        model = tc_model(x, w, b if k != 1 else None, out_hw, stride, padding, quants,
                         ACTIVATIONS[k], version=4 if dtype != np.int16 else 5)
        compare(model, [x])


@pytest.mark.parametrize("dtype", [np.int8, np.int16])
def test_runtime_weights(dtype):
    rng = np.random.default_rng(9)
    g = GEOMETRY[2]
    x, w, b, quants = make_case(rng, dtype, g, "random")
    model = tc_model(x, w, b, g[2], g[3], g[4], quants, const_w=False)
    compare(model, [w, x])


def test_int16_with_int32_bias():
    rng = np.random.default_rng(11)
    for geom in (0, 2, 3):
        g = GEOMETRY[geom]
        x, w, b, quants = make_case(rng, np.int16, g, "random")
        model = tc_model(x, w, b.astype(np.int32), g[2], g[3], g[4], quants,
                         bias_type="INT32", version=5)
        compare(model, [x])


def test_errors():
    rng = np.random.default_rng(1)
    g = GEOMETRY[0]
    x, w, b, quants = make_case(rng, np.int16, g, "random")
    with pytest.raises(PrepareError, match="int64 bias"):
        run_kernel(tc_model(x, w, b.astype(np.int32), g[2], g[3], g[4], quants), [x])
    x8, w8, b8, quants8 = make_case(rng, np.int8, g, "random")
    with pytest.raises(PrepareError, match="int8 weights"):
        run_kernel(tc_model(x8, w8.astype(np.uint8), b8, g[2], g[3], g[4], quants8), [x8])


@pytest.mark.parametrize("dtype", [np.int8, np.uint8])
def test_rounding_ties(dtype):
    """A multiplier of exactly 1/4 makes many accumulators ties: LiteRT's vector
    loops (channels in blocks of 8, or uint8's flat blocks of 16) round ties up, its
    scalar tail away from zero."""
    rng = np.random.default_rng(21)
    cout = 12
    x_shape, w_shape = (1, 3, 3, 2), (cout, 2, 2, 2)
    zp = 128 if dtype == np.uint8 else 0
    x = (rng.integers(-6, 7, size=x_shape) + 3 + zp).astype(dtype)   # small: no clamping
    w = (rng.integers(-5, 6, size=w_shape) + zp).astype(dtype)
    w_scale = [0.25] if dtype == np.uint8 else [0.25] * cout
    quants = (q([1.0], [3 + zp]), q(w_scale, [zp] * len(w_scale)), None,
              q([1.0], [-1 + zp]))
    model = tc_model(x, w, None, (6, 6), (2, 2), "VALID", quants)
    compare(model, [x])
