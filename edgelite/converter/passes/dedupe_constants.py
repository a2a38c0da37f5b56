"""Merge constant tensors that hold the same bytes (common-subexpression elimination for
constants).

Two constants are the same when their TFLite type, shape, shape signature, data bytes
and quantization agree and neither is sparse; every operator input naming a later copy
then names the first. Graph inputs, outputs and intermediates keep their own tensor.
The writer already shares equal buffers; this also removes the duplicate tensors.
"""

from __future__ import annotations

import hashlib

import numpy as np

from ...schema import ir
from .graph_index import same_quantization


def dedupe_constants(model: ir.Model) -> ir.Model:
    """In place: point every reader of a duplicate constant at its first copy; the copies
    become orphans for ``remove_dead_code``. Returns ``model``."""
    for sg in model.subgraphs:
        _dedupe(sg)
    return model


def _key(t: ir.Tensor) -> tuple:
    data = np.ascontiguousarray(t.data)
    return (t.tensor_type, t.shape, t.shape_signature, data.shape,
            hashlib.sha1(data.tobytes()).hexdigest())


def _same(a: ir.Tensor, b: ir.Tensor) -> bool:
    return (same_quantization(a.quantization, b.quantization)
            and np.ascontiguousarray(a.data).tobytes() == np.ascontiguousarray(b.data).tobytes())


def _dedupe(sg: ir.Subgraph) -> None:
    pinned = set(sg.inputs) | set(sg.outputs)
    for op in sg.operators:
        pinned.update(op.intermediates)
    first: dict[tuple, list[int]] = {}
    remap: dict[int, int] = {}
    for index, t in enumerate(sg.tensors):
        if not t.is_constant or t.sparsity is not None or index in pinned or \
                t.dtype.kind == "O":
            continue
        candidates = first.setdefault(_key(t), [])
        keep = next((c for c in candidates if _same(sg.tensors[c], t)), None)
        if keep is None:
            candidates.append(index)
        else:
            remap[index] = keep
    if remap:
        for op in sg.operators:
            op.inputs = [remap.get(i, i) for i in op.inputs]
