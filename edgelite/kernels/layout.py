"""Ops that move elements between axes and tensors.

    op              dtypes                              versions   parameters
    TRANSPOSE       any, rank <= 8                      1-9        perm input (int32)
    CONCATENATION   f16 f32 i8 u8 i16 i32 u32 i64 bool  1-7        axis option
    PACK            f32 i8 u8 i16 i32 u32 i64           1-5        axis, values_count
    UNPACK          f16 f32 i8 u8 i16 i32 bool          1-6        axis, num
    SPLIT           f32 i8 u8 i16 i32 i64               1-5        axis input 0 (int32)
    SPLIT_V         f32 i8 u8 i16 i32 i64               1-3        size_splits (one -1
                                                                   allowed), axis input 2
    DEPTH_TO_SPACE  f32 i8 u8 i32 i64, NHWC             1-2        block_size
    SPACE_TO_DEPTH  f32 i8 u8 i32 i64, NHWC             1-2        block_size

"any" is float16/32/64, (u)int8/16/32, int64 and bool. Quantized tensors are copied as
stored; outputs must be quantized like the inputs (requantizing, e.g. a CONCATENATION of
differently scaled uint8 inputs, is not supported yet). CONCATENATION takes no fused
activation: TFLite's kernel refuses one, so no model LiteRT runs carries it. A perm,
axis or size input only known at invoke makes the outputs dynamic, as in TFLite.
"""

from __future__ import annotations

import itertools

import numpy as np

from .api import KernelDef, PrepareContext, Run
from .elementwise import dtypes
from .shape_args import (
    ALL_TYPES,
    INDEX_TYPES,
    INT32,
    BadArgs,
    Plan,
    arg_input,
    axis_value,
    data_input,
    ints,
    planned,
    same_output,
)

_CONCAT_TYPES = dtypes("float16 float32 int8 uint8 int16 int32 uint32 int64 bool")
_PACK_TYPES = dtypes("float32 int8 uint8 int16 int32 uint32 int64")
_UNPACK_TYPES = dtypes("float16 float32 int8 uint8 int16 int32 bool")
_SPLIT_TYPES = dtypes("float32 int8 uint8 int16 int32 int64")
_BLOCK_TYPES = dtypes("float32 int8 uint8 int32 int64")


def _along(axis: int, index) -> tuple:
    return (slice(None),) * axis + (index,)


def prepare_transpose(ctx: PrepareContext) -> Run:
    ctx.check(len(ctx.inputs) == 2, "needs 2 inputs")
    x = data_input(ctx, 0, ALL_TYPES)
    same_output(ctx, x)
    rank = len(x.shape)
    ctx.check(rank <= 8, f"rank {rank} is over TFLite's 8")
    arg_input(ctx, 1, "perm", INT32, rank=1, size=rank)

    def plan(perm: np.ndarray) -> Plan:
        p = [axis_value(v, rank, "perm entry") for v in ints(perm)]
        if sorted(p) != list(range(rank)):
            raise BadArgs(f"perm {ints(perm)} is not a permutation of {rank} axes")

        def body(ins, outs, scratch):
            np.copyto(outs[0], ins[0].transpose(p))
        return Plan([tuple(x.shape[a] for a in p)], body)
    return planned(ctx, [1], plan, [x.dtype])


def prepare_concatenation(ctx: PrepareContext) -> Run:
    ctx.check(len(ctx.inputs) >= 1 and None not in ctx.inputs, "needs its inputs")
    activation = ctx.options.get("fused_activation_function", "NONE")
    ctx.check(activation == "NONE", f"fused activation {activation}: TFLite's "
                                    "CONCATENATION takes none")
    specs = [data_input(ctx, i, _CONCAT_TYPES) for i in range(len(ctx.inputs))]
    first, rank = specs[0], len(specs[0].shape)
    axis = int(ctx.options.get("axis", 0))
    axis = axis + rank if axis < 0 else axis
    ctx.check(0 <= axis < rank or (rank == 0 and axis == 0),
              f"axis {ctx.options.get('axis', 0)} is out of range for rank {rank}")
    for s in specs:
        same_output(ctx, s)
        ctx.check(s.dtype == first.dtype, f"inputs mix {first.dtype} and {s.dtype}")
        fits = len(s.shape) == rank and all(
            a == b for d, (a, b) in enumerate(zip(s.shape, first.shape)) if d != axis)
        ctx.check(fits, f"shape {list(s.shape)} does not concatenate with "
                        f"{list(first.shape)} on axis {axis}")
    if rank == 0:   # TFLite stacks scalars only when they are all constant
        ctx.check(all(s.is_const for s in specs), "non-constant scalar inputs")
        sizes, shape = [1] * len(specs), [len(specs)]
    else:
        sizes = [s.shape[axis] for s in specs]
        shape = list(first.shape)
        shape[axis] = sum(sizes)
    ctx.set_output(0, shape, first.dtype)
    starts = np.cumsum([0] + sizes).tolist()
    where = [_along(axis, slice(a, b)) for a, b in itertools.pairwise(starts)]
    pieces = [s.shape if rank else (1,) for s in specs]

    def run(ins, outs, scratch):
        for x, index, piece in zip(ins, where, pieces):
            np.copyto(outs[0][index], x.reshape(piece))
    return run


def prepare_pack(ctx: PrepareContext) -> Run:
    n = len(ctx.inputs)
    ctx.check(n >= 1 and None not in ctx.inputs, "needs its inputs")
    ctx.check(ctx.options.get("values_count") == n,
              f"values_count {ctx.options.get('values_count')} != {n} inputs")
    specs = [data_input(ctx, i, _PACK_TYPES) for i in range(n)]
    first = specs[0]
    for s in specs:
        same_output(ctx, s)
        ctx.check(s.shape == first.shape and s.dtype == first.dtype,
                  f"input {list(s.shape)} {s.dtype} differs from {list(first.shape)} "
                  f"{first.dtype}")
    try:
        axis = axis_value(ctx.options.get("axis", 0), len(first.shape) + 1)
    except BadArgs as e:
        raise ctx.error(str(e)) from None
    shape = list(first.shape)
    shape.insert(axis, n)
    ctx.set_output(0, shape, first.dtype)
    where = [_along(axis, slice(k, k + 1)) for k in range(n)]
    piece = tuple(shape[:axis]) + (1,) + tuple(shape[axis + 1:])

    def run(ins, outs, scratch):
        for x, index in zip(ins, where):
            np.copyto(outs[0][index], x.reshape(piece))
    return run


def _copy_pieces(where: list, source: int = 0):
    def body(ins, outs, scratch):
        for out, index in zip(outs, where):
            np.copyto(out, ins[source][index])
    return body


def prepare_unpack(ctx: PrepareContext) -> Run:
    ctx.check(len(ctx.inputs) == 1, "needs one input")
    x = data_input(ctx, 0, _UNPACK_TYPES)
    ctx.check(x.size > 0, f"input of shape {list(x.shape)} is empty")
    try:
        axis = axis_value(ctx.options.get("axis", 0), len(x.shape))
    except BadArgs as e:
        raise ctx.error(str(e)) from None
    n = x.shape[axis]
    ctx.check(ctx.options.get("num") == n == len(ctx.outputs),
              f"num {ctx.options.get('num')} and {len(ctx.outputs)} outputs must equal "
              f"dimension {axis} ({n})")
    shape = x.shape[:axis] + x.shape[axis + 1:]
    for k in range(n):
        same_output(ctx, x, k)
        ctx.set_output(k, shape, x.dtype)
    return _copy_pieces([_along(axis, k) for k in range(n)])


def _split_plan(x, sizes: list[int], axis: int) -> tuple[list, list]:
    """Output shapes and source slices of consecutive pieces ``sizes`` long on ``axis``."""
    starts = np.cumsum([0] + sizes).tolist()
    where = [_along(axis, slice(a, b)) for a, b in itertools.pairwise(starts)]
    return [x.shape[:axis] + (n,) + x.shape[axis + 1:] for n in sizes], where


def prepare_split(ctx: PrepareContext) -> Run:
    ctx.check(len(ctx.inputs) == 2, "needs 2 inputs (axis, value)")
    x = data_input(ctx, 1, _SPLIT_TYPES)
    n = int(ctx.options.get("num_splits", 0))
    ctx.check(n == len(ctx.outputs), f"num_splits {n} != {len(ctx.outputs)} outputs")
    arg_input(ctx, 0, "axis", INT32, size=1)
    for k in range(n):
        same_output(ctx, x, k, typed_by_input=True)

    def plan(axis: np.ndarray) -> Plan:
        a = axis_value(ints(axis)[0], len(x.shape))
        if x.shape[a] % n:
            raise BadArgs(f"dimension {a} ({x.shape[a]}) does not split into {n} equal parts")
        shapes, where = _split_plan(x, [x.shape[a] // n] * n, a)
        return Plan(shapes, _copy_pieces(where, source=1))
    return planned(ctx, [0], plan, [x.dtype] * n)


def prepare_split_v(ctx: PrepareContext) -> Run:
    ctx.check(len(ctx.inputs) == 3, "needs 3 inputs (value, size_splits, axis)")
    x = data_input(ctx, 0, _SPLIT_TYPES)
    n = int(ctx.options.get("num_splits", 0))
    ctx.check(n == len(ctx.outputs), f"num_splits {n} != {len(ctx.outputs)} outputs")
    arg_input(ctx, 1, "size_splits", INDEX_TYPES, rank=1, size=n)
    arg_input(ctx, 2, "axis", INT32, size=1)
    for k in range(n):
        same_output(ctx, x, k, typed_by_input=True)

    def plan(size_splits: np.ndarray, axis: np.ndarray) -> Plan:
        a = axis_value(ints(axis)[0], len(x.shape))
        sizes, total = ints(size_splits), x.shape[a]
        if sizes.count(-1) > 1 or any(s < -1 for s in sizes):
            raise BadArgs(f"size_splits {sizes} may hold one -1 and no other negative")
        if -1 in sizes:
            rest = total - (sum(sizes) + 1)
            if rest < 0:
                raise BadArgs(f"size_splits {sizes} exceed dimension {a} ({total})")
            sizes[sizes.index(-1)] = rest
        if sum(sizes) != total:
            raise BadArgs(f"size_splits {sizes} do not add up to dimension {a} ({total})")
        shapes, where = _split_plan(x, sizes, a)
        return Plan(shapes, _copy_pieces(where))
    return planned(ctx, [1, 2], plan, [x.dtype] * n)


def _block_input(ctx: PrepareContext):
    ctx.check(len(ctx.inputs) == 1, "needs one input")
    x = data_input(ctx, 0, _BLOCK_TYPES)
    same_output(ctx, x)
    ctx.check(len(x.shape) == 4, f"input must be 4-D NHWC, not {list(x.shape)}")
    b = int(ctx.options.get("block_size", 0))
    ctx.check(b > 0, f"block_size {b} must be positive")
    return x, b


def prepare_depth_to_space(ctx: PrepareContext) -> Run:
    x, b = _block_input(ctx)
    n, h, w, c = x.shape
    ctx.check(c % (b * b) == 0, f"{c} channels do not split into {b}x{b} blocks")
    co = c // (b * b)
    ctx.set_output(0, (n, h * b, w * b, co), x.dtype)

    def run(ins, outs, scratch):
        np.copyto(outs[0].reshape(n, h, b, w, b, co),
                  ins[0].reshape(n, h, w, b, b, co).transpose(0, 1, 3, 2, 4, 5))
    return run


def prepare_space_to_depth(ctx: PrepareContext) -> Run:
    x, b = _block_input(ctx)
    n, h, w, c = x.shape
    ctx.check(h % b == 0 and w % b == 0, f"{h}x{w} does not split into {b}x{b} blocks")
    ho, wo = h // b, w // b
    ctx.set_output(0, (n, ho, wo, c * b * b), x.dtype)

    def run(ins, outs, scratch):
        np.copyto(outs[0].reshape(n, ho, wo, b, b, c),
                  ins[0].reshape(n, ho, b, wo, b, c).transpose(0, 1, 3, 2, 4, 5))
    return run


KERNELS = {
    "TRANSPOSE": KernelDef(prepare_transpose, 9),
    "CONCATENATION": KernelDef(prepare_concatenation, 7),
    "PACK": KernelDef(prepare_pack, 5),
    "UNPACK": KernelDef(prepare_unpack, 6),
    "SPLIT": KernelDef(prepare_split, 5),
    "SPLIT_V": KernelDef(prepare_split_v, 3),
    "DEPTH_TO_SPACE": KernelDef(prepare_depth_to_space, 2),
    "SPACE_TO_DEPTH": KernelDef(prepare_space_to_depth, 2),
}
