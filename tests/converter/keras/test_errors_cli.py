"""Unsupported Keras layers are all named in one error; ``edgelite convert`` detects
.keras files and SavedModel directories."""

from __future__ import annotations

import json
import zipfile

import h5py
import numpy as np
import pytest

from edgelite import Interpreter
from edgelite.cli import main
from edgelite.converter import ConversionError, Converter, UnsupportedPartsError

from .fixtures import path


def _layer(cls, name, inbound):
    args = [{"class_name": "__keras_tensor__",
             "config": {"shape": [None, 8], "dtype": "float32",
                        "keras_history": [inbound, 0, 0]}}]
    return {"class_name": cls, "config": {"name": name}, "name": name,
            "inbound_nodes": [{"args": args, "kwargs": {}}]}


def test_every_unsupported_layer_is_named_at_once(tmp_path):
    layers = [{"class_name": "InputLayer", "name": "x",
               "config": {"name": "x", "batch_shape": [None, 8], "dtype": "float32"},
               "inbound_nodes": []},
              _layer("Lambda", "my_lambda", "x"), _layer("GRU", "my_gru", "my_lambda"),
              _layer("Dropout", "drop", "my_gru"), _layer("CustomThing", "odd", "drop")]
    config = {"class_name": "Functional", "config": {
        "name": "m", "layers": layers, "input_layers": [["x", 0, 0]],
        "output_layers": [["odd", 0, 0]]}}
    p = tmp_path / "m.keras"
    h5 = tmp_path / "w.h5"
    h5py.File(h5, "w").close()
    with zipfile.ZipFile(p, "w") as z:
        z.writestr("config.json", json.dumps(config))
        z.write(h5, "model.weights.h5")
    with pytest.raises(UnsupportedPartsError) as e:
        Converter.from_keras(p).convert()
    msg = str(e.value)
    assert msg.startswith("3 Keras layer(s)"), msg
    for part in ("my_lambda: Lambda", "my_gru: GRU", "odd: CustomThing"):
        assert part in msg, msg


@pytest.mark.parametrize("source", ["keras", "saved_model"])
def test_cli_convert_detects_the_input_kind(tmp_path, source):
    out = tmp_path / "t.tflite"
    assert main(["convert", path("transformer", source), "-o", str(out)]) == 0
    it = Interpreter(model_path=str(out))
    it.allocate_tensors()
    assert tuple(it.get_input_details()[0]["shape"]) == (1, 16, 64)
    it.set_tensor(it.get_input_details()[0]["index"], np.zeros((1, 16, 64), np.float32))
    it.invoke()


@pytest.mark.parametrize("name,op", [("while_loop", "While"),
                                     ("stateless_while", "StatelessWhile")])
def test_a_while_loop_that_is_not_an_lstm_fails_naming_the_op(tmp_path, capsys, name, op):
    """Only Keras' LSTM loop lowers (to UNIDIRECTIONAL_SEQUENCE_LSTM); any other loop is
    one error naming the While node and its op, from the API and from the CLI."""
    p = path(name, "saved_model")
    with pytest.raises(ConversionError) as e:
        Converter.from_saved_model(p).convert()
    msg = str(e.value)
    assert f"while' ({op})" in msg or f"/while: {op}" in msg, msg
    out = tmp_path / "w.tflite"
    assert main(["convert", p, "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert op in err and "Traceback" not in err, err
    assert not out.exists()
