"""The pretrained EfficientNet-Lite0 (../shared/corpus/onnx) through the converter."""

from __future__ import annotations

import collections

import numpy as np
import pytest

from edgelite import Converter, Interpreter
from edgelite.schema import read
from tests.conftest import CORPUS
from tests.litert_oracle import litert


def _onnx_path():
    path = CORPUS / "onnx" / "efficientnet_lite0.onnx"
    if not path.exists():
        pytest.fail(f"{path} is missing: the corpus lives in ../shared/corpus beside the checkout")
    return path


def _ort(path, x):
    try:
        import onnxruntime
    except ImportError:
        pytest.fail("onnxruntime is the ONNX oracle: pip install -e '.[test]'")
    sess = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return sess.run(None, {sess.get_inputs()[0].name: x})[0]


def _invoke(interp, x):
    interp.allocate_tensors()
    interp.set_tensor(interp.get_input_details()[0]["index"], x)
    interp.invoke()
    return interp.get_tensor(interp.get_output_details()[0]["index"])


@pytest.mark.parametrize("layout", ["keep", "nhwc"])
def test_efficientnet_lite0_matches_onnxruntime(layout):
    path = _onnx_path()
    conv = Converter.from_onnx(path)
    conv.io_layout = layout
    blob = conv.convert()
    ops = collections.Counter(op.opcode for op in read(blob).subgraphs[0].operators)
    if layout == "nhwc":
        assert ops["TRANSPOSE"] == 0, ops
        # the 33 Clip(0, 6) are fused into the conv before each (converter passes)
        assert ops["RELU6"] == 0, ops
        fused = collections.Counter(op.options.get("fused_activation_function")
                                    for op in read(blob).subgraphs[0].operators)
        assert fused["RELU6"] == 33, fused
    x = np.random.default_rng(0).uniform(-1, 1, (1, 3, 224, 224)).astype(np.float32)
    want = _ort(path, x)
    feed = x if layout == "keep" else np.ascontiguousarray(x.transpose(0, 2, 3, 1))
    scale = float(np.abs(want).max())
    for interp in (Interpreter(model_content=blob), litert().Interpreter(model_content=blob)):
        got = _invoke(interp, feed)
        assert got.shape == want.shape
        assert float(np.abs(got - want).max()) <= 1e-4 * scale
