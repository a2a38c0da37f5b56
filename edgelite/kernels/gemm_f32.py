"""float32 GEMM in register tiles over weights packed once, bias and clamp in the store.

OpenBLAS's sgemm (gemm.py) packs both operands on every call: for the many small GEMMs
of a mobile network (a 1x1 convolution over a few hundred pixels, 8 to 200 channels)
that packing and the call itself cost as much as the arithmetic. Here the weights are
packed once, at prepare, as ``[N/16 panels][K][16]`` float32 (N padded with zeros), and
a tile of 4 rows x 64 (or 16) columns keeps its sums in 16 (or 4) vector registers over
the whole K loop: per step of K, one broadcast per row, one 16-float load per panel and
a multiply-add per register. The store adds the bias and applies the fused activation's
clamp (NaN passes, as in TFLite); the last panel's columns past N are masked off.

The tile is written as LLVM IR (a numba intrinsic) with target-independent vector types
and intrinsics (``llvm.fmuladd``, fused where the CPU can; ``llvm.masked.store``): LLVM
maps them to AVX-512, AVX2, SSE or NEON registers, so this runs wherever numba does
(tested with ``NUMBA_CPU_NAME=generic``). Each sum is one multiply-add chain in K order.
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

MR = 4
PANEL = 16
FULL = (1 << PANEL) - 1


def _tile_intrinsic(rows: int, panels: int, indirect: bool = False):
    """``c[i, :] = clamp(a[i, :] @ B + bias)`` for ``rows`` rows and ``panels`` panels of
    16 columns; ``mask``: the columns of the tile's last panel to store (bits). With
    ``indirect``, row ``i``'s value ``k`` is ``a[i * lda + offs[k]]`` (an im2col row read
    in place through the window's offsets), else ``a[i * lda + k]``."""
    @intrinsic
    def tile(typingctx, a, lda, offs, b, pstride, k, bias, lo, hi, mask, c, ldc):
        sig = types.void(a, lda, offs, b, pstride, k, bias, lo, hi, mask, c, ldc)

        def codegen(context, builder, signature, args):
            a_, lda_, offs_, b_, pstride_, k_, bias_, lo_, hi_, mask_, c_, ldc_ = args
            f32, i64 = ir.FloatType(), ir.IntType(64)
            vec = ir.VectorType(f32, PANEL)
            vp = vec.as_pointer()
            mod = builder.module
            fma = cgutils.get_or_insert_function(
                mod, ir.FunctionType(vec, [vec, vec, vec]), "llvm.fmuladd.v16f32")
            bool16 = ir.VectorType(ir.IntType(1), PANEL)
            mstore = cgutils.get_or_insert_function(
                mod, ir.FunctionType(ir.VoidType(), [vec, vp, ir.IntType(32), bool16]),
                "llvm.masked.store.v16f32.p0")
            sig_args = signature.args
            lda64, pstride64, k64, ldc64 = (
                context.cast(builder, v, t, types.int64) for v, t in
                zip((lda_, pstride_, k_, ldc_), (sig_args[1], sig_args[4], sig_args[5],
                                                 sig_args[11])))
            lo32 = context.cast(builder, lo_, sig_args[7], types.float32)
            hi32 = context.cast(builder, hi_, sig_args[8], types.float32)
            mask64 = context.cast(builder, mask_, sig_args[9], types.int64)
            offs_base = builder.inttoptr(offs_, i64.as_pointer())
            zero = ir.Constant(vec, [0.0] * PANEL)
            accs = [[cgutils.alloca_once_value(builder, zero) for _ in range(panels)]
                    for _ in range(rows)]
            a_base = builder.inttoptr(a_, f32.as_pointer())
            b_base = builder.inttoptr(b_, f32.as_pointer())
            splat0 = ir.Constant(ir.VectorType(ir.IntType(32), PANEL), [0] * PANEL)
            with cgutils.for_range(builder, k64) as loop:
                kk = loop.index
                col = builder.load(builder.gep(offs_base, [kk])) if indirect else kk
                bv = []
                for j in range(panels):
                    off = builder.add(builder.mul(i64(j), pstride64),
                                      builder.mul(kk, i64(PANEL)))
                    bv.append(builder.load(builder.bitcast(builder.gep(b_base, [off]), vp),
                                           align=4))
                for i in range(rows):
                    x = builder.load(builder.gep(a_base, [builder.add(
                        builder.mul(i64(i), lda64), col)]))
                    xs = builder.insert_element(ir.Constant(vec, None), x, ir.IntType(32)(0))
                    xs = builder.shuffle_vector(xs, ir.Constant(vec, None), splat0)
                    for j in range(panels):
                        acc = builder.load(accs[i][j])
                        builder.store(builder.call(fma, [xs, bv[j], acc]), accs[i][j])
            bias_base = builder.inttoptr(bias_, f32.as_pointer())
            c_base = builder.inttoptr(c_, f32.as_pointer())
            lo_v = builder.shuffle_vector(builder.insert_element(
                ir.Constant(vec, None), lo32, ir.IntType(32)(0)), ir.Constant(vec, None),
                splat0)
            hi_v = builder.shuffle_vector(builder.insert_element(
                ir.Constant(vec, None), hi32, ir.IntType(32)(0)), ir.Constant(vec, None),
                splat0)
            last_mask = builder.bitcast(builder.trunc(mask64, ir.IntType(PANEL)), bool16)
            for j in range(panels):
                bias_v = builder.load(builder.bitcast(
                    builder.gep(bias_base, [i64(PANEL * j)]), vp), align=4)
                for i in range(rows):
                    v = builder.fadd(builder.load(accs[i][j]), bias_v)
                    # clamp; an unordered (NaN) sum compares false and passes through
                    v = builder.select(builder.fcmp_ordered("<", v, lo_v), lo_v, v)
                    v = builder.select(builder.fcmp_ordered(">", v, hi_v), hi_v, v)
                    ptr = builder.bitcast(builder.gep(c_base, [builder.add(
                        builder.mul(i64(i), ldc64), i64(PANEL * j))]), vp)
                    if j == panels - 1:
                        builder.call(mstore, [v, ptr, ir.IntType(32)(4), last_mask])
                    else:
                        builder.store(v, ptr, align=4)
            return context.get_dummy_value()
        return sig, codegen
    return tile


_t44 = _tile_intrinsic(4, 4)
_t41 = _tile_intrinsic(4, 1)
_t14 = _tile_intrinsic(1, 4)
_t11 = _tile_intrinsic(1, 1)
_i44 = _tile_intrinsic(4, 4, True)
_i41 = _tile_intrinsic(4, 1, True)
_i14 = _tile_intrinsic(1, 4, True)
_i11 = _tile_intrinsic(1, 1, True)


@njit(cache=True, inline="always")
def _tiles(a0, lda, offs, rows, k, bp, bias, lo, hi, c0, ldc, p0, p1, n):
    """Rows ``0 .. rows`` of ``c`` (address ``c0``, row stride ``ldc``) from rows of ``a``
    (address ``a0``, ``lda`` elements apart) for weight panels ``p0 .. p1``: four panels
    at a time over all the rows (they stay in cache meanwhile), 4-row tiles then single
    rows. ``offs``: 0 for contiguous rows of ``a``, else the address of the offsets table
    the indirect tiles read through."""
    pstride = bp.shape[1] * PANEL
    last = bp.shape[0] - 1
    tail = (1 << (n - PANEL * last)) - 1
    p = p0
    while p < p1:
        width = 4 if p + 4 <= p1 else 1
        mask = tail if p + width - 1 == last else FULL
        bq = bp.ctypes.data + p * pstride * 4
        bias_q = bias.ctypes.data + p * PANEL * 4
        r = 0
        while r < rows:
            four = r + MR <= rows
            ar, cr = a0 + r * lda * 4, c0 + (r * ldc + p * PANEL) * 4
            args = (ar, lda, offs, bq, pstride, k, bias_q, lo, hi, mask, cr, ldc)
            # (numba takes intrinsics only as direct calls: one branch each)
            if offs == 0:
                if four and width == 4:
                    _t44(*args)
                elif four:
                    _t41(*args)
                elif width == 4:
                    _t14(*args)
                else:
                    _t11(*args)
            elif four and width == 4:
                _i44(*args)
            elif four:
                _i41(*args)
            elif width == 4:
                _i14(*args)
            else:
                _i11(*args)
            r += MR if four else 1
        p += width


@njit(cache=True, inline="always")
def gemm_tiles(a, bp, bias, lo, hi, c, p0, p1, n):
    """``c[:, 16*p0 .. min(16*p1, n)] = clamp(a @ B + bias)`` for the packed weight
    panels ``p0 .. p1`` of ``bp`` (``[panels, K, 16]``; ``bias`` padded to the panels):
    ``a`` float32 ``[rows, K]`` and ``c`` float32 ``[rows, >= n]``, each with contiguous
    rows; ``n`` the true column count (the last panel's extra columns are not stored)."""
    _tiles(a.ctypes.data, a.strides[0] // 4, 0, a.shape[0], a.shape[1], bp, bias, lo, hi,
           c.ctypes.data, c.strides[0] // 4, p0, p1, n)


@njit(cache=True, inline="always")
def implicit_row(xrow, step, offs, bp, bias, lo, hi, c, n):
    """One output row of a convolution read in place (no im2col): pixel ``q``'s window
    starts at ``xrow[q * step]`` and its value ``k`` is at ``+ offs[k]``; ``c``
    ``[pixels, >= n]``, the rest as ``gemm_tiles`` (all panels)."""
    _tiles(xrow.ctypes.data, step, offs.ctypes.data, c.shape[0], offs.shape[0], bp, bias,
           lo, hi, c.ctypes.data, c.strides[0] // 4, 0, bp.shape[0], n)


def pack(w: np.ndarray) -> np.ndarray:
    """Weights ``[K, N]`` as ``[ceil(N/16), K, 16]`` float32 panels (zero padding)."""
    k, n = w.shape
    np_ = -(-n // PANEL) * PANEL
    padded = np.zeros((k, np_), np.float32)
    padded[:, :n] = w
    return np.ascontiguousarray(padded.reshape(k, np_ // PANEL, PANEL).transpose(1, 0, 2))


def pad_bias(bias, n: int, panels: int) -> np.ndarray:
    out = np.zeros(panels * PANEL, np.float32)
    if bias is not None:
        out[:n] = bias
    return out
