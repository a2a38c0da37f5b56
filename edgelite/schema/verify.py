"""``verify()``: the structural checks a hostile or buggy model could break.

Run by :func:`read` on every file and usable on IR built in memory before it is written
or prepared. Each failure raises :class:`SchemaError` naming the subgraph, operator and
tensor at fault. Byte-level soundness of a file is checked earlier, by
``wire_verifier``.
"""

from __future__ import annotations

import numpy as np

from . import ir
from .errors import SchemaError


def verify(model_or_bytes) -> None:
    """Raise :class:`SchemaError` if the model (IR or ``.tflite`` bytes/path) is malformed."""
    if not isinstance(model_or_bytes, ir.Model):
        from .reader import read  # read() verifies

        read(model_or_bytes)
        return
    model = model_or_bytes
    if not model.subgraphs:
        raise SchemaError("model has no subgraphs")
    for s, sg in enumerate(model.subgraphs):
        where = f"subgraph {s}"
        for t, tensor in enumerate(sg.tensors):
            _check_tensor(tensor, f"{where}, tensor {t} ({tensor.name!r})")
        n = len(sg.tensors)
        for kind, indices in (("input", sg.inputs), ("output", sg.outputs)):
            for i in indices:
                if not 0 <= i < n:
                    raise SchemaError(f"{where}: {kind} tensor index {i} is out of range "
                                      f"({n} tensors)")
        _check_operators(model, s, sg)
    for sig in model.signature_defs:
        where = f"signature {sig.key!r}"
        if not 0 <= sig.subgraph_index < len(model.subgraphs):
            raise SchemaError(f"{where}: subgraph_index {sig.subgraph_index} is out of range "
                              f"({len(model.subgraphs)} subgraphs)")
        n = len(model.subgraphs[sig.subgraph_index].tensors)
        for name, i in {**sig.inputs, **sig.outputs}.items():
            if not 0 <= i < n:
                raise SchemaError(f"{where}: tensor {name!r} has index {i}, out of range "
                                  f"({n} tensors)")


def _check_tensor(tensor: ir.Tensor, where: str) -> None:
    if any(d < 0 for d in tensor.shape):
        raise SchemaError(f"{where}: negative dimension in shape {list(tensor.shape)}")
    sig = tensor.shape_signature
    if sig is not None and (len(sig) != len(tensor.shape) or any(d < -1 for d in sig)):
        raise SchemaError(f"{where}: shape_signature {list(sig)} does not fit shape "
                          f"{list(tensor.shape)}")
    q = tensor.quantization
    if q is not None and len(q.scales):
        if len(q.zero_points) not in (0, len(q.scales)):
            raise SchemaError(f"{where}: {len(q.scales)} scales but {len(q.zero_points)} "
                              f"zero points")
        if len(q.scales) > 1:
            if not 0 <= q.axis < max(len(tensor.shape), 1):
                raise SchemaError(f"{where}: quantized_dimension {q.axis} is out of range for "
                                  f"shape {list(tensor.shape)}")
            if tensor.shape and tensor.shape[q.axis] != len(q.scales):
                raise SchemaError(f"{where}: {len(q.scales)} per-channel scales but dimension "
                                  f"{q.axis} has size {tensor.shape[q.axis]}")
    if tensor.data is not None and tensor.sparsity is None:
        need = ir.expected_nbytes(tensor.tensor_type, tensor.shape)
        if need is not None and np.asarray(tensor.data).nbytes != need:
            raise SchemaError(f"{where}: data holds {np.asarray(tensor.data).nbytes} bytes but "
                              f"shape {list(tensor.shape)} of {tensor.tensor_type} needs {need}")


def _check_operators(model: ir.Model, s: int, sg: ir.Subgraph) -> None:
    n = len(sg.tensors)
    producer: dict[int, int] = {}
    for o, op in enumerate(sg.operators):
        where = f"subgraph {s}, operator {o} ({op.opcode})"
        for kind, indices, optional in (("input", op.inputs, True),
                                        ("output", op.outputs, False),
                                        ("intermediate", op.intermediates, False)):
            for i in indices:
                if (optional and i == -1) or 0 <= i < n:
                    continue
                raise SchemaError(f"{where}: {kind} tensor index {i} is out of range "
                                  f"({n} tensors)")
        for i in op.outputs:
            if i in producer:
                raise SchemaError(f"{where}: output tensor {i} ({sg.tensors[i].name!r}) is "
                                  f"already written by operator {producer[i]}")
            producer[i] = o
        for key, value in op.options.items():
            if "subgraph" in key:
                _check_subgraph_refs(model, where, key, value)
    for o, op in enumerate(sg.operators):
        for i in op.inputs:
            if producer.get(i, -1) >= o:
                raise SchemaError(
                    f"subgraph {s}, operator {o} ({op.opcode}): reads tensor {i} "
                    f"({sg.tensors[i].name!r}) before operator {producer[i]} writes it "
                    f"(operators are out of order or form a cycle)")


def _check_subgraph_refs(model: ir.Model, where: str, key: str, value) -> None:
    for index in (value if isinstance(value, list) else [value]):
        if not 0 <= int(index) < len(model.subgraphs):
            raise SchemaError(f"{where}: {key} {index} is out of range "
                              f"({len(model.subgraphs)} subgraphs)")
