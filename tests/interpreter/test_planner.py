"""The greedy-by-size arena planner: no live overlap, between lower bound and naive."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from edgelite.interpreter import planner


def _buffers(specs):
    return [planner.Buffer(i, size, first, first + length)
            for i, (size, first, length) in enumerate(specs)]


@given(st.lists(st.tuples(st.integers(0, 10_000), st.integers(-1, 30), st.integers(0, 10)),
                min_size=1, max_size=60))
def test_plan_is_valid_and_bounded(specs):
    buffers = _buffers(specs)
    size = planner.plan(buffers)
    planner.check_plan(buffers, size)
    assert planner.lower_bound(buffers) <= size <= planner.naive_size(buffers)


def test_disjoint_lifetimes_share_memory():
    buffers = _buffers([(1000, 0, 0), (1000, 1, 0), (1000, 2, 0)])
    assert planner.plan(buffers) == planner.lower_bound(buffers) == 1024
    assert {b.offset for b in buffers} == {0}


def test_chain_of_ops_needs_two_buffers():
    # a -> b -> c -> d: each op reads one buffer and writes the next
    buffers = _buffers([(4096, -1, 1), (4096, 0, 1), (4096, 1, 1), (4096, 2, 1)])
    assert planner.plan(buffers) == 2 * 4096


def test_check_plan_catches_overlap():
    buffers = _buffers([(100, 0, 2), (100, 1, 2)])
    for b in buffers:
        b.offset = 0
    with pytest.raises(AssertionError, match="overlap"):
        planner.check_plan(buffers, 128)


def test_preserve_all_gives_each_buffer_its_own_bytes():
    buffers = _buffers([(100, 0, 0), (100, 5, 0)])
    size = planner.plan(buffers, share=False)
    assert size == 2 * 128 and buffers[0].offset != buffers[1].offset
    np.testing.assert_array_equal(sorted(b.offset for b in buffers), [0, 128])
