"""CONV_2D, DEPTHWISE_CONV_2D and CONV_3D against LiteRT's builtin kernels: kernel sizes,
strides, dilations, paddings, fused activations, grouped convolution, bias present or
absent, constant or run-time weights and bias, batch > 1; the versions claimed; prepare
errors; an allocation-free invoke.

Float tolerance is rtol 1e-4 / atol 1e-5: the GEMM sums in a different order than
LiteRT's kernels, so results agree to float rounding, not bit for bit.

LiteRT's builtin CONV_2D refuses a missing bias and its DEPTHWISE_CONV_2D crashes on one,
so the bias-less cases run edgelite without a bias and LiteRT with a zero bias.
"""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from edgelite.interpreter import Interpreter
from edgelite.kernels import conv
from edgelite.kernels.api import PrepareError
from edgelite.schema import ir, write
from tests.kernels.harness import compare, op_model, run_edgelite, run_litert

TOL = {"rtol": 1e-4, "atol": 1e-5}   # summation order differs from LiteRT's


def rand(shape, seed):
    return np.random.default_rng(seed).uniform(-1, 1, shape).astype(np.float32)


def conv_case(opcode, x_shape, w_shape, options, *, bias="const", weights="const",
              seed=0, version=1):
    """Compare one conv op. ``bias``/``weights``: "const", "input" (a graph input) or,
    for bias, None (edgelite runs without one, LiteRT with zeros)."""
    x, w = rand(x_shape, seed), rand(w_shape, seed + 1)
    b = rand((w_shape[0] if opcode == "CONV_2D" else w_shape[-1],), seed + 2)
    feeds = [x] + ([w] if weights == "input" else []) + ([b] if bias == "input" else [])
    const = [False, weights == "const", bias == "const"]
    model = op_model(opcode, [x, w, b], options, const=const, version=version)
    if bias is not None:
        return compare(model, feeds, **TOL)
    model = op_model(opcode, [x, w, None], options, const=const, version=version)
    zero_bias = op_model(opcode, [x, w, np.zeros_like(b)], options, const=[False,
                         weights == "const", True], version=version)
    expected, got = run_litert(zero_bias, feeds), run_edgelite(model, feeds)
    assert got[0].shape == expected[0].shape
    np.testing.assert_allclose(got[0], expected[0], **TOL)


def conv2d_options(stride=(1, 1), dilation=(1, 1), padding="SAME", activation="NONE"):
    return {"padding": padding, "stride_h": stride[0], "stride_w": stride[1],
            "dilation_h_factor": dilation[0], "dilation_w_factor": dilation[1],
            "fused_activation_function": activation}


# ------------------------------------------------------------------ CONV_2D
@pytest.mark.parametrize("kernel,stride,dilation,padding", [
    ((3, 3), (1, 1), (1, 1), "SAME"), ((3, 3), (2, 2), (1, 1), "SAME"),
    ((3, 3), (1, 1), (2, 2), "VALID"), ((3, 3), (2, 1), (1, 3), "SAME"),
    ((1, 1), (1, 1), (1, 1), "SAME"), ((1, 1), (2, 2), (1, 1), "VALID"),
    ((5, 2), (2, 3), (1, 1), "SAME"), ((4, 4), (3, 3), (1, 1), "VALID"),
    ((9, 11), (1, 1), (1, 1), "VALID")], ids=str)
@pytest.mark.parametrize("activation", ["NONE", "RELU6"])
def test_conv2d_geometry(kernel, stride, dilation, padding, activation):
    conv_case("CONV_2D", (2, 9, 11, 3), (4, *kernel, 3),
              conv2d_options(stride, dilation, padding, activation))


@pytest.mark.parametrize("weights,bias", [("const", None), ("input", "const"),
                                          ("input", "input"), ("const", "input")])
@pytest.mark.parametrize("kernel", [(1, 1), (3, 3)])
def test_conv2d_bias_and_runtime_weights(weights, bias, kernel):
    conv_case("CONV_2D", (2, 7, 6, 5), (6, *kernel, 5), conv2d_options(activation="RELU"),
              weights=weights, bias=bias, seed=3)


@pytest.mark.parametrize("cin,w_shape,weights", [
    (6, (4, 3, 3, 3), "const"), (6, (4, 1, 1, 3), "const"), (6, (6, 2, 2, 2), "input"),
    (8, (8, 3, 3, 1), "const")], ids=str)
def test_conv2d_grouped(cin, w_shape, weights):
    """Input channels = groups x filter channels: each group of output channels sees its
    slice of the input channels."""
    conv_case("CONV_2D", (2, 8, 7, cin), w_shape,
              conv2d_options(padding="VALID" if w_shape[1] == 2 else "SAME",
                             activation="RELU_N1_TO_1"), weights=weights, seed=5)


@pytest.mark.parametrize("opcode", ["CONV_2D", "CONV_3D"])
def test_im2col_in_several_blocks(opcode, monkeypatch):
    """A budget of 1000 floats: a few output pixels a block, the last one ragged (and two
    groups for CONV_2D)."""
    monkeypatch.setattr(conv, "_COL_BLOCK_FLOATS", 1000)
    if opcode == "CONV_2D":
        conv_case(opcode, (2, 9, 7, 32), (16, 3, 3, 16), conv2d_options(activation="RELU"),
                  seed=7)
    else:
        conv_case(opcode, (1, 3, 5, 7, 16), (2, 3, 3, 16, 8), conv3d_options(), seed=7)


@pytest.mark.parametrize("opcode,channels", [("CONV_2D", 4), ("DEPTHWISE_CONV_2D", 4),
                                              ("DEPTHWISE_CONV_2D", 40)])
def test_nan_passes_through_the_fused_activation(opcode, channels):
    """(40 channels: the depthwise kernel's pixel groups, not its row path.)"""
    c = channels
    x, w, b = rand((1, 7, 9, c), 31), rand((c, 3, 3, c), 32), rand((c,), 33)
    if opcode == "DEPTHWISE_CONV_2D":
        w = rand((1, 3, 3, c), 32)
    x[0, 2, 4, 1] = np.nan
    x[0, 3, 4, c - 1] = np.nan
    options = dict(conv2d_options(activation="RELU6"), depth_multiplier=1) \
        if opcode == "DEPTHWISE_CONV_2D" else conv2d_options(activation="RELU6")
    got = compare(op_model(opcode, [x, w, b], options, const=[False, True, True]), [x], **TOL)
    assert np.isnan(got[0]).any()


# ------------------------------------------------------------------ DEPTHWISE_CONV_2D
@pytest.mark.parametrize("multiplier", [1, 3])
@pytest.mark.parametrize("kernel,stride,dilation,padding", [
    ((3, 3), (1, 1), (1, 1), "SAME"), ((3, 3), (2, 2), (1, 1), "SAME"),
    ((3, 3), (2, 2), (1, 1), "VALID"), ((3, 3), (1, 1), (2, 3), "VALID"),
    ((5, 2), (1, 2), (1, 1), "SAME")], ids=str)
def test_depthwise_geometry(multiplier, kernel, stride, dilation, padding):
    options = dict(conv2d_options(stride, dilation, padding, "RELU6"),
                   depth_multiplier=multiplier)
    conv_case("DEPTHWISE_CONV_2D", (2, 10, 9, 4), (1, *kernel, 4 * multiplier), options,
              seed=11)


@pytest.mark.parametrize("weights,bias", [("const", None), ("input", "input")])
def test_depthwise_bias_and_runtime_weights(weights, bias):
    options = dict(conv2d_options(activation="RELU"), depth_multiplier=1)
    conv_case("DEPTHWISE_CONV_2D", (1, 6, 7, 8), (1, 3, 3, 8), options, weights=weights,
              bias=bias, seed=13)


def test_depthwise_multiplier_comes_from_the_shapes():
    """LiteRT ignores a stale depth_multiplier option; so does edgelite."""
    options = dict(conv2d_options(), depth_multiplier=1)
    conv_case("DEPTHWISE_CONV_2D", (1, 5, 5, 3), (1, 3, 3, 6), options, seed=17)


# ------------------------------------------------------------------ CONV_3D
def conv3d_options(stride=(1, 1, 1), dilation=(1, 1, 1), padding="SAME", activation="NONE"):
    return {"padding": padding, "stride_d": stride[0], "stride_h": stride[1],
            "stride_w": stride[2], "dilation_d_factor": dilation[0],
            "dilation_h_factor": dilation[1], "dilation_w_factor": dilation[2],
            "fused_activation_function": activation}


@pytest.mark.parametrize("kernel,stride,dilation,padding", [
    ((2, 3, 3), (1, 1, 1), (1, 1, 1), "SAME"), ((3, 2, 3), (2, 1, 2), (1, 1, 1), "VALID"),
    ((2, 2, 2), (1, 1, 1), (2, 3, 1), "SAME"), ((1, 1, 1), (1, 1, 1), (1, 1, 1), "SAME"),
    ((3, 3, 3), (2, 2, 2), (1, 1, 1), "SAME")], ids=str)
@pytest.mark.parametrize("activation", ["NONE", "RELU"])
def test_conv3d_geometry(kernel, stride, dilation, padding, activation):
    conv_case("CONV_3D", (2, 5, 6, 7, 3), (*kernel, 3, 4),
              conv3d_options(stride, dilation, padding, activation), seed=19)


@pytest.mark.parametrize("weights,bias", [("const", None), ("input", "input")])
def test_conv3d_bias_and_runtime_weights(weights, bias):
    # LiteRT's CONV_3D takes an omitted bias itself: compare directly, no zero bias
    x, w = rand((1, 4, 5, 6, 2), 23), rand((2, 2, 2, 2, 3), 24)
    b = None if bias is None else rand((3,), 25)
    feeds = [x] + ([w] if weights == "input" else []) + ([b] if bias == "input" else [])
    compare(op_model("CONV_3D", [x, w, b], conv3d_options(activation="RELU6"),
                     const=[False, weights == "const", False]), feeds, **TOL)


# ------------------------------------------------------------------ errors, versions, memory
def prepare_error(model: ir.Model, match: str) -> None:
    with pytest.raises(PrepareError, match=match):
        Interpreter(model_content=write(model)).allocate_tensors()


@pytest.mark.parametrize("opcode,x_shape,w_shape,match", [
    ("CONV_2D", (1, 4, 4, 5), (2, 3, 3, 2), r"CONV_2D\).*5 channels, not a multiple of .* 2"),
    ("CONV_2D", (1, 4, 4, 4), (3, 3, 3, 2), r"CONV_2D\).*3 output channels .* 2 groups"),
    ("CONV_2D", (1, 4, 4, 3), (3, 3, 3), r"CONV_2D\).*filter must be 4-D"),
    ("CONV_2D", (4, 4, 3), (2, 3, 3, 3), r"CONV_2D\).*input must be 4-D"),
    ("DEPTHWISE_CONV_2D", (1, 4, 4, 3), (1, 3, 3, 4), r"DEPTHWISE_CONV_2D\).*3 input chan"),
    ("DEPTHWISE_CONV_2D", (1, 4, 4, 3), (2, 3, 3, 3), r"DEPTHWISE_CONV_2D\).*\[1, kh, kw"),
    ("CONV_3D", (1, 3, 4, 4, 3), (2, 2, 2, 2, 4), r"CONV_3D\).*3 channels, filter expects 2"),
    ("CONV_3D", (1, 3, 4, 4, 3), (2, 2, 3, 4), r"CONV_3D\).*filter must be 5-D")])
def test_bad_shapes_are_prepare_errors(opcode, x_shape, w_shape, match):
    x, w = rand(x_shape, 0), rand(w_shape, 1)
    prepare_error(op_model(opcode, [x, w, None], {"padding": "SAME"},
                           const=[False, True, False]), match)


def test_unquantized_output_and_bad_options_are_prepare_errors():
    x, w = np.zeros((1, 4, 4, 3), np.int8), np.zeros((2, 3, 3, 3), np.int8)
    q = ir.Quantization(np.array([0.5], np.float32), np.array([0]))
    prepare_error(op_model("CONV_2D", [x, w, None], conv2d_options(),
                           const=[False, True, False], input_quant=[q, q, None]),
                  r"CONV_2D\).*int8 tensor 'out0' carries no quantization")
    xf, wf = rand((1, 4, 4, 3), 0), rand((2, 3, 3, 3), 1)
    prepare_error(op_model("CONV_2D", [xf, wf, None], {"padding": "SAME", "stride_h": 0},
                           const=[False, True, False]), r"CONV_2D\).*must be > 0")
    prepare_error(op_model("CONV_2D", [xf, wf, rand((3,), 2)], conv2d_options(),
                           const=[False, True, True]), r"CONV_2D\).*bias has 3 values")
    prepare_error(op_model("CONV_2D", [xf, wf, None], conv2d_options(activation="TANH"),
                           const=[False, True, False]), r"CONV_2D\).*TANH")


@pytest.mark.parametrize("opcode", sorted(conv.KERNELS))
def test_litert_registers_the_versions_claimed(opcode):
    """The newest version claimed is one LiteRT runs, and the next is not."""
    x, w, opts = rand((1, 4, 4, 2), 0), rand((2, 3, 3, 2), 1), conv2d_options()
    if opcode == "CONV_3D":
        x, w, opts = rand((1, 3, 4, 4, 2), 0), rand((2, 2, 2, 2, 2), 1), conv3d_options()
    elif opcode == "DEPTHWISE_CONV_2D":
        w, opts = rand((1, 3, 3, 2), 1), dict(opts, depth_multiplier=1)
    top = conv.KERNELS[opcode].max_version
    compare(op_model(opcode, [x, w, rand((2,), 2)], opts, const=[False, True, True],
                     version=top), [x], **TOL)
    with pytest.raises(ValueError, match=f"version '{top + 1}'"):
        run_litert(op_model(opcode, [x, w, rand((2,), 2)], opts, const=[False, True, True],
                            version=top + 1), [x])


@pytest.mark.parametrize("opcode,x_shape,w_shape,weights", [
    ("CONV_2D", (1, 16, 16, 8), (32, 3, 3, 8), "const"),
    ("CONV_2D", (1, 16, 16, 8), (32, 1, 1, 8), "input"),
    ("CONV_2D", (1, 16, 16, 8), (32, 3, 3, 4), "const"),
    ("DEPTHWISE_CONV_2D", (1, 16, 16, 32), (1, 3, 3, 32), "input"),
    ("CONV_3D", (1, 4, 16, 16, 8), (2, 3, 3, 8, 8), "const")])
def test_invoke_allocates_nothing(opcode, x_shape, w_shape, weights):
    x, w = rand(x_shape, 0), rand(w_shape, 1)
    b = rand((w_shape[0] if opcode == "CONV_2D" else w_shape[-1],), 2)
    opts = {"CONV_2D": conv2d_options(activation="RELU"),
            "DEPTHWISE_CONV_2D": dict(conv2d_options(activation="RELU"), depth_multiplier=1),
            "CONV_3D": conv3d_options(activation="RELU")}[opcode]
    interp = Interpreter(model_content=write(op_model(
        opcode, [x, w, b], opts, const=[False, weights == "const", True])))
    interp.allocate_tensors()
    for d, v in zip(interp.get_input_details(), [x, w]):
        interp.set_tensor(d["index"], v)
    interp.invoke()   # compiles numba loops, warms caches
    tracemalloc.start()
    interp.invoke()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 16 * 1024, f"{opcode} invoke allocated {peak} bytes (output is 32 KiB)"


# ------------------------------------------------------------------ fast paths and threads
def _run_split(model, x, threads: int) -> np.ndarray:
    """edgelite's output on ``threads`` threads, every op split however small it is."""
    from edgelite.interpreter import Interpreter
    from edgelite.kernels import threads as kernel_threads
    from edgelite.schema import write

    old = kernel_threads.MIN_WORK_PER_PART
    kernel_threads.MIN_WORK_PER_PART = 1   # small shapes still split
    try:
        interp = Interpreter(model_content=write(model), num_threads=threads)
        interp.allocate_tensors()
    finally:
        kernel_threads.MIN_WORK_PER_PART = old
    interp.set_tensor(interp.get_input_details()[0]["index"], x)
    interp.invoke()
    return interp.get_tensor(interp.get_output_details()[0]["index"])


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("channels,kernel,stride,padding,size", [
    (32, (3, 3), (1, 1), "SAME", (13, 11)), (40, (3, 3), (2, 2), "SAME", (17, 14)),
    (48, (3, 3), (2, 2), "VALID", (16, 15)), (32, (3, 3), (1, 1), "VALID", (9, 10)),
    (36, (5, 5), (2, 2), "SAME", (15, 12)), (24, (3, 3), (2, 2), "SAME", (21, 21)),
    (16, (3, 3), (1, 1), "SAME", (10, 9)), (7, (3, 3), (1, 1), "VALID", (9, 12)),
    (40, (3, 3), (1, 1), "SAME", (6, 13))], ids=str)
@pytest.mark.parametrize("tiles", [True, False], ids=["tiles", "no-tiles"])
def test_depthwise_wide_paths_and_threads(threads, channels, kernel, stride, padding, size,
                                          tiles, monkeypatch):
    """The 3x3 stride-1 register tiles over a zero-bordered copy (any channel count; at
    stride 2, or with ``tiles`` off:) the four-pixel kernel (32+ channels: windows inside the image,
    borders one by one), the row kernel (fewer channels) and the per-pixel loop, each on
    1 and 2 threads (row ranges split over numba's pool), odd sizes so every border case
    appears."""
    from edgelite.kernels import conv

    monkeypatch.setattr(conv, "_TILES", tiles)
    options = dict(conv2d_options(stride, (1, 1), padding, "RELU6"), depth_multiplier=1)
    x = rand((2, *size, channels), 41)
    w, b = rand((1, *kernel, channels), 42), rand((channels,), 43)
    model = op_model("DEPTHWISE_CONV_2D", [x, w, b], options, const=[False, True, True])
    np.testing.assert_allclose(_run_split(model, x, threads), run_litert(model, [x])[0],
                               **TOL)


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("x_shape,w_shape,stride,padding", [
    ((2, 9, 7, 16), (40, 1, 1, 16), (1, 1), "SAME"),      # 1x1: the input is the matrix
    ((1, 5, 4, 24), (96, 1, 1, 24), (1, 1), "SAME"),      # few rows: split by channels
    ((2, 11, 10, 3), (24, 5, 5, 3), (2, 2), "SAME"),      # in place, borders, batch 2
    ((1, 9, 8, 6), (20, 3, 3, 6), (1, 1), "SAME"),        # im2col
    ((1, 13, 11, 3), (8, 5, 5, 3), (2, 2), "SAME"),       # few channels: read in place
    ((1, 12, 9, 2), (6, 7, 7, 2), (1, 1), "VALID"),       # the same, 7x7, no padding
    ((1, 12, 12, 8), (16, 3, 3, 4), (1, 1), "VALID")], ids=str)   # grouped
def test_conv2d_fused_gemm_and_threads(threads, x_shape, w_shape, stride, padding):
    """The fused im2col + sgemm + epilogue CONV_2D in blocks, split by rows or output
    channels over numba's pool."""
    options = conv2d_options(stride, (1, 1), padding, "RELU")
    x, w, b = rand(x_shape, 51), rand(w_shape, 52), rand((w_shape[0],), 53)
    model = op_model("CONV_2D", [x, w, b], options, const=[False, True, True])
    np.testing.assert_allclose(_run_split(model, x, threads), run_litert(model, [x])[0],
                               **TOL)


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("rows,depth,units,bias", [
    (1, 40, 37, True), (3, 24, 70, True), (1, 33, 48, False), (4, 16, 40, True)], ids=str)
def test_fully_connected_few_rows_and_threads(threads, rows, depth, units, bias):
    """FULLY_CONNECTED over a few rows: single-row tiles, the units split over threads
    by weight panels (16 columns)."""
    x, w = rand((rows, depth), 61), rand((units, depth), 62)
    b = rand((units,), 63) if bias else None
    model = op_model("FULLY_CONNECTED", [x, w, b], {"fused_activation_function": "RELU6"},
                     const=[False, True, True])
    want_b = b if bias else np.zeros(units, np.float32)
    want = np.clip(x @ w.T + want_b, 0.0, 6.0)
    np.testing.assert_allclose(_run_split(model, x, threads), want, **TOL)
