"""Shared pieces of the graph-pass tests: tiny ONNX models converted and checked
against onnxruntime, and tiny IR graphs checked against LiteRT on the unoptimized graph;
outputs are compared in edgelite and in LiteRT (XNNPACK and builtin kernels)."""

from __future__ import annotations

import collections

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from edgelite import Converter, Interpreter
from edgelite.converter.passes import remove_dead_code
from edgelite.schema import ir, read, write
from tests.litert_oracle import litert, litert_builtin

RTOL, ATOL = 1e-4, 1e-5
RNG = np.random.default_rng(7)


def rand(*shape: int, lo: float = -1.0, hi: float = 1.0) -> np.ndarray:
    return RNG.uniform(lo, hi, shape).astype(np.float32)


def onnx_model(nodes: list, inputs: dict, inits: dict, outputs=("y",),
               opset: int = 17) -> onnx.ModelProto:
    """A float32 model: ``inputs`` name -> shape, ``inits`` name -> array."""
    graph = helper.make_graph(
        nodes, "passes",
        [helper.make_tensor_value_info(k, TensorProto.FLOAT, s) for k, s in inputs.items()],
        [helper.make_tensor_value_info(o, TensorProto.FLOAT, None) for o in outputs],
        [numpy_helper.from_array(np.asarray(v), k) for k, v in inits.items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    return model


def _ort(model, feeds):
    try:
        import onnxruntime
    except ImportError:
        pytest.fail("onnxruntime is the ONNX oracle: pip install -e '.[test]'")
    sess = onnxruntime.InferenceSession(model.SerializeToString(),
                                        providers=["CPUExecutionProvider"])
    return sess.run(None, feeds)


def _run(interp, feeds):
    interp.allocate_tensors()
    by_name = {d["name"]: d["index"] for d in interp.get_input_details()}
    for name, x in feeds.items():
        interp.set_tensor(by_name[name], x)
    interp.invoke()
    return {d["name"]: interp.get_tensor(d["index"]).copy()
            for d in interp.get_output_details()}


def convert_and_check(model: onnx.ModelProto, layout: str = "keep") -> ir.Subgraph:
    """Convert, compare every output with onnxruntime in edgelite and both LiteRT
    resolvers; returns the converted subgraph."""
    conv = Converter.from_onnx(model)
    conv.io_layout = layout
    blob = conv.convert()
    feeds = {i.name: RNG.uniform(-2, 2, [d.dim_value for d in i.type.tensor_type.shape.dim])
             .astype(np.float32) for i in model.graph.input
             if i.name not in {t.name for t in model.graph.initializer}}
    want = dict(zip([o.name for o in model.graph.output], _ort(model, feeds)))
    if layout == "nhwc":
        def to_nhwc(a):
            return np.ascontiguousarray(a.transpose(0, 2, 3, 1)) if a.ndim == 4 else a
        feeds = {k: to_nhwc(v) for k, v in feeds.items()}
        want = {k: to_nhwc(v) for k, v in want.items()}
    makers = (Interpreter, litert().Interpreter, litert_builtin)
    for make in makers:
        got = _run(make(model_content=blob), feeds)
        assert set(got) == set(want), (make, sorted(got))
        for name, w in want.items():
            np.testing.assert_allclose(got[name], w, rtol=RTOL, atol=ATOL,
                                       err_msg=f"{make} output {name}")
    return read(blob).subgraphs[0]


def op_counts(sg: ir.Subgraph) -> collections.Counter:
    return collections.Counter(op.opcode for op in sg.operators)


def only_op(sg: ir.Subgraph, opcode: str) -> ir.Operator:
    found = [op for op in sg.operators if op.opcode == opcode]
    assert len(found) == 1, op_counts(sg)
    return found[0]


def node(op: str, ins: list, outs: list, **attrs) -> onnx.NodeProto:
    return helper.make_node(op, ins, outs, **attrs)


class IrGraph:
    """A tiny IR graph builder for patterns the ONNX frontend does not emit."""

    def __init__(self) -> None:
        self.sg = ir.Subgraph(name="main")

    def input(self, shape) -> int:
        index = self.sg.add_tensor(ir.Tensor(f"in{len(self.sg.inputs)}", shape, np.float32))
        self.sg.inputs.append(index)
        return index

    def const(self, array) -> int:
        array = np.asarray(array)
        return self.sg.add_tensor(ir.Tensor(f"c{len(self.sg.tensors)}", array.shape,
                                            array.dtype, data=array))

    def op(self, opcode, inputs, shape, options=None, version=1) -> int:
        out = self.sg.add_tensor(ir.Tensor(f"t{len(self.sg.tensors)}", shape, np.float32))
        self.sg.operators.append(ir.Operator(opcode, inputs, [out], dict(options or {}),
                                             version=version))
        return out

    def model(self, outputs) -> ir.Model:
        self.sg.outputs = list(outputs)
        return ir.Model([self.sg])


def check_ir_pass(build, graph_pass) -> ir.Subgraph:
    """Run ``graph_pass`` (then dead-code removal) on the model ``build()`` returns;
    the result must match the original in LiteRT, run in edgelite and in LiteRT."""
    original = write(build())
    feeds = [RNG.uniform(-2, 2, d["shape"]).astype(np.float32)
             for d in litert().Interpreter(model_content=original).get_input_details()]
    want = _run_list(litert_builtin(model_content=original), feeds)
    model = remove_dead_code(graph_pass(build()))
    blob = write(model)
    for make in (Interpreter, litert().Interpreter, litert_builtin):
        for g, w in zip(_run_list(make(model_content=blob), feeds), want, strict=True):
            np.testing.assert_allclose(g, w, rtol=RTOL, atol=ATOL, err_msg=str(make))
    return model.subgraphs[0]


def _run_list(interp, feeds):
    interp.allocate_tensors()
    for d, x in zip(interp.get_input_details(), feeds):
        interp.set_tensor(d["index"], x)
    interp.invoke()
    return [interp.get_tensor(d["index"]).copy() for d in interp.get_output_details()]
