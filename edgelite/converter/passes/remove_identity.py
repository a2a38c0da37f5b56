"""Remove operators that return their input unchanged, rewiring their readers.

Identities recognised (the output always has the input's shape, dtype and quantization):
RESHAPE / SQUEEZE / BROADCAST_TO to the same shape, TRANSPOSE by the identity perm or by
the inverse of the TRANSPOSE that produced its input (the frontend's NCHW <-> NHWC round
trips around a removed identity), CAST to the same dtype, PAD / PADV2 / MIRROR_PAD of
zero widths, SLICE / STRIDED_SLICE of everything, TILE by ones, a one-input
CONCATENATION and MUL by a constant of ones (``x * 1`` is exact, even for -0, inf, NaN;
``x + 0`` is not: ``-0 + 0 == +0``).

Rewiring ``x -> IDENTITY -> y``: readers of ``y`` read ``x`` instead. When ``y`` is a
graph output, ``x``'s producer writes ``y`` instead (so the output keeps its name); that
needs ``x`` to come from an operator and not be graph I/O itself; otherwise (e.g. the
copy the frontend makes when a graph input is also an output) the op stays.
"""

from __future__ import annotations

import numpy as np

from ...schema import ir
from .graph_index import GraphIndex, dynamic, same_quantization

_SAME_SHAPE = {"RESHAPE", "SQUEEZE", "BROADCAST_TO"}
_ZERO_WIDTHS = {"PAD", "PADV2", "MIRROR_PAD"}


def remove_identities(model: ir.Model) -> ir.Model:
    """In place: drop identity operators where rewiring keeps every graph output;
    returns ``model``."""
    for sg in model.subgraphs:
        g = GraphIndex(sg)
        for op in sg.operators:
            source = _source(g, op)
            if source is not None:
                _bypass(g, op, source)
        g.commit()
    return model


def _source(g: GraphIndex, op: ir.Operator) -> int | None:
    """The tensor ``op``'s output always equals (its input, or the input of a TRANSPOSE
    it undoes), or None."""
    if op.custom or len(op.outputs) != 1 or not op.inputs or op.inputs[0] < 0 or \
            not isinstance(op.options, dict):
        return None
    source = _identity_source(g, op)
    if source is None:
        return None
    x, y = g.tensor(source), g.tensor(op.outputs[0])
    if x.shape != y.shape or x.tensor_type != y.tensor_type or dynamic(x) or dynamic(y) or \
            x.is_constant or x.is_variable or y.is_variable or \
            not same_quantization(x.quantization, y.quantization):
        return None
    return source


def _identity_source(g: GraphIndex, op: ir.Operator) -> int | None:
    code, const, x = op.opcode, g.constant, op.inputs[0]
    second = const(op.inputs[1]) if len(op.inputs) > 1 else None
    if code == "TRANSPOSE":
        return None if second is None else _transpose_source(g, op, second)
    if code in _SAME_SHAPE or code == "CAST":
        same = True
    elif code in _ZERO_WIDTHS or code == "SLICE":
        same = second is not None and not second.any()
    elif code == "TILE":
        same = second is not None and bool(np.all(second == 1))
    elif code == "STRIDED_SLICE":
        same = _strided_identity(g, op)
    elif code == "CONCATENATION":
        same = len(op.inputs) == 1 and _no_activation(op)
    elif code == "MUL":
        same = len(op.inputs) == 2 and second is not None and bool(np.all(second == 1)) \
            and _no_activation(op)
    else:
        same = False
    return x if same else None


def _no_activation(op: ir.Operator) -> bool:
    return op.options.get("fused_activation_function", "NONE") == "NONE"


def _transpose_source(g: GraphIndex, op: ir.Operator, perm: np.ndarray) -> int | None:
    perm = [int(p) for p in perm.reshape(-1)]
    if sorted(perm) != list(range(len(perm))):
        return None          # malformed: left for the kernel to report
    if perm == list(range(len(perm))):
        return op.inputs[0]
    # TRANSPOSE(TRANSPOSE(z, p1), p2) == z when p1[p2[i]] == i
    first = g.producer.get(op.inputs[0])
    if first is None or first.opcode != "TRANSPOSE" or first.custom or len(first.inputs) < 2:
        return None
    p1 = g.constant(first.inputs[1])
    if p1 is None or p1.size != len(perm):
        return None
    p1 = [int(p) for p in p1.reshape(-1)]
    if sorted(p1) != list(range(len(p1))):
        return None
    return first.inputs[0] if all(p1[p] == i for i, p in enumerate(perm)) else None


def _strided_identity(g: GraphIndex, op: ir.Operator) -> bool:
    if len(op.inputs) < 4:
        return False
    begin, strides = g.constant(op.inputs[1]), g.constant(op.inputs[3])
    o = op.options
    masks = ("ellipsis_mask", "new_axis_mask", "shrink_axis_mask")
    return (begin is not None and strides is not None and not begin.any()
            and bool(np.all(strides == 1)) and not any(o.get(m, 0) for m in masks))


def _bypass(g: GraphIndex, op: ir.Operator, x: int) -> None:
    y = op.outputs[0]
    if y in g.sg.outputs:
        producer = g.producer.get(x)
        if producer is None or x in g.pinned or y in op.intermediates:
            return
        g.remove(op)
        for reader in list(g.consumers.get(x, [])):
            g.replace_input(reader, x, y)
        g.set_output(producer, x, y)
        return
    g.remove(op)
    for reader in list(g.consumers.get(y, [])):
        g.replace_input(reader, y, x)
