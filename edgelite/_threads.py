"""numpy's BLAS thread count while an Interpreter invokes.

edgelite's float GEMMs run in numpy's BLAS (OpenBLAS in numpy's wheels), whose own
default is one thread per core. With numpy's OpenBLAS sgemm callable from numba
(``kernels/gemm.py``), the kernels split their work over numba's thread pool themselves
and every sgemm call must stay single-threaded: BLAS gets 1 thread during an invoke
(OpenBLAS's workers, which spin after each call, would otherwise fight numba's for the
cores: two threads ran slower than one). Without it (another BLAS), the GEMMs run from
Python and BLAS gets the Interpreter's ``num_threads``.

threadpoolctl finds the BLAS libraries loaded in the process once (~4 ms; kernels/gemm.py
looks for numpy's OpenBLAS among the same); each invoke sets their thread count when it
differs and restores it after, so the caller's own numpy work keeps its setting. Where no
controllable BLAS is found, nothing is set.
"""

from __future__ import annotations

_controllers: list | None = None


def blas_libraries() -> list:
    """threadpoolctl's controllers of the BLAS libraries loaded in the process (found
    once; also where kernels/gemm.py looks for numpy's OpenBLAS)."""
    global _controllers
    if _controllers is None:
        try:
            from threadpoolctl import ThreadpoolController

            _controllers = list(ThreadpoolController().select(user_api="blas")
                                .lib_controllers)
        except Exception:   # noqa: BLE001 - no threadpoolctl, or a BLAS it cannot drive
            _controllers = []
    return _controllers


def limit_blas(threads: int) -> list:
    """Set every BLAS to the thread count an Interpreter with ``threads`` threads needs;
    returns what ``restore_blas`` needs."""
    from .kernels.gemm import SGEMM

    if SGEMM:
        threads = 1
    changed = []
    for lib in blas_libraries():
        current = lib.get_num_threads()
        if current != threads:
            lib.set_num_threads(threads)
            changed.append((lib, current))
    return changed


def restore_blas(changed: list) -> None:
    for lib, threads in changed:
        lib.set_num_threads(threads)
