"""Dead-code removal: drop operators whose outputs reach no graph output, and tensors
no operator or graph I/O refers to (renumbering the rest)."""

from __future__ import annotations

from ...schema import ir


def remove_dead_code(model: ir.Model) -> ir.Model:
    for sg in model.subgraphs:
        _prune(sg)
    return model


def _prune(sg: ir.Subgraph) -> None:
    needed = set(sg.outputs)
    kept = []
    for op in reversed(sg.operators):
        if any(o in needed for o in op.outputs) or op.opcode in ("ASSIGN_VARIABLE",
                                                                   "CALL_ONCE"):
            kept.append(op)
            needed.update(i for i in op.inputs if i >= 0)
            needed.update(op.intermediates)
    sg.operators = kept[::-1]
    used = set(sg.inputs) | set(sg.outputs)
    for op in sg.operators:
        used.update(i for i in op.inputs if i >= 0)
        used.update(op.outputs)
        used.update(op.intermediates)
    order = sorted(used)
    remap = {old: new for new, old in enumerate(order)}
    sg.tensors = [sg.tensors[i] for i in order]
    for op in sg.operators:
        op.inputs = [remap[i] if i >= 0 else -1 for i in op.inputs]
        op.outputs = [remap[i] for i in op.outputs]
        op.intermediates = [remap[i] for i in op.intermediates]
    sg.inputs = [remap[i] for i in sg.inputs]
    sg.outputs = [remap[i] for i in sg.outputs]
