"""Constant folding on the IR: operators on constants are evaluated by edgelite's kernels
and replaced by their results; the folded model still matches LiteRT."""

from __future__ import annotations

import numpy as np

from edgelite.converter.passes import fold_constants
from edgelite.converter.passes.fold_constants import MAX_FOLDED_BYTES
from tests.converter.passes_harness import IrGraph, check_ir_pass, op_counts


def _chain():
    """x + tanh(a * b) with a, b constant: MUL and TANH fold, ADD stays."""
    g = IrGraph()
    x = g.input((2, 3))
    a = g.const(np.linspace(-1, 1, 6, dtype=np.float32).reshape(2, 3))
    b = g.const(np.full((2, 3), 1.5, np.float32))
    m = g.op("MUL", [a, b], (2, 3), {"fused_activation_function": "NONE"})
    t = g.op("TANH", [m], (2, 3))
    return g.model([g.op("ADD", [x, t], (2, 3), {"fused_activation_function": "NONE"})])


def test_a_chain_of_constant_ops_folds_into_one_constant():
    sg = check_ir_pass(_chain, fold_constants)
    assert op_counts(sg) == {"ADD": 1}
    folded = sg.tensors[sg.operators[0].inputs[1]]
    want = np.tanh(np.linspace(-1, 1, 6, dtype=np.float32).reshape(2, 3) * np.float32(1.5))
    np.testing.assert_allclose(folded.data, want, rtol=1e-6)


def test_graph_outputs_and_ops_on_inputs_are_not_folded():
    g = IrGraph()
    x = g.input((4,))
    c = g.const(np.arange(4, dtype=np.float32))
    y = g.op("RELU", [c], (4,))                       # a graph output: kept computed
    z = g.op("ADD", [x, c], (4,), {"fused_activation_function": "NONE"})
    sg = fold_constants(g.model([y, z])).subgraphs[0]
    assert op_counts(sg) == {"RELU": 1, "ADD": 1}


def test_huge_results_are_not_folded():
    g = IrGraph()
    x = g.input((1,))
    c = g.const(np.ones((1, 1024), np.float32))
    n = MAX_FOLDED_BYTES // 4096 + 1
    reps = g.const(np.array([n, 1], np.int32))
    t = g.op("TILE", [c, reps], (n, 1024))
    s = g.op("SUM", [t, g.const(np.array([0, 1], np.int32))], (), {"keep_dims": False})
    model = g.model([g.op("ADD", [x, s], (1,), {"fused_activation_function": "NONE"})])
    sg = fold_constants(model).subgraphs[0]
    assert "TILE" in op_counts(sg)


def test_an_op_the_kernels_refuse_is_left_for_prepare_to_report():
    g = IrGraph()
    x = g.input((2,))
    c = g.const(np.array([1.0, 2.0], np.float32))
    bad = g.op("RESHAPE", [c, g.const(np.array([3], np.int32))], (3,))   # 2 values to 3
    model = g.model([g.op("ADD", [x, bad], (3,), {"fused_activation_function": "NONE"})])
    sg = fold_constants(model).subgraphs[0]
    assert "RESHAPE" in op_counts(sg)
