"""A minimal protobuf wire-format reader: ``fields(buf)`` splits a message into
``{field_number: [values]}`` (varints as int, fixed32/64 as raw bytes, length-delimited
as bytes); the message readers in :mod:`.messages` interpret them by field number.
"""

from __future__ import annotations

import struct

from ...errors import ConversionError


def varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(buf):
            raise ConversionError("truncated protobuf varint")
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, pos
        shift += 7


def fields(buf: bytes) -> dict[int, list]:
    out: dict[int, list] = {}
    pos, end = 0, len(buf)
    while pos < end:
        key, pos = varint(buf, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = varint(buf, pos)
        elif wire == 1:
            value, pos = buf[pos:pos + 8], pos + 8
        elif wire == 2:
            n, pos = varint(buf, pos)
            value, pos = buf[pos:pos + n], pos + n
        elif wire == 5:
            value, pos = buf[pos:pos + 4], pos + 4
        else:
            raise ConversionError(f"unsupported protobuf wire type {wire}")
        out.setdefault(number, []).append(value)
    if pos != end:
        raise ConversionError("truncated protobuf message")
    return out


def signed(v: int) -> int:
    """An int64 varint as a signed value."""
    return v - (1 << 64) if v >= 1 << 63 else v


def first(f: dict, number: int, default=None):
    values = f.get(number)
    return values[-1] if values else default


def string(f: dict, number: int) -> str:
    return bytes(first(f, number, b"")).decode("utf-8", "replace")


def strings(f: dict, number: int) -> list[str]:
    return [bytes(v).decode("utf-8", "replace") for v in f.get(number, [])]


def packed_ints(f: dict, number: int) -> list[int]:
    """A repeated integer field, packed (bytes) or not."""
    out = []
    for v in f.get(number, []):
        if isinstance(v, int):
            out.append(signed(v))
            continue
        pos = 0
        while pos < len(v):
            x, pos = varint(v, pos)
            out.append(signed(x))
    return out


def packed_floats(f: dict, number: int, fmt: str = "<f") -> list[float]:
    """A repeated float/double field (packed or not: both are whole fixed-size items)."""
    out = []
    for v in f.get(number, []):
        out.extend(x for (x,) in struct.iter_unpack(fmt, bytes(v)))
    return out


def float32(v: bytes) -> float:
    return struct.unpack("<f", bytes(v))[0]


def map_entries(f: dict, number: int) -> list[tuple[bytes, bytes]]:
    """A map<string, Message> field as (key, value bytes) pairs."""
    out = []
    for entry in f.get(number, []):
        e = fields(entry)
        out.append((bytes(first(e, 1, b"")), first(e, 2, b"")))
    return out
