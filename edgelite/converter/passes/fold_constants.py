"""Constant folding: an operator whose inputs are all constants is run once, by
edgelite's own kernels (a one-operator model in the interpreter), and its outputs become
constants.

Skipped: custom ops, ops with state or effects (variables, control flow, random
numbers), outputs that are graph outputs (TFLite files keep those computed), and results
larger than ``MAX_FOLDED_BYTES`` (a folded TILE or BROADCAST_TO could blow the file up).
An op the kernels refuse is left as it is: the interpreter will report it at prepare.
"""

from __future__ import annotations

import numpy as np

from ...schema import ir, write

MAX_FOLDED_BYTES = 1 << 22

_NEVER = frozenset({
    "WHILE", "IF", "CALL_ONCE", "VAR_HANDLE", "READ_VARIABLE", "ASSIGN_VARIABLE",
    "RANDOM_UNIFORM", "RANDOM_STANDARD_NORMAL", "MULTINOMIAL", "HASHTABLE",
    "HASHTABLE_FIND", "HASHTABLE_IMPORT", "HASHTABLE_SIZE", "UNIDIRECTIONAL_SEQUENCE_LSTM",
    "BIDIRECTIONAL_SEQUENCE_LSTM", "UNIDIRECTIONAL_SEQUENCE_RNN", "LSTM", "RNN",
    "BIDIRECTIONAL_SEQUENCE_RNN", "SVDF",
})


def _foldable(sg: ir.Subgraph, op: ir.Operator, outputs: set) -> bool:
    if op.custom or op.opcode in _NEVER or not op.outputs:
        return False
    if any(o in outputs for o in op.outputs):
        return False
    ins = [i for i in op.inputs if i >= 0]
    return bool(ins) and all(sg.tensors[i].is_constant for i in ins)


def _evaluate(sg: ir.Subgraph, op: ir.Operator) -> list[np.ndarray] | None:
    """The op's outputs computed by edgelite's kernels, or None if they refuse."""
    from ...interpreter import Interpreter

    one = ir.Subgraph(name="fold")
    remap = {}
    for i in op.inputs:
        if i >= 0 and i not in remap:
            t = sg.tensors[i]
            remap[i] = one.add_tensor(ir.Tensor(t.name, t.shape, t.dtype, data=t.data,
                                                quantization=t.quantization))
    outs = []
    for o in op.outputs:
        t = sg.tensors[o]
        outs.append(one.add_tensor(ir.Tensor(t.name, t.shape, t.dtype,
                                             quantization=t.quantization)))
    one.operators = [ir.Operator(op.opcode, [remap.get(i, -1) for i in op.inputs], outs,
                                 options=dict(op.options), version=op.version,
                                 options_type=op.options_type)]
    one.outputs = outs
    try:
        interp = Interpreter(model_content=write(ir.Model([one])))
        interp.allocate_tensors()
        interp.invoke()
        return [np.array(interp.get_tensor(o)) for o in outs]
    except Exception:   # noqa: BLE001 - any refusal just means "do not fold"
        return None


def fold_constants(model: ir.Model) -> ir.Model:
    """Fold every foldable operator of every subgraph, in order (so chains fold)."""
    for sg in model.subgraphs:
        outputs = set(sg.outputs)
        kept = []
        for op in sg.operators:
            values = _evaluate(sg, op) if _foldable(sg, op, outputs) else None
            if values is None or sum(v.nbytes for v in values) > MAX_FOLDED_BYTES:
                kept.append(op)
                continue
            for o, v in zip(op.outputs, values):
                t = sg.tensors[o]
                sg.tensors[o] = ir.Tensor(t.name, tuple(v.shape), v.dtype, data=v,
                                          quantization=t.quantization)
        sg.operators = kept
    return model
