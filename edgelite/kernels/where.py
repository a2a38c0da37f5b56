"""WHERE (versions 1-2): the coordinates of a tensor's non-zero elements.

    input     bool f32 i8 u8 i32 u32 i64, rank >= 1
    output    int64 [count, rank], in row-major order

The output's length is the number of non-zero elements, so it is dynamic: run stores a
fresh array. A condition known at prepare (a constant, or a folded value) gives a
static output instead, which the interpreter then folds.
"""

from __future__ import annotations

import numpy as np

from .api import KernelDef, PrepareContext, Run
from .elementwise import dtypes
from .shape_args import data_input

_CONDITION_TYPES = dtypes("bool float32 int8 uint8 int32 uint32 int64")


def true_coords(cond: np.ndarray) -> np.ndarray:
    """[count, rank] int64 coordinates of the non-zero elements, C-contiguous."""
    return np.ascontiguousarray(np.argwhere(cond), dtype=np.int64)


def prepare_where(ctx: PrepareContext) -> Run:
    ctx.check(len(ctx.inputs) == 1, "needs one input")
    cond = data_input(ctx, 0, _CONDITION_TYPES)
    ctx.check(len(cond.shape) >= 1, "the condition must have rank >= 1")
    if cond.is_const:
        coords = true_coords(cond.data)
        ctx.set_output(0, coords.shape, np.int64)

        def run_const(ins, outs, scratch):
            np.copyto(outs[0], coords)
        return run_const
    ctx.set_output_dynamic(0, np.int64)

    def run(ins, outs, scratch):
        outs[0] = true_coords(ins[0])
    return run


KERNELS = {"WHERE": KernelDef(prepare_where, 2)}
