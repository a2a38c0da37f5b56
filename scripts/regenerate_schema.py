"""Regenerate edgelite/schema/schema_generated.py from schema.fbs with flatc.

usage: python scripts/regenerate_schema.py [--check]

The bindings are committed; ``--check`` (also run by tests/schema/test_bindings.py)
fails if they differ from what flatc makes of the current schema.fbs. flatc comes from
Debian's ``flatbuffers-compiler`` (2.0.8 on bookworm, the version the bindings were made
with): ``apt-get install flatbuffers-compiler``.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

SCHEMA_DIR = Path(__file__).resolve().parents[1] / "edgelite" / "schema"
FBS = SCHEMA_DIR / "schema.fbs"
GENERATED = SCHEMA_DIR / "schema_generated.py"


def generate(out_dir: Path) -> Path:
    flatc = shutil.which("flatc")
    if flatc is None:
        raise RuntimeError("flatc not found: apt-get install flatbuffers-compiler")
    subprocess.run([flatc, "--python", "--gen-onefile", "-o", str(out_dir), str(FBS)],
                   check=True, capture_output=True, text=True)
    return out_dir / GENERATED.name


def main(argv: list[str]) -> int:
    if "--check" in argv:
        with tempfile.TemporaryDirectory() as tmp:
            fresh = generate(Path(tmp)).read_text()
        if fresh != GENERATED.read_text():
            print(f"{GENERATED} is stale: run python scripts/regenerate_schema.py")
            return 1
        print(f"{GENERATED.name} is current")
        return 0
    shutil.copyfile(generate(Path(tempfile.mkdtemp())), GENERATED)
    print(f"wrote {GENERATED}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
