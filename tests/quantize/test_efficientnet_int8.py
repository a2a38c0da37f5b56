"""Issue 6's end-to-end check: the pretrained EfficientNet-Lite0 (../shared/corpus/onnx)
quantized to int8 on some skimage photos keeps its answers on others, runs bit-exactly
in LiteRT's builtin kernels, and keeps a logit SQNR above TensorFlow's PTQ figure."""

from __future__ import annotations

import numpy as np
import pytest

from edgelite import Converter, Interpreter
from edgelite.converter import Optimize
from edgelite.schema import read
from tests.converter.test_efficientnet import _onnx_path
from tests.litert_oracle import litert_builtin
from tests.quantize.photos import TEST, calibration_samples, photo

TF_PTQ_SQNR_DB = 16.5   # TensorFlow's own PTQ on the same model and photos (issue 6)


def _run(make, blob, x):
    it = make(model_content=blob)
    it.allocate_tensors()
    it.set_tensor(it.get_input_details()[0]["index"], x)
    it.invoke()
    return it.get_tensor(it.get_output_details()[0]["index"]).copy()


@pytest.fixture(scope="module")
def blobs():
    conv = Converter.from_onnx(_onnx_path())
    conv.io_layout = "nhwc"
    float_blob = conv.convert()
    conv.optimizations = [Optimize.DEFAULT]
    samples = calibration_samples()
    conv.representative_dataset = lambda: ([x] for x in samples)
    return float_blob, conv.convert()


def test_int8_efficientnet_is_small_and_integer(blobs):
    float_blob, int8_blob = blobs
    assert len(int8_blob) < 0.4 * len(float_blob)
    sg = read(int8_blob).subgraphs[0]
    kinds = {sg.tensors[op.inputs[0]].dtype for op in sg.operators
             if op.opcode in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED")}
    assert kinds == {np.dtype(np.int8)}


def test_int8_efficientnet_keeps_answers_bit_exact_in_litert_and_beats_tf_sqnr(blobs):
    float_blob, int8_blob = blobs
    sqnr = []
    for name in TEST:
        x = photo(name)
        want = _run(Interpreter, float_blob, x)
        got = _run(Interpreter, int8_blob, x)
        assert np.array_equal(got, _run(litert_builtin, int8_blob, x)), name
        if name == "chelsea":
            assert got.argmax() == want.argmax() == 285
        if name == "coffee":
            assert got.argmax() == want.argmax() == 967
        sqnr.append(10 * np.log10(np.sum(want.astype(np.float64) ** 2)
                                  / np.sum((want.astype(np.float64) - got) ** 2)))
    mean = float(np.mean(sqnr))
    print(f"mean logit SQNR over {len(TEST)} photos: {mean:.2f} dB")
    assert mean >= TF_PTQ_SQNR_DB + 3.0, f"{mean:.2f} dB"
