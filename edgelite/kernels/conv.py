"""CONV_2D (v1-8), DEPTHWISE_CONV_2D (v1-7) and CONV_3D (v1), float32 NHWC / NDHWC.

CONV_2D and CONV_3D share one path: the input is viewed as 5-D NDHWC (a 2-D conv has
depth 1), each block of output pixels is unrolled by im2col into an arena scratch buffer
of ``[rows, kd*kh*kw*cin_per_group]`` and multiplied by the weights, repacked once in
prepare to ``[groups, K, cout_per_group]``, with the GEMM written straight into the
output, then bias + fused activation in one pass over each block. A block holds up to
16 MiB of columns: a typical layer is one block and one GEMM (few, large GEMMs keep a
multithreaded BLAS busy), a large image is several, so the scratch stays bounded. A 1x1
stride-1 convolution needs no im2col: the input itself is the left matrix. Grouped CONV_2D (input channels = groups x filter channels)
runs one GEMM per group on a column slice of the output.

DEPTHWISE_CONV_2D is a numba loop over output pixels with the channels innermost, so the
multiply-add over channels vectorizes. Sums run in a different order than LiteRT's, so
results agree to float rounding, not bit for bit.

Integer (int8, int16x8, uint8) and hybrid variants of CONV_2D and DEPTHWISE_CONV_2D live in
conv_quantized.py; the prepares here dispatch to them after the shared geometry.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numba import njit, prange

from . import fused_activation, threads
from .api import KernelDef, PrepareContext, Run, TensorSpec
from .im2col import im2col, window_offsets
from .padding import out_size, pad_before

_COL_BLOCK_FLOATS = 1 << 22   # im2col block: 16 MiB, a whole typical conv in one GEMM
_PIXEL_CHANNELS = 32   # from this many channels up, DEPTHWISE_CONV_2D runs per pixel
_TILES = True   # 3x3 float depthwise in register tiles first (tests turn it off)


# --------------------------------------------------------------------------- shared checks
def float_operand(ctx: PrepareContext, i: int, what: str, rank: int | None = None) -> TensorSpec:
    """Input ``i``, required, float32 and not quantized (the float path's operands)."""
    spec = ctx.input(i)
    ctx.check(spec is not None, f"needs its {what} (input {i})")
    quantized = spec.quantization is not None and len(spec.quantization.scales) > 0
    if spec.dtype != np.float32 or quantized:
        raise ctx.error(f"{spec.dtype} {what}{' (quantized)' if quantized else ''} is not "
                        f"supported yet: this path takes float32 only")
    if rank is not None:
        ctx.check(len(spec.shape) == rank,
                  f"{what} must be {rank}-D, got shape {list(spec.shape)}")
    return spec


def bias_operand(ctx: PrepareContext, i: int, channels: int) -> np.ndarray | None:
    """The optional bias at input ``i``: a writable float32 copy when constant, None when
    absent or only known at run time (then ``ins[i]`` holds it)."""
    b = ctx.input(i)
    if b is None:
        return None
    b = float_operand(ctx, i, "bias")
    ctx.check(b.size == channels, f"bias has {b.size} values for {channels} output channels")
    return None if b.data is None else np.array(b.data, np.float32).reshape(-1)


def activation_bounds(ctx: PrepareContext, name: str | None = None) -> tuple:
    """(lo, hi) as float32 for the fused activation (infinite when there is none)."""
    if name is None:
        name = (ctx.options or {}).get("fused_activation_function", "NONE")
    lo, hi = fused_activation.float_bounds(ctx, name) or (-np.inf, np.inf)
    return np.float32(lo), np.float32(hi)


@njit(cache=True)
def bias_activation(out, bias, lo, hi):
    """``out[r, c] = clamp(out[r, c] + bias[c], lo, hi)`` in place (NaN passes through)."""
    for r in range(out.shape[0]):
        for c in range(out.shape[1]):
            out[r, c] = min(max(out[r, c] + bias[c], lo), hi)


def epilogue(ctx: PrepareContext, bias_index: int, channels: int) -> Callable | None:
    """``finish(ins, out2d)``: the bias + fused activation pass, or None when neither
    applies."""
    has_bias = ctx.input(bias_index) is not None
    bias = bias_operand(ctx, bias_index, channels)
    lo, hi = activation_bounds(ctx)
    if not has_bias and lo == -np.inf and hi == np.inf:
        return None
    if has_bias and bias is None:   # known only at run time
        def finish(ins, out2d):
            bias_activation(out2d, ins[bias_index].reshape(-1), lo, hi)
        return finish
    fixed = bias if has_bias else np.zeros(channels, np.float32)

    def finish(ins, out2d):
        bias_activation(out2d, fixed, lo, hi)
    return finish


# --------------------------------------------------------------------------- geometry
def window(ctx: PrepareContext, spatial, kernel, strides, dilations) -> tuple:
    """(out sizes, pads before) per spatial dim, TFLite's SAME/VALID arithmetic."""
    ctx.check(min(strides) > 0 and min(dilations) > 0,
              f"strides {list(strides)} and dilations {list(dilations)} must be > 0")
    padding = ctx.options.get("padding", "SAME")
    ctx.check(padding in ("SAME", "VALID"), f"unknown padding {padding}")
    outs = tuple(out_size(padding, s, k, st, d)
                 for s, k, st, d in zip(spatial, kernel, strides, dilations))
    pads = tuple(pad_before(padding, s, k, st, d, o)
                 for s, k, st, d, o in zip(spatial, kernel, strides, dilations, outs))
    return outs, pads


@njit(cache=True)
def _im2col(x, col, row0, c0, cg, kd, kh, kw, sd, sh, sw, dd, dh, dw, pd, ph, pw,
            od, oh, ow):
    """Rows ``row0 ..`` of the unrolled NDHWC input, channels ``c0 .. c0+cg`` (one group);
    padding cells are zeros."""
    _, d, h, w, _ = x.shape
    for r in range(col.shape[0]):
        q = row0 + r
        ox = q % ow
        q //= ow
        oy = q % oh
        q //= oh
        oz = q % od
        n = q // od
        k = 0
        for a in range(kd):
            iz = oz * sd - pd + a * dd
            for i in range(kh):
                iy = oy * sh - ph + i * dh
                for j in range(kw):
                    ix = ox * sw - pw + j * dw
                    if 0 <= iz < d and 0 <= iy < h and 0 <= ix < w:
                        for ch in range(cg):
                            col[r, k + ch] = x[n, iz, iy, ix, c0 + ch]
                    else:
                        for ch in range(cg):
                            col[r, k + ch] = 0.0
                    k += cg


def gemm_conv(ctx: PrepareContext, x5_shape, kernel, strides, dilations, pack, groups: int,
              cout: int) -> Run:
    """run() for an im2col + GEMM convolution of an NDHWC input (``x5_shape``) whose
    output shape prepare already set. ``pack(filter)`` views a filter as
    ``[groups, K, cout // groups]``; constant filters are packed once, here."""
    n, cin = x5_shape[0], x5_shape[4]
    outs, pads = window(ctx, x5_shape[1:4], kernel, strides, dilations)
    rows, cin_g, cout_g = n * int(np.prod(outs)), cin // groups, cout // groups
    k = int(np.prod(kernel)) * cin_g
    w = ctx.input(1)
    packed = None if w.data is None else np.ascontiguousarray(pack(w.data), np.float32)
    finish = epilogue(ctx, 2, cout)
    slices = [(slice(g * cin_g, (g + 1) * cin_g), slice(g * cout_g, (g + 1) * cout_g))
              for g in range(groups)]
    if tuple(kernel) == (1, 1, 1) and tuple(strides) == (1, 1, 1) and rows > 0:
        def direct(ins, outs_, scratch):   # 1x1 stride 1: the input is the im2col matrix
            wm = packed if packed is not None else pack(ins[1])
            x2d, out2d = ins[0].reshape(rows, cin), outs_[0].reshape(rows, cout)
            for g, (ci, co) in enumerate(slices):
                np.matmul(x2d[:, ci] if groups > 1 else x2d, wm[g], out=out2d[:, co])
            if finish is not None:
                finish(ins, out2d)
        return direct
    block = max(1, min(rows, _COL_BLOCK_FLOATS // max(k, 1)))
    col = ctx.scratch((block, k), np.float32)
    geometry = (*kernel, *strides, *dilations, *pads, *outs)
    two_d = kernel[0] == strides[0] == dilations[0] == outs[0] == x5_shape[1] == 1 \
        and pads[0] == 0
    if two_d:   # the shared NHWC im2col, which copies whole kernel rows
        x_shape = (x5_shape[0], *x5_shape[2:])
        offsets = window_offsets(kernel[1:], dilations[1:], x5_shape[3], cin, cin_g)
        geometry = (*kernel[1:], *strides[1:], *dilations[1:], *pads[1:], *outs[1:], 0.0,
                    offsets)

        def unroll(x, cols, r0, c0):
            im2col(x.reshape(x_shape), cols, r0, c0, cin_g, *geometry)
    else:
        def unroll(x, cols, r0, c0):
            _im2col(x, cols, r0, c0, cin_g, *geometry)

    def run(ins, outs_, scratch):
        x = ins[0].reshape(x5_shape)
        wm = packed if packed is not None else pack(ins[1])
        out2d = outs_[0].reshape(rows, cout)
        for r0 in range(0, rows, block):
            r1 = min(rows, r0 + block)
            cols, out_rows = scratch[col][:r1 - r0], out2d[r0:r1]
            for g, (ci, co) in enumerate(slices):
                unroll(x, cols, r0, ci.start)
                np.matmul(cols, wm[g], out=out_rows[:, co])
            if finish is not None:
                finish(ins, out_rows)
    return run


# --------------------------------------------------------------------------- CONV_2D / 3D
def _options(ctx: PrepareContext, dims: str) -> tuple[tuple, tuple]:
    o = ctx.options
    strides = tuple(int(o.get(f"stride_{a}", 1)) for a in dims)
    dilations = tuple(int(o.get(f"dilation_{a}_factor", 1)) for a in dims)
    return strides, dilations


def _quantized(ctx: PrepareContext) -> bool:
    """An integer input, or a float input with integer weights (hybrid)."""
    from .quant import is_hybrid_op, is_integer_op
    return is_integer_op(ctx) or is_hybrid_op(ctx)


def _shaped_operands(ctx: PrepareContext):
    """(input, filter) 4-D specs: float32 ones, or the quantized/hybrid combinations."""
    if not _quantized(ctx):
        return float_operand(ctx, 0, "input", 4), float_operand(ctx, 1, "filter", 4)
    x, w = ctx.input(0), ctx.input(1)
    ctx.check(w is not None, "needs its filter (input 1)")
    for spec, what in ((x, "input"), (w, "filter")):
        ctx.check(len(spec.shape) == 4, f"{what} must be 4-D, got shape {list(spec.shape)}")
    return x, w


def prepare_conv2d(ctx: PrepareContext) -> Run:
    x, w = _shaped_operands(ctx)
    n, h, wd, cin = x.shape
    cout, kh, kw, cin_g = w.shape
    ctx.check(cin_g > 0 and cin % cin_g == 0,
              f"input has {cin} channels, not a multiple of the filter's {cin_g}")
    groups = cin // cin_g
    ctx.check(cout % groups == 0,
              f"{cout} output channels do not split into {groups} groups")
    (sh, sw), (dh, dw) = _options(ctx, "hw")
    (oh, ow), pads = window(ctx, (h, wd), (kh, kw), (sh, sw), (dh, dw))
    if _quantized(ctx):
        from .conv_quantized import prepare_conv2d_quantized
        return prepare_conv2d_quantized(ctx, ((kh, kw), (sh, sw), (dh, dw), pads, (oh, ow)))
    ctx.set_output(0, (n, oh, ow, cout), np.float32)

    def pack(f):   # OHWI -> [groups, kh*kw*cin_g, cout_g]
        return f.reshape(groups, cout // groups, kh * kw * cin_g).transpose(0, 2, 1)
    bias = bias_operand(ctx, 2, cout)
    if w.data is not None and (bias is not None or ctx.input(2) is None):
        from . import conv_gemm
        geometry = (x.shape, (kh, kw), (sh, sw), (dh, dw), pads, (oh, ow),
                    np.ascontiguousarray(pack(w.data), np.float32), bias,
                    *activation_bounds(ctx))
        run = conv_gemm.prepare_implicit(ctx, *geometry) or \
            conv_gemm.prepare(ctx, *geometry)
        if run is not None:
            return run
    return gemm_conv(ctx, (n, 1, h, wd, cin), (1, kh, kw), (1, sh, sw), (1, dh, dw),
                     pack, groups, cout)


def prepare_conv3d(ctx: PrepareContext) -> Run:
    x = float_operand(ctx, 0, "input", 5)
    w = float_operand(ctx, 1, "filter", 5)
    n, d, h, wd, cin = x.shape
    kd, kh, kw, cin_w, cout = w.shape
    ctx.check(cin == cin_w, f"input has {cin} channels, filter expects {cin_w}")
    strides, dilations = _options(ctx, "dhw")
    outs, _ = window(ctx, (d, h, wd), (kd, kh, kw), strides, dilations)
    ctx.set_output(0, (n, *outs, cout), np.float32)

    def pack(f):   # DHWIO is already [K, cout]
        return f.reshape(1, kd * kh * kw * cin, cout)
    return gemm_conv(ctx, x.shape, (kd, kh, kw), strides, dilations, pack, 1, cout)


# --------------------------------------------------------------------------- DEPTHWISE
@njit(cache=True, inline="always")
def _depthwise_range(x, w, bias, out, mult, sh, sw, dh, dw, ph, pw, lo, hi, n, oy0, oy1):
    """Output rows ``oy0 .. oy1`` of batch item ``n``, per pixel, channels innermost."""
    _, h, wd, _ = x.shape
    ow, cout = out.shape[2], out.shape[3]
    kh, kw, _ = w.shape
    for oy in range(oy0, oy1):
        for ox in range(ow):
            acc = out[n, oy, ox]
            for c in range(cout):
                acc[c] = bias[c]
            for i in range(kh):
                iy = oy * sh - ph + i * dh
                if iy < 0 or iy >= h:
                    continue
                for j in range(kw):
                    ix = ox * sw - pw + j * dw
                    if ix < 0 or ix >= wd:
                        continue
                    xr, wr = x[n, iy, ix], w[i, j]
                    if mult == 1:
                        for c in range(cout):
                            acc[c] += xr[c] * wr[c]
                    else:
                        for c in range(cout):
                            acc[c] += xr[c // mult] * wr[c]
            for c in range(cout):
                v = acc[c]
                v = min(max(v, lo), hi)   # NaN passes through, as in TFLite
                acc[c] = v


@njit(cache=True)
def _depthwise(x, w, bias, out, mult, sh, sw, dh, dw, ph, pw, lo, hi):
    for n in range(out.shape[0]):
        _depthwise_range(x, w, bias, out, mult, sh, sw, dh, dw, ph, pw, lo, hi, n, 0,
                         out.shape[1])


@njit(cache=True, parallel=True)
def _depthwise_parallel(x, w, bias, out, mult, sh, sw, dh, dw, ph, pw, lo, hi, parts):
    """``_depthwise`` with each batch item's rows split into ``parts`` ranges run by
    numba's thread pool."""
    oh = out.shape[1]
    for n in range(out.shape[0]):
        for p in prange(parts):
            _depthwise_range(x, w, bias, out, mult, sh, sw, dh, dw, ph, pw, lo, hi, n,
                             p * oh // parts, (p + 1) * oh // parts)


def prepare_depthwise(ctx: PrepareContext) -> Run:
    x, w = _shaped_operands(ctx)
    n, h, wd, cin = x.shape
    one, kh, kw, cout = w.shape
    ctx.check(one == 1 and cin > 0 and cout % cin == 0,
              f"filter {list(w.shape)} is not [1, kh, kw, k * {cin}] for {cin} input channels")
    mult = cout // cin   # TFLite derives it from the shapes; the option may be stale
    (sh, sw), (dh, dw) = _options(ctx, "hw")
    (oh, ow), (ph, pw) = window(ctx, (h, wd), (kh, kw), (sh, sw), (dh, dw))
    if _quantized(ctx):
        from .conv_quantized import prepare_depthwise_quantized
        return prepare_depthwise_quantized(
            ctx, ((kh, kw), (sh, sw), (dh, dw), (ph, pw), (oh, ow), mult))
    ctx.set_output(0, (n, oh, ow, cout), np.float32)
    has_bias = ctx.input(2) is not None
    bias = bias_operand(ctx, 2, cout)
    zeros = np.zeros(cout, np.float32)
    lo, hi = activation_bounds(ctx)
    weights = None if w.data is None else np.array(w.data, np.float32).reshape(kh, kw, cout)
    if weights is not None and (bias is not None or not has_bias):
        from . import depthwise
        geometry = ((kh, kw), (sh, sw), (dh, dw), (ph, pw), (oh, ow), mult)
        b = zeros if bias is None else bias
        run = depthwise.prepare_tiles(ctx, geometry, weights, b, lo, hi) if _TILES else None
        if run is not None:
            return run
        if cout < _PIXEL_CHANNELS:
            return depthwise.prepare_rows(ctx, geometry, weights, b, lo, hi)
        run = depthwise.prepare_quads(ctx, geometry, weights, b, lo, hi)
        if run is not None:
            return run
    args = (mult, sh, sw, dh, dw, ph, pw, lo, hi)
    parts = threads.parts(ctx, oh, oh * ow * cout * kh * kw)

    def run(ins, outs, scratch):
        b = bias if bias is not None else ins[2] if has_bias else zeros
        wt = weights if weights is not None else ins[1].reshape(kh, kw, cout)
        if parts > 1:
            _depthwise_parallel(ins[0], wt, b, outs[0], *args, parts)
        else:
            _depthwise(ins[0], wt, b, outs[0], *args)
    return run


KERNELS = {
    "CONV_2D": KernelDef(prepare_conv2d, 8),
    "DEPTHWISE_CONV_2D": KernelDef(prepare_depthwise, 7),
    "CONV_3D": KernelDef(prepare_conv3d, 1),
}
