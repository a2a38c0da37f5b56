"""The ``edgelite`` command line: one subcommand per job."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .schema import SchemaError, read

DEFAULT_MODEL = str(Path(__file__).with_name("models") / "mobilenet_v2_035_int8.tflite")
from .summary import format_summary, summarize


def _inspect(args: argparse.Namespace) -> int:
    info = summarize(read(args.model))
    if args.json:
        json.dump(info, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        print(format_summary(info, args.model))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="edgelite", description="TFLite-compatible converter, quantizer and interpreter")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("inspect", help="show a .tflite model's subgraphs, I/O, ops and sizes")
    p.add_argument("model", nargs="?", default=DEFAULT_MODEL,
                   help="path to a .tflite file (default: the bundled MobileNetV2 int8)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.set_defaults(func=_inspect)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (SchemaError, FileNotFoundError, IsADirectoryError, PermissionError) as e:
        print(f"edgelite {args.command}: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
