"""The delegate API: a test delegate claims ops, the interpreter partitions and runs them."""

from __future__ import annotations

import numpy as np

from edgelite import Delegate, Interpreter
from edgelite.schema import ir, write


class NumpyArithmetic(Delegate):
    """Claims float ADD/MUL and runs each partition as one numpy closure."""

    name = "numpy-arith"

    def __init__(self, claim=("ADD", "MUL")):
        self.claim = set(claim)
        self.partitions = []

    def supports(self, op, inputs, outputs):
        return op.opcode in self.claim and all(s is None or s.dtype == np.float32
                                               for s in inputs)

    def prepare_partition(self, partition):
        self.partitions.append(partition)
        specs = partition.specs
        plan = [(op.opcode, op.inputs, op.outputs[0],
                 op.options.get("fused_activation_function", "NONE"))
                for _, op in partition.ops]
        slot = {t: k for k, t in enumerate(partition.inputs)}
        out_slot = {t: k for k, t in enumerate(partition.outputs)}

        def run(ins, outs, scratch):
            values = {t: ins[k] for t, k in slot.items()}
            for opcode, inputs, out, act in plan:
                a, b = (values[i] if i in values else specs[i].data for i in inputs)
                r = a + b if opcode == "ADD" else a * b
                values[out] = np.maximum(r, 0) if act == "RELU" else r
            for t, k in out_slot.items():
                np.copyto(outs[k], values[t])
        return run


def _chain() -> ir.Model:
    """x -> ADD -> MUL -> SUB -> ADD -> out: partitions [ADD, MUL] and [ADD]."""
    sg = ir.Subgraph()
    x = sg.add_tensor(ir.Tensor("x", (4,), np.float32))
    c = sg.add_tensor(ir.Tensor("c", (4,), np.float32,
                                data=np.array([1, 2, 3, 4], np.float32)))
    t = [sg.add_tensor(ir.Tensor(f"t{i}", (4,), np.float32)) for i in range(4)]
    sg.inputs, sg.outputs = [x], [t[3]]
    none = {"fused_activation_function": "NONE"}
    sg.operators = [ir.Operator("ADD", [x, c], [t[0]], dict(none)),
                    ir.Operator("MUL", [t[0], c], [t[1]], dict(none)),
                    ir.Operator("SUB", [t[1], x], [t[2]], dict(none)),
                    ir.Operator("ADD", [t[2], t[0]], [t[3]], dict(none))]
    return ir.Model([sg])


def _run(delegates):
    interp = Interpreter(model_content=write(_chain()), experimental_delegates=delegates)
    interp.allocate_tensors()
    interp.set_tensor(0, np.array([-1, 0, 1, 2], np.float32))
    interp.invoke()
    return interp, interp.get_tensor(interp.get_output_details()[0]["index"])


def test_delegate_partitions_match_cpu_results():
    delegate = NumpyArithmetic()
    interp, got = _run([delegate])
    _, expected = _run([])
    np.testing.assert_array_equal(got, expected)
    assert interp.delegated_ops == 3
    first, second = delegate.partitions
    assert [i for i, _ in first.ops] == [0, 1] and [i for i, _ in second.ops] == [3]
    # t0 leaves the first partition (read by the last ADD); t1 too (read by SUB)
    assert first.inputs == [0, 1] and first.outputs == [2, 3]


def test_a_delegate_claiming_nothing_changes_nothing():
    interp, got = _run([NumpyArithmetic(claim=())])
    _, expected = _run([])
    assert interp.delegated_ops == 0
    np.testing.assert_array_equal(got, expected)
