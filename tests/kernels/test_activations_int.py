"""Quantized (int8, uint8, int16) activations against LiteRT's builtin kernels,
bit-exact, over random and extreme scales and zero points."""

from __future__ import annotations

import numpy as np
import pytest

from edgelite.interpreter import Interpreter
from edgelite.kernels.api import PrepareError
from edgelite.schema import ir, write
from tests.kernels.harness import compare, op_model, run_litert

RANGE = {np.int8: (-128, 127), np.uint8: (0, 255), np.int16: (-32768, 32767)}


def qparams(scale, zero_point=0) -> ir.Quantization:
    return ir.Quantization(scales=np.array([scale], np.float32),
                           zero_points=np.array([zero_point], np.int64))


def rand_values(rng, shape, dtype) -> np.ndarray:
    lo, hi = RANGE[dtype]
    return rng.integers(lo, hi + 1, shape).astype(dtype)


def run_unary(opcode, x, qx, out_dtype, qo, options=None, version=2):
    model = op_model(opcode, [x], options or {}, input_quant=[qx],
                     outputs=[(np.dtype(out_dtype), qo)], version=version)
    return compare(model, [x])


def prepare_fails(model, match):
    with pytest.raises(PrepareError, match=match):
        Interpreter(model_content=write(model)).allocate_tensors()


# ------------------------------------------------------------------ SOFTMAX
SOFTMAX_OUT = {(np.int8, np.int8): (1 / 256, -128), (np.int8, np.int16): (1 / 32768, 0),
               (np.uint8, np.uint8): (1 / 256, 0), (np.uint8, np.int16): (1 / 65536, -32768),
               (np.int16, np.int16): (1 / 32768, 0)}


@pytest.mark.parametrize("dtypes", list(SOFTMAX_OUT), ids=str)
@pytest.mark.parametrize("shape", [(1, 10), (3, 4, 37), (2, 1), (5,), (2, 300)], ids=str)
def test_softmax(dtypes, shape):
    in_dtype, out_dtype = dtypes
    rng = np.random.default_rng(sum(shape) * 31 + len(str(dtypes)))
    lo, hi = RANGE[in_dtype]
    for scale_exp, beta in [(-3, 1.0), (-1, 0.5), (-5, 3.0), (0.5, 1.0), (-7, 1e3)]:
        if in_dtype == np.int16:
            scale_exp -= 2
        x = rand_values(rng, shape, in_dtype)
        x.reshape(-1)[:2] = lo, hi
        zp = 0 if in_dtype == np.int16 else int(rng.integers(lo, hi + 1))
        qx = qparams(float(10 ** (scale_exp + rng.uniform(-0.5, 0.5))), zp)
        qo = qparams(*SOFTMAX_OUT[dtypes])
        run_unary("SOFTMAX", x, qx, out_dtype, qo, {"beta": beta},
                  version=3 if in_dtype == np.int16 else 2)


def test_softmax_uniform_and_peaked_rows():
    x = np.array([[5] * 16, [-128] * 15 + [127], [0, 1] * 8], np.int8)
    run_unary("SOFTMAX", x, qparams(0.1, 3), np.int8, qparams(1 / 256, -128), {"beta": 1.0})
    x16 = np.array([[7] * 9, [-32768] * 8 + [32767]], np.int16)
    run_unary("SOFTMAX", x16, qparams(1e-3), np.int16, qparams(1 / 32768), {"beta": 1.0},
              version=3)


def test_softmax_errors():
    x = np.zeros((2, 4), np.int8)
    prepare_fails(op_model("SOFTMAX", [x], {"beta": 1.0}, input_quant=[qparams(0.1)],
                           outputs=[(np.int8, qparams(1 / 256, 0))], version=2),
                  "zero point -128")
    prepare_fails(op_model("SOFTMAX", [x], {"beta": 1.0}, input_quant=[qparams(0.1)],
                           outputs=[(np.uint8, qparams(1 / 256))], version=2),
                  "uint8 output is not supported")


# ------------------------------------------------------------------ RELU family, LEAKY_RELU
RELUS = [("RELU", (np.int8, np.uint8, np.int16)), ("RELU6", (np.int8, np.uint8, np.int16)),
         ("RELU_N1_TO_1", (np.int8, np.uint8)), ("RELU_0_TO_1", (np.int8, np.uint8))]


def scale_cases(rng, dtype):
    """(input, output) quantizations: random, equal, extreme ratios, zero points at the
    dtype limits (int16 symmetric)."""
    lo, hi = RANGE[dtype]
    sym = dtype == np.int16

    def zp():
        return 0 if sym else int(rng.integers(lo, hi + 1))
    cases = [(qparams(float(10 ** rng.uniform(-3, 0)), zp()),
              qparams(float(10 ** rng.uniform(-3, 0)), zp())) for _ in range(3)]
    cases += [(qparams(0.05, 0 if sym else lo), qparams(0.05, 0 if sym else hi)),
              (qparams(1e-5, 0 if sym else hi), qparams(20.0, 0 if sym else lo)),
              (qparams(30.0, 0), qparams(1e-4, 0 if sym else (lo + hi) // 2))]
    return cases


@pytest.mark.parametrize("opcode,dtypes", RELUS, ids=[r[0] for r in RELUS])
def test_relus(opcode, dtypes):
    rng = np.random.default_rng(len(opcode))
    for dtype in dtypes:
        x = rand_values(rng, (3, 41), dtype)
        x.reshape(-1)[:2] = RANGE[dtype]
        for qx, qo in scale_cases(rng, dtype):
            version = 1 if opcode in ("RELU_N1_TO_1", "RELU_0_TO_1") else \
                3 if dtype == np.int16 else 2
            run_unary(opcode, x, qx, dtype, qo, version=version)


@pytest.mark.parametrize("dtype", [np.int8, np.uint8, np.int16])
@pytest.mark.parametrize("alpha", [0.2, 0.01, 1.0, 3.5, -0.5])
def test_leaky_relu(dtype, alpha):
    rng = np.random.default_rng(int(alpha * 100) % 97)
    x = rand_values(rng, (2, 3, 37), dtype)
    x.reshape(-1)[:2] = RANGE[dtype]
    for qx, qo in scale_cases(rng, dtype):
        run_unary("LEAKY_RELU", x, qx, dtype, qo, {"alpha": alpha})


# ------------------------------------------------------------------ LOGISTIC, TANH
@pytest.mark.parametrize("opcode", ["LOGISTIC", "TANH"])
@pytest.mark.parametrize("dtype", [np.int8, np.uint8])
def test_logistic_tanh_8bit(opcode, dtype):
    rng = np.random.default_rng(len(opcode) + 3)
    lo, hi = RANGE[dtype]
    x = np.arange(lo, hi + 1).astype(dtype).reshape(4, 64)
    for qx, qo in scale_cases(rng, dtype):
        if opcode == "LOGISTIC":
            qo = qparams(1 / 256, lo)
        elif dtype == np.int8:
            qo = qparams(1 / 128, 0) if qo.scales[0] > 1 else qo
        run_unary(opcode, x, qx, dtype, qo)


# ------------------------------------------------------------------ int16 LOGISTIC, TANH, GELU
ALL_INT16 = np.arange(-32768, 32768).astype(np.int16)


def odd_int16_cases(rng):
    """Every int16 value (65536, a multiple of the vector blocks), every value but one in
    shuffled order (65535, a scalar tail) and a short tail-only tensor."""
    shuffled = ALL_INT16[1:].copy()
    rng.shuffle(shuffled)
    return [ALL_INT16.reshape(16, 4096), shuffled, np.array([-32768, -1, 0, 1, 32767, 4096,
                                                            -4097], np.int16)]


def both_reject(model, feeds, match):
    """LiteRT refuses the model (at prepare or invoke) and edgelite refuses it at prepare."""
    with pytest.raises(RuntimeError):
        run_litert(model, feeds)
    prepare_fails(model, match)


# input scales: 2**-12 (and 2**-11 for TANH) take gemmlowp's fixed point; the rest the
# sigmoid-table path, including scales just off a power of two, one whose multiplier
# overflows int32 (back to the fixed-point kernel) and one with the 31-bit shift
INT16_SCALES = [2.0**-12, 2.0**-11, 2.0**-10, 2.0**-15, 2.0**-12 * 2.0**0.0009,
                2.0**-12 * 2.0**0.0011, 1e-3, 3e-4, 0.1, 5.0, 2e5, 1e-14]


@pytest.mark.parametrize("opcode", ["LOGISTIC", "TANH"])
def test_logistic_tanh_int16(opcode):
    rng = np.random.default_rng(len(opcode))
    cases = odd_int16_cases(rng)
    scales = INT16_SCALES + [float(10 ** rng.uniform(-6, 1)) for _ in range(4)]
    for k, scale in enumerate(scales):
        run_unary(opcode, cases[k % 3], qparams(scale), np.int16, qparams(2.0**-15), version=3)


def test_int16_logistic_tanh_output_quantization():
    x = ALL_INT16[:100]
    # TANH takes an output scale within 1e-3 of 2**-15 in the exponent, LOGISTIC only 2**-15
    run_unary("TANH", x, qparams(1e-3), np.int16, qparams(1 / 32767), version=3)
    for opcode, scale, zp in [("LOGISTIC", 1 / 32767, 0), ("TANH", 2.0**-14, 0),
                              ("TANH", 2.0**-15 * 2.0**0.0011, 0), ("LOGISTIC", 2.0**-15, 3)]:
        model = op_model(opcode, [x], {}, input_quant=[qparams(1e-3)],
                         outputs=[(np.dtype(np.int16), qparams(scale, zp))], version=3)
        both_reject(model, [x], "output scale must be 2" if zp == 0 else "zero point 0")
    model = op_model("TANH", [x], {}, input_quant=[qparams(1e-3, 1)],
                     outputs=[(np.dtype(np.int16), qparams(2.0**-15))], version=3)
    both_reject(model, [x], "zero point 0")


@pytest.mark.parametrize("approximate", [False, True])
def test_gelu_int16(approximate):
    rng = np.random.default_rng(11 + approximate)
    cases = odd_int16_cases(rng)
    quants = [(qparams(1e-3), qparams(1e-3)), (qparams(1e-4), qparams(3e-5)),
              (qparams(0.01), qparams(1e-4)), (qparams(2e-4, 1000), qparams(1e-4, -7))]
    quants += [(qparams(float(10 ** rng.uniform(-5, 0)), int(rng.integers(-32768, 32768))),
                qparams(float(10 ** rng.uniform(-5, 0)), int(rng.integers(-32768, 32768))))
               for _ in range(3)]
    for k, (qx, qo) in enumerate(quants):
        run_unary("GELU", cases[k % 3], qx, np.int16, qo, {"approximate": approximate})


@pytest.mark.parametrize("opcode,in_scale,out_scale", [
    ("LOGISTIC", 0.0, 2.0**-15), ("TANH", 1e-3, 0.0), ("GELU", 0.0, 1e-3), ("GELU", 1e-3, 0.0)])
def test_int16_zero_scales_fail_at_prepare(opcode, in_scale, out_scale):
    x = ALL_INT16[:8]
    model = op_model(opcode, [x], {}, input_quant=[qparams(in_scale)],
                     outputs=[(np.dtype(np.int16), qparams(out_scale))], version=2)
    prepare_fails(model, rf"\({opcode}\): the (in|out)put scale must be positive")


@pytest.mark.parametrize("opcode", ["HARD_SWISH", "ELU"])
def test_int16_activations_litert_lacks_fail_at_prepare(opcode):
    x = ALL_INT16[:64]
    model = op_model(opcode, [x], {}, input_quant=[qparams(1e-3)],
                     outputs=[(np.dtype(np.int16), qparams(1e-3))])
    both_reject(model, [x], rf"\({opcode}\): int16 inputs are not supported")


# ------------------------------------------------------------------ HARD_SWISH
@pytest.mark.parametrize("dtype", [np.int8, np.uint8])
@pytest.mark.parametrize("n", [256, 7, 1000])
def test_hard_swish(dtype, n):
    rng = np.random.default_rng(n)
    lo, hi = RANGE[dtype]
    x = np.resize(np.arange(lo, hi + 1), n).astype(dtype)
    rng.shuffle(x)
    cases = [(qparams(s_in, zi), qparams(s_out, zo)) for s_in, zi, s_out, zo in [
        (0.05, 0, 0.03, 0), (0.1, lo, 0.05, hi), (0.02, hi, 0.01, lo), (1.0, 3, 0.5, -1 - lo),
        (1e-3, 0, 1e-4, 0), (0.3, (lo + hi) // 2, 10.0, lo)]]
    cases += [(qparams(float(10 ** rng.uniform(-3, 0)), int(rng.integers(lo, hi + 1))),
               qparams(float(10 ** rng.uniform(-3, 0)), int(rng.integers(lo, hi + 1))))
              for _ in range(4)]
    for qx, qo in cases:
        if qx.scales[0] / 128 >= qo.scales[0]:
            continue
        run_unary("HARD_SWISH", x, qx, dtype, qo, version=1)


# ------------------------------------------------------------------ GELU, ELU
@pytest.mark.parametrize("opcode,options,dtypes,version", [
    ("GELU", {"approximate": False}, (np.int8, np.uint8), 2),
    ("GELU", {"approximate": True}, (np.int8, np.uint8), 2),
    ("ELU", {}, (np.int8,), 1)], ids=["gelu", "gelu_tanh", "elu"])
def test_lut_activations(opcode, options, dtypes, version):
    rng = np.random.default_rng(len(str(options)))
    for dtype in dtypes:
        lo, hi = RANGE[dtype]
        x = np.arange(lo, hi + 1).astype(dtype).reshape(2, 128)
        for qx, qo in scale_cases(rng, dtype):
            run_unary(opcode, x, qx, dtype, qo, options, version=version)


# ------------------------------------------------------------------ LOG_SOFTMAX
@pytest.mark.parametrize("dtype", [np.int8, np.uint8])
@pytest.mark.parametrize("shape", [(1, 10), (3, 4, 37), (2, 1), (5,), (2, 300)], ids=str)
def test_log_softmax(dtype, shape):
    rng = np.random.default_rng(sum(shape) + 17)
    lo, hi = RANGE[dtype]
    for scale_exp in [-3, -1, 0.5, -5, 1.2]:
        x = rand_values(rng, shape, dtype)
        x.reshape(-1)[:2] = lo, hi
        qx = qparams(float(10 ** (scale_exp + rng.uniform(-0.5, 0.5))),
                     int(rng.integers(lo, hi + 1)))
        run_unary("LOG_SOFTMAX", x, qx, dtype, qparams(16 / 256, hi))


# ------------------------------------------------------------------ PRELU
@pytest.mark.parametrize("dtype", [np.int8, np.uint8])
@pytest.mark.parametrize("alpha_shape", [(1, 1, 5), (5,), (4, 3, 5), (1,)], ids=str)
def test_prelu(dtype, alpha_shape):
    rng = np.random.default_rng(len(alpha_shape) * 3 + (dtype == np.int8))
    lo, hi = RANGE[dtype]
    x = rand_values(rng, (2, 4, 3, 5), dtype)
    for (qx, qo), const in zip(scale_cases(rng, dtype), [True, False] * 3):
        alpha = rand_values(rng, alpha_shape, dtype)
        qa = qparams(float(10 ** rng.uniform(-3, 0)), int(rng.integers(lo, hi + 1)))
        model = op_model("PRELU", [x, alpha], {}, const=[False, const],
                         input_quant=[qx, qa], outputs=[(np.dtype(dtype), qo)])
        compare(model, [x] if const else [x, alpha])


@pytest.mark.parametrize("alpha_shape", [(1, 1, 5), (4, 3, 5), (1,), (2, 4, 3, 5)], ids=str)
def test_prelu_int16_with_int8_alpha(alpha_shape):
    rng = np.random.default_rng(len(alpha_shape) + 40)
    x = rand_values(rng, (2, 4, 3, 5), np.int16)
    x.reshape(-1)[:2] = RANGE[np.int16]
    for (qx, qo), const in zip(scale_cases(rng, np.int16), [True, False] * 3):
        alpha = rand_values(rng, alpha_shape, np.int8)
        qa = qparams(float(10 ** rng.uniform(-3, 0)), int(rng.integers(-128, 128)))
        model = op_model("PRELU", [x, alpha], {}, const=[False, const],
                         input_quant=[qx, qa], outputs=[(np.dtype(np.int16), qo)])
        compare(model, [x] if const else [x, alpha])


def test_prelu_int16_alpha_must_be_int8():
    # LiteRT's int16 kernel reads any alpha's bytes as int8; edgelite refuses the mismatch
    x, alpha = np.zeros((2, 5), np.int16), np.ones(5, np.int16)
    model = op_model("PRELU", [x, alpha], {}, const=[False, True],
                     input_quant=[qparams(0.01), qparams(0.1)],
                     outputs=[(np.dtype(np.int16), qparams(0.01))])
    prepare_fails(model, r"\(PRELU\): alpha must be quantized int8 for int16 input")


# ------------------------------------------------------------------ ABS
@pytest.mark.parametrize("dtype,version", [(np.int8, 2), (np.int16, 3)])
def test_abs_quantized(dtype, version):
    rng = np.random.default_rng(5)
    x = rand_values(rng, (3, 50), dtype)
    x.reshape(-1)[:2] = RANGE[dtype]
    cases = scale_cases(rng, dtype) + [(qparams(0.02, 0 if dtype == np.int16 else -5),
                                        qparams(0.02, 0 if dtype == np.int16 else 7))]
    for qx, qo in cases:
        run_unary("ABS", x, qx, dtype, qo, version=version)


# ------------------------------------------------------------------ RSQRT
def test_rsqrt_int8():
    rng = np.random.default_rng(8)
    for s_in, zp, s_out, zo in [(0.1, -128, 0.05, -128), (1e-3, -20, 1.0, -100),
                                (0.5, 0, 0.01, 3), (20.0, 100, 1e-3, 0), (1e-5, -128, 3.0, 127)]:
        x = np.arange(zp, 128).astype(np.int8)
        rng.shuffle(x)
        run_unary("RSQRT", x, qparams(s_in, zp), np.int8, qparams(s_out, zo))


def test_rsqrt_int8_negative_input_fails_at_invoke():
    model = op_model("RSQRT", [np.zeros(3, np.int8)], {}, input_quant=[qparams(0.1, 5)],
                     outputs=[(np.int8, qparams(0.1))], version=2)
    interp = Interpreter(model_content=write(model))
    interp.allocate_tensors()
    interp.set_tensor(interp.get_input_details()[0]["index"], np.array([7, 4, 9], np.int8))
    with pytest.raises(RuntimeError, match="positive values"):
        interp.invoke()
