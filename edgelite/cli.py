"""The ``edgelite`` command line: one subcommand per job."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .kernels.api import PrepareError
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


def _benchmark(args: argparse.Namespace) -> int:
    from .benchmark import format_result, run_benchmark

    result = run_benchmark(args.model, threads=args.threads, runs=args.runs,
                           warmup=args.warmup, profile=args.profile)
    if args.json:
        json.dump(result, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        print(format_result(result))
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
    b = sub.add_parser("benchmark", help="time a .tflite model (init, first invoke, latency)")
    b.add_argument("model", nargs="?", default=DEFAULT_MODEL, help="path to a .tflite file")
    b.add_argument("--threads", type=int, default=1)
    b.add_argument("--runs", type=int, default=50)
    b.add_argument("--warmup", type=int, default=5)
    b.add_argument("--profile", action="store_true", help="per-op time table")
    b.add_argument("--json", action="store_true")
    b.set_defaults(func=_benchmark)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (SchemaError, PrepareError, ValueError, FileNotFoundError, IsADirectoryError,
            PermissionError) as e:
        print(f"edgelite {args.command}: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
