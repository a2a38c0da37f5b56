"""PAD, PADV2, MIRROR_PAD, FILL and RANGE against LiteRT: ranks 1-6, padding dtypes,
quantized fill values, both mirror modes at their limits, parameters known at prepare or
only at invoke, RANGE's length and accumulation rules, and the errors."""

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
RNG = np.random.default_rng(5)
SHAPES = [(4,), (2, 3), (2, 3, 2), (1, 3, 4, 2), (2, 1, 2, 3, 2)]


def _pads(shape, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 3, (len(shape), 2)).astype(I32)


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("const", [True, False])
@pytest.mark.parametrize("opcode", ["PAD", "PADV2"])
def test_pad(shape, const, opcode):
    x = values(RNG, shape, np.float32)
    inputs = [x, _pads(shape, len(shape))]
    if opcode == "PADV2":
        inputs.append(np.array(2.5, np.float32))
    run_op(opcode, inputs, const=[False, const, True][:len(inputs)])


@pytest.mark.parametrize("dtype", DTYPES + [np.float16])
@pytest.mark.parametrize("ptype", [np.int32, np.int64, np.int8])
def test_pad_dtypes(dtype, ptype):
    x = values(RNG, (2, 3), dtype)
    pads = np.array([[1, 0], [2, 1]], ptype)
    run_op("PAD", [x, pads], const=[False, True])
    run_op("PADV2", [x, pads, values(RNG, (), dtype)], const=[False, True, False])


def test_pad_quantized_fills_with_the_zero_point():
    for dtype, zp in ((np.int8, -5), (np.uint8, 130), (np.int16, 0)):
        q = quant(0.5, zp)
        x = values(RNG, (2, 3), dtype, -100, 100)
        run_op("PAD", [x, np.array([[1, 1], [0, 2]], I32)], const=[False, True],
               input_quant=[q, None], outputs=[(dtype, q)])


def test_padv2_quantized_constant_value():
    q = quant(0.5, -5)
    x = values(RNG, (2, 3), np.int8, -100, 100)
    run_op("PADV2", [x, np.array([[1, 1], [0, 2]], I32), np.array(7, np.int8)],
           const=[False, True, True], input_quant=[q, None, q], outputs=[(np.int8, q)])


def test_pad_errors():
    x = np.zeros((2, 3), np.float32)
    prepare_fails("PAD", [x, np.array([[1, -1], [0, 0]], I32)], const=[False, True],
                  match="do not fit")
    prepare_fails("PAD", [x, np.array([[1, 1]], I32)], const=[False, True],
                  match="do not fit rank")
    prepare_fails("PAD", [np.zeros((1,) * 6, np.float32), np.zeros((6, 2), I32)],
                  const=[False, True], match="over TFLite's 5")
    invoke_fails("PAD", [x, np.array([[1, -1], [0, 0]], I32)], match="do not fit")


@pytest.mark.parametrize("shape", SHAPES + [(2, 2, 1, 2, 2, 3)], ids=str)
@pytest.mark.parametrize("mode", ["REFLECT", "SYMMETRIC"])
@pytest.mark.parametrize("const", [True, False])
def test_mirror_pad(shape, mode, const):
    x = values(RNG, shape, np.float32)
    limit = [n - (mode == "REFLECT") for n in shape]
    for k in range(3):   # at most the limit, a mix, and the limit itself
        pads = [[min(limit[d], (d + k) % 3), limit[d] if k == 2 else min(limit[d], k)]
                for d in range(len(shape))]
        run_op("MIRROR_PAD", [x, np.array(pads, I32)], {"mode": mode}, const=[False, const])


@pytest.mark.parametrize("dtype", DTYPES + [np.float16])
def test_mirror_pad_dtypes(dtype):
    run_op("MIRROR_PAD", [values(RNG, (3, 4), dtype), np.array([[2, 1], [1, 3]], np.int64)],
           {"mode": "REFLECT"}, const=[False, True])


@pytest.mark.parametrize("mode,pads", [("REFLECT", [[3, 0], [0, 0]]),
                                       ("SYMMETRIC", [[0, 0], [0, 5]])])
def test_mirror_pad_too_wide(mode, pads):
    x = np.zeros((3, 4), np.float32)
    prepare_fails("MIRROR_PAD", [x, np.array(pads, I32)], {"mode": mode}, const=[False, True],
                  match="do not fit")


@pytest.mark.parametrize("dims", [(3,), (2, 3), (1, 2, 3, 1), (2, 1, 2, 1, 2, 2)], ids=str)
@pytest.mark.parametrize("const", [True, False])
@pytest.mark.parametrize("dims_type", [np.int32, np.int64])
def test_fill(dims, const, dims_type):
    run_op("FILL", [np.array(dims, dims_type), np.array(1.5, np.float32)],
           const=[const, False], outputs=[(np.float32, None)])


@pytest.mark.parametrize("dtype", DTYPES + [np.float16])
def test_fill_dtypes(dtype):
    value = values(RNG, (), dtype)
    run_op("FILL", [np.array([2, 3], I32), value], const=[True, False],
           outputs=[(dtype, None)])


def test_fill_quantized_value():
    q = quant(0.5, 3)
    run_op("FILL", [np.array([2, 2], I32), np.array(-7, np.int8)], const=[True, False],
           input_quant=[None, q], outputs=[(np.int8, q)])


def test_fill_errors():
    value = np.array(1, np.float32)
    prepare_fails("FILL", [np.array([2, -1], I32), value], const=[True, False],
                  outputs=[(np.float32, None)], match="non-negative")
    invoke_fails("FILL", [np.array([2, -1], I32), value], outputs=[(np.float32, None)],
                 match="non-negative")


@pytest.mark.parametrize("start,limit,delta", [(0, 10, 1), (3, 18, 4), (10, 0, -3),
                                               (-5, 5, 2), (7, -8, -5)])
@pytest.mark.parametrize("dtype", [np.int32, np.int64, np.float32])
@pytest.mark.parametrize("const", [True, False])
def test_range(start, limit, delta, dtype, const):
    inputs = [np.array(v, dtype) for v in (start, limit, delta)]
    run_op("RANGE", inputs, const=[const] * 3 if const else [False, True, False],
           outputs=[(dtype, None)])


@pytest.mark.parametrize("start,limit,delta", [(0.1, 2.0, 0.1), (-1.5, 7.25, 0.37),
                                               (3.0, -2.0, -0.3), (0.0, 1.0, 1e-2)])
def test_range_float_accumulates(start, limit, delta):
    inputs = [np.array(v, np.float32) for v in (start, limit, delta)]
    got = run_op("RANGE", inputs, rtol=0, atol=0)
    assert got[0].dtype == np.float32


@pytest.mark.parametrize("start,limit,delta,match", [(0, 5, 0, "non-zero"),
                                                     (0, 5, -1, "does not lead"),
                                                     (5, 0, 2, "does not lead")])
def test_range_errors(start, limit, delta, match):
    inputs = [np.array(v, I32) for v in (start, limit, delta)]
    prepare_fails("RANGE", inputs, const=[True] * 3, match=match)
    invoke_fails("RANGE", inputs, match=match)


@pytest.mark.parametrize("opcode,inputs,options", [
    ("PAD", [np.ones((1, 64, 64, 32), np.float32), np.array([[0, 0], [1, 1], [2, 2], [0, 0]],
                                                             I32)], {}),
    ("MIRROR_PAD", [np.ones((1, 64, 64, 32), np.float32),
                    np.array([[0, 0], [3, 1], [2, 2], [0, 0]], I32)], {"mode": "REFLECT"})])
def test_invoke_allocates_no_tensor_memory(opcode, inputs, options):
    peak = invoke_peak_bytes(opcode, inputs, options, const=[False, True])
    assert peak < 40 * 1024, f"{opcode} invoke allocated {peak} bytes"
