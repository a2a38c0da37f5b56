"""The converter's graph passes that fold into layers (fuse_activation, fold_batch_norm,
fold_pad): tiny ONNX models where each must fire or must not, checked by op counts after
conversion and by outputs against onnxruntime in edgelite and LiteRT."""

from __future__ import annotations

import collections

import numpy as np
import pytest

from tests.converter.passes_harness import (convert_and_check, node, only_op, onnx_model,
                                            op_counts, rand)


# --------------------------------------------------------------------------- activations
def _clip(x, y, lo, hi):
    return [node("Clip", [x, "lo_" + y, "hi_" + y], [y])], \
        {"lo_" + y: np.array(lo, np.float32), "hi_" + y: np.array(hi, np.float32)}


def _act(kind, x, y):
    """(nodes, inits) applying an ONNX activation lowered to a TFLite one."""
    if kind == "RELU":
        return [node("Relu", [x], [y])], {}
    bounds = {"RELU6": (0, 6), "RELU_N1_TO_1": (-1, 1), "RELU_0_TO_1": (0, 1)}[kind]
    return _clip(x, y, *bounds)


def _producer(kind):
    """(nodes, inputs, inits, TFLite opcode) computing "t" from "x"."""
    x4 = {"x": [1, 4, 6, 6]}
    if kind == "conv":
        return [node("Conv", ["x", "W", "B"], ["t"], pads=[1, 1, 1, 1])], x4, \
            {"W": rand(5, 4, 3, 3), "B": rand(5)}, "CONV_2D"
    if kind == "depthwise":
        return [node("Conv", ["x", "W"], ["t"], group=4, strides=[2, 2])], x4, \
            {"W": rand(8, 1, 3, 3)}, "DEPTHWISE_CONV_2D"
    if kind in ("Add", "Sub", "Mul", "Div"):
        z = rand(1, 4, 6, 6, lo=0.5, hi=2.0)
        return [node(kind, ["x", "Z"], ["t"])], x4, {"Z": z}, kind.upper()
    if kind in ("MaxPool", "AveragePool"):
        opcode = "MAX_POOL_2D" if kind == "MaxPool" else "AVERAGE_POOL_2D"
        return [node(kind, ["x"], ["t"], kernel_shape=[2, 2], strides=[2, 2])], x4, {}, \
            opcode
    if kind == "Gemm":
        return [node("Gemm", ["x", "W", "B"], ["t"], transB=1)], {"x": [2, 6]}, \
            {"W": rand(3, 6), "B": rand(3)}, "FULLY_CONNECTED"
    assert kind == "MatMul"
    return [node("MatMul", ["x", "W"], ["t"])], {"x": [2, 3, 6]}, {"W": rand(6, 4)}, \
        "FULLY_CONNECTED"


@pytest.mark.parametrize("kind,act", [
    ("conv", "RELU6"), ("conv", "RELU"), ("depthwise", "RELU_N1_TO_1"), ("Add", "RELU"),
    ("Sub", "RELU6"), ("Mul", "RELU_N1_TO_1"), ("Div", "RELU"), ("MaxPool", "RELU6"),
    ("AveragePool", "RELU"), ("Gemm", "RELU6"), ("MatMul", "RELU"),
])
def test_activation_fuses_into_producer(kind, act):
    nodes, inputs, inits, opcode = _producer(kind)
    more, consts = _act(act, "t", "y")
    sg = convert_and_check(onnx_model(nodes + more, inputs, {**inits, **consts}))
    assert op_counts(sg)[act] == 0, op_counts(sg)
    assert only_op(sg, opcode).options["fused_activation_function"] == act


def _conv_then(act_nodes, act_inits, outputs=("y",)):
    nodes, inputs, inits, _ = _producer("conv")
    return onnx_model(nodes + act_nodes, inputs, {**inits, **act_inits}, outputs)


@pytest.mark.parametrize("case", ["tanh", "relu_0_to_1", "consumed_twice", "graph_output",
                                  "concat"])
def test_activation_not_fused(case):
    if case == "tanh":     # LiteRT's float kernels ignore a fused TANH: never fused
        model, act = _conv_then([node("Tanh", ["t"], ["y"])], {}), "TANH"
    elif case == "relu_0_to_1":   # not in TFLite's fused activation enum
        model, act = _conv_then(*_act("RELU_0_TO_1", "t", "y")), "RELU_0_TO_1"
    elif case == "consumed_twice":
        model, act = _conv_then([node("Relu", ["t"], ["r"]), node("Add", ["r", "t"], ["y"])],
                                {}), "RELU"
    elif case == "graph_output":
        model, act = _conv_then([node("Relu", ["t"], ["y"])], {}, ("t", "y")), "RELU"
    else:  # LiteRT's CONCATENATION requires NONE
        model = onnx_model([node("Concat", ["x", "x"], ["c"], axis=1),
                            node("Relu", ["c"], ["y"])], {"x": [2, 3]}, {})
        act = "RELU"
    sg = convert_and_check(model)
    assert op_counts(sg)[act] == 1, op_counts(sg)
    assert all(op.options.get("fused_activation_function", "NONE") == "NONE"
               for op in sg.operators), [(op.opcode, op.options) for op in sg.operators]


# --------------------------------------------------------------------------- batch norm
def _bn(x, y, c, prefix="bn"):
    names = [f"{prefix}_{k}" for k in ("scale", "bias", "mean", "var")]
    inits = {names[0]: rand(c), names[1]: rand(c), names[2]: rand(c),
             names[3]: rand(c, lo=0.2, hi=2.0)}
    return [node("BatchNormalization", [x] + names, [y], epsilon=1e-3)], inits


@pytest.mark.parametrize("kind", ["conv", "conv_no_bias", "depthwise", "gemm", "nhwc"])
def test_batch_norm_folds_into_layer(kind):
    if kind == "gemm":
        nodes, inputs, inits, opcode = _producer("Gemm")
        channels = 3
    else:
        nodes, inputs, inits, opcode = _producer("depthwise" if kind == "depthwise" else "conv")
        channels = 8 if kind == "depthwise" else 5
        if kind == "conv_no_bias":
            nodes = [node("Conv", ["x", "W"], ["t"], pads=[1, 1, 1, 1])]
            inits = {"W": inits["W"]}
    more, consts = _bn("t", "y", channels)
    sg = convert_and_check(onnx_model(nodes + more, inputs, {**inits, **consts}),
                           "nhwc" if kind == "nhwc" else "keep")
    assert op_counts(sg)["MUL"] == 0 and op_counts(sg)["ADD"] == 0, op_counts(sg)
    layer = only_op(sg, opcode)
    assert len(layer.inputs) == 3 and layer.inputs[2] >= 0


@pytest.mark.parametrize("kind", ["Add", "Sub", "Mul"])
def test_lone_channel_op_folds(kind):
    nodes, inputs, inits, _ = _producer("conv")
    model = onnx_model(nodes + [node(kind, ["t", "C"], ["y"])], inputs,
                       {**inits, "C": rand(5, 1, 1, lo=0.5, hi=1.5)})
    sg = convert_and_check(model)
    assert op_counts(sg) == collections.Counter({"CONV_2D": 1, "TRANSPOSE": 2}), op_counts(sg)


def test_batch_norm_then_relu_becomes_one_op():
    nodes, inputs, inits, _ = _producer("depthwise")
    more, consts = _bn("t", "b", 8)
    model = onnx_model(nodes + more + [node("Relu", ["b"], ["y"])], inputs,
                       {**inits, **consts})
    sg = convert_and_check(model, "nhwc")
    assert op_counts(sg) == collections.Counter({"DEPTHWISE_CONV_2D": 1}), op_counts(sg)
    assert sg.operators[0].options["fused_activation_function"] == "RELU"


@pytest.mark.parametrize("case", ["consumed_twice", "graph_output", "spatial_constant",
                                  "runtime_scale"])
def test_batch_norm_not_folded(case):
    nodes, inputs, inits, _ = _producer("conv")
    outputs = ("y",)
    if case == "spatial_constant":     # varies over H, W: not a per-channel scale
        more, consts = [node("Mul", ["t", "S"], ["y"])], {"S": rand(1, 1, 6, 6)}
    elif case == "runtime_scale":
        more, consts = [node("Mul", ["t", "s"], ["y"])], {}
        inputs = {**inputs, "s": [1, 5, 1, 1]}
    else:
        more, consts = _bn("t", "y", 5)
        if case == "consumed_twice":
            more = more + [node("Relu", ["t"], ["r"])]
            outputs = ("y", "r")
        else:
            outputs = ("t", "y")
    sg = convert_and_check(onnx_model(nodes + more, inputs, {**inits, **consts}, outputs))
    assert op_counts(sg)["MUL"] == 1, op_counts(sg)


# --------------------------------------------------------------------------- pad
def _pad_conv(pads, conv_attrs, weights, consumer="Conv", value=None, size=8, outputs=("y",)):
    pad_ins = ["x", "P"] + (["V"] if value is not None else [])
    inits = {"P": np.array(pads, np.int64), "W": weights}
    if value is not None:
        inits["V"] = np.array(value, np.float32)
    if consumer == "Conv":
        tail = [node("Conv", ["p", "W"], ["y"], **conv_attrs)]
    else:
        tail = [node("MaxPool", ["p"], ["y"], kernel_shape=[3, 3], **conv_attrs)]
    return onnx_model([node("Pad", pad_ins, ["p"])] + tail, {"x": [1, 4, size, size]},
                      inits, outputs)


@pytest.mark.parametrize("layout", ["keep", "nhwc"])
@pytest.mark.parametrize("pads,attrs,weights", [
    ([0, 0, 1, 1, 0, 0, 1, 1], {}, rand(3, 4, 3, 3)),
    ([0, 0, 0, 0, 0, 0, 1, 1], {"strides": [2, 2], "group": 4}, rand(4, 1, 3, 3)),
    ([0, 0, 2, 2, 0, 0, 2, 2], {"dilations": [2, 2]}, rand(3, 4, 3, 3)),
    ([0, 0, 1, 1, 0, 0, 2, 2], {}, rand(2, 4, 4, 4)),
])
def test_pad_folds_into_same_conv(pads, attrs, weights, layout):
    sg = convert_and_check(_pad_conv(pads, attrs, weights), layout)
    assert op_counts(sg)["PAD"] == 0, op_counts(sg)
    conv = [op for op in sg.operators if op.opcode in ("CONV_2D", "DEPTHWISE_CONV_2D")]
    assert len(conv) == 1 and conv[0].options["padding"] == "SAME"
    if layout == "nhwc":
        assert op_counts(sg)["TRANSPOSE"] == 0, op_counts(sg)


@pytest.mark.parametrize("case", ["not_same", "max_pool", "nonzero_value", "graph_output"])
def test_pad_not_folded(case):
    weights = rand(3, 4, 3, 3)
    if case == "not_same":      # symmetric 1 with stride 2 on 8: SAME would pad (0, 1)
        model, opcode = _pad_conv([0, 0, 1, 1, 0, 0, 1, 1], {"strides": [2, 2]}, weights), "PAD"
    elif case == "max_pool":
        model, opcode = _pad_conv([0, 0, 1, 1, 0, 0, 1, 1], {}, weights, "MaxPool"), "PAD"
    elif case == "nonzero_value":
        model, opcode = _pad_conv([0, 0, 1, 1, 0, 0, 1, 1], {}, weights, value=0.5), "PADV2"
    else:
        model, opcode = _pad_conv([0, 0, 1, 1, 0, 0, 1, 1], {}, weights,
                                  outputs=("p", "y")), "PAD"
    sg = convert_and_check(model, "nhwc")
    assert op_counts(sg)[opcode] == 1, op_counts(sg)


def test_efficientnet_style_block_is_fully_fused():
    """Conv -> BN -> Clip(0, 6) -> depthwise -> BN -> Clip, the MobileNet/EfficientNet
    block: two layer ops remain, each with RELU6 fused."""
    nodes = [node("Conv", ["x", "W1"], ["c1"], pads=[1, 1, 1, 1])]
    bn1, i1 = _bn("c1", "b1", 6, "bn1")
    r1, k1 = _clip("b1", "r1", 0, 6)
    dw = [node("Conv", ["r1", "W2"], ["c2"], group=6, pads=[0, 0, 1, 1], strides=[2, 2])]
    bn2, i2 = _bn("c2", "b2", 6, "bn2")
    r2, k2 = _clip("b2", "y", 0, 6)
    model = onnx_model(nodes + bn1 + r1 + dw + bn2 + r2, {"x": [1, 3, 8, 8]},
                       {"W1": rand(6, 3, 3, 3), "W2": rand(6, 1, 3, 3), **i1, **k1, **i2,
                        **k2})
    sg = convert_and_check(model, "nhwc")
    ops = op_counts(sg)
    assert ops == collections.Counter({"CONV_2D": 1, "DEPTHWISE_CONV_2D": 1}), ops
    assert all(op.options["fused_activation_function"] == "RELU6" for op in sg.operators)
