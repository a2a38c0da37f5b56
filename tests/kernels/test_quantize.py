"""QUANTIZE against LiteRT's builtin kernels, bit-exact: float32 -> int8/uint8/int16 (per
tensor, with the SIMD body and scalar tail rounding ties differently; per channel) and
integer requantization between every pair LiteRT accepts; DEQUANTIZE of non-constant
int8/uint8/int16 tensors (per tensor and per channel)."""

from __future__ import annotations

import numpy as np
import pytest

from edgelite.kernels.api import PrepareError
from edgelite.schema import ir
from tests.kernels.harness import compare, op_model, run_kernel


def _quant(scales, zero_points, axis=0):
    return ir.Quantization(np.array(scales, np.float32).reshape(-1),
                           np.array(zero_points, np.int64).reshape(-1), axis)


def _ints(dtype, shape, rng):
    info = np.iinfo(dtype)
    return rng.integers(info.min, info.max, shape, endpoint=True).astype(dtype)


def _floats_with_ties(rng, shape, scale, spread):
    """Values whose quotient by ``scale`` lands on exact .5 ties, plus random ones,
    specials (+-0, +-inf, NaN, huge) and values far outside the range."""
    n = int(np.prod(shape))
    half = (rng.integers(-spread, spread, n) + 0.5).astype(np.float32) * np.float32(scale)
    rand = rng.uniform(-spread, spread, n).astype(np.float32) * np.float32(scale)
    x = np.where(rng.random(n) < 0.5, half, rand).astype(np.float32)
    specials = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 3e38, -3e38, 1e-38], np.float32)
    k = min(len(specials), n // 3)
    x[rng.choice(n, k, replace=False)] = specials[:k]
    return x.reshape(shape)


RANGES = {np.int8: (-128, 127), np.uint8: (0, 255), np.int16: (-32768, 32767)}


@pytest.mark.parametrize("dtype", [np.int8, np.uint8, np.int16])
@pytest.mark.parametrize("shape", [(1, 4, 4, 3), (37,), (2, 8), (5,)], ids=str)
@pytest.mark.parametrize("scale,zp_pick", [(0.0123, "mid"), (1.0, "min"), (0.5, "max"),
                                           (1e-6, "mid"), (3e4, "min"), (2.0 ** -20, "max"),
                                           (0.1, "mid")])
def test_quantize_float_per_tensor(dtype, shape, scale, zp_pick):
    rng = np.random.default_rng(hash((shape, scale)) % 2**32)
    lo, hi = RANGES[dtype]
    zp = {"mid": (lo + hi + 1) // 2 if dtype != np.int16 else 0, "min": lo, "max": hi}[zp_pick]
    if dtype == np.int16 and zp_pick != "mid":
        zp = lo // 2 if zp_pick == "min" else hi // 2
    spread = (hi - lo) // 2 + 20
    x = _floats_with_ties(rng, shape, scale, spread)
    model = op_model("QUANTIZE", [x], outputs=[(dtype, _quant([scale], [zp]))], version=2)
    compare(model, [x])


def test_quantize_float_ties_body_and_tail():
    # 2.5 / 1.0: the SIMD body rounds half to even (2), the scalar tail half away (3)
    x = np.array([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 3.5, -3.5, 2.5, -2.5, 0.5], np.float32)
    model = op_model("QUANTIZE", [x], outputs=[(np.int8, _quant([1.0], [0]))])
    got = compare(model, [x])[0]
    assert list(got[:8]) == [0, 2, 2, 0, -2, -2, 4, -4]
    assert list(got[8:]) == [3, -3, 1]


@pytest.mark.parametrize("dtype", [np.int8, np.uint8, np.int16])
@pytest.mark.parametrize("axis", [0, 1, 3])
def test_quantize_float_per_channel(dtype, axis):
    rng = np.random.default_rng(axis)
    shape = (3, 4, 2, 5)
    c = shape[axis]
    lo, hi = RANGES[dtype]
    scales = np.exp(rng.uniform(-12, 4, c)).astype(np.float32)
    zps = rng.integers(lo, hi, c, endpoint=True)
    zps[0], zps[-1] = lo, hi
    if dtype == np.int16:
        zps[:] = 0
    x = (rng.integers(-200, 200, shape) + 0.5 * rng.integers(0, 2, shape)).astype(np.float32)
    x *= np.asarray(scales, np.float32).reshape([-1 if d == axis else 1 for d in range(4)])
    x.reshape(-1)[:3] = [np.inf, -np.inf, 1e30]
    model = op_model("QUANTIZE", [x], outputs=[(dtype, _quant(scales, zps, axis))], version=2)
    model.subgraphs[0].tensors[1].shape = x.shape    # the schema checks the quantized axis
    compare(model, [x])


PAIRS = [(np.int8, np.int8), (np.int8, np.uint8), (np.uint8, np.int8), (np.uint8, np.uint8),
         (np.int16, np.int8), (np.int16, np.int16), (np.int16, np.int32), (np.int32, np.int8),
         (np.int32, np.int16)]


def _zero_point(dtype, rng, pick):
    if dtype in (np.int16, np.int32):
        return 0
    lo, hi = RANGES[dtype]
    return {"lo": lo, "hi": hi, "rand": int(rng.integers(lo, hi, endpoint=True))}[pick]


@pytest.mark.parametrize("src,dst", PAIRS, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("ratio", [1.0, 0.5, 2.0, 0.3333, 7.77, 1e-3, 300.0, 0.9999999])
@pytest.mark.parametrize("size", [35, 16, 5])
def test_requantize(src, dst, ratio, size):
    rng = np.random.default_rng(int(ratio * 1000) + size)
    if src == np.int32:
        x = rng.integers(-(2**20), 2**20, size).astype(np.int32)
    else:
        x = _ints(src, size, rng)
    in_scale = np.float32(0.0371)
    out_scale = np.float32(in_scale / np.float32(ratio))
    izp = _zero_point(src, rng, ["lo", "hi", "rand"][size % 3])
    ozp = _zero_point(dst, rng, ["rand", "lo", "hi"][size % 3])
    if src == np.int16 and dst == np.int8:
        ozp = int(rng.integers(-128, 127))
    model = op_model("QUANTIZE", [x], outputs=[(dst, _quant([out_scale], [ozp]))],
                     input_quant=[_quant([in_scale], [izp])])
    compare(model, [x])


@pytest.mark.parametrize("src,dst", [(np.int8, np.uint8), (np.uint8, np.int8),
                                     (np.int8, np.int8)], ids=lambda d: np.dtype(d).name)
def test_requantize_ties(src, dst):
    # ratio 1/2 or 1/4: many exact ties; the 16-wide body rounds them up, the tail away
    rng = np.random.default_rng(3)
    for ratio in (0.5, 0.25, 2.0 ** -7):
        x = _ints(src, 16 * 3 + 11, rng)
        model = op_model("QUANTIZE", [x], outputs=[(dst, _quant([0.1 / ratio], [3]))],
                         input_quant=[_quant([0.1], [-5 if src == np.int8 else 200])])
        compare(model, [x])


@pytest.mark.parametrize("src,dst", [(np.int8, np.int16), (np.uint8, np.int16),
                                     (np.float32, np.int32)], ids=lambda d: np.dtype(d).name)
def test_quantize_rejects(src, dst):
    x = np.zeros(4, src)
    model = op_model("QUANTIZE", [x], outputs=[(dst, _quant([0.5], [0]))],
                     input_quant=None if src == np.float32 else [_quant([0.5], [0])])
    with pytest.raises(PrepareError, match="QUANTIZE"):
        run_kernel(model, [x])


@pytest.mark.parametrize("dtype,zp", [(np.int8, -128), (np.int8, 127), (np.uint8, 0),
                                      (np.uint8, 255), (np.int16, 0)])
@pytest.mark.parametrize("scale", [1e-9, 0.0123, 7e5])
def test_dequantize_activations(dtype, zp, scale):
    rng = np.random.default_rng(7)
    x = _ints(dtype, (2, 3, 8), rng)
    model = op_model("DEQUANTIZE", [x], outputs=[(np.float32, None)],
                     input_quant=[_quant([scale], [zp])], version=2)
    compare(model, [x], exact=True)


@pytest.mark.parametrize("dtype", [np.int8, np.uint8])
def test_dequantize_per_channel_activations(dtype):
    rng = np.random.default_rng(8)
    x = _ints(dtype, (3, 4, 5), rng)
    scales = np.exp(rng.uniform(-10, 5, 4)).astype(np.float32)
    lo, hi = RANGES[dtype]
    zps = np.zeros(4, np.int64) if dtype == np.int16 else rng.integers(lo, hi, 4)
    model = op_model("DEQUANTIZE", [x], outputs=[(np.float32, None)],
                     input_quant=[_quant(scales, zps, 1)], version=5)
    compare(model, [x], exact=True)

