"""Bounds checks on raw FlatBuffer bytes before any accessor touches them.

The generated bindings trust the file: a hostile offset makes them read garbage or
loop over a bogus vector length. This verifier (the Python counterpart of
``flatbuffers::Verifier``) walks the buffer from the root table using the parsed
``schema.fbs``:

* every table: its vtable lies inside the file, the vtable and object sizes are sane,
  and each present field fits inside the object;
* every offset (sub-table, string, vector) points inside the file, and a vector's
  ``length * element size`` fits in what remains;
* unions are followed through their ``_type`` field.

Work is capped (``budget``) so a file whose offsets point at the same vector over and
over cannot turn into an exponential walk. Scalar contents are not judged here; the
semantic checks (indices in range, sizes matching shapes) live in ``verify.py``.
"""

from __future__ import annotations

import struct

from .errors import SchemaError
from .fbs import SCALARS, Schema, load

_U8 = struct.Struct("<B").unpack_from
_U16 = struct.Struct("<H").unpack_from
_I32 = struct.Struct("<i").unpack_from
_U32 = struct.Struct("<I").unpack_from
_MAX_DEPTH = 64


class _Walker:
    def __init__(self, buf, schema: Schema) -> None:
        self.buf = buf
        self.n = len(buf)
        self.schema = schema
        self.budget = self.n // 4 + 1024

    def fail(self, what: str, path: str) -> None:
        raise SchemaError(f"corrupt FlatBuffer at {path}: {what}")

    def spend(self, path: str, amount: int = 1) -> None:
        self.budget -= amount
        if self.budget < 0:
            self.fail("too many references (offsets loop back on shared data)", path)

    def in_bounds(self, pos: int, size: int, path: str) -> None:
        if pos < 0 or pos + size > self.n:
            self.fail(f"{size} bytes at offset {pos} lie outside the {self.n}-byte file", path)

    def deref(self, pos: int, path: str) -> int:
        self.in_bounds(pos, 4, path)
        return pos + _U32(self.buf, pos)[0]

    def table(self, pos: int, name: str, path: str, depth: int) -> None:
        if depth > _MAX_DEPTH:
            self.fail("tables nested too deep", path)
        self.spend(path)
        self.in_bounds(pos, 4, path)
        vt = pos - _I32(self.buf, pos)[0]
        self.in_bounds(vt, 4, path + " (vtable)")
        vt_size, obj_size = _U16(self.buf, vt)[0], _U16(self.buf, vt + 2)[0]
        if vt_size < 4 or vt_size % 2:
            self.fail(f"vtable size {vt_size} is invalid", path)
        self.in_bounds(vt, vt_size, path + " (vtable)")
        self.in_bounds(pos, max(obj_size, 4), path)
        fields = self.schema.tables[name].fields
        for f in fields:
            off = self.field_offset(vt, vt_size, f.slot)
            if not off:
                continue
            fpath = f"{path}.{f.name}"
            kind = self.schema.kind(f.type)
            size = 4 if f.is_vector or kind in ("string", "table", "union") else \
                self.scalar_size(f.type)
            if off + size > obj_size:
                self.fail(f"field lies outside its table ({off}+{size} > {obj_size})", fpath)
            at = pos + off
            if f.is_vector:
                self.vector(self.deref(at, fpath), f.type, fpath, depth)
            elif kind == "string":
                self.string(self.deref(at, fpath), fpath)
            elif kind == "table":
                self.table(self.deref(at, fpath), f.type, fpath, depth + 1)
            elif kind == "union":
                toff = self.field_offset(vt, vt_size, f.slot - 1)
                type_id = _U8(self.buf, pos + toff)[0] if toff else 0
                members = self.schema.unions[f.type]
                if 0 < type_id < len(members):
                    self.table(self.deref(at, fpath), members[type_id],
                               f"{fpath}<{members[type_id]}>", depth + 1)

    def field_offset(self, vt: int, vt_size: int, slot: int) -> int:
        fo = 4 + 2 * slot
        return _U16(self.buf, vt + fo)[0] if fo < vt_size else 0

    def scalar_size(self, type_name: str) -> int:
        if type_name in self.schema.enums:
            type_name = self.schema.enums[type_name].base
        return SCALARS[type_name][1]

    def string(self, pos: int, path: str) -> None:
        self.in_bounds(pos, 4, path)
        self.in_bounds(pos + 4, _U32(self.buf, pos)[0], path)

    def vector(self, pos: int, elem_type: str, path: str, depth: int) -> None:
        self.in_bounds(pos, 4, path)
        count = _U32(self.buf, pos)[0]
        kind = self.schema.kind(elem_type)
        elem = 4 if kind in ("string", "table") else self.scalar_size(elem_type)
        self.in_bounds(pos + 4, count * elem, path)
        if kind in ("string", "table"):
            self.spend(path, count)
            for i in range(count):
                at = pos + 4 + 4 * i
                if kind == "string":
                    self.string(self.deref(at, f"{path}[{i}]"), f"{path}[{i}]")
                else:
                    self.table(self.deref(at, f"{path}[{i}]"), elem_type, f"{path}[{i}]",
                               depth + 1)


def verify_flatbuffer(buf, identifier: bytes = b"TFL3", root: str = "Model",
                      schema: Schema | None = None) -> None:
    """Raise :class:`SchemaError` unless ``buf`` is a structurally sound ``root`` buffer."""
    n = len(buf)
    if n < 8:
        raise SchemaError(f"not a TFLite model: {n} bytes is too short for a FlatBuffer")
    ident = bytes(buf[4:8])
    if ident != identifier:
        raise SchemaError(f"not a TFLite model: file identifier is {ident!r}, "
                          f"expected {identifier!r}")
    walker = _Walker(buf, schema or load())
    walker.table(_U32(buf, 0)[0], root, root, 0)
