"""Delegates: let another backend run subsets of a subgraph's operators.

A delegate says which prepared operators it can run (``supports``); the interpreter
cuts the execution plan into maximal runs of consecutive supported operators (each run
is a valid node subset: consecutive ops in execution order cannot form a cycle with the
rest of the graph) and replaces each run by one step whose kernel the delegate builds
in ``prepare_partition``. Tensors produced and consumed only inside a run never reach
the arena: the delegate keeps them (e.g. on the GPU).

    class MyDelegate(Delegate):
        name = "mine"
        def supports(self, op, inputs, outputs): return op.opcode == "ADD"
        def prepare_partition(self, partition):
            ...   # compile partition.ops
            def run(ins, outs, scratch): ...
            return run

    Interpreter(model_path=..., experimental_delegates=[MyDelegate()])
"""

from __future__ import annotations

from dataclasses import dataclass

from ..kernels.api import TensorSpec
from ..schema import ir


@dataclass
class Partition:
    ops: list[tuple[int, ir.Operator]]   # (op index, operator) in execution order
    inputs: list[int]                    # tensor indices the partition reads from outside
    outputs: list[int]                   # tensor indices it must hand back
    specs: list[TensorSpec]              # every tensor's prepared spec (shapes, constants)


class Delegate:
    name = "delegate"

    def supports(self, op: ir.Operator, inputs: list, outputs: list) -> bool:
        raise NotImplementedError

    def prepare_partition(self, partition: Partition):
        raise NotImplementedError


def _gpu(**options):
    from ..delegates.gpu import GpuDelegate  # imports wgpu only when asked for
    return GpuDelegate(**options)


_LOADABLE: dict[str, object] = {"gpu": _gpu}


def load_delegate(library, options=None):
    """LiteRT's ``load_delegate``: here ``library`` names a built-in delegate."""
    factory = _LOADABLE.get(str(library))
    if factory is None:
        raise ValueError(f"Failed to load delegate from {library}\n"
                         f"edgelite delegates: {sorted(_LOADABLE) or 'none yet'}")
    return factory(**(options or {}))


def apply_delegate(delegate: Delegate, executor, steps: list) -> tuple[list, int]:
    """Replace runs of supported steps by delegate steps; returns (steps, ops claimed)."""
    from .executor import Step

    ops = executor.sg.operators
    specs = executor.specs

    def claimable(step) -> bool:
        if step.lazy is not None or step.dynamic:
            return False
        op = ops[step.op_index]
        return bool(delegate.supports(op, [specs[i] if i >= 0 else None for i in op.inputs],
                                      [specs[i] for i in op.outputs]))

    runs, current = [], []
    for step in steps:
        if claimable(step):
            current.append(step)
        else:
            if current:
                runs.append(current)
            runs.append(step)
            current = []
    if current:
        runs.append(current)
    result, claimed = [], 0
    for pos, item in enumerate(runs):
        if not isinstance(item, list):
            result.append(item)
            continue
        later_reads = {t for other in runs[pos + 1:]
                       for s in (other if isinstance(other, list) else [other])
                       for t in s.tensor_ins}
        produced = [t for s in item for t in s.tensor_outs]
        inputs = []
        for s in item:
            for t in s.tensor_ins:
                if t >= 0 and t not in produced and t not in inputs:
                    inputs.append(t)
        outputs = [t for t in produced if t in later_reads or t in executor.sg.outputs]
        partition = Partition([(s.op_index, ops[s.op_index]) for s in item], inputs, outputs,
                              specs)
        run = delegate.prepare_partition(partition)
        result.append(Step(item[0].op_index, run, [], [], tensor_ins=inputs,
                           tensor_outs=outputs, name=f"DELEGATE:{delegate.name}"))
        claimed += len(item)
    return result, claimed
