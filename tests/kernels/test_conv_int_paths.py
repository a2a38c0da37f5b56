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


@pytest.fixture(params=["rows", "pixels"])
def depthwise_path(request, monkeypatch):
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
                                          ((1, 9, 9, 64), 1)], ids=str)
def test_depthwise_int8_pixel_groups_on_threads(threads, shape, stride, monkeypatch):
    """The 3x3 integer depthwise in pixel groups (four at stride 1, two at stride 2, the
    border and leftover pixels one by one), split over threads by output rows."""
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
