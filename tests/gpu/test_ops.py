"""Each WGSL kernel against the CPU kernel on a one-op model (small shapes), fp32 within
1e-5 of the output's scale and fp16 within 1e-2; every case must be claimed (one op
delegated, nothing left on the CPU)."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from tests.gpu.helpers import cpu_steps, gpu, interpreter, invoke, rel_error
from tests.kernels.harness import op_model

R = np.random.default_rng(7)
NONE = {"fused_activation_function": "NONE"}


def f32(*shape, lo=-1.0, hi=1.0):
    return R.uniform(lo, hi, shape).astype(np.float32)


def i32(*values):
    return np.array(values, np.int32)


def conv_opts(stride=1, pad="SAME", act="NONE", dilation=1, **extra):
    return {"padding": pad, "stride_h": stride, "stride_w": stride, "fused_activation_function":
            act, "dilation_h_factor": dilation, "dilation_w_factor": dilation, **extra}


def pool_opts(k, stride, pad="SAME", act="NONE"):
    return {"padding": pad, "stride_h": stride, "stride_w": stride, "filter_height": k,
            "filter_width": k, "fused_activation_function": act}


# id: (opcode, inputs, options, const flags, op_model keyword arguments)
CASES = {
    "conv1x1_relu6": ("CONV_2D", [f32(1, 5, 7, 8), f32(6, 1, 1, 8), f32(6)],
                      conv_opts(act="RELU6"), [False, True, True], {}),
    "conv3x3_s2_same": ("CONV_2D", [f32(1, 9, 8, 5), f32(7, 3, 3, 5), f32(7)],
                        conv_opts(2), [False, True, True], {}),
    "conv3x3_valid_dilated": ("CONV_2D", [f32(2, 10, 9, 3), f32(4, 3, 3, 3), f32(4)],
                              conv_opts(1, "VALID", "RELU", 2), [False, True, True], {}),
    "conv_tiles_k_over_8": ("CONV_2D", [f32(1, 9, 9, 40), f32(33, 3, 3, 40), f32(33)],
                            conv_opts(), [False, True, True], {}),
    "conv_runtime_weights": ("CONV_2D", [f32(1, 6, 6, 4), f32(5, 3, 3, 4), f32(5)],
                             conv_opts(), [False, False, True], {}),
    "depthwise_mult2_s2": ("DEPTHWISE_CONV_2D", [f32(1, 8, 8, 6), f32(1, 3, 3, 12), f32(12)],
                           conv_opts(2, depth_multiplier=2), [False, True, True], {}),
    "depthwise_valid_dil": ("DEPTHWISE_CONV_2D", [f32(1, 9, 9, 4), f32(1, 3, 3, 4), f32(4)],
                            conv_opts(1, "VALID", "RELU6", 2, depth_multiplier=1),
                            [False, True, True], {}),
    "fully_connected": ("FULLY_CONNECTED", [f32(3, 20), f32(7, 20), f32(7)],
                        {"fused_activation_function": "RELU"}, [False, True, True], {}),
    "fully_connected_3d": ("FULLY_CONNECTED", [f32(2, 3, 20), f32(5, 20), None],
                           {"keep_num_dims": True, **NONE}, [False, True, False], {}),
    "batch_matmul": ("BATCH_MATMUL", [f32(2, 3, 4, 5), f32(2, 3, 5, 6)], {}, None, {}),
    "batch_matmul_adj_bcast": ("BATCH_MATMUL", [f32(2, 5, 4), f32(6, 5)],
                               {"adj_x": True, "adj_y": True}, [False, True], {}),
    "transpose_conv": ("TRANSPOSE_CONV", [i32(1, 10, 10, 4), f32(4, 3, 3, 6), f32(1, 5, 5, 6),
                                          f32(4)],
                       {"padding": "SAME", "stride_h": 2, "stride_w": 2, **NONE},
                       [True, True, False, True], {"version": 3}),
    "transpose_conv_valid": ("TRANSPOSE_CONV", [i32(1, 11, 9, 3), f32(3, 3, 3, 2),
                                                f32(1, 5, 4, 2)],
                             {"padding": "VALID", "stride_h": 2, "stride_w": 2},
                             [True, True, False], {}),
    "conv2d_transpose_bias": ("Convolution2DTransposeBias",
                              [f32(1, 4, 4, 6), f32(3, 4, 4, 6), f32(3)], {},
                              [False, True, True],
                              {"custom": True, "custom_options": struct.pack("<iii", 1, 2, 2)}),
    "add_bcast_relu": ("ADD", [f32(1, 4, 5, 3), f32(3)], {"fused_activation_function": "RELU"},
                       [False, True], {}),
    "sub_bcast_both": ("SUB", [f32(1, 4, 1, 3), f32(1, 1, 5, 1)], NONE, None, {}),
    "mul_se_block": ("MUL", [f32(1, 6, 6, 8), f32(1, 1, 1, 8)], NONE, None, {}),
    "div": ("DIV", [f32(2, 3, 4), f32(2, 3, 4, lo=0.5, hi=2.0)], NONE, None, {}),
    "maximum": ("MAXIMUM", [f32(3, 4), f32(4)], {}, None, {}),
    "minimum": ("MINIMUM", [f32(3, 4), f32(3, 1)], {}, None, {}),
    "squared_difference": ("SQUARED_DIFFERENCE", [f32(3, 4), f32(3, 4)], {}, None, {}),
    "prelu": ("PRELU", [f32(1, 4, 4, 3), f32(1, 1, 3)], {}, [False, True], {}),
    "average_pool_same": ("AVERAGE_POOL_2D", [f32(1, 7, 7, 3)], pool_opts(3, 2), None, {}),
    "average_pool_global": ("AVERAGE_POOL_2D", [f32(1, 8, 8, 5)], pool_opts(8, 8, "VALID"),
                            None, {}),
    "max_pool_relu": ("MAX_POOL_2D", [f32(1, 7, 6, 3)], pool_opts(2, 2, "SAME", "RELU"),
                      None, {}),
    "mean_hw": ("MEAN", [f32(1, 5, 6, 7), i32(1, 2)], {"keep_dims": True}, [False, True], {}),
    "mean_last": ("MEAN", [f32(2, 3, 4), i32(-1)], {"keep_dims": False}, [False, True], {}),
    "sum": ("SUM", [f32(2, 3, 4), i32(0, 2)], {"keep_dims": False}, [False, True], {}),
    "reduce_max": ("REDUCE_MAX", [f32(2, 3, 4), i32(1)], {"keep_dims": True},
                   [False, True], {}),
    "softmax": ("SOFTMAX", [f32(3, 11, lo=-5, hi=5)], {"beta": 0.5}, None, {}),
    "log_softmax": ("LOG_SOFTMAX", [f32(2, 9)], {}, None, {}),
    "concat_channels": ("CONCATENATION", [f32(1, 3, 4, 2), f32(1, 3, 4, 5), f32(1, 3, 4, 1)],
                             {"axis": 3, **NONE}, None, {}),
    "concat_with_const": ("CONCATENATION", [f32(2, 3), f32(4, 3)], {"axis": 0, **NONE},
                          [False, True], {}),
    "reshape": ("RESHAPE", [f32(1, 4, 6), i32(2, 12)], {"new_shape": [2, 12]},
                [False, True], {}),
    "pad": ("PAD", [f32(1, 3, 4, 2), np.array([[0, 0], [1, 2], [2, 0], [0, 1]], np.int32)],
            {}, [False, True], {}),
    "padv2": ("PADV2", [f32(2, 3), np.array([[1, 1], [0, 2]], np.int32),
                        np.array(-3.5, np.float32)], {}, [False, True, True], {}),
    "mirror_pad": ("MIRROR_PAD", [f32(1, 4, 5, 2),
                                  np.array([[0, 0], [2, 1], [1, 2], [0, 0]], np.int32)],
                   {"mode": "SYMMETRIC"}, [False, True], {}),
    "transpose": ("TRANSPOSE", [f32(2, 3, 4), i32(2, 0, 1)], {}, [False, True], {}),
    "strided_slice": ("STRIDED_SLICE", [f32(4, 6, 5), i32(1, 5, 0), i32(4, 0, 5), i32(2, -2, 1)],
                      {"begin_mask": 0, "end_mask": 4, "shrink_axis_mask": 0},
                      [False, True, True, True], {}),
    "depth_to_space": ("DEPTH_TO_SPACE", [f32(1, 3, 4, 8)], {"block_size": 2}, None, {}),
    "space_to_depth": ("SPACE_TO_DEPTH", [f32(1, 4, 6, 3)], {"block_size": 2}, None, {}),
    "resize_bilinear_half": ("RESIZE_BILINEAR", [f32(1, 4, 5, 3), i32(8, 11)],
                             {"half_pixel_centers": True}, [False, True], {}),
    "resize_bilinear_align": ("RESIZE_BILINEAR", [f32(1, 4, 5, 3), i32(7, 9)],
                              {"align_corners": True}, [False, True], {}),
    "resize_nearest": ("RESIZE_NEAREST_NEIGHBOR", [f32(1, 3, 5, 2), i32(7, 8)],
                       {"half_pixel_centers": True}, [False, True], {}),
}
UNARY = {"RELU": {}, "RELU6": {}, "RELU_N1_TO_1": {}, "LOGISTIC": {}, "TANH": {},
         "HARD_SWISH": {}, "ELU": {}, "LEAKY_RELU": {"alpha": 0.2},
         "GELU": {"approximate": False}, "GELU-approx": {"approximate": True}}
for name, opts in UNARY.items():
    CASES[f"unary_{name.lower()}"] = (name.split("-")[0], [f32(2, 5, 7, lo=-6, hi=6)], opts,
                                      None, {})


@pytest.mark.parametrize("precision", ["fp32", "fp16"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_op_matches_cpu_kernel(case, precision):
    opcode, inputs, options, const, extra = CASES[case]
    model = op_model(opcode, inputs, options, const=const, **extra)
    const = const or [False] * len(inputs)
    feeds = [x for x, c in zip(inputs, const) if x is not None and not c]
    want = invoke(interpreter(model), feeds)
    g = interpreter(model, [gpu(precision)])
    got = invoke(g, feeds)
    assert g.delegated_ops == 1 and cpu_steps(g) == [], f"{opcode} was not delegated"
    for o, w in zip(got, want):
        assert rel_error(o, w) <= (1e-5 if precision == "fp32" else 1e-2), case


def test_dequantize_of_a_constant():
    """The interpreter folds DEQUANTIZE of constants before delegates see the plan; the
    delegate still lowers one (float16 and per-channel int8) when handed it."""
    from edgelite.delegates.gpu.program import Lowering, Program
    from edgelite.kernels.api import TensorSpec
    from edgelite.schema import ir

    w16 = f32(3, 4).astype(np.float16)
    w8 = R.integers(-127, 128, (3, 4)).astype(np.int8)
    q = ir.Quantization(scales=np.array([0.5, 0.25, 2.0], np.float32),
                        zero_points=np.zeros(3, np.int64), axis=0)
    specs = [TensorSpec(0, "w16", (3, 4), np.dtype(np.float16), data=w16),
             TensorSpec(1, "w8", (3, 4), np.dtype(np.int8), q, data=w8),
             TensorSpec(2, "a", (3, 4), np.dtype(np.float32)),
             TensorSpec(3, "b", (3, 4), np.dtype(np.float32))]
    ops = [ir.Operator("DEQUANTIZE", [0], [2]), ir.Operator("DEQUANTIZE", [1], [3])]
    delegate = gpu("fp32")
    assert all(delegate.supports(op, [specs[op.inputs[0]]], [specs[op.outputs[0]]])
               for op in ops)
    low = Lowering(specs, False)
    for op in ops:
        from edgelite.delegates.gpu.rules import rule_for
        rule_for(op).lower(low, op)
    program = Program(delegate.device, low, [], [2, 3], {})
    outs = [np.zeros((3, 4), np.float32), np.zeros((3, 4), np.float32)]
    program.run([], outs, [])
    np.testing.assert_array_equal(outs[0], w16.astype(np.float32))
    np.testing.assert_array_equal(outs[1], w8.astype(np.float32) * q.scales[:, None])
