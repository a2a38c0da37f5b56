"""Post-training 16x8 quantization (int16 activations, int8 weights, int64 biases) through
the Converter's int16x8 ops set: bit-exact in LiteRT's builtin kernels, and more accurate
than int8."""

from __future__ import annotations

import numpy as np
import pytest

from edgelite import Interpreter
from edgelite.converter import ConversionError, OpsSet, Optimize
from edgelite.schema import read
from tests.litert_oracle import litert_builtin
from tests.quantize.models import inputs, small_cnn
from tests.quantize.test_int8_ptq import _converter, _int8, _run, _with_sin, sqnr

INT16X8 = OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8


def _int16x8(model, ops=frozenset({INT16X8}), **settings):
    conv = _converter(model, optimizations=[Optimize.DEFAULT],
                      representative_dataset=lambda: ([x] for x in inputs(1, 16)), **settings)
    conv.target_spec.supported_ops = set(ops)
    return conv.convert()


def test_small_cnn_16x8_is_bit_exact_in_litert_and_beats_int8():
    model = small_cnn(seed=11)
    fblob = _converter(model).convert()
    blob16 = _int16x8(model)
    blob8 = _int8(model)
    sg = read(blob16).subgraphs[0]
    for op in sg.operators:
        if op.opcode in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"):
            x, w, b = (sg.tensors[i] for i in op.inputs[:3])
            assert (x.dtype, w.dtype, b.dtype) == (np.int16, np.int8, np.int64)
            assert x.quantization.zero_points[0] == 0
    for x in inputs(12, 3):
        want = _run(Interpreter, fblob, x)
        got = _run(Interpreter, blob16, x)
        assert np.array_equal(got, _run(litert_builtin, blob16, x))
        assert sqnr(want, got) > sqnr(want, _run(Interpreter, blob8, x)) + 6.0


def test_int16_io():
    blob = _int16x8(small_cnn(seed=13), inference_input_type=np.int16,
                    inference_output_type=np.int16)
    sg = read(blob).subgraphs[0]
    assert [sg.tensors[t].dtype for t in sg.inputs + sg.outputs] == [np.int16] * 2
    q = sg.tensors[sg.inputs[0]].quantization
    x = np.clip(np.round(inputs(14, 1)[0] / q.scales[0]), -32768, 32767).astype(np.int16)
    assert np.array_equal(_run(Interpreter, blob, x), _run(litert_builtin, blob, x))


def test_16x8_only_refuses_ops_without_int16_kernels_and_falls_back_with_builtins():
    with pytest.raises(ConversionError, match=r"\(SIN\)"):
        _int16x8(_with_sin())
    blob = _int16x8(_with_sin(), ops={INT16X8, OpsSet.TFLITE_BUILTINS})
    x = inputs(15, 1)[0]
    assert np.array_equal(_run(Interpreter, blob, x), _run(litert_builtin, blob, x))
    with pytest.raises(ConversionError, match="must be float32, int16"):
        _int16x8(small_cnn(), inference_input_type=np.int8)
