"""Each fast path of the integer conv kernels against LiteRT, bit-exact: the depthwise
contiguous-row kernel and the per-pixel kernel (each forced by the channel-count
threshold), and the exact float64 epilogue (``requantize.exact_affine``) against its int64
fallback (forced by refusing the affine parameters)."""

from __future__ import annotations

import numpy as np
import pytest

from edgelite.kernels import conv_quantized, depthwise_quantized
from tests.kernels.test_conv_int import conv_options, quantized_case

DEPTHWISE = [  # x shape, kernel, stride, dilation, padding, multiplier, activation
    ((1, 13, 11, 16), 3, 1, 1, "SAME", 1, "NONE"),
    ((2, 13, 11, 16), 3, 2, 1, "SAME", 1, "RELU6"),
    ((1, 12, 12, 8), 3, 1, 2, "VALID", 2, "RELU"),
    ((1, 11, 14, 24), 5, 2, 1, "SAME", 1, "NONE"),
    ((1, 9, 10, 8), 3, 2, 2, "SAME", 3, "RELU6"),
]


@pytest.fixture(params=["quads", "rows", "pixels"])
def depthwise_path(request, monkeypatch):
    monkeypatch.setattr(depthwise_quantized, "_QUADS", request.param == "quads")
    monkeypatch.setattr(depthwise_quantized, "_PIXEL_CHANNELS",
                        1 << 30 if request.param == "rows" else 0)
    return request.param


@pytest.fixture(params=["affine", "q31"])
def epilogue(request, monkeypatch):
    if request.param == "q31":
        for module in (conv_quantized, depthwise_quantized):
            monkeypatch.setattr(module, "exact_affine", lambda *args: None)
    return request.param


@pytest.mark.parametrize("case", range(len(DEPTHWISE)))
def test_depthwise_int8_paths(depthwise_path, epilogue, case):
    shape, kernel, stride, dilation, padding, mult, activation = DEPTHWISE[case]
    cout = shape[3] * mult
    quantized_case("DEPTHWISE_CONV_2D", np.int8, shape, (1, kernel, kernel, cout),
                   conv_options(stride, dilation, padding, activation,
                                depth_multiplier=mult), seed=case)


@pytest.mark.parametrize("zps,factor", [((-128, 127), 1e-3), ((127, -128), 1e3),
                                        ((0, -128), 0.1)])
def test_depthwise_int8_paths_extremes(depthwise_path, epilogue, zps, factor):
    quantized_case("DEPTHWISE_CONV_2D", np.int8, (1, 10, 9, 32), (1, 3, 3, 32),
                   conv_options(depth_multiplier=1), in_zp=zps[0], out_zp=zps[1],
                   out_scale_factor=factor, seed=5)


@pytest.mark.parametrize("dtype", [np.int8, np.uint8])
@pytest.mark.parametrize("kernel,stride,zps,factor", [
    (1, 1, None, 1.0), (1, 1, (-128, 127), 1e-3), (3, 2, (127, -128), 1e3), (3, 1, None, 1.0)])
def test_conv2d_epilogues(epilogue, dtype, kernel, stride, zps, factor):
    if dtype == np.uint8 and zps is not None:
        zps = tuple(z + 128 for z in zps)
    quantized_case("CONV_2D", dtype, (1, 10, 9, 24), (40, kernel, kernel, 24),
                   conv_options(stride, activation="RELU6"),
                   in_zp=None if zps is None else zps[0],
                   out_zp=None if zps is None else zps[1], out_scale_factor=factor,
                   per_channel=dtype != np.uint8, seed=kernel + stride)


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("shape,stride", [((1, 13, 11, 40), 1), ((2, 12, 15, 32), 2),
                                          ((1, 9, 9, 64), 1), ((1, 10, 13, 8), 1),
                                          ((1, 11, 12, 24), 2)], ids=str)
def test_depthwise_int8_pixel_groups_on_threads(threads, shape, stride, monkeypatch):
    """The 3x3 integer depthwise in pixel groups (four at stride 1, two at stride 2, the
    border and leftover pixels one by one), split over threads by output rows: 16-channel
    register tiles and a masked tail of 8 channels."""
    from edgelite.interpreter import Interpreter
    from edgelite.kernels import threads as kernel_threads
    from edgelite.schema import write
    from tests.kernels.harness import run_litert
    from tests.kernels.test_conv_int import quantized_model

    model, x = quantized_model("DEPTHWISE_CONV_2D", np.int8, shape, (1, 3, 3, shape[3]),
                               conv_options(stride, 1, "SAME", "RELU6", depth_multiplier=1),
                               seed=threads + stride)
    monkeypatch.setattr(kernel_threads, "MIN_WORK_PER_PART", 1)
    interp = Interpreter(model_content=write(model), num_threads=threads)
    interp.allocate_tensors()
    names = [s.run.__qualname__ for s in interp._main.steps]
    assert names == ["_quads_path.<locals>.run"], names
    interp.set_tensor(interp.get_input_details()[0]["index"], x)
    interp.invoke()
    np.testing.assert_array_equal(interp.get_tensor(interp.get_output_details()[0]["index"]),
                                  run_litert(model, [x])[0])


def _requant(mult, shift, zp_out):
    from edgelite.kernels.requantize import Q31, Requant

    channels = len(mult)
    return Requant(bias=np.zeros(channels, np.int64), mult=np.asarray(mult, np.int32),
                   shift=np.asarray(shift, np.int32), scale=np.zeros(channels), mode=Q31,
                   ruy_channels=channels, zp_out=zp_out, lo=-128, hi=127)


def test_exact_affine_screens_as_the_exact_integer_check_decides(monkeypatch):
    """``exact_affine`` screens the 2**53 bounds in float64 for all channels at once;
    its answer (None, or the same parameters) must be the exact Python-integer check's,
    also for layers on the edge of each bound."""
    from edgelite.kernels.requantize import _exact_affine_ints, exact_affine

    rng = np.random.default_rng(3)
    decided = {True: 0, False: 0}
    for trial in range(400):
        channels = int(rng.integers(1, 40))
        mult = rng.integers(2**30, 2**31, channels)
        shift = rng.integers(-14 if trial % 2 else -24, 2, channels)
        bias = rng.integers(-2**int(rng.integers(4, 30 if trial % 2 else 40)), 2**16,
                            channels)
        acc_max = rng.integers(0, 2**int(rng.integers(8, 22 if trial % 2 else 30)),
                               channels)
        sum_max = acc_max + np.abs(bias)
        if trial % 4 == 0:   # put one channel right at a bound: |acc| * gain near 2**53
            c = int(rng.integers(channels))
            gain = int(mult[c]) << max(int(shift[c]), 0)
            acc_max[c] = (2**53 // gain) + int(rng.integers(-1, 2))
            sum_max[c] = min(int(acc_max[c]) + abs(int(bias[c])), 2**29)
        rq = _requant(mult, shift, int(rng.integers(-128, 128)))
        wrap = int(rng.choice([0, 256, 256, 65536]))
        fast = exact_affine(rq, bias, acc_max, sum_max, wrap, 3 * channels)
        exact = _exact_affine_ints(rq, bias, acc_max, sum_max, wrap, 3 * channels)
        assert (fast is None) == (exact is None), trial
        if exact is not None:
            assert fast.shape == exact.shape == (2, 3 * channels)
            assert np.array_equal(fast, exact), trial
        decided[exact is not None] += 1
    assert min(decided.values()) > 50, decided   # both answers were exercised

    # a bound met exactly, (|acc + bias| * gain + 2**30) == 2**53, is too close to call
    # in float: the integer check decides
    from edgelite.kernels import requantize

    calls = []
    monkeypatch.setattr(requantize, "_exact_affine_ints",
                        lambda *args: calls.append(args) or _exact_affine_ints(*args))
    rq = _requant([2**30, 2**30], [0, -3], 0)
    bias = np.array([5, -7])
    for top, expected_none in ((2**23 - 1, True), (2**23 - 2, False)):
        sum_max = np.array([top, 1000])
        fast = exact_affine(rq, bias, sum_max - 10, sum_max, 0, 2)
        assert (fast is None) is expected_none
    assert len(calls) == 1                       # only the exact-bound case needed it
