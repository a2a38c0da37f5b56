"""Operator versions: TF's own files are the oracle, IR-built ops cover the rest, and LiteRT
must load what the converter writes."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from edgelite.converter import api
from edgelite.converter.versions import OpSignature, is_builtin, op_version, set_op_versions
from edgelite.schema import ir, read, write
from tests.conftest import ALL_MODELS, model_path
from tests.litert_oracle import litert

# Where a corpus file's version is not what LiteRT's current rules give: (model, op) ->
# (version in the file, version the rules give, why). Every entry must still be seen.
OLD_INT8_VERSIONS = ("the int16x8 file comes from TF's legacy flatbuffer quantizer, which "
                     "raises each op only to its int8 version (operator_property) and never "
                     "re-runs the op_version rules")
_INT16X8 = "mobilenet_v2_035.int16x8"
_OLD_F16 = ("older converter: float16 DEQUANTIZE was version 2 before int16/float16 "
            "moved to 3")
KNOWN_DIFFS = {
    (_INT16X8, "ADD"): (2, 3, f"{OLD_INT8_VERSIONS}; rules: int16, pot_scale_int16=false"),
    (_INT16X8, "CONV_2D"): (3, 8, (f"{OLD_INT8_VERSIONS}; rules: int16x8 with "
                                   f"quantized_bias_type INT64 is 8")),
    (_INT16X8, "DEPTHWISE_CONV_2D"): (3, 1, f"{OLD_INT8_VERSIONS}; rules: no int16x8 case"),
    (_INT16X8, "FULLY_CONNECTED"): (4, 11, (f"{OLD_INT8_VERSIONS}; rules: int16x8 with "
                                            f"quantized_bias_type is 11")),
    (_INT16X8, "MEAN"): (2, 3, OLD_INT8_VERSIONS),
    (_INT16X8, "SOFTMAX"): (2, 3, OLD_INT8_VERSIONS),
    (_INT16X8, "DEQUANTIZE"): (2, 3, OLD_INT8_VERSIONS),
    (_INT16X8, "QUANTIZE"): (1, 2, ("the quantizer adds its input QUANTIZE at version 1; "
                                    "rules: int16 output is 2")),
    **{(m, "DEQUANTIZE"): (2, 3, _OLD_F16)
       for m in ("face_detection_short_range", "face_landmark", "hand_landmark_lite",
                 "selfie_segmentation")},
    ("selfie_segmentation", "RESIZE_BILINEAR"): (1, 3, ("written by an internal keras2tflite "
                                                        "converter that did not version "
                                                        "half_pixel_centers")),
}


@pytest.mark.parametrize("kind,name", ALL_MODELS)
def test_versions_match_tf_converter_output(kind, name):
    model = read(str(model_path(kind, name)))
    want, seen, ops = [], set(), []
    for sg in model.subgraphs:
        for op in sg.operators:
            want.append(op.version)
            op.version = 1 if is_builtin(op) else 7   # custom ops must keep theirs
            ops.append(op)
    set_op_versions(model)
    bad = []
    for op, file_version in zip(ops, want):
        if not is_builtin(op):
            assert op.version == 7, f"custom op {op.opcode} was re-versioned"
            continue
        diff = KNOWN_DIFFS.get((name, op.opcode))
        if diff is not None and diff[0] == file_version:
            seen.add(op.opcode)
            if op.version != diff[1]:
                bad.append((op.opcode, file_version, diff[1], op.version))
        elif op.version != file_version:
            bad.append((op.opcode, file_version, file_version, op.version))
    assert not bad, f"(op, file, expected, got): {sorted(set(bad))}"
    listed = {op for (m, op) in KNOWN_DIFFS if m == name}
    assert listed == seen, f"stale KNOWN_DIFFS entries for {name}: {listed - seen}"


# ------------------------------------------------------------------ single-op signatures
def q(scales, axis=0):
    scales = np.atleast_1d(np.asarray(scales, np.float32))
    return ir.Quantization(scales, np.zeros(len(scales), np.int64), axis)


def T(dtype, shape=(1, 4), quant=None):
    """A tensor spec: (TFLite type name, shape, quantization or None)."""
    return (dtype, shape, quant)


F32, I8, I16, I32 = T("FLOAT32"), T("INT8", quant=q(0.5)), T("INT16", quant=q(0.5)), T("INT32")
X4 = (1, 8, 8, 4)


def single_op(opcode, inputs, outputs, options=None) -> ir.Model:
    sg = ir.Subgraph()
    idx = {"in": [], "out": []}
    for side, specs in (("in", inputs), ("out", outputs)):
        for k, spec in enumerate(specs):
            if spec is None:
                idx[side].append(-1)
                continue
            dtype, shape, quant = spec
            idx[side].append(sg.add_tensor(ir.Tensor(f"{side}{k}", shape, ir.dtype_of(dtype),
                                                     quantization=quant)))
    sg.operators.append(ir.Operator(opcode, idx["in"], idx["out"], dict(options or {})))
    return ir.Model(subgraphs=[sg])


def conv_w(dtype, quant, out_ch=8, in_ch=4):
    return T(dtype, (out_ch, 3, 3, in_ch), quant)


CASES = [
    # CONV_2D: per-tensor vs per-channel hybrid, grouped, int8, int4, int16x8
    ("conv float", "CONV_2D", [T("FLOAT32", X4), conv_w("FLOAT32", None), F32], [F32], {}, 1),
    ("conv hybrid per-tensor", "CONV_2D", [T("FLOAT32", X4), conv_w("INT8", q(0.1)), F32],
     [F32], {}, 2),
    ("conv hybrid per-channel", "CONV_2D", [T("FLOAT32", X4), conv_w("INT8", q([0.1] * 8)), F32],
     [F32], {}, 5),
    ("conv int8", "CONV_2D", [T("INT8", X4, q(1)), conv_w("INT8", q([0.1] * 8)), I32], [I8], {}, 3),
    ("conv int8 w int4", "CONV_2D", [T("INT8", X4, q(1)), conv_w("INT4", q(0.1)), I32], [I8], {},
     7),
    ("conv grouped", "CONV_2D", [T("FLOAT32", X4), conv_w("FLOAT32", None, in_ch=2), F32], [F32],
     {}, 6),
    ("conv int16x8", "CONV_2D", [T("INT16", X4, q(1)), conv_w("INT8", q(0.1)), T("INT64")], [I16],
     {}, 1),
    ("conv int16x8 bias type", "CONV_2D", [T("INT16", X4, q(1)), conv_w("INT8", q(0.1)),
                                           T("INT64")], [I16], {"quantized_bias_type": "INT64"}, 8),
    ("conv int16 filters", "CONV_2D", [T("INT16", X4, q(1)), conv_w("INT16", q(0.1)), T("INT64")],
     [I16], {}, 4),
    # DEPTHWISE_CONV_2D: per-channel counts filter dim 3
    ("dw float", "DEPTHWISE_CONV_2D", [T("FLOAT32", X4), conv_w("FLOAT32", None, 1, 4), F32],
     [F32], {"dilation_w_factor": 1, "dilation_h_factor": 1}, 1),
    ("dw dilated", "DEPTHWISE_CONV_2D", [T("FLOAT32", X4), conv_w("FLOAT32", None, 1, 4), F32],
     [F32], {"dilation_h_factor": 2}, 2),
    ("dw hybrid per-tensor", "DEPTHWISE_CONV_2D", [T("FLOAT32", X4), conv_w("INT8", q(0.1), 1),
                                                   F32], [F32], {}, 4),
    ("dw hybrid per-channel", "DEPTHWISE_CONV_2D",
     [T("FLOAT32", X4), conv_w("INT8", q([0.1] * 4, 3), 1), F32], [F32], {}, 6),
    ("dw int8", "DEPTHWISE_CONV_2D", [T("INT8", X4, q(1)), conv_w("INT8", q([.1] * 4, 3), 1), I32],
     [I8], {}, 3),
    ("dw int16x8", "DEPTHWISE_CONV_2D", [T("INT16", X4, q(1)), conv_w("INT8", q(.1), 1),
                                         T("INT64")], [I16], {}, 1),
    # FULLY_CONNECTED
    ("fc float", "FULLY_CONNECTED", [F32, T("FLOAT32", (3, 4)), F32], [F32], {}, 1),
    ("fc omitted bias", "FULLY_CONNECTED", [F32, T("FLOAT32", (3, 4)), None], [F32], {}, 1),
    ("fc two inputs", "FULLY_CONNECTED", [F32, T("FLOAT32", (3, 4))], [F32], {}, 6),
    ("fc keep_num_dims", "FULLY_CONNECTED", [F32, T("FLOAT32", (3, 4)), None], [F32],
     {"keep_num_dims": True}, 5),
    ("fc int8", "FULLY_CONNECTED", [I8, T("INT8", (3, 4), q(.1)), I32], [I8], {}, 4),
    ("fc int8 keep_num_dims", "FULLY_CONNECTED", [I8, T("INT8", (3, 4), q(.1)), I32], [I8],
     {"keep_num_dims": True}, 5),
    ("fc hybrid per-tensor", "FULLY_CONNECTED", [F32, T("INT8", (3, 4), q(.1)), F32], [F32], {}, 3),
    ("fc hybrid asymmetric", "FULLY_CONNECTED", [F32, T("INT8", (3, 4), q(.1)), F32], [F32],
     {"asymmetric_quantize_inputs": True}, 9),
    ("fc hybrid per-channel", "FULLY_CONNECTED", [F32, T("INT8", (3, 4), q([.1] * 3)), F32], [F32],
     {}, 12),
    ("fc int16x8", "FULLY_CONNECTED", [I16, T("INT8", (3, 4), q(.1)), T("INT64")], [I16], {}, 1),
    ("fc int16x8 bias type", "FULLY_CONNECTED", [I16, T("INT8", (3, 4), q(.1)), T("INT64")], [I16],
     {"quantized_bias_type": "INT64"}, 11),
    ("fc int16x16", "FULLY_CONNECTED", [I16, T("INT16", (3, 4), q(.1)), T("INT64")], [I16], {}, 7),
    ("fc shuffled", "FULLY_CONNECTED", [T("UINT8", quant=q(1)), T("UINT8", (3, 4), q(1)), I32],
     [T("UINT8", quant=q(1))], {"weights_format": "SHUFFLED4x16INT8"}, 2),
    # element-wise: int8 / int16 (quantized or not) / rank-5 broadcasting
    ("add int8", "ADD", [I8, I8], [I8], {}, 2),
    ("add int16 pot", "ADD", [I16, I16], [I16], {}, 1),
    ("add int16 general", "ADD", [I16, I16], [I16], {"pot_scale_int16": False}, 3),
    ("add int16 integer", "ADD", [T("INT16"), T("INT16")], [T("INT16")], {}, 5),
    ("add int64", "ADD", [T("INT64"), T("INT64")], [T("INT64")], {}, 4),
    ("add float16", "ADD", [T("FLOAT16"), T("FLOAT16")], [T("FLOAT16")], {}, 6),
    ("sub rank5 broadcast", "SUB", [T("FLOAT32", (2, 1, 3, 4, 5)), T("FLOAT32", (5,))], [F32], {},
     3),
    ("sub rank5 same shape", "SUB", [T("FLOAT32", (2, 1, 3, 4, 5))] * 2, [F32], {}, 1),
    ("sub rank4 broadcast", "SUB", [T("FLOAT32", (2, 3, 4, 5)), T("FLOAT32", (5,))], [F32], {}, 1),
    ("sub int16 general", "SUB", [I16, I16], [I16], {"pot_scale_int16": False}, 5),
    ("div rank5 broadcast", "DIV", [T("FLOAT32", (1, 1, 1, 1, 5)), T("FLOAT32", (2, 1, 1, 1, 5))],
     [F32], {}, 2),
    ("max rank5 broadcast", "MAXIMUM", [T("FLOAT32", (2, 1, 3, 4, 5)), F32], [F32], {}, 3),
    ("min int16", "MINIMUM", [I16, I16], [I16], {}, 4),
    ("mul int8", "MUL", [T("INT8", quant=q(.5)), T("INT8", quant=q(.5))], [T("INT8", quant=q(1))],
     {}, 2),
    ("mul int8 rescale>=1", "MUL", [T("INT8", quant=q(2)), T("INT8", quant=q(1))],
     [T("INT8", quant=q(1))], {}, 3),
    ("mul int16", "MUL", [I16, I16], [I16], {}, 4),
    ("mul int16 integer", "MUL", [T("INT16"), T("INT16")], [T("INT16")], {}, 7),
    ("mul int64", "MUL", [T("INT64"), T("INT64")], [T("INT64")], {}, 5),
    # activations, pooling, reductions
    ("softmax int16", "SOFTMAX", [I16], [I16], {}, 3),
    ("logistic int16", "LOGISTIC", [I16], [I16], {}, 3),
    ("tanh int8", "TANH", [I8], [I8], {}, 2),
    ("relu uint8", "RELU", [T("UINT8", quant=q(1))], [T("UINT8", quant=q(1))], {}, 2),
    ("relu6 int16", "RELU6", [I16], [I16], {}, 3),
    ("hard_swish int8 (no rule)", "HARD_SWISH", [I8], [I8], {}, 1),
    ("max_pool int16", "MAX_POOL_2D", [I16], [I16], {}, 3),
    ("avg_pool int8", "AVERAGE_POOL_2D", [I8], [I8], {}, 2),
    ("mean int16", "MEAN", [I16, I32], [I16], {}, 3),
    ("sum int8", "SUM", [I8, I32], [I8], {}, 2),
    ("batch_matmul int16", "BATCH_MATMUL", [I16, I16], [I16], {}, 3),
    ("batch_matmul hybrid asym", "BATCH_MATMUL", [F32, T("INT8", quant=q(.1))], [F32],
     {"asymmetric_quantize_inputs": True}, 4),
    # movement: ranks above 4
    ("transpose rank5", "TRANSPOSE", [T("FLOAT32", (1, 2, 3, 4, 5)), I32], [F32], {}, 4),
    ("transpose rank6", "TRANSPOSE", [T("FLOAT32", (1,) * 6), I32], [F32], {}, 6),
    ("transpose int16", "TRANSPOSE", [I16, I32], [I16], {}, 5),
    ("transpose bool", "TRANSPOSE", [T("BOOL"), I32], [T("BOOL")], {}, 3),
    ("slice rank5", "SLICE", [T("FLOAT32", (1,) * 5), I32, I32], [F32], {}, 5),
    ("pad rank5", "PAD", [T("FLOAT32", (1,) * 5), I32], [F32], {}, 4),
    ("pad int16", "PADV2", [I16, I32, I16], [I16], {}, 3),
    ("strided_slice int8", "STRIDED_SLICE", [I8, I32, I32, I32], [I8], {}, 2),
    ("strided_slice rank5", "STRIDED_SLICE", [T("FLOAT32", (1,) * 5), I32, I32, I32], [F32], {}, 4),
    ("strided_slice ellipsis", "STRIDED_SLICE", [F32, I32, I32, I32], [F32], {"ellipsis_mask": 1},
     6),
    ("strided_slice new_axis", "STRIDED_SLICE", [F32, I32, I32, I32], [F32], {"new_axis_mask": 2},
     6),
    ("strided_slice offset", "STRIDED_SLICE", [F32, I32, I32, I32], [F32], {"offset": True}, 8),
    ("concat int16", "CONCATENATION", [I16, I16], [I16], {}, 3),
    ("gather batch_dims", "GATHER", [F32, I32], [F32], {"batch_dims": 1}, 5),
    ("gather int16 indices", "GATHER", [F32, T("INT16")], [F32], {}, 6),
    ("gather int8", "GATHER", [I8, I32], [I8], {}, 2),
    ("split int8", "SPLIT", [I32, I8], [I8, I8], {}, 2),
    ("space_to_batch rank3", "SPACE_TO_BATCH_ND", [T("FLOAT32", (1, 4, 2)), I32, I32], [F32], {},
     3),
    ("resize bilinear half_pixel", "RESIZE_BILINEAR", [T("FLOAT32", X4), I32], [F32],
     {"half_pixel_centers": True}, 3),
    ("resize nearest align", "RESIZE_NEAREST_NEIGHBOR", [T("FLOAT32", X4), I32], [F32],
     {"align_corners": True}, 3),
    ("resize int16", "RESIZE_BILINEAR", [T("INT16", X4, q(1)), I32], [I16], {}, 4),
    ("broadcast_to float", "BROADCAST_TO", [F32, I32], [F32], {}, 2),
    ("where int", "WHERE", [T("INT32")], [T("INT64")], {}, 2),
    ("where bool", "WHERE", [T("BOOL")], [T("INT64")], {}, 1),
    ("select rank5", "SELECT", [T("BOOL", (1,) * 5), T("FLOAT32", (1,) * 5),
                                T("FLOAT32", (1,) * 5)], [F32], {}, 3),
    ("cast f16", "CAST", [T("FLOAT16")], [F32], {}, 5),
    ("cast int8", "CAST", [T("INT8")], [F32], {}, 3),
    # quantize / dequantize: per-tensor vs per-channel, int16
    ("quantize int8", "QUANTIZE", [F32], [I8], {}, 1),
    ("quantize int16", "QUANTIZE", [F32], [I16], {}, 2),
    ("quantize per-channel", "QUANTIZE", [F32], [T("INT8", (1, 4), q([.1] * 4, 1))], {}, 3),
    ("dequantize int8", "DEQUANTIZE", [I8], [F32], {}, 2),
    ("dequantize per-channel", "DEQUANTIZE", [T("INT8", (3, 4), q([.1] * 3, 0))], [F32], {}, 5),
    ("dequantize int16", "DEQUANTIZE", [I16], [F32], {}, 3),
    ("dequantize f16", "DEQUANTIZE", [T("FLOAT16")], [F32], {}, 3),
    # recurrent: hybrid and int16x8
    ("uni lstm hybrid", "UNIDIRECTIONAL_SEQUENCE_LSTM", [F32, F32, T("INT8", quant=q(.1))], [F32],
     {}, 2),
    # the rules say 5, LiteRT registers up to 4 (RUNTIME_MAX)
    ("uni lstm int16x8", "UNIDIRECTIONAL_SEQUENCE_LSTM", [I16, I8, T("INT8", quant=q(.1))], [I16],
     {}, 4),
    ("uni lstm diagonal", "UNIDIRECTIONAL_SEQUENCE_LSTM", [F32, F32, F32], [F32],
     {"diagonal_recurrent_tensors": True}, 4),
    ("rnn hybrid asym", "UNIDIRECTIONAL_SEQUENCE_RNN", [F32, T("INT8", quant=q(.1))], [F32],
     {"asymmetric_quantize_inputs": True}, 3),
    ("transpose_conv bias", "TRANSPOSE_CONV", [I32, conv_w("FLOAT32", None), T("FLOAT32", X4), F32],
     [F32], {}, 3),
    ("transpose_conv no bias int8", "TRANSPOSE_CONV", [I32, conv_w("INT8", q(.1)),
                                                       T("INT8", X4, q(1))], [I8], {}, 2),
    ("transpose_conv relu", "TRANSPOSE_CONV", [I32, conv_w("FLOAT32", None), T("FLOAT32", X4)],
     [F32], {"fused_activation_function": "RELU"}, 4),
]


@pytest.mark.parametrize("name,opcode,ins,outs,options,want", CASES, ids=[c[0] for c in CASES])
def test_single_op_version(name, opcode, ins, outs, options, want):
    model = set_op_versions(single_op(opcode, ins, outs, options))
    assert model.subgraphs[0].operators[0].version == want


def test_every_single_op_version_is_registered_in_litert():
    # LiteRT resolves each (op, version) when it builds the interpreter and refuses one it
    # does not register; the models need no data for that
    lite = litert()
    refused = []
    for name, opcode, ins, outs, options, _ in CASES:
        blob = write(set_op_versions(single_op(opcode, ins, outs, options)))
        try:
            lite.Interpreter(model_content=blob, experimental_op_resolver_type=lite.
                             OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
        except (RuntimeError, ValueError) as e:
            refused.append(f"{name}: {e}")
    assert not refused, "\n".join(refused)


def test_shared_opcode_takes_the_highest_version_unless_asked_not_to():
    def two_convs() -> ir.Model:
        model = single_op("CONV_2D", [T("FLOAT32", X4), conv_w("FLOAT32", None), F32], [F32])
        hybrid = single_op("CONV_2D", [T("FLOAT32", X4), conv_w("INT8", q([.1] * 8)), F32], [F32])
        model.subgraphs.append(hybrid.subgraphs[0])     # across subgraphs too
        return model

    shared = set_op_versions(two_convs())
    assert [sg.operators[0].version for sg in shared.subgraphs] == [5, 5]
    alone = set_op_versions(two_convs(), shared=False)
    assert [sg.operators[0].version for sg in alone.subgraphs] == [1, 5]


def test_custom_ops_keep_their_version_and_versions_are_lowered_too():
    model = single_op("MyCustom", [F32], [F32])
    model.subgraphs[0].operators[0].version = 3
    # a stale version is lowered: a float RELU needs 1
    model.subgraphs[0].operators.append(ir.Operator("RELU", [0], [1], version=4))
    marked = ir.Operator("RELU", [0], [1], custom=True, version=9)
    model.subgraphs[0].operators.append(marked)
    set_op_versions(model)
    assert [op.version for op in model.subgraphs[0].operators] == [3, 1, 9]


def test_signature_tolerates_omitted_and_missing_tensors():
    sig = OpSignature.of(ir.Operator("CONV_2D", [0, -1], [0]),
                         single_op("RELU", [T("FLOAT32", X4)], []).subgraphs[0])
    assert sig.in_type(1) is None and sig.in_type(5) is None and sig.out_type(3) is None
    assert op_version(sig) == 1


# ------------------------------------------------------ converter output runs in LiteRT
def _onnx_model() -> onnx.ModelProto:
    rng = np.random.default_rng(0)
    init = [numpy_helper.from_array(rng.standard_normal((4, 3, 3, 3)).astype(np.float32), "w"),
            numpy_helper.from_array(rng.standard_normal((8, 6)).astype(np.float32), "fc"),
            numpy_helper.from_array(rng.standard_normal((1, 1, 1, 1, 4)).astype(np.float32),
                                    "d")]
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c"], ["r"]),
        helper.make_node("Reshape", ["r", "s5"], ["r5"]),          # (1, 4, 2, 8, 8) -> rank 5
        helper.make_node("Transpose", ["r5"], ["t5"], perm=[0, 2, 3, 4, 1]),
        helper.make_node("Sub", ["t5", "d"], ["b5"]),              # rank-5 broadcast: SUB v3
        helper.make_node("Reshape", ["b5", "s3"], ["m"]),
        helper.make_node("MatMul", ["m", "fc"], ["y"]),            # rank 3: keep_num_dims
    ]
    consts = [numpy_helper.from_array(np.array([1, 4, 2, 8, 8], np.int64), "s5"),
              numpy_helper.from_array(np.array([1, 64, 8], np.int64), "s3")]
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 16, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], init + consts)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def test_converted_model_versions_load_and_run_in_litert():
    import onnxruntime as ort

    onnx_model = _onnx_model()
    ir_model = api.Converter.from_onnx(onnx_model).convert_to_ir()
    versions = {op.opcode: op.version for sg in ir_model.subgraphs for op in sg.operators}
    # SUB broadcasts at rank 5 (the frontend emits it at 1); one TRANSPOSE is rank 5 and
    # the rank-4 ones share its version; MatMul on a rank-3 input keeps its dims
    assert versions["SUB"] == 3 and versions["TRANSPOSE"] == 4, versions
    assert versions["FULLY_CONNECTED"] == 5 and versions["CONV_2D"] == 1, versions
    blob = write(ir_model)
    interp = litert().Interpreter(model_content=blob)      # refuses unregistered versions
    interp.allocate_tensors()
    x = np.random.default_rng(1).standard_normal((1, 3, 16, 8)).astype(np.float32)
    interp.set_tensor(interp.get_input_details()[0]["index"], x)
    interp.invoke()
    got = interp.get_tensor(interp.get_output_details()[0]["index"])
    want = ort.InferenceSession(onnx_model.SerializeToString()).run(None, {"x": x})[0]
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


def test_litert_refuses_a_version_above_its_registry():
    # the failure mode the rules guard against: a too-high version makes LiteRT refuse
    model = set_op_versions(single_op("RELU", [F32], [F32]))
    model.subgraphs[0].inputs, model.subgraphs[0].outputs = [0], [1]
    litert().Interpreter(model_content=write(model)).allocate_tensors()
    model.subgraphs[0].operators[0].version = 99
    with pytest.raises((RuntimeError, ValueError)):
        litert().Interpreter(model_content=write(model)).allocate_tensors()
