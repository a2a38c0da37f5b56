"""The quantization debugger and selective quantization (denylist)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import onnx

from edgelite import Interpreter
from edgelite.quantize.debugger import compare, format_report, worst_ops
from edgelite.schema import read
from tests.litert_oracle import litert_builtin
from tests.quantize.models import inputs, small_cnn
from tests.quantize.test_int8_ptq import _converter, _int8, _run, sqnr


def test_report_ranks_tensors_and_matches_a_direct_measurement():
    model = small_cnn(seed=21)
    fblob, qblob = _converter(model).convert(), _int8(model)
    samples = inputs(22, 3)
    reports = compare(fblob, qblob, samples)
    assert len(reports) >= 5
    assert [r.sqnr_db for r in reports] == sorted(r.sqnr_db for r in reports)
    out = next(r for r in reports if r.opcode == "SOFTMAX")
    want = np.concatenate([_run(Interpreter, fblob, x).ravel() for x in samples])
    got = np.concatenate([_run(Interpreter, qblob, x).ravel() for x in samples])
    assert abs(out.sqnr_db - sqnr(want, got)) < 1e-6
    assert out.name in format_report(reports)


def test_denylisted_ops_stay_float():
    model = small_cnn(seed=23)
    fblob, qblob = _converter(model).convert(), _int8(model)
    worst = worst_ops(compare(fblob, qblob, inputs(24, 3)), 2)
    kept = _int8(model, quantize_denylist=set(worst))
    sg = read(kept).subgraphs[0]
    # a kept-float op writes "<name>_float"; a QUANTIZE brings it back as <name>
    float_ops = {sg.tensors[op.outputs[0]].name for op in sg.operators
                 if op.opcode not in ("DEQUANTIZE", "QUANTIZE")
                 and sg.tensors[op.outputs[0]].dtype == np.float32}
    assert {f"{name}_float" for name in worst} <= float_ops, (worst, float_ops)
    xs = inputs(25, 4)
    for x in xs:
        assert np.array_equal(_run(Interpreter, kept, x), _run(litert_builtin, kept, x))
        assert sqnr(_run(Interpreter, fblob, x), _run(Interpreter, kept, x)) > 20.0


def test_cli_quantize_report(tmp_path):
    model = small_cnn(seed=26)
    (tmp_path / "f.tflite").write_bytes(_converter(model).convert())
    (tmp_path / "q.tflite").write_bytes(_int8(model))
    np.save(tmp_path / "s.npy", np.stack(inputs(27, 2)))
    cmd = [sys.executable, "-m", "edgelite", "quantize-report", str(tmp_path / "f.tflite"),
           str(tmp_path / "q.tflite"), "--calibration", str(tmp_path / "s.npy"), "--top", "3"]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert len(proc.stdout.strip().splitlines()) == 4
    bad = subprocess.run(cmd[:4] + [str(tmp_path / "missing.tflite")] + cmd[5:],
                         capture_output=True, text=True, check=False)
    assert bad.returncode != 0 and "missing.tflite" in bad.stderr


def test_keep_the_worst_ops_float_automatically():
    model = small_cnn(seed=28)
    fblob = _converter(model).convert()
    worst = worst_ops(compare(fblob, _int8(model), inputs(1, 8)), 1)
    auto = read(_int8(model, quantize_keep_float=1)).subgraphs[0]
    names = {auto.tensors[op.outputs[0]].name for op in auto.operators
             if auto.tensors[op.outputs[0]].dtype == np.float32}
    assert f"{worst[0]}_float" in names


def test_cli_denylist_keeps_ops_float_and_says_so(tmp_path):
    from tests.quantize.test_int8_ptq import _with_sin

    src = tmp_path / "m.onnx"
    onnx.save(_with_sin(), src)
    np.save(tmp_path / "s.npy", np.stack(inputs(29, 4)))
    out = tmp_path / "m.tflite"
    cmd = [sys.executable, "-m", "edgelite", "convert", str(src), "-o", str(out),
           "--io-layout", "nhwc", "--quantize", "int8", "--calibration",
           str(tmp_path / "s.npy"), "--denylist", "ADD", "--range-estimator", "minmax"]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    kept = proc.stdout.splitlines()[-1]
    assert kept.startswith("kept in float") and "ADD" in kept and "SIN" in kept
    sg = read(out.read_bytes()).subgraphs[0]
    add = next(op for op in sg.operators if op.opcode == "ADD")
    assert sg.tensors[add.outputs[0]].dtype == np.float32
