"""The committed generated bindings match what flatc makes of schema.fbs."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def test_generated_bindings_are_current():
    if shutil.which("flatc") is None:
        pytest.fail("flatc is needed to check the bindings: apt-get install flatbuffers-compiler")
    proc = subprocess.run([sys.executable, str(REPO / "scripts" / "regenerate_schema.py"),
                           "--check"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_every_builtin_op_maps_to_an_existing_options_table():
    from edgelite.schema import options
    from edgelite.schema.fbs import load

    schema = load()
    mapped = {op: options.options_table_for(op) for op in schema.enums["BuiltinOperator"].values}
    members = set(schema.unions["BuiltinOptions"]) | set(schema.unions["BuiltinOptions2"])
    assert all(t in members for t in mapped.values() if t), mapped
    # every options table but a handful of legacy ones is reachable from some op
    unused = members - set(mapped.values()) - {"NONE"}
    assert len(unused) < 8, sorted(unused)
    assert mapped["CONV_2D"] == "Conv2DOptions" and mapped["MEAN"] == "ReducerOptions"
    assert mapped["STABLEHLO_COMPOSITE"] == "StableHLOCompositeOptions"
    assert mapped["LOGISTIC"] is None
