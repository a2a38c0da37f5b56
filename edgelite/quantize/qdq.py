"""Folding QDQ graphs into integer ops: models that carry their own quantization as
QuantizeLinear/DequantizeLinear pairs (PyTorch QAT exports, onnxruntime's static QDQ
quantization) become int8 TFLite models with exactly those scales and zero points.

The ONNX frontend lowers an activation's QuantizeLinear -> DequantizeLinear to a
QUANTIZE -> DEQUANTIZE pair (int8 or uint8, per tensor) and folds a weight's
DequantizeLinear of a constant to a float constant. ``fold_qdq``:

1. collapses each pair: the float tensor the QUANTIZE reads takes the pair's (scale, zero
   point) and the DEQUANTIZE's readers read it. uint8 (s, z) becomes int8 (s, z - 128),
   which holds the same real values, since TFLite's integer kernels are int8;
2. carries those parameters through ops that only move values (RESHAPE, TRANSPOSE,
   MAX_POOL_2D, ...: the frontend's layout changes sit between a pair and its conv):
   forward always, backward only into a tensor nothing else reads;
3. picks the ops with an integer kernel (``rules``) whose activations all have
   parameters and whose constraints hold (same-scale inputs, fixed outputs). A weighted
   op also needs float weights that are exactly ``q * scale`` (int8 ``q``) for one of the
   scale vectors the source's weight DequantizeLinear nodes carry (``weight_scales``,
   along the TFLite weight axis, or per tensor): those are its int8 weights and
   per-channel scales, and its float bias becomes int32 at input scale x weight scale,
   as onnxruntime computes it;
4. makes every tensor with parameters int8 and bridges the rest as ``int8`` does: a
   DEQUANTIZE before each float op that reads one, a QUANTIZE after each float op that
   writes one, QUANTIZE/DEQUANTIZE at float graph inputs and outputs. A pair around
   float ops thus stays a QUANTIZE -> DEQUANTIZE round trip, as in the source.
"""

from __future__ import annotations

import copy
from collections import defaultdict

import numpy as np

from ..schema import ir
from . import rules
from .int8 import _bridge, _quant, _quantize_values, activation_params

_AFFINE = (np.dtype(np.int8), np.dtype(np.uint8))
# same-scale ops whose int8 result equals quantizing their float result: pure data
# movement, and max/min (monotonic). Not AVERAGE_POOL_2D / RESIZE_BILINEAR (they round),
# nor PADV2 (its pad value need not be a quantization step).
_MOVERS = {op: tied for op, tied in rules.SAME_SCALE.items()
           if op not in ("AVERAGE_POOL_2D", "RESIZE_BILINEAR", "PADV2")}

Params = tuple[float, int]


def _pair_params(tensor: ir.Tensor) -> Params | None:
    """int8 (scale, zero point) of a per-tensor int8/uint8 activation, else None."""
    q = tensor.quantization
    if tensor.dtype not in _AFFINE or tensor.is_constant or q is None or q.per_channel \
            or len(q.scales) != 1:
        return None
    shift = 128 if tensor.dtype == np.uint8 else 0
    return float(q.scales[0]), int(q.zero_points[0]) - shift


def has_qdq(model: ir.Model) -> bool:
    """Whether the main subgraph holds a QUANTIZE whose int8/uint8 result a DEQUANTIZE
    reads (the frontend's lowering of a QuantizeLinear -> DequantizeLinear pair)."""
    sg = model.subgraphs[0] if model.subgraphs else None
    if sg is None:
        return False
    quantized = {op.outputs[0] for op in sg.operators if op.opcode == "QUANTIZE"
                 and _pair_params(sg.tensors[op.outputs[0]]) is not None}
    return any(op.opcode == "DEQUANTIZE" and op.inputs[0] in quantized
               for op in sg.operators)


def _readers(sg: ir.Subgraph) -> dict[int, list[ir.Operator]]:
    readers = defaultdict(list)
    for op in sg.operators:
        for t in op.inputs:
            if t >= 0:
                readers[t].append(op)
    return readers


def _collapse(sg: ir.Subgraph) -> dict[int, Params]:
    """Step 1, in place: drop the QUANTIZE/DEQUANTIZE pairs; the float tensors they
    quantized, with their int8 parameters."""
    readers = _readers(sg)
    params: dict[int, Params] = {}
    dropped: set[int] = set()
    renames: dict[int, int] = {}
    for op in sg.operators:
        if op.opcode != "QUANTIZE":
            continue
        x, t = op.inputs[0], op.outputs[0]
        p = _pair_params(sg.tensors[t])
        deqs = readers.get(t, [])
        if p is None or sg.tensors[x].dtype != np.float32 or sg.tensors[x].is_constant \
                or x in sg.outputs or t in sg.outputs or readers.get(x) != [op] or not deqs \
                or any(d.opcode != "DEQUANTIZE" or d.outputs[0] in sg.inputs for d in deqs):
            continue
        if any(d.outputs[0] in sg.outputs for d in deqs) and x in sg.inputs:
            continue   # a graph input straight to a graph output: keep both names
        params[x] = p
        dropped.update(id(d) for d in deqs)
        dropped.add(id(op))
        for d in deqs:
            renames[d.outputs[0]] = x
    sg.operators = [op for op in sg.operators if id(op) not in dropped]
    for op in sg.operators:
        op.inputs = [renames.get(t, t) for t in op.inputs]
    for k, t in enumerate(sg.outputs):
        if t in renames:   # the output keeps its (ONNX) name on the tensor that holds it
            x = renames[t]
            sg.tensors[x].name, sg.tensors[t].name = sg.tensors[t].name, \
                sg.tensors[t].name + "_dequantized"
            sg.outputs[k] = x
    return params


def _tied(sg: ir.Subgraph, op: ir.Operator) -> list[int]:
    """The float inputs of a same-scale op that share its output's parameters."""
    tied = rules.SAME_SCALE[op.opcode]
    ins = op.inputs if tied is None else [op.inputs[k] for k in tied if k < len(op.inputs)]
    return [t for t in ins if t >= 0 and sg.tensors[t].dtype == np.float32]


def _propagate(sg: ir.Subgraph, params: dict[int, Params]) -> None:
    """Step 2, in place on ``params``."""
    readers = _readers(sg)
    changed = True
    while changed:
        changed = False
        for op in sg.operators:
            if op.opcode not in _MOVERS:
                continue
            ins = _tied(sg, op)
            outs = [t for t in op.outputs if sg.tensors[t].dtype == np.float32]
            if not ins or len(outs) != len(op.outputs):
                continue
            have = {params[t] for t in ins + outs if t in params}
            if len(have) != 1:
                continue
            p = have.pop()
            if all(t in params for t in ins) and not any(sg.tensors[t].is_constant
                                                         for t in ins):
                for t in outs:
                    if t not in params:
                        params[t], changed = p, True
            elif all(t in params for t in outs):
                for t in ins:
                    if t not in params and not sg.tensors[t].is_constant and \
                            t not in sg.outputs and readers.get(t) == [op]:
                        params[t], changed = p, True


def _decompose(w: np.ndarray, axis: int, candidates) -> tuple[np.ndarray, np.ndarray] | None:
    """(int8 q, float32 scales along ``axis``) with ``q * scales == w`` bit for bit, for
    the first candidate scale vector that gives one; None if none does."""
    w = np.asarray(w, np.float32)
    n = w.shape[axis]
    shape = [1] * w.ndim
    shape[axis] = n
    for s in candidates:
        if s.size not in (1, n) or not np.all(s > 0):
            continue
        scales = np.broadcast_to(s.astype(np.float32), (n,)).copy()
        sb = scales.reshape(shape)
        q = np.round(w.astype(np.float64) / sb)
        if q.min(initial=0) < -128 or q.max(initial=0) > 127:
            continue
        if np.array_equal(q.astype(np.float32) * sb, w):
            return q.astype(np.int8), scales
    return None


def _weighted_plan(sg: ir.Subgraph, op: ir.Operator, params, candidates):
    """(weight index, int8 weights, scales, axis, bias index) of a weighted op whose
    constant weights decompose, else None."""
    w_k, axis, b_k = rules.WEIGHTED[op.opcode]
    w = sg.tensors[op.inputs[w_k]]
    b = op.inputs[b_k] if len(op.inputs) > b_k else -1
    if not w.is_constant or w.dtype != np.float32 or op.inputs[0] not in params:
        return None
    if b >= 0 and not (sg.tensors[b].is_constant and sg.tensors[b].dtype == np.float32):
        return None
    found = _decompose(w.data, axis, candidates)
    return None if found is None else (op.inputs[w_k], found[0], found[1], axis, b)


def _select(sg: ir.Subgraph, params: dict[int, Params], candidates):
    """Step 3: (integer ops, weight plans by op id, params for their other constants)."""
    integer, plans, consts = [], {}, {}
    for op in sg.operators:
        if not rules.integer_op(op.opcode) or \
                any(sg.tensors[t].dtype != np.float32 or t not in params for t in op.outputs):
            continue
        plan = None
        if op.opcode in rules.WEIGHTED:
            plan = _weighted_plan(sg, op, params, candidates)
            if plan is None:
                continue
        skip = {plan[0], plan[4]} if plan else set()
        floats = [t for t in op.inputs if t >= 0 and t not in skip
                  and sg.tensors[t].dtype == np.float32]
        if any(t not in params and not sg.tensors[t].is_constant for t in floats):
            continue
        out = params[op.outputs[0]]
        if op.opcode in rules.FIXED_OUTPUT and not _close(out, rules.FIXED_OUTPUT[op.opcode]):
            continue
        tied = _tied(sg, op) if op.opcode in rules.SAME_SCALE else []
        if any(t in params and params[t] != out for t in tied + op.outputs[1:]):
            continue
        own = {}
        for t in floats:
            if sg.tensors[t].is_constant and t not in params:
                data = np.asarray(sg.tensors[t].data, np.float32)
                own[t] = out if t in tied else activation_params(data.min(initial=0),
                                                                 data.max(initial=0))
        integer.append(op)
        consts[id(op)] = own
        if plan:
            plans[id(op)] = plan
    return integer, plans, consts


def _close(a: Params, b: Params) -> bool:
    return a[1] == b[1] and abs(a[0] - b[0]) <= 1e-6 * b[0]


def _set_weights(sg: ir.Subgraph, plan, s_in: float) -> None:
    w_i, q, scales, axis, b_i = plan
    w = sg.tensors[w_i]
    sg.tensors[w_i] = ir.Tensor(w.name, w.shape, np.int8, data=q,
                                quantization=_quant(scales, np.zeros(len(scales)), axis))
    if b_i < 0:
        return
    b = sg.tensors[b_i]
    b_scales = (np.float32(s_in) * scales).astype(np.float32)
    qb = np.round(np.asarray(b.data, np.float64) / b_scales.astype(np.float64))
    qb = np.clip(qb, -(2**31), 2**31 - 1).astype(np.int32)
    sg.tensors[b_i] = ir.Tensor(b.name, b.shape, np.int32, data=qb,
                                quantization=_quant(b_scales, np.zeros(len(b_scales)), 0))


def _own_copy(sg: ir.Subgraph, op: ir.Operator, t: int) -> int:
    """A private copy of constant ``t`` for ``op`` (its quantization is op-specific)."""
    c = sg.add_tensor(copy.deepcopy(sg.tensors[t]))
    op.inputs = [c if i == t else i for i in op.inputs]
    return c


def fold_qdq(model: ir.Model, weight_scales=()) -> ir.Model:
    """The integer model of a QDQ ``model`` (main subgraph); ``model`` itself when it
    holds no QUANTIZE -> DEQUANTIZE pair. ``weight_scales``: candidate float32 scale
    vectors of the weights (the ONNX frontend's ``weight_scales``)."""
    if not has_qdq(model):
        return model
    from ..converter.passes.remove_dead import remove_dead_code

    model = copy.deepcopy(model)
    sg = model.subgraphs[0]
    candidates = [np.asarray(s, np.float32).reshape(-1) for s in weight_scales]
    params = _collapse(sg)
    _propagate(sg, params)
    integer, plans, consts = _select(sg, params, candidates)
    for op in integer:
        for t, p in consts[id(op)].items():
            params[_own_copy(sg, op, t)] = p
        if id(op) in plans:   # equal constants may be one shared tensor: unshare
            w_i, q, scales, axis, b_i = plans[id(op)]
            plans[id(op)] = (_own_copy(sg, op, w_i), q, scales, axis,
                             _own_copy(sg, op, b_i) if b_i >= 0 else -1)
    originals = list(copy.deepcopy(sg.tensors))
    for op in integer:
        if id(op) in plans:
            _set_weights(sg, plans[id(op)], params[op.inputs[0]][0])
    for t, (scale, zp) in params.items():
        tensor = sg.tensors[t]
        data = None if not tensor.is_constant else _quantize_values(tensor.data, scale, zp)
        sg.tensors[t] = ir.Tensor(tensor.name, tensor.shape, np.int8, data=data,
                                  quantization=_quant([scale], [zp]),
                                  shape_signature=tensor.shape_signature)
    f32 = np.dtype(np.float32)
    io_map = _bridge(sg, {id(op) for op in integer}, params, (f32, f32), originals,
                     np.dtype(np.int8))
    for sig in model.signature_defs:
        if sig.subgraph_index == 0:
            sig.inputs = {k: io_map.get(v, v) for k, v in sig.inputs.items()}
            sig.outputs = {k: io_map.get(v, v) for k, v in sig.outputs.items()}
    return remove_dead_code(model)
