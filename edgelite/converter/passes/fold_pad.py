"""Fold an explicit zero PAD into the SAME padding of the convolution it feeds.

TFLite's convolutions have no explicit pads, only SAME and VALID, so the frontend puts a
PAD in front of a VALID conv when the ONNX pads are not SAME's for the input size (e.g. a
separate ONNX Pad node). When the PAD adds exactly SAME's amounts for the conv's input
size, kernel, stride and dilation (TFLite splits the total as ``total // 2`` before and
the rest after), ``PAD -> CONV(VALID)`` is ``CONV(SAME)``.

Not for MAX_POOL_2D / AVERAGE_POOL_2D: their SAME windows skip the border (max over the
real cells, average over the real count) instead of reading zeros.
"""

from __future__ import annotations

import numpy as np

from ...schema import ir
from .graph_index import GraphIndex, dynamic, plain_float

_CONVS = ("CONV_2D", "DEPTHWISE_CONV_2D")


def fold_pads(model: ir.Model) -> ir.Model:
    """In place: fold eligible PAD / zero PADV2 ops into conv padding; returns ``model``."""
    for sg in model.subgraphs:
        g = GraphIndex(sg)
        for pad in sg.operators:
            match = _match(g, pad)
            if match is None:
                continue
            conv, transpose = match
            x, t = pad.inputs[0], pad.outputs[0]
            if transpose is not None:     # PAD -> TRANSPOSE -> conv: transpose x itself
                perm = g.constant(transpose.inputs[1]).reshape(-1)
                moved = g.tensor(transpose.outputs[0])
                moved.shape = tuple(g.tensor(x).shape[int(p)] for p in perm)
                if moved.shape_signature is not None:
                    moved.shape_signature = moved.shape
                g.replace_input(transpose, t, x)
            else:
                g.replace_input(conv, t, x)
            conv.options = {**conv.options, "padding": "SAME"}
            g.remove(pad)
        g.commit()
    return model


def same_pads(size: int, kernel: int, stride: int, dilation: int) -> tuple[int, int]:
    """(before, after) that TFLite's SAME padding adds along one spatial axis."""
    out = -(-size // stride)
    total = max((out - 1) * stride + (kernel - 1) * dilation + 1 - size, 0)
    return total // 2, total - total // 2


def _zero_pad_widths(g: GraphIndex, pad: ir.Operator) -> np.ndarray | None:
    if pad.opcode == "PADV2":
        value = g.constant(pad.inputs[2]) if len(pad.inputs) > 2 else None
        if value is None or value.size != 1 or value.reshape(-1)[0] != 0 or \
                np.signbit(value.reshape(-1)[0]):
            return None
    elif pad.opcode != "PAD":
        return None
    if len(pad.inputs) < 2 or len(pad.outputs) != 1:
        return None
    widths = g.constant(pad.inputs[1])
    return None if widths is None or widths.shape != (4, 2) else widths.astype(np.int64)


def _match(g: GraphIndex, pad: ir.Operator
           ) -> tuple[ir.Operator, ir.Operator | None] | None:
    """(conv, transpose between or None) that ``pad`` can fold into, or None."""
    if pad.custom or pad.opcode not in ("PAD", "PADV2"):
        return None
    widths = _zero_pad_widths(g, pad)
    if widths is None or pad.inputs[0] < 0:
        return None
    x, t = g.tensor(pad.inputs[0]), g.tensor(pad.outputs[0])
    if not (plain_float(x) and plain_float(t)) or dynamic(x) or \
            len(x.shape) != 4:
        return None
    shape, transpose = x.shape, None
    reader = g.sole_consumer(pad.outputs[0])
    if reader is not None and reader.opcode == "TRANSPOSE" and len(reader.inputs) == 2 and \
            reader.inputs[0] == pad.outputs[0] and not reader.custom:
        # the frontend's NCHW -> NHWC between an ONNX Pad and a Conv
        perm = g.constant(reader.inputs[1])
        if perm is None or sorted(perm.reshape(-1).tolist()) != [0, 1, 2, 3]:
            return None
        perm = [int(p) for p in perm.reshape(-1)]
        widths, shape = widths[perm], tuple(x.shape[p] for p in perm)
        transpose, reader = reader, g.sole_consumer(reader.outputs[0])
    if reader is None or reader.opcode not in _CONVS or reader.custom or \
            len(reader.inputs) < 2 or reader.inputs[1] < 0 or reader.options_type is not None or \
            g.producer.get(reader.inputs[0]) is not (transpose or pad) or \
            not isinstance(reader.options, dict) or reader.options.get("padding") != "VALID":
        return None
    if widths[0].any() or widths[3].any() or not _same_for(g, reader, shape, widths):
        return None
    return reader, transpose


def _same_for(g: GraphIndex, conv: ir.Operator, shape: tuple, widths: np.ndarray) -> bool:
    """Whether ``widths`` are SAME's pads for ``conv`` on an NHWC input of ``shape``."""
    o = conv.options
    kernel = g.tensor(conv.inputs[1]).shape[1:3]     # OHWI and 1HWO alike
    if len(kernel) != 2:
        return False
    strides = (int(o.get("stride_h", 1)), int(o.get("stride_w", 1)))
    dilations = (int(o.get("dilation_h_factor", 1)), int(o.get("dilation_w_factor", 1)))
    if min(strides + dilations) < 1:
        return False          # malformed: left for the kernel to report
    for axis in (0, 1):
        want = same_pads(shape[1 + axis], kernel[axis], strides[axis], dilations[axis])
        if tuple(int(v) for v in widths[1 + axis]) != want:
            return False
    out = g.tensor(conv.outputs[0]).shape
    return tuple(out[1:3]) == tuple(-(-shape[1 + a] // strides[a]) for a in (0, 1))
