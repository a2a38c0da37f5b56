"""How many parts a kernel splits its work into for ``num_threads``.

Kernels that run in numba's thread pool (``parallel=True`` functions with a ``prange`` over
parts) ask here at prepare time: an op too small to pay for waking the pool (a few
microseconds) runs on one thread, as does every op of an interpreter made with
``num_threads=1`` (the default), which then never starts numba's pool at all. The float
GEMMs run in numpy's BLAS, whose thread count the Interpreter sets to ``num_threads``
around each invoke (``edgelite._threads``).
"""

from __future__ import annotations

from .api import PrepareContext

MIN_WORK_PER_PART = 150_000   # multiply-adds (about 10 µs of depthwise work) per part


def parts(ctx: PrepareContext, rows: int, work: int) -> int:
    """Parts for an op of ``work`` multiply-adds over ``rows`` independent rows: at most
    ``num_threads`` and ``rows``, and each at least MIN_WORK_PER_PART."""
    want = min(ctx.num_threads, rows, work // MIN_WORK_PER_PART)
    return max(1, want)
