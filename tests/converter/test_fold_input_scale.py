"""passes/fold_input_scale.py on tiny IR graphs: MUL by a per-channel constant folds into
the next CONV_2D / DEPTHWISE_CONV_2D / FULLY_CONNECTED's weights (outputs unchanged in
edgelite and LiteRT), and is kept where folding would change the result."""

from __future__ import annotations

import numpy as np
import pytest

from edgelite.converter.passes import fold_input_scales
from tests.converter.passes_harness import IrGraph, check_ir_pass, op_counts

NONE = {"fused_activation_function": "NONE"}


class _Graph(IrGraph):
    """check_ir_pass builds the graph twice: the same seed gives the same constants."""

    def __init__(self) -> None:
        super().__init__()
        self.rng = np.random.default_rng(0)

    def rand(self, *shape, lo=-1.0, hi=1.0) -> int:
        return self.const(self.rng.uniform(lo, hi, shape).astype(np.float32))


def _layer(g: _Graph, opcode: str, x: int, channels: int) -> int:
    if opcode == "CONV_2D":
        return g.op("CONV_2D", [x, g.rand(4, 3, 3, channels), g.rand(4)],
                    (1, 6, 6, 4), {**NONE, "padding": "SAME", "stride_h": 1, "stride_w": 1},
                    version=1)
    if opcode == "DEPTHWISE_CONV_2D":
        return g.op("DEPTHWISE_CONV_2D", [x, g.rand(1, 3, 3, 2 * channels),
                                          g.rand(2 * channels)], (1, 6, 6, 2 * channels),
                    {**NONE, "padding": "SAME", "stride_h": 1, "stride_w": 1,
                     "depth_multiplier": 2}, version=1)
    return g.op("FULLY_CONNECTED", [x, g.rand(5, channels), g.rand(5)], (1, 5),
                {**NONE, "weights_format": "DEFAULT", "keep_num_dims": False})


@pytest.mark.parametrize("opcode", ["CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"])
@pytest.mark.parametrize("per_channel", [False, True])
def test_channel_scale_folds_into_the_layer(opcode, per_channel):
    c = 3
    shape = (1, c) if opcode == "FULLY_CONNECTED" else (1, 6, 6, c)
    scale = np.linspace(0.1, 2.0, c, dtype=np.float32) if per_channel else np.float32(1 / 255)

    def build():
        g = _Graph()
        x = g.input(shape)
        m = g.op("MUL", [x, g.const(np.asarray(scale, np.float32))], shape, NONE)
        return g.model([_layer(g, opcode, m, c)])
    sg = check_ir_pass(build, fold_input_scales)
    assert op_counts(sg) == {opcode: 1}
    assert sg.operators[0].inputs[0] == sg.inputs[0]


def test_scale_read_by_another_op_is_kept():
    def build():
        g = _Graph()
        x = g.input((1, 6, 6, 3))
        m = g.op("MUL", [x, g.rand(3)], (1, 6, 6, 3), NONE)
        return g.model([_layer(g, "CONV_2D", m, 3), m])
    sg = check_ir_pass(build, fold_input_scales)
    assert op_counts(sg) == {"MUL": 1, "CONV_2D": 1}


@pytest.mark.parametrize("const_shape", [(1, 6, 1, 1), (1, 6, 6, 3)])
def test_scale_varying_over_space_is_kept(const_shape):
    def build():
        g = _Graph()
        x = g.input((1, 6, 6, 3))
        m = g.op("MUL", [x, g.rand(*const_shape)], (1, 6, 6, 3), NONE)
        return g.model([_layer(g, "CONV_2D", m, 3)])
    sg = check_ir_pass(build, fold_input_scales)
    assert op_counts(sg) == {"MUL": 1, "CONV_2D": 1}


def test_scale_with_a_fused_activation_or_into_an_add_is_kept():
    def build():
        g = _Graph()
        x = g.input((1, 6, 6, 3))
        m = g.op("MUL", [x, g.rand(3)], (1, 6, 6, 3),
                 {"fused_activation_function": "RELU"})
        a = g.op("MUL", [x, g.rand(3)], (1, 6, 6, 3), NONE)
        s = g.op("ADD", [a, g.rand(3)], (1, 6, 6, 3), NONE)
        return g.model([_layer(g, "CONV_2D", m, 3), s])
    sg = check_ir_pass(build, fold_input_scales)
    assert op_counts(sg) == {"MUL": 2, "CONV_2D": 1, "ADD": 1}
