"""The integer CONV_2D on the AVX-512 VNNI GEMM (``gemm_vnni.py``), on the float32
sgemm, and (1-4 input channels) on gemm_f32's tiles reading windows in place, each
against LiteRT's builtin kernels, bit-exact: direct 1x1 and im2col inputs, K and output
channels off the kernel's multiples of 4 and 16, uint8, sums too large for float32,
several blocks, two threads. On a CPU without VNNI only the sgemm path exists, and the
tests check that it is the one taken."""

from __future__ import annotations

import os

import numpy as np
import pytest

from edgelite.interpreter import Interpreter
from edgelite.kernels import conv_gemm, gemm_vnni
from edgelite.kernels import threads as kernel_threads
from edgelite.schema import write
from tests.kernels.harness import run_litert
from tests.kernels.test_conv_int import conv_options, quantized_model

PATHS = ["vnni", "sgemm"] if gemm_vnni.AVAILABLE else ["sgemm"]

CASES = [  # x shape, weights (cout, kh, kw, cin), stride, padding, dtype, epilogue scale
    ((1, 10, 9, 24), (40, 1, 1, 24), 1, "SAME", np.int8, 1.0),   # direct, 40 channels
    ((2, 9, 7, 6), (16, 1, 1, 6), 1, "SAME", np.int8, 1.0),      # K = 6: padded to 8
    ((1, 11, 10, 3), (8, 3, 3, 3), 2, "SAME", np.int8, 1e-3),    # in place, zero-point pad
    ((1, 8, 8, 5), (70, 3, 3, 5), 1, "VALID", np.uint8, 1.0),    # uint8: no sign flip
    ((1, 6, 6, 8), (24, 1, 1, 8), 1, "SAME", np.uint8, 1.0),     # weights past int8: sgemm
    ((1, 4, 5, 600), (20, 1, 1, 600), 1, "SAME", np.int8, 1e3),  # K = 600: int32 sums
    ((2, 10, 9, 3), (12, 5, 5, 3), 2, "SAME", np.uint8, 1.0),    # in place, uint8 (w zp 128)
    ((1, 9, 8, 3), (8, 3, 3, 3), 1, "SAME", np.int8, 1e3),       # in place, Q31 epilogue
]
# the first layers (read in place): on VNNI bytes where the epilogue is the exact affine
# one, else the float32 tiles
IMPLICIT_VNNI = {2, 6}


def test_detection_follows_the_cpu():
    import llvmlite.binding as ll

    features = set(ll.get_host_cpu_features().flatten().split(","))
    want = {"+avx512f", "+avx512bw", "+avx512vnni"} <= features \
        and os.environ.get("EDGELITE_NO_VNNI") != "1" \
        and not os.environ.get("NUMBA_CPU_NAME") and not os.environ.get("NUMBA_CPU_FEATURES")
    assert gemm_vnni.AVAILABLE == want


def test_gemm_u8s8_is_exact():
    """The tile kernel itself (only where the CPU has it): every 4-row, 64- and 16-column
    tile, K and N padded."""
    if not gemm_vnni.AVAILABLE:   # nothing to run: the conv tests check it is not used
        assert PATHS == ["sgemm"]
        return
    from numba import njit

    @njit
    def run(a, bp, corr, c):
        gemm_vnni.gemm_u8s8(a, bp, corr, c)

    rng = np.random.default_rng(3)
    for m, k, n in ((8, 27, 8), (12, 96, 80), (4, 5, 130)):
        x = rng.integers(0, 256, (m, k)).astype(np.uint8)
        w = rng.integers(-128, 128, (k, n)).astype(np.int8)
        bp = gemm_vnni.pack(w)
        a = np.zeros((m, bp.shape[1] * 4), np.uint8)
        a[:, :k] = x
        corr = rng.integers(-1000, 1000, bp.shape[0] * 16).astype(np.int32)
        c = np.zeros((m, bp.shape[0] * 16), np.int32)
        run(a, bp, corr, c)
        want = x.astype(np.int64) @ w.astype(np.int64) - corr[:n]
        np.testing.assert_array_equal(c[:, :n], want)


@pytest.fixture(params=PATHS)
def gemm_path(request, monkeypatch):
    """The path to force, and the list of paths the prepares took ("vnni", "implicit",
    "implicit_vnni")."""
    if request.param == "sgemm":
        monkeypatch.setattr(gemm_vnni, "AVAILABLE", False)
    taken = []
    for name, label in (("_prepare_int_vnni", "vnni"), ("_prepare_int_implicit", "implicit"),
                        ("_prepare_int_implicit_vnni", "implicit_vnni")):
        original = getattr(conv_gemm, name)

        def spy(*args, original=original, label=label):
            run = original(*args)
            if run is not None:
                taken.append(label)
            return run
        monkeypatch.setattr(conv_gemm, name, spy)
    return request.param, taken


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("case", range(len(CASES)), ids=[str(c[:2]) for c in CASES])
def test_conv2d_int_gemm_paths(gemm_path, case, threads, monkeypatch):
    path, taken = gemm_path
    x_shape, w_shape, stride, padding, dtype, factor = CASES[case]
    model, x = quantized_model("CONV_2D", dtype, x_shape, w_shape,
                               conv_options(stride, padding=padding, activation="RELU6"),
                               out_scale_factor=factor, per_channel=dtype != np.uint8,
                               seed=case, w_zp=128 if case in (3, 6) else None)
    monkeypatch.setattr(conv_gemm, "_BLOCK_BYTES", 512)   # several row blocks
    monkeypatch.setattr(kernel_threads, "MIN_WORK_PER_PART", 1)   # small ops split too
    interp = Interpreter(model_content=write(model), num_threads=threads)
    interp.allocate_tensors()
    interp.set_tensor(interp.get_input_details()[0]["index"], x)
    interp.invoke()
    got = interp.get_tensor(interp.get_output_details()[0]["index"])
    np.testing.assert_array_equal(got, run_litert(model, [x])[0])
    wide_weights = case == 4   # uint8 weights less a zero point of 100-156: past int8
    if w_shape[3] <= 4 and w_shape[1] * w_shape[2] > 1:   # a first layer: read in place
        assert taken == (["implicit_vnni"] if path == "vnni" and case in IMPLICIT_VNNI
                         else ["implicit"])
    else:
        assert taken == (["vnni"] if path == "vnni" and not wide_weights else [])


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("dtype,rows,units,depth", [
    (np.int8, 1, 1000, 130), (np.int8, 3, 7, 1300), (np.uint8, 2, 20, 33),
    (np.int8, 4, 70, 40)], ids=str)   # 4 rows: one 4-row tile; fewer: single rows
def test_fully_connected_few_rows_on_both_paths(path, dtype, rows, units, depth,
                                                monkeypatch):
    """Integer FULLY_CONNECTED over a few rows: VNNI tiles (4-row, then single rows)
    where the CPU has them, else the int32 dot products; bit-exact with LiteRT either
    way."""
    from edgelite.kernels import fully_connected_quantized as fcq

    if path == "sgemm":
        monkeypatch.setattr(gemm_vnni, "AVAILABLE", False)
    taken = []
    original = fcq._few_rows_vnni

    def spy(*args):
        taken.append(True)
        return original(*args)
    monkeypatch.setattr(fcq, "_few_rows_vnni", spy)
    model, x = quantized_model("FULLY_CONNECTED", dtype, (rows, depth), (units, depth),
                               {"fused_activation_function": "RELU"},
                               per_channel=dtype != np.uint8, version=7,
                               w_zp=128 if dtype == np.uint8 else None)
    interp = Interpreter(model_content=write(model))
    interp.allocate_tensors()
    interp.set_tensor(interp.get_input_details()[0]["index"], x)
    interp.invoke()
    np.testing.assert_array_equal(interp.get_tensor(interp.get_output_details()[0]["index"]),
                                  run_litert(model, [x])[0])
    assert taken == ([True] if path == "vnni" else [])
