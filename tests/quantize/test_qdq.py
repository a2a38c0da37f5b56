"""QDQ models (QuantizeLinear/DequantizeLinear pairs, here from onnxruntime's
``quantize_static``) convert to integer TFLite models with the scales they carry: outputs
within 1 LSB of onnxruntime's, bit-exact between edgelite and LiteRT's builtin kernels.
The model is a small CNN trained on the 8x8 digits in the test (``digits.py``)."""

from __future__ import annotations

import collections

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper

from edgelite import Converter, Interpreter
from edgelite.converter import Optimize
from edgelite.converter.frontends.onnx import lower
from edgelite.converter.frontends.onnx.rules.quantize import weight_scales
from edgelite.quantize.qdq import fold_qdq
from edgelite.schema import read
from tests.litert_oracle import litert_builtin, run_all_tensors
from tests.quantize import digits

N_TEST = 360


@pytest.fixture(scope="module")
def data():
    return digits.load()


@pytest.fixture(scope="module")
def trained(data):
    params = digits.train()
    acc = digits.accuracy(digits.forward(params, data[2]), data[3])
    print(f"float digits CNN: test accuracy {acc:.4f}")
    assert acc >= 0.93, acc      # it learned (chance is 0.10)
    return params


def _convert(model, batch: int, **settings) -> bytes:
    conv = Converter.from_onnx(model)
    conv.input_shapes = {model.graph.input[0].name: [batch] + [
        d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim[1:]]}
    for k, v in settings.items():
        setattr(conv, k, v)
    return conv.convert()


def _run(make, blob: bytes, x: np.ndarray) -> np.ndarray:
    it = make(model_content=blob)
    it.allocate_tensors()
    it.set_tensor(it.get_input_details()[0]["index"], x)
    it.invoke()
    return it.get_tensor(it.get_output_details()[0]["index"]).copy()


def _output_quantization(sg):
    """(scale, zero point) of the int8 tensor the final DEQUANTIZE reads."""
    last = next(op for op in sg.operators if op.outputs[0] == sg.outputs[0])
    assert last.opcode == "DEQUANTIZE"
    q = sg.tensors[last.inputs[0]].quantization
    return float(q.scales[0]), int(q.zero_points[0])


def _assert_integer(sg, float_ops=()):
    """Every op but the edge QUANTIZE/DEQUANTIZE (and ``float_ops``) is integer."""
    for k, op in enumerate(sg.operators):
        edge = (k == 0 and op.opcode == "QUANTIZE") or \
            (op.outputs[0] in sg.outputs and op.opcode == "DEQUANTIZE")
        if not edge and op.opcode not in float_ops:
            dtypes = [sg.tensors[t].dtype for t in op.inputs + op.outputs if t >= 0]
            assert np.dtype(np.float32) not in dtypes, (k, op.opcode, dtypes)


def _qdq_scales(qmodel, name: str) -> np.ndarray:
    init = {t.name: numpy_helper.to_array(t) for t in qmodel.graph.initializer}
    return init[name]


@pytest.mark.parametrize("activations", ["uint8", "int8"])
def test_digits_qdq_is_integer_and_matches_onnxruntime(data, trained, tmp_path, activations):
    x_train, _, x_test, y_test = data
    qmodel = digits.quantize_qdq(digits.to_onnx(trained), x_train[::4], tmp_path,
                                 activations)
    blob = _convert(qmodel, N_TEST)
    sg = read(blob).subgraphs[0]
    ops = collections.Counter(op.opcode for op in sg.operators)
    assert ops["CONV_2D"] == 2 and ops["FULLY_CONNECTED"] == 1 and ops["MAX_POOL_2D"] == 2
    assert ops["QUANTIZE"] == 1 and ops["DEQUANTIZE"] == 1, ops
    _assert_integer(sg)
    # the weights carry exactly the scales of the QDQ model
    convs = [op for op in sg.operators if op.opcode in ("CONV_2D", "FULLY_CONNECTED")]
    for op, name in zip(convs, ("w1_scale", "w2_scale", "w3_scale")):
        w = sg.tensors[op.inputs[1]]
        assert w.dtype == np.int8 and w.quantization.axis == 0
        assert np.array_equal(w.quantization.scales, _qdq_scales(qmodel, name))
        assert sg.tensors[op.inputs[2]].dtype == np.int32
    scale, zp = _output_quantization(sg)
    assert scale == _qdq_scales(qmodel, "logits_scale")
    ort_zp = _qdq_scales(qmodel, "logits_zero_point")      # uint8 (s, z) is int8 (s, z - 128)
    assert zp == int(ort_zp) - (128 if ort_zp.dtype == np.uint8 else 0)

    want = digits.run_onnxruntime(qmodel, x_test)
    got = _run(Interpreter, blob, x_test)
    lsb = np.abs(got.astype(np.float64) - want) / scale
    print(f"{activations}: {np.mean(lsb > 0.5):.4f} of outputs 1 LSB off onnxruntime, "
          f"accuracy edgelite {digits.accuracy(got, y_test):.4f}, "
          f"onnxruntime {digits.accuracy(want, y_test):.4f}")
    assert lsb.max() <= 1.0 + 1e-3
    assert digits.accuracy(got, y_test) >= digits.accuracy(want, y_test) - 0.01

    # bit-exact in LiteRT: every integer tensor, and the outputs' integer values
    # (DEQUANTIZE's float result may differ by 1 ulp: LiteRT's scalar tail rounds apart)
    lite = _run(litert_builtin, blob, x_test)
    assert np.array_equal(np.round(got / scale), np.round(lite / scale))
    np.testing.assert_allclose(got, lite, rtol=1e-6, atol=0)
    _, mine = run_all_tensors(Interpreter, blob, [x_test])
    _, theirs = run_all_tensors(litert_builtin, blob, [x_test])
    checked = 0
    for k, (name, value) in mine.items():
        if value.dtype == np.int8:
            assert np.array_equal(value, theirs[k][1]), name
            checked += 1
    assert checked >= 8


def test_edgelite_int8_ptq_of_digits_keeps_accuracy(data, trained):
    x_train, _, x_test, y_test = data
    model = digits.to_onnx(trained)
    fblob = _convert(model, N_TEST)
    batches = [x_train[k:k + N_TEST] for k in range(0, 3 * N_TEST, N_TEST)]
    qblob = _convert(model, N_TEST, optimizations=[Optimize.DEFAULT],
                     representative_dataset=lambda: ([b] for b in batches))
    _assert_integer(read(qblob).subgraphs[0])
    f_acc = digits.accuracy(_run(Interpreter, fblob, x_test), y_test)
    q_acc = digits.accuracy(_run(Interpreter, qblob, x_test), y_test)
    print(f"digits: float {f_acc:.4f}, edgelite int8 PTQ {q_acc:.4f}")
    assert q_acc >= f_acc - 0.005


# --------------------------------------------------------------------------- other shapes
def _random_model(seed: int = 0):
    """conv -> relu -> depthwise conv (x2 multiplier) -> relu -> mean -> matmul ->
    softmax: depthwise weights, a MatMul weight and a fixed-output op."""
    rng = np.random.default_rng(seed)
    init = [numpy_helper.from_array(a.astype(np.float32), n) for n, a in (
        ("w1", rng.normal(0, 0.4, (4, 3, 3, 3))), ("b1", rng.normal(0, 0.1, 4)),
        ("w2", rng.normal(0, 0.4, (8, 1, 3, 3))), ("b2", rng.normal(0, 0.1, 8)),
        ("w3", rng.normal(0, 0.5, (8, 5))))]
    nodes = [
        helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c1"], ["r1"]),
        helper.make_node("Conv", ["r1", "w2", "b2"], ["c2"], group=4, strides=[2, 2]),
        helper.make_node("Relu", ["c2"], ["r2"]),
        helper.make_node("GlobalAveragePool", ["r2"], ["g"]),
        helper.make_node("Flatten", ["g"], ["f"]),
        helper.make_node("MatMul", ["f", "w3"], ["m"]),
        helper.make_node("Softmax", ["m"], ["y"], axis=-1),
    ]
    graph = helper.make_graph(
        nodes, "random", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 9, 9])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 5])], init)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 19)])
    model.ir_version = 8
    return model


def test_depthwise_matmul_softmax_qdq(tmp_path):
    rng = np.random.default_rng(1)
    calib = rng.uniform(-1, 1, (32, 3, 9, 9)).astype(np.float32)
    qmodel = digits.quantize_qdq(_random_model(), calib, tmp_path, input_name="x")
    x = rng.uniform(-1, 1, (16, 3, 9, 9)).astype(np.float32)
    blob = _convert(qmodel, len(x))
    sg = read(blob).subgraphs[0]
    by_op = {op.opcode: op for op in sg.operators}
    assert {"CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "SOFTMAX"} <= set(by_op)
    dw = sg.tensors[by_op["DEPTHWISE_CONV_2D"].inputs[1]]
    assert dw.dtype == np.int8 and dw.quantization.axis == 3 and len(dw.quantization.scales) == 8
    float_ops = {op.opcode for op in sg.operators
                 if any(sg.tensors[t].dtype == np.float32 for t in op.inputs + op.outputs
                        if t >= 0)} - {"QUANTIZE", "DEQUANTIZE"}
    # onnxruntime gives Softmax's output the calibrated scale 1/255; TFLite's integer
    # SOFTMAX only writes 1/256, so it stays float between DEQUANTIZE and QUANTIZE
    assert float_ops == {"SOFTMAX"}, float_ops
    scale, _ = _output_quantization(sg)
    want = digits.run_onnxruntime(qmodel, x)
    got = _run(Interpreter, blob, x)
    assert np.abs(got.astype(np.float64) - want).max() <= scale * (1 + 1e-3)
    assert np.array_equal(np.round(got / scale), np.round(_run(litert_builtin, blob, x) / scale))


def _qdq_around(op_type: str, **attrs):
    """x -> Q -> DQ -> op -> Q -> DQ -> y, int8 pairs, built by hand."""
    init = [numpy_helper.from_array(np.array(s, np.float32), n) for n, s in
            (("s_in", 0.02), ("s_out", 0.01))]
    init += [numpy_helper.from_array(np.array(z, np.int8), n) for n, z in
             (("z_in", 3), ("z_out", -5))]
    nodes = [helper.make_node("QuantizeLinear", ["x", "s_in", "z_in"], ["xq"]),
             helper.make_node("DequantizeLinear", ["xq", "s_in", "z_in"], ["xd"]),
             helper.make_node(op_type, ["xd"], ["o"], **attrs),
             helper.make_node("QuantizeLinear", ["o", "s_out", "z_out"], ["oq"]),
             helper.make_node("DequantizeLinear", ["oq", "s_out", "z_out"], ["y"])]
    graph = helper.make_graph(nodes, "qdq", [helper.make_tensor_value_info(
        "x", TensorProto.FLOAT, [2, 6])], [helper.make_tensor_value_info(
            "y", TensorProto.FLOAT, [2, 6])], init)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 19)])


@pytest.mark.parametrize("op_type, opcode, integer", [("Sin", "SIN", False),
                                                     ("Relu", "RELU", True)])
def test_ops_without_integer_rule_stay_float_between_pairs(op_type, opcode, integer):
    model = _qdq_around(op_type)
    blob = _convert(model, 2)
    sg = read(blob).subgraphs[0]
    ops = [op.opcode for op in sg.operators]
    if integer:
        assert ops == ["QUANTIZE", opcode, "DEQUANTIZE"], ops
        _assert_integer(sg)
    else:   # the source's fake quantization stays around the float op
        assert ops == ["QUANTIZE", "DEQUANTIZE", opcode, "QUANTIZE", "DEQUANTIZE"], ops
    x = np.random.default_rng(2).uniform(-2, 2, (2, 6)).astype(np.float32)
    want = digits.run_onnxruntime(model, x)
    got = _run(Interpreter, blob, x)
    assert np.abs(got - want).max() <= 0.01 * (1 + 1e-3)


def test_weights_without_matching_scales_keep_the_op_float(data, trained, tmp_path):
    qmodel = digits.quantize_qdq(digits.to_onnx(trained), data[0][::8], tmp_path)
    ir_model = lower(qmodel)
    folded = fold_qdq(ir_model, [])          # no weight scales to rebuild int8 weights with
    ops = collections.Counter(op.opcode for op in folded.subgraphs[0].operators)
    assert ops["CONV_2D"] == 2 and ops["QUANTIZE"] >= 3 and ops["DEQUANTIZE"] >= 3, ops
    exact = fold_qdq(ir_model, weight_scales(qmodel))
    ops = collections.Counter(op.opcode for op in exact.subgraphs[0].operators)
    assert ops["QUANTIZE"] == 1 and ops["DEQUANTIZE"] == 1, ops
    float_model = lower(digits.to_onnx(trained))
    assert fold_qdq(float_model, weight_scales(qmodel)) is float_model   # nothing to fold
