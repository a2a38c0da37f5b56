"""float32 GEMM from numba code: numpy's own OpenBLAS ``cblas_sgemm``, called by address.

The integer CONV_2D on a CPU without AVX-512 VNNI (conv_gemm.py) computes its integer
sums exactly in float32 with this sgemm, block of output rows after block, inside one
numba function per op; with ``num_threads > 1`` numba's thread pool runs the blocks, each
calling a single-threaded sgemm. numpy's BLAS keeps one thread meanwhile
(``edgelite._threads``), so OpenBLAS's own workers, which spin after each call, never
fight numba's for the cores. (The float convolutions use gemm_f32's tiles instead: no
per-call packing.)

The sgemm is the one numpy already loaded (found by threadpoolctl), called through its
address, which every call takes as an argument so the compiled code stays cacheable. It is
used only when it is certainly OpenBLAS's ILP64 interface, as numpy's wheels ship it
(``USE64BITINT`` in its configuration, 64-bit integer arguments): any other BLAS (MKL,
Accelerate, an LP64 OpenBLAS) leaves ``SGEMM`` at 0 and the kernels call ``np.matmul``
from Python instead.
"""

from __future__ import annotations

import ctypes
import os

from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

_ROW_MAJOR, _NO_TRANS = 101, 111


def _find(name: str) -> int:
    """The address of numpy's ILP64 OpenBLAS ``cblas_<name>``, or 0."""
    if os.environ.get("EDGELITE_NUMPY_MATMUL") == "1":   # tests: the np.matmul path
        return 0
    try:
        from .._threads import blas_libraries  # one scan of the process's libraries

        for lib in blas_libraries():
            if lib.internal_api != "openblas":
                continue
            dll = ctypes.CDLL(lib.filepath)
            prefix, suffix = lib._symbol_prefix, lib._symbol_suffix
            config = getattr(dll, f"{prefix}openblas_get_config{suffix}")
            config.restype = ctypes.c_char_p
            if b"USE64BITINT" not in (config() or b""):
                continue
            return ctypes.cast(getattr(dll, f"{prefix}cblas_{name}{suffix}"),
                               ctypes.c_void_p).value or 0
    except Exception:   # noqa: BLE001 - no threadpoolctl, no OpenBLAS, unexpected symbols
        return 0
    return 0


@intrinsic
def _cblas_sgemm(typingctx, fn, m, n, k, a, lda, b, ldb, c, ldc, beta):
    """``C = A @ B + beta * C``, row-major, no transposes, through the function at
    address ``fn`` (ILP64 ``cblas_sgemm``); a, b, c are data addresses."""
    sig = types.void(fn, m, n, k, a, lda, b, ldb, c, ldc, beta)

    def codegen(context, builder, signature, args):
        fn_, m_, n_, k_, a_, lda_, b_, ldb_, c_, ldc_, beta_ = args
        i32, i64, f32 = ir.IntType(32), ir.IntType(64), ir.FloatType()
        vp = ir.IntType(8).as_pointer()
        fnty = ir.FunctionType(ir.VoidType(), [i32, i32, i32, i64, i64, i64, f32, vp, i64,
                                               vp, i64, f32, vp, i64])
        call = builder.inttoptr(fn_, fnty.as_pointer())

        def ptr(v):
            return builder.inttoptr(v, vp)

        def wide(v, ty):
            return context.cast(builder, v, ty, types.int64)
        ints = [wide(v, t) for v, t in zip((m_, n_, k_, lda_, ldb_, ldc_),
                                           signature.args[1:4] + signature.args[5:10:2])]
        builder.call(call, [i32(_ROW_MAJOR), i32(_NO_TRANS), i32(_NO_TRANS), ints[0], ints[1],
                            ints[2], f32(1.0), ptr(a_), ints[3], ptr(b_), ints[4],
                            context.cast(builder, beta_, signature.args[10], types.float32),
                            ptr(c_), ints[5]])
        return context.get_dummy_value()
    return sig, codegen


@njit(cache=True, inline="always")
def sgemm(fn, a, b, c, beta):
    """``c = a @ b + beta * c`` for 2-D float32 arrays whose rows are contiguous (a row
    stride of whole elements, unit column stride), by the sgemm at address ``fn``."""
    _cblas_sgemm(fn, a.shape[0], b.shape[1], a.shape[1], a.ctypes.data,
                 a.strides[0] // 4, b.ctypes.data, b.strides[0] // 4, c.ctypes.data,
                 c.strides[0] // 4, beta)


SGEMM = _find("sgemm")
