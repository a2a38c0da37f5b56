"""``kernels/views.py``: the reshape-free views the cached kernels use, against numpy's
reshape."""

from __future__ import annotations

import gc

import numpy as np
import pytest
from numba import njit

from edgelite.kernels.views import view1d, view2d


@njit
def _flat_of_rows(x, b0, b1):
    return view1d(x[b0:b1])          # a leading-axis slice: typed as any layout


@njit
def _rows_of(x, cols):
    return view2d(x, cols)


@njit
def _fill_through_view(x, value):
    v = view1d(x)
    for i in range(v.shape[0]):
        v[i] = value


@njit
def _flat_of_columns(x):
    return view1d(x[:, 1:])


@pytest.mark.parametrize("dtype", [np.float32, np.int8, np.int64])
def test_views_are_numpys_reshapes(dtype):
    x = np.arange(6 * 4 * 8).astype(dtype).reshape(6, 4, 8)
    for b0, b1 in ((0, 6), (2, 5), (3, 3)):
        flat = _flat_of_rows(x, b0, b1)
        assert flat.dtype == x.dtype
        np.testing.assert_array_equal(flat, x[b0:b1].reshape(-1))
    np.testing.assert_array_equal(_rows_of(x, 8), x.reshape(-1, 8))
    np.testing.assert_array_equal(_rows_of(x[1], 2), x[1].reshape(-1, 2))
    _fill_through_view(x[2], 7)                      # a view: writes reach the array
    assert (x[2] == 7).all() and (x[1] != 7).any()


def test_a_view_keeps_its_array_alive():
    flat = _flat_of_rows(np.arange(12.0).reshape(3, 4), 1, 3)
    gc.collect()
    np.testing.assert_array_equal(flat, np.arange(4.0, 12.0))


def test_a_non_contiguous_array_is_refused():
    x = np.arange(12.0).reshape(3, 4)
    with pytest.raises(ValueError, match="not C-contiguous"):
        _flat_of_columns(x)
    # one row left: contiguous whatever its stride, as numpy's flags say
    np.testing.assert_array_equal(_flat_of_columns(x[:1]), x[:1, 1:].reshape(-1))
