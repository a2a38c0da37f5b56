"""Integer and hybrid CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED against LiteRT's builtin
kernels: int8 (per-channel and per-tensor weights), int16x8 (int64 bias), legacy uint8 —
bit-identical — and hybrid (float input, int8 weights) to float rounding. Random scales and
zero points include extreme ones (saturating output scales, zero points at the limits)."""

from __future__ import annotations

import numpy as np
import pytest

from edgelite.kernels.api import PrepareError
from edgelite.schema import ir
from tests.kernels.harness import compare, op_model, run_edgelite

RANGE = {np.int8: (-128, 127), np.uint8: (0, 255), np.int16: (-32768, 32767)}


def q(scales, zero_points=None, axis=0):
    scales = np.atleast_1d(np.asarray(scales, np.float32))
    zps = np.zeros(scales.shape, np.int64) if zero_points is None else \
        np.atleast_1d(np.asarray(zero_points, np.int64))
    return ir.Quantization(scales=scales, zero_points=zps, axis=axis)


def ints(rng, shape, dtype, lo=None, hi=None):
    a, b = RANGE[dtype]
    return rng.integers(a if lo is None else lo, (b if hi is None else hi) + 1,
                        shape).astype(dtype)


def conv_options(stride=1, dilation=1, padding="SAME", activation="NONE", **extra):
    return {"padding": padding, "stride_h": stride, "stride_w": stride,
            "dilation_h_factor": dilation, "dilation_w_factor": dilation,
            "fused_activation_function": activation, **extra}


def quantized_case(opcode, dtype, x_shape, w_shape, options, **kwargs):
    """One integer conv-family op with random data and quantization; compared bit-exact."""
    model, x = quantized_model(opcode, dtype, x_shape, w_shape, options, **kwargs)
    return compare(model, [x])


def quantized_model(opcode, dtype, x_shape, w_shape, options, *, seed=0, per_channel=True,
                    in_zp=None, out_zp=None, out_scale_factor=1.0, bias=True, version=None,
                    w_zp=None):
    """(model, input) of one integer conv-family op with random data and quantization
    (uint8 weights: zero point ``w_zp``, random when None)."""
    rng = np.random.default_rng(seed)
    channels = w_shape[0] if opcode in ("CONV_2D", "FULLY_CONNECTED") else w_shape[-1]
    wdtype = np.uint8 if dtype == np.uint8 else np.int8
    x = ints(rng, x_shape, dtype)
    w = ints(rng, w_shape, wdtype, lo=-127 if wdtype == np.int8 else None)
    in_scale = float(rng.uniform(0.002, 0.05))
    w_scales = rng.uniform(0.001, 0.02, channels if per_channel else 1)
    if dtype == np.int16:
        in_zp = out_zp = 0
    if in_zp is None:
        in_zp = int(rng.integers(*RANGE[dtype])) if dtype != np.int16 else 0
    if out_zp is None:
        out_zp = int(rng.integers(*RANGE[dtype])) if dtype != np.int16 else 0
    if w_zp is None:
        w_zp = int(rng.integers(100, 156)) if dtype == np.uint8 else 0
    depth = int(np.prod(w_shape)) // channels
    spread = 128 if dtype != np.int16 else 32768
    out_scale = float(in_scale * np.mean(w_scales) * spread * 60 * np.sqrt(depth)
                      / spread * out_scale_factor)
    if dtype == np.int16:
        out_scale *= 1.0
    bias_dtype = np.int64 if dtype == np.int16 else np.int32
    b = rng.integers(-3000, 3000, channels).astype(bias_dtype)
    bias_scales = (np.float32(in_scale) * w_scales.astype(np.float32))
    quants = [q(in_scale, in_zp), q(w_scales, np.full(len(w_scales), w_zp),
                                    axis=0 if opcode != "DEPTHWISE_CONV_2D" else 3),
              q(bias_scales)]
    inputs = [x, w, b if bias else None]
    version = version or {"CONV_2D": 4, "DEPTHWISE_CONV_2D": 5, "FULLY_CONNECTED": 7}[opcode]
    model = op_model(opcode, inputs, options, const=[False, True, True], version=version,
                     input_quant=quants, outputs=[(np.dtype(dtype), q(out_scale, out_zp))])
    return model, x


# ------------------------------------------------------------------ CONV_2D
@pytest.mark.parametrize("dtype", [np.int8, np.int16, np.uint8])
@pytest.mark.parametrize("kernel,stride,dilation,padding,activation", [
    (3, 1, 1, "SAME", "NONE"), (3, 2, 1, "SAME", "RELU6"), (1, 1, 1, "VALID", "RELU"),
    (3, 1, 2, "VALID", "NONE"), (5, 2, 1, "SAME", "RELU_N1_TO_1"), (1, 2, 1, "SAME", "NONE"),
])
def test_conv2d_integer(dtype, kernel, stride, dilation, padding, activation):
    quantized_case("CONV_2D", dtype, (1, 9, 8, 5), (7, kernel, kernel, 5),
                   conv_options(stride, dilation, padding, activation),
                   per_channel=dtype != np.uint8, seed=kernel * 10 + stride)


@pytest.mark.parametrize("seed", range(4))
def test_conv2d_int8_extremes(seed):
    """Zero points at the limits, saturating and tiny output scales, batch 2, deep K
    (float64 GEMM), per-tensor weights."""
    zps = [(-128, 127), (127, -128), (0, 0), (-128, -128)][seed]
    factor = [1e-3, 1e3, 1.0, 0.05][seed]
    quantized_case("CONV_2D", np.int8, (2, 6, 7, 140), (9, 3, 3, 140),
                   conv_options(1 + seed % 2), in_zp=zps[0], out_zp=zps[1],
                   out_scale_factor=factor, per_channel=seed % 2 == 0, seed=seed)


def test_conv2d_int16_deep_and_large_output_scale():
    quantized_case("CONV_2D", np.int16, (1, 5, 5, 300), (4, 3, 3, 300), conv_options(),
                   seed=7, out_scale_factor=0.01)


def test_conv2d_int8_grouped():
    quantized_case("CONV_2D", np.int8, (1, 6, 6, 8), (6, 3, 3, 4), conv_options(), seed=3,
                   version=6)


def test_conv2d_int16_with_int32_bias_option():
    rng = np.random.default_rng(0)
    x = ints(rng, (1, 5, 5, 3), np.int16)
    w = ints(rng, (4, 3, 3, 3), np.int8, lo=-127)
    b = rng.integers(-100, 100, 4).astype(np.int32)
    model = op_model("CONV_2D", [x, w, b], conv_options(quantized_bias_type="INT32"),
                     const=[False, True, True], version=4,
                     input_quant=[q(0.01), q(np.full(4, 0.01)), q(np.full(4, 1e-4))],
                     outputs=[(np.dtype(np.int16), q(0.02))])
    compare(model, [x])


# ------------------------------------------------------------------ DEPTHWISE_CONV_2D
@pytest.mark.parametrize("dtype", [np.int8, np.int16, np.uint8])
@pytest.mark.parametrize("kernel,stride,dilation,padding,mult,activation", [
    (3, 1, 1, "SAME", 1, "NONE"), (3, 2, 1, "SAME", 1, "RELU6"), (3, 1, 2, "VALID", 2, "RELU"),
    (5, 1, 1, "SAME", 3, "NONE"),
])
def test_depthwise_integer(dtype, kernel, stride, dilation, padding, mult, activation):
    quantized_case("DEPTHWISE_CONV_2D", dtype, (2, 8, 9, 4), (1, kernel, kernel, 4 * mult),
                   conv_options(stride, dilation, padding, activation, depth_multiplier=mult),
                   per_channel=dtype != np.uint8, seed=kernel + mult)


@pytest.mark.parametrize("seed", range(3))
def test_depthwise_int8_extremes(seed):
    zps = [(-128, 127), (127, -128), (0, -128)][seed]
    quantized_case("DEPTHWISE_CONV_2D", np.int8, (1, 7, 7, 16), (1, 3, 3, 16),
                   conv_options(depth_multiplier=1), in_zp=zps[0], out_zp=zps[1],
                   out_scale_factor=[1e-3, 1e3, 0.1][seed], seed=seed)


# ------------------------------------------------------------------ FULLY_CONNECTED
@pytest.mark.parametrize("dtype,per_channel", [  # uint8 weights are per tensor only
    (np.int8, False), (np.int8, True), (np.int16, False), (np.int16, True), (np.uint8, False)])
@pytest.mark.parametrize("rows,units,depth,activation", [
    (1, 10, 32, "NONE"), (3, 7, 1300, "RELU"), (2, 5, 16, "RELU6"), (6, 9, 40, "RELU")])
def test_fully_connected_integer(dtype, per_channel, rows, units, depth, activation):
    quantized_case("FULLY_CONNECTED", dtype, (rows, depth), (units, depth),
                   {"fused_activation_function": activation}, per_channel=per_channel,
                   seed=rows + units, version=9 if per_channel else 7)


def test_fully_connected_int8_keep_num_dims_and_no_bias():
    quantized_case("FULLY_CONNECTED", np.int8, (2, 3, 12), (4, 12),
                   {"keep_num_dims": True}, bias=False, version=7)


# ------------------------------------------------------------------ hybrid
def hybrid_case(opcode, x_shape, w_shape, options, *, per_channel=True, seed=0,
                version=None, bias=True, rtol=2e-5, x=None):
    rng = np.random.default_rng(seed)
    channels = w_shape[0] if opcode in ("CONV_2D", "FULLY_CONNECTED") else w_shape[-1]
    if x is None:
        x = rng.normal(0.3, 1.0, x_shape).astype(np.float32)
    w = ints(rng, w_shape, np.int8, lo=-127)
    scales = rng.uniform(0.001, 0.02, channels) if per_channel else np.full(1, 0.01)
    b = rng.normal(0, 1, channels).astype(np.float32)
    axis = 3 if opcode == "DEPTHWISE_CONV_2D" else 0
    model = op_model(opcode, [x, w, b if bias else None], options, const=[False, True, True],
                     version=version or {"CONV_2D": 5, "DEPTHWISE_CONV_2D": 6,
                                         "FULLY_CONNECTED": 12}[opcode],
                     input_quant=[None, q(scales, axis=axis), None],
                     outputs=[(np.dtype(np.float32), None)])
    got = compare(model, [x], rtol=rtol, atol=rtol * 10)
    return got


@pytest.mark.parametrize("per_channel", [True, False])
@pytest.mark.parametrize("kernel,stride,activation", [(3, 1, "RELU6"), (1, 1, "NONE"),
                                                      (3, 2, "NONE")])
def test_conv2d_hybrid(per_channel, kernel, stride, activation):
    hybrid_case("CONV_2D", (2, 7, 6, 5), (6, kernel, kernel, 5),
                conv_options(stride, activation=activation), per_channel=per_channel,
                seed=kernel)


@pytest.mark.parametrize("mult", [1, 2])
def test_depthwise_hybrid(mult):
    hybrid_case("DEPTHWISE_CONV_2D", (2, 6, 6, 3), (1, 3, 3, 3 * mult),
                conv_options(depth_multiplier=mult, activation="RELU"), seed=mult)


@pytest.mark.parametrize("asymmetric", [False, True])
@pytest.mark.parametrize("per_channel", [False, True])
def test_fully_connected_hybrid(asymmetric, per_channel):
    hybrid_case("FULLY_CONNECTED", (3, 1100), (9, 1100),
                {"asymmetric_quantize_inputs": asymmetric}, per_channel=per_channel,
                seed=int(asymmetric) + 2 * int(per_channel))


def test_fully_connected_hybrid_zero_input_gives_bias():
    x = np.zeros((2, 8), np.float32)
    w = np.ones((3, 8), np.int8)
    b = np.array([1.0, -2.0, 3.0], np.float32)
    model = op_model("FULLY_CONNECTED", [x, w, b], {"fused_activation_function": "RELU"},
                     const=[False, True, True], version=12,
                     input_quant=[None, q(0.5), None], outputs=[(np.dtype(np.float32), None)])
    got = compare(model, [x])
    np.testing.assert_array_equal(got[0], [[1, 0, 3], [1, 0, 3]])


# ------------------------------------------------------------------ errors
def test_int8_weights_with_nonzero_zero_point_are_refused():
    x = np.zeros((1, 4, 4, 2), np.int8)
    w = np.ones((3, 1, 1, 2), np.int8)
    b = np.zeros(3, np.int32)
    model = op_model("CONV_2D", [x, w, b], conv_options(), const=[False, True, True],
                     version=4, input_quant=[q(0.1), q(0.1, 5), q(0.01)],
                     outputs=[(np.dtype(np.int8), q(0.2))])
    with pytest.raises(PrepareError, match=r"CONV_2D.*zero points 0"):
        run_edgelite(model, [x])


def test_int8_input_with_float_bias_is_refused():
    x = np.zeros((1, 4), np.int8)
    w = np.ones((3, 4), np.int8)
    b = np.zeros(3, np.float32)
    model = op_model("FULLY_CONNECTED", [x, w, b], {}, const=[False, True, True],
                     version=7, input_quant=[q(0.1), q(0.1), None],
                     outputs=[(np.dtype(np.int8), q(0.2))])
    with pytest.raises(PrepareError, match=r"FULLY_CONNECTED.*bias of type int32"):
        run_edgelite(model, [x])


# ------------------------------------------------------------------ rounding ties
@pytest.mark.parametrize("opcode,x_shape,w_shape,options", [
    ("CONV_2D", (1, 6, 6, 4), (5, 3, 3, 4), conv_options()),
    ("CONV_2D", (1, 6, 6, 4), (6, 3, 3, 2), conv_options()),             # grouped
    ("DEPTHWISE_CONV_2D", (1, 6, 6, 4), (1, 3, 3, 4), conv_options(depth_multiplier=1)),
    ("DEPTHWISE_CONV_2D", (1, 6, 6, 4), (1, 3, 3, 12), conv_options(depth_multiplier=3)),
    ("DEPTHWISE_CONV_2D", (1, 6, 6, 8), (1, 5, 5, 8), conv_options(depth_multiplier=1)),
    ("FULLY_CONNECTED", (4, 20), (30, 20), {}),
])
@pytest.mark.parametrize("dtype,per_channel", [(np.int8, True), (np.int8, False),
                                               (np.uint8, False), (np.int16, True)])
def test_rounding_ties(opcode, x_shape, w_shape, options, dtype, per_channel):
    """Small values and multipliers just under 2**-k make exact halves common, so every
    rounding rule (ties away from zero, ties up, single or double rounding) is exercised."""
    rng = np.random.default_rng(len(x_shape) + w_shape[-1])
    channels = w_shape[0] if opcode != "DEPTHWISE_CONV_2D" else w_shape[-1]
    zp = 0 if dtype == np.int16 else 3
    base = RANGE[dtype][0] if dtype == np.uint8 else 0
    x = (rng.integers(-4, 5, x_shape) + zp + (128 if dtype == np.uint8 else 0)).astype(dtype)
    wzp = 128 if dtype == np.uint8 else 0
    w = (rng.integers(-4, 5, w_shape) + wzp).astype(np.uint8 if dtype == np.uint8 else np.int8)
    ws = np.array([0.5, 0.25, 0.125, 0.0625][:1] * (channels if per_channel else 1),
                  np.float32) * (1 + np.arange(channels if per_channel else 1) % 4)
    in_scale, out_scale = 1.0, 4.0
    b = rng.integers(-5, 6, channels).astype(np.int64 if dtype == np.int16 else np.int32)
    axis = 3 if opcode == "DEPTHWISE_CONV_2D" else 0
    version = {"CONV_2D": 6, "DEPTHWISE_CONV_2D": 5, "FULLY_CONNECTED": 9}[opcode]
    model = op_model(opcode, [x, w, b], options, const=[False, True, True], version=version,
                     input_quant=[q(in_scale, zp + (128 if dtype == np.uint8 else 0)),
                                  q(ws, np.full(len(ws), wzp), axis=axis), q(ws * in_scale)],
                     outputs=[(np.dtype(dtype), q(out_scale, zp + base * 0))])
    compare(model, [x])


# ------------------------------------------------------------------ BATCH_MATMUL
@pytest.mark.parametrize("dtypes,out_dtype", [((np.int8, np.int8), np.int8),
                                              ((np.int16, np.int16), np.int16),
                                              ((np.int16, np.int8), np.int16),
                                              ((np.int8, np.int8), np.int32)])
@pytest.mark.parametrize("a_shape,b_shape,adj_x,adj_y", [
    ((2, 3, 4), (2, 4, 5), False, False), ((3, 4), (2, 5, 4), False, True),
    ((2, 1, 4, 3), (3, 4, 2), True, False), ((1, 6), (6, 2), False, False)])
def test_batch_matmul_integer(dtypes, out_dtype, a_shape, b_shape, adj_x, adj_y):
    rng = np.random.default_rng(sum(a_shape))
    a, b = ints(rng, a_shape, dtypes[0]), ints(rng, b_shape, dtypes[1])
    int16 = dtypes[0] == np.int16
    za = 0 if int16 else int(rng.integers(-20, 20))
    zb = 0 if int16 else int(rng.integers(-20, 20))
    depth = a_shape[-2] if adj_x else a_shape[-1]
    spread = RANGE[dtypes[0]][1] * RANGE[dtypes[1]][1] * np.sqrt(depth) / 3
    out_scale = 0.99 * spread / RANGE.get(out_dtype, (0, 127))[1] * 2   # most unsaturated
    out_q = None if out_dtype == np.int32 else q(out_scale, 0 if int16 else 7)
    model = op_model("BATCH_MATMUL", [a, b], {"adj_x": adj_x, "adj_y": adj_y},
                     version=4 if int16 else 2,
                     input_quant=[q(0.9, za), q(1.1, zb)],
                     outputs=[(np.dtype(out_dtype), out_q)])
    compare(model, [a, b])


@pytest.mark.parametrize("asymmetric", [False, True])
def test_hybrid_input_rounding_in_blocks_of_8_and_the_tail(asymmetric):
    """LiteRT's input quantizers run NEON code (emulated on x86) on blocks of 8 and scalar
    code on the tail, which round differently: the blocks compute trunc(p + 0.5) in
    float32 (0.49999997 -> 1), the tail rounds exactly (-> 0); both add the asymmetric
    zero point after rounding (-0.4999999 -> 0, then -64; not -64.4999999 -> -64.5 ->
    -65). 69 values: 8 blocks and a tail of 5, all of them on such a boundary."""
    if asymmetric:   # range [-1, 2.984375]: scale 1/64, zero point -64
        edge = [-1.0, 2.984375]
        fill = np.float32(-0.4999999 / 64)
    else:            # range 127: scale 1
        edge = [127.0, 0.0]
        fill = np.float32(0.49999997)
    x = np.concatenate([edge, np.full(67, fill)]).astype(np.float32)[None]
    hybrid_case("FULLY_CONNECTED", x.shape, (4, x.shape[1]),
                {"asymmetric_quantize_inputs": asymmetric}, x=x, rtol=1e-6)
