"""Binary elementwise ops, comparisons and SELECT against LiteRT: broadcasting, dtypes,
options, constant inputs, TFLite's edge cases (NaN, signed zeros, integer division), the
errors prepare and invoke raise, the op versions claimed, and an allocation-free invoke."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from edgelite.interpreter import Interpreter
from edgelite.kernels import activations, comparison, elementwise, select, unary
from edgelite.kernels.api import PrepareError
from edgelite.schema import ir, write
from tests.kernels.harness import compare, op_model, run_litert

# TFLite returns inf / nan silently; numpy warnings from a kernel are bugs here
pytestmark = pytest.mark.filterwarnings("error::RuntimeWarning")

# (x shape, y shape): same shape, broadcasting both ways, scalars, ranks 1-5
SHAPES = [((2, 3, 4), (2, 3, 4)), ((1, 5, 5, 3), (3,)), ((4, 1, 3), (1, 6, 1)), ((), (7,)),
          ((5,), ()), ((), ()), ((2, 1, 3, 1, 4), (1, 3, 3, 5, 1)), ((6,), (1,))]
CONST = [(False, False), (False, True), (True, False)]
ACTIVATIONS = ["NONE", "RELU", "RELU6", "RELU_N1_TO_1"]
COMPARISONS = ["EQUAL", "NOT_EQUAL", "LESS", "LESS_EQUAL", "GREATER", "GREATER_EQUAL"]


def values(rng, shape, dtype, lo=-3.0, hi=3.0):
    dtype = np.dtype(dtype)
    if dtype == np.bool_:
        return rng.integers(0, 2, shape).astype(bool)
    if dtype.kind == "f":
        return rng.uniform(lo, hi, shape).astype(dtype)
    return rng.integers(int(lo), int(hi) + 1, shape).astype(dtype)


def run_binary(opcode, x, y, options=None, const=(False, False), **tolerance):
    """Compare one binary op, ``const`` marking which inputs are model constants."""
    model = op_model(opcode, [x, y], options, const=list(const))
    compare(model, [v for v, c in zip((x, y), const) if not c], **tolerance)


def raises_at_prepare(model: ir.Model, match: str) -> None:
    with pytest.raises(PrepareError, match=match):
        Interpreter(model_content=write(model)).allocate_tensors()


# ------------------------------------------------------------------ ADD SUB MUL DIV
@pytest.mark.parametrize("opcode", ["ADD", "SUB", "MUL", "DIV"])
@pytest.mark.parametrize("shapes", SHAPES, ids=str)
def test_float_arithmetic_broadcasts(opcode, shapes):
    rng = np.random.default_rng(len(shapes[0]) * 7 + len(shapes[1]))
    x = values(rng, shapes[0], np.float32)
    y = values(rng, shapes[1], np.float32, 0.5, 3)
    run_binary(opcode, x, y, {"fused_activation_function": "NONE"})


@pytest.mark.parametrize("opcode", ["ADD", "SUB", "MUL", "DIV"])
@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("const", CONST, ids=str)
def test_float_arithmetic_activation_and_constants(opcode, activation, const):
    rng = np.random.default_rng(11)
    x, y = values(rng, (3, 4), np.float32), values(rng, (4,), np.float32, 0.3, 2)
    run_binary(opcode, x, y, {"fused_activation_function": activation}, const)


@pytest.mark.parametrize("opcode,dtype", [
    ("ADD", np.int32), ("ADD", np.int64), ("ADD", np.int16), ("SUB", np.int32),
    ("SUB", np.int64), ("MUL", np.int32), ("MUL", np.int64), ("MUL", np.int16),
    ("MUL", np.uint32), ("DIV", np.int32)])
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_integer_arithmetic(opcode, dtype, activation):
    rng = np.random.default_rng(5)
    lo = 0 if dtype == np.uint32 else -50
    x = values(rng, (2, 3, 5), dtype, lo, 50)
    y = values(rng, (3, 1), dtype, 1 if opcode == "DIV" else lo, 9)
    if opcode == "DIV":
        y[0, 0] = -3   # negative divisors: C truncation toward zero
    run_binary(opcode, x, y, {"fused_activation_function": activation}, (False, True))


def test_int32_add_wraps():
    x = np.array([2**31 - 1, -2**31, 5], np.int32)
    y = np.array([1, -1, 5], np.int32)
    run_binary("ADD", x, y)


def test_div_truncates_and_float_divides_by_zero():
    x = np.array([[-7, 7, -8, 9, 0, -1, 6]], np.int32)
    y = np.array([[2, -2, 3, -4, 5, 3, -6]], np.int32)
    run_binary("DIV", x, y)
    xf = np.array([1, -1, 0, 3], np.float32)
    run_binary("DIV", xf, np.array([0, 0, 0, -0.0], np.float32))   # +-FLT_MAX, nan, -0


SPECIAL = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 3e38, -3e38, 1e-40, 1.5, -2.0],
                   np.float32)


@pytest.mark.parametrize("opcode", ["ADD", "SUB", "MUL", "DIV", "SQUARED_DIFFERENCE",
                                    "MAXIMUM", "MINIMUM", "POW", "FLOOR_MOD", *COMPARISONS])
def test_float_special_values(opcode):
    """Every pair of zeros, infinities, NaN, huge and tiny values, with no numpy warning;
    TFLite's ADD/SUB/MUL/DIV clamp to +-FLT_MAX even without a fused activation."""
    x, y = np.meshgrid(SPECIAL, SPECIAL)
    out = [(np.bool_, None)] if opcode in COMPARISONS else None
    options = {"fused_activation_function": "NONE"} if opcode in ("ADD", "SUB", "MUL",
                                                                  "DIV") else None
    compare(op_model(opcode, [x, y], options, outputs=out), [x, y])


def test_floor_div_special_values():
    x, y = np.meshgrid(SPECIAL, SPECIAL[SPECIAL != 0])
    compare(op_model("FLOOR_DIV", [x, y]), [x, y])


# ------------------------------------------------------------------ the other binary ops
@pytest.mark.parametrize("opcode,dtype", [
    ("SQUARED_DIFFERENCE", np.float32), ("SQUARED_DIFFERENCE", np.int32),
    *[(op, d) for op in ("MAXIMUM", "MINIMUM")
      for d in (np.float32, np.int32, np.int64, np.int16, np.int8, np.uint8)],
    ("FLOOR_DIV", np.float32), ("FLOOR_DIV", np.int32), ("FLOOR_DIV", np.int16),
    ("FLOOR_DIV", np.int8), ("FLOOR_MOD", np.float32), ("FLOOR_MOD", np.int32),
    ("FLOOR_MOD", np.int64), ("FLOOR_MOD", np.int16), ("FLOOR_MOD", np.int8)])
@pytest.mark.parametrize("shapes", [SHAPES[0], SHAPES[2], SHAPES[3], SHAPES[6]], ids=str)
def test_more_binary_ops(opcode, dtype, shapes):
    rng = np.random.default_rng(3)
    lo = 0 if dtype == np.uint8 else -9
    x = values(rng, shapes[0], dtype, lo, 9)
    y = values(rng, shapes[1], dtype, lo, 9)
    if opcode in ("FLOOR_DIV", "FLOOR_MOD"):
        y[y == 0] = 3   # a zero divisor fails the invoke (tested below)
    run_binary(opcode, x, y)


@pytest.mark.parametrize("opcode", ["MAXIMUM", "MINIMUM"])
def test_maximum_minimum_nan_and_signed_zero(opcode):
    # TFLite picks ``x > y ? x : y``: y whenever a NaN is involved, y of 0.0 and -0.0
    x = np.array([np.nan, 1, np.nan, 0.0, -0.0, -np.inf, 2], np.float32)
    y = np.array([1, np.nan, np.nan, -0.0, 0.0, 3, np.inf], np.float32)
    model = op_model(opcode, [x, y])
    got = compare(model, [x, y])[0]
    np.testing.assert_array_equal(np.signbit(got), np.signbit(run_litert(model, [x, y])[0]))


def test_maximum_of_quantized_int8_compares_raw_values():
    q = ir.Quantization(scales=np.array([0.1], np.float32), zero_points=np.array([3]))
    rng = np.random.default_rng(0)
    x, y = values(rng, (4, 5), np.int8, -128, 127), values(rng, (5,), np.int8, -128, 127)
    model = op_model("MAXIMUM", [x, y], input_quant=[q, q], outputs=[(np.int8, q)])
    compare(model, [x, y])


@pytest.mark.parametrize("opcode", ["FLOOR_DIV", "FLOOR_MOD"])
def test_floor_division_signs(opcode):
    x = np.array([-7, 7, -7, 7, 0, -1, 9, -9], np.float32)
    y = np.array([2, -2, -2, 2, 3, 4, 3, -3], np.float32)
    run_binary(opcode, x, y)
    run_binary(opcode, x * np.float32(0.37), y * np.float32(1.3))
    run_binary(opcode, x.astype(np.int32), y.astype(np.int32))


def test_float_floor_mod_by_zero_is_nan():
    x = np.array([1.5, -2, 0], np.float32)
    run_binary("FLOOR_MOD", x, np.zeros(3, np.float32))


@pytest.mark.parametrize("shapes", SHAPES[:4] + [SHAPES[6]], ids=str)
@pytest.mark.parametrize("exponent", [2.0, 3.0, 3.000001, 5.0, 0.5, 2.5, -1.0, 1.0, 0.0])
@pytest.mark.parametrize("const", [False, True])
def test_float_pow(shapes, exponent, const):
    # one exponent with a broadcast takes TFLite's repeated-multiplication path
    rng = np.random.default_rng(2)
    x = values(rng, shapes[0], np.float32, 0.2, 3)
    y = np.full(shapes[1], exponent, np.float32)
    run_binary("POW", x, y, const=(False, const))


def test_float_pow_edges():
    x = np.array([-2, -2, 0, 0, 1e30, -1e30, np.nan, 4], np.float32)
    y = np.array([2, 0.5, 0, -1, 2, 3, 0, np.inf], np.float32)
    run_binary("POW", x, y)
    big = np.array([1e20, -1e20, 3], np.float32)   # overflow clamps to +-FLT_MAX here
    run_binary("POW", big, np.array(2, np.float32))
    run_binary("POW", big, np.array(3, np.float32), const=(False, True))


@pytest.mark.parametrize("shapes", SHAPES[:4], ids=str)
def test_int32_pow(shapes):
    rng = np.random.default_rng(4)
    x, y = values(rng, shapes[0], np.int32, -6, 6), values(rng, shapes[1], np.int32, 0, 5)
    run_binary("POW", x, y)


@pytest.mark.parametrize("opcode", ["LOGICAL_AND", "LOGICAL_OR"])
@pytest.mark.parametrize("shapes", [SHAPES[0], SHAPES[2], SHAPES[3], SHAPES[6]], ids=str)
def test_logical(opcode, shapes):
    rng = np.random.default_rng(1)
    run_binary(opcode, values(rng, shapes[0], bool), values(rng, shapes[1], bool))


# ------------------------------------------------------------------ comparisons


@pytest.mark.parametrize("opcode,dtype", [
    (op, d) for op in COMPARISONS for d in (np.float32, np.int32, np.int64, np.int16)
    if (op, d) != ("NOT_EQUAL", np.int16)]   # LiteRT's is broken: test_not_equal_int16
    + [("EQUAL", np.bool_), ("NOT_EQUAL", np.bool_)])   # TFLite orders no bools
@pytest.mark.parametrize("shapes", [SHAPES[0], SHAPES[2], SHAPES[3], SHAPES[6]], ids=str)
def test_comparisons(opcode, dtype, shapes):
    rng = np.random.default_rng(6)
    x, y = values(rng, shapes[0], dtype, -2, 2), values(rng, shapes[1], dtype, -2, 2)
    model = op_model(opcode, [x, y], outputs=[(np.bool_, None)], const=[False, True])
    compare(model, [x])


def test_not_equal_int16():
    # LiteRT's NOT_EQUAL only fills its output for quantized int16 (it leaves an unquantized
    # int16 comparison unwritten); this kernel computes what the op means.
    rng = np.random.default_rng(6)
    x, y = values(rng, (4, 1, 3), np.int16, -2, 2), values(rng, (1, 6, 1), np.int16, -2, 2)
    interp = Interpreter(model_content=write(op_model("NOT_EQUAL", [x, y],
                                                      outputs=[(np.bool_, None)])))
    got = _invoke(interp, [x, y])[0]
    np.testing.assert_array_equal(got, x != y)


def _invoke(interp: Interpreter, feeds: list) -> list:
    interp.allocate_tensors()
    for d, v in zip(interp.get_input_details(), feeds):
        interp.set_tensor(d["index"], v)
    interp.invoke()
    return [interp.get_tensor(d["index"]) for d in interp.get_output_details()]


@pytest.mark.parametrize("opcode", COMPARISONS)
def test_comparisons_with_nan(opcode):
    x = np.array([np.nan, 1, np.nan, -0.0, np.inf], np.float32)
    y = np.array([1, np.nan, np.nan, 0.0, np.inf], np.float32)
    compare(op_model(opcode, [x, y], outputs=[(np.bool_, None)]), [x, y])


# ------------------------------------------------------------------ SELECT
@pytest.mark.parametrize("dtype", [np.float32, np.int32, np.int64, np.bool_, np.int8,
                                   np.uint8, np.int16, np.uint32, np.float16])
@pytest.mark.parametrize("opcode", ["SELECT", "SELECT_V2"])
def test_select_dtypes(opcode, dtype):
    rng = np.random.default_rng(2)
    c = values(rng, (3, 4), bool)
    a, b = values(rng, (3, 4), dtype, 0, 9), values(rng, (3, 4), dtype, 0, 9)
    compare(op_model(opcode, [c, a, b], outputs=[(dtype, None)]), [c, a, b])


@pytest.mark.parametrize("opcode,shapes", [
    ("SELECT", ((3, 4), (3, 4), (3, 4))), ("SELECT", ((3,), (3, 4), (3, 4))),
    ("SELECT", ((), (2, 3, 2), (2, 3, 2))), ("SELECT", ((2,), (2, 1, 3, 1, 2), (2, 1, 3, 1, 2))),
    ("SELECT", ((5,), (5,), (5,))),
    ("SELECT_V2", ((3, 1), (3, 4), (4,))), ("SELECT_V2", ((), (2, 3), (2, 3))),
    ("SELECT_V2", ((4,), (3, 1), ())), ("SELECT_V2", ((2, 1, 3, 1, 2), (1, 4, 1, 5, 1), (2,))),
    ("SELECT_V2", ((1, 1), (1,), ())), ("SELECT", ((1,), (1,), (1,)))])
@pytest.mark.parametrize("const", [False, True])
def test_select_shapes(opcode, shapes, const):
    rng = np.random.default_rng(8)
    c = values(rng, shapes[0], bool)
    a, b = values(rng, shapes[1], np.float32), values(rng, shapes[2], np.float32)
    model = op_model(opcode, [c, a, b], outputs=[(np.float32, None)],
                     const=[False, const, False])
    compare(model, [c, b] if const else [c, a, b])


@pytest.mark.parametrize("shapes", [((3, 1), (3, 4), (3, 4)), ((4,), (3, 4), (3, 4)),
                                    ((3, 4), (3, 4), (4,))])
def test_select_v1_does_not_broadcast(shapes):
    c, a, b = np.ones(shapes[0], bool), np.ones(shapes[1], np.float32), np.ones(shapes[2],
                                                                                np.float32)
    model = op_model("SELECT", [c, a, b], outputs=[(np.float32, None)])
    with pytest.raises(RuntimeError):
        run_litert(model, [c, a, b])
    raises_at_prepare(model, r"operator 0 \(SELECT\)")


# ------------------------------------------------------------------ errors
# float DIV and FLOOR_MOD give inf / nan instead (tested above)
@pytest.mark.parametrize("opcode,dtype", [("DIV", np.int32), ("FLOOR_DIV", np.int32),
                                          ("FLOOR_MOD", np.int32), ("FLOOR_DIV", np.float32)])
def test_division_by_zero(opcode, dtype):
    x, y = np.array([4, 5, 6], dtype), np.array([1, 0, 2], dtype)
    model = op_model(opcode, [x, y])
    with pytest.raises(RuntimeError):
        run_litert(model, [x, y])
    with pytest.raises(RuntimeError, match=rf"operator 0 \({opcode}\): division by zero"):
        _invoke(Interpreter(model_content=write(model)), [x, y])
    raises_at_prepare(op_model(opcode, [x, y], const=[False, True]), "divisor has a zero")


def test_int32_pow_negative_exponent():
    x, y = np.array([2, 3], np.int32), np.array([1, -1], np.int32)
    with pytest.raises(RuntimeError):
        run_litert(op_model("POW", [x, y]), [x, y])
    with pytest.raises(RuntimeError, match=r"\(POW\): int32 POW needs non-negative"):
        _invoke(Interpreter(model_content=write(op_model("POW", [x, y]))), [x, y])
    raises_at_prepare(op_model("POW", [x, y], const=[False, True]), "non-negative")


BINARY = ["ADD", "SUB", "MUL", "DIV", "SQUARED_DIFFERENCE", "MAXIMUM", "MINIMUM", "POW",
          "FLOOR_DIV", "FLOOR_MOD", *COMPARISONS]


@pytest.mark.parametrize("opcode", BINARY)
def test_mismatched_dtypes_fail_naming_the_op(opcode):
    model = op_model(opcode, [np.ones(3, np.float32), np.ones(3, np.int32)])
    raises_at_prepare(model, rf"operator 0 \({opcode}\): input dtypes differ")


@pytest.mark.parametrize("opcode", BINARY + ["LOGICAL_AND", "SELECT_V2"])
def test_shapes_that_do_not_broadcast_fail_naming_both(opcode):
    dtype = bool if opcode == "LOGICAL_AND" else np.float32
    inputs = [np.ones((2, 3), dtype), np.ones((4,), dtype)]
    if opcode == "SELECT_V2":
        inputs = [np.ones((2, 3), bool), *inputs]
    model = op_model(opcode, inputs, outputs=[(dtype, None)])
    raises_at_prepare(model, rf"operator 0 \({opcode}\).*\[2, 3\] and \[4\]")


QUANT = ir.Quantization(scales=np.array([0.5], np.float32), zero_points=np.array([0]))


@pytest.mark.parametrize("opcode,dtype,quantized,match", [
    ("ADD", np.int8, False, r"input 0 \(int8\) must be quantized"),
    ("SUB", np.int16, True, r"output \(int16\) must be quantized"),
    ("SQUARED_DIFFERENCE", np.int16, True, "quantized int16 inputs are not supported yet"),
    ("EQUAL", np.uint8, False, r"input 0 \(uint8\) must be quantized"),
    ("DIV", np.uint8, True, r"output \(uint8\) must be quantized"),
    ("FLOOR_DIV", np.int8, True, "quantized int8"),
    ("SUB", np.int16, False, "quantized int16"),
    ("DIV", np.int64, False, r"int64 inputs are not supported \(takes float32, int32\)"),
    ("LOGICAL_OR", np.int32, False, "int32 inputs are not supported"),
    ("LESS", np.bool_, False, "bool inputs are not supported"),
    ("POW", np.int64, False, "int64 inputs are not supported")])
def test_unsupported_inputs_fail_naming_the_op(opcode, dtype, quantized, match):
    x = np.ones((2, 2), dtype)
    model = op_model(opcode, [x, x], input_quant=[QUANT, QUANT] if quantized else None)
    raises_at_prepare(model, rf"operator 0 \({opcode}\): {match}")


def test_fused_tanh_is_refused():
    x = np.ones(3, np.float32)
    raises_at_prepare(op_model("ADD", [x, x], {"fused_activation_function": "TANH"}),
                      r"\(ADD\): fused activation TANH")


# ------------------------------------------------------------------ versions, allocation
MODULES = [elementwise, comparison, select, unary, activations]


@pytest.mark.parametrize("opcode,max_version",
                         [(name, k.max_version) for m in MODULES for name, k in m.KERNELS.items()])
def test_litert_registers_the_versions_claimed(opcode, max_version):
    """Every version a kernel claims is one LiteRT's builtin resolver knows."""
    inputs = {"SELECT": 3, "SELECT_V2": 3, "PRELU": 2}.get(opcode, 1)
    if opcode in elementwise.KERNELS or opcode in comparison.KERNELS:
        inputs = 2
    dtype = bool if opcode.startswith("LOGICAL") else np.float32
    feeds = [np.ones(2, dtype) for _ in range(inputs)]
    if opcode.startswith("SELECT"):
        feeds[0] = np.ones(2, bool)
    out = np.bool_ if opcode in comparison.KERNELS else dtype
    run_litert(op_model(opcode, feeds, outputs=[(out, None)], version=max_version), feeds)


@pytest.mark.parametrize("opcode,dtypes,options", [
    ("ADD", (np.float32,) * 2, {"fused_activation_function": "RELU6"}),
    ("DIV", (np.int32,) * 2, {"fused_activation_function": "RELU"}),
    ("MAXIMUM", (np.float32,) * 2, {}), ("FLOOR_DIV", (np.float32,) * 2, {}),
    ("POW", (np.float32,) * 2, {}), ("LESS", (np.float32,) * 2, {}),
    ("SELECT_V2", (bool, np.float32, np.float32), {}), ("MUL", (np.float32,) * 2, {}),
    ("LOG", (np.float32,), {}), ("CAST", (np.float32,), {}), ("SOFTMAX", (np.float32,), {}),
    ("LOG_SOFTMAX", (np.float32,), {}), ("GELU", (np.float32,), {"approximate": False}),
    ("GELU", (np.float32,), {"approximate": True}), ("HARD_SWISH", (np.float32,), {}),
    ("PRELU", (np.float32,) * 2, {}), ("ELU", (np.float32,), {})])
def test_invoke_allocates_no_tensor_memory(opcode, dtypes, options):
    # Outputs are 1 MiB. Besides small objects, the only run-time allocation allowed is
    # numpy's iterator buffer when a ufunc broadcasts (8192 elements per operand, freed
    # when the call returns), hence the second input broadcasting in the binary cases.
    rng = np.random.default_rng(0)
    feeds = [values(rng, (256, 1024), d, 1, 3) for d in dtypes]
    if len(feeds) > 1:
        feeds[-1] = feeds[-1][0]
    if opcode == "POW":
        feeds[1] = np.array(3, np.float32)   # the repeated-multiplication path
    out = np.int32 if opcode == "CAST" else np.bool_ if opcode == "LESS" else np.float32
    interp = Interpreter(model_content=write(op_model(opcode, feeds, options,
                                                      outputs=[(out, None)])))
    _invoke(interp, feeds)   # compiles numba loops, warms caches
    tracemalloc.start()
    interp.invoke()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 40 * 1024, f"{opcode} invoke allocated {peak} bytes"
