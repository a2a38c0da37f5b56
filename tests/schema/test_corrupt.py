"""Hostile and broken files give SchemaError with a message, never a crash or a hang."""

from __future__ import annotations

import struct

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from edgelite.schema import SchemaError, ir, read, write
from edgelite.schema import schema_generated as fb
from tests.conftest import mediapipe_model, tf_model
from tests.schema.test_ir_build import add_conv_model


@pytest.fixture(scope="module")
def good() -> bytes:
    model, _ = add_conv_model()
    return write(model)


def test_missing_file_names_the_path(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.tflite"):
        read(tmp_path / "nope.tflite")


def test_empty_file(tmp_path):
    p = tmp_path / "empty.tflite"
    p.write_bytes(b"")
    with pytest.raises(SchemaError, match="empty"):
        read(p)


def test_wrong_identifier(good):
    bad = good[:4] + b"TFL2" + good[8:]
    with pytest.raises(SchemaError, match="identifier"):
        read(bad)


@pytest.mark.parametrize("keep", [0, 3, 7, 8, 64, 200, -100, -1])
def test_truncated(good, keep):
    with pytest.raises(SchemaError):
        read(good[:keep])


@pytest.mark.parametrize("wrap", [bytes, bytearray, memoryview])
def test_bytes_like_sources_read_the_same(good, wrap):
    model = read(wrap(good))
    assert [t.name for t in model.subgraphs[0].tensors][:3] == ["x", "shift", "x_plus_shift"]
    np.testing.assert_array_equal(model.subgraphs[0].tensors[1].data,
                                  read(good).subgraphs[0].tensors[1].data)


def test_random_bytes():
    rng = np.random.default_rng(0)
    for _ in range(50):
        blob = rng.integers(0, 256, int(rng.integers(8, 4096)), dtype=np.uint8).tobytes()
        blob = blob[:4] + b"TFL3" + blob[8:]
        with pytest.raises(SchemaError):
            read(blob)


def _field_pos(table, vtable_offset: int) -> int:
    o = table._tab.Offset(vtable_offset)
    assert o, "field not present in the test model"
    return table._tab.Pos + o


def _patch_u32(blob: bytes, pos: int, value: int) -> bytes:
    return blob[:pos] + struct.pack("<I", value) + blob[pos + 4:]


def test_tensor_buffer_index_out_of_range(good):
    tensor = fb.Model.GetRootAs(good, 0).Subgraphs(0).Tensors(1)
    bad = _patch_u32(good, _field_pos(tensor, 8), 9999)   # Tensor.buffer
    with pytest.raises(SchemaError, match=r"subgraph 0, tensor 1 \('shift'\): data: buffer index 9999 is out of range"):
        read(bad)


def test_opcode_index_out_of_range(good):
    op = fb.Model.GetRootAs(good, 0).Subgraphs(0).Operators(1)
    bad = _patch_u32(good, _field_pos(op, 4), 42)          # Operator.opcode_index
    with pytest.raises(SchemaError, match=r"subgraph 0, operator 1: opcode_index 42 is out of range"):
        read(bad)


def test_vector_length_past_end_of_file(good):
    sg = fb.Model.GetRootAs(good, 0).Subgraphs(0)
    vec = sg._tab.Vector(sg._tab.Offset(4))                  # SubGraph.tensors
    bad = _patch_u32(good, vec - 4, 0x7FFFFFFF)
    with pytest.raises(SchemaError, match="outside"):
        read(bad)


def _write_unchecked(model: ir.Model) -> bytes:
    return write(model, check=False)


def test_operator_input_index_out_of_range():
    model, _ = add_conv_model()
    model.subgraphs[0].operators[1].inputs[1] = 77
    with pytest.raises(SchemaError, match=r"subgraph 0, operator 1 \(CONV_2D\): input tensor "
                                          r"index 77 is out of range"):
        read(_write_unchecked(model))


def test_buffer_shorter_than_shape():
    model, _ = add_conv_model()
    t = model.subgraphs[0].tensors[3]
    t.data = np.asarray(t.data).reshape(-1)[:10]
    with pytest.raises(SchemaError, match=r"subgraph 0, tensor 3 \('weights'\): buffer holds 40 bytes but shape "
                                          r"\[4, 3, 3, 3\] of FLOAT32 needs 432"):
        read(_write_unchecked(model))


def test_ops_out_of_order():
    model, _ = add_conv_model()
    ops = model.subgraphs[0].operators
    ops.reverse()
    with pytest.raises(SchemaError, match=r"operator 0 \(CONV_2D\): reads tensor 2 "
                                          r"\('x_plus_shift'\) before operator 1 writes it"):
        read(_write_unchecked(model))


def test_control_flow_subgraph_index_out_of_range():
    sg = ir.Subgraph()
    a = sg.add_tensor(ir.Tensor("a", (), np.int32))
    b = sg.add_tensor(ir.Tensor("b", (), np.int32))
    sg.inputs, sg.outputs = [a], [b]
    sg.operators = [ir.Operator("WHILE", [a], [b],
                                {"cond_subgraph_index": 0, "body_subgraph_index": 5})]
    with pytest.raises(SchemaError, match=r"WHILE.*body_subgraph_index 5 is out of range"):
        read(_write_unchecked(ir.Model([sg])))


def test_signature_tensor_out_of_range():
    model, _ = add_conv_model()
    model.signature_defs[0].outputs["out"] = 1000
    with pytest.raises(SchemaError, match=r"signature 'serving_default'.*'out'.*1000"):
        read(_write_unchecked(model))


# ----------------------------------------------------------------------------- fuzzing
def _structural_positions(blob: bytes) -> list[int]:
    """Byte positions outside constant payloads: where a mutation changes structure."""
    m = fb.Model.GetRootAs(blob, 0)
    inert = np.zeros(len(blob), bool)
    for i in range(m.BuffersLength()):
        b = m.Buffers(i)
        if b.DataLength():
            start = b._tab.Vector(b._tab.Offset(4))
            inert[start:start + b.DataLength()] = True
    return np.flatnonzero(~inert).tolist()


_SEEDS = {}


def _seed(name: str) -> tuple[bytes, list[int]]:
    if name not in _SEEDS:
        path = tf_model(name) if name.startswith("mobilenet") else mediapipe_model(name)
        blob = path.read_bytes()
        _SEEDS[name] = (blob, _structural_positions(blob))
    return _SEEDS[name]


@given(name=st.sampled_from(["mobilenet_v2_035.int8", "face_detection_short_range",
                             "pose_detection", "selfie_segmentation"]),
       edits=st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 255),
                                st.sampled_from(["byte", "u32"])), min_size=1, max_size=8),
       cut=st.one_of(st.none(), st.floats(0, 1)))
def test_mutated_real_models_fail_cleanly(name, edits, cut):
    blob, positions = _seed(name)
    data = bytearray(blob)
    for where, value, kind in edits:
        pos = positions[int(where * len(positions))]
        if kind == "byte":
            data[pos] = value
        elif pos + 4 <= len(data):
            data[pos:pos + 4] = struct.pack("<I", value * 0x01010101 if value > 128 else value)
    if cut is not None:
        data = data[:int(cut * len(data))]
    try:
        model = read(bytes(data))
    except SchemaError as e:
        assert str(e)
        return
    try:                      # what reads must also write, or fail cleanly
        write(model)
    except SchemaError as e:
        assert str(e)
