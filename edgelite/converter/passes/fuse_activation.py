"""Fold a standalone activation into the ``fused_activation_function`` of its producer.

    CONV_2D(x) -> t -> RELU6 -> y      becomes      CONV_2D(x, fused RELU6) -> y

Only clamp activations are fused: RELU, RELU6 and RELU_N1_TO_1. TANH and SIGN_BIT are
in the enum, but LiteRT's float kernels silently ignore them (``CalculateActivationRange``
treats them as NONE) and edgelite's refuse them, so fusing them would change results;
RELU_0_TO_1 has no enum value at all. CONCATENATION takes no fused activation in LiteRT
(its kernel requires NONE), so it is not a producer here.

Float32 only: in a quantized graph the activation may also requantize.
"""

from __future__ import annotations

from ...schema import ir
from .graph_index import GraphIndex, plain_float

_ACTIVATIONS = {"RELU", "RELU6", "RELU_N1_TO_1"}
# producer -> the lowest op version whose options carry a fused activation
_PRODUCERS = {"CONV_2D": 1, "DEPTHWISE_CONV_2D": 1, "CONV_3D": 1, "FULLY_CONNECTED": 1,
              "ADD": 1, "SUB": 1, "MUL": 1, "DIV": 1, "AVERAGE_POOL_2D": 1,
              "MAX_POOL_2D": 1, "TRANSPOSE_CONV": 4}
_KEY = "fused_activation_function"


def fuse_activations(model: ir.Model) -> ir.Model:
    """In place: fuse every eligible activation op; returns ``model``."""
    for sg in model.subgraphs:
        _fuse(sg)
    return model


def _fuse(sg: ir.Subgraph) -> None:
    g = GraphIndex(sg)
    for act in sg.operators:
        if act.opcode not in _ACTIVATIONS or len(act.inputs) != 1 or len(act.outputs) != 1:
            continue
        t, y = act.inputs[0], act.outputs[0]
        producer = g.producer.get(t)
        if producer is None or not _can_fuse(g, producer, act, t, y):
            continue
        producer.options = {**producer.options, _KEY: act.opcode}
        producer.version = max(producer.version, _PRODUCERS[producer.opcode])
        g.remove(act)
        g.set_output(producer, t, y)
    g.commit()


def _can_fuse(g: GraphIndex, producer: ir.Operator, act: ir.Operator, t: int,
              y: int) -> bool:
    return (producer.opcode in _PRODUCERS and not producer.custom
            and producer.options_type is None
            and (producer.options or {}).get(_KEY) == "NONE"
            and producer.outputs == [t]
            and g.sole_consumer(t) is act
            and plain_float(g.tensor(t)) and plain_float(g.tensor(y))
            and g.tensor(t).shape == g.tensor(y).shape)
