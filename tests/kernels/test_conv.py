"""CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED, TRANSPOSE_CONV, pooling vs LiteRT."""

from __future__ import annotations

import numpy as np
import pytest

from edgelite.interpreter import PrepareError
from tests.kernels.harness import compare, op_model, run_edgelite

RTOL, ATOL = 1e-4, 1e-4  # sums run in a different order than LiteRT's


def _rand(shape, seed):
    return np.random.default_rng(seed).uniform(-1, 1, shape).astype(np.float32)


@pytest.mark.parametrize("kernel,stride,dilation,padding", [
    ((3, 3), 1, 1, "SAME"), ((3, 3), 2, 1, "SAME"), ((3, 3), 1, 2, "VALID"),
    ((1, 1), 1, 1, "SAME"), ((1, 1), 2, 1, "VALID"), ((5, 2), (2, 3), 1, "SAME")])
@pytest.mark.parametrize("activation", ["NONE", "RELU6"])
def test_conv2d(kernel, stride, dilation, padding, activation):
    sh, sw = stride if isinstance(stride, tuple) else (stride, stride)
    x, w, b = _rand((2, 9, 11, 3), 0), _rand((4, *kernel, 3), 1), _rand((4,), 2)
    model = op_model("CONV_2D", [x, w, b],
                     {"padding": padding, "stride_h": sh, "stride_w": sw,
                      "dilation_h_factor": dilation, "dilation_w_factor": dilation,
                      "fused_activation_function": activation}, const=[False, True, True])
    compare(model, [x], rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("multiplier", [1, 2])
@pytest.mark.parametrize("stride,padding,dilation", [(1, "SAME", 1), (2, "SAME", 1),
                                                     (2, "VALID", 1), (1, "VALID", 2)])
def test_depthwise(multiplier, stride, padding, dilation):
    x = _rand((1, 10, 9, 4), 3)
    w, b = _rand((1, 3, 3, 4 * multiplier), 4), _rand((4 * multiplier,), 5)
    model = op_model("DEPTHWISE_CONV_2D", [x, w, b],
                     {"padding": padding, "stride_h": stride, "stride_w": stride,
                      "depth_multiplier": multiplier, "dilation_h_factor": dilation,
                      "dilation_w_factor": dilation, "fused_activation_function": "RELU"},
                     const=[False, True, True])
    compare(model, [x], rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("shape,keep", [((3, 10), False), ((2, 3, 10), True),
                                        ((2, 3, 10), False)])
@pytest.mark.parametrize("const_weights", [True, False])
def test_fully_connected(shape, keep, const_weights):
    x, w, b = _rand(shape, 6), _rand((7, 10), 7), _rand((7,), 8)
    model = op_model("FULLY_CONNECTED", [x, w, b],
                     {"keep_num_dims": keep, "fused_activation_function": "RELU"},
                     const=[False, const_weights, True])
    compare(model, [x, w] if not const_weights else [x], rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("opcode", ["MAX_POOL_2D", "AVERAGE_POOL_2D"])
@pytest.mark.parametrize("size,stride,padding", [(2, 2, "VALID"), (3, 2, "SAME"),
                                                 (3, 1, "SAME"), (2, 3, "VALID")])
def test_pooling(opcode, size, stride, padding):
    x = _rand((2, 9, 8, 3), 9)
    model = op_model(opcode, [x], {"padding": padding, "stride_h": stride, "stride_w": stride,
                                   "filter_height": size, "filter_width": size,
                                   "fused_activation_function": "NONE"})
    compare(model, [x], rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("stride,padding", [(2, "SAME"), (2, "VALID"), (1, "SAME")])
def test_transpose_conv(stride, padding):
    x, w = _rand((1, 5, 6, 3), 10), _rand((4, 3, 3, 3), 11)
    oh = 5 * stride if padding == "SAME" else (5 - 1) * stride + 3
    ow = 6 * stride if padding == "SAME" else (6 - 1) * stride + 3
    shape = np.array([1, oh, ow, 4], np.int32)
    model = op_model("TRANSPOSE_CONV", [shape, w, x],
                     {"padding": padding, "stride_h": stride, "stride_w": stride},
                     const=[True, True, False], outputs=[(np.float32, None)])
    compare(model, [x], rtol=RTOL, atol=ATOL)


def test_conv_channel_mismatch_is_a_prepare_error():
    x, w = _rand((1, 4, 4, 3), 0), _rand((2, 3, 3, 5), 1)
    model = op_model("CONV_2D", [x, w, None], {"padding": "SAME", "stride_h": 1,
                                               "stride_w": 1}, const=[False, True, False])
    with pytest.raises(PrepareError, match=r"operator 0 \(CONV_2D\).*3 channels"):
        run_edgelite(model, [x])


@pytest.mark.parametrize("a_shape,b_shape,adj_x,adj_y", [
    ((2, 3, 4), (2, 4, 5), False, False), ((3, 4), (2, 5, 4), False, True),
    ((2, 4, 3), (1, 4, 5), True, False)])
def test_batch_matmul(a_shape, b_shape, adj_x, adj_y):
    a, b = _rand(a_shape, 12), _rand(b_shape, 13)
    compare(op_model("BATCH_MATMUL", [a, b], {"adj_x": adj_x, "adj_y": adj_y}), [a, b],
            rtol=RTOL, atol=ATOL)


def test_l2_norm_and_lrn():
    x = _rand((1, 3, 4, 6), 14)
    compare(op_model("L2_NORMALIZATION", [x], {"fused_activation_function": "NONE"}), [x])
    compare(op_model("LOCAL_RESPONSE_NORMALIZATION", [x],
                     {"radius": 2, "bias": 1.0, "alpha": 0.5, "beta": 0.75}), [x],
            rtol=RTOL, atol=ATOL)
