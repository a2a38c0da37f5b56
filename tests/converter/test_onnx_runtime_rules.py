"""Corner cases of the ONNX lowerings the node suite does not reach: Slice/Pad parameters
known only at run time, slice-based pooling (3-D, dilated, ceil mode, uncounted pads),
unrolled scatter reductions and CumProd, Einsum diagonals.

Each model runs in edgelite and in LiteRT and is compared with onnx's reference
implementation (``tests.converter.node_suite.check_case``).
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper
from onnx.reference import ReferenceEvaluator

from edgelite import Converter
from edgelite.converter.errors import ConversionError
from tests.converter.node_suite import check_case

_TYPES = {np.dtype(np.float32): TensorProto.FLOAT, np.dtype(np.int64): TensorProto.INT64,
          np.dtype(np.int32): TensorProto.INT32}


def _model(op, inputs: dict, attrs=None, out_shape=None, opset=18, n_out=1):
    vis = [helper.make_tensor_value_info(k, _TYPES[v.dtype], v.shape) for k, v in inputs.items()]
    node = helper.make_node(op, list(inputs), [f"y{k}" for k in range(n_out)], name="the_op",
                            **(attrs or {}))
    first = next(iter(inputs.values()))
    outs = [helper.make_tensor_value_info(f"y{k}", _TYPES[first.dtype], out_shape)
            for k in range(n_out)]
    model = helper.make_model(helper.make_graph([node], "g", vis, outs),
                              opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    return model


def _check(op, inputs: dict, attrs=None, opset=18):
    """Declare the output with the reference's shape, then convert, run and compare."""
    probe = _model(op, inputs, attrs, None, opset)
    want = ReferenceEvaluator(probe).run(None, dict(inputs))
    model = _model(op, inputs, attrs, list(want[0].shape), opset)
    onnx.checker.check_model(model)
    case = SimpleNamespace(name=op, model=model,
                           data_sets=[(list(inputs.values()), want)])
    assert check_case(case) is None, check_case(case)


def _i64(*v):
    return np.array(v, np.int64)


X = np.arange(30, dtype=np.float32).reshape(6, 5)


@pytest.mark.parametrize("starts, ends, axes, steps", [
    (_i64(-100), _i64(200), _i64(1), _i64(1)),        # clamped at both ends
    (_i64(2**62), _i64(-2**62), _i64(-2), _i64(-2)),  # beyond int32 both ways
    (_i64(1, -1), _i64(1000, -4), _i64(1, 0), _i64(2, -1)),
    (_i64(-3), _i64(-1), _i64(-1), _i64(3)),
])   # (an empty result is left out: LiteRT refuses zero-size outputs)
def test_slice_with_runtime_parameters(starts, ends, axes, steps):
    _check("Slice", {"x": X, "starts": starts, "ends": ends, "axes": axes, "steps": steps})


@pytest.mark.parametrize("mode, pads", [
    ("wrap", _i64(0, 7, 0, 2)), ("reflect", _i64(2, 1, 3, 6)), ("edge", _i64(4, 0, 1, 3)),
    ("constant", _i64(1, 0, 0, 2)),
])
def test_pad_with_runtime_pads(mode, pads):
    _check("Pad", {"x": X[:3, :4].copy(), "pads": pads}, {"mode": mode})


def test_runtime_pads_without_a_known_output_shape_name_the_node():
    model = _model("Pad", {"x": X, "pads": _i64(0, 1, 0, 1)}, None, None)
    with pytest.raises(ConversionError, match="the_op"):
        Converter.from_onnx(model).convert()


_X5 = np.random.default_rng(0).standard_normal((1, 2, 5, 6, 7)).astype(np.float32)
_X4 = _X5[:, :, 0]


@pytest.mark.parametrize("op, x, attrs", [
    ("MaxPool", _X5, {"kernel_shape": [2, 3, 2], "dilations": [2, 1, 2], "pads": [1, 0, 1,
                                                                             0, 1, 1]}),
    ("MaxPool", _X5, {"kernel_shape": [3, 3, 3], "strides": [2, 2, 2], "ceil_mode": 1}),
    ("AveragePool", _X5, {"kernel_shape": [2, 2, 3], "pads": [1, 1, 0, 0, 1, 2],
                          "count_include_pad": 1}),
    ("AveragePool", _X4, {"kernel_shape": [3, 2], "pads": [2, 0, 0, 1], "strides": [2, 2],
                          "ceil_mode": 1}),
    ("AveragePool", _X4, {"kernel_shape": [2, 2], "dilations": [2, 3]}),
    ("LpPool", _X5, {"kernel_shape": [2, 2, 2], "p": 3, "pads": [1, 0, 0, 0, 1, 1]}),
])
def test_pooling_by_slices(op, x, attrs):
    _check(op, {"x": x}, attrs, opset=19)


def test_scatter_nd_max_with_duplicate_indices():
    data = np.arange(12, dtype=np.float32).reshape(4, 3)
    _check("ScatterND", {"data": data, "indices": _i64(2, 0, 2, 3, 2).reshape(5, 1)[:4],
                         "updates": np.array([[9, 1, 20], [-1, 30, 2], [50, 0, 0],
                                              [1, 1, 1]], np.float32)}, {"reduction": "max"})


def test_scatter_elements_mul_with_duplicate_indices():
    _check("ScatterElements", {"data": np.full((2, 3), 2.0, np.float32),
                               "indices": _i64(1, 1, 0, 2, 2, 2).reshape(2, 3),
                               "updates": np.arange(1, 7, dtype=np.float32).reshape(2, 3)},
           {"axis": 1, "reduction": "mul"})


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_cumprod_runtime_axis(axis):
    x = np.arange(1, 25, dtype=np.float32).reshape(2, 3, 4) / 7
    _check("CumProd", {"x": x, "axis": np.array(axis, np.int64)},
           {"exclusive": 1, "reverse": 1}, opset=26)


@pytest.mark.parametrize("eq", ["ii->i", "ii", "bij,bjj->bi"])
def test_einsum_diagonals(eq):
    rng = np.random.default_rng(1)
    if "b" in eq:
        ins = {"a": rng.standard_normal((2, 3, 4)).astype(np.float32),
               "b": rng.standard_normal((2, 4, 4)).astype(np.float32)}
    else:
        ins = {"a": rng.standard_normal((4, 4)).astype(np.float32)}
    _check("Einsum", ins, {"equation": eq})
