"""Models built from the IR are written, run in LiteRT and give the numpy answer."""

from __future__ import annotations

import numpy as np
import pytest

from edgelite.schema import SchemaError, ir, read, write
from edgelite.schema import schema_generated as fb
from tests.litert_oracle import run


def _conv_nhwc(x, w, b, stride=1):
    """SAME-padded NHWC convolution with OHWI weights, in plain numpy."""
    n, h, wd, c = x.shape
    o, kh, kw, _ = w.shape
    oh, ow = -(-h // stride), -(-wd // stride)
    pad_h = max((oh - 1) * stride + kh - h, 0)
    pad_w = max((ow - 1) * stride + kw - wd, 0)
    xp = np.pad(x, ((0, 0), (pad_h // 2, pad_h - pad_h // 2), (pad_w // 2, pad_w - pad_w // 2),
                    (0, 0)))
    out = np.zeros((n, oh, ow, o), np.float64)
    for i in range(oh):
        for j in range(ow):
            patch = xp[:, i * stride:i * stride + kh, j * stride:j * stride + kw, :]
            out[:, i, j, :] = np.einsum("nhwc,ohwc->no", patch, w)
    return out + b


def add_conv_model(stride=1, activation="RELU"):
    rng = np.random.default_rng(7)
    w = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)
    bias = rng.standard_normal(4).astype(np.float32)
    shift = rng.standard_normal(3).astype(np.float32)
    out_hw = -(-8 // stride)
    sg = ir.Subgraph(name="main")
    x = sg.add_tensor(ir.Tensor("x", (1, 8, 8, 3), np.float32))
    c = sg.add_tensor(ir.Tensor("shift", (3,), np.float32, data=shift))
    y = sg.add_tensor(ir.Tensor("x_plus_shift", (1, 8, 8, 3), np.float32))
    wt = sg.add_tensor(ir.Tensor("weights", w.shape, np.float32, data=w))
    bt = sg.add_tensor(ir.Tensor("bias", (4,), np.float32, data=bias))
    out = sg.add_tensor(ir.Tensor("out", (1, out_hw, out_hw, 4), np.float32))
    sg.inputs, sg.outputs = [x], [out]
    sg.operators = [
        ir.Operator("ADD", [x, c], [y], {"fused_activation_function": "NONE"}),
        ir.Operator("CONV_2D", [y, wt, bt], [out],
                    {"padding": "SAME", "stride_w": stride, "stride_h": stride,
                     "fused_activation_function": activation}),
    ]
    model = ir.Model(subgraphs=[sg], description="edgelite test")
    model.signature_defs = [ir.SignatureDef("serving_default", 0, {"x": x}, {"out": out})]

    def reference(xv):
        r = _conv_nhwc(xv.astype(np.float64) + shift, w, bias, stride)
        return np.maximum(r, 0) if activation == "RELU" else r
    return model, reference


@pytest.mark.parametrize("stride,activation", [(1, "RELU"), (2, "NONE")])
def test_add_conv_model_runs_in_litert(stride, activation):
    model, reference = add_conv_model(stride, activation)
    xv = np.random.default_rng(1).standard_normal((1, 8, 8, 3)).astype(np.float32)
    for blob in (write(model), write(model, offset_buffers=True)):
        (got,) = run(blob, [xv], builtin_only=True)
        np.testing.assert_allclose(got, reference(xv), rtol=1e-5, atol=1e-5)


def test_written_model_reads_back_with_readable_options():
    model, _ = add_conv_model()
    back = read(write(model))
    conv = back.subgraphs[0].operators[1]
    assert conv.opcode == "CONV_2D" and conv.options_type == "Conv2DOptions"
    assert conv.options["padding"] == "SAME"
    assert conv.options["fused_activation_function"] == "RELU"
    assert conv.options["dilation_w_factor"] == 1  # schema default filled in
    assert back.description == "edgelite test"
    assert back.signature_defs[0].inputs == {"x": 0}


def _fb_model(blob: bytes):
    return fb.Model.GetRootAs(blob, 0)


def test_buffers_are_aligned_and_deduplicated():
    model, _ = add_conv_model()
    sg = model.subgraphs[0]
    shared = np.arange(64, dtype=np.float32)
    for name in ("a", "b"):
        sg.add_tensor(ir.Tensor(name, (64,), np.float32, data=shared.copy()))
    blob = write(model)
    m = _fb_model(blob)
    # 1 sentinel + shift + weights + bias + one shared copy of `shared`
    assert m.BuffersLength() == 5
    t_a, t_b = (sg_t for sg_t in (m.Subgraphs(0).Tensors(6), m.Subgraphs(0).Tensors(7)))
    assert t_a.Buffer() == t_b.Buffer() != 0
    for i in range(1, m.BuffersLength()):
        data = m.Buffers(i).DataAsNumpy()
        start = data.__array_interface__["data"][0] - np.frombuffer(
            blob, np.uint8).__array_interface__["data"][0]
        assert start % 16 == 0, f"buffer {i} starts at unaligned offset {start}"


def test_offset_buffer_layout_puts_data_after_the_flatbuffer():
    model, _ = add_conv_model()
    blob = write(model, offset_buffers=True)
    m = _fb_model(blob)
    for i in range(1, m.BuffersLength()):
        b = m.Buffers(i)
        assert b.DataLength() == 0 and b.Offset() % 16 == 0 and b.Size() > 0
    back = read(blob)
    np.testing.assert_array_equal(back.subgraphs[0].tensors[3].data,
                                  model.subgraphs[0].tensors[3].data)


def test_operator_codes_keep_versions_and_large_builtin_codes():
    sg = ir.Subgraph()
    a = sg.add_tensor(ir.Tensor("a", (2,), np.float32))
    b = sg.add_tensor(ir.Tensor("b", (2,), np.float32))
    c = sg.add_tensor(ir.Tensor("c", (2,), np.float32))
    sg.inputs, sg.outputs = [a], [c]
    sg.operators = [ir.Operator("GELU", [a], [b], {"approximate": True}, version=2),
                    ir.Operator("SIGN", [b], [c])]   # SIGN's code (158) is > 127
    m = _fb_model(write(ir.Model([sg])))
    codes = [m.OperatorCodes(i) for i in range(m.OperatorCodesLength())]
    assert [(c.BuiltinCode(), c.DeprecatedBuiltinCode(), c.Version()) for c in codes] == \
        [(fb.BuiltinOperator.GELU, 127 if fb.BuiltinOperator.GELU > 127 else
          fb.BuiltinOperator.GELU, 2), (fb.BuiltinOperator.SIGN, 127, 1)]
    back = read(write(ir.Model([sg])))
    assert [(o.opcode, o.version) for o in back.subgraphs[0].operators] == \
        [("GELU", 2), ("SIGN", 1)]
    assert back.subgraphs[0].operators[0].options == {"approximate": True}


def test_write_rejects_bad_options_with_a_clear_error():
    model, _ = add_conv_model()
    model.subgraphs[0].operators[1].options["stride"] = 2
    with pytest.raises(SchemaError, match=r"operator 1 \(CONV_2D\).*no field.*stride"):
        write(model)
    model.subgraphs[0].operators[1].options = {"padding": "SOMETIMES"}
    with pytest.raises(SchemaError, match="SOMETIMES.*Padding"):
        write(model)


def test_custom_ops_keep_code_and_options():
    sg = ir.Subgraph()
    a = sg.add_tensor(ir.Tensor("a", (2,), np.float32))
    b = sg.add_tensor(ir.Tensor("b", (2,), np.float32))
    sg.inputs, sg.outputs = [a], [b]
    sg.operators = [ir.Operator("MyCustomOp", [a], [b], custom_options=b"\x01\x02\x03")]
    back = read(write(ir.Model([sg])))
    op = back.subgraphs[0].operators[0]
    assert (op.opcode, op.custom, op.custom_options) == ("MyCustomOp", True, b"\x01\x02\x03")
