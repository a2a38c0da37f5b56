"""Post-training full-integer int8 quantization through ``Converter`` and the CLI: the
files edgelite writes run bit-exactly in LiteRT's builtin kernels, stay close to the
float model, and follow TFLiteConverter's settings."""

from __future__ import annotations

import collections
import subprocess
import sys

import numpy as np
import pytest
from onnx import helper, numpy_helper

from edgelite import Converter, Interpreter
from edgelite.converter import ConversionError, OpsSet, Optimize
from edgelite.schema import read
from tests.litert_oracle import litert_builtin
from tests.quantize.models import inputs, small_cnn


def _run(make, blob, x):
    it = make(model_content=blob)
    it.allocate_tensors()
    d = it.get_input_details()[0]
    it.set_tensor(d["index"], x.astype(d["dtype"]) if x.dtype != d["dtype"] else x)
    it.invoke()
    return it.get_tensor(it.get_output_details()[0]["index"]).copy()


def _converter(model, **settings):
    conv = Converter.from_onnx(model)
    conv.io_layout = "nhwc"
    for k, v in settings.items():
        setattr(conv, k, v)
    return conv


def _int8(model, calib=None, **settings):
    conv = _converter(model, optimizations=[Optimize.DEFAULT],
                      representative_dataset=lambda: ([x] for x in (calib or inputs(1, 16))),
                      **settings)
    return conv.convert()


def sqnr(ref: np.ndarray, got: np.ndarray) -> float:
    return float(10 * np.log10(np.sum(ref.astype(np.float64) ** 2)
                               / np.sum((ref.astype(np.float64) - got) ** 2)))


@pytest.mark.parametrize("estimator", ["minmax", "percentile", "mse"])
def test_small_cnn_is_integer_bit_exact_in_litert_and_close_to_float(estimator):
    model = small_cnn()
    fblob = _converter(model).convert()
    qblob = _int8(model, range_estimator=estimator)
    ops = collections.Counter(op.opcode for op in read(qblob).subgraphs[0].operators)
    assert ops["QUANTIZE"] == 1 and ops["DEQUANTIZE"] == 1, ops
    sg = read(qblob).subgraphs[0]
    for op in sg.operators:
        if op.opcode not in ("QUANTIZE", "DEQUANTIZE"):
            assert all(sg.tensors[t].dtype != np.float32 for t in op.inputs + op.outputs
                       if t >= 0), op.opcode
    for x in inputs(2, 4):
        got, want = _run(Interpreter, qblob, x), _run(litert_builtin, qblob, x)
        assert np.array_equal(got, want)
        assert sqnr(_run(Interpreter, fblob, x), got) > 20.0


@pytest.mark.parametrize("io", [np.int8, np.uint8])
def test_integer_io(io):
    model = small_cnn(seed=3)
    qblob = _int8(model, inference_input_type=io, inference_output_type=io)
    sg = read(qblob).subgraphs[0]
    assert [sg.tensors[t].dtype for t in sg.inputs + sg.outputs] == [np.dtype(io)] * 2
    q_in = sg.tensors[sg.inputs[0]].quantization
    for x in inputs(4, 3):
        xq = np.clip(np.round(x / q_in.scales[0]) + q_in.zero_points[0],
                     *(np.iinfo(io).min, np.iinfo(io).max)).astype(io)
        assert np.array_equal(_run(Interpreter, qblob, xq), _run(litert_builtin, qblob, xq))


def _with_sin():
    return small_cnn(seed=5, extra_nodes=[helper.make_node("Sin", ["a1"], ["s1"])], tail="s1")


def test_an_op_without_integer_kernel_stays_float_between_dequantize_and_quantize():
    model = _with_sin()
    qblob = _int8(model)
    ops = [op.opcode for op in read(qblob).subgraphs[0].operators]
    k = ops.index("SIN")
    assert ops[k - 1] == "DEQUANTIZE" and ops[k + 1] == "QUANTIZE", ops
    fblob = _converter(model).convert()
    for x in inputs(6, 3):
        got = _run(Interpreter, qblob, x)
        assert np.array_equal(got, _run(litert_builtin, qblob, x))
        assert sqnr(_run(Interpreter, fblob, x), got) > 15.0


def test_int8_only_ops_set_refuses_float_fallback_naming_the_op():
    conv = _converter(_with_sin(), optimizations=[Optimize.DEFAULT],
                      representative_dataset=lambda: ([x] for x in inputs(1, 4)))
    conv.target_spec.supported_ops = {OpsSet.TFLITE_BUILTINS_INT8}
    with pytest.raises(ConversionError, match=r"operator \d+ \(SIN\)"):
        conv.convert()


def _conv_with_outliers(seed: int):
    """One 3x3 convolution whose weights have an outlier per output channel (coarse
    int8 steps), fed non-negative inputs: rounding shifts each channel's mean."""
    rng = np.random.default_rng(seed)
    w = rng.normal(0, 0.05, (16, 8, 3, 3))
    w[:, 0, 0, 0] = 2.0
    graph = helper.make_graph(
        [helper.make_node("Conv", ["x", "w"], ["y"], pads=[1, 1, 1, 1])], "conv",
        [helper.make_tensor_value_info("x", 1, [1, 8, 12, 12])],
        [helper.make_tensor_value_info("y", 1, [1, 16, 12, 12])],
        [numpy_helper.from_array(w.astype(np.float32), "w")])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def test_bias_correction_removes_the_mean_shift_of_rounded_weights():
    model = _conv_with_outliers(7)
    rng = np.random.default_rng(8)
    calib = [rng.uniform(0, 1, (1, 12, 12, 8)).astype(np.float32) for _ in range(16)]
    tests = [rng.uniform(0, 1, (1, 12, 12, 8)).astype(np.float32) for _ in range(8)]
    fblob = _converter(model).convert()
    shift = {}
    for corrected in (False, True):
        qblob = _int8(model, calib, bias_correction=corrected, range_estimator="minmax")
        err = [_run(Interpreter, qblob, x) - _run(Interpreter, fblob, x) for x in tests]
        shift[corrected] = np.abs(np.mean(err, axis=(0, 1, 2, 3))).mean()   # per channel
        assert np.array_equal(_run(Interpreter, qblob, tests[0]),
                              _run(litert_builtin, qblob, tests[0]))
    assert shift[True] < 0.5 * shift[False], shift


@pytest.mark.parametrize("settings,match", [
    ({"representative_dataset": lambda: iter([])}, r"optimizations=\[Optimize.DEFAULT\]"),
    ({"optimizations": [Optimize.DEFAULT], "representative_dataset": lambda: iter([])},
     "yielded no samples"),
    ({"optimizations": [Optimize.DEFAULT], "representative_dataset": lambda: iter([[0]]),
      "inference_input_type": np.int16}, "must be float32, int8, uint8"),
    ({"optimizations": [Optimize.DEFAULT], "representative_dataset": lambda: iter([[0]])},
     r"input .x. has shape \[\]; the model takes \[1, 16, 16, 3\]")])
def test_unsupported_or_bad_settings_fail_clearly(settings, match):
    with pytest.raises((ConversionError, ValueError), match=match):
        _converter(small_cnn(), **settings).convert()


def test_cli_quantize_int8_writes_an_int8_model(tmp_path):
    import onnx

    src = tmp_path / "cnn.onnx"
    onnx.save(small_cnn(seed=9), src)
    calib = tmp_path / "calib.npy"
    np.save(calib, np.stack(inputs(1, 8)))
    out = tmp_path / "cnn_int8.tflite"
    cmd = [sys.executable, "-m", "edgelite", "convert", str(src), "-o", str(out),
           "--io-layout", "nhwc", "--quantize", "int8", "--calibration", str(calib),
           "--io-dtype", "int8"]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    sg = read(out.read_bytes()).subgraphs[0]
    assert sg.tensors[sg.inputs[0]].dtype == np.int8
    bad = subprocess.run(cmd[:-4] + ["--io-dtype", "int8"], capture_output=True, text=True,
                         check=False)
    assert bad.returncode != 0 and "--calibration" in bad.stderr


def test_cli_int16x8_from_an_image_directory(tmp_path):
    import onnx
    from PIL import Image

    src = tmp_path / "cnn.onnx"
    onnx.save(small_cnn(seed=31), src)
    images = tmp_path / "images"
    images.mkdir()
    rng = np.random.default_rng(32)
    for k in range(4):
        Image.fromarray(rng.integers(0, 256, (24, 20, 3)).astype(np.uint8)).save(
            images / f"{k}.png")
    out = tmp_path / "cnn_16x8.tflite"
    cmd = [sys.executable, "-m", "edgelite", "convert", str(src), "-o", str(out),
           "--io-layout", "nhwc", "--quantize", "int16x8", "--calibration", str(images),
           "--size", "16", "--mean", "0.5", "--std", "0.25"]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    sg = read(out.read_bytes()).subgraphs[0]
    conv = next(op for op in sg.operators if op.opcode == "CONV_2D")
    assert sg.tensors[conv.inputs[0]].dtype == np.int16
    x = inputs(33, 1)[0]
    assert np.array_equal(_run(Interpreter, out.read_bytes(), x),
                          _run(litert_builtin, out.read_bytes(), x))
    bad = subprocess.run(cmd[:-6] + ["--mean", "1,2"], capture_output=True, text=True,
                         check=False)
    assert bad.returncode != 0 and "--mean" in bad.stderr


def test_unknown_range_estimator_fails_clearly():
    with pytest.raises(ConversionError, match="unknown range estimator 'median'"):
        _int8(small_cnn(), range_estimator="median")
