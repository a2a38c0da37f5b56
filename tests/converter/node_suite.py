"""ONNX's backend node tests through the converter: convert (io_layout="keep"), run in
edgelite and in LiteRT, compare with the expected outputs (rtol 1e-3, atol 1e-4).

    python -m tests.converter.node_suite [-v] [-k SUBSTRING]

prints the pass count and, per failure reason, how many cases hit it.
"""

from __future__ import annotations

import argparse
import collections
import sys
import warnings

import numpy as np

RTOL, ATOL = 1e-3, 1e-4


def cases():
    from onnx.backend.test.case.node import collect_testcases

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return collect_testcases(None)


def _run(make, blob, inputs):
    interp = make(model_content=blob)
    details = interp.get_input_details()
    for d, x in zip(details, inputs):
        if list(d["shape"]) != list(np.shape(x)):
            interp.resize_tensor_input(d["index"], np.shape(x))
    interp.allocate_tensors()
    for d, x in zip(details, inputs):
        interp.set_tensor(d["index"], np.asarray(x))
    interp.invoke()
    return [interp.get_tensor(d["index"]).copy() for d in interp.get_output_details()]


def _close(got, want) -> str | None:
    want = np.asarray(want)
    if got.shape != want.shape:
        return f"shape {list(got.shape)} != {list(want.shape)}"
    if want.dtype.kind in "fc":
        if not np.allclose(got.astype(np.float64), want.astype(np.float64), rtol=RTOL,
                           atol=ATOL, equal_nan=True):
            return "values differ"
    elif not np.array_equal(got, want):
        return "values differ"
    if got.dtype != want.dtype:
        return f"dtype {got.dtype} != {want.dtype}"
    return None


def check_case(case, with_litert: bool = True) -> str | None:
    """None when the case passes, else a short reason."""
    from ai_edge_litert import interpreter as lite

    from edgelite import Converter, Interpreter

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            blob = Converter.from_onnx(case.model).convert()
    except Exception as e:
        return f"convert: {type(e).__name__}: {str(e).splitlines()[0][:120]}"
    for inputs, outputs in case.data_sets:
        try:
            got = _run(Interpreter, blob, inputs)
        except Exception as e:
            return f"edgelite: {type(e).__name__}: {str(e).splitlines()[0][:120]}"
        if len(got) != len(outputs):
            return f"{len(got)} outputs, expected {len(outputs)}"
        for g, w in zip(got, outputs):
            reason = _close(g, w)
            if reason:
                return f"edgelite: {reason}"
        if with_litert:
            def make(**kw):
                return lite.Interpreter(
                    experimental_op_resolver_type=lite.OpResolverType.
                    BUILTIN_WITHOUT_DEFAULT_DELEGATES, **kw)
            try:
                theirs = _run(make, blob, inputs)
            except Exception as e:
                return f"LiteRT: {type(e).__name__}: {str(e).splitlines()[0][:120]}"
            for g, w in zip(theirs, outputs):
                reason = _close(g, w)
                if reason:
                    return f"LiteRT: {reason}"
    return None


def run_suite(pattern: str = "", with_litert: bool = True):
    results = {}
    for case in cases():
        if pattern and pattern not in case.name:
            continue
        results[case.name] = check_case(case, with_litert)
    return results


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-v", action="store_true", help="print every failing case")
    ap.add_argument("-k", default="", help="only cases whose name contains this")
    ap.add_argument("--no-litert", action="store_true")
    args = ap.parse_args()
    results = run_suite(args.k, not args.no_litert)
    passed = sum(r is None for r in results.values())
    reasons = collections.Counter(r.split(":")[0] + ":" + r.split(":")[1] if r.count(":") > 1
                                  else r for r in results.values() if r)
    if args.v:
        for name, r in sorted(results.items()):
            if r:
                print(f"{name}: {r}")
    for r, n in reasons.most_common(40):
        print(f"{n:5d}  {r}")
    print(f"passed {passed} of {len(results)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
