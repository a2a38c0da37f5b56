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


def _tile_intrinsic(panels: int):
    """An intrinsic computing a ``MR x 16*panels`` int32 tile ``c = a @ b - corr``: ``a``
    uint8 rows of ``4 * kq`` bytes (row stride ``lda`` bytes), ``b`` the first of
    ``panels`` packed panels (``pstride`` bytes apart), ``corr`` int32 per column, ``c``
    int32 (row stride ``ldc`` elements)."""
    @intrinsic
    def tile(typingctx, a, lda, b, pstride, kq, corr, c, ldc):
        sig = types.void(a, lda, b, pstride, kq, corr, c, ldc)

        def codegen(context, builder, signature, args):
            a_, lda_, b_, pstride_, kq_, corr_, c_, ldc_ = args
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
                    for _ in range(MR)]
            a_base = builder.inttoptr(a_, i8.as_pointer())
            b_base = builder.inttoptr(b_, i8.as_pointer())
            lanes0 = ir.Constant(ir.VectorType(i32, PANEL), [0] * PANEL)
            with cgutils.for_range(builder, kq64) as loop:
                k4 = builder.mul(loop.index, i64(4))
                b_vecs = []
                for j in range(panels):
                    off = builder.add(builder.mul(i64(j), pstride64),
                                      builder.mul(loop.index, i64(64)))
                    ptr = builder.bitcast(builder.gep(b_base, [off]), v64.as_pointer())
                    b_vecs.append(builder.load(ptr, align=1))
                for i in range(MR):
                    ptr = builder.gep(a_base, [builder.add(builder.mul(i64(i), lda64), k4)])
                    word = builder.load(builder.bitcast(ptr, i32.as_pointer()), align=1)
                    lanes = builder.insert_element(ir.Constant(v16, None), word, i32(0))
                    lanes = builder.bitcast(
                        builder.shuffle_vector(lanes, ir.Constant(v16, None), lanes0), v64)
                    for j in range(panels):
                        acc = builder.load(accs[i][j])
                        builder.store(builder.call(dot, [acc, lanes, b_vecs[j]]), accs[i][j])
            c_base = builder.inttoptr(c_, i32.as_pointer())
            corr_base = builder.inttoptr(corr_, i32.as_pointer())
            corr_vecs = [builder.load(builder.bitcast(builder.gep(corr_base, [i64(PANEL * j)]),
                                                      v16.as_pointer()), align=4)
                         for j in range(panels)]
            for i in range(MR):
                for j in range(panels):
                    ptr = builder.gep(c_base, [builder.add(builder.mul(i64(i), ldc64),
                                                           i64(PANEL * j))])
                    builder.store(builder.sub(builder.load(accs[i][j]), corr_vecs[j]),
                                  builder.bitcast(ptr, v16.as_pointer()), align=4)
            return context.get_dummy_value()
        return sig, codegen
    return tile


_tile4 = _tile_intrinsic(4)
_tile1 = _tile_intrinsic(1)


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
                   cr + p * PANEL * 4, ldc)
            p += 4
        while p < panels:
            _tile1(ar, lda, b0 + p * pstride, pstride, kq, k0 + p * PANEL * 4,
                   cr + p * PANEL * 4, ldc)
            p += 1


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
    into ``a`` (uint8 ``[>= rows rounded up to MR, 4 * kq]``) with the sign bit ``flip``
    applied and K padded with zeros, then ``gemm_u8s8``."""
    rows, k = x.shape
    m = -(-rows // MR) * MR
    for r in range(m):
        dst = a[r]
        if r < rows:
            src = x[r]
            for j in range(k):
                dst[j] = np.uint8(src[j]) ^ flip
            for j in range(k, dst.shape[0]):
                dst[j] = 0
        else:
            dst[:] = 0
    gemm_u8s8(a[:m], bp, corr, c[:m])
