"""Fold a constant per-input-channel scale into the weights of the layer after it.

    MUL(x, s) -> CONV_2D(W)      becomes      CONV_2D(W * s)

(Keras' ``Rescaling(1/255)`` in front of the stem convolution, for example.) Exact for
zero padding too: a padded zero scaled is still zero. Only MUL (an ADD in front of a
padded convolution would change the border), only when the MUL's output feeds nothing
else, its constant varies along the channel (last) axis at most, and the layer has
constant float32 weights: CONV_2D (OHWI: input axis 3), DEPTHWISE_CONV_2D (1HW(C*M):
each input channel owns M consecutive outputs) and FULLY_CONNECTED (OI: axis 1).
"""

from __future__ import annotations

import numpy as np

from ...schema import ir
from .graph_index import GraphIndex, plain_float

_LAYERS = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED")


def fold_input_scales(model: ir.Model) -> ir.Model:
    """In place: fold each eligible MUL into its consumer's weights; returns ``model``."""
    for sg in model.subgraphs:
        g = GraphIndex(sg)
        for op in list(sg.operators):
            _try_fold(g, op)
        g.commit()
    return model


def _scale(g: GraphIndex, mul: ir.Operator) -> tuple[int, np.ndarray] | None:
    """(the scaled input, the per-channel scale) of a MUL by a channel constant."""
    if mul.opcode != "MUL" or len(mul.inputs) != 2 or len(mul.outputs) != 1 or mul.custom \
            or (mul.options or {}).get("fused_activation_function", "NONE") != "NONE":
        return None
    out = g.tensor(mul.outputs[0])
    for x, c in ((mul.inputs[0], mul.inputs[1]), (mul.inputs[1], mul.inputs[0])):
        data = g.constant(c)
        if data is None or g.constant(x) is not None or not plain_float(g.tensor(c)):
            continue
        if g.tensor(x).shape != out.shape or not out.shape or not plain_float(out):
            return None
        n = out.shape[-1]
        if data.ndim > len(out.shape) or any(d != 1 for d in data.shape[:-1]) or \
                (data.shape and data.shape[-1] not in (1, n)):
            return None
        return x, np.broadcast_to(np.asarray(data, np.float64).reshape(-1), (n,))
    return None


def _try_fold(g: GraphIndex, mul: ir.Operator) -> None:
    found = _scale(g, mul)
    if found is None:
        return
    x, s = found
    layer = g.sole_consumer(mul.outputs[0])
    if layer is None or layer.opcode not in _LAYERS or not layer.inputs or \
            layer.inputs[0] != mul.outputs[0] or mul.outputs[0] in layer.inputs[1:]:
        return
    w_t = g.tensor(layer.inputs[1]) if len(layer.inputs) > 1 and layer.inputs[1] >= 0 \
        else None
    if w_t is None or not (w_t.is_constant and plain_float(w_t)):
        return
    w = np.asarray(w_t.data, np.float64)
    if layer.opcode == "CONV_2D" and w.ndim == 4 and w.shape[3] == s.size:
        w = w * s.reshape(1, 1, 1, -1)
    elif layer.opcode == "DEPTHWISE_CONV_2D" and w.ndim == 4 and w.shape[3] % s.size == 0:
        w = w * np.repeat(s, w.shape[3] // s.size).reshape(1, 1, 1, -1)
    elif layer.opcode == "FULLY_CONNECTED" and w.ndim == 2 and w.shape[1] == s.size:
        w = w * s.reshape(1, -1)
    else:
        return
    new = g.add_tensor(ir.Tensor(w_t.name + "_scaled", w_t.shape, np.float32,
                                 data=w.astype(np.float32)))
    g.replace_input(layer, layer.inputs[1], new)
    g.replace_input(layer, mul.outputs[0], x)
    g.remove(mul)
