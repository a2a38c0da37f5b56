"""Ops whose output shape depends on input values: dynamic outputs and lazy preparation."""

from __future__ import annotations

import numpy as np

from edgelite import Interpreter, OpResolver
from edgelite.schema import ir, write


def _positive_then_double() -> bytes:
    """Positives (custom op, dynamic length) -> MUL by 2 (prepared lazily) -> out."""
    sg = ir.Subgraph()
    x = sg.add_tensor(ir.Tensor("x", (6,), np.float32))
    p = sg.add_tensor(ir.Tensor("positives", (0,), np.float32, shape_signature=(-1,)))
    two = sg.add_tensor(ir.Tensor("two", (1,), np.float32, data=np.array([2], np.float32)))
    out = sg.add_tensor(ir.Tensor("out", (0,), np.float32, shape_signature=(-1,)))
    sg.inputs, sg.outputs = [x], [out]
    sg.operators = [ir.Operator("Positives", [x], [p]),
                    ir.Operator("MUL", [p, two], [out], {"fused_activation_function": "NONE"})]
    return write(ir.Model([sg]))


def _resolver() -> OpResolver:
    resolver = OpResolver()

    @resolver.custom_op("Positives")
    def prepare(ctx):
        ctx.set_output_dynamic(0, np.float32)

        def run(ins, outs, scratch):
            outs[0] = ins[0][ins[0] > 0]
        return run

    return resolver


def test_dynamic_output_flows_into_a_lazily_prepared_op():
    interp = Interpreter(model_content=_positive_then_double(), op_resolver=_resolver())
    interp.allocate_tensors()
    out_index = interp.get_output_details()[0]["index"]
    for values in ([1, -2, 3, -4, 5, 0], [-1, -1, -1, -1, -1, 7], [-1] * 6):
        x = np.array(values, np.float32)
        interp.set_tensor(0, x)
        interp.invoke()
        np.testing.assert_array_equal(interp.get_tensor(out_index), 2 * x[x > 0])
