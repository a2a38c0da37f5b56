"""Static memory plan: one arena, an offset for every buffer, chosen by lifetime.

Walk-through (greedy, as TFLite's ArenaPlanner and TFLM's GreedyMemoryPlanner):
every buffer has a size and a lifetime ``[first, last]`` in execution steps (inclusive).
Buffers are placed one at a time in a few orders (largest first, last use first,
...; the smallest arena wins). For each, the already-placed buffers whose lifetimes overlap it are
gathered and sorted by offset; the buffer goes into the smallest gap between them that
fits (or on top). Buffers that are never alive at the
same time may therefore share bytes. Offsets are aligned to ``ALIGN`` bytes.

``lower_bound`` is the most bytes alive at any one step: no plan can use less.
:func:`check_plan` re-verifies that no two buffers alive together overlap.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

ALIGN = 64
RESTARTS = 12


@dataclass
class Buffer:
    key: object          # tensor index or ("scratch", op, k): what the offset is for
    size: int            # bytes
    first: int           # first step that needs it (-1: before the first op)
    last: int            # last step that needs it
    offset: int = -1

    def overlaps_in_time(self, other: "Buffer") -> bool:
        return self.first <= other.last and other.first <= self.last


def _aligned(n: int) -> int:
    return (n + ALIGN - 1) // ALIGN * ALIGN


def plan(buffers: list[Buffer], share: bool = True) -> int:
    """Assign ``offset`` to every buffer; returns the arena size in bytes.

    Tries a few placement orders (largest first, size x lifetime, last use, first use, and
    seeded perturbations of largest first) and keeps the smallest arena, stopping early at
    one that reaches ``lower_bound``. ``share=False`` gives every buffer its own bytes
    (for preserve-all-tensors mode)."""
    if not share:
        offset = 0
        for b in buffers:
            b.offset = offset
            offset += _aligned(b.size)
        return offset
    orders = [sorted(buffers, key=key) for key in (
        lambda b: (-b.size, b.first),
        lambda b: (-b.size * (b.last - b.first + 1), b.first),
        lambda b: (-b.last, -b.size),
        lambda b: (b.first, -b.size))]
    rng = random.Random(0)   # a few seeded perturbations of largest-first: cheap, often tighter
    for _ in range(RESTARTS):
        jitter = {id(b): b.size * rng.uniform(0.7, 1.3) for b in buffers}
        orders.append(sorted(buffers, key=lambda b: -jitter[id(b)]))
    best, best_offsets = None, None
    floor = lower_bound(buffers)
    for order in orders:
        size = _place(order)
        if best is None or size < best:
            best, best_offsets = size, [b.offset for b in buffers]
        if best <= floor:   # no order can do better than the liveness bound
            break
    for b, offset in zip(buffers, best_offsets):
        b.offset = offset
    return best


def _place(ordered: list[Buffer]) -> int:
    """Best-fit placement in the given order: each buffer takes the smallest gap between
    buffers alive at the same time that holds it (or goes on top)."""
    placed: list[Buffer] = []
    arena = 0
    for b in ordered:
        live = sorted((p for p in placed if p.overlaps_in_time(b)), key=lambda p: p.offset)
        best_gap, best_at, cursor = None, None, 0
        for p in live:
            gap = p.offset - cursor
            if gap >= b.size and (best_gap is None or gap < best_gap):
                best_gap, best_at = gap, cursor
            cursor = max(cursor, _aligned(p.offset + p.size))
        b.offset = cursor if best_at is None else best_at
        placed.append(b)
        arena = max(arena, _aligned(b.offset + b.size))
    return arena


def lower_bound(buffers: list[Buffer]) -> int:
    """The most (aligned) bytes alive at any single step."""
    if not buffers:
        return 0
    events: dict[int, int] = {}
    for b in buffers:
        events[b.first] = events.get(b.first, 0) + _aligned(b.size)
        events[b.last + 1] = events.get(b.last + 1, 0) - _aligned(b.size)
    best = running = 0
    for step in sorted(events):
        running += events[step]
        best = max(best, running)
    return best


def naive_size(buffers: list[Buffer]) -> int:
    return sum(_aligned(b.size) for b in buffers)


def check_plan(buffers: list[Buffer], arena_size: int) -> None:
    """Raise AssertionError if two buffers alive at the same step share bytes."""
    for b in buffers:
        assert 0 <= b.offset and b.offset + b.size <= arena_size, f"{b.key} outside arena"
    ordered = sorted(buffers, key=lambda b: b.offset)
    for i, a in enumerate(ordered):
        for c in ordered[i + 1:]:
            if c.offset >= a.offset + a.size:
                break
            if a.size and c.size and a.overlaps_in_time(c):
                raise AssertionError(f"buffers {a.key} and {c.key} overlap in time and space")
