"""Exact 8-bit GEMM with AVX-512 VNNI (``vpdpbusd``), for the integer CONV_2D.

``vpdpbusd`` multiplies 4 unsigned bytes by 4 signed bytes and adds the four products to
an int32 lane, 16 lanes per instruction: 64 multiply-adds, exact (no saturation). The
activations are made unsigned by flipping their sign bit (``x ^ 0x80 = x + 128`` for
int8; uint8 as it is), and the ``128 * sum(w)`` this adds to every sum is taken off per
output channel afterwards: the int32 result is the exact integer sum, the same number
the float32 path computes (so the requantization that follows is unchanged).

The kernel is a 4-row x 64-column (or x 16-column) register tile written in LLVM IR
(numba intrinsic): per group of 4 input values, one 32-bit broadcast per row, one
64-byte load per 16 columns of packed weights, 16 (or 4) ``vpdpbusd``. Weights are
packed once at prepare as ``[N/16 panels][K/4][16][4]`` bytes, K and N padded with
zeros. Measured on this project's machine (Zen 4): 135-220 G multiply-adds/s against
44-51 for the float32 sgemm of the same integer sums.

Used only where the CPU has AVX-512 F/BW/VNNI and numba compiles for the host CPU (not
when ``NUMBA_CPU_NAME`` picks another target: the instruction might not exist there),
never on other architectures; ``EDGELITE_NO_VNNI=1`` turns it off (tests of the other
path).
"""

from __future__ import annotations

import os

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

MR = 4          # rows of a register tile
PANEL = 16      # int32 columns of one zmm accumulator


def _available() -> bool:
    if os.environ.get("EDGELITE_NO_VNNI") == "1":
        return False
    try:
        import llvmlite.binding as ll
        from numba.core import config

        if getattr(config, "CPU_NAME", None) or getattr(config, "CPU_FEATURES", None):
            return False
        features = set(ll.get_host_cpu_features().flatten().split(","))
    except Exception:   # noqa: BLE001 - not x86, or llvmlite cannot say
        return False
    return {"+avx512f", "+avx512bw", "+avx512vnni"} <= features


AVAILABLE = _available()


def _tile_intrinsic(panels: int, requant: bool = False, mr: int = MR,
                    indirect: bool = False):
    """An intrinsic computing a ``mr x 16*panels`` int32 tile ``c = a @ b - corr``: ``a``
    uint8 rows of ``4 * kq`` bytes (row stride ``lda`` bytes), ``b`` the first of
    ``panels`` packed panels (``pstride`` bytes apart), ``corr`` int32 per column, ``c``
    int32 (row stride ``ldc`` elements).

    With ``requant`` the tile is requantized as it is stored, as ``requantize_affine``
    does (``trunc(clamp(c * scale + offset, lo, hi))``, low 8 bits kept): ``scale``,
    ``offset`` float64 per column, ``c`` then 8-bit rows of ``ldc`` bytes, of which the
    first ``nrows`` are stored and, in the tile's last panel, the columns set in
    ``mask``. With ``indirect`` the intrinsic takes one more argument, ``offs``: int64
    byte offsets, one per group of 4 values, so that row ``i``'s group ``k`` is read at
    ``a + i * lda + offs[k]`` (a convolution window read in place) instead of
    ``a + i * lda + 4 * k``."""
    def codegen(context, builder, signature, args):
        a_, lda_, b_, pstride_, kq_, corr_, c_, ldc_ = args[:8]
        i8, i32, i64 = ir.IntType(8), ir.IntType(32), ir.IntType(64)
        v16, v64 = ir.VectorType(i32, PANEL), ir.VectorType(i8, 64)
        dot = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(v16, [v16, v64, v64]),
            "llvm.x86.avx512.vpdpbusd.512")
        lda64, pstride64, kq64, ldc64 = (
            context.cast(builder, v, t, types.int64) for v, t in
            zip((lda_, pstride_, kq_, ldc_), (signature.args[1], signature.args[3],
                                              signature.args[4], signature.args[7])))
        zero = ir.Constant(v16, [0] * PANEL)
        accs = [[cgutils.alloca_once_value(builder, zero) for _ in range(panels)]
                for _ in range(mr)]
        a_base = builder.inttoptr(a_, i8.as_pointer())
        b_base = builder.inttoptr(b_, i8.as_pointer())
        lanes0 = ir.Constant(ir.VectorType(i32, PANEL), [0] * PANEL)
        if indirect:
            offs_base = builder.inttoptr(
                context.cast(builder, args[14], signature.args[14], types.int64),
                i64.as_pointer())
        with cgutils.for_range(builder, kq64) as loop:
            if indirect:   # group k of every row at its own offset (a window in place)
                k4 = builder.load(builder.gep(offs_base, [loop.index]))
            else:
                k4 = builder.mul(loop.index, i64(4))
            b_vecs = []
            for j in range(panels):
                off = builder.add(builder.mul(i64(j), pstride64),
                                  builder.mul(loop.index, i64(64)))
                ptr = builder.bitcast(builder.gep(b_base, [off]), v64.as_pointer())
                b_vecs.append(builder.load(ptr, align=1))
            for i in range(mr):
                ptr = builder.gep(a_base, [builder.add(builder.mul(i64(i), lda64), k4)])
                word = builder.load(builder.bitcast(ptr, i32.as_pointer()), align=1)
                lanes = builder.insert_element(ir.Constant(v16, None), word, i32(0))
                lanes = builder.bitcast(
                    builder.shuffle_vector(lanes, ir.Constant(v16, None), lanes0), v64)
                for j in range(panels):
                    acc = builder.load(accs[i][j])
                    builder.store(builder.call(dot, [acc, lanes, b_vecs[j]]), accs[i][j])
        corr_base = builder.inttoptr(corr_, i32.as_pointer())
        corr_vecs = [builder.load(builder.bitcast(builder.gep(corr_base, [i64(PANEL * j)]),
                                                  v16.as_pointer()), align=4)
                     for j in range(panels)]
        if requant:
            _store_requantized(context, builder, signature, args, accs, corr_vecs,
                               panels, ldc64, mr)
            return context.get_dummy_value()
        c_base = builder.inttoptr(c_, i32.as_pointer())
        for i in range(mr):
            for j in range(panels):
                ptr = builder.gep(c_base, [builder.add(builder.mul(i64(i), ldc64),
                                                       i64(PANEL * j))])
                builder.store(builder.sub(builder.load(accs[i][j]), corr_vecs[j]),
                              builder.bitcast(ptr, v16.as_pointer()), align=4)
        return context.get_dummy_value()

    if indirect:
        @intrinsic
        def tile_at(typingctx, a, lda, b, pstride, kq, corr, c, ldc, scale, offset, lo, hi,
                    nrows, mask, offs):
            return types.void(a, lda, b, pstride, kq, corr, c, ldc, scale, offset, lo, hi,
                              nrows, mask, offs), codegen
        return tile_at

    @intrinsic
    def tile(typingctx, a, lda, b, pstride, kq, corr, c, ldc, scale, offset, lo, hi, nrows,
             mask):
        return types.void(a, lda, b, pstride, kq, corr, c, ldc, scale, offset, lo, hi, nrows,
                          mask), codegen
    return tile


def _store_requantized(context, builder, signature, args, accs, corr_vecs, panels, ldc64,
                       mr):
    """The ``requant`` store of ``_tile_intrinsic``."""
    c_, scale_, offset_, lo_, hi_, nrows_, mask_ = (args[6], *args[8:14])
    i1, i8, i32, i64 = ir.IntType(1), ir.IntType(8), ir.IntType(32), ir.IntType(64)
    f64 = ir.DoubleType()
    vd, vi, vb = (ir.VectorType(f64, PANEL), ir.VectorType(i32, PANEL),
                  ir.VectorType(i8, PANEL))
    bools = ir.VectorType(i1, PANEL)
    mod = builder.module
    fma = cgutils.get_or_insert_function(mod, ir.FunctionType(vd, [vd, vd, vd]),
                                         "llvm.fmuladd.v16f64")
    mstore = cgutils.get_or_insert_function(
        mod, ir.FunctionType(ir.VoidType(), [vb, vb.as_pointer(), i32, bools]),
        "llvm.masked.store.v16i8.p0")
    sig_args = signature.args
    lo = context.cast(builder, lo_, sig_args[10], types.float64)
    hi = context.cast(builder, hi_, sig_args[11], types.float64)
    nrows = context.cast(builder, nrows_, sig_args[12], types.int64)
    bits = context.cast(builder, mask_, sig_args[13], types.int64)

    def splat(value, vec_type):
        one = builder.insert_element(ir.Constant(vec_type, None), value, i32(0))
        return builder.shuffle_vector(one, ir.Constant(vec_type, None),
                                      ir.Constant(ir.VectorType(i32, PANEL), [0] * PANEL))

    lo_v, hi_v = splat(lo, vd), splat(hi, vd)
    bits_v = splat(bits, ir.VectorType(i64, PANEL))
    last = builder.icmp_unsigned(
        "!=", builder.and_(bits_v, ir.Constant(ir.VectorType(i64, PANEL),
                                               [1 << k for k in range(PANEL)])),
        ir.Constant(ir.VectorType(i64, PANEL), [0] * PANEL))
    full = ir.Constant(bools, [1] * PANEL)
    scale_base = builder.inttoptr(scale_, f64.as_pointer())
    offset_base = builder.inttoptr(offset_, f64.as_pointer())
    scales = [builder.load(builder.bitcast(builder.gep(scale_base, [i64(PANEL * j)]),
                                           vd.as_pointer()), align=8) for j in range(panels)]
    offsets = [builder.load(builder.bitcast(builder.gep(offset_base, [i64(PANEL * j)]),
                                            vd.as_pointer()), align=8) for j in range(panels)]
    c_base = builder.inttoptr(c_, i8.as_pointer())
    for i in range(mr):
        with builder.if_then(builder.icmp_signed("<", i64(i), nrows)):
            for j in range(panels):
                v = builder.sub(builder.load(accs[i][j]), corr_vecs[j])
                r = builder.call(fma, [builder.sitofp(v, vd), scales[j], offsets[j]])
                r = builder.select(builder.fcmp_ordered(">", r, lo_v), r, lo_v)
                r = builder.select(builder.fcmp_ordered("<", r, hi_v), r, hi_v)
                out = builder.trunc(builder.fptosi(r, vi), vb)
                ptr = builder.gep(c_base, [builder.add(builder.mul(i64(i), ldc64),
                                                       i64(PANEL * j))])
                builder.call(mstore, [out, builder.bitcast(ptr, vb.as_pointer()), i32(1),
                                      last if j == panels - 1 else full])


_tile4 = _tile_intrinsic(4)
_tile1 = _tile_intrinsic(1)
_tile4_rq = _tile_intrinsic(4, True)
_tile1_rq = _tile_intrinsic(1, True)
_at4_rq = _tile_intrinsic(4, True, MR, True)   # windows read in place (first layers)
_at1_rq = _tile_intrinsic(1, True, MR, True)
_row4 = _tile_intrinsic(4, False, 1)   # single rows: a few-row FULLY_CONNECTED's last ones
_row1 = _tile_intrinsic(1, False, 1)


@njit(cache=True, inline="always")
def gemm_u8s8(a, bp, corr, c):
    """``c[:rows] = a[:rows] @ B - corr`` (int32), ``rows`` = ``a.shape[0]``, a multiple
    of MR: ``a`` uint8 ``[rows, 4 * kq]`` with contiguous rows, ``bp`` the packed weights
    ``[panels, kq, 64]``, ``corr`` int32 ``[16 * panels]``, ``c`` int32 ``[rows, 16 *
    panels]`` with contiguous rows."""
    panels, kq = bp.shape[0], bp.shape[1]
    pstride = kq * 64
    lda, ldc = a.strides[0], c.strides[0] // 4
    b0, k0 = bp.ctypes.data, corr.ctypes.data
    for r in range(0, a.shape[0], MR):
        ar = a.ctypes.data + r * lda
        cr = c.ctypes.data + r * c.strides[0]
        p = 0
        while p + 4 <= panels:
            _tile4(ar, lda, b0 + p * pstride, pstride, kq, k0 + p * PANEL * 4,
                   cr + p * PANEL * 4, ldc, 0, 0, 0.0, 0.0, MR, 0)
            p += 4
        while p < panels:
            _tile1(ar, lda, b0 + p * pstride, pstride, kq, k0 + p * PANEL * 4,
                   cr + p * PANEL * 4, ldc, 0, 0, 0.0, 0.0, MR, 0)
            p += 1


@njit(cache=True, inline="always")
def _requant_rows(a0, lda, bp, corr, scale, offset, lo, hi, out, rows, offs):
    """The requantizing tiles over ``rows`` rows of A from address ``a0`` (``lda``
    bytes apart) into 8-bit ``out`` ``[rows, N]`` (contiguous rows): A read as packed
    rows, or with ``offs`` not empty through its table of group offsets."""
    panels, kq = bp.shape[0], bp.shape[1]
    n = out.shape[1]
    pstride = kq * 64
    ldo = np.int64(out.strides[0])
    b0, k0 = np.int64(bp.ctypes.data), np.int64(corr.ctypes.data)
    s0, o0 = np.int64(scale.ctypes.data), np.int64(offset.ctypes.data)
    t0 = np.int64(offs.ctypes.data)
    indirect = offs.shape[0] > 0
    last = np.int64((1 << (n - PANEL * (panels - 1))) - 1)
    every = np.int64((1 << PANEL) - 1)
    for r in range(0, rows, MR):
        ar = a0 + r * lda
        cr = np.int64(out.ctypes.data) + r * ldo
        valid = min(MR, rows - r)
        p = 0
        while p < panels:
            four = p + 4 <= panels
            mask = last if p + (4 if four else 1) == panels else every
            args = (ar, lda, b0 + p * pstride, pstride, kq, k0 + p * PANEL * 4,
                    cr + p * PANEL, ldo, s0 + p * PANEL * 8, o0 + p * PANEL * 8, lo, hi,
                    valid, mask)
            if four and indirect:
                _at4_rq(*args, t0)
            elif four:
                _tile4_rq(*args)
            elif indirect:
                _at1_rq(*args, t0)
            else:
                _tile1_rq(*args)
            p += 4 if four else 1


_DIRECT = np.zeros(0, np.int64)


@njit(cache=True)
def gemm_u8s8_requant(a, bp, corr, scale, offset, lo, hi, out, rows):
    """``out[:rows] = requantize(a[:rows] @ B - corr)`` (``requantize_affine``'s
    arithmetic per column, ``scale``/``offset`` float64 ``[16 * panels]``), 8-bit
    ``out`` ``[rows, N]`` with contiguous rows; ``a`` as for ``gemm_u8s8`` (its rows
    past ``rows`` are computed, not stored)."""
    _requant_rows(np.int64(a.ctypes.data), np.int64(a.strides[0]), bp, corr, scale, offset,
                  lo, hi, out, rows, _DIRECT)


def pack(w: np.ndarray) -> np.ndarray:
    """Weights ``[K, N]`` (values in int8's range) as ``[ceil(N/16), ceil(K/4), 64]`` int8
    panels (zero padding): panel ``p``, group ``q`` holds ``w[4q:4q+4, 16p:16p+16]`` as
    16 columns of 4 bytes."""
    k, n = w.shape
    kp, np_ = -(-k // 4) * 4, -(-n // PANEL) * PANEL
    padded = np.zeros((kp, np_), np.int8)
    padded[:k, :n] = w
    return np.ascontiguousarray(
        padded.reshape(kp // 4, 4, np_ // PANEL, PANEL).transpose(2, 0, 3, 1)
    ).reshape(np_ // PANEL, kp // 4, 4 * PANEL)


@njit(cache=True)
def rows_u8s8(x, a, flip, bp, corr, c):
    """``c[:rows] = x @ B - corr`` for a few int8/uint8 rows ``x`` ``[rows, K]``: copied
    into ``a`` (uint8 ``[>= rows, 4 * kq]``) with the sign bit ``flip`` applied and K
    padded with zeros; whole groups of MR rows in 4-row tiles, the rest row by row (a
    4-row tile over one row would do four times the work)."""
    rows, k = x.shape
    for r in range(rows):
        dst, src = a[r], x[r]
        for j in range(k):
            dst[j] = np.uint8(src[j]) ^ flip
        for j in range(k, dst.shape[0]):
            dst[j] = 0
    whole = rows // MR * MR
    if whole:
        gemm_u8s8(a[:whole], bp, corr, c[:whole])
    panels, kq = bp.shape[0], bp.shape[1]
    pstride = kq * 64
    lda, ldc = np.int64(a.strides[0]), np.int64(c.strides[0] // 4)
    b0, k0 = np.int64(bp.ctypes.data), np.int64(corr.ctypes.data)
    for r in range(whole, rows):
        ar = np.int64(a.ctypes.data) + r * lda
        cr = np.int64(c.ctypes.data) + r * c.strides[0]
        p = 0
        while p + 4 <= panels:
            _row4(ar, lda, b0 + p * pstride, pstride, kq, k0 + p * PANEL * 4,
                  cr + p * PANEL * 4, ldc, 0, 0, 0.0, 0.0, 1, 0)
            p += 4
        while p < panels:
            _row1(ar, lda, b0 + p * pstride, pstride, kq, k0 + p * PANEL * 4,
                  cr + p * PANEL * 4, ldc, 0, 0, 0.0, 0.0, 1, 0)
            p += 1


@njit(cache=True, inline="always")
def implicit_row_requant(row, step, offs, bp, corr, scale, offset, lo, hi, out, pixels):
    """One output row of a convolution read in place and requantized as stored
    (``gemm_u8s8_requant``'s arithmetic): pixel ``p``'s group ``k`` of 4 input bytes
    at ``row + p * step + offs[k]`` (uint8, sign bits already flipped), ``out`` 8-bit
    ``[pixels, N]`` with contiguous rows."""
    _requant_rows(np.int64(row.ctypes.data), step, bp, corr, scale, offset, lo, hi, out,
                  pixels, offs)
