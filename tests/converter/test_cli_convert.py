"""`edgelite convert`: writes atomically, fails with every unsupported node named."""

from __future__ import annotations

import os

import numpy as np
import onnx
from onnx import TensorProto, helper

from edgelite import Interpreter
from edgelite.cli import main


def _model(nodes, inputs, outputs, path):
    graph = helper.make_graph(nodes, "g", inputs, outputs)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.save(model, str(path))
    return path


def test_convert_writes_a_runnable_file(tmp_path, capsys):
    src = _model([helper.make_node("Relu", ["x"], ["y"])],
                 [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 4])],
                 [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
                 tmp_path / "relu.onnx")
    out = tmp_path / "relu.tflite"
    assert main(["convert", str(src), "-o", str(out), "--input-shape", "x=3,4"]) == 0
    interp = Interpreter(model_path=str(out))
    interp.allocate_tensors()
    assert list(interp.get_input_details()[0]["shape"]) == [3, 4]
    x = np.linspace(-1, 1, 12, dtype=np.float32).reshape(3, 4)
    interp.set_tensor(interp.get_input_details()[0]["index"], x)
    interp.invoke()
    np.testing.assert_array_equal(interp.get_tensor(interp.get_output_details()[0]["index"]),
                                  np.maximum(x, 0))
    assert [p.name for p in tmp_path.iterdir()] != [] and \
        not any(p.name.startswith(".") for p in tmp_path.iterdir())
    mask = os.umask(0)
    os.umask(mask)
    assert out.stat().st_mode & 0o777 == 0o666 & ~mask   # not the temp file's 0600


def test_unsupported_ops_are_all_listed_and_nothing_is_written(tmp_path, capsys):
    src = _model([helper.make_node("Relu", ["x"], ["a"]),
                  helper.make_node("StringNormalizer", ["a"], ["b"], name="norm1"),
                  helper.make_node("Unique", ["b"], ["c"], name="uniq")],
                 [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4])],
                 [helper.make_tensor_value_info("c", TensorProto.FLOAT, None)],
                 tmp_path / "bad.onnx")
    out = tmp_path / "bad.tflite"
    assert main(["convert", str(src), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert "norm1: StringNormalizer (opset 17)" in err and "uniq: Unique (opset 17)" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.onnx"]


def test_missing_file_and_bad_shape_flags_fail_clearly(tmp_path, capsys):
    assert main(["convert", str(tmp_path / "nope.onnx"), "-o", str(tmp_path / "o")]) == 2
    assert "does not exist" in capsys.readouterr().err
    src = _model([helper.make_node("Relu", ["x"], ["y"])],
                 [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])],
                 [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
                 tmp_path / "r.onnx")
    assert main(["convert", str(src), "-o", str(tmp_path / "o"), "--input-shape", "x"]) == 2
    assert "expected NAME=D0,D1" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()
