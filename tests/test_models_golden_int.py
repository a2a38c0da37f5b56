"""Whole integer models against LiteRT's builtin kernels (BUILTIN_WITHOUT_DEFAULT_DELEGATES).

* int8 models: every tensor, intermediates included (both runtimes preserve all tensors),
  bit-identical on several random inputs;
* the corpus int16x8 MobileNetV2 is refused by LiteRT itself (a RELU6 bound overflows int32
  at a degenerate output scale); edgelite refuses it at the same op with a clear message.
  With those ops' fused RELU6 dropped, LiteRT runs it, and so must edgelite, bit for bit;
* dynamic-range (hybrid) models: within 2e-3 of the outputs' scale.
"""

from __future__ import annotations

import numpy as np
import pytest

from edgelite import Interpreter
from edgelite.kernels.quant import activation_range
from edgelite.schema import read, write
from tests.conftest import tf_model
from tests.litert_oracle import litert_builtin, random_inputs, run_all_tensors

SEEDS = (0, 1, 2)


def both_runtimes(blob: bytes, seeds):
    """Per seed: (edgelite outputs, LiteRT outputs, all edgelite tensors, all LiteRT's)."""
    details = Interpreter(model_content=blob).get_input_details()
    for seed in seeds:
        inputs = random_inputs(details, seed)
        want, want_all = run_all_tensors(litert_builtin, blob, inputs)
        got, got_all = run_all_tensors(Interpreter, blob, inputs)
        yield seed, got, want, got_all, want_all


def assert_bit_identical(blob: bytes, seeds=SEEDS):
    for seed, got, want, got_all, want_all in both_runtimes(blob, seeds):
        for k, (g, w) in enumerate(zip(got, want)):
            assert g.dtype == w.dtype and g.shape == w.shape, f"output {k}"
            assert np.array_equal(g, w), \
                f"seed {seed} output {k}: {np.count_nonzero(g != w)} values differ"
        compared = 0
        for index, (name, w) in want_all.items():
            if index not in got_all or w.dtype.kind == "f" or w.size == 0:
                continue
            g = got_all[index][1]
            assert g.shape == w.shape and np.array_equal(g, w), \
                f"seed {seed}: tensor {index} ({name}) differs from LiteRT"
            compared += 1
        assert compared > 10, "too few intermediate tensors compared"


def test_int8_mobilenet_v2_is_bit_identical():
    assert_bit_identical(tf_model("mobilenet_v2_035.int8").read_bytes())


def test_int16x8_mobilenet_v2_is_refused_like_litert():
    blob = tf_model("mobilenet_v2_035.int16x8").read_bytes()
    with pytest.raises(RuntimeError, match="no_integer_overflow_from_quantization"):
        litert_builtin(model_content=blob).allocate_tensors()
    interp = Interpreter(model_content=blob)
    with pytest.raises(RuntimeError,
                       match=r"operator 15 \(DEPTHWISE_CONV_2D\).*outside int32"):
        interp.allocate_tensors()


def _without_overflowing_activations(blob: bytes) -> bytes:
    model = read(blob)
    dropped = 0
    for sg in model.subgraphs:
        for op in sg.operators:
            act = (op.options or {}).get("fused_activation_function", "NONE")
            out = sg.tensors[op.outputs[0]]
            if act == "NONE" or out.quantization is None or not len(out.quantization.scales):
                continue
            try:
                activation_range(act, float(out.quantization.scales[0]),
                                 int(out.quantization.zero_points[0]), out.dtype)
            except OverflowError:
                op.options["fused_activation_function"] = "NONE"
                dropped += 1
    assert dropped > 0
    return write(model)


def test_int16x8_mobilenet_v2_runs_bit_identical_once_litert_accepts_it():
    blob = _without_overflowing_activations(tf_model("mobilenet_v2_035.int16x8").read_bytes())
    assert_bit_identical(blob, seeds=(0, 1))


def test_dynamic_range_mobilenet_v2_is_within_2e_3():
    blob = tf_model("mobilenet_v2_035.dynamic").read_bytes()
    for seed, got, want, _, _ in both_runtimes(blob, SEEDS):
        for k, (g, w) in enumerate(zip(got, want)):
            scale = max(float(np.max(np.abs(w))), 1e-30)
            err = float(np.max(np.abs(g.astype(np.float64) - w))) / scale
            assert err <= 2e-3, f"seed {seed} output {k}: error {err:.2e} of the output's scale"
