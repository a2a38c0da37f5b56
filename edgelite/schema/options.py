"""Generic codec for option tables (BuiltinOptions, BuiltinOptions2, quantization details).

Options are plain dicts with the schema's snake_case field names; enum fields hold
the member name (``{"padding": "SAME", "fused_activation_function": "RELU6"}``),
vectors hold lists, ``[ubyte]`` blobs hold ``bytes``. Every field is present after
decoding (absent fields take the schema default), so kernels can index directly.
"""

from __future__ import annotations

import functools
import re

import flatbuffers
import numpy as np
from flatbuffers import number_types as nt
from flatbuffers.table import Table as FbTable

from .errors import SchemaError
from .fbs import SCALARS, Field, Schema, load

_FLAGS = {
    "?": nt.BoolFlags, "b": nt.Int8Flags, "B": nt.Uint8Flags, "h": nt.Int16Flags,
    "H": nt.Uint16Flags, "i": nt.Int32Flags, "I": nt.Uint32Flags, "q": nt.Int64Flags,
    "Q": nt.Uint64Flags, "f": nt.Float32Flags, "d": nt.Float64Flags,
}
_NP = {"?": np.bool_, "b": np.int8, "B": np.uint8, "h": np.int16, "H": np.uint16,
       "i": np.int32, "I": np.uint32, "q": np.int64, "Q": np.uint64, "f": np.float32,
       "d": np.float64}


def _scalar_code(schema: Schema, type_name: str) -> str:
    if type_name in schema.enums:
        type_name = schema.enums[type_name].base
    return SCALARS[type_name][0]


def field_default(schema: Schema, f: Field):
    """The value an absent field has, in dict form (enum members by name)."""
    if f.is_vector:
        return b"" if f.type in ("ubyte", "uint8") else []
    if f.type in schema.enums:
        enum = schema.enums[f.type]
        if isinstance(f.default, str):
            return f.default if f.default in enum.values else enum.names.get(int(f.default, 0))
        return enum.names.get(0, 0)
    return f.default


def check_vector(tab: FbTable, off: int, elem_size: int) -> tuple[int, int]:
    """Start and length of the vector at field offset ``off``, bounds-checked."""
    start = tab.Vector(off)
    n = tab.VectorLen(off)
    if start < 0 or start + n * elem_size > len(tab.Bytes):
        raise SchemaError(f"vector of {n} elements at byte {start} runs past the end of the file")
    return start, n


# --------------------------------------------------------------------------- decoding
def decode(table_name: str, tab: FbTable, schema: Schema | None = None) -> dict:
    schema = schema or load()
    out = {}
    for f in schema.tables[table_name].fields:
        if f.deprecated:
            continue
        off = tab.Offset(4 + 2 * f.slot)
        out[f.name] = field_default(schema, f) if off == 0 else _decode_field(schema, f, tab, off)
    return out


def _decode_field(schema: Schema, f: Field, tab: FbTable, off: int):
    kind = schema.kind(f.type)
    if kind in ("scalar", "enum"):
        code = _scalar_code(schema, f.type)
        if f.is_vector:
            start, n = check_vector(tab, off, SCALARS_SIZE[code])
            arr = np.frombuffer(tab.Bytes, dtype=np.dtype(_NP[code]).newbyteorder("<"),
                                count=n, offset=start)
            if code == "B" and f.type in ("ubyte", "uint8"):
                return bytes(arr)
            values = arr.tolist()
            return [_enum_name(schema, f.type, v) for v in values] if kind == "enum" else values
        value = tab.Get(_FLAGS[code], tab.Pos + off)
        return _enum_name(schema, f.type, value) if kind == "enum" else value
    if kind == "string":
        if f.is_vector:
            start, n = check_vector(tab, off, 4)
            return [tab.String(start + 4 * i).decode("utf-8") for i in range(n)]
        return tab.String(tab.Pos + off).decode("utf-8")
    if kind == "table":
        if f.is_vector:
            start, n = check_vector(tab, off, 4)
            return [decode(f.type, FbTable(tab.Bytes, tab.Indirect(start + 4 * i)), schema)
                    for i in range(n)]
        return decode(f.type, FbTable(tab.Bytes, tab.Indirect(tab.Pos + off)), schema)
    raise SchemaError(f"unsupported field {f.name} of type {f.type} in an options table")


SCALARS_SIZE = {code: size for code, size in SCALARS.values()}


def _enum_name(schema: Schema, enum_name: str, value: int):
    return schema.enums[enum_name].names.get(value, value)


# --------------------------------------------------------------------------- encoding
def encode(builder: flatbuffers.Builder, table_name: str, values: dict,
           schema: Schema | None = None) -> int:
    """Write ``values`` as a ``table_name`` table; returns its offset."""
    schema = schema or load()
    table = schema.tables[table_name]
    live = {f.name: f for f in table.fields if not f.deprecated}
    unknown = set(values) - set(live)
    if unknown:
        raise SchemaError(f"{table_name} has no field(s) {sorted(unknown)}; "
                          f"fields are {sorted(live)}")
    offsets = {}
    for name, value in values.items():
        f = live[name]
        if f.is_vector or schema.kind(f.type) in ("string", "table"):
            if value is None or (f.is_vector and len(value) == 0):
                continue
            offsets[name] = _encode_offset_field(builder, schema, f, value)
    builder.StartObject(table.num_slots)
    for name, value in values.items():
        f = live[name]
        if name in offsets:
            builder.PrependUOffsetTRelativeSlot(f.slot, offsets[name], 0)
        elif not f.is_vector and schema.kind(f.type) in ("scalar", "enum"):
            code = _scalar_code(schema, f.type)
            raw = _enum_value(schema, f, value)
            default = _enum_value(schema, f, field_default(schema, f))
            builder.PrependSlot(_FLAGS[code], f.slot, raw, default)
    return builder.EndObject()


def _enum_value(schema: Schema, f: Field, value):
    if f.type in schema.enums and isinstance(value, str):
        try:
            return schema.enums[f.type].values[value]
        except KeyError:
            raise SchemaError(f"{value!r} is not a member of enum {f.type} (field {f.name}); "
                              f"members: {sorted(schema.enums[f.type].values)}") from None
    if f.type == "bool":
        return bool(value)
    return value


def _encode_offset_field(builder, schema: Schema, f: Field, value) -> int:
    kind = schema.kind(f.type)
    if kind == "string":
        if f.is_vector:
            offs = [builder.CreateString(s) for s in value]
            return offset_vector(builder, offs)
        return builder.CreateString(value)
    if kind == "table":
        if f.is_vector:
            return offset_vector(builder, [encode(builder, f.type, v, schema) for v in value])
        return encode(builder, f.type, value, schema)
    code = _scalar_code(schema, f.type)
    if isinstance(value, (bytes, bytearray, memoryview)):
        arr = np.frombuffer(value, dtype=np.uint8)
    else:
        arr = np.asarray([_enum_value(schema, f, v) for v in value], dtype=_NP[code])
    return builder.CreateNumpyVector(arr)


def offset_vector(builder, offsets: list[int]) -> int:
    builder.StartVector(4, len(offsets), 4)
    for off in reversed(offsets):
        builder.PrependUOffsetTRelative(off)
    return builder.EndVector()


# --------------------------------------------------------------------------- op -> table
# Ops whose options table is not named after the op (checked against real files in tests).
_OPTIONS_EXCEPTIONS = {
    "AVERAGE_POOL_2D": "Pool2DOptions", "MAX_POOL_2D": "Pool2DOptions",
    "L2_POOL_2D": "Pool2DOptions",
    "MEAN": "ReducerOptions", "SUM": "ReducerOptions", "REDUCE_PROD": "ReducerOptions",
    "REDUCE_MAX": "ReducerOptions", "REDUCE_MIN": "ReducerOptions",
    "REDUCE_ANY": "ReducerOptions", "REDUCE_ALL": "ReducerOptions",
    "MAXIMUM": "MaximumMinimumOptions", "MINIMUM": "MaximumMinimumOptions",
    "UNIDIRECTIONAL_SEQUENCE_RNN": "SequenceRNNOptions",
    "L2_NORMALIZATION": "L2NormOptions",
    "CONV_3D_TRANSPOSE": "Conv3DOptions",
    "RANDOM_UNIFORM": "RandomOptions", "RANDOM_STANDARD_NORMAL": "RandomOptions",
    "MULTINOMIAL": "RandomOptions",
}


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def options_table_for(opcode: str, schema: Schema | None = None) -> str | None:
    """The options table TFLite uses for builtin ``opcode`` (None if it takes none)."""
    if opcode in _OPTIONS_EXCEPTIONS:
        return _OPTIONS_EXCEPTIONS[opcode]
    return _tables_by_norm_name(schema or load()).get(_norm(opcode) + "options")


@functools.lru_cache(maxsize=4)
def _tables_by_norm_name(schema: Schema) -> dict[str, str]:
    return {_norm(member): member for union in ("BuiltinOptions", "BuiltinOptions2")
            for member in schema.unions[union][1:]}


def union_of(member: str, schema: Schema | None = None) -> tuple[str, int]:
    """(union name, type id) of an options table."""
    schema = schema or load()
    for union in ("BuiltinOptions", "BuiltinOptions2"):
        members = schema.unions[union]
        if member in members:
            return union, members.index(member)
    raise SchemaError(f"{member!r} is not a BuiltinOptions or BuiltinOptions2 table")


def defaults(table_name: str, schema: Schema | None = None) -> dict:
    """Every live field of ``table_name`` at its default value."""
    schema = schema or load()
    return {f.name: field_default(schema, f)
            for f in schema.tables[table_name].fields if not f.deprecated}
