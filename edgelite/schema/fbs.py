"""A small reader for the subset of the FlatBuffers IDL that ``schema.fbs`` uses.

The generated bindings cover the model's skeleton, but the ~180 options tables are
handled generically: ``schema.fbs`` is parsed once into :class:`Schema` (tables with
typed fields and their vtable slots, enums, unions), and :mod:`edgelite.schema.options`
decodes/encodes any table from that description.

Walk-through: comments are stripped, then each ``enum``/``union``/``table`` block is
matched by a regex and its body split on ``;`` (tables) or ``,`` (enums, unions).
A table field's slot is its position counting union fields twice (type + value), which
is how flatc assigns vtable offsets: ``4 + 2 * slot``.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from pathlib import Path

SCHEMA_PATH = Path(__file__).with_name("schema.fbs")

# FlatBuffers scalar type name -> (struct format char, byte size)
SCALARS = {
    "bool": ("?", 1), "byte": ("b", 1), "ubyte": ("B", 1), "short": ("h", 2),
    "ushort": ("H", 2), "int": ("i", 4), "uint": ("I", 4), "long": ("q", 8),
    "ulong": ("Q", 8), "float": ("f", 4), "double": ("d", 8),
    "int8": ("b", 1), "uint8": ("B", 1), "int16": ("h", 2), "uint16": ("H", 2),
    "int32": ("i", 4), "uint32": ("I", 4), "int64": ("q", 8), "uint64": ("Q", 8),
    "float32": ("f", 4), "float64": ("d", 8),
}


@dataclass(frozen=True)
class Field:
    name: str
    type: str            # scalar name, enum name, "string", table name or union name
    is_vector: bool
    default: object      # python value (enum defaults as member name)
    slot: int            # field index; vtable offset is 4 + 2 * slot
    deprecated: bool = False


@dataclass
class Enum:
    name: str
    base: str
    values: dict[str, int]
    names: dict[int, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.names = {v: k for k, v in self.values.items()}


@dataclass
class Table:
    name: str
    fields: list[Field]
    num_slots: int


@dataclass(eq=False)   # hashed by identity: caches key on the loaded schema
class Schema:
    tables: dict[str, Table]
    enums: dict[str, Enum]
    unions: dict[str, list[str]]   # union name -> members, index 0 is NONE

    def kind(self, type_name: str) -> str:
        if type_name in SCALARS:
            return "scalar"
        if type_name == "string":
            return "string"
        if type_name in self.enums:
            return "enum"
        if type_name in self.unions:
            return "union"
        if type_name in self.tables:
            return "table"
        raise KeyError(f"schema.fbs: unknown type {type_name!r}")


_BLOCK = re.compile(r"\b(enum|union|table)\s+(\w+)\s*(?::\s*(\w+))?\s*\{(.*?)\}", re.S)
_FIELD = re.compile(r"^(\w+)\s*:\s*(\[?)\s*(\w+)\s*\]?\s*(?:=\s*([^(]+?))?\s*(?:\((.*)\))?$", re.S)


def _parse_default(raw: str | None, type_name: str, is_vector: bool):
    if is_vector or type_name == "string":
        return None
    if raw is None:
        if type_name == "bool":
            return False
        if type_name in ("float", "double", "float32", "float64"):
            return 0.0
        return 0 if type_name in SCALARS else None
    raw = raw.strip()
    if type_name == "bool":
        return raw == "true"
    if type_name in ("float", "double", "float32", "float64"):
        return float(raw)
    if type_name in SCALARS:
        return int(raw)
    return raw  # enum member name


def parse(text: str) -> Schema:
    text = re.sub(r"//[^\n]*", "", text)
    tables: dict[str, Table] = {}
    enums: dict[str, Enum] = {}
    unions: dict[str, list[str]] = {}
    for kind, name, base, body in _BLOCK.findall(text):
        if kind == "enum":
            values, nxt = {}, 0
            for item in filter(None, (s.strip() for s in body.split(","))):
                key, _, val = (p.strip() for p in item.partition("="))
                nxt = int(val, 0) if val else nxt
                values[key] = nxt
                nxt += 1
            enums[name] = Enum(name, base, values)
        elif kind == "union":
            unions[name] = ["NONE"] + [s.strip() for s in body.split(",") if s.strip()]
        else:
            fields, slot = [], 0
            for item in filter(None, (s.strip() for s in body.split(";"))):
                m = _FIELD.match(item)
                if not m:
                    raise ValueError(f"schema.fbs: cannot parse field {item!r} in table {name}")
                fname, vec, ftype, raw_default, attrs = m.groups()
                fields.append(Field(fname, ftype, bool(vec), None, slot,
                                    "deprecated" in (attrs or "")))
                fields[-1] = _with_default(fields[-1], raw_default)
                slot += 1
            tables[name] = Table(name, fields, 0)
    schema = Schema(tables, enums, unions)
    # union fields take two slots (``<name>_type`` then the value): renumber
    for table in tables.values():
        slot, renumbered = 0, []
        for f in table.fields:
            if f.type in unions and not f.is_vector:
                slot += 1
            renumbered.append(Field(f.name, f.type, f.is_vector, f.default, slot, f.deprecated))
            slot += 1
        table.fields, table.num_slots = renumbered, slot
    return schema


def _with_default(f: Field, raw: str | None) -> Field:
    return Field(f.name, f.type, f.is_vector, _parse_default(raw, f.type, f.is_vector),
                 f.slot, f.deprecated)


@functools.lru_cache(maxsize=1)
def load() -> Schema:
    """The parsed ``schema.fbs`` shipped with the package (parsed once per process)."""
    return parse(SCHEMA_PATH.read_text())
