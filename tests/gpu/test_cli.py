"""``edgelite benchmark --gpu``: GPU latency, the adapter, how many ops were delegated."""

from __future__ import annotations

import json

from edgelite.cli import main
from tests.conftest import tf_model
from tests.gpu.helpers import gpu


def test_benchmark_gpu_reports_adapter_and_delegated_ops(capsys):
    gpu("fp32")   # fails with what to install when there is no adapter
    path = str(tf_model("mobilenet_v2_035.float32"))
    assert main(["benchmark", path, "--gpu", "--runs", "3", "--warmup", "1", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["gpu_precision"] == "fp32" and result["delegated_ops"] == result["ops"] == 65
    assert result["median_ms"] > 0
    assert main(["benchmark", path, "--gpu", "fp16", "--runs", "2", "--warmup", "1"]) == 0
    text = capsys.readouterr().out
    assert "GPU: " in text and "65 of 65 ops delegated" in text and "median" in text


def test_benchmark_gpu_with_compare_litert_is_refused(capsys):
    path = str(tf_model("mobilenet_v2_035.float32"))
    assert main(["benchmark", path, "--gpu", "--compare-litert"]) == 2
    assert "do not combine" in capsys.readouterr().err
