"""`edgelite benchmark`: figures and the per-op profile, as JSON."""

from __future__ import annotations

import json
import subprocess
import sys

from edgelite.schema import write
from tests.interpreter.models import two_input_model


def test_benchmark_json_with_profile(tmp_path):
    path = tmp_path / "m.tflite"
    path.write_bytes(write(two_input_model()))
    proc = subprocess.run([sys.executable, "-m", "edgelite", "benchmark", str(path), "--runs",
                           "7", "--warmup", "1", "--profile", "--json"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    r = json.loads(proc.stdout)
    assert r["runs"] == 7 and 0 < r["median_ms"] <= r["p90_ms"]
    assert {row["op"] for row in r["profile"]} == {"ADD", "MUL"}
    assert all(row["count"] >= 3 for row in r["profile"])
    assert abs(sum(row["percent"] for row in r["profile"]) - 100) < 1e-6


def test_benchmark_of_an_unsupported_model_is_one_clear_line(tmp_path):
    bad = tmp_path / "bad.tflite"
    bad.write_bytes(b"nope" * 10)
    proc = subprocess.run([sys.executable, "-m", "edgelite", "benchmark", str(bad)],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1
