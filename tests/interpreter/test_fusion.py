"""ADD/SUB/MUL/CONV_2D/DEPTHWISE_CONV_2D/FULLY_CONNECTED followed by a RELU-family op that
alone reads its float output run as one step (the op clamps its own output), with the
same results as LiteRT; nothing is fused when every tensor is preserved or when the
intermediate is read elsewhere."""

from __future__ import annotations

import numpy as np
import pytest

from edgelite import Interpreter
from edgelite.schema import ir, write
from tests.kernels.harness import run_litert


def _model(activation: str, extra_reader: bool = False) -> ir.Model:
    """out = activation(x + c) [and, with extra_reader, also out2 = (x + c) * 2]."""
    sg = ir.Subgraph(name="main")
    x = sg.add_tensor(ir.Tensor("x", (1, 5, 4, 3), np.float32))
    c = sg.add_tensor(ir.Tensor("c", (3,), np.float32,
                                data=np.array([1.5, -2.0, 0.25], np.float32)))
    s = sg.add_tensor(ir.Tensor("sum", (1, 5, 4, 3), np.float32))
    out = sg.add_tensor(ir.Tensor("out", (1, 5, 4, 3), np.float32))
    sg.inputs, sg.outputs = [x], [out]
    sg.operators = [ir.Operator("ADD", [x, c], [s], {"fused_activation_function": "NONE"}),
                    ir.Operator(activation, [s], [out])]
    if extra_reader:
        two = sg.add_tensor(ir.Tensor("two", (), np.float32, data=np.array(2, np.float32)))
        out2 = sg.add_tensor(ir.Tensor("out2", (1, 5, 4, 3), np.float32))
        sg.operators.append(ir.Operator("MUL", [s, two], [out2],
                                        {"fused_activation_function": "NONE"}))
        sg.outputs.append(out2)
    return ir.Model([sg])


def _run(model: ir.Model, x: np.ndarray, **kwargs):
    interp = Interpreter(model_content=write(model), **kwargs)
    interp.allocate_tensors()
    interp.set_tensor(interp.get_input_details()[0]["index"], x)
    interp.invoke()
    outs = [interp.get_tensor(d["index"]) for d in interp.get_output_details()]
    return interp, outs


X = np.random.default_rng(3).normal(0, 3, (1, 5, 4, 3)).astype(np.float32)


@pytest.mark.parametrize("activation", ["RELU", "RELU6", "RELU_N1_TO_1"])
def test_add_then_relu_is_one_step_with_litert_results(activation):
    model = _model(activation)
    interp, outs = _run(model, X)
    assert [s.name for s in interp._main.steps] == ["ADD"]
    np.testing.assert_array_equal(outs[0], run_litert(model, [X])[0])
    with pytest.raises(ValueError, match="null"):   # the intermediate is never written
        interp.get_tensor(2)


def test_nothing_fused_when_all_tensors_are_preserved():
    model = _model("RELU")
    interp, outs = _run(model, X, experimental_preserve_all_tensors=True)
    assert [s.name for s in interp._main.steps] == ["ADD", "RELU"]
    np.testing.assert_array_equal(interp.get_tensor(2), X + np.array([1.5, -2.0, 0.25],
                                                                      np.float32))
    np.testing.assert_array_equal(outs[0], np.maximum(interp.get_tensor(2), 0))


def test_nothing_fused_when_the_intermediate_has_another_reader():
    model = _model("RELU", extra_reader=True)
    interp, outs = _run(model, X)
    assert [s.name for s in interp._main.steps] == ["ADD", "RELU", "MUL"]
    for got, want in zip(outs, run_litert(model, [X])):
        np.testing.assert_array_equal(got, want)
