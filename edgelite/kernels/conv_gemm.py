"""Float32 CONV_2D as one numba call per invoke: im2col and GEMM by row blocks.

Output pixels are cut into blocks of rows; for each block and group, the block's im2col
rows (a 1x1 stride-1 convolution reads the input itself) are multiplied by the weights
(packed once at prepare in ``gemm_f32``'s panels) in register tiles that add the bias and
apply the fused activation as they store into the output. With ``num_threads > 1`` the
rows are split into one contiguous range per thread, or with few rows the weight panels,
and numba's pool runs them (each thread its own im2col scratch). conv.py keeps a numpy
path for CONV_3D.

The integer CONV_2D below runs the same blocks on the exact VNNI GEMM (``gemm_vnni``), or
on numpy's OpenBLAS sgemm (``gemm.py``) over float32-exact sums.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from . import gemm_f32, gemm_vnni, threads
from .api import with_views
from .gemm import SGEMM, sgemm
from .gemm_f32 import gemm_tiles, implicit_row
from .gemm_vnni import gemm_u8s8, gemm_u8s8_requant, implicit_row_requant
from .im2col import im2col, window_offsets
from .requantize import q31_flat, requantize_affine
from .views import view1d, view2d

_BLOCK_BYTES = 1 << 19   # im2col + output rows of one block: about half of L2
_MIN_ROWS_PER_PART = 32   # fewer rows per thread: split the output channels instead


@njit(cache=True, inline="always")
def _rows(x, cols, wp, bias, lo, hi, out2d, r0, r1, p0, p1, direct, geo, offsets):
    """Output rows ``r0 .. r1`` in blocks of ``cols.shape[0]`` rows; of each group's
    output only the weight panels ``p0 .. p1`` (all: ``0, wp.shape[1]``). ``geo``: kh, kw,
    sh, sw, dh, dw, ph, pw, oh, ow (one array: fewer arguments to unbox per call)."""
    kh, kw, sh, sw, dh, dw, ph, pw, oh, ow = (geo[0], geo[1], geo[2], geo[3], geo[4],
                                              geo[5], geo[6], geo[7], geo[8], geo[9])
    groups = wp.shape[0]
    cout_g = out2d.shape[1] // groups
    cin_g = x.shape[3] // groups
    x2d = view2d(x, x.shape[3])
    block = cols.shape[0]
    for b0 in range(r0, r1, block):
        b1 = min(r1, b0 + block)
        o = out2d[b0:b1]
        for g in range(groups):
            if direct:
                a = x2d[b0:b1, g * cin_g:(g + 1) * cin_g]
            else:
                a = cols[:b1 - b0]
                im2col(x, a, b0, g * cin_g, cin_g, kh, kw, sh, sw, dh, dw, ph, pw, oh, ow,
                       np.float32(0.0), offsets)
            gemm_tiles(a, wp[g], bias[g], lo, hi, o[:, g * cout_g:(g + 1) * cout_g], p0, p1,
                       cout_g)


@njit(cache=True)
def conv_rows(x, cols, wp, bias, lo, hi, out2d, direct, by_cols, geo, offsets):
    _rows(x, cols[0], wp, bias, lo, hi, out2d, 0, out2d.shape[0], 0, wp.shape[1], direct,
          geo, offsets)


@njit(cache=True, parallel=True)
def conv_rows_parallel(x, cols, wp, bias, lo, hi, out2d, direct, by_cols, geo, offsets):
    """``conv_rows`` in ``cols.shape[0]`` parts run by numba's pool (each with its own
    im2col scratch): contiguous ranges of rows, or with ``by_cols`` (few rows, many
    channels) of weight panels."""
    parts, rows, panels = cols.shape[0], out2d.shape[0], wp.shape[1]
    for p in prange(parts):
        if by_cols:
            _rows(x, cols[p], wp, bias, lo, hi, out2d, 0, rows, p * panels // parts,
                  (p + 1) * panels // parts, direct, geo, offsets)
        else:
            _rows(x, cols[p], wp, bias, lo, hi, out2d, p * rows // parts,
                  (p + 1) * rows // parts, 0, panels, direct, geo, offsets)


def prepare(ctx, x_shape, kernel, strides, dilations, pads, outs, packed, bias, lo, hi):
    """A Run for a 2-D NHWC convolution with constant weights ``[groups, K, cout_g]`` and
    a constant (or None) bias."""
    n, _, w, cin = x_shape
    groups, k, cout_g = packed.shape
    cout = groups * cout_g
    (kh, kw), (sh, sw), (dh, dw), (ph, pw), (oh, ow) = kernel, strides, dilations, pads, outs
    rows = n * oh * ow
    direct = (kh, kw, sh, sw) == (1, 1, 1, 1) and (ph, pw) == (0, 0)
    block = max(16, min(rows, _BLOCK_BYTES // (4 * (k + cout))))
    wp = np.stack([gemm_f32.pack(packed[g]) for g in range(groups)])
    panels = wp.shape[1]
    b = np.zeros(cout, np.float32) if bias is None else np.asarray(bias, np.float32)
    bp = np.stack([gemm_f32.pad_bias(b[g * cout_g:(g + 1) * cout_g], cout_g, panels)
                   for g in range(groups)])
    by_cols = rows < _MIN_ROWS_PER_PART * ctx.num_threads and panels >= 2 * ctx.num_threads
    parts = threads.parts(ctx, panels // 2 if by_cols else max(1, rows // 16),
                          rows * k * cout)
    # a 1x1 stride-1 conv reads its input directly: an empty array (not in the arena)
    # carries its block size
    cols = np.empty((parts, block, 0), np.float32) if direct else \
        ctx.scratch((parts, block, k), np.float32)
    offsets = window_offsets((kh, kw), (dh, dw), w, cin, cin // groups)
    geo = np.array((kh, kw, sh, sw, dh, dw, ph, pw, oh, ow), np.int64)
    kernel_fn = conv_rows_parallel if parts > 1 else conv_rows
    lo32, hi32 = np.float32(lo), np.float32(hi)
    shape = tuple(x_shape)
    def arguments(ins, outs_, scratch):
        return (ins[0].reshape(shape), cols if direct else scratch[cols], wp, bp, lo32, hi32,
                outs_[0].reshape(rows, cout), direct, by_cols, geo, offsets)
    return with_views(arguments, kernel_fn)


# --------------------------------------------------------------------------- integer
# Integer CONV_2D (conv_quantized's ruy path when every sum is exact in float32 and the
# float64 affine epilogue is exact): per block, the raw integer inputs as float32 (im2col
# padding with the input zero point, whose effect the bias already corrects), the sgemm
# into a float32 accumulator block, and requantize_affine into the int8/int16 output.
@njit(cache=True, inline="always")
def _int_rows(fn, x, cols, acc, wm, pad, affine, lo, hi, out2d, r0, r1, direct, kh, kw,
              sh, sw, dh, dw, ph, pw, oh, ow, offsets):
    groups, _, cout_g = wm.shape
    cin_g = x.shape[3] // groups
    x2d = view2d(x, x.shape[3])
    block = cols.shape[0]
    for b0 in range(r0, r1, block):
        b1 = min(r1, b0 + block)
        rows = b1 - b0
        a_acc = acc[:rows]
        a = cols[:rows]
        for g in range(groups):
            if direct:
                src = x2d[b0:b1, g * cin_g:(g + 1) * cin_g]
                for r in range(rows):
                    for k in range(cin_g):
                        a[r, k] = src[r, k]
            else:
                im2col(x, a, b0, g * cin_g, cin_g, kh, kw, sh, sw, dh, dw, ph, pw, oh, ow,
                       pad, offsets)
            sgemm(fn, a, wm[g], a_acc[:, g * cout_g:(g + 1) * cout_g], 0.0)
        requantize_affine(view1d(a_acc), affine, lo, hi, view1d(out2d[b0:b1]))


@njit(cache=True)
def conv_int_rows(fn, x, cols, acc, wm, pad, affine, lo, hi, out2d, direct, kh, kw, sh, sw,
                  dh, dw, ph, pw, oh, ow, offsets):
    _int_rows(fn, x, cols[0], acc[0], wm, pad, affine, lo, hi, out2d, 0, out2d.shape[0],
              direct, kh, kw, sh, sw, dh, dw, ph, pw, oh, ow, offsets)


@njit(cache=True, parallel=True)
def conv_int_rows_parallel(fn, x, cols, acc, wm, pad, affine, lo, hi, out2d, direct, kh,
                           kw, sh, sw, dh, dw, ph, pw, oh, ow, offsets):
    parts, rows = cols.shape[0], out2d.shape[0]
    for p in prange(parts):
        _int_rows(fn, x, cols[p], acc[p], wm, pad, affine, lo, hi, out2d,
                  p * rows // parts, (p + 1) * rows // parts, direct, kh, kw, sh, sw, dh,
                  dw, ph, pw, oh, ow, offsets)


# With AVX-512 VNNI (gemm_vnni.py) the same sums come from an exact 8-bit GEMM instead:
# per block the inputs as unsigned bytes (int8 with the sign bit flipped: x + 128), K
# padded to a multiple of 4, rows to a multiple of 4, the int32 products less
# ``flip * sum(w)`` per channel, then the same requantize_affine. Same numbers, so the same
# outputs, bit for bit.
@njit(cache=True, inline="always")
def _int_rows_vnni(x, cols_x, cols_u, acc_p, acc_c, bp, corr, flip, pad, affine, lo, hi,
                   q31, qa, qi, out2d, r0, r1, direct, geo, offsets):
    kh, kw, sh, sw, dh, dw, ph, pw, oh, ow = (geo[0], geo[1], geo[2], geo[3], geo[4],
                                              geo[5], geo[6], geo[7], geo[8], geo[9])
    cin = x.shape[3]
    k = cin if direct else offsets.shape[0]
    kp, cout = cols_u.shape[1], out2d.shape[1]
    x2d = view2d(x, cin)
    block = acc_c.shape[0]
    for b0 in range(r0, r1, block):
        b1 = min(r1, b0 + block)
        rows = b1 - b0
        a = cols_u[:(rows + 3) // 4 * 4]
        # the inputs as unsigned bytes, in long flat loops where the rows are whole
        if direct and kp == cin:
            src, dst = view1d(x2d[b0:b1]), view1d(a[:rows])
            for i in range(dst.shape[0]):
                dst[i] = np.uint8(src[i]) ^ flip
        elif direct:
            for r in range(rows):
                src, dst = x2d[b0 + r], a[r]
                for j in range(k):
                    dst[j] = np.uint8(src[j]) ^ flip
        else:
            im2col(x, cols_x[:rows], b0, 0, cin, kh, kw, sh, sw, dh, dw, ph, pw, oh, ow, pad,
                   offsets)
            flat = view1d(a[:rows])
            for i in range(flat.shape[0]):
                flat[i] ^= flip
        if kp > k:
            for r in range(rows):
                for j in range(k, kp):
                    a[r, j] = 0
        if not q31:   # requantized in the tile's store
            gemm_u8s8_requant(a, bp, corr, affine[0], affine[1], lo, hi, out2d[b0:b1], rows)
        else:
            _q31_block(a, bp, corr, acc_p, acc_c, qa, qi, out2d, b0, b1, rows, cout)


@njit(cache=True, inline="always")
def _q31_block(a, bp, corr, acc_p, acc_c, qa, qi, out2d, b0, b1, rows, cout):
    """One block's int32 sums, then ruy's fixed-point rounding (where the float64
    affine form is not exact)."""
    acc = acc_p[:a.shape[0]]
    gemm_u8s8(a, bp, corr, acc)
    if acc.shape[1] == cout:
        sums = acc[:rows]
    else:   # drop the padding columns
        sums = acc_c[:rows]
        for r in range(rows):
            src, dst = acc[r], sums[r]
            for c in range(cout):
                dst[c] = src[c]
    q31_flat(view1d(sums), qa[0], qa[1], qa[2], qa[3], qa[4], qi[0], qi[1], qi[2],
             view1d(out2d[b0:b1]))


@njit(cache=True)
def conv_int_rows_vnni(x, cols_x, cols_u, acc_p, acc_c, bp, corr, flip, pad, affine, lo, hi,
                       q31, qa, qi, out2d, direct, geo, offsets):
    _int_rows_vnni(x, cols_x[0], cols_u[0], acc_p[0], acc_c[0], bp, corr, flip, pad, affine,
                   lo, hi, q31, qa, qi, out2d, 0, out2d.shape[0], direct, geo, offsets)


@njit(cache=True, parallel=True)
def conv_int_rows_vnni_parallel(x, cols_x, cols_u, acc_p, acc_c, bp, corr, flip, pad,
                                affine, lo, hi, q31, qa, qi, out2d, direct, geo, offsets):
    parts, rows = cols_u.shape[0], out2d.shape[0]
    for p in prange(parts):
        _int_rows_vnni(x, cols_x[p], cols_u[p], acc_p[p], acc_c[p], bp, corr, flip, pad,
                       affine, lo, hi, q31, qa, qi, out2d, p * rows // parts,
                       (p + 1) * rows // parts, direct, geo, offsets)


def _epilogue_args(finish, params):
    """(q31, affine, lo, hi, qa, qi, tiled length) for the kernels taking either epilogue:
    ``requantize_affine``'s parameters, or ``q31_flat``'s as two arrays (``qa``: bias,
    multiplier, left, right, nudge tiled, int32 ``[5, L]``; ``qi``: zero point, lo, hi,
    int64), the unused one as placeholders. (Arrays, not a tuple of eight: numba takes a
    heterogeneous tuple argument apart on every call, ~0.6 us.)"""
    q31 = finish is q31_flat
    if q31:
        qa = np.ascontiguousarray(np.stack([np.asarray(v, np.int32) for v in params[:5]]))
        qi = np.array([int(v) for v in params[5:]], np.int64)
        return True, np.zeros((2, 1)), np.float64(0), np.float64(0), qa, qi, qa.shape[1]
    affine, lo, hi = params
    return (False, affine, np.float64(lo), np.float64(hi), np.zeros((5, 1), np.int32),
            np.zeros(3, np.int64), affine.shape[1])


def _prepare_int_vnni(gemm, zp_in: float, epilogue):
    """``prepare_int`` on the VNNI GEMM, or None where it does not apply: 8-bit inputs,
    one group, weights in int8's range, K small enough for int32 sums."""
    ctx = gemm.ctx
    x_dtype = ctx.input(0).dtype
    w = gemm.wmat
    if not gemm_vnni.AVAILABLE or x_dtype not in (np.dtype(np.int8), np.dtype(np.uint8)) \
            or gemm.groups != 1 or gemm.k > 60_000 or w.size == 0 \
            or w.min() < -128 or w.max() > 127:
        return None
    q31, affine, lo64, hi64, qa, qi, tiled = epilogue
    k, cout = gemm.k, gemm.cout
    rows = gemm.n * gemm.rows
    tile = tiled // cout
    block = max(tile, min(rows, _BLOCK_BYTES // (k + 8 * cout)) // tile * tile)
    block4 = -(-block // 4) * 4
    bp = gemm_vnni.pack(np.asarray(w[0], np.int64).astype(np.int8))
    kp, np16 = bp.shape[1] * 4, bp.shape[0] * gemm_vnni.PANEL
    parts = threads.parts(ctx, max(1, rows // 16), rows * k * cout)
    cols = ctx.scratch((parts, block4, kp), np.uint8)
    # the int32 sums go through memory only for the Q31 epilogue; the affine one is
    # applied in the tiles' store (per column, padded to whole panels)
    # (acc_c's rows are the block size either way)
    acc_p = ctx.scratch((parts, block4 if q31 else 0, np16), np.int32)
    acc_c = ctx.scratch((parts, block, cout if q31 else 0), np.int32)
    per_column = np.zeros((2, np16))   # affine's scale and offset, once per column
    if not q31:
        per_column[:, :cout] = affine[:, :cout]
    flip = np.uint8(128 if x_dtype == np.int8 else 0)
    corr = np.zeros(np16, np.int32)
    corr[:cout] = int(flip) * gemm.colsum
    pad = x_dtype.type(int(zp_in))
    geo = np.array(gemm.geometry, np.int64)
    offsets, direct = gemm.offsets, gemm.direct
    kernel_fn = conv_int_rows_vnni_parallel if parts > 1 else conv_int_rows_vnni
    def arguments(ins, outs, scratch):
        cols_u = scratch[cols]
        return (ins[0], cols_u.view(x_dtype), cols_u, scratch[acc_p], scratch[acc_c], bp,
                corr, flip, pad, per_column, lo64, hi64, q31, qa, qi,
                outs[0].reshape(rows, cout), direct, geo, offsets)
    return with_views(arguments, kernel_fn)


def prepare_int(gemm, zp_in: float, finish, params):
    """A Run for conv_quantized's ``ConvGemm`` whose epilogue ``finish(acc, *params,
    out)`` is ``requantize_affine`` (``affine`` tiled to a multiple of the channels) or
    ``q31_flat``: on the VNNI GEMM where it applies; else, for the affine epilogue and
    float32-exact sums, on the float32 sgemm; None otherwise."""
    epilogue = _epilogue_args(finish, params)
    q31, affine, lo64, hi64 = epilogue[:4]
    run = (None if q31 else _prepare_int_implicit_vnni(gemm, zp_in, affine, lo64, hi64)) \
        or _prepare_int_implicit(gemm, zp_in, *epilogue[:6]) or \
        _prepare_int_vnni(gemm, zp_in, epilogue)
    if run is not None:
        return run
    if SGEMM == 0 or gemm.dtype != np.float32 or finish is not requantize_affine:
        return None
    affine, lo, hi = params
    ctx = gemm.ctx
    k, cout = gemm.k, gemm.cout
    rows = gemm.n * gemm.rows
    kh, kw, sh, sw, dh, dw, ph, pw, oh, ow = gemm.geometry
    direct = gemm.direct
    # a block: whole tiles of the affine parameters, in about half of L2
    tile = affine.shape[1] // cout
    block = max(tile, min(rows, _BLOCK_BYTES // (4 * (k + cout))) // tile * tile)
    parts = threads.parts(ctx, max(1, rows // 16), rows * k * cout)
    cols = ctx.scratch((parts, block, k), np.float32)
    acc = ctx.scratch((parts, block, cout), np.float32)
    wm = np.ascontiguousarray(gemm.wmat, np.float32)
    geometry = (kh, kw, sh, sw, dh, dw, ph, pw, oh, ow, gemm.offsets)
    pad, lo64, hi64 = np.float32(zp_in), np.float64(lo), np.float64(hi)
    kernel_fn = conv_int_rows_parallel if parts > 1 else conv_int_rows

    def run(ins, outs, scratch):
        kernel_fn(SGEMM, ins[0], scratch[cols], scratch[acc], wm, pad, affine, lo64, hi64,
                  outs[0].reshape(rows, cout), direct, *geometry)
    return run


# --------------------------------------------------------------------------- in place
# A convolution over few input channels (a first layer: an image) unrolls into im2col
# rows of a few short runs (9 values for 3x3x3), which cost as much to copy as the GEMM
# itself. Instead the input is copied once into a zero-bordered buffer and the tiles read
# each window in place through its offsets (gemm_f32.implicit_row): no im2col.
_IMPLICIT_MAX_CIN = 4


@njit(cache=True)
def _bordered(x, xp, ph, pw, pad):
    """``xp[n]`` = ``x[n]`` (as ``xp``'s type) at offset (ph, pw), ``pad`` elsewhere."""
    h, w, c = x.shape[1], x.shape[2], x.shape[3]
    for n in range(xp.shape[0]):
        for y in range(xp.shape[1]):
            row = view1d(xp[n, y])
            iy = y - ph
            if iy < 0 or iy >= h:
                row[:] = pad
                continue
            src = view1d(x[n, iy])
            left, inner = pw * c, w * c
            row[:left] = pad
            for j in range(inner):
                row[left + j] = src[j]
            row[left + inner:] = pad


@njit(cache=True, inline="always")
def _implicit_rows(xp, offs, wp, bias, lo, hi, out4, sh, sw, y0, y1):
    cin = xp.shape[3]
    for n in range(out4.shape[0]):
        for oy in range(y0, y1):
            xrow = view1d(xp[n, oy * sh])
            implicit_row(xrow, sw * cin, offs, wp, bias, lo, hi, out4[n, oy],
                         out4.shape[3])


@njit(cache=True)
def conv_implicit(x, xp, offs, wp, bias, lo, hi, out4, sh, sw, ph, pw):
    _bordered(x, xp, ph, pw, np.float32(0.0))
    _implicit_rows(xp, offs, wp, bias, lo, hi, out4, sh, sw, 0, out4.shape[1])


@njit(cache=True, parallel=True)
def conv_implicit_parallel(x, xp, offs, wp, bias, lo, hi, out4, sh, sw, ph, pw, parts):
    _bordered(x, xp, ph, pw, np.float32(0.0))
    oh = out4.shape[1]
    for p in prange(parts):
        _implicit_rows(xp, offs, wp, bias, lo, hi, out4, sh, sw, p * oh // parts,
                       (p + 1) * oh // parts)


def prepare_implicit(ctx, x_shape, kernel, strides, dilations, pads, outs, packed, bias,
                     lo, hi):
    """A Run for an ungrouped conv over at most 4 input channels with a kernel larger
    than 1x1, or None."""
    n, h, w, cin = x_shape
    groups, k, cout = packed.shape
    (kh, kw), (sh, sw), (dh, dw), (ph, pw), (oh, ow) = kernel, strides, dilations, pads, outs
    if groups != 1 or cin > _IMPLICIT_MAX_CIN or kh * kw == 1:
        return None
    hp = max(h + ph, (oh - 1) * sh + (kh - 1) * dh + 1)
    wpad = max(w + pw, (ow - 1) * sw + (kw - 1) * dw + 1)
    xp = ctx.scratch((n, hp, wpad, cin), np.float32)
    offs = window_offsets((kh, kw), (dh, dw), wpad, cin, cin)
    wp = gemm_f32.pack(packed[0])
    b = gemm_f32.pad_bias(bias, cout, wp.shape[0])
    parts = threads.parts(ctx, oh, n * oh * ow * k * cout)
    lo32, hi32 = np.float32(lo), np.float32(hi)
    shape, out_shape = tuple(x_shape), (n, oh, ow, cout)

    if parts > 1:
        def run_parallel(ins, outs_, scratch):
            conv_implicit_parallel(ins[0].reshape(shape), scratch[xp], offs, wp, b, lo32,
                                   hi32, outs_[0].reshape(out_shape), sh, sw, ph, pw, parts)
        return run_parallel

    def run(ins, outs_, scratch):
        conv_implicit(ins[0].reshape(shape), scratch[xp], offs, wp, b, lo32, hi32,
                      outs_[0].reshape(out_shape), sh, sw, ph, pw)
    return run


# The integer first layers the same way: the raw int8/uint8 inputs as float32 (padding
# cells hold the input zero point, as the im2col path pads), the tiles' float32 sums exact
# (the caller checked their bound), each output row requantized as the other paths do.
@njit(cache=True, inline="always")
def _int_implicit_rows(xp, offs, wp, zero_bias, sums, affine, lo, hi, q31, qa, qi, out4, sh,
                       sw, y0, y1):
    cin, cout = xp.shape[3], out4.shape[3]
    inf = np.float32(np.inf)
    for n in range(out4.shape[0]):
        for oy in range(y0, y1):
            xrow = view1d(xp[n, oy * sh])
            implicit_row(xrow, sw * cin, offs, wp, zero_bias, -inf, inf, sums, cout)
            flat, o = view1d(sums), view1d(out4[n, oy])
            if q31:
                q31_flat(flat, qa[0], qa[1], qa[2], qa[3], qa[4], qi[0], qi[1], qi[2], o)
            else:
                requantize_affine(flat, affine, lo, hi, o)


@njit(cache=True)
def conv_int_implicit(x, xp, pad, offs, wp, zero_bias, sums, affine, lo, hi, q31, qa, qi,
                      out4, sh, sw, ph, pw):
    _bordered(x, xp, ph, pw, pad)
    _int_implicit_rows(xp, offs, wp, zero_bias, sums[0], affine, lo, hi, q31, qa, qi, out4,
                       sh, sw, 0, out4.shape[1])


@njit(cache=True, parallel=True)
def conv_int_implicit_parallel(x, xp, pad, offs, wp, zero_bias, sums, affine, lo, hi, q31,
                               qa, qi, out4, sh, sw, ph, pw):
    _bordered(x, xp, ph, pw, pad)
    parts, oh = sums.shape[0], out4.shape[1]
    for p in prange(parts):
        _int_implicit_rows(xp, offs, wp, zero_bias, sums[p], affine, lo, hi, q31, qa, qi,
                           out4, sh, sw, p * oh // parts, (p + 1) * oh // parts)


# With VNNI the integer first layers read their windows in place from bytes instead: the
# input copied once, sign bits flipped, into a buffer bordered with the zero point. A
# window's kernel row is ``kw * cin`` contiguous bytes there, read as whole 32-bit groups
# of ``vpdpbusd`` (the bytes past its end, up to 3, meet zero weights); the tiles read
# each group through a table of offsets and requantize as they store
# (gemm_vnni.implicit_row_requant).
@njit(cache=True, inline="always")
def _flipped_bordered(x, n, xb, hp, wp, ph, pw, pad, flip):
    """``xb`` (flat, ``hp`` rows of ``wp`` pixels, then slack) = batch item ``n`` of
    ``x`` with its sign bit ``flip`` applied, at offset (ph, pw); ``pad`` (the flipped
    zero point) elsewhere. Flat loops indexed from 0, so that they vectorize."""
    h, w, cin = x.shape[1], x.shape[2], x.shape[3]
    width = wp * cin
    left = min(pw, wp) * cin
    inner = max(0, min(w, wp - pw)) * cin
    for k in range(xb.shape[0] - hp * width):
        xb[hp * width + k] = 0
    for y in range(hp):
        row = xb[y * width:(y + 1) * width]
        iy = y - ph
        if iy < 0 or iy >= h:
            for k in range(width):
                row[k] = pad
            continue
        src, dst, right = view1d(x[n, iy]), row[left:left + inner], row[left + inner:]
        for k in range(left):
            row[k] = pad
        for k in range(inner):
            dst[k] = np.uint8(src[k]) ^ flip
        for k in range(right.shape[0]):
            right[k] = pad


@njit(cache=True, inline="always")
def _implicit_vnni_rows(xb, row_bytes, offs, bp, corr, per_column, lo, hi, out4, n, sh,
                        step, y0, y1):
    for oy in range(y0, y1):
        implicit_row_requant(xb[oy * sh * row_bytes:], step, offs, bp, corr,
                             per_column[0], per_column[1], lo, hi, out4[n, oy],
                             out4.shape[2])


@njit(cache=True)
def conv_int_implicit_vnni(x, xb, hp, wp, pad, flip, offs, bp, corr, per_column, lo, hi,
                           out4, sh, sw, ph, pw):
    cin = x.shape[3]
    for n in range(out4.shape[0]):
        _flipped_bordered(x, n, xb, hp, wp, ph, pw, pad, flip)
        _implicit_vnni_rows(xb, wp * cin, offs, bp, corr, per_column, lo, hi, out4, n, sh,
                            np.int64(sw * cin), 0, out4.shape[1])


@njit(cache=True, parallel=True)
def conv_int_implicit_vnni_parallel(x, xb, hp, wp, pad, flip, offs, bp, corr, per_column,
                                    lo, hi, out4, sh, sw, ph, pw, parts):
    oh, cin = out4.shape[1], x.shape[3]
    for n in range(out4.shape[0]):
        _flipped_bordered(x, n, xb, hp, wp, ph, pw, pad, flip)
        for p in prange(parts):
            _implicit_vnni_rows(xb, wp * cin, offs, bp, corr, per_column, lo, hi, out4, n,
                                sh, np.int64(sw * cin), p * oh // parts,
                                (p + 1) * oh // parts)


def _prepare_int_implicit_vnni(gemm, zp_in: float, affine, lo64, hi64):
    """The integer first layer (1-4 input channels, a kernel over 1x1, undilated
    columns, one group) on VNNI tiles reading windows in place, for the affine epilogue;
    None where it does not apply."""
    ctx = gemm.ctx
    x_dtype = ctx.input(0).dtype
    kh, kw, sh, sw, dh, dw, ph, pw, oh, ow = gemm.geometry
    w = gemm.wmat
    if not gemm_vnni.AVAILABLE or x_dtype not in (np.dtype(np.int8), np.dtype(np.uint8)) \
            or gemm.groups != 1 or gemm.cin > 4 or kh * kw == 1 or dw != 1 or w.size == 0 \
            or w.min() < -128 or w.max() > 127:
        return None
    n, h, wd, cin, cout = gemm.n, gemm.h, gemm.w, gemm.cin, gemm.cout
    span = kw * cin                      # bytes of one kernel row of a window
    groups = -(-span // 4)               # read as this many 32-bit groups
    wk = np.asarray(w[0], np.int64).reshape(kh, span, cout)
    w4 = np.zeros((kh, groups * 4, cout), np.int64)
    w4[:, :span] = wk                    # the bytes past the row: zero weights
    bp = gemm_vnni.pack(w4.reshape(kh * groups * 4, cout).astype(np.int8))
    np16 = bp.shape[0] * gemm_vnni.PANEL
    hp = max(h + ph, (oh - 1) * sh + (kh - 1) * dh + 1)
    wpad = max(wd + pw, (ow - 1) * sw + kw)
    xb = ctx.scratch((hp * wpad * cin + 4,), np.uint8)
    offs = np.array([i * dh * wpad * cin + 4 * q for i in range(kh) for q in range(groups)],
                    np.int64)
    flip = np.uint8(128 if x_dtype == np.int8 else 0)
    pad = np.uint8((int(zp_in) & 0xFF) ^ int(flip))
    corr = np.zeros(np16, np.int32)
    corr[:cout] = int(flip) * gemm.colsum
    per_column = np.zeros((2, np16))
    per_column[:, :cout] = affine[:, :cout]
    parts = threads.parts(ctx, oh, n * oh * ow * kh * groups * 4 * cout)
    out_shape = (n, oh, ow, cout)

    def arguments(ins, outs, scratch):
        return (ins[0], scratch[xb], hp, wpad, pad, flip, offs, bp, corr, per_column, lo64,
                hi64, outs[0].reshape(out_shape), sh, sw, ph, pw) + ((parts,) if parts > 1
                                                                      else ())
    return with_views(arguments, conv_int_implicit_vnni_parallel if parts > 1
                      else conv_int_implicit_vnni)


def _prepare_int_implicit(gemm, zp_in: float, q31: bool, affine, lo64, hi64, qa, qi):
    """The integer conv over 1-4 input channels (a first layer) read in place, or None:
    8-bit input, one group, a kernel larger than 1x1, float32-exact sums."""
    ctx = gemm.ctx
    x_dtype = ctx.input(0).dtype
    kh, kw, sh, sw, dh, dw, ph, pw, oh, ow = gemm.geometry
    if x_dtype not in (np.dtype(np.int8), np.dtype(np.uint8)) or gemm.groups != 1 \
            or gemm.cin > _IMPLICIT_MAX_CIN or kh * kw == 1 or gemm.dtype != np.float32:
        return None
    n, h, w, cin, cout = gemm.n, gemm.h, gemm.w, gemm.cin, gemm.cout
    hp = max(h + ph, (oh - 1) * sh + (kh - 1) * dh + 1)
    wpad = max(w + pw, (ow - 1) * sw + (kw - 1) * dw + 1)
    xp = ctx.scratch((n, hp, wpad, cin), np.float32)
    offs = window_offsets((kh, kw), (dh, dw), wpad, cin, cin)
    wp = gemm_f32.pack(np.asarray(gemm.wmat[0], np.float32))
    zero_bias = np.zeros(wp.shape[0] * gemm_f32.PANEL, np.float32)
    parts = threads.parts(ctx, oh, n * oh * ow * gemm.k * cout)
    sums = ctx.scratch((parts, ow, cout), np.float32)
    pad = np.float32(zp_in)
    out_shape = (n, oh, ow, cout)
    kernel_fn = conv_int_implicit_parallel if parts > 1 else conv_int_implicit

    def run(ins, outs, scratch):
        kernel_fn(ins[0], scratch[xp], pad, offs, wp, zero_bias, scratch[sums], affine, lo64,
                  hi64, q31, qa, qi, outs[0].reshape(out_shape), sh, sw, ph, pw)
    return run
