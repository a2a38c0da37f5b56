"""CONV_2D, FULLY_CONNECTED and BATCH_MATMUL as one tiled matrix product; DEPTHWISE_CONV_2D,
TRANSPOSE_CONV and MediaPipe's Convolution2DTransposeBias as direct per-output loops.

The tiled product computes ``C[b, m, n] = sum_k A(b, m, k) B(b, k, n)`` in 32x32 output
tiles: a workgroup of 8x8 invocations stages a 32x8 slice of A and an 8x32 slice of B in
workgroup memory per step of k, and each invocation accumulates a 4x4 block in
registers. Only the loaders differ per op:

* CONV_2D 1x1 stride 1: A is the input itself (pixels x channels);
* other CONV_2D: implicit im2col, A(m, k) computes the input pixel of output pixel m
  under filter tap k = (ky, kx, ic) and reads 0 in the padding;
* B is the filter repacked once to [K, N] (OHWI -> (ky, kx, ic) x oc);
* the epilogue adds the bias and applies the fused activation on the way out.
"""

from __future__ import annotations

import struct

import numpy as np

from ...kernels.padding import out_size, pad_before
from . import wgsl
from .wgsl import u

TM, TN, TK = 32, 32, 8


def matmul(L, batch: int, m: int, n: int, k: int, load_a: str, load_b: str,
           store: str) -> None:
    """Dispatch the tiled product; the three WGSL bodies see (b, m, k) / (b, k, n) /
    (b, m, n, v) and must return / store."""
    src = f"""
fn load_a(b: u32, m: u32, k: u32) -> f32 {{ {load_a} }}
fn load_b(b: u32, k: u32, n: u32) -> f32 {{ {load_b} }}
fn store_c(b: u32, m: u32, n: u32, v: f32) {{ {store} }}
var<workgroup> As: array<f32, {TM * TK}>;
var<workgroup> Bs: array<f32, {TK * TN}>;
@compute @workgroup_size(8, 8)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {{
  let b = wg.z;
  let m0 = wg.y * {TM}u;
  let n0 = wg.x * {TN}u;
  var acc: array<f32, 16>;
  for (var q = 0u; q < 16u; q++) {{ acc[q] = 0.0; }}
  for (var k0 = 0u; k0 < {k}u; k0 += {TK}u) {{
    for (var r = 0u; r < 4u; r++) {{
      let e = li + r * 64u;
      let am = e / {TK}u;            // A: k fastest across invocations (contiguous rows)
      let ak = e % {TK}u;
      var va = 0.0;
      if (m0 + am < {m}u && k0 + ak < {k}u) {{ va = load_a(b, m0 + am, k0 + ak); }}
      As[ak * {TM}u + am] = va;
      let bk = e / {TN}u;            // B: n fastest ([K, N] rows)
      let bn = e % {TN}u;
      var vb = 0.0;
      if (n0 + bn < {n}u && k0 + bk < {k}u) {{ vb = load_b(b, k0 + bk, n0 + bn); }}
      Bs[e] = vb;
    }}
    workgroupBarrier();
    for (var kk = 0u; kk < {TK}u; kk++) {{
      var a: array<f32, 4>;
      var bb: array<f32, 4>;
      for (var q = 0u; q < 4u; q++) {{
        a[q] = As[kk * {TM}u + lid.y * 4u + q];
        bb[q] = Bs[kk * {TN}u + lid.x * 4u + q];
      }}
      for (var p = 0u; p < 4u; p++) {{
        for (var q = 0u; q < 4u; q++) {{ acc[p * 4u + q] = fma(a[p], bb[q], acc[p * 4u + q]); }}
      }}
    }}
    workgroupBarrier();
  }}
  for (var p = 0u; p < 4u; p++) {{
    for (var q = 0u; q < 4u; q++) {{
      let gm = m0 + lid.y * 4u + p;
      let gn = n0 + lid.x * 4u + q;
      if (gm < {m}u && gn < {n}u) {{ store_c(b, gm, gn, acc[p * 4u + q]); }}
    }}
  }}
}}
"""
    L.kernel(src, (-(-n // TN), -(-m // TM), batch))


def _epilogue(L, op, out: int, bias: int | None, channel: str, index: str, value: str,
              activation: str | None = None) -> str:
    v = value if bias is None or bias < 0 else f"{value} + {L.load(bias, channel)}"
    name = activation or op.options.get("fused_activation_function", "NONE")
    return L.store(out, index, wgsl.act(name, v))


def _filter_kn(L, w: int, k: int, n: int) -> str:
    """B(k, n) of an OHWI / [N, K] filter: repacked to [K, N] when constant."""
    if L.is_const(w):
        data = np.asarray(L.spec(w).data, np.float32).reshape(n, k)
        off = L.const(data.T, key=("kn", w))
        return f"return wt({off}u + k * {n}u + n);"
    return f"return {L.load(w, f'n * {k}u + k')};"


def check_conv(op, ins, outs) -> bool:
    x, w = ins[0], ins[1]
    return len(x.shape) == 4 and len(w.shape) == 4 and x.shape[3] == w.shape[3]  # no groups


def lower_conv(L, op) -> None:
    x, w, out = op.inputs[0], op.inputs[1], op.outputs[0]
    bias = op.inputs[2] if len(op.inputs) > 2 else None
    nb, h, wd, cin = L.spec(x).shape
    cout, kh, kw, _ = L.spec(w).shape
    o = op.options
    sh, sw = int(o.get("stride_h", 1)), int(o.get("stride_w", 1))
    dh, dw = int(o.get("dilation_h_factor", 1)), int(o.get("dilation_w_factor", 1))
    pad = o.get("padding", "SAME")
    oh, ow = out_size(pad, h, kh, sh, dh), out_size(pad, wd, kw, sw, dw)
    ph, pw = pad_before(pad, h, kh, sh, dh, oh), pad_before(pad, wd, kw, sw, dw, ow)
    k = kh * kw * cin
    if (kh, kw, sh, sw) == (1, 1, 1, 1):
        load_a = f"return {L.load(x, f'm * {cin}u + k')};"
    else:
        load_a = f"""
  let ox = m % {ow}u; let t = m / {ow}u; let oy = t % {oh}u; let nb = t / {oh}u;
  let ic = k % {cin}u; let tap = k / {cin}u; let kx = tap % {kw}u; let ky = tap / {kw}u;
  let iy = i32(oy * {sh}u + ky * {dh}u) - {ph};
  let ix = i32(ox * {sw}u + kx * {dw}u) - {pw};
  if (iy < 0 || iy >= {h} || ix < 0 || ix >= {wd}) {{ return 0.0; }}
  return {L.load(x, f'((nb * {h}u + u32(iy)) * {wd}u + u32(ix)) * {cin}u + ic')};"""
    store = _epilogue(L, op, out, bias, "n", f"m * {cout}u + n", "v")
    matmul(L, 1, nb * oh * ow, cout, k, load_a, _filter_kn(L, w, k, cout), store)


def lower_fully_connected(L, op) -> None:
    x, w, out = op.inputs[0], op.inputs[1], op.outputs[0]
    bias = op.inputs[2] if len(op.inputs) > 2 else None
    n, k = L.spec(w).shape
    m = L.spec(x).size // k
    load_a = f"return {L.load(x, f'm * {k}u + k')};"
    store = _epilogue(L, op, out, bias, "n", f"m * {n}u + n", "v")
    matmul(L, 1, m, n, k, load_a, _filter_kn(L, w, k, n), store)


def check_fully_connected(op, ins, outs) -> bool:
    w = ins[1]
    return len(w.shape) == 2 and ins[0].size % max(w.shape[1], 1) == 0 and \
        op.options.get("weights_format", "DEFAULT") == "DEFAULT"


def _matrix_loader(L, t: int, shape, out_batch, adjoint: bool, first: str, second: str):
    """WGSL returning element (first, second) of batch b of a [..., r, c] operand,
    transposed when ``adjoint``, with its batch dims broadcast to ``out_batch``."""
    rows, cols = shape[-2], shape[-1]
    row, col = (second, first) if adjoint else (first, second)
    bshape = tuple(shape[:-2])
    base = "0u"
    if int(np.prod(bshape, dtype=np.int64)) > 1:
        prefix = f"b{t}_"
        base = f"({wgsl.broadcast_index(bshape, out_batch, prefix)}) * {u(rows * cols)}"
        return (f"{wgsl.unravel(out_batch, 'b', prefix)}\n"
                f"  return {L.load(t, f'{base} + {row} * {cols}u + {col}')};")
    return f"return {L.load(t, f'{row} * {cols}u + {col}')};"


def check_batch_matmul(op, ins, outs) -> bool:
    return len(ins[0].shape) >= 2 and len(ins[1].shape) >= 2


def lower_batch_matmul(L, op) -> None:
    a, b, out = op.inputs[0], op.inputs[1], op.outputs[0]
    sa, sb, so = L.spec(a).shape, L.spec(b).shape, L.spec(out).shape
    adj_x, adj_y = bool(op.options.get("adj_x")), bool(op.options.get("adj_y"))
    m, n = so[-2], so[-1]
    k = sa[-2] if adj_x else sa[-1]
    out_batch = tuple(so[:-2]) or (1,)
    batch = int(np.prod(out_batch, dtype=np.int64))
    load_a = _matrix_loader(L, a, sa, out_batch, adj_x, "m", "k")
    load_b = _matrix_loader(L, b, sb, out_batch, adj_y, "k", "n")
    store = L.store(out, f"(b * {u(m)} + m) * {u(n)} + n", "v")
    matmul(L, batch, m, n, k, load_a, load_b, store)


# --------------------------------------------------------------------------- direct loops
def check_depthwise(op, ins, outs) -> bool:
    x, w = ins[0], ins[1]
    return len(x.shape) == 4 and len(w.shape) == 4 and w.shape[0] == 1 and \
        x.shape[3] > 0 and w.shape[3] % x.shape[3] == 0


def lower_depthwise(L, op) -> None:
    x, w, out = op.inputs[0], op.inputs[1], op.outputs[0]
    bias = op.inputs[2] if len(op.inputs) > 2 else None
    nb, h, wd, cin = L.spec(x).shape
    _, kh, kw, cout = L.spec(w).shape
    _, oh, ow, _ = L.spec(out).shape
    mult = cout // cin
    o = op.options
    sh, sw = int(o.get("stride_h", 1)), int(o.get("stride_w", 1))
    dh, dw = int(o.get("dilation_h_factor", 1)), int(o.get("dilation_w_factor", 1))
    pad = o.get("padding", "SAME")
    ph, pw = pad_before(pad, h, kh, sh, dh, oh), pad_before(pad, wd, kw, sw, dw, ow)
    body = f"""{wgsl.unravel((nb, oh, ow, cout), 'i', 'c')}
  let ic = c3 / {mult}u;
  var acc = 0.0;
  for (var ky = 0u; ky < {kh}u; ky++) {{
    let iy = i32(c1 * {sh}u + ky * {dh}u) - {ph};
    if (iy < 0 || iy >= {h}) {{ continue; }}
    for (var kx = 0u; kx < {kw}u; kx++) {{
      let ix = i32(c2 * {sw}u + kx * {dw}u) - {pw};
      if (ix < 0 || ix >= {wd}) {{ continue; }}
      acc = fma({L.load(x, f'((c0 * {h}u + u32(iy)) * {wd}u + u32(ix)) * {cin}u + ic')},
                {L.load(w, f'(ky * {kw}u + kx) * {cout}u + c3')}, acc);
    }}
  }}
  {_epilogue(L, op, out, bias, 'c3', 'i', 'acc')}"""
    L.elementwise(L.spec(out).size, body)


def _transpose_conv(L, op, x: int, w: int, bias, padding: str, sh: int, sw: int,
                    activation: str) -> None:
    """Gather form: output (oy, ox) sums the taps ky with (oy + ph - ky) = iy * sh."""
    out = op.outputs[0]
    nb, h, wd, cin = L.spec(x).shape
    cout, kh, kw, _ = L.spec(w).shape
    _, oh, ow, _ = L.spec(out).shape
    ph, pw = pad_before(padding, oh, kh, sh, 1, h), pad_before(padding, ow, kw, sw, 1, wd)
    body = f"""{wgsl.unravel((nb, oh, ow, cout), 'i', 'c')}
  var acc = 0.0;
  for (var ky = 0u; ky < {kh}u; ky++) {{
    let ty = i32(c1) + {ph} - i32(ky);
    if (ty < 0 || ty % {sh} != 0 || ty / {sh} >= {h}) {{ continue; }}
    for (var kx = 0u; kx < {kw}u; kx++) {{
      let tx = i32(c2) + {pw} - i32(kx);
      if (tx < 0 || tx % {sw} != 0 || tx / {sw} >= {wd}) {{ continue; }}
      let xb = ((c0 * {h}u + u32(ty / {sh})) * {wd}u + u32(tx / {sw})) * {cin}u;
      let wb = ((c3 * {kh}u + ky) * {kw}u + kx) * {cin}u;
      for (var ic = 0u; ic < {cin}u; ic++) {{
        acc = fma({L.load(x, 'xb + ic')}, {L.load(w, 'wb + ic')}, acc);
      }}
    }}
  }}
  {_epilogue(L, op, out, bias, 'c3', 'i', 'acc', activation)}"""
    L.elementwise(L.spec(out).size, body)


def check_transpose_conv(op, ins, outs) -> bool:
    return ins[0] is not None and ins[0].data is not None and len(ins[2].shape) == 4


def lower_transpose_conv(L, op) -> None:
    o = op.options
    bias = op.inputs[3] if len(op.inputs) > 3 else None
    _transpose_conv(L, op, op.inputs[2], op.inputs[1], bias, o.get("padding", "SAME"),
                    int(o.get("stride_h", 1)), int(o.get("stride_w", 1)),
                    o.get("fused_activation_function", "NONE"))


def check_transpose_conv_bias(op, ins, outs) -> bool:
    raw = bytes(op.custom_options or b"")
    return len(raw) >= 12 and len(ins) >= 3 and ins[2] is not None and \
        struct.unpack_from("<i", raw)[0] in (1, 2)


def lower_transpose_conv_bias(L, op) -> None:
    code, sw, sh = struct.unpack_from("<iii", bytes(op.custom_options))
    _transpose_conv(L, op, op.inputs[0], op.inputs[1], op.inputs[2],
                    {1: "SAME", 2: "VALID"}[code], sh, sw, "NONE")

