"""TRANSPOSE, CONCATENATION, PACK, UNPACK, SPLIT, SPLIT_V, DEPTH_TO_SPACE, SPACE_TO_DEPTH,
TILE and BROADCAST_TO against LiteRT: ranks 1-8, axes incl. negative, dtypes, parameter
inputs known at prepare or only at invoke, quantized pass-through, and the errors."""

from __future__ import annotations

import numpy as np
import pytest

from tests.kernels.movement_helpers import (
    DTYPES,
    invoke_fails,
    invoke_peak_bytes,
    prepare_fails,
    quant,
    run_op,
    values,
)

I32 = np.int32
RNG = np.random.default_rng(7)
SHAPES = [(5,), (2, 3), (2, 3, 4), (2, 1, 3, 2), (2, 3, 1, 2, 2), (1, 2, 2, 3, 1, 2)]


@pytest.mark.parametrize("shape", SHAPES + [(2, 1, 2, 1, 2, 1, 2, 2)], ids=str)
@pytest.mark.parametrize("const", [True, False])
def test_transpose(shape, const):
    x = values(RNG, shape, np.float32)
    rank = len(shape)
    for perm in (list(range(rank))[::-1], list(np.random.default_rng(rank).permutation(rank)),
                 [p - rank for p in range(rank)]):
        run_op("TRANSPOSE", [x, np.array(perm, I32)], const=[False, const])


@pytest.mark.parametrize("dtype", DTYPES + [np.float16, np.uint16])
def test_transpose_dtypes(dtype):
    run_op("TRANSPOSE", [values(RNG, (2, 3, 4), dtype), np.array([1, 2, 0], I32)],
           const=[False, True])


@pytest.mark.parametrize("perm,const,match", [([0, 0, 1], True, "not a permutation"),
                                              ([0, 3, 1], True, "out of range"),
                                              ([0, 1], True, "must hold 3")])
def test_transpose_bad_perm(perm, const, match):
    prepare_fails("TRANSPOSE", [np.zeros((2, 3, 4), np.float32), np.array(perm, I32)],
                  const=[False, const], match=match, litert_too=len(perm) == 2)


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("inputs", [1, 2, 3])
def test_concatenation_axes(shape, inputs):
    rank = len(shape)
    for axis in range(-rank, rank):
        xs = []
        for k in range(inputs):
            s = list(shape)
            s[axis] += k   # different sizes along the axis
            xs.append(values(RNG, s, np.float32))
        run_op("CONCATENATION", xs, {"axis": axis})


@pytest.mark.parametrize("dtype", DTYPES + [np.float16, np.uint32])
def test_concatenation_dtypes_and_constants(dtype):
    a, b, c = (values(RNG, (2, n, 3), dtype) for n in (1, 2, 3))
    run_op("CONCATENATION", [a, b, c], {"axis": 1}, const=[False, True, False])


def test_concatenation_of_quantized_int8_with_one_scale():
    q = quant(0.1, 4)
    a, b = values(RNG, (2, 3), np.int8, -128, 127), values(RNG, (2, 5), np.int8, -128, 127)
    run_op("CONCATENATION", [a, b], {"axis": -1}, input_quant=[q, q], outputs=[(np.int8, q)])


@pytest.mark.parametrize("shapes,options,match", [
    (((2, 3), (3, 3)), {"axis": 1}, "does not concatenate"),
    (((2, 3), (2, 3, 1)), {"axis": 0}, "does not concatenate"),
    (((2, 3), (2, 3)), {"axis": 2}, "out of range"),
    (((2, 3), (2, 3)), {"axis": -3}, "out of range"),
    (((2, 3), (2, 3)), {"axis": 0, "fused_activation_function": "RELU"}, "takes none")])
def test_concatenation_errors(shapes, options, match):
    xs = [np.zeros(s, np.float32) for s in shapes]
    prepare_fails("CONCATENATION", xs, options, match=match)


@pytest.mark.parametrize("shape", [(), (3,), (2, 3), (2, 1, 3, 2), (1, 2, 2, 3, 2)], ids=str)
@pytest.mark.parametrize("n", [1, 3])
def test_pack(shape, n):
    xs = [values(RNG, shape, np.float32) for _ in range(n)]
    for axis in range(-len(shape) - 1, len(shape) + 1):
        run_op("PACK", xs, {"axis": axis, "values_count": n})


@pytest.mark.parametrize("dtype", [np.float32, np.int32, np.int64, np.int8, np.uint8,
                                   np.int16, np.uint32])
def test_pack_unpack_dtypes(dtype):
    a, b = values(RNG, (2, 3), dtype), values(RNG, (2, 3), dtype)
    run_op("PACK", [a, b], {"axis": 1, "values_count": 2})
    if dtype in (np.int64, np.uint32):
        return   # TFLite's UNPACK takes neither
    run_op("UNPACK", [a], {"axis": 1, "num": 3}, outputs=[(dtype, None)] * 3)


def test_unpack_bool_and_float16():
    for dtype in (np.bool_, np.float16):
        run_op("UNPACK", [values(RNG, (3, 2), dtype)], {"axis": 0, "num": 3},
               outputs=[(dtype, None)] * 3)


@pytest.mark.parametrize("shape", SHAPES + [(2, 1, 2, 1, 2, 1, 2)], ids=str)
def test_unpack(shape):
    x = values(RNG, shape, np.float32)
    for axis in range(-len(shape), len(shape)):
        n = shape[axis]
        run_op("UNPACK", [x], {"axis": axis, "num": n}, outputs=[(np.float32, None)] * n)


def test_pack_unpack_errors():
    a = np.zeros((2, 3), np.float32)
    prepare_fails("PACK", [a, np.zeros((3, 2), np.float32)], {"axis": 0, "values_count": 2},
                  match="differs")
    prepare_fails("PACK", [a, a], {"axis": 3, "values_count": 2}, match="out of range")
    prepare_fails("UNPACK", [a], {"axis": 2, "num": 2}, outputs=[(np.float32, None)] * 2,
                  match="out of range")
    prepare_fails("UNPACK", [a], {"axis": 0, "num": 3}, outputs=[(np.float32, None)] * 3,
                  match="must equal dimension")


@pytest.mark.parametrize("shape", SHAPES[1:], ids=str)
@pytest.mark.parametrize("const", [True, False])
def test_split(shape, const):
    x = values(RNG, shape, np.float32)
    for axis in range(-len(shape), len(shape)):
        for n in {1, shape[axis]}:
            run_op("SPLIT", [np.array(axis, I32), x], {"num_splits": n}, const=[const, False],
                   outputs=[(np.float32, None)] * n)


@pytest.mark.parametrize("dtype", [np.float32, np.int32, np.int64, np.int8, np.uint8,
                                   np.int16])
def test_split_and_split_v_dtypes(dtype):
    x = values(RNG, (4, 6), dtype)
    run_op("SPLIT", [np.array([1], I32), x], {"num_splits": 3}, const=[True, False],
           outputs=[(dtype, None)] * 3)
    run_op("SPLIT_V", [x, np.array([1, 3], I32), np.array(0, I32)], {"num_splits": 2},
           const=[False, True, True], outputs=[(dtype, None)] * 2)


# a 0-sized piece only with constant parameters: LiteRT cannot hand back an empty
# dynamic output
@pytest.mark.parametrize("sizes,axis,const", [
    *[(s, a, c) for s, a in (([1, 2, 3], 1), ([2, -1], 0), ([6], -1), ([1, -1, 2], 2))
      for c in ((True, True), (False, True), (True, False))],
    ([0, 4, 2], -1, (True, True)), ([-1, 1, 0], 2, (True, True))], ids=str)
@pytest.mark.parametrize("size_type", [np.int32, np.int64])
def test_split_v(sizes, axis, const, size_type):
    shape = [2, 3, 2]
    shape[axis] = 6
    x = values(RNG, shape, np.float32)
    run_op("SPLIT_V", [x, np.array(sizes, size_type), np.array([axis], I32)],
           {"num_splits": len(sizes)}, const=[False, *const],
           outputs=[(np.float32, None)] * len(sizes))


def test_split_errors():
    x = np.zeros((4, 6), np.float32)
    out = [(np.float32, None)] * 4
    prepare_fails("SPLIT", [np.array(1, I32), x], {"num_splits": 4}, const=[True, False],
                  outputs=out, match="equal parts")
    prepare_fails("SPLIT", [np.array(2, I32), x], {"num_splits": 4}, const=[True, False],
                  outputs=out, match="out of range")
    invoke_fails("SPLIT", [np.array(1, I32), x], {"num_splits": 4}, outputs=out,
                 match="equal parts")
    prepare_fails("SPLIT_V", [x, np.array([1, 2], I32), np.array(1, I32)],
                  {"num_splits": 2}, const=[False, True, True], outputs=out[:2],
                  match="do not add up")
    prepare_fails("SPLIT_V", [x, np.array([-1, 7], I32), np.array(1, I32)],
                  {"num_splits": 2}, const=[False, True, True], outputs=out[:2],
                  match="exceed")


@pytest.mark.parametrize("dtype", [np.float32, np.int8, np.uint8, np.int32, np.int64])
@pytest.mark.parametrize("block", [1, 2, 3])
def test_depth_to_space_and_back(dtype, block):
    x = values(RNG, (2, 2, 3, 2 * block * block), dtype)
    run_op("DEPTH_TO_SPACE", [x], {"block_size": block})
    y = values(RNG, (1, 2 * block, 3 * block, 3), dtype)
    run_op("SPACE_TO_DEPTH", [y], {"block_size": block})


def test_depth_space_errors():
    prepare_fails("DEPTH_TO_SPACE", [np.zeros((1, 2, 2, 6), np.float32)], {"block_size": 2},
                  match="do not split")
    prepare_fails("SPACE_TO_DEPTH", [np.zeros((1, 3, 4, 1), np.float32)], {"block_size": 2},
                  match="does not split")
    prepare_fails("SPACE_TO_DEPTH", [np.zeros((3, 4, 1), np.float32)], {"block_size": 2},
                  match="4-D")


@pytest.mark.parametrize("shape", [(), (3,), (2, 3), (2, 1, 3), (1, 2, 2, 3),
                                   (2, 1, 2, 1, 2), (1, 2, 1, 2, 1, 2)], ids=str)
@pytest.mark.parametrize("const", [True, False])
@pytest.mark.parametrize("mtype", [np.int32, np.int64])
def test_tile(shape, const, mtype):
    x = values(RNG, shape, np.float32)
    multiples = np.array([(d % 3) + 1 for d in range(len(shape))], mtype).reshape(len(shape))
    run_op("TILE", [x, multiples], const=[False, const])


@pytest.mark.parametrize("dtype", DTYPES + [np.float16])
def test_tile_dtypes_and_zero_multiple(dtype):
    x = values(RNG, (2, 3), dtype)
    run_op("TILE", [x, np.array([2, 1], I32)], const=[False, True])
    run_op("TILE", [x, np.array([0, 2], I32)], const=[False, True])


@pytest.mark.parametrize("shape,target", [((3,), (2, 3)), ((1,), (4,)), ((2, 1), (2, 3)),
                                          ((), (2, 2)), ((1, 3, 1), (2, 2, 3, 4)),
                                          ((2, 1, 1, 3, 1), (2, 2, 2, 3, 2)),
                                          ((1, 1, 2, 1, 1, 2), (2, 1, 2, 2, 1, 2)),
                                          ((3,), (1, 1, 1, 1, 1, 1, 1, 3))], ids=str)
@pytest.mark.parametrize("const", [True, False])
def test_broadcast_to(shape, target, const):
    x = values(RNG, shape, np.float32)
    run_op("BROADCAST_TO", [x, np.array(target, I32)], const=[False, const], version=2)


@pytest.mark.parametrize("dtype", DTYPES)
def test_broadcast_to_dtypes(dtype):
    run_op("BROADCAST_TO", [values(RNG, (3, 1), dtype), np.array([2, 3, 2], np.int64)],
           const=[False, True], version=3)


def test_broadcast_to_errors():
    x = np.zeros((2, 3), np.float32)
    prepare_fails("BROADCAST_TO", [x, np.array([4, 3], I32)], const=[False, True],
                  match="does not broadcast", version=2)
    prepare_fails("BROADCAST_TO", [x, np.array([3], I32)], const=[False, True],
                  match="does not broadcast", version=2)
    invoke_fails("BROADCAST_TO", [x, np.array([2, 4], I32)], match="does not broadcast",
                 version=2)


@pytest.mark.parametrize("opcode,inputs,options,const,outputs", [
    ("TRANSPOSE", [np.ones((64, 64, 64), np.float32), np.array([2, 0, 1], I32)], {},
     [False, True], None),
    ("CONCATENATION", [np.ones((64, 64, 32), np.float32)] * 2, {"axis": 1}, None, None),
    ("PACK", [np.ones((64, 64, 32), np.float32)] * 2, {"axis": 2, "values_count": 2}, None,
     None),
    ("SPLIT", [np.array(2, I32), np.ones((64, 64, 64), np.float32)], {"num_splits": 2},
     [True, False], [(np.float32, None)] * 2),
    ("TILE", [np.ones((64, 32, 32), np.float32), np.array([1, 2, 2], I32)], {},
     [False, True], None),
    ("DEPTH_TO_SPACE", [np.ones((1, 64, 64, 64), np.float32)], {"block_size": 2}, None,
     None)])
def test_invoke_allocates_no_tensor_memory(opcode, inputs, options, const, outputs):
    peak = invoke_peak_bytes(opcode, inputs, options, const, outputs=outputs)
    assert peak < 40 * 1024, f"{opcode} invoke allocated {peak} bytes"
