"""Fold per-output-channel scales and shifts into the weights and bias of the layer
before them.

The ONNX frontend lowers an inference BatchNormalization to ``MUL(x, s)`` then
``ADD(., c)`` with per-channel constants; after a convolution or dense layer both fold:

    y = (W * x + b) * s + c   =   (W * s) * x + (b * s + c)

Walk-through: for each CONV_2D / DEPTHWISE_CONV_2D / FULLY_CONNECTED with constant
float32 weights, a constant (or absent) bias and no fused activation, follow its output
while the next (sole) consumer is a MUL or ADD by, or SUB of, a constant that varies only
along the channel (last) axis; absorb each into float64 copies of the weights and bias.
An absorbed op's fused activation moves to the layer and ends the chain. The layer then
writes the last absorbed op's output, with new weight and bias tensors (the old ones
may be shared with other layers). Intermediate tensors must not be graph outputs.
"""

from __future__ import annotations

import numpy as np

from ...schema import ir
from .graph_index import GraphIndex, plain_float

# layer -> the weights' output-channel axis
_LAYERS = {"CONV_2D": 0, "DEPTHWISE_CONV_2D": 3, "FULLY_CONNECTED": 0}
_KEY = "fused_activation_function"


def fold_batch_norms(model: ir.Model) -> ir.Model:
    """In place: fold channel-wise MUL / ADD / SUB chains into layers; returns ``model``."""
    for sg in model.subgraphs:
        g = GraphIndex(sg)
        for op in list(sg.operators):
            if _foldable_layer(g, op):
                _fold_chain(g, op)
        g.commit()
    return model


def _foldable_layer(g: GraphIndex, op: ir.Operator) -> bool:
    if op.opcode not in _LAYERS or op.custom or op.options_type is not None:
        return False
    if (op.options or {}).get(_KEY) != "NONE" or len(op.outputs) != 1 or len(op.inputs) < 2 \
            or op.inputs[1] < 0:
        return False
    w = g.tensor(op.inputs[1])
    if not (w.is_constant and plain_float(w) and plain_float(g.tensor(op.outputs[0]))):
        return False
    if len(op.inputs) > 2 and op.inputs[2] >= 0:
        b = g.tensor(op.inputs[2])
        return b.is_constant and plain_float(b)
    return True


def _channel_vector(g: GraphIndex, index: int, out: ir.Tensor) -> np.ndarray | None:
    """The constant at ``index`` as a per-channel float64 vector, if it broadcasts over
    ``out`` along the last axis only (without growing it)."""
    c = g.tensor(index)
    if not (c.is_constant and plain_float(c)) or len(c.shape) > len(out.shape) or \
            not out.shape:
        return None
    n = out.shape[-1]
    if any(d != 1 for d in c.shape[:-1]) or (c.shape and c.shape[-1] not in (1, n)):
        return None
    vec = np.asarray(c.data, np.float64).reshape(-1)
    if vec.size != int(np.prod(c.shape, dtype=np.int64)):
        return None          # malformed: left for the kernel to report
    return np.broadcast_to(vec, (n,))


def _step(g: GraphIndex, t: int) -> tuple[ir.Operator, str, np.ndarray] | None:
    """The op after ``t`` and what it does, when it is an absorbable channel op."""
    op = g.sole_consumer(t)
    if op is None or op.opcode not in ("MUL", "ADD", "SUB") or len(op.inputs) != 2 or \
            op.custom or op.options_type is not None or len(op.outputs) != 1 or \
            not isinstance(op.options, dict):
        return None
    out = g.tensor(op.outputs[0])
    if not plain_float(out) or out.shape != g.tensor(t).shape:
        return None
    other = op.inputs[1] if op.inputs[0] == t else op.inputs[0]
    if op.opcode == "SUB" and op.inputs[0] != t:
        return None            # c - t would negate the weights: left alone
    vec = _channel_vector(g, other, out)
    return None if vec is None else (op, op.opcode, vec)


def _fold_chain(g: GraphIndex, layer: ir.Operator) -> None:
    axis = _LAYERS[layer.opcode]
    w_t = g.tensor(layer.inputs[1])
    t = layer.outputs[0]
    cout = g.tensor(t).shape[-1]
    if w_t.shape[axis] != cout:
        return
    w = np.asarray(w_t.data, np.float64)
    if w.shape != w_t.shape:
        return
    has_bias = len(layer.inputs) > 2 and layer.inputs[2] >= 0
    b = np.asarray(g.tensor(layer.inputs[2]).data, np.float64).reshape(-1) if has_bias \
        else np.zeros(cout)
    if b.shape != (cout,):
        return
    absorbed, activation = [], "NONE"
    while activation == "NONE":
        step = _step(g, t)
        if step is None:
            break
        op, kind, vec = step
        if kind == "MUL":
            w = w * vec.reshape([-1 if a == axis else 1 for a in range(w.ndim)])
            b = b * vec
        else:
            b = b + vec if kind == "ADD" else b - vec
        absorbed.append(op)
        activation = op.options.get(_KEY, "NONE")
        t = op.outputs[0]
    if not absorbed:
        return
    _rewrite(g, layer, absorbed, w, b, activation)


def _rewrite(g: GraphIndex, layer: ir.Operator, absorbed: list[ir.Operator],
             w: np.ndarray, b: np.ndarray, activation: str) -> None:
    w_t = g.tensor(layer.inputs[1])
    w_new = g.add_tensor(ir.Tensor(w_t.name + "_folded", w_t.shape, np.float32,
                                   data=w.astype(np.float32)))
    bias_name = g.tensor(layer.outputs[0]).name + "_bias"
    b_new = g.add_tensor(ir.Tensor(bias_name, b.shape, np.float32, data=b.astype(np.float32)))
    layer.inputs = list(layer.inputs) + [-1] * (3 - len(layer.inputs))
    for slot, new in ((1, w_new), (2, b_new)):
        old = layer.inputs[slot]
        if old >= 0:
            g.replace_input(layer, old, new)
        else:
            layer.inputs[slot] = new
            g.consumers[new].append(layer)
    layer.options = {**layer.options, _KEY: activation}
    last = absorbed[-1].outputs[0]
    for op in absorbed:
        g.remove(op)
    g.set_output(layer, layer.outputs[0], last)
