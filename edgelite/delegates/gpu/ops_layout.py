"""Data movement as gathers: RESHAPE/SQUEEZE/EXPAND_DIMS (copies), and TRANSPOSE,
CONCATENATION, PAD/PADV2/MIRROR_PAD, STRIDED_SLICE/SLICE, DEPTH_TO_SPACE/SPACE_TO_DEPTH,
TILE, BROADCAST_TO, GATHER, REVERSE_V2, PACK/UNPACK, SPLIT/SPLIT_V, BATCH_TO_SPACE_ND /
SPACE_TO_BATCH_ND and RESIZE_NEAREST_NEIGHBOR through index tables; RESIZE_BILINEAR with
the CPU kernel's per-axis neighbours and weights.

An index table says, for every output element, which input element it copies. It is
made at prepare by running the op's own CPU kernel once on inputs that hold their own
(1-based) positions: the float inputs laid end to end, each element's value its position
in that concatenation plus one, exact in float32 below 2**24 elements. A 0 in the result
is padding (PAD's zeros). The GPU kernel then reads ``IX`` and loads from whichever input
the position falls in, so every op here matches the CPU kernel's semantics exactly
(negative strides, ellipsis masks, mirror modes, ...) without re-deriving them.
"""

from __future__ import annotations

import numpy as np

from ...kernels.api import PrepareContext, TensorSpec
from ...kernels.resize import _bilinear_axis
from . import wgsl

_EXACT = 1 << 24
_COPIES = {"RESHAPE", "SQUEEZE", "EXPAND_DIMS"}
TABLE_OPS = {"TRANSPOSE", "CONCATENATION", "PAD", "PADV2", "MIRROR_PAD", "STRIDED_SLICE",
             "SLICE", "DEPTH_TO_SPACE", "SPACE_TO_DEPTH", "TILE", "BROADCAST_TO", "GATHER",
             "GATHER_ND", "REVERSE_V2", "PACK", "UNPACK", "SPLIT", "SPLIT_V",
             "BATCH_TO_SPACE_ND", "SPACE_TO_BATCH_ND", "RESIZE_NEAREST_NEIGHBOR"}


def _is_data(spec) -> bool:
    return spec is not None and spec.dtype == np.float32


def check_copy(op, ins, outs) -> bool:
    return ins[0].size == outs[0].size


def lower_copy(L, op) -> None:
    out = op.outputs[0]
    L.elementwise(L.spec(out).size, L.store(out, "i", L.load(op.inputs[0], "i")))


def check_table(op, ins, outs) -> bool:
    """Every non-float input known at prepare; the float inputs small enough to number."""
    if any(s is not None and not _is_data(s) and s.data is None for s in ins):
        return False
    total = sum(s.size for s in ins if _is_data(s))
    return 0 < total < _EXACT and all(o.size > 0 for o in outs) and \
        op.options.get("fused_activation_function", "NONE") in wgsl.SUPPORTED_ACTIVATIONS


def index_tables(op, specs) -> tuple[list[int], list[np.ndarray]]:
    """(the float inputs, in numbering order; one int64 table per output, -1 = zero)."""
    from ...kernels.registry import builtin_kernels

    data, ins, arrays, base = [], [], [], 0
    for t in op.inputs:
        spec = specs[t] if t >= 0 else None
        if spec is None:
            ins.append(None)
            arrays.append(None)
        elif _is_data(spec):
            data.append(t)
            ins.append(TensorSpec(t, spec.name, spec.shape, spec.dtype, spec.quantization))
            arrays.append((np.arange(spec.size, dtype=np.float64) + base + 1)
                          .astype(np.float32).reshape(spec.shape))
            base += spec.size
        else:
            ins.append(TensorSpec(t, spec.name, spec.shape, spec.dtype, spec.quantization,
                                  spec.data))
            arrays.append(spec.data)
    outs = [TensorSpec(t, specs[t].name, specs[t].shape, specs[t].dtype) for t in op.outputs]
    ctx = PrepareContext(op, 0, ins, outs)
    run = builtin_kernels()[op.opcode].prepare(ctx)
    results = [np.zeros(s.shape, s.dtype) for s in outs]
    scratch = [np.zeros(shape, dtype) for shape, dtype in ctx.scratch_requests]
    run(arrays, results, scratch)
    return data, [np.rint(r).astype(np.int64).reshape(-1) - 1 for r in results]


def lower_table(L, op) -> None:
    data, tables = index_tables(op, L.specs)
    sizes = [L.spec(t).size for t in data]
    value = wgsl.act(op.options.get("fused_activation_function", "NONE"), "r")  # CONCAT
    for out, table in zip(op.outputs, tables):
        if len(data) == 1 and np.array_equal(table, np.arange(table.size)):
            r = L.load(data[0], "i")
            L.elementwise(table.size, L.store(out, "i", wgsl.act(
                op.options.get("fused_activation_function", "NONE"), r)))
            continue
        off = L.table(np.where(table < 0, 0xFFFFFFFF, table).astype(np.uint32))
        chain, start = [], 0
        for t, n in zip(data, sizes):
            chain.append(f"if (v < {start + n}u) {{ r = {L.load(t, f'v - {start}u')}; }}")
            start += n
        body = (f"let v = IX[{off}u + i];\n  var r = 0.0;\n"
                f"  if (v != 0xFFFFFFFFu) {{\n    " + "\n    else ".join(chain) + "\n  }\n"
                f"  {L.store(out, 'i', value)}")
        L.elementwise(table.size, body)


def check_bilinear(op, ins, outs) -> bool:
    return len(ins[0].shape) == 4 and not (op.options.get("align_corners")
                                           and op.options.get("half_pixel_centers"))


def lower_bilinear(L, op) -> None:
    x, out = op.inputs[0], op.outputs[0]
    nb, h, w, c = L.spec(x).shape
    _, oh, ow, _ = L.spec(out).shape
    align = bool(op.options.get("align_corners"))
    half = bool(op.options.get("half_pixel_centers"))
    y0, y1, wy0, wy1 = _bilinear_axis(h, oh, align, half)
    x0, x1, wx0, wx1 = _bilinear_axis(w, ow, align, half)
    rows = L.table(np.concatenate([y0, y1, x0, x1]))
    weights = L.const(np.concatenate([wy0, wy1, wx0, wx1]))
    py, px = rows, rows + 2 * oh
    wy, wx = weights, weights + 2 * oh

    def at(yy: str, xx: str) -> str:
        return L.load(x, f"((c0 * {h}u + {yy}) * {w}u + {xx}) * {c}u + c3")
    body = f"""{wgsl.unravel((nb, oh, ow, c), 'i', 'c')}
  let a = IX[{py}u + c1]; let b = IX[{py + oh}u + c1];
  let p = IX[{px}u + c2]; let q = IX[{px + ow}u + c2];
  let wy0 = wt({wy}u + c1); let wy1 = wt({wy + oh}u + c1);
  let wx0 = wt({wx}u + c2); let wx1 = wt({wx + ow}u + c2);
  var acc = 0.0;
  acc += {at('a', 'p')} * (wy0 * wx0);
  acc += {at('a', 'q')} * (wy0 * wx1);
  acc += {at('b', 'p')} * (wy1 * wx0);
  acc += {at('b', 'q')} * (wy1 * wx1);
  {L.store(out, 'i', 'acc')}"""
    L.elementwise(L.spec(out).size, body)
