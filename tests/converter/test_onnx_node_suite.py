"""The ONNX backend node-test suite as a ratchet: the pass count may only go up.

Every case is converted with io_layout="keep", run in edgelite and in LiteRT (builtin
kernels), and compared with ONNX's expected outputs (rtol 1e-3, atol 1e-4). The README
states the current count; `python -m tests.converter.node_suite -v` lists the failures.
"""

from __future__ import annotations

from tests.converter.node_suite import run_suite

MINIMUM_PASSING = 1294


def test_node_suite_pass_count_does_not_regress():
    results = run_suite()
    passed = sum(r is None for r in results.values())
    print(f"ONNX node tests passing: {passed} of {len(results)}")
    assert len(results) > 1500, "the installed onnx has fewer node tests than expected"
    assert passed >= MINIMUM_PASSING, f"only {passed} node tests pass"
