"""Plumbing shared by the data-movement kernels (reshape, layout, slicing, pad, fill,
gather, reduce, resize, where): checking their inputs, and planning ops whose output
shape depends on the *values* of small integer inputs (axis, begin/end, sizes, paddings).

Such a kernel describes its work as ``plan(*values) -> Plan``: from those values it
computes the output shapes and a ``body`` that fills preallocated outputs without
allocating. :func:`planned` then either

* (every value known at prepare: a constant, or an output the interpreter folded) sets
  the output shapes, requests the plan's scratch and returns ``body``: the static path;
* (some value arrives only at invoke) marks the outputs dynamic, as TFLite does, and
  returns a run that plans again on every invoke and stores fresh arrays in ``outs``.

A value the op cannot take raises :class:`BadArgs`; ``planned`` reports it as a
PrepareError naming the op, or at invoke as a RuntimeError naming it (LiteRT fails its
invoke there too).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from .api import PrepareContext, Run, TensorSpec
from .elementwise import check_dtype, dtypes

ALL_TYPES = dtypes("float32 float16 float64 int8 uint8 int16 uint16 int32 uint32 int64 bool")
INDEX_TYPES = dtypes("int32 int64")
INT32 = dtypes("int32")


def op_label(ctx: PrepareContext) -> str:
    """How a run-time error names the op (as the interpreter names a prepare error)."""
    return f"subgraph {ctx.subgraph_index}, operator {ctx.op_index} ({ctx.opcode})"


class BadArgs(ValueError):
    """A shape-like input value the op cannot take; the message says why."""


@dataclass
class Plan:
    shapes: list                       # one output shape per output
    body: Run                          # fills the outputs; allocates nothing
    scratch: list = field(default_factory=list)   # (shape, dtype) buffers body reads


def data_input(ctx: PrepareContext, i: int, allowed: frozenset) -> TensorSpec:
    """Input ``i``, present and of an ``allowed`` dtype. Quantized integers count as their
    stored values: data movement copies them as they are."""
    spec = ctx.input(i)
    ctx.check(spec is not None, f"input {i} is missing")
    check_dtype(ctx, spec, allowed, raw_quantized=True)
    return spec


def arg_input(ctx: PrepareContext, i: int, what: str, allowed: frozenset = INDEX_TYPES,
              rank: int | None = None, size: int | None = None) -> TensorSpec:
    """A shape-like input (``what`` names it in errors) with its dtype, rank and size
    checked; its value may still be unknown until invoke."""
    spec = ctx.input(i)
    ctx.check(spec is not None, f"{what} (input {i}) is missing")
    if spec.dtype not in allowed:
        names = " or ".join(sorted(d.name for d in allowed))
        raise ctx.error(f"{what} must be {names}, not {spec.dtype}")
    if rank is not None and len(spec.shape) != rank:
        raise ctx.error(f"{what} must be {rank}-D, not of shape {list(spec.shape)}")
    if size is not None and spec.size != size:
        raise ctx.error(f"{what} must hold {size} value(s), not {spec.size}")
    return spec


def _quantized(q) -> bool:
    return q is not None and len(q.scales) > 0


def same_output(ctx: PrepareContext, spec: TensorSpec, out: int = 0,
                typed_by_input: bool = False, raw: bool = False) -> None:
    """Output ``out`` of a raw copy must have ``spec``'s dtype and, where both say how,
    its quantization: anything else would convert or requantize (the integer kernels
    bring requantization). ``typed_by_input``: the op gives its output the input's dtype
    whatever the model says (TFLite's FILL, GATHER, SPLIT, ... do), so no dtype check.
    ``raw``: TFLite copies the stored values whatever the two quantizations say (its
    RESHAPE, TRANSPOSE, SLICE, GATHER, PAD, RESIZE_*, ... check nothing), so neither do we."""
    o = ctx.outputs[out]
    ctx.check(typed_by_input or o.dtype == spec.dtype,
              f"output {out} is {o.dtype}, not {spec.dtype} like its input")
    q_in, q_out = spec.quantization, o.quantization
    if raw or spec.dtype.kind not in "iu" or not _quantized(q_in) or not _quantized(q_out):
        return
    if np.array_equal(q_in.scales, q_out.scales) and \
            np.array_equal(q_in.zero_points, q_out.zero_points):
        return
    raise ctx.error(f"requantizing from scale {q_in.scales[0]:g}, zero point "
                    f"{q_in.zero_points[0]} to scale {q_out.scales[0]:g}, zero point "
                    f"{q_out.zero_points[0]} is not supported yet")


def axis_value(axis: int, rank: int, what: str = "axis") -> int:
    """``axis`` in [-rank, rank), made non-negative."""
    axis = int(axis)
    if not -rank <= axis < rank:
        raise BadArgs(f"{what} {axis} is out of range for rank {rank}")
    return axis % rank


def ints(values: np.ndarray) -> list[int]:
    """A small integer tensor's values as Python ints, flattened."""
    return [int(v) for v in np.asarray(values).reshape(-1)]


def planned(ctx: PrepareContext, args: list[int], plan: Callable[..., Plan],
            out_dtypes: list) -> Run:
    """Static plan when the values of inputs ``args`` are known now, else dynamic outputs
    (see the module doc). ``plan`` gets those inputs' values as arrays (None for an
    omitted input); ``out_dtypes`` are the outputs' dtypes, in order."""
    specs = [ctx.input(i) for i in args]
    if all(s is None or s.data is not None for s in specs):
        try:
            p = plan(*(None if s is None else np.asarray(s.data) for s in specs))
        except BadArgs as e:
            raise ctx.error(str(e)) from None
        for k, (shape, dtype) in enumerate(zip(p.shapes, out_dtypes)):
            ctx.set_output(k, shape, dtype)
        ctx.check(not ctx.scratch_requests, "planned() owns this op's scratch")
        for shape, dtype in p.scratch:
            ctx.scratch(shape, dtype)
        return p.body
    for k, dtype in enumerate(out_dtypes):
        ctx.set_output_dynamic(k, dtype)
    name = op_label(ctx)

    def run_dynamic(ins, outs, scratch):
        try:
            p = plan(*(None if i >= len(ins) or ins[i] is None else np.asarray(ins[i])
                       for i in args))
        except BadArgs as e:
            raise RuntimeError(f"{name}: {e}") from None
        for k, (shape, dtype) in enumerate(zip(p.shapes, out_dtypes)):
            outs[k] = np.empty(shape, dtype)
        p.body(ins, outs, [np.empty(shape, dtype) for shape, dtype in p.scratch])
    return run_dynamic


def copy_view(index) -> Run:
    """A body copying ``ins[0][index]`` (a view: slices, ints, newaxis) to ``outs[0]``."""
    def body(ins, outs, scratch):
        np.copyto(outs[0], ins[0][index])
    return body


def as_bytes(a: np.ndarray, shape: tuple) -> np.ndarray:
    """``a`` (C-contiguous) reshaped to ``shape`` with its elements' bytes as one more
    axis: one numba loop then moves any dtype."""
    return a.reshape(shape + (1,)).view(np.uint8)
