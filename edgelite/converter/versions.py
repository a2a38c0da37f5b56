"""Set ``OperatorCode.version`` from what each builtin op uses, as TensorFlow's converter does.

A TFLite runtime refuses an op whose version is above the highest it registers, and an
older runtime may run an op with a too-low version through a kernel that lacks the
feature (an int8 path, per-channel hybrid weights, keep_num_dims, ...). So each op gets
the lowest version that covers its signature: the dtypes of its inputs and outputs, its
tensors' ranks and quantization, and its options. The rules are in
:mod:`.version_rules`.

Like TensorFlow's converter, which keeps one ``OperatorCode`` per builtin for the whole
model, :func:`set_op_versions` by default gives every op of one builtin the highest
version any of them needs (so a hybrid model's float-weight convs share the hybrid
convs' version); ``shared=False`` leaves each op at its own minimum instead.
Custom ops keep the version they have.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..schema import ir
from ..schema import schema_generated as fb
from .version_rules import RULES, RUNTIME_MAX

_BUILTINS = frozenset(k for k in vars(fb.BuiltinOperator) if not k.startswith("_"))


@dataclass
class OpSignature:
    """What the version rules look at for one operator."""

    opcode: str
    inputs: list[ir.Tensor | None]       # None: an omitted optional input (-1)
    outputs: list[ir.Tensor | None]
    options: dict

    @classmethod
    def of(cls, op: ir.Operator, subgraph: ir.Subgraph) -> OpSignature:
        def look(indices: list[int]) -> list[ir.Tensor | None]:
            n = len(subgraph.tensors)
            return [subgraph.tensors[i] if 0 <= i < n else None for i in indices]
        return cls(op.opcode, look(op.inputs), look(op.outputs), op.options or {})

    @property
    def in_count(self) -> int:
        return len(self.inputs)

    def tensor(self, side: str, i: int) -> ir.Tensor | None:
        tensors = self.inputs if side == "in" else self.outputs
        return tensors[i] if 0 <= i < len(tensors) else None

    def in_type(self, i: int) -> str | None:
        return _type(self.tensor("in", i))

    def out_type(self, i: int) -> str | None:
        return _type(self.tensor("out", i))

    def in_shape(self, i: int) -> tuple[int, ...]:
        t = self.tensor("in", i)
        return () if t is None else t.shape

    def in_rank(self, i: int) -> int:
        return len(self.in_shape(i))

    def in_quant(self, i: int) -> ir.Quantization | None:
        t = self.tensor("in", i)
        return None if t is None else t.quantization

    def out_quant(self, i: int) -> ir.Quantization | None:
        t = self.tensor("out", i)
        return None if t is None else t.quantization


def _type(tensor: ir.Tensor | None) -> str | None:
    return None if tensor is None else tensor.tensor_type


def is_builtin(op: ir.Operator) -> bool:
    """True for a builtin op (the IR marks custom ops, or names them outside the enum)."""
    if op.custom is not None:
        return not op.custom
    return op.opcode in _BUILTINS


def op_version(sig: OpSignature) -> int:
    """The lowest version LiteRT's rules give a builtin op with this signature (capped
    where LiteRT's runtime registers less than its rules name)."""
    version = next((v for cond, v in RULES.get(sig.opcode, ()) if cond(sig)), 1)
    return min(version, RUNTIME_MAX.get(sig.opcode, version))


def set_op_versions(model: ir.Model, *, shared: bool = True) -> ir.Model:
    """In place: set every builtin op's ``version`` from its signature; returns ``model``.

    ``shared`` (the default, TensorFlow's behaviour) raises all ops of one builtin to
    the highest version among them, so each builtin is written as one ``OperatorCode``.
    """
    needed: list[tuple[ir.Operator, int]] = []
    for sg in model.subgraphs:
        for op in sg.operators:
            if is_builtin(op):
                needed.append((op, op_version(OpSignature.of(op, sg))))
    top: dict[str, int] = {}
    for op, version in needed:
        top[op.opcode] = max(top.get(op.opcode, 1), version)
    for op, version in needed:
        op.version = top[op.opcode] if shared else version
    return model
