"""Whole models: edgelite's outputs against LiteRT's on the float corpus and mediapipe set.

Tolerance: for every output, max|edgelite - LiteRT| <= 1e-4 * max|LiteRT| (relative to
the output's scale; elementwise relative error is meaningless next to zeros).
Hybrid dynamic-range and integer models belong to the integer-kernel issue.
"""

from __future__ import annotations

import struct
import tracemalloc

import numpy as np
import pytest

from edgelite import Interpreter, OpResolver
from tests.conftest import mediapipe_model, tf_model
from tests.litert_oracle import litert_builtin, random_inputs, run, run_all_tensors

FLOAT_MODELS = [("tf", "mobilenet_v2_035.float32"), ("tf", "mobilenet_v2_035.float16"),
                ("mediapipe", "face_detection_short_range"), ("mediapipe", "face_landmark"),
                ("mediapipe", "hand_landmark_lite"), ("mediapipe", "selfie_segmentation"),
                ("mediapipe", "pose_detection")]


def _path(kind, name):
    return tf_model(name) if kind == "tf" else mediapipe_model(name)


def run_edgelite(path, inputs, **kwargs):
    interp = Interpreter(model_path=str(path), **kwargs)
    interp.allocate_tensors()
    for d, x in zip(interp.get_input_details(), inputs):
        interp.set_tensor(d["index"], x)
    interp.invoke()
    return interp, [interp.get_tensor(d["index"]) for d in interp.get_output_details()]


def assert_close(got, expected, rel=1e-4):
    assert len(got) == len(expected)
    for k, (g, e) in enumerate(zip(got, expected)):
        assert g.shape == e.shape and g.dtype == e.dtype, f"output {k}"
        scale = max(float(np.max(np.abs(e))), 1e-30)
        err = float(np.max(np.abs(g.astype(np.float64) - e))) / scale
        assert err <= rel, f"output {k}: max error {err:.2e} of the output's scale"


@pytest.mark.parametrize("kind,name", FLOAT_MODELS, ids=[n for _, n in FLOAT_MODELS])
def test_float_model_matches_litert(kind, name):
    path = _path(kind, name)
    for seed in (0, 1):
        interp = Interpreter(model_path=str(path))
        inputs = random_inputs(interp.get_input_details(), seed)
        _, got = run_edgelite(path, inputs)
        assert_close(got, run(path, inputs))


@pytest.mark.parametrize("kind,name", FLOAT_MODELS, ids=[n for _, n in FLOAT_MODELS])
def test_invoke_allocates_under_64_kib(kind, name):
    path = _path(kind, name)
    interp = Interpreter(model_path=str(path))
    interp, _ = run_edgelite(path, random_inputs(interp.get_input_details(), 0))
    tracemalloc.start()
    interp.invoke()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 64 * 1024, f"invoke allocated {peak} bytes"
    report = interp.memory_report()
    assert report["arena_bytes"] <= 1.10 * report["lower_bound_bytes"], report


def _user_transpose_conv_bias(ctx):
    """A user's own Convolution2DTransposeBias: scatter-add per kernel tap, in numpy."""
    x, w, b = (ctx.inputs[i] for i in range(3))
    padding, stride_w, stride_h = struct.unpack_from("<iii", ctx.op.custom_options)
    _, h, wd, _ = x.shape
    o, kh, kw, _ = w.shape
    if padding == 1:   # SAME (TfLitePadding: 0 unknown, 1 same, 2 valid)
        oh, ow = h * stride_h, wd * stride_w
    else:
        oh, ow = (h - 1) * stride_h + kh, (wd - 1) * stride_w + kw
    ph = max(0, ((h - 1) * stride_h + kh - oh) // 2)
    pw = max(0, ((wd - 1) * stride_w + kw - ow) // 2)
    ctx.set_output(0, (x.shape[0], oh, ow, o), np.float32)
    weights, bias = w.data.astype(np.float32), b.data.astype(np.float32)

    def run(ins, outs, scratch):
        full = np.zeros((x.shape[0], (h - 1) * stride_h + kh, (wd - 1) * stride_w + kw, o),
                        np.float32)
        for i in range(kh):
            for j in range(kw):
                full[:, i:i + stride_h * h:stride_h, j:j + stride_w * wd:stride_w, :] += \
                    ins[0] @ weights[:, i, j, :].T
        outs[0][...] = full[:, ph:ph + oh, pw:pw + ow, :] + bias
    return run


def test_selfie_segmentation_with_a_user_registered_custom_kernel():
    path = mediapipe_model("selfie_segmentation")
    resolver = OpResolver()
    calls = []

    def prepare(ctx):
        calls.append(ctx.op_index)
        return _user_transpose_conv_bias(ctx)

    resolver.register_custom("Convolution2DTransposeBias", prepare)
    interp = Interpreter(model_path=str(path))
    inputs = random_inputs(interp.get_input_details(), 3)
    _, got = run_edgelite(path, inputs, op_resolver=resolver)
    assert calls, "the user's kernel was not used"
    assert_close(got, run(path, inputs))


@pytest.mark.parametrize("name", ["mobilenet_v2_035.float32", "mobilenet_v2_035.float16"])
def test_float_intermediates_match_litert_builtin(name):
    """The corpus MobileNetV2 has random weights: its activations shrink layer by layer and
    its softmax comes out uniform, so its outputs alone prove little. Every intermediate
    tensor is compared instead (LiteRT's builtin kernels, all tensors preserved), each
    within 1e-4 of its own scale."""
    blob = tf_model(name).read_bytes()
    inputs = random_inputs(Interpreter(model_content=blob).get_input_details(), 0)
    _, want = run_all_tensors(litert_builtin, blob, inputs)
    _, got = run_all_tensors(Interpreter, blob, inputs)
    compared = 0
    for index, (tname, w) in want.items():
        if index in got and w.dtype.kind == "f" and w.size:
            assert_close([got[index][1]], [w])
            compared += 1
    assert compared > 100, compared
