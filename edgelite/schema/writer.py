"""``write()``: :class:`ir.Model` -> ``.tflite`` bytes that LiteRT loads.

Layout choices:

* buffer 0 is the empty sentinel every non-constant tensor points at;
* identical constant payloads share one buffer (hash, then byte comparison);
* payloads are 16-byte aligned so a memory-mapped reader can view them in place;
* operator codes are one per (op, custom code, version), in first-use order, with
  ``deprecated_builtin_code`` clamped to 127 for codes that do not fit in a byte;
* when the payloads would push the FlatBuffer past its 2 GiB offset range (or when
  ``offset_buffers=True``), buffers carry ``offset``/``size`` into a trailer appended
  after the FlatBuffer instead of inline data.
"""

from __future__ import annotations

import hashlib

import flatbuffers
import numpy as np

from . import ir, options
from . import schema_generated as fb
from .errors import SchemaError
from .fbs import load
from .verify import verify

_BUILTIN_CODES = {k: v for k, v in vars(fb.BuiltinOperator).items() if not k.startswith("_")}
_TYPE_CODES = {k: v for k, v in vars(fb.TensorType).items() if not k.startswith("_")}
_FLATBUFFER_LIMIT = 2**31 - 2**26  # leave room for tables when deciding on the trailer
_ALIGN = 16


def write(model: ir.Model, *, offset_buffers: bool | None = None, check: bool = True) -> bytes:
    """Serialize ``model``; ``offset_buffers`` forces (True) or forbids (False) the trailer."""
    if check:
        verify(model)
    payloads, tensor_buffers, metadata_buffers = _collect_buffers(model)
    total = sum(len(p) for p in payloads)
    trailer = offset_buffers if offset_buffers is not None else total > _FLATBUFFER_LIMIT
    if not trailer:
        return _build(model, payloads, tensor_buffers, metadata_buffers, None)
    # The FlatBuffer's size does not depend on the offset values (all non-default
    # uint64s), so one pass with placeholders measures where the trailer starts.
    probe = _build(model, payloads, tensor_buffers, metadata_buffers, [1] * len(payloads))
    offsets, pos = [], _align(len(probe))
    for p in payloads:
        offsets.append(pos if len(p) else 0)
        pos = _align(pos + len(p))
    head = _build(model, payloads, tensor_buffers, metadata_buffers, offsets)
    if len(head) != len(probe):
        raise AssertionError("FlatBuffer size changed between layout passes")
    out = bytearray(pos)
    out[:len(head)] = head
    for p, off in zip(payloads, offsets):
        out[off:off + len(p)] = p
    return bytes(out)


def _align(n: int) -> int:
    return (n + _ALIGN - 1) // _ALIGN * _ALIGN


def _as_bytes(data) -> memoryview:
    arr = np.ascontiguousarray(data)
    if arr.dtype.byteorder == ">":
        arr = arr.astype(arr.dtype.newbyteorder("<"))
    return memoryview(arr.reshape(-1).view(np.uint8))


def _collect_buffers(model: ir.Model):
    """Deduplicated payloads (index 0 empty) and each tensor's / metadata's buffer index."""
    payloads: list[memoryview] = [memoryview(b"")]
    seen: dict[tuple[int, bytes], list[int]] = {}

    def add(data) -> int:
        raw = _as_bytes(data)
        if not len(raw):
            return 0
        key = (len(raw), hashlib.blake2b(raw, digest_size=16).digest())
        for index in seen.get(key, []):
            if payloads[index] == raw:
                return index
        payloads.append(raw)
        seen.setdefault(key, []).append(len(payloads) - 1)
        return len(payloads) - 1

    tensor_buffers = [[0 if t.data is None else add(t.data) for t in sg.tensors]
                      for sg in model.subgraphs]
    metadata_buffers = {name: add(np.frombuffer(bytes(v), np.uint8)
                                  if isinstance(v, (bytes, bytearray)) else v)
                        for name, v in model.metadata.items()}
    return payloads, tensor_buffers, metadata_buffers


def _build(model, payloads, tensor_buffers, metadata_buffers, trailer_offsets) -> bytes:
    inline = sum(len(p) + _ALIGN + 4 for p in payloads) if trailer_offsets is None else 0
    b = flatbuffers.Builder(inline + (1 << 16))
    buffers = []
    for i, p in enumerate(payloads):
        data = _inline_vector(b, p) if trailer_offsets is None and len(p) else None
        fb.BufferStart(b)
        if data is not None:
            fb.BufferAddData(b, data)
        if trailer_offsets is not None and len(p):
            fb.BufferAddOffset(b, trailer_offsets[i])
            fb.BufferAddSize(b, len(p))
        buffers.append(fb.BufferEnd(b))
    codes, code_index = _operator_codes(b, model)
    subgraphs = [_subgraph(b, sg, tensor_buffers[s], code_index)
                 for s, sg in enumerate(model.subgraphs)]
    metadata = []
    for name, index in metadata_buffers.items():
        name_off = b.CreateString(name)
        fb.MetadataStart(b)
        fb.MetadataAddName(b, name_off)
        fb.MetadataAddBuffer(b, index)
        metadata.append(fb.MetadataEnd(b))
    signatures = [_signature(b, sig) for sig in model.signature_defs]
    description = b.CreateString(model.description) if model.description else None
    vectors = {name: options.offset_vector(b, items) for name, items in (
        ("codes", codes), ("subgraphs", subgraphs), ("buffers", buffers),
        ("metadata", metadata), ("signatures", signatures))}
    fb.ModelStart(b)
    fb.ModelAddVersion(b, model.version)
    fb.ModelAddOperatorCodes(b, vectors["codes"])
    fb.ModelAddSubgraphs(b, vectors["subgraphs"])
    if description is not None:
        fb.ModelAddDescription(b, description)
    fb.ModelAddBuffers(b, vectors["buffers"])
    if metadata:
        fb.ModelAddMetadata(b, vectors["metadata"])
    if signatures:
        fb.ModelAddSignatureDefs(b, vectors["signatures"])
    b.Finish(fb.ModelEnd(b), file_identifier=b"TFL3")
    return bytes(b.Output())


def _inline_vector(b: flatbuffers.Builder, raw: memoryview) -> int:
    """A [ubyte] vector whose first byte is 16-byte aligned in the finished file."""
    b.StartVector(1, len(raw), _ALIGN)
    b.head = b.head - len(raw)
    b.Bytes[b.head:b.head + len(raw)] = raw
    return b.EndVector()


def _ints(b: flatbuffers.Builder, values, dtype=np.int32) -> int:
    return b.CreateNumpyVector(np.asarray(values, dtype=dtype).reshape(-1))


def _operator_codes(b: flatbuffers.Builder, model: ir.Model):
    keys: dict[tuple[str, bool, int], int] = {}
    for sg in model.subgraphs:
        for op in sg.operators:
            keys.setdefault(_code_key(op), len(keys))
    codes = []
    for name, custom, version in keys:
        custom_off = b.CreateString(name) if custom else None
        code = _BUILTIN_CODES["CUSTOM"] if custom else _BUILTIN_CODES[name]
        fb.OperatorCodeStart(b)
        fb.OperatorCodeAddDeprecatedBuiltinCode(b, min(code, 127))
        if custom_off is not None:
            fb.OperatorCodeAddCustomCode(b, custom_off)
        fb.OperatorCodeAddVersion(b, version)
        fb.OperatorCodeAddBuiltinCode(b, code)
        codes.append(fb.OperatorCodeEnd(b))
    return codes, keys


def _code_key(op: ir.Operator) -> tuple[str, bool, int]:
    custom = op.custom if op.custom is not None else op.opcode not in _BUILTIN_CODES
    if not custom and op.opcode not in _BUILTIN_CODES:
        raise SchemaError(f"{op.opcode!r} is not a builtin operator")
    return op.opcode, bool(custom), int(op.version)


def _subgraph(b, sg: ir.Subgraph, buffer_of: list[int], code_index) -> int:
    tensors = [_tensor(b, t, buffer_of[i]) for i, t in enumerate(sg.tensors)]
    operators = []
    for o, op in enumerate(sg.operators):
        try:
            operators.append(_operator(b, op, code_index[_code_key(op)]))
        except SchemaError as e:
            raise SchemaError(f"operator {o} ({op.opcode}): {e}") from None
    name = b.CreateString(sg.name) if sg.name else None
    t_vec, o_vec = options.offset_vector(b, tensors), options.offset_vector(b, operators)
    in_vec, out_vec = _ints(b, sg.inputs), _ints(b, sg.outputs)
    fb.SubGraphStart(b)
    fb.SubGraphAddTensors(b, t_vec)
    fb.SubGraphAddInputs(b, in_vec)
    fb.SubGraphAddOutputs(b, out_vec)
    fb.SubGraphAddOperators(b, o_vec)
    if name is not None:
        fb.SubGraphAddName(b, name)
    return fb.SubGraphEnd(b)


def _tensor(b, t: ir.Tensor, buffer: int) -> int:
    shape = _ints(b, t.shape)
    sig = _ints(b, t.shape_signature) if t.shape_signature is not None else None
    name = b.CreateString(t.name)
    quant = _quantization(b, t.quantization) if t.quantization is not None else None
    sparsity = _sparsity(b, t.sparsity) if t.sparsity is not None else None
    variants = options.offset_vector(b, [_variant(b, v) for v in t.variant_tensors]) \
        if t.variant_tensors else None
    fb.TensorStart(b)
    fb.TensorAddShape(b, shape)
    fb.TensorAddType(b, _TYPE_CODES[t.tensor_type])
    fb.TensorAddBuffer(b, buffer)
    fb.TensorAddName(b, name)
    if quant is not None:
        fb.TensorAddQuantization(b, quant)
    fb.TensorAddIsVariable(b, t.is_variable)
    if sparsity is not None:
        fb.TensorAddSparsity(b, sparsity)
    if sig is not None:
        fb.TensorAddShapeSignature(b, sig)
    fb.TensorAddHasRank(b, t.has_rank)
    if variants is not None:
        fb.TensorAddVariantTensors(b, variants)
    return fb.TensorEnd(b)


def _variant(b, v: ir.VariantSubType) -> int:
    shape = _ints(b, v.shape)
    fb.VariantSubTypeStart(b)
    fb.VariantSubTypeAddShape(b, shape)
    fb.VariantSubTypeAddType(b, _TYPE_CODES[ir.tensor_type_of(v.dtype)])
    fb.VariantSubTypeAddHasRank(b, v.has_rank)
    return fb.VariantSubTypeEnd(b)


def _quantization(b, q: ir.Quantization) -> int:
    vecs = {
        "scale": _ints(b, q.scales, np.float32) if len(q.scales) else None,
        "zero_point": _ints(b, q.zero_points, np.int64) if len(q.zero_points) else None,
        "min": _ints(b, q.min, np.float32) if q.min is not None else None,
        "max": _ints(b, q.max, np.float32) if q.max is not None else None,
    }
    details = options.encode(b, q.details_type, q.details or {}) if q.details_type else None
    fb.QuantizationParametersStart(b)
    for name, adder in (("min", fb.QuantizationParametersAddMin),
                        ("max", fb.QuantizationParametersAddMax),
                        ("scale", fb.QuantizationParametersAddScale),
                        ("zero_point", fb.QuantizationParametersAddZeroPoint)):
        if vecs[name] is not None:
            adder(b, vecs[name])
    if details is not None:
        fb.QuantizationParametersAddDetailsType(
            b, load().unions["QuantizationDetails"].index(q.details_type))
        fb.QuantizationParametersAddDetails(b, details)
    fb.QuantizationParametersAddQuantizedDimension(b, q.axis)
    return fb.QuantizationParametersEnd(b)


_INDEX_VECTORS = {np.dtype(np.int32): "Int32Vector", np.dtype(np.uint16): "Uint16Vector",
                  np.dtype(np.uint8): "Uint8Vector"}


def _index_vector(b, values: np.ndarray) -> tuple[int, int]:
    values = np.asarray(values)
    name = _INDEX_VECTORS.get(values.dtype)
    if name is None:
        raise SchemaError(f"sparse index arrays must be int32, uint16 or uint8, not {values.dtype}")
    vec = b.CreateNumpyVector(values.reshape(-1))
    getattr(fb, name + "Start")(b)
    getattr(fb, name + "AddValues")(b, vec)
    return load().unions["SparseIndexVector"].index(name), getattr(fb, name + "End")(b)


def _sparsity(b, sp: ir.Sparsity) -> int:
    dims = []
    for d in sp.dim_metadata:
        seg = _index_vector(b, d.array_segments) if d.array_segments is not None else None
        idx = _index_vector(b, d.array_indices) if d.array_indices is not None else None
        fb.DimensionMetadataStart(b)
        fb.DimensionMetadataAddFormat(b, 1 if d.format == "SPARSE_CSR" else 0)
        fb.DimensionMetadataAddDenseSize(b, d.dense_size)
        if seg is not None:
            fb.DimensionMetadataAddArraySegmentsType(b, seg[0])
            fb.DimensionMetadataAddArraySegments(b, seg[1])
        if idx is not None:
            fb.DimensionMetadataAddArrayIndicesType(b, idx[0])
            fb.DimensionMetadataAddArrayIndices(b, idx[1])
        dims.append(fb.DimensionMetadataEnd(b))
    order, block_map = _ints(b, sp.traversal_order), _ints(b, sp.block_map)
    dim_vec = options.offset_vector(b, dims)
    fb.SparsityParametersStart(b)
    fb.SparsityParametersAddTraversalOrder(b, order)
    fb.SparsityParametersAddBlockMap(b, block_map)
    fb.SparsityParametersAddDimMetadata(b, dim_vec)
    return fb.SparsityParametersEnd(b)


def _operator(b, op: ir.Operator, code_index: int) -> int:
    table = None if op.options_type == "NONE" else op.options_type
    if op.options_type is None and not (op.custom if op.custom is not None else
                              op.opcode not in _BUILTIN_CODES):
        table = options.options_table_for(op.opcode)
    if table is None and op.options and op.options_type != "NONE":
        raise SchemaError(f"has options {sorted(op.options)} but {op.opcode} takes none")
    opts = union = None
    if table is not None:
        union, type_id = options.union_of(table)
        opts = options.encode(b, table, op.options)
    inputs, outputs = _ints(b, op.inputs), _ints(b, op.outputs)
    custom = _ints(b, np.frombuffer(op.custom_options, np.uint8), np.uint8) \
        if op.custom_options else None
    mutating = _ints(b, op.mutating_variable_inputs, np.bool_) \
        if op.mutating_variable_inputs else None
    intermediates = _ints(b, op.intermediates) if op.intermediates else None
    fb.OperatorStart(b)
    fb.OperatorAddOpcodeIndex(b, code_index)
    fb.OperatorAddInputs(b, inputs)
    fb.OperatorAddOutputs(b, outputs)
    if union == "BuiltinOptions":
        fb.OperatorAddBuiltinOptionsType(b, type_id)
        fb.OperatorAddBuiltinOptions(b, opts)
    elif union == "BuiltinOptions2":
        fb.OperatorAddBuiltinOptions2Type(b, type_id)
        fb.OperatorAddBuiltinOptions2(b, opts)
    if custom is not None:
        fb.OperatorAddCustomOptions(b, custom)
    if mutating is not None:
        fb.OperatorAddMutatingVariableInputs(b, mutating)
    if intermediates is not None:
        fb.OperatorAddIntermediates(b, intermediates)
    return fb.OperatorEnd(b)


def _signature(b, sig: ir.SignatureDef) -> int:
    def tensor_maps(mapping: dict[str, int]) -> int:
        maps = []
        for name, index in mapping.items():
            name_off = b.CreateString(name)
            fb.TensorMapStart(b)
            fb.TensorMapAddName(b, name_off)
            fb.TensorMapAddTensorIndex(b, index)
            maps.append(fb.TensorMapEnd(b))
        return options.offset_vector(b, maps)

    inputs, outputs = tensor_maps(sig.inputs), tensor_maps(sig.outputs)
    key = b.CreateString(sig.key)
    fb.SignatureDefStart(b)
    fb.SignatureDefAddInputs(b, inputs)
    fb.SignatureDefAddOutputs(b, outputs)
    fb.SignatureDefAddSignatureKey(b, key)
    fb.SignatureDefAddSubgraphIndex(b, sig.subgraph_index)
    return fb.SignatureDefEnd(b)
