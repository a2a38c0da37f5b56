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
    from .benchmark import (
        LiteRTMissing,
        format_comparison,
        format_result,
        run_benchmark,
        run_comparison,
    )

    if args.compare_litert and args.gpu:
        print("edgelite benchmark: error: --gpu and --compare-litert do not combine yet",
              file=sys.stderr)
        return 2
    if args.compare_litert:
        try:
            result = run_comparison(args.model, threads=args.threads, runs=args.runs,
                                    warmup=args.warmup, profile=args.profile)
        except LiteRTMissing as e:
            print(f"edgelite benchmark: error: {e}", file=sys.stderr)
            return 2
        text = format_comparison(result)
    else:
        try:
            result = run_benchmark(args.model, threads=args.threads, runs=args.runs,
                                   warmup=args.warmup, profile=args.profile, gpu=args.gpu)
        except RuntimeError as e:   # the GPU delegate: no wgpu / no adapter, or a prepare error
            if args.gpu is None:
                raise
            print(f"edgelite benchmark: error: {e}", file=sys.stderr)
            return 2
        text = format_result(result)
    if args.json:
        json.dump(result, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        print(text)
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
    """--quantize / --calibration / --io-dtype as TFLiteConverter attributes: ``int8``
    and ``int16x8`` (calibrated full integer), ``dynamic`` (int8 weights) and ``float16``
    (float16 weights), the last two without calibration."""
    import numpy as np

    from .converter import OpsSet, Optimize

    if args.calibration and not args.quantize:
        raise ValueError("--calibration needs --quantize")
    for flag, given in (("--io-dtype", args.io_dtype), ("--denylist", args.denylist),
                        ("--keep-float", args.keep_float)):
        if given and args.quantize not in ("int8", "int16x8"):
            raise ValueError(f"{flag} needs --quantize int8 or int16x8")
    if not args.quantize:
        return
    conv.optimizations = [Optimize.DEFAULT]
    if args.quantize in ("dynamic", "float16"):
        if args.calibration:
            raise ValueError(f"--quantize {args.quantize} takes no --calibration "
                             "(weights only)")
        if args.quantize == "float16":
            conv.target_spec.supported_types = [np.float16]
        return
    if not args.calibration:
        raise ValueError(f"--quantize {args.quantize} needs --calibration FILE|DIR "
                         "(.npy/.npz samples or a directory of images)")
    from .quantize.dataset import load_calibration

    if args.quantize == "int16x8":
        conv.target_spec.supported_ops = {
            OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8}
    conv.representative_dataset = load_calibration(
        args.calibration, size=args.size, mean=_floats(args.mean, "--mean"),
        std=_floats(args.std, "--std"), layout="nhwc" if args.io_layout == "nhwc" else "nchw")
    io = np.dtype(args.io_dtype or "float32")
    conv.inference_input_type = conv.inference_output_type = io
    conv.range_estimator = args.range_estimator
    conv.quantize_denylist = {v for v in (args.denylist or "").split(",") if v}
    conv.quantize_keep_float = args.keep_float
    total = len(conv.representative_dataset)
    if sys.stderr.isatty():   # a progress bar while the float model calibrates
        def progress(done: int) -> None:
            bar = "#" * (30 * done // total)
            print(f"\rcalibrating [{bar:<30}] {done}/{total}", end="" if done < total
                  else "\n", file=sys.stderr, flush=True)
        conv.calibration_progress = progress


def _floats(text: str, flag: str) -> tuple[float, ...]:
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        raise ValueError(f"{flag} {text!r}: expected numbers separated by commas") from None
    if len(values) not in (1, 3):
        raise ValueError(f"{flag} {text!r}: give one value or three (R,G,B)")
    return values * 3 if len(values) == 1 else values


def _convert(args: argparse.Namespace) -> int:
    import os
    import tempfile

    from .converter import Converter

    src = args.input
    if os.path.isdir(src) and os.path.isfile(os.path.join(src, "saved_model.pb")):
        conv = Converter.from_saved_model(src)
    elif src.lower().endswith((".keras", ".h5", ".hdf5")):
        conv = Converter.from_keras(src)
    else:
        conv = Converter.from_onnx(src)
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
            mask = os.umask(0)   # mkstemp makes 0600 files: give the usual 0666 & ~umask
            os.umask(mask)
            os.fchmod(f.fileno(), 0o666 & ~mask)
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    if args.report:
        print(format_summary(summarize(model), str(out)))
    else:
        print(f"wrote {out} ({len(blob)} bytes, {len(model.subgraphs[0].operators)} ops)")
    if args.quantize in ("int8", "int16x8"):
        floats = _float_ops(model)
        if floats:
            print(f"kept in float (no integer kernel or denylisted): {', '.join(floats)}")
    return 0


def _float_ops(model) -> list[str]:
    """``index:OPCODE`` of the main subgraph's ops that compute in float32."""
    sg = model.subgraphs[0]
    return [f"{k}:{op.opcode}" for k, op in enumerate(sg.operators)
            if op.opcode not in ("QUANTIZE", "DEQUANTIZE")
            and any(t >= 0 and sg.tensors[t].dtype == "float32" for t in op.outputs)]


def _quantize_report(args: argparse.Namespace) -> int:
    from .quantize.dataset import load_calibration
    from .quantize.debugger import compare, format_report

    blobs = []
    for path in (args.float_model, args.quant_model):
        if not Path(path).is_file():
            raise FileNotFoundError(f"model {path!r} does not exist")
        blobs.append(Path(path).read_bytes())
    reports = compare(*blobs, load_calibration(args.calibration))
    if not reports:
        raise ValueError("no quantized tensor of the second model matches a float tensor "
                         "of the first by name")
    print(format_report(reports, args.top))
    return 0


def _warmup(args: argparse.Namespace) -> int:
    from .warmup import warmup

    warmup(args.models)
    return 0


def _demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    run_demo(args.image, threads=args.threads, runs=args.runs, top_k=args.top_k)
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
    b.add_argument("--threads", type=int, default=1,
                   help="threads for each runtime (edgelite's kernels; LiteRT)")
    b.add_argument("--runs", type=int, default=50)
    b.add_argument("--warmup", type=int, default=5)
    b.add_argument("--profile", action="store_true", help="per-op time table (edgelite)")
    b.add_argument("--compare-litert", action="store_true",
                   help="also time LiteRT (default delegates: XNNPACK) on the same inputs, "
                        "alternating invokes, and print the ratio")
    b.add_argument("--gpu", nargs="?", const="fp32", choices=["fp32", "fp16"],
                   help="run with the WebGPU delegate (default fp32; needs the gpu extra)")
    b.add_argument("--json", action="store_true")
    b.set_defaults(func=_benchmark)
    c = sub.add_parser("convert", help="convert an ONNX / Keras / SavedModel model to .tflite")
    c.add_argument("input", help="an .onnx, .keras or .h5 file, or a SavedModel directory")
    c.add_argument("-o", "--output", required=True, help="the .tflite file to write")
    c.add_argument("--io-layout", choices=["keep", "nhwc"], default="keep",
                   help="keep ONNX's input/output layout, or make them channels-last")
    c.add_argument("--input-shape", action="append", metavar="NAME=D0,D1,...",
                   help="fix an input's shape (repeatable)")
    c.add_argument("--quantize", choices=["int8", "int16x8", "float16", "dynamic"])
    c.add_argument("--calibration", help="calibration samples (.npy/.npz/image directory)")
    c.add_argument("--io-dtype", choices=["float32", "int8", "uint8", "int16"],
                   help="input/output type of an int8/int16x8 model (default float32)")
    c.add_argument("--range-estimator", choices=["mse", "minmax", "percentile"],
                   default="mse", help="activation ranges (minmax: TensorFlow's)")
    c.add_argument("--denylist", metavar="OP_OR_TENSOR,...",
                   help="op types or output tensor names to keep in float")
    c.add_argument("--keep-float", type=int, default=0, metavar="N",
                   help="keep the N ops that lose most to quantization in float")
    c.add_argument("--size", type=int, default=224,
                   help="image calibration: square size the images are resized to")
    c.add_argument("--mean", default="0.5", help="image calibration: mean of pixel/255")
    c.add_argument("--std", default="0.5", help="image calibration: std of pixel/255")
    c.add_argument("--report", action="store_true", help="print a summary of the result")
    c.set_defaults(func=_convert)
    q = sub.add_parser("quantize-report",
                       help="per-tensor error of a quantized model against its float original")
    q.add_argument("float_model", help="the float .tflite")
    q.add_argument("quant_model", help="the quantized .tflite made from it")
    q.add_argument("--calibration", required=True,
                   help="samples as for convert --calibration (.npy/.npz)")
    q.add_argument("--top", type=int, default=None, help="show only the N worst tensors")
    q.set_defaults(func=_quantize_report)
    w = sub.add_parser("warmup", help="compile the kernels models need into the numba cache")
    w.add_argument("models", nargs="*", metavar="MODEL",
                   help=".tflite files (default: the models bundled in edgelite/models)")
    w.set_defaults(func=_warmup)
    d = sub.add_parser("demo", help="classify the bundled cat photo with the bundled int8 "
                                    "EfficientNet-Lite0 (top-5 labels and latency)")
    d.add_argument("image", nargs="?", help="a PNG photo instead of the bundled cat")
    d.add_argument("--threads", type=int, default=None, help="interpreter threads")
    d.add_argument("--runs", type=int, default=10, help="timed invokes after the first")
    d.add_argument("--top-k", type=int, default=5, help="how many labels to print")
    d.set_defaults(func=_demo)
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
