"""Quantization-aware SavedModels (FakeQuant ops on weights and activations) convert to a
full-integer int8 file whose ranges are the FakeQuant ranges, nudged as TF's converter
nudges them: the same ops, activation (scale, zero point)s, int8 weights and int32 biases
as TF's own TFLiteConverter (optimizations=[DEFAULT], no representative dataset) writes,
bit-exact in LiteRT's builtin kernels, and the same outputs as TF's int8 file."""

from __future__ import annotations

import numpy as np
import pytest

from edgelite.converter import Optimize
from edgelite.converter.frontends.saved_model.fake_quant import nudged_params
from edgelite.schema import read

from .fixtures import converter, data, edgelite_run, path
from .test_int8 import assert_int8_tensors_match_litert

# edgelite's int8 outputs against TF's int8 file: every element within 1 LSB of the output
# scale, and at least this share identical. Weights, biases and every (scale, zero point)
# are TF's (checked below), and the integer kernels are LiteRT's arithmetic, so the two
# files compute the same integers; 1 LSB is the room left for a bias whose float32 scale
# (input scale x weight scale, rounded once) lands one int32 step from TF's double product.
MIN_IDENTICAL = 0.95


def qat_blob() -> bytes:
    conv = converter("qat", "saved_model")
    conv.optimizations = [Optimize.DEFAULT]
    return conv.convert()


def _quant(t):
    q = t.quantization
    return None if q is None else (q.scales.tolist(), q.zero_points.tolist())


def test_nudging_follows_tensorflows_converter():
    # [-1, 1.25]: scale 2.25/255, zero point 113.33 -> 113 (uint8) -> -15 (int8)
    s, zp, (qmin, qmax) = nudged_params([-1.0], [1.25])
    assert (float(np.float32(s[0])), int(zp[0]) - 128, qmin, qmax) == \
        (float(np.float32(2.25 / 255)), -15, 0, 255)
    s, zp, (qmin, _) = nudged_params([-0.5, -2.0], [0.5, 2.0], narrow_range=True)
    assert zp.tolist() == [128, 128] and qmin == 1          # symmetric: int8 zero point 0
    assert np.allclose(s, [1 / 254, 4 / 254])
    _, zp, _ = nudged_params([0.0], [6.0])                  # relu6: min is a step
    assert int(zp[0]) - 128 == -128
    with pytest.raises(ValueError, match="must contain 0"):
        nudged_params([0.5], [2.0])


def test_qat_is_full_integer_with_tensorflows_parameters():
    ours = read(qat_blob()).subgraphs[0]
    theirs = read(path("qat_tf_int8.tflite", "file")).subgraphs[0]
    assert [op.opcode for op in ours.operators] == [op.opcode for op in theirs.operators]
    for op in ours.operators[1:-1]:   # between the input QUANTIZE and output DEQUANTIZE
        dtypes = {ours.tensors[t].dtype for t in op.inputs + op.outputs if t >= 0}
        assert dtypes <= {np.dtype(np.int8), np.dtype(np.int32)}, (op.opcode, dtypes)
    for a, b in zip(ours.operators, theirs.operators):
        assert a.options.get("fused_activation_function") == \
            b.options.get("fused_activation_function"), a.opcode
        for i, j in zip(a.inputs + a.outputs, b.inputs + b.outputs):
            ta, tb = ours.tensors[i], theirs.tensors[j]
            assert ta.dtype == tb.dtype, (a.opcode, ta.name, tb.name)
            if tb.quantization is not None:
                sa, za = _quant(ta)
                sb, zb = _quant(tb)
                # a per-tensor weight scale may be written once per channel
                sa, za = np.broadcast_to(sa, len(sa)), np.broadcast_to(za, len(sa))
                np.testing.assert_allclose(sa, np.broadcast_to(sb, len(sa)), rtol=1e-6,
                                           err_msg=f"{a.opcode} {tb.name}")
                assert list(za) == list(np.broadcast_to(zb, len(za))), (a.opcode, tb.name)
            if tb.is_constant and tb.dtype in (np.int8, np.int32) and tb.quantization:
                assert np.array_equal(np.asarray(ta.data), np.asarray(tb.data)), \
                    (a.opcode, tb.name)


def test_qat_bit_exact_in_litert_and_matches_tensorflows_int8():
    d = data("qat")
    blob = qat_blob()
    sg = read(blob).subgraphs[0]
    scale = float(sg.tensors[sg.operators[-1].inputs[0]].quantization.scales[0])
    assert_int8_tensors_match_litert(blob, d["x"], out_atol=1e-5 * scale)
    lsb = np.abs(np.round((edgelite_run(blob, d["x"]) - d["y_tf_int8"]) / scale))
    identical = float(np.mean(lsb == 0))
    print(f"qat: {identical:.1%} of {lsb.size} outputs identical to TF's int8, "
          f"max {int(lsb.max())} LSB")
    assert lsb.max() <= 1 and identical >= MIN_IDENTICAL, (lsb.max(), identical)
    # and the integer model stays close to the FakeQuant float model it came from
    assert np.abs(edgelite_run(blob, d["x"]) - d["y"]).max() <= 2 * scale
