"""num_threads: the same answers on 1 and 2 threads, numpy's BLAS thread count restored
after an invoke, and the np.matmul fallback (another BLAS than numpy's OpenBLAS) still
right."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from edgelite import Interpreter
from edgelite.kernels import gemm
from tests.conftest import REPO, mediapipe_model, tf_model

MODELS = [("tf", "mobilenet_v2_035.float32"), ("mediapipe", "face_detection_short_range"),
          ("mediapipe", "selfie_segmentation")]


def _path(kind: str, name: str):
    return tf_model(name) if kind == "tf" else mediapipe_model(name)


def _outputs(path, threads: int, seed: int = 0) -> list[np.ndarray]:
    interp = Interpreter(model_path=str(path), num_threads=threads)
    interp.allocate_tensors()
    rng = np.random.default_rng(seed)
    for d in interp.get_input_details():
        interp.set_tensor(d["index"], rng.uniform(-1, 1, d["shape"]).astype(d["dtype"]))
    interp.invoke()
    return [interp.get_tensor(d["index"]) for d in interp.get_output_details()]


def test_numpy_sgemm_is_found():
    """numpy's wheels ship an ILP64 OpenBLAS: the fused conv path must be the one tested."""
    assert gemm.SGEMM != 0, "numpy's OpenBLAS cblas_sgemm was not found (see kernels/gemm.py)"


@pytest.mark.parametrize("kind,name", MODELS)
def test_two_threads_give_one_threads_answers(kind, name):
    path = _path(kind, name)
    one, two = _outputs(path, 1), _outputs(path, 2)
    for a, b in zip(one, two):   # split GEMMs may sum in another order: float rounding
        np.testing.assert_allclose(b, a, rtol=1e-4, atol=1e-4)


def test_blas_thread_count_restored_after_invoke():
    from threadpoolctl import threadpool_info, threadpool_limits

    with threadpool_limits(limits=2, user_api="blas"):
        _outputs(tf_model("mobilenet_v2_035.float32"), 2)
        counts = {i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"}
    assert counts == {2}


def test_numpy_matmul_fallback_matches():
    """EDGELITE_NUMPY_MATMUL=1 hides numpy's sgemm: the kernels call np.matmul instead."""
    path = tf_model("mobilenet_v2_035.float32")
    code = ("import json, sys, numpy as np; from edgelite import Interpreter; "
            "from edgelite.kernels import gemm; assert gemm.SGEMM == 0; "
            f"i = Interpreter(model_path={str(path)!r}, num_threads=2); i.allocate_tensors(); "
            "d = i.get_input_details()[0]; "
            "i.set_tensor(d['index'], np.random.default_rng(0).uniform(-1, 1, d['shape'])"
            ".astype(np.float32)); i.invoke(); "
            "print(json.dumps(i.get_tensor(i.get_output_details()[0]['index']).tolist()))")
    env = dict(os.environ, EDGELITE_NUMPY_MATMUL="1")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, cwd=REPO, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    fallback = np.array(json.loads(proc.stdout), np.float32)
    np.testing.assert_allclose(fallback, _outputs(path, 1)[0], rtol=1e-5, atol=1e-6)
