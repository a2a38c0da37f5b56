"""The Keras / SavedModel fixtures (made by TensorFlow in its own venv, never here):
models, TF's outputs, TF's converter op counts and TF's int8 SQNR."""

from __future__ import annotations

import json
import os
from functools import lru_cache

import numpy as np
import pytest

from edgelite import Converter, Interpreter

MODELS = ("mobilenet_v2", "efficientnet_b0", "resnet50", "transformer", "lstm", "small_cnn",
          "nested")
SCRIPT = "scripts/make_keras_fixtures.sh"


def fixture_dir() -> str:
    d = os.environ.get("EDGELITE_KERAS_FIXTURES",
                       os.path.expanduser("~/.cache/edgelite/keras-fixtures"))
    if not os.path.exists(os.path.join(d, "tf_ops.json")):
        pytest.fail(f"the Keras/SavedModel fixtures are missing in {d}: run "
                    f"'bash {SCRIPT}' (makes a TensorFlow venv aside and saves the models)")
    return d


def path(name: str, source: str) -> str:
    """The fixture ``name`` saved as ``source``: "keras" (.keras), "h5" (legacy HDF5),
    "saved_model" (a directory) or "file" (``name`` is the file's name)."""
    d = fixture_dir()
    leaf = {"keras": f"{name}.keras", "h5": f"{name}.h5", "file": name}.get(
        source, f"{name}_savedmodel")
    p = os.path.join(d, leaf)
    if not os.path.exists(p):
        pytest.fail(f"fixture {p} is missing: run 'bash {SCRIPT}'")
    return p


def data(name: str) -> dict:
    with np.load(os.path.join(fixture_dir(), f"{name}.npz")) as f:
        return {k: f[k] for k in f.files}


def tf_json(kind: str) -> dict:
    with open(os.path.join(fixture_dir(), kind)) as f:
        return json.load(f)


def converter(name: str, source: str) -> Converter:
    p = path(name, source)
    return Converter.from_keras(p) if source in ("keras", "h5") else \
        Converter.from_saved_model(p)


@lru_cache(maxsize=None)
def float_model(name: str, source: str) -> bytes:
    return converter(name, source).convert()


def run(make, blob: bytes, xs: np.ndarray) -> np.ndarray:
    """One invoke per sample, states reset first (recurrent ops keep them otherwise)."""
    it = make(model_content=blob)
    it.allocate_tensors()
    d = it.get_input_details()[0]
    outs = []
    for x in xs:
        it.reset_all_variables()
        it.set_tensor(d["index"], x[None].astype(d["dtype"]))
        it.invoke()
        outs.append(it.get_tensor(it.get_output_details()[0]["index"])[0].copy())
    return np.stack(outs)


def edgelite_run(blob, xs):
    return run(Interpreter, blob, xs)


def rel_err(got, want) -> float:
    """max |got - want| relative to the largest |want|."""
    want = np.asarray(want, np.float64)
    return float(np.abs(got - want).max() / np.abs(want).max())


def sqnr(ref, got) -> float:
    ref = np.asarray(ref, np.float64)
    return float(10 * np.log10(np.sum(ref ** 2) / np.sum((ref - got) ** 2)))
