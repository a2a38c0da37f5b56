"""Orderings that must break ties exactly as LiteRT's C++ does: binary-heap
primitives with libstdc++'s move sequence (``std::priority_queue``, ``std::make_heap``,
``std::partial_sort``), a stable descending argsort (``std::stable_sort``) and a
first-maximum argmax. Used by the NMS kernels (``detection.py``); numba, no allocation.

A heap lives in two parallel arrays: float32 ``keys`` (a max-heap; which of several equal
keys surfaces first follows from replaying libstdc++'s moves) and int32 rows ``items``
carried along with their key.
"""

from __future__ import annotations

from numba import njit


@njit(cache=True)
def _place(keys, items, dst, key, item):
    keys[dst] = key
    items[dst, :] = item


@njit(cache=True)
def _move(keys, items, dst, src):
    keys[dst] = keys[src]
    items[dst, :] = items[src, :]


@njit(cache=True)
def _sift_up(keys, items, hole, top, key, item):
    """libstdc++ ``__push_heap``: move ``key`` from ``hole`` towards ``top``."""
    parent = (hole - 1) // 2
    while hole > top and keys[parent] < key:
        _move(keys, items, hole, parent)
        hole = parent
        parent = (hole - 1) // 2
    _place(keys, items, hole, key, item)


@njit(cache=True)
def _adjust(keys, items, hole, length, key, item):
    """libstdc++ ``__adjust_heap``: sink the hole to a leaf, then sift ``key`` up."""
    top = hole
    child = hole
    while child < (length - 1) // 2:
        child = 2 * (child + 1)
        if keys[child] < keys[child - 1]:
            child -= 1
        _move(keys, items, hole, child)
        hole = child
    if length % 2 == 0 and child == (length - 2) // 2:
        child = 2 * (child + 1)
        _move(keys, items, hole, child - 1)
        hole = child - 1
    _sift_up(keys, items, hole, top, key, item)


@njit(cache=True)
def heap_push(keys, items, size, key, item):
    """Push onto the heap of ``size`` elements; returns the new size."""
    _sift_up(keys, items, size, 0, key, item)
    return size + 1


@njit(cache=True)
def heap_pop(keys, items, size, out_item):
    """Pop the top into ``out_item``; returns (its key, the new size)."""
    top_key = keys[0]
    out_item[:] = items[0, :]
    last = size - 1
    if last > 0:
        # row ``last`` is only read: the sift touches positions < last
        _adjust(keys, items, 0, last, keys[last], items[last, :])
    return top_key, last


@njit(cache=True)
def partial_sort_desc(values, count, order, keys, items):
    """``order[:count]`` = indices of the ``count`` largest ``values``, descending, ties
    placed as ``std::partial_sort`` over ``0..n-1`` with ``v[i] > v[j]`` places them.
    keys/items: scratch of ``len(values) + 1`` rows (items one column wide)."""
    n = values.shape[0]
    spare = n                         # a row outside the heap, for the element in hand
    for i in range(count):            # make_heap over the first ``count`` (key = -value)
        keys[i] = -values[i]
        items[i, 0] = i
    parent = (count - 2) // 2
    while count >= 2 and parent >= 0:
        _move(keys, items, spare, parent)
        _adjust(keys, items, parent, count, keys[spare], items[spare, :])
        parent -= 1
    for i in range(count, n):         # heap select: keep the ``count`` best seen so far
        if count > 0 and -values[i] < keys[0]:
            keys[spare] = -values[i]
            items[spare, 0] = i
            _adjust(keys, items, 0, count, keys[spare], items[spare, :])
    end = count                       # sort_heap
    while end > 1:
        end -= 1
        _move(keys, items, spare, end)
        _move(keys, items, end, 0)
        _adjust(keys, items, 0, end, keys[spare], items[spare, :])
    for i in range(count):
        order[i] = items[i, 0]


@njit(cache=True)
def argmax_first(values):
    """Index of the first maximum (TFLite's ``ArgMaxVector``)."""
    best = 0
    for i in range(1, values.shape[0]):
        if values[i] > values[best]:
            best = i
    return best


@njit(cache=True)
def _merge_desc(values, src, dst, lo, mid, hi):
    """Merge the descending runs src[lo:mid], src[mid:hi] into dst, left run first on
    ties."""
    a, b = lo, mid
    for k in range(lo, hi):
        if a < mid and (b >= hi or not values[src[b]] > values[src[a]]):
            dst[k] = src[a]
            a += 1
        else:
            dst[k] = src[b]
            b += 1


@njit(cache=True)
def stable_argsort_desc(values, n, order, tmp):
    """``order[:n]`` = indices sorting ``values[:n]`` descending, equal values keeping
    their index order (any stable sort gives ``std::stable_sort``'s result): insertion
    sort of 16-element runs, then ping-pong merges through ``tmp``."""
    run = 16
    for lo in range(0, n, run):
        for i in range(lo, min(lo + run, n)):
            j, v = i, values[i]
            while j > lo and values[order[j - 1]] < v:
                order[j] = order[j - 1]
                j -= 1
            order[j] = i
    src, dst = order, tmp
    width = run
    while width < n:
        for lo in range(0, n, 2 * width):
            _merge_desc(values, src, dst, lo, min(lo + width, n), min(lo + 2 * width, n))
        src, dst = dst, src
        width *= 2
    if src is not order:
        order[:n] = src[:n]
