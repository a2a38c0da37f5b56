"""Register tiles of the integer 3x3 depthwise kernel: 16 channels x a few output pixels.

LLVM vectorizes a plain loop over channels 16 wide and interleaves it 4 times, so its
vector body needs 64 channels: a MobileNet layer of 16, 48 or 96 channels spends all or
part of every pixel group in the scalar remainder (measured: 6-11 G multiply-adds/s at
48 channels, 21 at 144). These tiles are written as LLVM IR instead (numba intrinsics,
target-independent vector types, as ``gemm_f32``): one tile takes 16 channels, loads
each input pixel of the three rows once as bytes, widens them to float32, and sums the
nine taps for ``npix`` output pixels in registers; a channel tail under 16 uses masked
loads and stores.

The sums are exact integers in float32 (the caller checks the bound: 9 products of an
8-bit input and an 8-bit weight), so their order does not matter; each tile stores
``sum - zpw`` (the input zero point's share, ``zp * sum(w)``, per channel), as the
scalar pixel code does.
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

from .views import view1d

LANES = 16


def _lane_mask(builder, bits):
    """<16 x i1> from the low 16 bits of an i64."""
    i64 = ir.IntType(64)
    vec = ir.VectorType(i64, LANES)
    splat = builder.shuffle_vector(
        builder.insert_element(ir.Constant(vec, None), bits, ir.IntType(32)(0)),
        ir.Constant(vec, None), ir.Constant(ir.VectorType(ir.IntType(32), LANES),
                                            [0] * LANES))
    lanes = builder.and_(splat, ir.Constant(vec, [1 << k for k in range(LANES)]))
    return builder.icmp_unsigned("!=", lanes, ir.Constant(vec, [0] * LANES))


class _Lanes:
    """Loads and stores of 16 lanes at int64 addresses; with ``bits`` (an i64) only the
    lanes set in it are read (others read as zero) and written."""

    def __init__(self, builder, bits=None):
        self.builder = builder
        self.mask = None if bits is None else _lane_mask(builder, bits)
        self.floats_type = ir.VectorType(ir.FloatType(), LANES)

    def _masked(self, name, vec, args):
        bools = ir.VectorType(ir.IntType(1), LANES)
        void = ir.VoidType()
        ftype = (ir.FunctionType(void, [vec, vec.as_pointer(), ir.IntType(32), bools])
                 if name.startswith("llvm.masked.store") else
                 ir.FunctionType(vec, [vec.as_pointer(), ir.IntType(32), bools, vec]))
        fn = cgutils.get_or_insert_function(self.builder.module, ftype, name)
        return self.builder.call(fn, args)

    def _load(self, address, vec, align, suffix):
        ptr = self.builder.inttoptr(address, vec.as_pointer())
        if self.mask is None:
            return self.builder.load(ptr, align=align)
        return self._masked(f"llvm.masked.load.{suffix}.p0", vec,
                            [ptr, ir.IntType(32)(align), self.mask, ir.Constant(vec, None)])

    def floats(self, address):
        return self._load(address, self.floats_type, 4, "v16f32")

    def bytes_as_floats(self, address):
        """16 int8 values, as float32."""
        raw = self._load(address, ir.VectorType(ir.IntType(8), LANES), 1, "v16i8")
        wide = self.builder.sext(raw, ir.VectorType(ir.IntType(32), LANES))
        return self.builder.sitofp(wide, self.floats_type)

    def store(self, value, address):
        ptr = self.builder.inttoptr(address, self.floats_type.as_pointer())
        if self.mask is None:
            self.builder.store(value, ptr, align=4)
        else:
            self._masked("llvm.masked.store.v16f32.p0", self.floats_type,
                         [value, ptr, ir.IntType(32)(4), self.mask])


def _window_sums(builder, lanes, load, x_, rs_, ps_, w_, ws_, sums, stride):
    """``sums[p]`` plus the 3x3 window of pixel ``p`` (columns ``p * stride ..``), tap by
    tap (row by row, left to right) as one multiply-add chain per pixel: inputs at
    ``x_ + i * rs_ + q * ps_`` read with ``load``, float32 weights ``ws_`` floats apart
    from ``w_``. Each input pixel of the three rows is loaded once."""
    i64 = ir.IntType(64)
    fma = cgutils.get_or_insert_function(
        builder.module, ir.FunctionType(lanes.floats_type, [lanes.floats_type] * 3),
        "llvm.fmuladd.v16f32")
    taps = [lanes.floats(builder.add(w_, builder.mul(i64(4 * t), ws_))) for t in range(9)]
    sums = list(sums)
    span = (len(sums) - 1) * stride + 3
    for i in range(3):
        row = builder.add(x_, builder.mul(i64(i), rs_))
        pixels = [load(builder.add(row, builder.mul(i64(q), ps_))) for q in range(span)]
        for p in range(len(sums)):
            for j in range(3):
                sums[p] = builder.call(fma, [pixels[p * stride + j], taps[3 * i + j], sums[p]])
    return sums


def _tile_intrinsic(npix: int, stride: int, masked: bool):
    """``o[p, :16] = sum_ij x[i, p*stride + j, :16] * w[i, j, :16] - zpw[:16]`` for
    ``p < npix``: ``x`` int8 at ``rstride`` bytes per row and ``pstride`` per pixel,
    ``w`` float32 taps ``wstride`` floats apart, ``o`` float32 pixels ``ostride`` floats
    apart. With ``masked``, only the lanes set in ``mask`` are read and written."""

    @intrinsic
    def tile(typingctx, x, rstride, pstride, w, wstride, zpw, o, ostride, mask):
        sig = types.void(x, rstride, pstride, w, wstride, zpw, o, ostride, mask)

        def codegen(context, builder, signature, args):
            i64 = ir.IntType(64)
            x_, rs_, ps_, w_, ws_, z_, o_, os_, m_ = (
                context.cast(builder, v, t, types.int64) for v, t in zip(args, signature.args))
            lanes = _Lanes(builder, m_ if masked else None)
            zero = ir.Constant(lanes.floats_type, [0.0] * LANES)
            sums = _window_sums(builder, lanes, lanes.bytes_as_floats, x_, rs_, ps_, w_, ws_,
                                [zero] * npix, stride)
            zp_share = lanes.floats(z_)
            for p in range(npix):
                lanes.store(builder.fsub(sums[p], zp_share),
                            builder.add(o_, builder.mul(i64(4 * p), os_)))
            return context.get_dummy_value()
        return sig, codegen
    return tile


@njit(cache=True, inline="always")
def bordered(x, n, fill, ph, pw, xp, y0):
    """``xp[r]`` = row ``y0 + r`` of batch item ``n`` of ``x`` padded by (ph, pw), with
    ``fill`` outside the image (the zero point: a padded cell then adds nothing to
    ``sum((x - zp) * w)``; 0.0 for float), cropped to ``xp``'s width. A thread copies
    the rows its outputs need into its own buffer. Plain loops: slice assignments would
    become parfors in the threaded kernels."""
    h, wd, c = x.shape[1], x.shape[2], x.shape[3]
    wp = xp.shape[1]
    left = min(pw, wp) * c
    inner = max(0, min(wd, wp - pw)) * c
    width = wp * c
    for r in range(xp.shape[0]):
        row = view1d(xp[r])
        iy = y0 + r - ph
        if iy < 0 or iy >= h:
            for k in range(width):
                row[k] = fill
            continue
        src, dst, right = view1d(x[n, iy]), row[left:left + inner], row[left + inner:]
        for k in range(left):
            row[k] = fill
        for k in range(inner):   # (indices from 0: offset ones would not vectorize)
            dst[k] = src[k]
        for k in range(right.shape[0]):
            right[k] = fill


def part_rows(oh: int, parts: int, stride: int) -> int:
    """Rows of one thread's bordered buffer: the input rows of its share of ``oh``
    output rows (3x3 windows), for the largest share."""
    most = max((p + 1) * oh // parts - p * oh // parts for p in range(parts))
    return (most - 1) * stride + 3


quad_s1, quad_s1_tail = _tile_intrinsic(4, 1, False), _tile_intrinsic(4, 1, True)
pair_s2, pair_s2_tail = _tile_intrinsic(2, 2, False), _tile_intrinsic(2, 2, True)
single, single_tail = _tile_intrinsic(1, 1, False), _tile_intrinsic(1, 1, True)


@njit(cache=True, inline="always")
def pixel_group(row0, rstride, zpw, w, o, ox, x0, stride, one):
    """One group of output pixels starting at output column ``ox`` / input column
    ``x0``: four at stride 1, two at stride 2, or with ``one`` a single pixel. ``row0``
    the first of the three int8 input rows (``rstride`` bytes apart), ``w`` float32
    ``[3, 3, C]``, ``zpw`` float32 ``[C]``, ``o`` float32 ``[pixels, C]``; all
    C-contiguous."""
    c = o.shape[1]
    full = c - c % LANES
    xa = np.int64(row0.ctypes.data) + x0 * c
    wa, za = np.int64(w.ctypes.data), np.int64(zpw.ctypes.data)
    oa = np.int64(o.ctypes.data) + ox * c * 4
    every = np.int64((1 << LANES) - 1)
    for cb in range(0, full, LANES):
        if one:
            single(xa + cb, rstride, c, wa + 4 * cb, c, za + 4 * cb, oa + 4 * cb, c, every)
        elif stride == 1:
            quad_s1(xa + cb, rstride, c, wa + 4 * cb, c, za + 4 * cb, oa + 4 * cb, c, every)
        else:
            pair_s2(xa + cb, rstride, c, wa + 4 * cb, c, za + 4 * cb, oa + 4 * cb, c, every)
    if full < c:
        tail = np.int64((1 << (c - full)) - 1)
        cb = full
        if one:
            single_tail(xa + cb, rstride, c, wa + 4 * cb, c, za + 4 * cb, oa + 4 * cb, c,
                        tail)
        elif stride == 1:
            quad_s1_tail(xa + cb, rstride, c, wa + 4 * cb, c, za + 4 * cb, oa + 4 * cb, c,
                         tail)
        else:
            pair_s2_tail(xa + cb, rstride, c, wa + 4 * cb, c, za + 4 * cb, oa + 4 * cb, c,
                         tail)


# ----------------------------------------------------------------------------- float32
# The float kernel's 3x3 stride-1 pixel groups (depthwise.py) the same way: float32
# inputs from a zero-bordered copy, the sum started at the bias and taken tap by tap (row by row, left
# to right) as one multiply-add chain, then clamped as ``min(max(v, lo), hi)`` with NaN
# passing through (numba's and TFLite's order of arguments).
def _float_tile_intrinsic(npix: int, stride: int, masked: bool):
    """``o[p, :16] = clamp(b + sum_ij x[i, p*stride + j, :16] * w[i, j, :16])`` for
    ``p < npix``; addresses and strides as ``_tile_intrinsic`` (``pstride`` in bytes),
    ``b`` float32 per channel, ``lo``/``hi`` float32."""

    @intrinsic
    def tile(typingctx, x, rstride, pstride, w, wstride, b, o, ostride, lo, hi, mask):
        sig = types.void(x, rstride, pstride, w, wstride, b, o, ostride, lo, hi, mask)

        def codegen(context, builder, signature, args):
            i32, i64 = ir.IntType(32), ir.IntType(64)
            sa = signature.args
            x_, rs_, ps_, w_, ws_, b_, o_, os_ = (
                context.cast(builder, v, t, types.int64) for v, t in zip(args[:8], sa[:8]))
            lo = context.cast(builder, args[8], sa[8], types.float32)
            hi = context.cast(builder, args[9], sa[9], types.float32)
            m_ = context.cast(builder, args[10], sa[10], types.int64)
            lanes = _Lanes(builder, m_ if masked else None)
            vf = lanes.floats_type

            def splat(value):
                one = builder.insert_element(ir.Constant(vf, None), value, i32(0))
                return builder.shuffle_vector(
                    one, ir.Constant(vf, None),
                    ir.Constant(ir.VectorType(i32, LANES), [0] * LANES))

            lo_v, hi_v = splat(lo), splat(hi)
            sums = _window_sums(builder, lanes, lanes.floats, x_, rs_, ps_, w_, ws_,
                                [lanes.floats(b_)] * npix, stride)
            for p in range(npix):
                v = sums[p]
                v = builder.select(builder.fcmp_ordered(">", lo_v, v), lo_v, v)
                v = builder.select(builder.fcmp_ordered("<", hi_v, v), hi_v, v)
                lanes.store(v, builder.add(o_, builder.mul(i64(4 * p), os_)))
            return context.get_dummy_value()
        return sig, codegen
    return tile


fquad_s1, fquad_s1_tail = _float_tile_intrinsic(4, 1, False), _float_tile_intrinsic(4, 1, True)
fsingle, fsingle_tail = _float_tile_intrinsic(1, 1, False), _float_tile_intrinsic(1, 1, True)


@njit(cache=True, inline="always")
def float_pixel_group(row0, rstride, w, b, o, ox, x0, one, lo, hi):
    """``pixel_group`` for float32 at stride 1 (four pixels, or with ``one`` a single
    one): ``row0`` the first of three float32 input rows (``rstride`` bytes apart), ``w``
    ``[3, 3, C]``, ``b`` ``[C]``, ``o`` ``[pixels, C]`` (all C-contiguous), clamped to
    ``[lo, hi]``."""
    c = o.shape[1]
    full = c - c % LANES
    xa = np.int64(row0.ctypes.data) + x0 * c * 4
    wa, ba = np.int64(w.ctypes.data), np.int64(b.ctypes.data)
    oa = np.int64(o.ctypes.data) + ox * c * 4
    ps = np.int64(4 * c)
    every = np.int64((1 << LANES) - 1)
    for cb in range(0, full, LANES):
        at = 4 * cb
        if one:
            fsingle(xa + at, rstride, ps, wa + at, c, ba + at, oa + at, c, lo, hi, every)
        else:
            fquad_s1(xa + at, rstride, ps, wa + at, c, ba + at, oa + at, c, lo, hi, every)
    if full < c:
        tail = np.int64((1 << (c - full)) - 1)
        at = 4 * full
        if one:
            fsingle_tail(xa + at, rstride, ps, wa + at, c, ba + at, oa + at, c, lo, hi,
                         tail)
        else:
            fquad_s1_tail(xa + at, rstride, ps, wa + at, c, ba + at, oa + at, c, lo, hi,
                          tail)
