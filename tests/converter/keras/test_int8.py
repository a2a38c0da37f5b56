"""Full-integer int8 PTQ through edgelite (Optimize.DEFAULT + a representative dataset of
the fixtures' 16 calibration samples) is at least as accurate (SQNR vs the float Keras
outputs) as TensorFlow's own PTQ with the same calibration and test data."""

from __future__ import annotations

import pytest

from edgelite.converter import Optimize

from .fixtures import MODELS, converter, data, edgelite_run, sqnr, tf_json

# TF's PTQ has no number for these (tf_int8_sqnr.json says why): a floor instead
FLOOR_DB = 25.0


# below TF's figure, each with why (strict: the test fails once it passes, to be moved back)
BELOW_TF = {"efficientnet_b0": "14.5 dB vs TF's 34.5 dB: the int8 file runs bit-exactly in "
                               "LiteRT, so the loss is in edgelite's quantizer ranges (it "
                               "starts at block2a_expand_conv: 38.6 -> 19.4 dB); not found yet",
            "resnet50": "30.7 dB vs TF's 37.5 dB (bit-exact in LiteRT): edgelite's "
                        "quantizer ranges; not investigated yet",
            "transformer": "-5.9 dB vs TF's 30.0 dB: int8 LayerNormalization / attention "
                           "(MEAN, SQUARED_DIFFERENCE, RSQRT, BATCH_MATMUL chains) lose the "
                           "signal; not investigated yet"}


@pytest.mark.parametrize("name", [pytest.param(m, marks=pytest.mark.xfail(
    reason=BELOW_TF[m], strict=True)) if m in BELOW_TF else m for m in MODELS])
def test_int8_sqnr_at_least_tensorflow(name):
    d = data(name)
    conv = converter(name, "keras")
    conv.optimizations = [Optimize.DEFAULT]
    conv.representative_dataset = lambda: ([c[None]] for c in d["calib"])
    got = edgelite_run(conv.convert(), d["x"])
    ours = sqnr(d["y"], got)
    tf = tf_json("tf_int8_sqnr.json")[name]
    want = tf["sqnr_db"] if tf["sqnr_db"] is not None else FLOOR_DB
    assert ours >= want, (name, ours, tf)
