"""The converter's graph passes that remove (remove_identity, dedupe_constants, and the
TRANSPOSE_CONV fusion the ONNX frontend never produces): ONNX models checked against
onnxruntime, IR graphs against LiteRT on the graph before the pass."""

from __future__ import annotations

import collections

import numpy as np
import pytest

from edgelite.converter.passes import dedupe_constants, fuse_activations, remove_identities
from edgelite.schema import ir
from tests.converter.passes_harness import (IrGraph, check_ir_pass, convert_and_check, node,
                                            only_op, onnx_model, op_counts, rand)


# --------------------------------------------------------------------------- identities
def _between_relus(op, inits, **attrs):
    nodes = [node("Relu", ["x"], ["a"]), node(op, ["a"] + list(inits), ["b"], **attrs),
             node("Relu", ["b"], ["y"])]
    return onnx_model(nodes, {"x": [2, 3, 4, 5]}, inits)


_IDENTITIES = {
    "reshape": ("Reshape", {"S": np.array([2, 3, 4, 5], np.int64)}, {}),
    "squeeze": ("Squeeze", {}, {}),
    "tile": ("Tile", {"R": np.ones(4, np.int64)}, {}),
    "slice": ("Slice", {"B": np.array([0], np.int64), "E": np.array([9], np.int64)}, {}),
    "pad": ("Pad", {"P": np.zeros(8, np.int64)}, {}),
    "concat": ("Concat", {}, {"axis": 1}),
    "mul_one": ("Mul", {"O": np.ones(1, np.float32)}, {}),
}


@pytest.mark.parametrize("layout", ["keep", "nhwc"])
@pytest.mark.parametrize("kind", sorted(_IDENTITIES))
def test_identity_removed(kind, layout):
    op, inits, attrs = _IDENTITIES[kind]
    sg = convert_and_check(_between_relus(op, inits, **attrs), layout)
    # nhwc: the frontend runs the identity (and the RELU after it) in NCHW between two
    # TRANSPOSEs; moving those across the RELU is transpose sinking, not this pass
    want = {"RELU": 2, "TRANSPOSE": 2 if layout == "nhwc" and kind not in
            ("concat", "mul_one") else 0}
    want = collections.Counter({k: n for k, n in want.items() if n})
    assert op_counts(sg) == want, op_counts(sg)


def test_identity_before_graph_output_removed_keeping_name():
    model = onnx_model([node("Relu", ["x"], ["a"]), node("Reshape", ["a", "S"], ["y"])],
                       {"x": [2, 3]}, {"S": np.array([2, 3], np.int64)})
    sg = convert_and_check(model)
    assert op_counts(sg) == collections.Counter({"RELU": 1}), op_counts(sg)
    assert [sg.tensors[i].name for i in sg.outputs] == ["y"]


def test_identity_between_two_graph_outputs_kept():
    model = onnx_model([node("Relu", ["x"], ["a"]), node("Reshape", ["a", "S"], ["y"])],
                       {"x": [2, 3]}, {"S": np.array([2, 3], np.int64)}, ("a", "y"))
    sg = convert_and_check(model)
    assert op_counts(sg) == collections.Counter({"RELU": 1, "RESHAPE": 1}), op_counts(sg)


def test_identity_from_graph_input_to_graph_output_kept():
    model = onnx_model([node("Reshape", ["x", "S"], ["y"])], {"x": [2, 3]},
                       {"S": np.array([2, 3], np.int64)})
    sg = convert_and_check(model)
    assert op_counts(sg) == collections.Counter({"RESHAPE": 1}), op_counts(sg)
    assert sg.inputs != sg.outputs


def test_cast_and_transpose_identities_removed():
    def build():
        g = IrGraph()
        x = g.input((1, 4, 4, 3))
        a = g.op("RELU", [x], (1, 4, 4, 3))
        b = g.op("CAST", [a], (1, 4, 4, 3), {"in_data_type": "FLOAT32",
                                            "out_data_type": "FLOAT32"})
        c = g.op("TRANSPOSE", [b, g.const(np.arange(4, dtype=np.int32))], (1, 4, 4, 3))
        p = g.op("TRANSPOSE", [c, g.const(np.array([0, 3, 1, 2], np.int32))], (1, 3, 4, 4))
        q = g.op("TRANSPOSE", [p, g.const(np.array([0, 2, 3, 1], np.int32))], (1, 4, 4, 3))
        return g.model([g.op("RELU6", [q], (1, 4, 4, 3))])
    sg = check_ir_pass(build, remove_identities)
    assert op_counts(sg) == collections.Counter({"RELU": 1, "RELU6": 1}), op_counts(sg)


def test_transposes_that_do_not_cancel_kept():
    def build():
        g = IrGraph()
        x = g.input((1, 3, 3, 3))
        perm = g.const(np.array([0, 3, 1, 2], np.int32))
        p = g.op("TRANSPOSE", [x, perm], (1, 3, 3, 3))
        q = g.op("TRANSPOSE", [p, perm], (1, 3, 3, 3))
        return g.model([g.op("RELU", [q], (1, 3, 3, 3))])
    sg = check_ir_pass(build, remove_identities)
    assert op_counts(sg) == collections.Counter({"TRANSPOSE": 2, "RELU": 1}), op_counts(sg)


def test_transpose_conv_fuses_relu_at_version_4():
    weights, bias = rand(2, 3, 3, 3), rand(2)

    def build():
        g = IrGraph()
        x = g.input((1, 4, 4, 3))
        shape = g.const(np.array([1, 8, 8, 2], np.int32))
        y = g.op("TRANSPOSE_CONV", [shape, g.const(weights), x, g.const(bias)],
                 (1, 8, 8, 2), {"padding": "SAME", "stride_h": 2, "stride_w": 2,
                                "fused_activation_function": "NONE"}, version=3)
        return g.model([g.op("RELU", [y], (1, 8, 8, 2))])
    sg = check_ir_pass(build, fuse_activations)
    op = only_op(sg, "TRANSPOSE_CONV")
    assert len(sg.operators) == 1 and op.version >= 4
    assert op.options["fused_activation_function"] == "RELU"


def test_duplicate_constants_merged():
    same = rand(1, 1, 1, 3)

    def build():
        g = IrGraph()
        x = g.input((1, 2, 2, 3))
        a = g.op("ADD", [x, g.const(same.copy())], (1, 2, 2, 3),
                 {"fused_activation_function": "NONE"})
        b = g.op("MUL", [a, g.const(same[0].copy())], (1, 2, 2, 3),   # other shape
                 {"fused_activation_function": "NONE"})
        c = g.op("SUB", [b, g.const(same.copy())], (1, 2, 2, 3),
                 {"fused_activation_function": "NONE"})
        return g.model([c])
    sg = check_ir_pass(build, dedupe_constants)
    consts = [t for t in sg.tensors if t.data is not None]
    assert len(consts) == 2, [t.shape for t in consts]


def test_constants_with_other_quantization_kept_apart():
    g = IrGraph()
    x = g.input((3,))
    data = np.array([1, 2, 3], np.int8)
    q1 = ir.Quantization(np.array([0.5], np.float32), np.array([0]))
    q2 = ir.Quantization(np.array([0.25], np.float32), np.array([0]))
    c1, c2 = g.const(data.copy()), g.const(data.copy())
    g.sg.tensors[c1].quantization, g.sg.tensors[c2].quantization = q1, q2
    c3 = g.const(data.copy())     # no quantization: also different
    out = g.op("ADD", [x, c1], (3,))
    out = g.op("ADD", [out, c2], (3,))
    sg = dedupe_constants(g.model([g.op("ADD", [out, c3], (3,))])).subgraphs[0]
    assert [op.inputs[1] for op in sg.operators] == [c1, c2, c3]
