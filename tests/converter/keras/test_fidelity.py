"""Keras (.keras, legacy .h5) and SavedModel fixtures -- nested models among them -- convert
without TensorFlow; edgelite's output
matches TensorFlow's within 1e-4 relative, LiteRT runs the same file to the same result,
and the model has no more operators than TF's own TFLiteConverter writes."""

from __future__ import annotations

import collections

import pytest

from edgelite.schema import read
from tests.litert_oracle import litert

from .fixtures import MODELS, data, edgelite_run, float_model, rel_err, run, tf_json

# small_cnn is also saved as a legacy HDF5 file (model.save("small_cnn.h5"))
CASES = [(m, s) for m in MODELS for s in ("keras", "saved_model")] + [("small_cnn", "h5")]


def test_tensorflow_is_not_installed():
    import importlib.util

    assert importlib.util.find_spec("tensorflow") is None
    assert importlib.util.find_spec("keras") is None


@pytest.mark.parametrize("name,source", CASES)
def test_output_matches_tensorflow_and_litert(name, source):
    blob = float_model(name, source)
    d = data(name)
    got = edgelite_run(blob, d["x"])
    assert rel_err(got, d["y"]) <= 1e-4, (name, source, rel_err(got, d["y"]))
    lite = run(litert().Interpreter, blob, d["x"])
    assert rel_err(lite, got) <= 1e-4, (name, source, rel_err(lite, got))


@pytest.mark.parametrize("name,source", CASES)
def test_op_count_at_most_tensorflow_converter(name, source):
    ops = read(float_model(name, source)).subgraphs[0].operators
    tf = tf_json("tf_ops.json")[name]
    hist = collections.Counter(op.opcode for op in ops)
    assert len(ops) <= tf["count"], (dict(hist), tf["ops"])
    assert "TRANSPOSE" not in hist or name == "transformer"   # NHWC: no layout transposes

