"""Resize and Upsample lowerings the node suite does not reach: constant scales and sizes
(the suite feeds them at run time), non-square and mixed up/down resizes, every
coordinate transformation and nearest rounding, opsets 10 / Upsample-7 and -9, integer
inputs, NHWC I/O, and the errors for what is not lowered.

Each model runs in edgelite and in LiteRT and is compared with onnxruntime (nearest
exactly, linear to 1e-5). Where TFLite's flags reproduce ONNX's sampling the lowering must
be a single RESIZE op; that is checked too.
"""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from ai_edge_litert import interpreter as lite
from onnx import TensorProto, helper, numpy_helper
from onnx.reference import ReferenceEvaluator

from edgelite import Converter, Interpreter
from edgelite.converter.errors import ConversionError

_TYPES = {np.dtype(np.float32): TensorProto.FLOAT, np.dtype(np.uint8): TensorProto.UINT8,
          np.dtype(np.int64): TensorProto.INT64, np.dtype(np.int8): TensorProto.INT8,
          np.dtype(np.int32): TensorProto.INT32}


def _model(x: np.ndarray, attrs: dict, scales=None, sizes=None, opset: int = 19,
           op: str = "Resize", runtime: bool = False, declare_out: bool = True,
           reference: bool = False):
    """A one-node model; scales/sizes are initializers, or graph inputs if ``runtime``."""
    inputs, feeds, inits, names = [helper.make_tensor_value_info("x", _TYPES[x.dtype],
                                                                 x.shape)], {}, [], ["x"]
    args = []
    if op == "Resize" and opset >= 11:
        args.append(("roi", None))
        args += [("scales", None if scales is None else np.asarray(scales, np.float32)),
                 ("sizes", None if sizes is None else np.asarray(sizes, np.int64))]
    elif scales is not None:
        args.append(("scales", np.asarray(scales, np.float32)))
    for name, value in args:
        if value is None:
            names.append("")
        elif runtime:
            inputs.append(helper.make_tensor_value_info(name, _TYPES[value.dtype],
                                                        value.shape))
            feeds[name] = value
            names.append(name)
        else:
            inits.append(numpy_helper.from_array(value, name))
            names.append(name)
    while names and names[-1] == "":
        names.pop()
    node = helper.make_node(op, names, ["y"], name="the_resize", **attrs)
    out = helper.make_tensor_value_info("y", _TYPES[x.dtype], None)
    graph = helper.make_graph([node], "g", inputs, [out], initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    if declare_out:
        want = _onnxruntime(model, x, feeds, reference)
        model.graph.output[0].CopyFrom(helper.make_tensor_value_info("y", _TYPES[x.dtype],
                                                               want.shape))
    return model, feeds


def _onnxruntime(model, x, feeds, reference=False):
    if reference:
        return ReferenceEvaluator(model).run(None, {"x": x, **feeds})[0]
    session = ort.InferenceSession(model.SerializeToString(),
                                   providers=["CPUExecutionProvider"])
    return session.run(None, {"x": x, **feeds})[0]


def _run(make, blob, arrays):
    interp = make(model_content=blob)
    interp.allocate_tensors()
    for d, a in zip(interp.get_input_details(), arrays):
        interp.set_tensor(d["index"], a)
    interp.invoke()
    return interp.get_tensor(interp.get_output_details()[0]["index"])


def _litert(**kw):
    return lite.Interpreter(experimental_op_resolver_type=lite.OpResolverType.
                            BUILTIN_WITHOUT_DEFAULT_DELEGATES, **kw)


def _check(x, attrs, scales=None, sizes=None, opset=19, op="Resize", runtime=False,
           io_layout="keep", reference=False) -> list[str]:
    """Convert, run in edgelite and LiteRT, compare with onnxruntime (or onnx's reference
    implementation); the ops emitted."""
    model, feeds = _model(x, attrs, scales, sizes, opset, op, runtime, reference=reference)
    onnx.checker.check_model(model)
    want = _onnxruntime(model, x, feeds, reference)
    conv = Converter.from_onnx(model)
    conv.io_layout = io_layout
    ops = [o.opcode for o in conv.convert_to_ir().subgraphs[0].operators]
    blob = conv.convert()
    nhwc = io_layout == "nhwc"
    arrays = [np.ascontiguousarray(x.transpose(0, 2, 3, 1)) if nhwc else x] + list(
        feeds.values())
    for name, make in (("edgelite", Interpreter), ("LiteRT", _litert)):
        got = _run(make, blob, arrays)
        if nhwc:
            got = got.transpose(0, 3, 1, 2)
        assert got.shape == want.shape, (name, got.shape, want.shape)
        if attrs.get("mode", "nearest") == "nearest":
            np.testing.assert_array_equal(got, want, err_msg=f"{name}, ops {ops}")
        else:
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5,
                                       err_msg=f"{name}, ops {ops}")
    return ops


_RNG = np.random.default_rng(5)
X = _RNG.standard_normal((1, 3, 4, 6)).astype(np.float32)
SQUARE = _RNG.standard_normal((2, 2, 5, 5)).astype(np.float32)

# (scales, sizes) over N, C, H, W: up, down, mixed, non-integer factors
_TARGETS = [
    ([1, 1, 2, 3], None),
    ([1, 1, 0.5, 0.5], None),
    ([1, 1, 1.5, 0.5], None),
    ([1, 1, 0.625, 1.75], None),       # coordinates use the scale, not out / in
    ([1, 1, 1, 2.5], None),            # H kept
    (None, [1, 3, 7, 5]),
    (None, [1, 3, 2, 9]),
    (None, [1, 3, 3, 4]),
    (None, [1, 3, 1, 6]),              # one output row
]


def _spec_only(ctm: str, scales) -> bool:
    """align_corners where scale * length is not a whole number: onnxruntime divides by the
    floored output length, the spec (and its reference, and the node suite) by the exact
    one; edgelite follows the spec."""
    return ctm == "align_corners" and scales is not None and any(
        s * d != int(s * d) for s, d in zip(scales, X.shape))


_LINEAR = ["half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric",
           "half_pixel_symmetric"]
_NEAREST = ["half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric",
            "tf_half_pixel_for_nn", "half_pixel_symmetric"]
_ROUNDING = ["round_prefer_floor", "round_prefer_ceil", "floor", "ceil"]


@pytest.mark.parametrize("scales, sizes", _TARGETS)
@pytest.mark.parametrize("ctm", _LINEAR)
@pytest.mark.parametrize("runtime", [False, True])
def test_linear(scales, sizes, ctm, runtime):
    attrs = {"mode": "linear", "coordinate_transformation_mode": ctm}
    if runtime and ctm == "pytorch_half_pixel" and scales is None and sizes[2] == 1:
        runtime = False        # run-time sizes are the declared output: lowered as constants
    _check(X, attrs, scales, sizes, runtime=runtime, reference=_spec_only(ctm, scales))


@pytest.mark.parametrize("scales, sizes", _TARGETS)
@pytest.mark.parametrize("ctm", _NEAREST)
@pytest.mark.parametrize("rounding", _ROUNDING)
def test_nearest(scales, sizes, ctm, rounding):
    attrs = {"mode": "nearest", "coordinate_transformation_mode": ctm, "nearest_mode": rounding}
    _check(X, attrs, scales, sizes, reference=_spec_only(ctm, scales))


@pytest.mark.parametrize("scales", [[1, 1, 2, 3], [1, 1, 0.5, 2.5], [1, 1, 0.625, 1.75]])
@pytest.mark.parametrize("ctm, rounding", [("asymmetric", "floor"),
                                           ("half_pixel", "round_prefer_floor"),
                                           ("align_corners", "round_prefer_ceil")])
def test_nearest_runtime_scales(scales, ctm, rounding):
    attrs = {"mode": "nearest", "coordinate_transformation_mode": ctm, "nearest_mode": rounding}
    _check(X, attrs, scales, runtime=True, reference=_spec_only(ctm, scales))


@pytest.mark.parametrize("mode, ctm, rounding, sizes, opcode", [
    ("linear", "half_pixel", None, [1, 3, 7, 5], "RESIZE_BILINEAR"),
    ("linear", "pytorch_half_pixel", None, [1, 3, 2, 9], "RESIZE_BILINEAR"),
    ("linear", "align_corners", None, [1, 3, 7, 5], "RESIZE_BILINEAR"),
    ("linear", "asymmetric", None, [1, 3, 8, 12], "RESIZE_BILINEAR"),
    ("nearest", "asymmetric", "floor", [1, 3, 8, 18], "RESIZE_NEAREST_NEIGHBOR"),
    ("nearest", "asymmetric", "floor", [1, 3, 2, 3], "RESIZE_NEAREST_NEIGHBOR"),
    ("nearest", "half_pixel", "round_prefer_ceil", [1, 3, 7, 5], "RESIZE_NEAREST_NEIGHBOR"),
    ("nearest", "align_corners", "round_prefer_ceil", [1, 3, 7, 5],
     "RESIZE_NEAREST_NEIGHBOR"),
    ("nearest", "tf_half_pixel_for_nn", "floor", [1, 3, 7, 5], "RESIZE_NEAREST_NEIGHBOR"),
])
def test_single_builtin_op(mode, ctm, rounding, sizes, opcode):
    attrs = {"mode": mode, "coordinate_transformation_mode": ctm}
    if rounding:
        attrs["nearest_mode"] = rounding
    ops = _check(X, attrs, sizes=sizes)
    assert [o for o in ops if o not in ("TRANSPOSE", "RESHAPE")] == [opcode]


@pytest.mark.parametrize("mode", ["nearest", "linear"])
def test_nhwc_io_layout_needs_no_transpose(mode):
    attrs = {"mode": mode, "coordinate_transformation_mode": "half_pixel",
             "nearest_mode": "round_prefer_ceil"}
    ops = _check(SQUARE, attrs, sizes=[2, 2, 9, 4], io_layout="nhwc")
    assert "TRANSPOSE" not in ops


@pytest.mark.parametrize("attrs, scales, sizes", [
    ({"axes": [2, 3]}, [2.0, 0.6], None),
    ({"axes": [3, 2]}, None, [7, 3]),
    ({"axes": [-1]}, [2.5], None),
    ({"axes": [2, 3], "keep_aspect_ratio_policy": "not_larger"}, None, [7, 8]),
    ({"axes": [2, 3], "keep_aspect_ratio_policy": "not_smaller"}, None, [3, 11]),
])
@pytest.mark.parametrize("mode", ["nearest", "linear"])
@pytest.mark.parametrize("runtime", [False, True])
def test_axes_and_aspect_ratio(attrs, scales, sizes, mode, runtime):
    _check(X, {"mode": mode, **attrs}, scales, sizes, runtime=runtime)


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int32, np.int64])
@pytest.mark.parametrize("sizes", [[1, 3, 9, 14], [1, 3, 3, 4]])
def test_nearest_integer_inputs(dtype, sizes):
    """8-bit types take TFLite's fixed-point path; int64 (no RESIZE kernel) is gathered.
    onnxruntime has no int64 Resize: that one is checked against the reference."""
    x = _RNG.integers(-100 if dtype != np.uint8 else 0, 100, X.shape).astype(dtype)
    ops = _check(x, {"mode": "nearest", "coordinate_transformation_mode": "asymmetric",
                     "nearest_mode": "floor"}, sizes=sizes, reference=dtype == np.int64)
    assert ("RESIZE_NEAREST_NEIGHBOR" in ops) == (dtype != np.int64)


@pytest.mark.parametrize("mode", ["nearest", "linear"])
@pytest.mark.parametrize("scales", [[1, 1, 2, 3], [1, 1, 0.5, 0.5], [1, 1, 0.6, 1.5]])
@pytest.mark.parametrize("runtime", [False, True])
def test_resize_opset10(mode, scales, runtime):
    _check(SQUARE, {"mode": mode}, scales, opset=10, runtime=runtime)


@pytest.mark.parametrize("mode", ["nearest", "linear"])
@pytest.mark.parametrize("scales", [[1, 1, 2, 3], [1, 1, 1.5, 2.5]])
@pytest.mark.parametrize("opset", [7, 9])
def test_upsample(mode, scales, opset):
    if opset == 7:
        model_attrs = {"mode": mode, "scales": [float(s) for s in scales]}
        _check(SQUARE, model_attrs, opset=7, op="Upsample")
    else:
        _check(SQUARE, {"mode": mode}, scales, opset=9, op="Upsample", runtime=True)


@pytest.mark.parametrize("attrs, scales, sizes, message", [
    ({"mode": "cubic"}, [1, 1, 2, 2], None, "mode 'cubic'"),
    ({"mode": "linear", "antialias": 1}, [1, 1, 0.5, 0.5], None, "antialias"),
    ({"mode": "linear", "coordinate_transformation_mode": "tf_crop_and_resize"},
     [1, 1, 2, 2], None, "tf_crop_and_resize"),
    ({"mode": "nearest"}, [1, 2, 2, 2], None, r"axis 1 \(C\)"),
    ({"mode": "nearest"}, None, [2, 3, 8, 12], r"axis 0 \(N\)"),
])
def test_unsupported_forms_name_the_node(attrs, scales, sizes, message):
    model, _ = _model(X, attrs, scales, sizes, declare_out=False)
    with pytest.raises(ConversionError, match=f"the_resize.*{message}"):
        Converter.from_onnx(model).convert()


def test_runtime_scales_need_a_known_output_shape():
    model, _ = _model(X, {"mode": "linear"}, [1, 1, 2, 2], runtime=True, declare_out=False)
    with pytest.raises(ConversionError, match="the_resize.*statically known output shape"):
        Converter.from_onnx(model).convert()


def test_linear_integer_input_is_refused():
    x = X.astype(np.uint8)
    model, _ = _model(x, {"mode": "linear"}, [1, 1, 2, 2], declare_out=False)
    with pytest.raises(ConversionError, match="the_resize.*linear.*uint8"):
        Converter.from_onnx(model).convert()


@pytest.mark.parametrize("mode, ctm, rounding", [
    ("nearest", "asymmetric", "floor"), ("nearest", "half_pixel", "round_prefer_ceil"),
    ("nearest", "align_corners", "round_prefer_ceil"), ("nearest", "half_pixel", "floor"),
    ("linear", "half_pixel", None), ("linear", "align_corners", None),
    ("linear", "asymmetric", None), ("linear", "pytorch_half_pixel", None),
])
def test_length_sweep(mode, ctm, rounding):
    """Every pair of small lengths: whether TFLite's flags or data movement do the work,
    the result is ONNX's. Checked against onnx's reference: onnxruntime computes the
    coordinates in float32, so exactly on a rounding tie (0.5 / (1/7) - 0.5 = 3 with floor)
    it can land on the neighbouring row."""
    attrs = {"mode": mode, "coordinate_transformation_mode": ctm}
    if rounding:
        attrs["nearest_mode"] = rounding
    for src in (1, 2, 3, 5, 7):
        x = _RNG.standard_normal((1, 2, 3, src)).astype(np.float32)
        for dst in range(1, 14):
            _check(x, attrs, sizes=[1, 2, 3, dst], reference=True)
