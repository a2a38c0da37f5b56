"""The kernel contract: ``prepare(ctx) -> run``, then ``run(ins, outs, scratch)`` per invoke.

prepare (called by ``Interpreter.allocate_tensors``, once per shape change):
  * reads the op's options and its inputs' shapes, dtypes, quantization and, where the
    value is known before invoke (constants, or outputs of ops folded at prepare), data;
  * checks arity/dtypes (``raise ctx.error("...")``);
  * sets every output's shape (and dtype if the model's is unknown) with ``ctx.set_output``;
  * precomputes everything eval needs (repacked weights, multipliers, activation bounds)
    and requests scratch buffers with ``ctx.scratch(shape, dtype)`` (arena-planned, live
    only during this op);
  * returns ``run``.

run(ins, outs, scratch) (called by ``invoke``):
  * ``ins``/``outs`` are numpy arrays (views into the arena, or constant views of the
    file) in the op's input/output order, ``None`` for an omitted optional input;
    ``scratch`` is the list of requested scratch arrays, in request order;
  * writes results into ``outs`` in place and allocates nothing (``out=`` ufuncs, numba
    ``@njit(cache=True)`` loops). It never re-parses options or re-checks shapes.
  * Dynamic outputs (shape depends on input *values* that are not known at prepare:
    e.g. WHERE, NON_MAX_SUPPRESSION): prepare calls ``ctx.set_output_dynamic(i)``; run
    receives ``outs[i] is None`` and must store a new array in ``outs[i]``.

Kernels register in their module's ``KERNELS`` table (``{"ADD": KernelDef(prepare, 5)}``),
collected by :mod:`edgelite.kernels.registry`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np

from ..schema import ir

Run = Callable[[list, list, list], None]
# A Run may carry ``run.bind(ins, outs, scratch)``: the executor calls it once, when it has
# placed the arena (before ``allocate_tensors`` returns), so that the kernel can make its
# views and reshapes of those arrays there rather than on every invoke. ``run`` must still
# work on other arrays (a step prepared at invoke time gets fresh ones): it rebinds when
# ``outs[0]`` is not the array it bound.


def with_views(make: Callable[[list, list, list], tuple], body: Callable[..., None]) -> Run:
    """A Run calling ``body(*make(ins, outs, scratch))``, with ``make`` (reshapes, views:
    per-invoke Python work) run when the executor binds the arena (``Run.bind``) and
    again only when the step is given other lists of arrays (a step prepared at invoke
    time gets new ones each call)."""
    state: list = [None, None, ()]

    def bind(ins, outs, scratch):
        state[:] = [ins, outs, make(ins, outs, scratch)]

    def run(ins, outs, scratch):
        if state[0] is not ins or state[1] is not outs:
            bind(ins, outs, scratch)
        body(*state[2])
    run.bind = bind
    return run


class PrepareError(RuntimeError):
    """An op cannot be prepared; the message names the op index and name."""


@dataclass
class TensorSpec:
    """What prepare knows about one tensor."""

    index: int
    name: str
    shape: tuple[int, ...]
    dtype: np.dtype
    quantization: Optional[ir.Quantization] = None
    data: Optional[np.ndarray] = None     # value known before invoke (constant / folded)
    dynamic: bool = False                 # shape only known after the producer runs
    sparsity: Optional[ir.Sparsity] = None   # set on sparse constants (DENSIFY's input)

    @property
    def is_const(self) -> bool:
        return self.data is not None

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    @property
    def scale(self) -> float:
        return float(self.quantization.scales[0]) if self.quantization is not None \
            and len(self.quantization.scales) else 0.0

    @property
    def zero_point(self) -> int:
        q = self.quantization
        return int(q.zero_points[0]) if q is not None and len(q.zero_points) else 0


@dataclass(frozen=True)
class KernelDef:
    prepare: Callable[["PrepareContext"], Run]
    max_version: int = 1        # accepts op versions 1..max_version
    pure: bool = True           # output depends only on inputs (foldable when all known)


class PrepareContext:
    """Handed to ``prepare``; the interpreter builds one per op (see the module doc)."""

    def __init__(self, op: ir.Operator, op_index: int, inputs: list, outputs: list,
                 num_threads: int = 1, subgraph_index: int = 0, services=None) -> None:
        self.op = op
        self.op_index = op_index
        self.subgraph_index = subgraph_index
        self.inputs: list[Optional[TensorSpec]] = inputs
        self.outputs: list[TensorSpec] = outputs
        self.num_threads = num_threads
        self.scratch_requests: list[tuple[tuple[int, ...], np.dtype]] = []
        self.dynamic_outputs: set[int] = set()
        self.services = services   # interpreter hooks for control flow / resources

    @property
    def opcode(self) -> str:
        return self.op.opcode

    @property
    def options(self) -> dict:
        return self.op.options

    def error(self, message: str) -> PrepareError:
        return PrepareError(f"operator {self.op_index} ({self.op.opcode}): {message}")

    def check(self, condition: bool, message: str) -> None:
        if not condition:
            raise self.error(message)

    def input(self, i: int) -> Optional[TensorSpec]:
        """Input ``i``, or None if it is omitted (-1) or past the op's input count."""
        return self.inputs[i] if i < len(self.inputs) else None

    def broadcast(self, *specs: "TensorSpec") -> tuple[int, ...]:
        """The broadcast shape of the given inputs, or an error naming their shapes."""
        try:
            return tuple(np.broadcast_shapes(*(s.shape for s in specs)))
        except ValueError:
            shapes = " and ".join(str(list(s.shape)) for s in specs)
            raise self.error(f"shapes {shapes} do not broadcast") from None

    def set_output(self, i: int, shape, dtype=None) -> None:
        spec = self.outputs[i]
        spec.shape = tuple(int(d) for d in shape)
        if any(d < 0 for d in spec.shape):
            raise self.error(f"computed a negative output shape {list(spec.shape)}")
        if dtype is not None:
            spec.dtype = np.dtype(dtype)

    def set_output_dynamic(self, i: int, dtype=None) -> None:
        self.dynamic_outputs.add(i)
        self.outputs[i].dynamic = True
        if dtype is not None:
            self.outputs[i].dtype = np.dtype(dtype)

    def scratch(self, shape, dtype) -> int:
        self.scratch_requests.append((tuple(int(d) for d in shape), np.dtype(dtype)))
        return len(self.scratch_requests) - 1
