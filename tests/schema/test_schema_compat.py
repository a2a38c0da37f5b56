"""schema.fbs is wire-compatible with the TFLite schema of LiteRT 2.3.0.

Both sides are compared through their flatc-generated Python bindings: LiteRT's
``ai_edge_litert.schema_py_generated`` and our ``edgelite.schema.schema_generated``
(made from ``edgelite/schema/schema.fbs``). From the source of each module we extract

* per table: vtable offset -> primary accessor name, the value it returns when the
  field is absent (the default), and the number types it reads (the wire width);
* per enum (enums and unions alike): member -> value.

Accessor names may differ between flatc versions only in helper methods
(``XLength``, ``XAsNumpy``, ``XIsNone``), so those are dropped before comparing.
"""

from __future__ import annotations

import importlib
import inspect
import re
from dataclasses import dataclass, field

import pytest

LITERT_VERSION = "2.3.0"
INSTALL_HINT = f"pip install ai-edge-litert=={LITERT_VERSION}"
HELPER_SUFFIXES = ("Length", "AsNumpy", "IsNone")

_CLASS = re.compile(r"^class (\w+)\(object\):\n(.*?)(?=^\S|\Z)", re.M | re.S)
_METHOD = re.compile(r"^    def (\w+)\(self[^)]*\):\n(.*?)(?=^    \S|^\S|\Z)", re.M | re.S)
_OFFSET = re.compile(r"self\._tab\.Offset\((\d+)\)")
_ENUM_MEMBER = re.compile(r"^    (\w+) = (-?\d+)\s*$", re.M)
_FLAGS = re.compile(r"number_types\.(\w+)Flags")
_KINDS = ("String", "Indirect", "Union", "Vector")


@dataclass
class Slot:
    name: str          # primary accessor
    default: str       # the accessor's final ``return ...`` (value when absent)
    reads: tuple       # number types and tab helpers it uses (the wire type)


@dataclass
class Bindings:
    tables: dict[str, dict[int, Slot]] = field(default_factory=dict)
    enums: dict[str, dict[str, int]] = field(default_factory=dict)


def _slot_of(accessors: dict[str, str]) -> Slot:
    names = set(accessors)
    helpers = {n for n in names
               if any(n.endswith(s) and n[: -len(s)] in names for s in HELPER_SUFFIXES)}
    primary = sorted(names - helpers, key=len)
    assert len(primary) == 1, f"cannot tell the primary accessor among {sorted(names)}"
    name = primary[0]
    body = accessors[name]
    returns = re.findall(r"^\s*return (.+)$", body, re.M)
    reads = set(_FLAGS.findall(body)) - {"UOffsetT"}
    reads |= {k for k in _KINDS if f"self._tab.{k}(" in body}
    return Slot(name, returns[-1].strip() if returns else "", tuple(sorted(reads)))


def extract(module) -> Bindings:
    src = inspect.getsource(module)
    classes = dict(_CLASS.findall(src))
    out = Bindings()
    for cls, body in classes.items():
        if "def _UnPack(" in body or "def InitFromBuf(" in body:
            continue  # object-API class (``FooT``), not part of the wire format
        if "def Init(self, buf" in body:
            by_offset: dict[int, dict[str, str]] = {}
            for meth, mbody in _METHOD.findall(body):
                m = _OFFSET.search(mbody)
                if m:
                    by_offset.setdefault(int(m.group(1)), {})[meth] = mbody
            out.tables[cls] = {off: _slot_of(acc) for off, acc in by_offset.items()}
        else:
            out.enums[cls] = {k: int(v) for k, v in _ENUM_MEMBER.findall(body)}
    return out


def _load_litert():
    try:
        module = importlib.import_module("ai_edge_litert.schema_py_generated")
        from ai_edge_litert import __version__
    except ImportError as exc:
        pytest.fail(f"LiteRT's schema bindings are the reference ({exc}): {INSTALL_HINT}")
    if __version__ != LITERT_VERSION:
        pytest.fail(f"ai-edge-litert {__version__} installed, schema.fbs targets "
                    f"{LITERT_VERSION}: {INSTALL_HINT}")
    return module


@pytest.fixture(scope="module")
def litert() -> Bindings:
    return extract(_load_litert())


@pytest.fixture(scope="module")
def ours() -> Bindings:
    from edgelite.schema import schema_generated

    return extract(schema_generated)


def test_extraction_sees_the_whole_reference(litert: Bindings):
    # guards the regexes: a silently empty extraction would pass everything below
    assert len(litert.tables) >= 150 and len(litert.enums) >= 15
    assert litert.tables["Operator"][10].name == "BuiltinOptionsType"
    assert litert.enums["BuiltinOperator"]["CONV_2D"] == 3
    assert litert.tables["OperatorCode"][8].default == "1"


def test_tables_have_the_same_slots(litert: Bindings, ours: Bindings):
    problems = []
    for table, slots in sorted(litert.tables.items()):
        if table not in ours.tables:
            problems.append(f"table {table}: missing from schema.fbs")
            continue
        mine = ours.tables[table]
        for off in sorted(set(slots) | set(mine)):
            ref, got = slots.get(off), mine.get(off)
            where = f"table {table}, vtable offset {off} (field id {(off - 4) // 2})"
            if ref is None:
                problems.append(f"{where}: schema.fbs has {got.name}, LiteRT has no field there")
            elif got is None:
                problems.append(f"{where}: LiteRT has {ref.name}, schema.fbs has no field there")
            elif got.name != ref.name:
                problems.append(f"{where}: LiteRT has {ref.name}, schema.fbs has {got.name}")
            elif got.reads != ref.reads:
                problems.append(f"{where} ({ref.name}): LiteRT reads {ref.reads}, "
                                f"schema.fbs reads {got.reads} (field type differs)")
    assert not problems, "schema.fbs differs from LiteRT:\n" + "\n".join(problems)


def test_scalar_defaults_match(litert: Bindings, ours: Bindings):
    problems = []
    for table, slots in sorted(litert.tables.items()):
        for off, ref in sorted(slots.items()):
            got = ours.tables.get(table, {}).get(off)
            if got is not None and got.name == ref.name and got.default != ref.default:
                problems.append(f"table {table}, field {ref.name}: default (value when absent) "
                                f"is {ref.default} in LiteRT, {got.default} in schema.fbs")
    assert not problems, "schema.fbs defaults differ from LiteRT:\n" + "\n".join(problems)


def test_enums_and_unions_match(litert: Bindings, ours: Bindings):
    problems = []
    for enum, members in sorted(litert.enums.items()):
        if enum not in ours.enums:
            problems.append(f"enum {enum}: missing from schema.fbs")
            continue
        mine = ours.enums[enum]
        for name, value in members.items():
            if name not in mine:
                problems.append(f"enum {enum}: member {name} = {value} missing")
            elif mine[name] != value:
                problems.append(f"enum {enum}: member {name} is {mine[name]}, LiteRT has {value}")
        for name in sorted(set(mine) - set(members)):
            problems.append(f"enum {enum}: member {name} = {mine[name]} is not in LiteRT")
    assert not problems, "schema.fbs enums differ from LiteRT:\n" + "\n".join(problems)


def test_no_tables_or_enums_beyond_litert(litert: Bindings, ours: Bindings):
    extra = sorted(set(ours.tables) - set(litert.tables)) + \
        sorted(set(ours.enums) - set(litert.enums))
    assert not extra, f"schema.fbs declares types LiteRT {LITERT_VERSION} lacks: {extra}"
