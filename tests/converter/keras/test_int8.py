"""Full-integer int8 PTQ through edgelite (Optimize.DEFAULT + a representative dataset of
the fixtures' 16 calibration samples) is at least as accurate (SQNR vs the float Keras
outputs) as TensorFlow's own PTQ with the same calibration and test data, and every int8
tensor of the file is bit-exact in LiteRT's builtin kernels."""

from __future__ import annotations

import numpy as np
import pytest

from edgelite import Interpreter
from edgelite.converter import Optimize
from edgelite.schema import read
from tests.litert_oracle import litert_builtin

from .fixtures import MODELS, converter, data, edgelite_run, sqnr, tf_json

# TF's PTQ has no number for these (tf_int8_sqnr.json says why): a floor instead
FLOOR_DB = 25.0


def int8_blob(name: str) -> bytes:
    d = data(name)
    conv = converter(name, "keras")
    conv.optimizations = [Optimize.DEFAULT]
    conv.representative_dataset = lambda: ([c[None]] for c in d["calib"])
    return conv.convert()


def assert_int8_tensors_match_litert(blob: bytes, xs: np.ndarray,
                                     out_atol: float | None = None) -> None:
    """Every int8 activation equal; the float outputs within 1 ulp (the final DEQUANTIZE
    rounds its product once in LiteRT, in float32 steps in edgelite), or within
    ``out_atol``: ``q * scale - zp * scale`` in float32 steps loses up to an ulp of
    ``|zp| * scale``, which is many ulps of an output near 0 when the zero point is far
    from 0."""
    sg = read(blob).subgraphs[0]
    ints = [i for i, t in enumerate(sg.tensors) if t.dtype == np.int8 and not t.is_constant]
    ours, lite = (make(model_content=blob, experimental_preserve_all_tensors=True)
                  for make in (Interpreter, litert_builtin))
    for it in (ours, lite):
        it.allocate_tensors()
    out = ours.get_output_details()[0]["index"]
    for x in xs:
        for it in (ours, lite):
            it.reset_all_variables()
            it.set_tensor(it.get_input_details()[0]["index"], x[None])
            it.invoke()
        differ = [sg.tensors[i].name for i in ints
                  if not np.array_equal(ours.get_tensor(i), lite.get_tensor(i))]
        assert not differ, differ
        if out_atol is None:
            np.testing.assert_array_max_ulp(ours.get_tensor(out), lite.get_tensor(out), 1)
        else:
            np.testing.assert_allclose(ours.get_tensor(out), lite.get_tensor(out), rtol=0,
                                       atol=out_atol)


@pytest.mark.parametrize("name", MODELS)
def test_int8_sqnr_at_least_tensorflow_and_bit_exact_in_litert(name):
    d = data(name)
    blob = int8_blob(name)
    ours = sqnr(d["y"], edgelite_run(blob, d["x"]))
    tf = tf_json("tf_int8_sqnr.json")[name]
    want = tf["sqnr_db"] if tf["sqnr_db"] is not None else FLOOR_DB
    print(f"{name}: edgelite int8 {ours:.2f} dB, TF {tf['sqnr_db']}")
    assert ours >= want, (name, ours, tf)
    assert_int8_tensors_match_litert(blob, d["x"])
