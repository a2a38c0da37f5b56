"""AVERAGE_POOL_2D / MAX_POOL_2D, MEAN / SUM / REDUCE_MAX / REDUCE_MIN / REDUCE_PROD along
constant axes, and SOFTMAX / LOG_SOFTMAX along the last axis: one invocation per output
element (per row for the softmaxes), looping over its window, reduced axes or row.

Average pooling divides by the number of window cells inside the input (TFLite: SAME
padding never counts), softmax subtracts the row maximum first, as the CPU kernels do.
"""

from __future__ import annotations

import numpy as np

from ...kernels.padding import pad_before
from . import wgsl


def check_pool(op, ins, outs) -> bool:
    return len(ins[0].shape) == 4 and op.options.get("fused_activation_function", "NONE") \
        in wgsl.SUPPORTED_ACTIVATIONS


def lower_pool(L, op) -> None:
    x, out = op.inputs[0], op.outputs[0]
    nb, h, w, c = L.spec(x).shape
    _, oh, ow, _ = L.spec(out).shape
    o = op.options
    kh, kw = int(o["filter_height"]), int(o["filter_width"])
    sh, sw = int(o["stride_h"]), int(o["stride_w"])
    pad = o.get("padding", "SAME")
    ph, pw = pad_before(pad, h, kh, sh, 1, oh), pad_before(pad, w, kw, sw, 1, ow)
    is_max = op.opcode == "MAX_POOL_2D"
    init = "-3.4028234663852886e38" if is_max else "0.0"
    combine = "acc = max(acc, v);" if is_max else "acc = acc + v;"
    result = "acc" if is_max else "acc / f32(max(count, 1u))"
    body = f"""{wgsl.unravel((nb, oh, ow, c), 'i', 'c')}
  let y0 = max(i32(c1 * {sh}u) - {ph}, 0);
  let y1 = min(i32(c1 * {sh}u) - {ph} + {kh}, {h});
  let x0 = max(i32(c2 * {sw}u) - {pw}, 0);
  let x1 = min(i32(c2 * {sw}u) - {pw} + {kw}, {w});
  var acc: f32 = {init};
  var count = 0u;
  for (var y = y0; y < y1; y++) {{
    for (var xx = x0; xx < x1; xx++) {{
      let v = {L.load(x, f'((c0 * {h}u + u32(y)) * {w}u + u32(xx)) * {c}u + c3')};
      {combine}
      count++;
    }}
  }}
  {L.store(out, 'i', wgsl.act(o.get('fused_activation_function', 'NONE'), result))}"""
    L.elementwise(L.spec(out).size, body)


_REDUCE = {"MEAN": ("0.0", "acc + v"), "SUM": ("0.0", "acc + v"),
           "REDUCE_PROD": ("1.0", "acc * v"),
           "REDUCE_MAX": ("-3.4028234663852886e38", "max(acc, v)"),
           "REDUCE_MIN": ("3.4028234663852886e38", "min(acc, v)")}


def _axes(op, specs_in) -> list[int] | None:
    axis = specs_in[1]
    if axis is None or axis.data is None:
        return None
    rank = len(specs_in[0].shape)
    return sorted({int(a) % rank for a in np.asarray(axis.data).reshape(-1)}) if rank else []


def check_reduce(op, ins, outs) -> bool:
    return len(ins) == 2 and _axes(op, ins) is not None and ins[0].size > 0


def lower_reduce(L, op) -> None:
    x, out = op.inputs[0], op.outputs[0]
    shape = L.spec(x).shape
    axes = _axes(op, [L.spec(x), L.spec(op.inputs[1])])
    kept = [d for d in range(len(shape)) if d not in axes]
    st = wgsl.strides(shape)
    kept_shape = tuple(shape[d] for d in kept)
    base = " + ".join(f"k{j} * {wgsl.u(st[d])}" for j, d in enumerate(kept)) or "0u"
    count = int(np.prod([shape[d] for d in axes], dtype=np.int64))
    inner = " + ".join(f"r{j} * {wgsl.u(st[d])}" for j, d in enumerate(axes)) or "0u"
    red_shape = tuple(shape[d] for d in axes)
    init, combine = _REDUCE[op.opcode]
    result = f"acc / {wgsl.f(count)}" if op.opcode == "MEAN" else "acc"
    body = f"""{wgsl.unravel(kept_shape, 'i', 'k')}
  let base = {base};
  var acc: f32 = {init};
  for (var j = 0u; j < {count}u; j++) {{
    {wgsl.unravel(red_shape, 'j', 'r')}
    let v = {L.load(x, f'base + {inner}')};
    acc = {combine};
  }}
  {L.store(out, 'i', result)}"""
    L.elementwise(max(L.spec(out).size, 1), body)


def check_softmax(op, ins, outs) -> bool:
    return len(ins[0].shape) >= 1 and ins[0].shape[-1] > 0


def lower_softmax(L, op) -> None:
    x, out = op.inputs[0], op.outputs[0]
    shape = L.spec(x).shape
    depth = shape[-1]
    rows = L.spec(x).size // depth
    beta = float(np.float32(op.options.get("beta", 1.0)))
    if op.opcode == "LOG_SOFTMAX":
        finish = f"""var total = 0.0;
  for (var j = 0u; j < {depth}u; j++) {{ total += exp({L.load(x, 'row + j')} - m); }}
  let lt = log(total);
  for (var j = 0u; j < {depth}u; j++) {{
    {L.store(out, 'row + j', f"{L.load(x, 'row + j')} - m - lt")}
  }}"""
    else:
        finish = f"""var total = 0.0;
  for (var j = 0u; j < {depth}u; j++) {{
    let e = exp(({L.load(x, 'row + j')} - m) * {wgsl.f(beta)});
    {L.store(out, 'row + j', 'e')}
    total += e;
  }}
  let inv = 1.0 / total;
  for (var j = 0u; j < {depth}u; j++) {{
    {L.store(out, 'row + j', f"{L.load(out, 'row + j')} * inv")}
  }}"""
    body = f"""let row = i * {depth}u;
  var m = -3.4028234663852886e38;
  for (var j = 0u; j < {depth}u; j++) {{ m = max(m, {L.load(x, 'row + j')}); }}
  {finish}"""
    L.elementwise(rows, body)
