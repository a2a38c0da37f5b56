"""TRANSPOSE_CONV against LiteRT's builtin kernel and MediaPipe's custom
Convolution2DTransposeBias against LiteRT's XNNPACK path (its only implementation):
strides, paddings, kernel sizes, output shapes, bias present or absent, constant or
run-time weights and bias, fused activations (v4+), batch > 1; the real op of the
selfie_segmentation model; prepare errors; the versions claimed; an allocation-free invoke.

Float tolerance is rtol 1e-4 / atol 1e-5: sums run in a different order than LiteRT's.
"""

from __future__ import annotations

import struct
import tracemalloc

import numpy as np
import pytest

from edgelite.interpreter import Interpreter
from edgelite.kernels import transpose_conv
from edgelite.kernels.api import PrepareError
from edgelite.schema import ir, read, write
from tests.conftest import mediapipe_model
from tests.kernels.harness import _feed_and_run, compare, op_model, run_edgelite, run_litert
from tests.litert_oracle import litert

TOL = {"rtol": 1e-4, "atol": 1e-5}   # summation order differs from LiteRT's
SAME, VALID = 1, 2                    # TfLitePadding enum values


def rand(shape, seed):
    return np.random.default_rng(seed).uniform(-1, 1, shape).astype(np.float32)


def transpose_conv_case(x_shape, w_shape, out_hw, options, *, bias="const",
                        weights="const", version=1, seed=0):
    x, w, b = rand(x_shape, seed), rand(w_shape, seed + 1), rand((w_shape[0],), seed + 2)
    shape = np.array([x_shape[0], *out_hw, w_shape[0]], np.int32)
    inputs = [shape, w, x] + ([] if bias is None else [b])
    const = [True, weights == "const", False, bias == "const"]
    # graph inputs are in op-input order: weights (if fed) before the image
    feeds = ([w] if weights == "input" else []) + [x] + ([b] if bias == "input" else [])
    compare(op_model("TRANSPOSE_CONV", inputs, options, const=const, version=version,
                     outputs=[(np.float32, None)]), feeds, **TOL)


def tc_options(stride=(1, 1), padding="SAME", **extra):
    return {"padding": padding, "stride_h": stride[0], "stride_w": stride[1], **extra}


# ------------------------------------------------------------------ TRANSPOSE_CONV
@pytest.mark.parametrize("w_hw,stride,padding,out_hw", [
    ((3, 3), (2, 2), "SAME", (10, 12)), ((3, 3), (2, 2), "SAME", (9, 11)),
    ((3, 3), (2, 2), "VALID", (11, 13)), ((3, 3), (1, 1), "SAME", (5, 6)),
    ((2, 2), (2, 2), "SAME", (10, 12)), ((4, 4), (2, 2), "SAME", (10, 12)),
    ((5, 2), (3, 2), "VALID", (17, 12)), ((1, 1), (2, 2), "VALID", (9, 11)),
    ((3, 3), (3, 3), "SAME", (15, 18))], ids=str)
def test_transpose_conv_geometry(w_hw, stride, padding, out_hw):
    transpose_conv_case((2, 5, 6, 3), (4, *w_hw, 3), out_hw, tc_options(stride, padding))


@pytest.mark.parametrize("weights,bias", [("const", None), ("input", "const"),
                                          ("input", None), ("const", "input")])
def test_transpose_conv_bias_and_runtime_weights(weights, bias):
    transpose_conv_case((1, 4, 5, 6), (3, 3, 3, 6), (8, 10), tc_options((2, 2)),
                        weights=weights, bias=bias, seed=5)


@pytest.mark.parametrize("version", [4, 5])
@pytest.mark.parametrize("activation", ["RELU", "RELU6", "RELU_N1_TO_1"])
def test_transpose_conv_fused_activation(version, activation):
    transpose_conv_case((1, 4, 5, 3), (4, 3, 3, 3), (8, 10),
                        tc_options((2, 2), fused_activation_function=activation),
                        version=version, seed=7)


def test_transpose_conv_in_several_blocks(monkeypatch):
    """A block budget of 1000 floats: 6 input pixels a block, a ragged last block."""
    monkeypatch.setattr(transpose_conv, "_COL_BLOCK_FLOATS", 1000)
    transpose_conv_case((2, 7, 5, 16), (16, 3, 3, 16), (14, 10), tc_options((2, 2)), seed=9)


# ------------------------------------------------------------------ Convolution2DTransposeBias
def mediapipe_case(x, w, b, padding: int, stride_h: int, stride_w: int) -> None:
    """Run the custom op in edgelite and in LiteRT's default (XNNPACK) interpreter."""
    options = struct.pack("<iii", padding, stride_w, stride_h)
    model = op_model("Convolution2DTransposeBias", [x, w, b], custom=True,
                     custom_options=options, const=[False, True, True])
    got = run_edgelite(model, [x])[0]
    sg = model.subgraphs[0]
    sg.tensors[sg.outputs[0]].shape = got.shape   # XNNPACK reads the model's output shape
    expected = _feed_and_run(litert().Interpreter(model_content=write(model)), [x])[0]
    np.testing.assert_allclose(got, expected, **TOL)


@pytest.mark.parametrize("w_hw,padding,stride", [
    ((2, 2), SAME, (2, 2)), ((3, 3), SAME, (2, 2)), ((4, 4), SAME, (2, 2)),
    ((3, 3), VALID, (2, 2)), ((4, 3), SAME, (3, 2)), ((4, 3), VALID, (1, 2)),
    ((3, 3), SAME, (1, 1))], ids=str)
@pytest.mark.parametrize("batch", [1, 2])
def test_mediapipe_transpose_conv_bias(w_hw, padding, stride, batch):
    x, w, b = rand((batch, 6, 5, 8), 11), rand((3, *w_hw, 8), 12), rand((3,), 13)
    mediapipe_case(x, w, b, padding, *stride)


def constant_value(sg: ir.Subgraph, t: int) -> np.ndarray:
    """A constant tensor's float32 value, looking through a float16 DEQUANTIZE."""
    if sg.tensors[t].data is None:
        (op,) = [o for o in sg.operators if t in o.outputs and o.opcode == "DEQUANTIZE"]
        t = op.inputs[0]
    return np.asarray(sg.tensors[t].data).astype(np.float32).reshape(sg.tensors[t].shape)


def test_mediapipe_op_of_the_selfie_segmentation_model():
    """The real op: options decode to SAME, 2x2; its output shape is the model's."""
    model = read(mediapipe_model("selfie_segmentation"))
    sg = model.subgraphs[0]
    (op,) = [o for o in sg.operators if o.opcode == "Convolution2DTransposeBias"]
    assert struct.unpack_from("<iii", bytes(op.custom_options)) == (SAME, 2, 2)
    x = rand(sg.tensors[op.inputs[0]].shape, 17)
    w, b = (constant_value(sg, i) for i in op.inputs[1:])
    single = op_model("Convolution2DTransposeBias", [x, w, b], custom=True,
                      custom_options=bytes(op.custom_options), const=[False, True, True])
    assert run_edgelite(single, [x])[0].shape == tuple(sg.tensors[op.outputs[0]].shape)
    mediapipe_case(x, w, b, SAME, 2, 2)


# ------------------------------------------------------------------ errors, versions, memory
def prepare_error(model: ir.Model, match: str) -> None:
    with pytest.raises(PrepareError, match=match):
        Interpreter(model_content=write(model)).allocate_tensors()


def test_bad_inputs_are_prepare_errors():
    x, w = rand((1, 4, 4, 3), 0), rand((2, 3, 3, 3), 1)
    shape = np.array([1, 8, 8, 2], np.int32)

    def tc(shape_value, weights, const_shape=True):
        return op_model("TRANSPOSE_CONV", [shape_value, weights, x], tc_options((2, 2)),
                        const=[const_shape, True, False], outputs=[(np.float32, None)])
    prepare_error(tc(shape, rand((2, 3, 3, 5), 1)),
                  r"TRANSPOSE_CONV\).*3 channels, weights expect 5")
    prepare_error(tc(shape, rand((2, 3, 3), 1)), r"TRANSPOSE_CONV\).*weights must be 4-D")
    prepare_error(tc(np.array([1, 8, 8, 7], np.int32), w),
                  r"TRANSPOSE_CONV\).*output_shape \[1, 8, 8, 7\] does not match")
    prepare_error(tc(shape, w, const_shape=False), r"TRANSPOSE_CONV\).*only known at run")
    # LiteRT too: the output_shape must be one the input could have come from
    prepare_error(tc(np.array([1, 6, 9, 2], np.int32), w),
                  r"TRANSPOSE_CONV\).*6x9 output gives 3x5, not the 4x4 input")

    def mp(options, weights=w):
        return op_model("Convolution2DTransposeBias", [x, weights, rand((2,), 2)],
                        custom=True, custom_options=options, const=[False, True, True])
    prepare_error(mp(struct.pack("<iii", 0, 2, 2)),
                  r"Convolution2DTransposeBias\).*padding enum 0")
    prepare_error(mp(struct.pack("<ii", 1, 2)), r"Convolution2DTransposeBias\).*8 bytes")
    prepare_error(mp(struct.pack("<iii", 1, 2, 2), rand((2, 3, 3, 4), 1)),
                  r"Convolution2DTransposeBias\).*3 channels, weights expect 4")


def test_litert_registers_the_version_claimed():
    top = transpose_conv.KERNELS["TRANSPOSE_CONV"].max_version
    transpose_conv_case((1, 3, 3, 2), (2, 3, 3, 2), (6, 6), tc_options((2, 2)), version=top)
    x, w = rand((1, 3, 3, 2), 0), rand((2, 3, 3, 2), 1)
    model = op_model("TRANSPOSE_CONV", [np.array([1, 6, 6, 2], np.int32), w, x],
                     tc_options((2, 2)), const=[True, True, False], version=top + 1,
                     outputs=[(np.float32, None)])
    with pytest.raises(ValueError, match=f"version '{top + 1}'"):
        run_litert(model, [x])


@pytest.mark.parametrize("weights", ["const", "input"])
def test_invoke_allocates_nothing(weights):
    x, w, b = rand((1, 8, 8, 16), 0), rand((16, 3, 3, 16), 1), rand((16,), 2)
    model = op_model("TRANSPOSE_CONV", [np.array([1, 16, 16, 16], np.int32), w, x, b],
                     tc_options((2, 2), fused_activation_function="RELU"),
                     const=[True, weights == "const", False, True], version=4,
                     outputs=[(np.float32, None)])
    interp = Interpreter(model_content=write(model))
    interp.allocate_tensors()
    for d, v in zip(interp.get_input_details(), [w, x] if weights == "input" else [x]):
        interp.set_tensor(d["index"], v)
    interp.invoke()   # compiles numba loops, warms caches
    tracemalloc.start()
    interp.invoke()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 16 * 1024, f"invoke allocated {peak} bytes (output is 16 KiB)"
