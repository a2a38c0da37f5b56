"""Special functions numpy lacks as ufuncs (erf), numba-compiled, writing in place."""

from __future__ import annotations

import math

from numba import njit


@njit(cache=True)
def erf_scaled(x, out):
    """``out = erf(x / sqrt(2))`` elementwise (GELU's exact form)."""
    fx, fo = x.reshape(-1), out.reshape(-1)
    for i in range(fx.size):
        fo[i] = math.erf(fx[i] * 0.7071067811865476)
