"""Einsum for one or two operands: reductions and transposes, or one BATCH_MATMUL.

Letters are classified against the output: kept by both operands (batch), only by one
(free), or summed (contracted when both operands have them, reduced first when only one
does). Each operand is transposed to [batch, free, contracted] (resp. [batch, contracted,
free]) and flattened to 3-D; the product is reshaped and transposed to the output order.
An ellipsis stands for the leading dimensions. A letter repeated within one operand takes
that operand's diagonal first: the two axes moved last, flattened to ``n * n`` and sliced
with stride ``n + 1``.
"""

from __future__ import annotations

import numpy as np

from .nn import _reshape_logical
from .shape import reduce


def _parse(ctx, equation: str, ranks):
    eq = equation.replace(" ", "")
    lhs, _, rhs = eq.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(ranks):
        raise ctx.error(f"equation {equation!r} has {len(terms)} operands, got {len(ranks)}")
    spare = iter(c for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ" if c not in eq)
    ell = ""
    out_terms = []
    for term, rank in zip(terms, ranks):
        if "..." in term:
            n = rank - (len(term) - 3)
            while len(ell) < n:
                ell = next(spare) + ell
            term = term.replace("...", ell[len(ell) - n:] if n else "")
        if len(term) != rank:
            raise ctx.error(f"term {term!r} does not match an operand of rank {rank}")
        out_terms.append(term)
    if "->" in eq:
        out = rhs.replace("...", ell)
    else:
        counts = {}
        for t in out_terms:
            for c in t:
                counts[c] = counts.get(c, 0) + 1
        out = ell + "".join(sorted(c for c, k in counts.items() if k == 1 and c not in ell))
    return out_terms, out


def _transpose(ctx, v, perm):
    if list(perm) == list(range(v.rank)):
        return v
    shape = tuple(v.shape[p] for p in perm)
    return ctx.emit("TRANSPOSE", [ctx.logical(v), ctx.constant_index(np.array(perm, np.int32))],
                    [shape], [v.dtype])[0]


def _diagonals(ctx, v, term: str):
    """``v`` with every letter repeated in ``term`` reduced to its diagonal."""
    while len(set(term)) != len(term):
        c = next(c for c in term if term.count(c) > 1)
        i = term.index(c)
        j = term.index(c, i + 1)
        n = v.shape[i]
        if v.shape[j] != n:
            raise ctx.error(f"Einsum letter {c!r} labels axes of sizes {n} and {v.shape[j]}")
        others = [a for a in range(v.rank) if a not in (i, j)]
        v = _transpose(ctx, v, others + [i, j])
        lead = tuple(v.shape[:-2])
        flat = _reshape_logical(ctx, v, lead + (n * n,))
        r = flat.rank
        idx = [ctx.constant_index(np.array(b, np.int32)) for b in
               ([0] * r, list(lead) + [n * n], [1] * (r - 1) + [n + 1])]
        opts = {"begin_mask": 0, "end_mask": 0, "ellipsis_mask": 0, "new_axis_mask": 0,
                "shrink_axis_mask": 0, "offset": False}
        v = ctx.emit("STRIDED_SLICE", [ctx.logical(flat)] + idx, [lead + (n,)], [v.dtype],
                     opts, version=4 if r > 4 else 1)[0]
        term = "".join(term[a] for a in others) + c
    return v, term


def _sum_out(ctx, v, term, keep):
    axes = [i for i, c in enumerate(term) if c not in keep]
    if not axes:
        return v, term
    return reduce(ctx, "SUM", v, axes, False), "".join(c for c in term if c in keep)


def _einsum(ctx, node, ins, attrs):
    eq = attrs["equation"]
    eq = eq.decode() if isinstance(eq, bytes) else eq
    if len(ins) not in (1, 2):
        raise ctx.error("Einsum with more than two operands is not supported")
    terms, out = _parse(ctx, eq, [v.rank for v in ins])
    ins, terms = zip(*[_diagonals(ctx, v, t) for v, t in zip(ins, terms)])
    if len(ins) == 1:
        v, term = _sum_out(ctx, ins[0], terms[0], set(out))
        return [_transpose(ctx, v, [term.index(c) for c in out])]
    (a, ta), (b, tb) = zip(ins, terms)
    a, ta = _sum_out(ctx, a, ta, set(out) | set(tb))
    b, tb = _sum_out(ctx, b, tb, set(out) | set(ta))
    batch = [c for c in out if c in ta and c in tb]
    contract = [c for c in ta if c in tb and c not in out]
    left = [c for c in ta if c not in tb]
    right = [c for c in tb if c not in ta]
    size = {c: d for t, v in ((ta, a), (tb, b)) for c, d in zip(t, v.shape)}
    a = _transpose(ctx, a, [ta.index(c) for c in batch + left + contract])
    b = _transpose(ctx, b, [tb.index(c) for c in batch + contract + right])

    def prod(cs):
        return int(np.prod([size[c] for c in cs], dtype=np.int64))
    a3 = _reshape_logical(ctx, a, (prod(batch), prod(left), prod(contract)))
    b3 = _reshape_logical(ctx, b, (prod(batch), prod(contract), prod(right)))
    y = ctx.emit("BATCH_MATMUL", [ctx.logical(a3), ctx.logical(b3)],
                 [(prod(batch), prod(left), prod(right))], [a.dtype],
                 {"adj_x": False, "adj_y": False, "asymmetric_quantize_inputs": False})[0]
    order = batch + left + right
    y = _reshape_logical(ctx, y, tuple(size[c] for c in order))
    return [_transpose(ctx, y, [order.index(c) for c in out])]


RULES = {"Einsum": _einsum}
