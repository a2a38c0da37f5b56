"""One subgraph, prepared: shapes, kernels, folded constants, memory plan, steps.

``prepare()`` (from ``allocate_tensors``) walks the operators in order:

1. builds each tensor's :class:`TensorSpec` (model shape or the resized input shape);
2. resolves and prepares each op's kernel, which sets its outputs' shapes;
3. folds an op whose inputs are all known (constants, or folded outputs) by running it
   once now: its outputs become constants and it leaves the plan (this is how float16
   and int8 weight DEQUANTIZEs and shape arithmetic disappear);
4. lets delegates claim runs of ops (see ``delegate.py``);
5. plans the arena (``planner.py``) for every remaining non-constant tensor and scratch
   buffer, and binds each step's input/output/scratch arrays as views into it.

An op whose input shape is only known at run time (after a kernel with a dynamic output)
is prepared lazily during ``invoke`` and its outputs are ordinary arrays.
``invoke()`` then calls one ``run`` per step and allocates nothing on the static path.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..kernels.api import KernelDef, PrepareContext, PrepareError, TensorSpec
from ..schema import ir
from . import planner

_RESOURCE_TYPES = ("RESOURCE", "VARIANT")


@dataclass
class Step:
    op_index: int
    run: object
    ins: list
    outs: list
    scratch: list = field(default_factory=list)
    tensor_ins: list = field(default_factory=list)
    tensor_outs: list = field(default_factory=list)
    scratch_requests: list = field(default_factory=list)
    dynamic: set = field(default_factory=set)
    lazy: KernelDef | None = None          # prepared at invoke time (dynamic inputs)
    lazy_cache: dict = field(default_factory=dict)
    name: str = ""


def spec_dtype(tensor: ir.Tensor) -> np.dtype:
    """Runtime dtype: resource/variant handles are int32 ids, as in TFLite."""
    tagged = (tensor.dtype.metadata or {}).get("tflite_type")
    return np.dtype(np.int32) if tagged in _RESOURCE_TYPES else tensor.dtype


class SubgraphExecutor:
    def __init__(self, model: ir.Model, index: int, resolver, *, num_threads: int = 1,
                 preserve_all: bool = False, services=None, delegates=()) -> None:
        self.model = model
        self.index = index
        self.sg = model.subgraphs[index]
        self.resolver = resolver
        self.num_threads = num_threads
        self.preserve_all = preserve_all
        self.services = services
        self.delegates = list(delegates)
        self.input_shapes = {t: self.sg.tensors[t].shape for t in self.sg.inputs}
        self.variables: dict[int, np.ndarray] = {}
        self.specs: list[TensorSpec] = []
        self.arrays: list[np.ndarray | None] = []
        self.steps: list[Step] = []
        self.arena = np.zeros(0, np.uint8)
        self.report = {"arena_bytes": 0, "lower_bound_bytes": 0, "naive_bytes": 0}
        self.delegated_ops = 0
        self.prepared = False

    # ------------------------------------------------------------------ prepare
    def prepare(self) -> None:
        self.specs = [self._initial_spec(i, t) for i, t in enumerate(self.sg.tensors)]
        self.steps = []
        fusable = {} if self.preserve_all or self.delegates else self._fusable_activations()
        fused: set[int] = set()
        for o, op in enumerate(self.sg.operators):
            if o in fused:
                continue
            if o in fusable and not any(i >= 0 and self.specs[i].dynamic for i in op.inputs):
                relu = fusable[o]
                act = self.sg.operators[relu]
                op = ir.Operator(op.opcode, list(op.inputs), list(act.outputs),
                                 {**op.options, "fused_activation_function": act.opcode},
                                 op.version, op.custom, op.options_type)
                fused.add(relu)
            step = self._prepare_op(o, op)
            if step is not None:
                self.steps.append(step)
        self.delegated_ops = 0
        for delegate in self.delegates:
            from .delegate import apply_delegate

            self.steps, claimed = apply_delegate(delegate, self, self.steps)
            self.delegated_ops += claimed
        self._plan_and_bind()
        self.prepared = True

    _PRODUCERS = ("ADD", "SUB", "MUL", "CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED")
    _ACTIVATIONS = ("RELU", "RELU6", "RELU_N1_TO_1")

    def _fusable_activations(self) -> dict[int, int]:
        """op index -> index of the RELU / RELU6 / RELU_N1_TO_1 op that alone reads its
        float32 output, when the op has a fused-activation option left at NONE: the two
        run as one step, the op clamping its own output (as XNNPACK fuses them). The
        intermediate tensor is then never written (``get_tensor`` on it says so); with
        ``experimental_preserve_all_tensors`` or delegates nothing is fused."""
        readers: dict[int, list[int]] = {}
        for o, op in enumerate(self.sg.operators):
            for t in op.inputs:
                if t >= 0:
                    readers.setdefault(t, []).append(o)
        keep = set(self.sg.outputs) | set(self.sg.inputs)
        fusable = {}
        for o, op in enumerate(self.sg.operators):
            if op.opcode not in self._PRODUCERS or len(op.outputs) != 1 or op.custom \
                    or (op.options or {}).get("fused_activation_function", "NONE") != "NONE":
                continue
            t = op.outputs[0]
            tensor = self.sg.tensors[t]
            quantized = tensor.quantization is not None and len(tensor.quantization.scales)
            if t in keep or tensor.dtype != np.float32 or quantized or tensor.is_variable:
                continue
            after = readers.get(t, [])
            if len(after) != 1:
                continue
            act = self.sg.operators[after[0]]
            if act.opcode in self._ACTIVATIONS and not act.custom and after[0] > o \
                    and act.inputs == [t] and len(act.outputs) == 1 \
                    and self.sg.tensors[act.outputs[0]].dtype == np.float32:
                fusable[o] = after[0]
        return fusable

    def _initial_spec(self, i: int, t: ir.Tensor) -> TensorSpec:
        shape = self.input_shapes.get(i, t.shape)
        data = None if t.is_variable else t.data
        if data is not None and t.sparsity is None and t.dtype.kind not in "SO":
            data = np.asarray(data).reshape(t.shape)
        return TensorSpec(i, t.name, tuple(shape), spec_dtype(t), t.quantization, data,
                          sparsity=t.sparsity)

    def _context(self, o: int, op: ir.Operator, specs: list) -> PrepareContext:
        ins = [specs[i] if i >= 0 else None for i in op.inputs]
        outs = [specs[i] for i in op.outputs]
        return PrepareContext(op, o, ins, outs, self.num_threads, self.index, self.services)

    def _where(self, o: int, op: ir.Operator) -> str:
        return f"subgraph {self.index}, operator {o} ({op.opcode})"

    def _prepare_op(self, o: int, op: ir.Operator) -> Step | None:
        kernel = self.resolver.resolve(op, o, self.index)
        step = Step(o, None, [], [], tensor_ins=list(op.inputs), tensor_outs=list(op.outputs),
                    name=op.opcode)
        if any(i >= 0 and self.specs[i].dynamic for i in op.inputs):
            for i in op.outputs:
                self.specs[i].dynamic = True
            step.lazy = kernel
            return step
        ctx = self._context(o, op, self.specs)
        step.run = self._call_prepare(kernel, ctx, o, op)
        step.scratch_requests = ctx.scratch_requests
        step.dynamic = set(ctx.dynamic_outputs)
        known = all(s is None or s.data is not None for s in ctx.inputs)
        if kernel.pure and known and not step.dynamic and op.inputs:
            self._fold(step, ctx)
            return None
        return step

    def _call_prepare(self, kernel: KernelDef, ctx: PrepareContext, o: int, op):
        try:
            return kernel.prepare(ctx)
        except PrepareError as e:
            msg = str(e)
            raise PrepareError(msg if msg.startswith("subgraph") else
                               f"subgraph {self.index}, {msg}") from None
        except Exception as e:  # a kernel bug or unsupported input: name the op
            raise PrepareError(f"{self._where(o, op)}: failed to prepare: "
                               f"{type(e).__name__}: {e}") from e

    def _fold(self, step: Step, ctx: PrepareContext) -> None:
        outs = [np.zeros(s.shape, s.dtype) for s in ctx.outputs]
        scratch = [np.zeros(shape, dtype) for shape, dtype in step.scratch_requests]
        step.run([None if s is None else s.data for s in ctx.inputs], outs, scratch)
        for spec, value in zip(ctx.outputs, outs):
            value.setflags(write=False)
            spec.data = value

    # ------------------------------------------------------------------ memory plan
    def _lifetimes(self) -> dict[int, list[int]]:
        n = len(self.steps)
        life: dict[int, list[int]] = {}

        def touch(t: int, step: int) -> None:
            span = life.setdefault(t, [step, step])
            span[0], span[1] = min(span[0], step), max(span[1], step)

        for t in self.sg.inputs:
            touch(t, -1)
            touch(t, n)
        for s, step in enumerate(self.steps):
            for t in step.tensor_outs:
                touch(t, s)
            for t in step.tensor_ins:
                if t >= 0:
                    touch(t, s)
        for t in self.sg.outputs:
            touch(t, n)
        produced = {t for step in self.steps for t in step.tensor_outs}
        for t, span in life.items():   # read but never written here: live from the start
            if t not in produced:
                span[0] = -1
        return {t: span for t, span in life.items() if self._needs_arena(t)}

    def _needs_arena(self, t: int) -> bool:
        spec = self.specs[t]
        return spec.data is None and not spec.dynamic and not self.sg.tensors[t].is_variable

    def _plan_and_bind(self) -> None:
        buffers = [planner.Buffer(t, self.specs[t].size * self.specs[t].dtype.itemsize,
                                  first, last)
                   for t, (first, last) in self._lifetimes().items()]
        for s, step in enumerate(self.steps):
            for k, (shape, dtype) in enumerate(step.scratch_requests):
                size = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
                buffers.append(planner.Buffer(("scratch", s, k), size, s, s))
        size = planner.plan(buffers, share=not self.preserve_all)
        planner.check_plan(buffers, size)
        self.report = {"arena_bytes": size, "lower_bound_bytes": planner.lower_bound(buffers),
                       "naive_bytes": planner.naive_size(buffers)}
        self.arena = np.zeros(max(size, 1), np.uint8)
        self.arrays = [None] * len(self.specs)
        scratch: dict[tuple[int, int], np.ndarray] = {}
        for b in buffers:
            if isinstance(b.key, tuple):
                shape, dtype = self.steps[b.key[1]].scratch_requests[b.key[2]]
                scratch[b.key[1:]] = self._view(b.offset, shape, dtype)
            else:
                spec = self.specs[b.key]
                self.arrays[b.key] = self._view(b.offset, spec.shape, spec.dtype)
        for t, spec in enumerate(self.specs):
            if spec.data is not None:
                self.arrays[t] = spec.data
            elif self.sg.tensors[t].is_variable:
                self.arrays[t] = self._variable(t)
        for s, step in enumerate(self.steps):
            step.ins = [None if t < 0 else self.arrays[t] for t in step.tensor_ins]
            step.outs = [None if k in step.dynamic else self.arrays[t]
                         for k, t in enumerate(step.tensor_outs)]
            step.scratch = [scratch[(s, k)] for k in range(len(step.scratch_requests))]
            bind = getattr(step.run, "bind", None)
            if bind is not None:   # a kernel making its views of the arena once (kernels/api)
                bind(step.ins, step.outs, step.scratch)

    def _view(self, offset: int, shape, dtype) -> np.ndarray:
        nbytes = int(np.prod(shape, dtype=np.int64)) * np.dtype(dtype).itemsize
        return self.arena[offset:offset + nbytes].view(dtype).reshape(shape)

    def _variable(self, t: int) -> np.ndarray:
        spec = self.specs[t]
        current = self.variables.get(t)
        if current is None or current.shape != spec.shape or current.dtype != spec.dtype:
            current = np.zeros(spec.shape, spec.dtype)
            self.variables[t] = current
            self.reset_variable(t)
        return current

    def reset_variable(self, t: int) -> None:
        initial = self.sg.tensors[t].data
        target = self.variables[t]
        if initial is not None and np.size(initial) == target.size:
            np.copyto(target, np.asarray(initial).reshape(target.shape))
            return
        # LiteRT resets an int8 variable (e.g. an integer LSTM's state) to its zero point
        q = self.sg.tensors[t].quantization
        zp = int(q.zero_points[0]) if q is not None and len(q.zero_points) else 0
        target.fill(zp if target.dtype == np.int8 else 0)

    # ------------------------------------------------------------------ invoke
    def invoke_profiled(self, totals: dict) -> None:
        """``invoke`` that adds each step's wall time to ``totals[(op name)]``."""
        from time import perf_counter

        for step in self.steps:
            start = perf_counter()
            if step.lazy is not None:
                self._run_lazy(step)
            else:
                step.run(step.ins, step.outs, step.scratch)
                for k in step.dynamic:
                    self.arrays[step.tensor_outs[k]] = step.outs[k]
                    step.outs[k] = None
            elapsed = perf_counter() - start
            count, spent = totals.get(step.name, (0, 0.0))
            totals[step.name] = (count + 1, spent + elapsed)

    def invoke(self) -> None:
        for step in self.steps:
            if step.lazy is not None:
                self._run_lazy(step)
                continue
            step.run(step.ins, step.outs, step.scratch)
            for k in step.dynamic:   # only lazy steps (bound at run time) read these
                self.arrays[step.tensor_outs[k]] = step.outs[k]
                step.outs[k] = None

    def _run_lazy(self, step: Step) -> None:
        op = self.sg.operators[step.op_index]
        ins = [None if t < 0 else self.arrays[t] for t in step.tensor_ins]
        key = tuple(None if a is None else a.shape for a in ins)
        if key not in step.lazy_cache:
            specs = {}
            for t, a in zip(step.tensor_ins, ins):
                if t >= 0:
                    base = self.specs[t]
                    specs[t] = TensorSpec(t, base.name, a.shape, a.dtype, base.quantization,
                                          base.data)
            for t in step.tensor_outs:
                base = self.specs[t]
                specs[t] = TensorSpec(t, base.name, base.shape, base.dtype, base.quantization)
            ctx = self._context(step.op_index, op, specs)
            run = self._call_prepare(step.lazy, ctx, step.op_index, op)
            step.lazy_cache[key] = (run, ctx)
        run, ctx = step.lazy_cache[key]
        outs = [None if k in ctx.dynamic_outputs else np.zeros(s.shape, s.dtype)
                for k, s in enumerate(ctx.outputs)]
        scratch = [np.zeros(shape, dtype) for shape, dtype in ctx.scratch_requests]
        run(ins, outs, scratch)
        for t, a in zip(step.tensor_outs, outs):
            self.arrays[t] = a
