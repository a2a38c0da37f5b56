"""`edgelite inspect`: text and JSON summaries, and one-line errors for bad files."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import mediapipe_model, tf_model


def _edgelite(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "edgelite", *args], capture_output=True,
                          text=True)


def test_inspect_json_int8_model():
    proc = _edgelite("inspect", str(tf_model("mobilenet_v2_035.int8")), "--json")
    assert proc.returncode == 0, proc.stderr
    info = json.loads(proc.stdout)
    (sg,) = info["subgraphs"]
    (inp,) = sg["inputs"]
    assert inp["dtype"] == "int8" and inp["shape"] == [1, 96, 96, 3]
    assert set(inp["quantization"]) == {"scale", "zero_point"}
    assert info["op_histogram"]["CONV_2D"] >= 30
    assert info["op_histogram"]["DEPTHWISE_CONV_2D"] == 17
    assert sum(info["op_histogram"].values()) == sg["operators"]
    assert info["constant_bytes_by_dtype"]["int8"] > 300_000
    assert info["constant_bytes"] == sum(info["constant_bytes_by_dtype"].values())
    assert info["signatures"][0]["key"] == "serving_default"


def test_inspect_text_custom_op_model():
    proc = _edgelite("inspect", str(mediapipe_model("selfie_segmentation")))
    assert proc.returncode == 0, proc.stderr
    assert "Convolution2DTransposeBias" in proc.stdout
    assert "inputs:" in proc.stdout and "float32[1, 256, 256, 3]" in proc.stdout


def test_inspect_bad_file_is_one_clear_line(tmp_path):
    bad = tmp_path / "bad.tflite"
    bad.write_bytes(b"\x00" * 100)
    proc = _edgelite("inspect", str(bad))
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "bad.tflite" in proc.stderr
    assert "identifier" in proc.stderr
    missing = _edgelite("inspect", str(tmp_path / "missing.tflite"))
    assert missing.returncode == 2 and "not found" in missing.stderr
