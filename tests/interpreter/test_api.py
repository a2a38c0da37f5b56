"""The LiteRT Python API, checked side by side with LiteRT on the same models."""

from __future__ import annotations

import json
import subprocess
import sys
import tracemalloc

import numpy as np
import pytest

from edgelite import Interpreter
from edgelite.schema import write
from tests.interpreter.models import counter_loop_model, two_input_model, variable_model
from tests.litert_oracle import litert

_SCRIPT = r'''
import json, sys
import numpy as np
from {module} import Interpreter

interpreter = Interpreter(model_path=sys.argv[1])
interpreter.allocate_tensors()
input_details = interpreter.get_input_details()
output_details = interpreter.get_output_details()
rng = np.random.default_rng(0)
feeds = [rng.uniform(-1, 1, d["shape"]).astype(d["dtype"]) for d in input_details]
for d, x in zip(input_details, feeds):
    interpreter.set_tensor(d["index"], x)
interpreter.invoke()
result = {{"out": interpreter.get_tensor(output_details[0]["index"]).round(5).tolist()}}
result["inputs"] = [(d["name"], d["index"], d["shape"].tolist(), d["shape_signature"].tolist(),
                     d["dtype"].__name__, d["quantization"]) for d in input_details]
result["outputs"] = [(d["name"], d["shape"].tolist()) for d in output_details]
result["signatures"] = interpreter.get_signature_list()
runner = interpreter.get_signature_runner()
named = runner(**{{n: x for n, x in zip(sorted(runner.get_input_details()), feeds)}})
result["runner"] = {{k: v.round(5).tolist() for k, v in named.items()}}
del runner  # LiteRT refuses resize/invoke while a SignatureRunner holds its wrapper
first = input_details[0]
interpreter.resize_tensor_input(first["index"], [2] + list(first["shape"][1:]), strict=True)
interpreter.allocate_tensors()
for d, x in zip(interpreter.get_input_details(), feeds):
    interpreter.set_tensor(d["index"], np.concatenate([x, x]) if d["index"] == first["index"]
                           else x)
interpreter.invoke()
result["resized"] = interpreter.get_tensor(output_details[0]["index"]).shape
result["ops"] = [(o["op_name"], o["inputs"].tolist()) for o in interpreter._get_ops_details()]
print(json.dumps(result, sort_keys=True))
'''


def _run_script(module: str, model_path) -> dict:
    proc = subprocess.run([sys.executable, "-c", _SCRIPT.format(module=module), str(model_path)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_litert_script_runs_unmodified_with_only_the_import_changed(tmp_path):
    litert()
    path = tmp_path / "two_inputs.tflite"
    path.write_bytes(write(two_input_model()))
    ours = _run_script("edgelite.interpreter", path)
    theirs = _run_script("ai_edge_litert.interpreter", path)
    # LiteRT's default path appends its XNNPACK delegate's node to the op list
    theirs["ops"] = [op for op in theirs["ops"] if op[0] != "DELEGATE"]
    assert ours == theirs


def _interpreter(model=None, **kwargs):
    return Interpreter(model_content=write(model or two_input_model()), **kwargs)


def _both(model):
    lite = litert()
    blob = write(model)
    return Interpreter(model_content=blob), lite.Interpreter(model_content=blob)


def _error(fn):
    try:
        fn()
    except Exception as e:  # noqa: BLE001 - comparing what each runtime raises
        return type(e).__name__, str(e)
    return None


@pytest.mark.parametrize("value", [np.zeros((1, 4, 4, 3), np.float64),
                                   np.zeros((4, 4, 3), np.float32),
                                   np.zeros((1, 4, 5, 3), np.float32)], ids=["dtype", "rank", "dim"])
def test_set_tensor_errors_match_litert(value):
    ours, theirs = _both(two_input_model())
    ours.allocate_tensors()
    theirs.allocate_tensors()
    assert _error(lambda: ours.set_tensor(0, value)) == _error(lambda: theirs.set_tensor(0, value))
    assert _error(lambda: ours.set_tensor(0, value))[0] == "ValueError"


def test_index_and_lifecycle_errors_match_litert():
    ours, theirs = _both(two_input_model())
    assert _error(ours.invoke) == _error(theirs.invoke)
    ours.allocate_tensors()
    theirs.allocate_tensors()
    assert _error(lambda: ours.get_tensor(99)) == _error(lambda: theirs.get_tensor(99))
    assert _error(lambda: ours.get_signature_runner("nope")) == \
        _error(lambda: theirs.get_signature_runner("nope"))
    runner_ours, runner_theirs = ours.get_signature_runner(), theirs.get_signature_runner()
    x = np.zeros((1, 4, 4, 3), np.float32)
    assert _error(lambda: runner_ours(x=x, z=x)) == _error(lambda: runner_theirs(x=x, z=x))
    assert _error(lambda: runner_ours(x=x)) == _error(lambda: runner_theirs(x=x))


def test_details_match_litert():
    ours, theirs = _both(two_input_model())
    for interp in (ours, theirs):
        interp.allocate_tensors()
    for a, b in zip(ours.get_tensor_details(), theirs.get_tensor_details()):
        assert a.keys() == b.keys()
        assert (a["name"], a["index"], a["dtype"], a["quantization"]) == \
            (b["name"], b["index"], b["dtype"], b["quantization"])
        np.testing.assert_array_equal(a["shape"], b["shape"])
        np.testing.assert_array_equal(a["shape_signature"], b["shape_signature"])
        assert a["shape"].dtype == b["shape"].dtype
    assert ours.num_subgraphs() == theirs.num_subgraphs()


def test_tensor_view_blocks_invoke_until_released():
    interp = _interpreter()
    interp.allocate_tensors()
    view = interp.tensor(interp.get_input_details()[0]["index"])
    held = view()
    held[...] = 1.0      # zero-copy: writes go straight into the input
    with pytest.raises(RuntimeError, match="at least 1 reference to internal data"):
        interp.invoke()
    del held
    interp.invoke()
    assert interp.get_tensor(0)[0, 0, 0, 0] == 1.0


def test_kernels_binding_the_arena_keep_the_reference_check():
    """A kernel may make its views of the arena once, when the executor binds it
    (``Run.bind``): repeated invokes are then not taken for user references, and a real
    one still blocks invoke. The int8 1x1 conv takes such a kernel where the CPU has
    AVX-512 VNNI (elsewhere its kernel makes no views, and the test checks only that)."""
    from tests.kernels.test_conv_int import conv_options, quantized_model

    model, x = quantized_model("CONV_2D", np.int8, (1, 9, 8, 16), (24, 1, 1, 16),
                               conv_options(1, 1, "SAME", "NONE"))
    interp = Interpreter(model_content=write(model))
    interp.allocate_tensors()
    index = interp.get_input_details()[0]["index"]
    interp.set_tensor(index, x)
    for _ in range(3):
        interp.invoke()
    first = interp.get_tensor(interp.get_output_details()[0]["index"])
    held = interp.tensor(index)()
    with pytest.raises(RuntimeError, match="at least 1 reference to internal data"):
        interp.invoke()
    del held
    interp.invoke()
    np.testing.assert_array_equal(interp.get_tensor(interp.get_output_details()[0]["index"]),
                                  first)


def test_invoke_allocates_no_tensor_memory():
    interp = _interpreter()
    interp.allocate_tensors()
    interp.set_tensor(0, np.ones((1, 4, 4, 3), np.float32))
    interp.set_tensor(1, np.ones(3, np.float32))
    interp.invoke()
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    for _ in range(5):
        interp.invoke()
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    grown = sum(s.size_diff for s in after.compare_to(before, "filename") if s.size_diff > 0)
    assert grown < 4096, grown


def test_memory_report_and_preserve_all_tensors():
    interp = _interpreter()
    interp.allocate_tensors()
    report = interp.memory_report()
    assert set(report) == {"arena_bytes", "lower_bound_bytes", "naive_bytes"}
    assert report["lower_bound_bytes"] <= report["arena_bytes"] <= report["naive_bytes"]
    keep = _interpreter(experimental_preserve_all_tensors=True)
    keep.allocate_tensors()
    assert keep.memory_report()["arena_bytes"] == keep.memory_report()["naive_bytes"]
    keep.set_tensor(0, np.ones((1, 4, 4, 3), np.float32))
    keep.set_tensor(1, np.full(3, 2.0, np.float32))
    keep.invoke()
    np.testing.assert_array_equal(keep.get_tensor(2), np.full((1, 4, 4, 3), 3.0, np.float32))


@pytest.mark.parametrize("limit", [0, 1, 10])
def test_while_loop_matches_litert(limit):
    ours, theirs = _both(counter_loop_model(limit))
    feeds = [np.array(0, np.int32), np.array([1.5, -2.0], np.float32)]
    results = []
    for interp in (ours, theirs):
        interp.allocate_tensors()
        for d, x in zip(interp.get_input_details(), feeds):
            interp.set_tensor(d["index"], x)
        interp.invoke()
        results.append([interp.get_tensor(d["index"]) for d in interp.get_output_details()])
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)
    assert int(results[0][0]) == max(limit, 0)


def test_resource_variables_and_call_once_match_litert():
    ours, theirs = _both(variable_model())
    outs = {id(ours): [], id(theirs): []}
    for interp in (ours, theirs):
        interp.allocate_tensors()
        for step in range(3):
            interp.set_tensor(0, np.array([step, 10.0], np.float32))
            interp.invoke()
            outs[id(interp)].append(interp.get_tensor(interp.get_output_details()[0]["index"]))
        interp.reset_all_variables()
        interp.set_tensor(0, np.array([0, 0], np.float32))
        interp.invoke()
        outs[id(interp)].append(interp.get_tensor(interp.get_output_details()[0]["index"]))
    np.testing.assert_array_equal(outs[id(ours)], outs[id(theirs)])
    np.testing.assert_array_equal(outs[id(ours)][2], [4.0, 32.0])
    np.testing.assert_array_equal(outs[id(ours)][3], [4.0, 32.0])  # resources survive


def test_log_of_zero_and_negatives_are_values_not_warnings():
    import warnings

    from edgelite.schema import write
    from tests.kernels.harness import op_model, run_litert

    x = np.array([1.0, 0.0, -1.0], np.float32)
    blob = write(op_model("LOG", [x]))
    interp = Interpreter(model_content=blob)
    interp.allocate_tensors()
    interp.set_tensor(interp.get_input_details()[0]["index"], x)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        interp.invoke()
    out = interp.get_tensor(interp.get_output_details()[0]["index"])
    want = run_litert(blob, [x])[0]
    assert out[0] == 0.0 and out[1] == -np.inf and np.isnan(out[2])
    np.testing.assert_array_equal(out, want)
