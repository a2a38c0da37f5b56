"""Who produces and who consumes each tensor of a subgraph, for the rewriting passes.

A pass builds one :class:`GraphIndex` per subgraph, asks it whether a tensor is a
private link between two operators (``sole_consumer``), rewires through it, marks dropped
operators with ``remove`` and calls ``commit`` at the end. Tensors a pass orphans stay in
``Subgraph.tensors`` until ``remove_dead_code`` renumbers them away.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from ...schema import ir


class GraphIndex:
    def __init__(self, sg: ir.Subgraph) -> None:
        self.sg = sg
        self.producer: dict[int, ir.Operator] = {}
        self.consumers: dict[int, list[ir.Operator]] = defaultdict(list)
        self.pinned: set[int] = set(sg.inputs) | set(sg.outputs)   # graph I/O
        self._removed: set[int] = set()
        for op in sg.operators:
            for i in op.inputs:
                if i >= 0:
                    self.consumers[i].append(op)
            for i in op.outputs:
                self.producer[i] = op
            self.pinned.update(op.intermediates)

    def tensor(self, index: int) -> ir.Tensor:
        return self.sg.tensors[index]

    def live_operators(self) -> list[ir.Operator]:
        return [op for op in self.sg.operators if id(op) not in self._removed]

    def sole_consumer(self, index: int) -> ir.Operator | None:
        """The one operator reading ``index`` (once), when the tensor is not graph I/O,
        an intermediate or a variable; else None."""
        users = self.consumers.get(index, [])
        if index in self.pinned or len(users) != 1 or self.tensor(index).is_variable:
            return None
        return users[0]

    def constant(self, index: int) -> np.ndarray | None:
        """The data of a constant input, None if ``index`` is omitted or not constant."""
        if index < 0:
            return None
        t = self.tensor(index)
        return np.asarray(t.data) if t.is_constant else None

    def replace_input(self, op: ir.Operator, old: int, new: int) -> None:
        op.inputs = [new if i == old else i for i in op.inputs]
        self.consumers[old] = [c for c in self.consumers[old] if c is not op]
        self.consumers[new].append(op)

    def set_output(self, op: ir.Operator, old: int, new: int) -> None:
        """``op`` writes ``new`` instead of ``old``."""
        op.outputs = [new if i == old else i for i in op.outputs]
        self.producer.pop(old, None)
        self.producer[new] = op

    def remove(self, op: ir.Operator) -> None:
        self._removed.add(id(op))
        for i in op.inputs:
            if i >= 0:
                self.consumers[i] = [c for c in self.consumers[i] if c is not op]
        for i in op.outputs:
            if self.producer.get(i) is op:
                del self.producer[i]

    def add_tensor(self, tensor: ir.Tensor) -> int:
        names = {t.name for t in self.sg.tensors}
        base, k = tensor.name, 1
        while tensor.name in names:
            tensor.name = f"{base}_{k}"
            k += 1
        return self.sg.add_tensor(tensor)

    def commit(self) -> int:
        """Drop the removed operators from the subgraph; returns how many."""
        before = len(self.sg.operators)
        self.sg.operators = self.live_operators()
        return before - len(self.sg.operators)


def plain_float(t: ir.Tensor) -> bool:
    """float32 and not quantized, sparse or variable: the only tensors the float
    rewrites touch."""
    return (t.dtype == np.float32 and t.quantization is None and t.sparsity is None
            and not t.is_variable)


def dynamic(t: ir.Tensor) -> bool:
    """Whether the tensor has a dimension only known at run time."""
    return t.shape_signature is not None and any(d < 0 for d in t.shape_signature)


def same_quantization(a: ir.Quantization | None, b: ir.Quantization | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return (a.axis == b.axis and np.array_equal(a.scales, b.scales)
            and np.array_equal(a.zero_points, b.zero_points)
            and a.details_type == b.details_type and a.details == b.details)
