"""Integer (int8 / uint8 / int16) data movement against LiteRT's builtin kernels, bit-exact:
CONCATENATION with rescaling, PAD/PADV2/MIRROR_PAD, RESIZE_BILINEAR /
RESIZE_NEAREST_NEIGHBOR and the quantized copies (pack, split, transpose, slices, ...)."""

from __future__ import annotations

import numpy as np
import pytest

from edgelite.kernels.api import PrepareError
from edgelite.schema import ir
from tests.kernels.harness import compare, op_model, run_kernel

RANGES = {np.int8: (-128, 127), np.uint8: (0, 255), np.int16: (-32768, 32767)}
QTYPES = [np.int8, np.uint8, np.int16]


def _quant(scale, zero_point):
    return ir.Quantization(np.array([scale], np.float32), np.array([zero_point], np.int64))


def _ints(dtype, shape, rng):
    lo, hi = RANGES[dtype]
    return rng.integers(lo, hi, shape, endpoint=True).astype(dtype)


def _zp(dtype, rng):
    lo, hi = RANGES[dtype]
    return 0 if dtype == np.int16 else int(rng.integers(lo, hi, endpoint=True))


# ---------------------------------------------------------------- CONCATENATION

@pytest.mark.parametrize("axis", [0, 1, -1])
@pytest.mark.parametrize("params", [
    [(0.5, 0), (0.25, 255), (1.0, 128)],          # output params last
    [(0.1, 3), (0.1, 3), (0.1, 3)],
    [(1e-4, 7), (3e3, 250), (0.7, 0)],
    [(0.0123, 129), (0.5, 128), (0.0123, 128)],
    [(2.0, 0), (0.5, 0), (1.0, 0)],               # exact .5 ties
])
def test_concatenation_uint8_rescales(axis, params):
    rng = np.random.default_rng(len(params) + axis)
    a = _ints(np.uint8, (2, 3, 4), rng)
    b = _ints(np.uint8, (2, 3, 4), rng)
    (sa, za), (sb, zb), (so, zo) = params
    model = op_model("CONCATENATION", [a, b], {"axis": axis},
                     input_quant=[_quant(sa, za), _quant(sb, zb)],
                     outputs=[(np.uint8, _quant(so, zo))])
    compare(model, [a, b])


def test_concatenation_uint8_rescales_constant_input():
    rng = np.random.default_rng(5)
    a, b = _ints(np.uint8, (3, 5), rng), _ints(np.uint8, (2, 5), rng)
    model = op_model("CONCATENATION", [a, b], {"axis": 0}, const=[False, True],
                     input_quant=[_quant(0.3, 10), _quant(0.07, 200)],
                     outputs=[(np.uint8, _quant(0.2, 100))], version=2)
    compare(model, [a])


@pytest.mark.parametrize("dtype", QTYPES)
def test_concatenation_same_params(dtype):
    rng = np.random.default_rng(1)
    zp = _zp(dtype, rng)
    q = _quant(0.05, zp)
    xs = [_ints(dtype, (2, k, 3), rng) for k in (1, 4, 2)]
    model = op_model("CONCATENATION", xs, {"axis": 1}, input_quant=[q] * 3,
                     outputs=[(dtype, q)], version=3)
    compare(model, xs)


def test_concatenation_int16_copies_scales_as_stored():
    # LiteRT checks int16 zero points (0) but copies values whatever the scales
    rng = np.random.default_rng(2)
    a, b = _ints(np.int16, (3, 2), rng), _ints(np.int16, (3, 5), rng)
    model = op_model("CONCATENATION", [a, b], {"axis": 1},
                     input_quant=[_quant(0.5, 0), _quant(0.001, 0)],
                     outputs=[(np.int16, _quant(0.25, 0))], version=3)
    compare(model, [a, b])


@pytest.mark.parametrize("dtype,in_q,out_q", [
    (np.int8, (0.5, 0), (0.25, 0)),      # LiteRT: int8 inputs must match the output
    (np.int8, (0.5, 1), (0.5, 0)),
    (np.int16, (0.5, 1), (0.5, 0)),      # int16 zero points must be 0
])
def test_concatenation_rejects(dtype, in_q, out_q):
    a = np.zeros((2, 2), dtype)
    model = op_model("CONCATENATION", [a, a], {"axis": 0},
                     input_quant=[_quant(*in_q), _quant(*out_q)],
                     outputs=[(dtype, _quant(*out_q))])
    with pytest.raises(PrepareError, match="CONCATENATION"):
        run_kernel(model, [a, a])


# ---------------------------------------------------------------- PAD / PADV2 / MIRROR_PAD

def _pads(rank, rng):
    return rng.integers(0, 3, (rank, 2)).astype(np.int32)


@pytest.mark.parametrize("dtype", QTYPES)
@pytest.mark.parametrize("zp_pick", ["lo", "hi", "rand"])
@pytest.mark.parametrize("shape", [(1, 3, 4, 2), (2, 5), (2, 1, 3, 2, 2)], ids=str)
def test_pad_quantized(dtype, zp_pick, shape):
    rng = np.random.default_rng(len(shape))
    lo, hi = RANGES[dtype]
    zp = 0 if dtype == np.int16 else {"lo": lo, "hi": hi, "rand": _zp(dtype, rng)}[zp_pick]
    q = _quant(0.37, zp)
    x = _ints(dtype, shape, rng)
    model = op_model("PAD", [x, _pads(len(shape), rng)], const=[False, True],
                     input_quant=[q, None], outputs=[(dtype, q)], version=2)
    compare(model, [x])


@pytest.mark.parametrize("dtype", QTYPES)
def test_padv2_quantized(dtype):
    rng = np.random.default_rng(4)
    q = _quant(0.02, _zp(dtype, rng))
    x = _ints(dtype, (1, 4, 3, 2), rng)
    value = _ints(dtype, (), rng)
    model = op_model("PADV2", [x, _pads(4, rng), value], const=[False, True, True],
                     input_quant=[q, None, q], outputs=[(dtype, q)], version=2)
    compare(model, [x])


@pytest.mark.parametrize("dtype", QTYPES)
@pytest.mark.parametrize("mode", ["REFLECT", "SYMMETRIC"])
def test_mirror_pad_quantized(dtype, mode):
    rng = np.random.default_rng(6)
    q = _quant(0.5, _zp(dtype, rng))
    x = _ints(dtype, (2, 4, 3), rng)
    pads = np.array([[1, 0], [2, 3], [1, 2]], np.int32)
    model = op_model("MIRROR_PAD", [x, pads], {"mode": mode}, const=[False, True],
                     input_quant=[q, None], outputs=[(dtype, q)], version=2)
    compare(model, [x])


# ---------------------------------------------------------------- RESIZE

RESIZE_OPTIONS = [{}, {"align_corners": True}, {"half_pixel_centers": True}]


@pytest.mark.parametrize("dtype", QTYPES)
@pytest.mark.parametrize("options", RESIZE_OPTIONS, ids=lambda o: ",".join(o) or "plain")
@pytest.mark.parametrize("shape,size", [((1, 4, 4, 3), (8, 8)), ((2, 3, 5, 1), (7, 4)),
                                        ((1, 9, 6, 8), (4, 3)), ((1, 5, 5, 16), (10, 10)),
                                        ((1, 2, 3, 17), (5, 9)), ((1, 6, 6, 4), (6, 6)),
                                        ((1, 1, 1, 3), (3, 5)), ((1, 7, 3, 2), (1, 1))],
                         ids=str)
def test_resize_bilinear_quantized(dtype, options, shape, size):
    rng = np.random.default_rng(shape[-1] + size[0])
    q = _quant(0.1, _zp(dtype, rng))
    x = _ints(dtype, shape, rng)
    model = op_model("RESIZE_BILINEAR", [x, np.array(size, np.int32)], options,
                     const=[False, True], input_quant=[q, None], outputs=[(dtype, q)],
                     version=3 if options.get("half_pixel_centers") else 2)
    compare(model, [x])


@pytest.mark.parametrize("dtype", QTYPES)
@pytest.mark.parametrize("options", RESIZE_OPTIONS, ids=lambda o: ",".join(o) or "plain")
@pytest.mark.parametrize("shape,size", [((1, 4, 4, 3), (8, 8)), ((2, 3, 5, 1), (7, 4)),
                                        ((1, 9, 6, 8), (4, 3)), ((1, 5, 5, 16), (10, 10))],
                         ids=str)
def test_resize_nearest_quantized(dtype, options, shape, size):
    rng = np.random.default_rng(shape[-1] + size[1])
    q = _quant(0.1, _zp(dtype, rng))
    x = _ints(dtype, shape, rng)
    model = op_model("RESIZE_NEAREST_NEIGHBOR", [x, np.array(size, np.int32)], options,
                     const=[False, True], input_quant=[q, None], outputs=[(dtype, q)],
                     version=3 if options.get("half_pixel_centers") else 2)
    compare(model, [x])


# ---------------------------------------------------------------- quantized copies

def _i32(*v):
    return np.array(v, np.int32)


X4 = (2, 4, 4, 4)   # the data input's shape in COPIES
# op -> (inputs after the data input, options, version); the data input comes first
# except in SPLIT, whose axis input precedes it
COPIES = {
    "TRANSPOSE": ([_i32(0, 2, 3, 1)], {}, 5),
    "RESHAPE": ([_i32(8, -1)], {}, 1),
    "SQUEEZE": ([], {"squeeze_dims": []}, 1),
    "SLICE": ([_i32(1, 0, 1, 0), _i32(1, 3, -1, 2)], {}, 4),
    "STRIDED_SLICE": ([_i32(0, 2, 0, 3), _i32(2, 0, 4, 0), _i32(1, -1, 2, -2)], {}, 4),
    "TILE": ([_i32(1, 2, 1, 3)], {}, 2),
    "BROADCAST_TO": ([_i32(2, 2, 4, 4, 4)], {}, 3),
    "REVERSE_V2": ([_i32(1, 2)], {}, 3),
    "GATHER": ([_i32(2, 0, 0, 1)], {"axis": 1}, 4),
    "GATHER_ND": ([_i32([1, 2], [0, 0], [1, 1])], {}, 3),
    "DEPTH_TO_SPACE": ([], {"block_size": 2}, 2),
    "SPACE_TO_DEPTH": ([], {"block_size": 2}, 2),
    "SPLIT": ([_i32(3)], {"num_splits": 2}, 3),
    "SPLIT_V": ([_i32(1, -1), _i32(2)], {"num_splits": 2}, 2),
    "PAD": ([np.array([[0, 1], [2, 0], [1, 1], [0, 0]], np.int32)], {}, 2),
    "RESIZE_NEAREST_NEIGHBOR": ([_i32(5, 3)], {"half_pixel_centers": True}, 3),
    "RESIZE_BILINEAR": ([_i32(7, 5)], {}, 2),
    "PACK": ([], {"values_count": 1, "axis": 2}, 2),
    "UNPACK": ([], {"num": 4, "axis": 1}, 2),
    "EXPAND_DIMS": ([_i32(-1)], {}, 1),
    "MIRROR_PAD": ([np.array([[0, 1], [2, 0], [1, 1], [0, 0]], np.int32)],
                   {"mode": "REFLECT"}, 2),
    "CONCATENATION": ([], {"axis": 2}, 2),
}
# ops whose TFLite kernel refuses an output quantized unlike the input (the others copy
# the stored values whatever the quantizations say)
CHECKED = {"PACK", "UNPACK", "EXPAND_DIMS", "MIRROR_PAD"}
NO_INT16 = {"DEPTH_TO_SPACE", "SPACE_TO_DEPTH"}


def _copy_model(opcode, dtype, in_q, out_q, rng):
    extra, options, version = COPIES[opcode]
    x = _ints(dtype, X4, rng)
    inputs = [extra[0], x] + extra[1:] if opcode == "SPLIT" else [x] + extra
    data = 1 if opcode == "SPLIT" else 0
    const = [i != data for i in range(len(inputs))]
    quant = [in_q if i == data else None for i in range(len(inputs))]
    outs = {"SPLIT": 2, "SPLIT_V": 2, "UNPACK": 4}.get(opcode, 1)
    model = op_model(opcode, inputs, options, const=const, input_quant=quant,
                     outputs=[(dtype, out_q)] * outs, version=version)
    return model, x


@pytest.mark.parametrize("dtype", QTYPES)
@pytest.mark.parametrize("opcode", sorted(COPIES))
def test_quantized_copy(opcode, dtype):
    if dtype == np.int16 and opcode in NO_INT16:
        return   # LiteRT refuses int16 there (covered by the float/int tests' dtype checks)
    rng = np.random.default_rng(len(opcode))
    q = _quant(0.0235, _zp(dtype, rng))
    model, x = _copy_model(opcode, dtype, q, q, rng)
    compare(model, [x])


@pytest.mark.parametrize("dtype", QTYPES)
@pytest.mark.parametrize("opcode", sorted(set(COPIES) - {"CONCATENATION"}))
def test_copy_with_other_output_quantization(opcode, dtype):
    if dtype == np.int16 and opcode in NO_INT16:
        return
    rng = np.random.default_rng(len(opcode) + 1)
    lo, hi = RANGES[dtype]
    in_q = _quant(0.5, 0 if dtype == np.int16 else lo)
    out_q = _quant(3e-3, 0 if dtype == np.int16 else hi)
    model, x = _copy_model(opcode, dtype, in_q, out_q, rng)
    if opcode in CHECKED:
        with pytest.raises(PrepareError, match=opcode):
            run_kernel(model, [x])
    else:
        compare(model, [x])


# ---------------------------------------------------------------- SPACE/BATCH ND

@pytest.mark.parametrize("dtype", [np.float32, np.int32] + QTYPES)
@pytest.mark.parametrize("shape,block,pads", [
    ((1, 4, 4, 3), (2, 2), ((0, 0), (0, 0))),
    ((2, 3, 5, 2), (2, 3), ((1, 0), (0, 1))),
    ((1, 5, 2), (3,), ((2, 2),)),
    ((3, 2, 2, 1), (1, 4), ((0, 0), (1, 1)))], ids=str)
def test_space_to_batch_nd(dtype, shape, block, pads):
    rng = np.random.default_rng(len(shape) + block[0])
    x = rng.uniform(-5, 5, shape).astype(np.float32) if dtype == np.float32 else \
        _ints(dtype, shape, rng) if dtype != np.int32 else rng.integers(-99, 99, shape,
                                                                         dtype=np.int32)
    q = _quant(0.3, _zp(dtype, rng)) if dtype in QTYPES else None
    model = op_model("SPACE_TO_BATCH_ND", [x, np.array(block, np.int32),
                                           np.array(pads, np.int32)],
                     const=[False, True, True], input_quant=[q, None, None],
                     outputs=[(dtype, q)], version=3)
    compare(model, [x])


@pytest.mark.parametrize("dtype", [np.float32] + QTYPES)
@pytest.mark.parametrize("shape,block,crops", [
    ((4, 2, 2, 3), (2, 2), ((0, 0), (0, 0))),
    ((12, 2, 3, 2), (2, 3), ((1, 0), (2, 1))),
    ((6, 2, 2), (3,), ((1, 2),)),
    ((4, 3, 1, 1), (1, 4), ((0, 0), (1, 1)))], ids=str)
def test_batch_to_space_nd(dtype, shape, block, crops):
    rng = np.random.default_rng(len(shape) + block[-1])
    x = rng.uniform(-5, 5, shape).astype(np.float32) if dtype == np.float32 else \
        _ints(dtype, shape, rng)
    q = _quant(0.3, _zp(dtype, rng)) if dtype in QTYPES else None
    model = op_model("BATCH_TO_SPACE_ND", [x, np.array(block, np.int32),
                                           np.array(crops, np.int32)],
                     const=[False, True, True], input_quant=[q, None, None],
                     outputs=[(dtype, q)], version=3)
    compare(model, [x])


def test_space_to_batch_nd_dynamic_block():
    rng = np.random.default_rng(0)
    x = _ints(np.int8, (1, 4, 6, 2), rng)
    q = _quant(0.5, -7)
    block, pads = np.array([2, 3], np.int32), np.array([[1, 1], [0, 0]], np.int32)
    model = op_model("SPACE_TO_BATCH_ND", [x, block, pads], const=[False, False, False],
                     input_quant=[q, None, None], outputs=[(np.int8, q)])
    compare(model, [x, block, pads])


# ---------------------------------------------------------------- FILL / WHERE

@pytest.mark.parametrize("dtype", QTYPES)
@pytest.mark.parametrize("const_dims", [True, False])
def test_fill_quantized(dtype, const_dims):
    rng = np.random.default_rng(9)
    q = _quant(0.125, _zp(dtype, rng))
    dims, value = np.array([2, 3, 1], np.int32), _ints(dtype, (), rng)
    model = op_model("FILL", [dims, value], const=[const_dims, False],
                     input_quant=[None, q], outputs=[(dtype, q)], version=3)
    compare(model, [value] if const_dims else [dims, value])


@pytest.mark.parametrize("dtype", [np.int8, np.uint8])
def test_where_quantized_condition(dtype):
    # the stored values are tested against 0, whatever the zero point says
    rng = np.random.default_rng(10)
    x = _ints(dtype, (3, 4), rng)
    x[rng.random((3, 4)) < 0.4] = 0
    model = op_model("WHERE", [x], input_quant=[_quant(0.5, 5)],
                     outputs=[(np.int64, None)], version=2)
    compare(model, [x])
