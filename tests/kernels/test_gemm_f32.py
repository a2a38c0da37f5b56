"""``gemm_f32``'s register tiles against numpy: every tile shape (4 or 1 rows, 4 or 1
panels), column counts off the 16-wide panels (masked stores), bias and clamp in the
store, NaN through the clamp, panel ranges (the split by output channels)."""

from __future__ import annotations

import numpy as np
import pytest
from numba import njit

from edgelite.kernels import gemm_f32


@njit
def _run(a, bp, bias, lo, hi, c, p0, p1, n):
    gemm_f32.gemm_tiles(a, bp, bias, lo, hi, c, p0, p1, n)


def _case(m, k, n, seed):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((m, k)).astype(np.float32)
    w = rng.standard_normal((k, n)).astype(np.float32)
    b = rng.standard_normal(n).astype(np.float32)
    bp = gemm_f32.pack(w)
    return a, w, b, bp, gemm_f32.pad_bias(b, n, bp.shape[0])


@pytest.mark.parametrize("m,k,n", [(9, 7, 3), (4, 16, 16), (13, 33, 70), (1, 1, 17),
                                   (6, 40, 128), (5, 3, 81)])
def test_tiles_match_numpy(m, k, n):
    a, w, b, bp, bias = _case(m, k, n, m + k + n)
    # the output wider than n: columns past n must be left alone
    c = np.full((m, n + 5), 7.0, np.float32)
    _run(a, bp, bias, np.float32(-0.5), np.float32(1.5), c, 0, bp.shape[0], n)
    want = np.clip(a.astype(np.float64) @ w + b, -0.5, 1.5)
    np.testing.assert_allclose(c[:, :n], want, rtol=1e-5, atol=1e-5)
    assert (c[:, n:] == 7.0).all()


def test_panel_ranges_cover_the_columns_once():
    a, w, b, bp, bias = _case(10, 12, 70, 1)   # 5 panels: split 0-2, 2-5
    c = np.zeros((10, 70), np.float32)
    _run(a, bp, bias, np.float32(-np.inf), np.float32(np.inf), c, 0, 2, 70)
    assert (c[:, 32:] == 0).all()
    _run(a, bp, bias, np.float32(-np.inf), np.float32(np.inf), c, 2, 5, 70)
    np.testing.assert_allclose(c, a @ w + b, rtol=1e-5, atol=1e-5)


def test_nan_passes_through_the_clamp():
    a, _, _, bp, bias = _case(4, 3, 16, 2)
    a[1, 0] = np.nan
    c = np.zeros((4, 16), np.float32)
    _run(a, bp, bias, np.float32(0.0), np.float32(6.0), c, 0, 1, 16)
    assert np.isnan(c[1]).all() and not np.isnan(c[[0, 2, 3]]).any()
    assert c[[0, 2, 3]].min() >= 0.0 and c[[0, 2, 3]].max() <= 6.0
