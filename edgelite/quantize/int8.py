"""Post-training full-integer quantization of a float IR model: int8, and the 16x8
scheme (int16 activations, symmetric; int8 weights; int64 biases).

1. Ranges come from calibration (``calibrate``); tensors that ``rules.SAME_SCALE`` ops tie
   together share one range (their union) and so one (scale, zero point); the outputs
   of ``rules.FIXED_OUTPUT`` ops get the kernel's fixed parameters.
2. Activations: asymmetric int8, ``scale = (max - min) / 255`` over a range widened to
   hold 0, zero point rounded from the minimum (TFLite's formula). Weights of
   ``rules.WEIGHTED`` ops: per-channel symmetric int8 in [-127, 127]; biases int32 with
   scale input scale x weight scale. Other float constants read by integer ops: per
   tensor, from their own range (or their group's).
3. Ops without an integer rule stay float: a DEQUANTIZE feeds them and a QUANTIZE
   takes their result back to int8. Graph inputs/outputs stay float32 behind a QUANTIZE /
   DEQUANTIZE (``input_dtype``/``output_dtype`` float32, TF's default), or are int8/uint8.
"""

from __future__ import annotations

import copy

import numpy as np

from ..schema import ir
from . import rules
from .bias_correction import output_shift
from .calibrate import Range
from .ranges import estimate

QMIN, QMAX = -128, 127


def activation_params(lo: float, hi: float, dtype=np.int8) -> tuple[float, int]:
    """(scale, zero point) of an int8 tensor holding [lo, hi] (widened to contain 0);
    int16 activations are symmetric (zero point 0, scale max|range| / 32767)."""
    lo, hi = min(float(lo), 0.0), max(float(hi), 0.0)
    if not np.isfinite(lo) or not np.isfinite(hi):
        raise ValueError(f"range [{lo}, {hi}] is not finite")
    if np.dtype(dtype) == np.int16:
        peak = max(-lo, hi)
        return (float(np.float32(peak / 32767)) if peak > 0 else 1e-9), 0
    span = hi - lo
    scale = float(np.float32(span / (QMAX - QMIN))) if span > 0 else 1e-9
    zp = QMIN - lo / scale
    zero_point = int(np.clip(np.round(zp), QMIN, QMAX))
    return scale, zero_point


def _quant(scales, zero_points, axis: int = 0) -> ir.Quantization:
    return ir.Quantization(scales=np.asarray(scales, np.float32).reshape(-1),
                           zero_points=np.asarray(zero_points, np.int64).reshape(-1),
                           axis=axis)


class _Groups:
    """Union-find over tensor indices (same-scale constraints)."""

    def __init__(self):
        self.parent: dict[int, int] = {}

    def find(self, t: int) -> int:
        self.parent.setdefault(t, t)
        while self.parent[t] != t:
            self.parent[t] = self.parent[self.parent[t]]
            t = self.parent[t]
        return t

    def union(self, a: int, b: int) -> None:
        self.parent[self.find(a)] = self.find(b)


def _float_inputs(sg: ir.Subgraph, op: ir.Operator) -> list[int]:
    return [i for i in op.inputs if i >= 0 and sg.tensors[i].dtype == np.float32]


def denied(sg: ir.Subgraph, op: ir.Operator, denylist) -> bool:
    """Whether ``denylist`` (op types, or output tensor names) keeps ``op`` float."""
    return bool(denylist) and (op.opcode in denylist
                               or any(sg.tensors[o].name in denylist for o in op.outputs))


def _plan(sg: ir.Subgraph, ranges: dict[int, Range], estimator: str, dtype: np.dtype,
          denylist=frozenset()):
    """(integer ops, params per float tensor index) for the subgraph."""
    int16 = dtype == np.int16
    has_rule = rules.integer_op16 if int16 else rules.integer_op
    fixed_outputs = rules.FIXED_OUTPUT16 if int16 else rules.FIXED_OUTPUT
    integer = [op for op in sg.operators if has_rule(op.opcode)
               and all(sg.tensors[o].dtype == np.float32 for o in op.outputs)
               and not denied(sg, op, denylist)]
    weights = set()
    for op in integer:
        if op.opcode in rules.WEIGHTED:
            w, _, b = rules.WEIGHTED[op.opcode]
            weights.update(i for i in (op.inputs[w], op.inputs[b] if len(op.inputs) > b
                                       else -1) if i >= 0)
    groups = _Groups()
    fixed: dict[int, tuple[float, int]] = {}
    for op in integer:
        if op.opcode in rules.SAME_SCALE:
            tied = rules.SAME_SCALE[op.opcode]
            ins = _float_inputs(sg, op) if tied is None else \
                [op.inputs[k] for k in tied if k < len(op.inputs) and op.inputs[k] >= 0
                 and sg.tensors[op.inputs[k]].dtype == np.float32]
            for t in ins + op.outputs[1:]:
                groups.union(t, op.outputs[0])
        if op.opcode in fixed_outputs:
            fixed[op.outputs[0]] = fixed_outputs[op.opcode]
    members: dict[int, list[int]] = {}
    for op in integer:
        for t in _float_inputs(sg, op) + list(op.outputs):
            if t not in weights:
                members.setdefault(groups.find(t), []).append(t)
    params: dict[int, tuple[float, int]] = {}
    bounds = _activation_bounds(sg)
    for root, ts in members.items():
        pinned = [fixed[t] for t in ts if t in fixed]
        if pinned:
            p = pinned[0]
        else:
            spans = [_clamp(_range(sg, ranges, t, estimator), bounds.get(t)) for t in ts]
            p = activation_params(min(s[0] for s in spans), max(s[1] for s in spans), dtype)
        for t in ts:
            params[t] = p
    return integer, weights, params


_BOUNDS = {"RELU": (0.0, np.inf), "RELU6": (0.0, 6.0), "RELU_N1_TO_1": (-1.0, 1.0),
           "RELU_0_TO_1": (0.0, 1.0)}


def _activation_bounds(sg: ir.Subgraph) -> dict[int, tuple[float, float]]:
    """Output tensor -> the interval its op's (fused) clamp keeps it in: a range widened
    for unseen data never needs to reach past it."""
    bounds = {}
    for op in sg.operators:
        act = op.opcode if op.opcode in _BOUNDS else \
            op.options.get("fused_activation_function", "NONE")
        if act in _BOUNDS:
            for t in op.outputs:
                bounds[t] = _BOUNDS[act]
    return bounds


def _clamp(span: tuple[float, float], bound) -> tuple[float, float]:
    if bound is None:
        return span
    return max(span[0], bound[0]), min(span[1], bound[1])


def _range(sg: ir.Subgraph, ranges: dict[int, Range], t: int,
           estimator: str) -> tuple[float, float]:
    tensor = sg.tensors[t]
    if tensor.is_constant:
        data = np.asarray(tensor.data, np.float32)
        return float(data.min(initial=0.0)), float(data.max(initial=0.0))
    if t not in ranges:
        raise ValueError(f"tensor {t} ({tensor.name!r}) was not seen during calibration")
    return estimate(ranges[t], estimator)


def _quantize_values(data, scale: float, zp: int, dtype=np.int8) -> np.ndarray:
    info = np.iinfo(dtype)
    q = np.round(np.asarray(data, np.float32) / np.float32(scale)) + zp
    return np.clip(q, info.min, info.max).astype(dtype)


def _quantize_weighted(sg: ir.Subgraph, op: ir.Operator, params,
                       mean: np.ndarray | None = None, act=np.int8) -> None:
    w_index, axis, b_index = rules.WEIGHTED[op.opcode]
    w = sg.tensors[op.inputs[w_index]]
    if not w.is_constant:
        raise ValueError(f"{op.opcode}: weights {w.name!r} are not constant")
    data = np.asarray(w.data, np.float32)
    moved = np.moveaxis(data, axis, 0).reshape(data.shape[axis], -1)
    scales = np.abs(moved).max(axis=1) / 127.0
    scales = np.where(scales > 0, scales, 1.0).astype(np.float32)
    shape = [1] * data.ndim
    shape[axis] = -1
    q = np.clip(np.round(data / scales.reshape(shape)), -127, 127).astype(np.int8)
    sg.tensors[op.inputs[w_index]] = ir.Tensor(w.name, w.shape, np.int8, data=q,
                                               quantization=_quant(scales, np.zeros_like(
                                                   scales, np.int64), axis))
    has_bias = len(op.inputs) > b_index and op.inputs[b_index] >= 0
    if has_bias or mean is not None:
        if not has_bias:   # a zero bias to carry the correction
            op.inputs = (op.inputs + [-1] * (b_index + 1))[:max(len(op.inputs), b_index + 1)]
            op.inputs[b_index] = sg.add_tensor(ir.Tensor(
                w.name + "_bias", (len(scales),), np.float32,
                data=np.zeros(len(scales), np.float32)))
        b = sg.tensors[op.inputs[b_index]]
        s_in = np.float32(params[op.inputs[0]][0])
        b_scales = (s_in * scales).astype(np.float32)
        bias = np.asarray(b.data, np.float64)
        if mean is not None:   # remove the weights' rounding error on the mean input
            deq = q.astype(np.float64) * scales.reshape(shape)
            bias = bias - output_shift(op.opcode, deq - data, mean)
        qb = np.round(bias / b_scales.astype(np.float64))
        bias_dtype = np.int64 if np.dtype(act) == np.int16 else np.int32
        info = np.iinfo(bias_dtype)
        qb = np.clip(qb, info.min, info.max).astype(bias_dtype)
        sg.tensors[op.inputs[b_index]] = ir.Tensor(b.name, b.shape, bias_dtype, data=qb,
                                                   quantization=_quant(
                                                       b_scales, np.zeros(len(b_scales)),
                                                       0))


_F32, _I8, _U8, _I16 = (np.dtype(t) for t in (np.float32, np.int8, np.uint8, np.int16))
_IO_DTYPES = {_I8: (_F32, _I8, _U8), _I16: (_F32, _I16)}


def quantize_int8(model: ir.Model, ranges: dict[int, Range], input_dtype=np.float32,
                  output_dtype=np.float32, strict: bool = False,
                  estimator: str = "minmax", patch_means: dict | None = None,
                  activations=np.int8, denylist=frozenset()) -> ir.Model:
    """A full-integer copy of ``model`` (main subgraph); ``ranges`` from ``calibrate``.
    ``strict``: fail (naming them) if any op would stay float. ``patch_means`` (index of a
    weighted op -> ``bias_correction.PatchMean``) turns on bias correction.
    ``activations=np.int16``: the 16x8 scheme (int16 symmetric activations, int8
    weights, int64 biases). ``denylist``: op types or output tensor names kept float."""
    act = np.dtype(activations)
    io = (np.dtype(input_dtype), np.dtype(output_dtype))
    for which, dt in zip(("input", "output"), io):
        if dt not in _IO_DTYPES[act]:
            names = ", ".join(d.name for d in _IO_DTYPES[act])
            raise ValueError(f"inference {which} type must be {names}, not {dt}")
    model = copy.deepcopy(model)
    sg = model.subgraphs[0]
    _own_weights(sg)
    originals = list(copy.deepcopy(sg.tensors))
    integer, weights, params = _plan(sg, ranges, estimator, act, frozenset(denylist))
    if strict:
        floats = [f"operator {k} ({op.opcode})" for k, op in enumerate(sg.operators)
                  if op not in integer and not denied(sg, op, denylist)]
        if floats:
            raise ValueError("no integer kernel for " + ", ".join(floats) +
                             " (integer-only ops set)")
    position = {id(op): k for k, op in enumerate(sg.operators)}
    for op in integer:
        if op.opcode in rules.WEIGHTED:
            patch = (patch_means or {}).get(position[id(op)])
            _quantize_weighted(sg, op, params, None if patch is None else patch.mean(), act)
    for t, (scale, zp) in params.items():
        tensor = sg.tensors[t]
        data = None if not tensor.is_constant else \
            _quantize_values(tensor.data, scale, zp, act)
        sg.tensors[t] = ir.Tensor(tensor.name, tensor.shape, act, data=data,
                                  quantization=_quant([scale], [zp]),
                                  shape_signature=tensor.shape_signature)
    if act == np.int16:   # general-scale int16 ADD/SUB, as TensorFlow writes them
        for op in integer:
            if op.opcode in ("ADD", "SUB"):
                op.options["pot_scale_int16"] = False
    io_map = _bridge(sg, {id(op) for op in integer}, params, io, originals, act)
    for sig in model.signature_defs:
        if sig.subgraph_index == 0:
            sig.inputs = {k: io_map.get(v, v) for k, v in sig.inputs.items()}
            sig.outputs = {k: io_map.get(v, v) for k, v in sig.outputs.items()}
    return model


def _own_weights(sg: ir.Subgraph) -> None:
    """Give each weighted op its own weight and bias tensors. The converter merges equal
    constants (all-zero Dense biases, say); quantized, each reader needs its own copy:
    a bias scale is the op's input scale x weight scale, and a second reader must not
    see the first one's integer data as float."""
    readers: dict[int, int] = {}
    for op in sg.operators:
        for t in op.inputs:
            if t >= 0:
                readers[t] = readers.get(t, 0) + 1
    for op in sg.operators:
        if op.opcode not in rules.WEIGHTED:
            continue
        w, _, b = rules.WEIGHTED[op.opcode]
        for k in (w, b):
            t = op.inputs[k] if k < len(op.inputs) else -1
            if t >= 0 and sg.tensors[t].is_constant and readers[t] > 1:
                readers[t] -= 1
                op.inputs[k] = sg.add_tensor(copy.deepcopy(sg.tensors[t]))


def _float_twin(sg: ir.Subgraph, t: int, original: ir.Tensor, suffix: str) -> int:
    """A float32 tensor with ``original``'s spec beside int8 tensor ``t``."""
    return sg.add_tensor(ir.Tensor(original.name + suffix, original.shape, np.float32,
                                   shape_signature=original.shape_signature))


def _bridge(sg: ir.Subgraph, integer_ids: set, params: dict, io: tuple,
            originals: list, act: np.dtype) -> dict[int, int]:
    """DEQUANTIZE before float ops that read int8 tensors, QUANTIZE after float ops that
    feed integer ops, and float (or uint8) graph inputs/outputs."""
    def is_integer(t: int) -> bool:
        return t >= 0 and t in params

    dequantized: dict[int, int] = {}
    prologue, body, epilogue = [], [], []
    io_map: dict[int, int] = {}
    in_dtype, out_dtype = io
    for t in sg.inputs:
        if not is_integer(t) or in_dtype == act:
            continue
        outer = _io_twin(sg, t, originals[t], in_dtype, params[t])
        prologue.append(ir.Operator("QUANTIZE", [outer], [t]))
        io_map[t] = outer
    for op in sg.operators:
        if id(op) in integer_ids:
            body.append(op)
            continue
        for k, t in enumerate(op.inputs):
            if not is_integer(t):
                continue
            if originals[t].is_constant:   # a constant shared with float ops
                op.inputs[k] = sg.add_tensor(copy.deepcopy(originals[t]))
                continue
            if t not in dequantized:
                dequantized[t] = _float_twin(sg, t, originals[t], "_dequantized")
                body.append(ir.Operator("DEQUANTIZE", [t], [dequantized[t]]))
            op.inputs[k] = dequantized[t]
        after = []
        for k, t in enumerate(op.outputs):
            if is_integer(t):
                f = _float_twin(sg, t, originals[t], "_float")
                op.outputs[k] = f
                after.append(ir.Operator("QUANTIZE", [f], [t]))
        body.append(op)
        body.extend(after)
    for t in sg.outputs:
        if not is_integer(t) or out_dtype == act:
            continue
        outer = _io_twin(sg, t, originals[t], out_dtype, params[t])
        epilogue.append(ir.Operator("DEQUANTIZE" if out_dtype == np.float32 else "QUANTIZE",
                                    [t], [outer]))
        io_map[t] = outer
    sg.operators = prologue + body + epilogue
    sg.inputs = [io_map.get(t, t) for t in sg.inputs]
    sg.outputs = [io_map.get(t, t) for t in sg.outputs]
    return io_map


def _io_twin(sg: ir.Subgraph, t: int, original: ir.Tensor, io_dtype: np.dtype,
             p: tuple[float, int]) -> int:
    """The graph-facing tensor of int8 tensor ``t``: float32, or uint8 (zero point +128);
    it takes the original name, the int8 one gets an ``_int8`` suffix."""
    sg.tensors[t].name = original.name + "_int8"
    q = _quant([p[0]], [p[1] + 128]) if io_dtype == np.uint8 else None
    return sg.add_tensor(ir.Tensor(original.name, original.shape, io_dtype, quantization=q,
                                   shape_signature=original.shape_signature))
