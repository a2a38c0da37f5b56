"""``read()``: a ``.tflite`` file (path, bytes or memoryview) -> :class:`ir.Model`.

Paths are memory-mapped read-only, and constant tensors become numpy views into the
mapping: nothing is copied, and pages are only touched when a kernel reads them. The
raw bytes go through :func:`wire_verifier.verify_flatbuffer` before any generated
accessor runs, and the resulting IR through :func:`verify.verify`.
"""

from __future__ import annotations

import mmap
import os
import struct

import numpy as np
from flatbuffers.table import Table as FbTable

from . import ir, options
from . import schema_generated as fb
from .errors import SchemaError
from .fbs import Schema, load
from .verify import verify
from .wire_verifier import verify_flatbuffer

_BUILTIN_NAMES = {v: k for k, v in vars(fb.BuiltinOperator).items() if not k.startswith("_")}
_TYPE_NAMES = {v: k for k, v in vars(fb.TensorType).items() if not k.startswith("_")}
_PLACEHOLDER_FOR_GREATER_OP_CODES = 127


def read(source, *, check: bool = True) -> ir.Model:
    """Load a model from a path, ``bytes``, ``bytearray`` or ``memoryview``."""
    buf, where = _open(source)
    try:
        verify_flatbuffer(buf)
        model = _Reader(buf).model()
    except SchemaError as e:
        raise SchemaError(f"{where}: {e}") from None
    except (struct.error, IndexError, UnicodeDecodeError, OverflowError, ValueError) as e:
        raise SchemaError(f"{where}: corrupt model ({type(e).__name__}: {e})") from None
    if check:
        try:
            verify(model)
        except SchemaError as e:
            raise SchemaError(f"{where}: {e}") from None
    return model


def _open(source):
    if isinstance(source, (bytes, bytearray, memoryview)):
        return source, "model_content"
    path = os.fspath(source)
    try:
        with open(path, "rb") as f:
            if os.fstat(f.fileno()).st_size == 0:
                raise SchemaError(f"{path}: file is empty")
            return mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ), path
    except FileNotFoundError:
        raise FileNotFoundError(f"model file not found: {path}") from None


def _np(obj, name: str, dtype=None) -> np.ndarray | None:
    """``obj.<name>AsNumpy()`` or None when the vector is absent."""
    if getattr(obj, name + "IsNone")():
        return None
    arr = getattr(obj, name + "AsNumpy")()
    return arr if dtype is None else arr.astype(dtype)


def _str(raw: bytes | None) -> str:
    return raw.decode("utf-8") if raw else ""


class _Reader:
    def __init__(self, buf) -> None:
        self.buf = buf
        self.schema: Schema = load()
        self.fb_model = fb.Model.GetRootAs(buf, 0)

    def model(self) -> ir.Model:
        m = self.fb_model
        self.buffers = [m.Buffers(i) for i in range(m.BuffersLength())]
        self.opcodes = [self.opcode(m.OperatorCodes(i), i) for i in range(m.OperatorCodesLength())]
        model = ir.Model(version=m.Version(), description=_str(m.Description()))
        for s in range(m.SubgraphsLength()):
            model.subgraphs.append(self.subgraph(m.Subgraphs(s), s))
        for i in range(m.MetadataLength()):
            meta = m.Metadata(i)
            name = _str(meta.Name())
            model.metadata[name] = self.buffer_bytes(meta.Buffer(), f"metadata {name!r}")
        for i in range(m.SignatureDefsLength()):
            model.signature_defs.append(self.signature(m.SignatureDefs(i)))
        return model

    def opcode(self, oc, index: int) -> tuple[str, bool, int]:
        code = max(oc.BuiltinCode(), oc.DeprecatedBuiltinCode())
        name = _BUILTIN_NAMES.get(code)
        if name is None:
            raise SchemaError(f"operator code {index}: unknown builtin code {code}")
        if name == "CUSTOM":
            custom = _str(oc.CustomCode())
            if not custom:
                raise SchemaError(f"operator code {index}: CUSTOM without a custom_code")
            return custom, True, oc.Version()
        return name, False, oc.Version()

    def buffer_bytes(self, index: int, owner: str) -> np.ndarray | None:
        """uint8 view of a buffer's contents (inline or in the >2 GiB trailer); None if empty."""
        if not 0 <= index < len(self.buffers):
            raise SchemaError(f"{owner}: buffer index {index} is out of range "
                              f"({len(self.buffers)} buffers)")
        b = self.buffers[index]
        offset = b.Offset()
        if offset > 1:
            size = b.Size()
            if offset + size > len(self.buf):
                raise SchemaError(f"{owner}: buffer {index} spans bytes {offset}..{offset + size}"
                                  f" past the end of the {len(self.buf)}-byte file")
            return np.frombuffer(self.buf, np.uint8, count=size, offset=offset) if size else None
        if b.DataIsNone() or b.DataLength() == 0:
            return None
        return b.DataAsNumpy()

    def subgraph(self, sg, s: int) -> ir.Subgraph:
        out = ir.Subgraph(name=_str(sg.Name()))
        for t in range(sg.TensorsLength()):
            fb_tensor = sg.Tensors(t)
            try:
                out.tensors.append(self.tensor(fb_tensor))
            except SchemaError as e:
                name = _str(fb_tensor.Name())
                raise SchemaError(f"subgraph {s}, tensor {t} ({name!r}): {e}") from None
        out.inputs = [int(i) for i in (_np(sg, "Inputs") if not sg.InputsIsNone() else [])]
        out.outputs = [int(i) for i in (_np(sg, "Outputs") if not sg.OutputsIsNone() else [])]
        for o in range(sg.OperatorsLength()):
            try:
                out.operators.append(self.operator(sg.Operators(o)))
            except SchemaError as e:
                raise SchemaError(f"subgraph {s}, operator {o}: {e}") from None
        return out

    def tensor(self, t) -> ir.Tensor:
        name = _str(t.Name())
        type_name = _TYPE_NAMES.get(t.Type())
        if type_name is None:
            raise SchemaError(f"unknown tensor type {t.Type()}")
        if t.ExternalBuffer():
            raise SchemaError("external buffers are not supported")
        shape = _np(t, "Shape")
        sig = _np(t, "ShapeSignature")
        tensor = ir.Tensor(
            name=name, shape=() if shape is None else tuple(shape.tolist()),
            dtype=ir.dtype_of(type_name),
            shape_signature=None if sig is None else tuple(sig.tolist()),
            is_variable=bool(t.IsVariable()), has_rank=bool(t.HasRank()))
        q = t.Quantization()
        if q is not None:
            tensor.quantization = self.quantization(q)
        sp = t.Sparsity()
        if sp is not None:
            tensor.sparsity = self.sparsity(sp)
        for i in range(t.VariantTensorsLength()):
            v = t.VariantTensors(i)
            vshape = _np(v, "Shape")
            tensor.variant_tensors.append(ir.VariantSubType(
                shape=() if vshape is None else tuple(vshape.tolist()),
                dtype=ir.dtype_of(_TYPE_NAMES.get(v.Type(), "FLOAT32")), has_rank=v.HasRank()))
        raw = self.buffer_bytes(t.Buffer(), "data")
        if raw is not None:
            tensor.data = _shape_data(tensor, type_name, raw)
        return tensor

    def quantization(self, q) -> ir.Quantization | None:
        scales, zps = _np(q, "Scale", np.float32), _np(q, "ZeroPoint", np.int64)
        qmin, qmax = _np(q, "Min", np.float32), _np(q, "Max", np.float32)
        details_type = self.schema.unions["QuantizationDetails"]
        dt = q.DetailsType()
        if scales is None and qmin is None and not dt:
            return None
        quant = ir.Quantization(
            scales=np.zeros(0, np.float32) if scales is None else scales,
            zero_points=np.zeros(0, np.int64) if zps is None else zps,
            axis=q.QuantizedDimension(), min=qmin, max=qmax)
        if 0 < dt < len(details_type):
            tab = q.Details()
            quant.details_type = details_type[dt]
            quant.details = options.decode(details_type[dt], FbTable(tab.Bytes, tab.Pos))
        return quant

    def sparsity(self, sp) -> ir.Sparsity:
        dims = []
        vec_types = self.schema.unions["SparseIndexVector"]
        for i in range(sp.DimMetadataLength()):
            d = sp.DimMetadata(i)
            arrays = []
            for kind in ("ArraySegments", "ArrayIndices"):
                type_id, tab = getattr(d, kind + "Type")(), getattr(d, kind)()
                if not type_id or tab is None or type_id >= len(vec_types):
                    arrays.append(None)
                    continue
                vec = getattr(fb, vec_types[type_id])()
                vec.Init(tab.Bytes, tab.Pos)
                arrays.append(_np(vec, "Values"))
            dims.append(ir.DimensionMetadata(
                format="SPARSE_CSR" if d.Format() == 1 else "DENSE", dense_size=d.DenseSize(),
                array_segments=arrays[0], array_indices=arrays[1]))
        order, block_map = _np(sp, "TraversalOrder"), _np(sp, "BlockMap")
        return ir.Sparsity(
            traversal_order=[] if order is None else order.tolist(),
            block_map=[] if block_map is None else block_map.tolist(), dim_metadata=dims)

    def operator(self, op) -> ir.Operator:
        index = op.OpcodeIndex()
        if not 0 <= index < len(self.opcodes):
            raise SchemaError(f"opcode_index {index} is out of range "
                              f"(the model has {len(self.opcodes)} operator codes)")
        name, custom, version = self.opcodes[index]
        inputs, outputs = _np(op, "Inputs"), _np(op, "Outputs")
        result = ir.Operator(
            opcode=name, custom=custom, version=version,
            inputs=[] if inputs is None else inputs.tolist(),
            outputs=[] if outputs is None else outputs.tolist())
        inter, mut = _np(op, "Intermediates"), _np(op, "MutatingVariableInputs")
        result.intermediates = [] if inter is None else inter.tolist()
        result.mutating_variable_inputs = [] if mut is None else [bool(x) for x in mut]
        for union, type_fn, value_fn in (("BuiltinOptions", op.BuiltinOptionsType,
                                          op.BuiltinOptions),
                                         ("BuiltinOptions2", op.BuiltinOptions2Type,
                                          op.BuiltinOptions2)):
            type_id = type_fn()
            members = self.schema.unions[union]
            if type_id and type_id < len(members):
                tab = value_fn()
                result.options_type = members[type_id]
                result.options = options.decode(members[type_id], FbTable(tab.Bytes, tab.Pos))
                break
        else:
            table = None if custom else options.options_table_for(name, self.schema)
            if table:   # the file omits a table this op usually has: keep it omitted
                result.options = options.defaults(table, self.schema)
                result.options_type = "NONE"
        if custom:
            result.custom_options = self.custom_options(op, name)
            result.custom_options_format = "FLEXBUFFERS"
        return result

    def custom_options(self, op, name: str) -> bytes | None:
        offset = op.LargeCustomOptionsOffset()
        if offset > 1:
            size = op.LargeCustomOptionsSize()
            if offset + size > len(self.buf):
                raise SchemaError(f"{name}: large custom options run past the end of the file")
            return bytes(self.buf[offset:offset + size])
        raw = _np(op, "CustomOptions")
        return None if raw is None else raw.tobytes()

    def signature(self, sd) -> ir.SignatureDef:
        def tensor_map(n, get):
            return {_str(get(i).Name()): get(i).TensorIndex() for i in range(n)}

        return ir.SignatureDef(
            key=_str(sd.SignatureKey()), subgraph_index=sd.SubgraphIndex(),
            inputs=tensor_map(sd.InputsLength(), sd.Inputs),
            outputs=tensor_map(sd.OutputsLength(), sd.Outputs))


def _shape_data(tensor: ir.Tensor, type_name: str, raw: np.ndarray) -> np.ndarray:
    """View the raw bytes as the tensor's dtype and shape (packed/string stay raw)."""
    if type_name in ir.PACKED_BITS or tensor.dtype.kind in ("S", "O"):
        return raw
    dtype = tensor.dtype.newbyteorder("<")
    if tensor.sparsity is not None:
        if raw.size % dtype.itemsize:
            raise SchemaError(f"sparse buffer of {raw.size} bytes is not a "
                              f"whole number of {type_name} values")
        return raw.view(dtype)
    need = ir.expected_nbytes(type_name, tensor.shape)
    if raw.size != need:
        raise SchemaError(f"buffer holds {raw.size} bytes but shape "
                          f"{list(tensor.shape)} of {type_name} needs {need}")
    return raw.view(dtype).reshape(tensor.shape)
