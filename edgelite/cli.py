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


def _parse_input_shapes(items: list[str]) -> dict:
    shapes = {}
    for item in items or []:
        name, sep, dims = item.rpartition("=")
        if not sep or not name:
            raise ValueError(f"--input-shape {item!r}: expected NAME=D0,D1,...")
        try:
            shapes[name] = [int(d) for d in dims.split(",")]
        except ValueError:
            raise ValueError(f"--input-shape {item!r}: dimensions must be integers") from None
    return shapes


def _quantize_settings(conv, args: argparse.Namespace) -> None:
    """--quantize / --calibration / --io-dtype as TFLiteConverter attributes."""
    import numpy as np

    from .converter import Optimize

    if args.calibration and not args.quantize:
        raise ValueError("--calibration needs --quantize")
    if args.io_dtype and args.quantize != "int8":
        raise ValueError("--io-dtype needs --quantize int8")
    if not args.quantize:
        return
    if args.quantize != "int8":
        raise ValueError(f"--quantize {args.quantize}: not available yet")
    if not args.calibration:
        raise ValueError("--quantize int8 needs --calibration FILE (.npy or .npz samples)")
    from .quantize.dataset import load_calibration

    conv.optimizations = [Optimize.DEFAULT]
    conv.representative_dataset = load_calibration(args.calibration)
    io = np.dtype(args.io_dtype or "float32")
    conv.inference_input_type = conv.inference_output_type = io


def _convert(args: argparse.Namespace) -> int:
    import os
    import tempfile

    from .converter import Converter

    conv = Converter.from_onnx(args.input)
    conv.io_layout = args.io_layout
    conv.input_shapes = _parse_input_shapes(args.input_shape) or None
    _quantize_settings(conv, args)
    model = conv.convert_to_ir()
    from .schema import write

    blob = write(model)
    out = Path(args.output)
    # atomic: a failed or interrupted conversion leaves no partial file behind
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", dir=str(out.parent or Path(".")))
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(blob)
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    if args.report:
        print(format_summary(summarize(model), str(out)))
    else:
        print(f"wrote {out} ({len(blob)} bytes, {len(model.subgraphs[0].operators)} ops)")
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
    c = sub.add_parser("convert", help="convert an ONNX model to .tflite")
    c.add_argument("input", help="path to an .onnx file")
    c.add_argument("-o", "--output", required=True, help="the .tflite file to write")
    c.add_argument("--io-layout", choices=["keep", "nhwc"], default="keep",
                   help="keep ONNX's input/output layout, or make them channels-last")
    c.add_argument("--input-shape", action="append", metavar="NAME=D0,D1,...",
                   help="fix an input's shape (repeatable)")
    c.add_argument("--quantize", choices=["int8", "int16x8", "float16", "dynamic"])
    c.add_argument("--calibration", help="calibration samples (.npy/.npz/image directory)")
    c.add_argument("--io-dtype", choices=["float32", "int8", "uint8"],
                   help="input/output type of an int8 model (default float32)")
    c.add_argument("--report", action="store_true", help="print a summary of the result")
    c.set_defaults(func=_convert)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (SchemaError, PrepareError, ValueError, FileNotFoundError, IsADirectoryError,
            PermissionError, NotADirectoryError) as e:
        print(f"edgelite {args.command}: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
