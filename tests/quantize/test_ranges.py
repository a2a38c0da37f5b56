"""Calibration sampling and the range estimators (edgelite/quantize/ranges.py), and
constants shared between weighted ops (each op quantizes its own copy)."""

from __future__ import annotations

import numpy as np
from onnx import TensorProto, helper, numpy_helper

from edgelite import Converter, Interpreter
from edgelite.converter import Optimize
from edgelite.quantize.calibrate import Range
from edgelite.quantize.ranges import CLIP_GAIN, SMALL_TENSOR, estimate
from edgelite.schema import read
from tests.litert_oracle import litert_builtin


def _calibrated(batches, keep=4096) -> Range:
    r = Range(np.inf, -np.inf)
    for b in batches:
        r.widen(np.asarray(b, np.float32), keep)
    return r


def test_the_sample_visits_every_channel():
    # 56x56x24 values: a plain stride of 18 would see channels 0, 6, 12, 18 only
    x = np.broadcast_to(np.arange(24, dtype=np.float32), (1, 56, 56, 24))
    r = _calibrated([x])
    assert set(np.unique(r.values()).astype(int)) == set(range(24))


def test_mse_keeps_min_max_unless_clipping_clearly_pays():
    rng = np.random.default_rng(0)
    uniform = _calibrated(rng.uniform(-1, 3, (16, 1, 64, 64, 8)))
    assert estimate(uniform, "mse") == (uniform.lo, uniform.hi)
    heavy_tailed = rng.standard_t(2, (16, 1, 64, 64, 8))   # a trained net's outliers
    r = _calibrated(heavy_tailed)
    lo, hi = estimate(r, "mse")
    assert hi < 0.5 * r.hi and lo > r.lo
    assert 0 < CLIP_GAIN < 1


def test_a_small_tensor_is_widened_by_the_spread_of_its_sample_extremes():
    rng = np.random.default_rng(1)
    small = rng.uniform(-1, 1, (16, 1, 10)) * rng.uniform(0.5, 1.5, (16, 1, 1))
    r = _calibrated(small)
    maxima = small.reshape(16, -1).max(axis=1)
    minima = small.reshape(16, -1).min(axis=1)
    lo, hi = estimate(r, "mse")
    assert np.isclose(hi, maxima.max() + maxima.std(), rtol=1e-5)
    assert np.isclose(lo, minima.min() - minima.std(), rtol=1e-5)
    assert estimate(r, "minmax") == (r.lo, r.hi)   # TensorFlow's estimator: as seen
    big = rng.uniform(-1, 1, (4, 1, SMALL_TENSOR)) * rng.uniform(0.5, 1.5, (4, 1, 1))
    rb = _calibrated(big)
    assert estimate(rb, "mse") == (rb.lo, rb.hi)


def _two_dense_sharing_weights():
    """x -> Gemm(w, b) -> Relu -> Gemm(w, b): both Gemms read the same initializers (and
    the converter merges equal constants anyway, e.g. Keras' all-zero Dense biases)."""
    rng = np.random.default_rng(2)
    w = numpy_helper.from_array(rng.normal(0, 0.5, (16, 16)).astype(np.float32), "w")
    b = numpy_helper.from_array(np.zeros(16, np.float32), "b")
    nodes = [helper.make_node("Gemm", ["x", "w", "b"], ["h"], transB=1),
             helper.make_node("Relu", ["h"], ["r"]),
             helper.make_node("Gemm", ["r", "w", "b"], ["y"], transB=1)]
    graph = helper.make_graph(nodes, "shared", [helper.make_tensor_value_info(
        "x", TensorProto.FLOAT, [1, 16])], [helper.make_tensor_value_info(
            "y", TensorProto.FLOAT, [1, 16])], [w, b])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def _run(make, blob, x):
    it = make(model_content=blob)
    it.allocate_tensors()
    it.set_tensor(it.get_input_details()[0]["index"], x)
    it.invoke()
    return it.get_tensor(it.get_output_details()[0]["index"]).copy()


def test_weighted_ops_sharing_constants_each_get_their_own_quantized_copy():
    rng = np.random.default_rng(3)
    calib = [rng.uniform(0, 1, (1, 16)).astype(np.float32) for _ in range(16)]
    conv = Converter.from_onnx(_two_dense_sharing_weights())
    fblob = conv.convert()
    conv.optimizations = [Optimize.DEFAULT]
    conv.representative_dataset = lambda: ([c] for c in calib)   # bias correction is on
    qblob = conv.convert()
    sg = read(qblob).subgraphs[0]
    fcs = [op for op in sg.operators if op.opcode == "FULLY_CONNECTED"]
    assert len(fcs) == 2 and fcs[0].inputs[2] != fcs[1].inputs[2]
    for op in fcs:
        s_in = sg.tensors[op.inputs[0]].quantization.scales[0]
        w_scales = sg.tensors[op.inputs[1]].quantization.scales
        b = sg.tensors[op.inputs[2]]
        assert b.dtype == np.int32
        np.testing.assert_allclose(b.quantization.scales, s_in * w_scales, rtol=1e-6)
    for x in calib[:4]:
        want = _run(Interpreter, fblob, x).astype(np.float64)
        got = _run(Interpreter, qblob, x)
        assert np.array_equal(got, _run(litert_builtin, qblob, x))
        assert 10 * np.log10(np.sum(want ** 2) / np.sum((want - got) ** 2)) > 30
