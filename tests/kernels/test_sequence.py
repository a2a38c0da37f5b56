"""UNIDIRECTIONAL_SEQUENCE_LSTM, BIDIRECTIONAL_SEQUENCE_LSTM and UNIDIRECTIONAL_SEQUENCE_RNN
against LiteRT, state carried across two invokes (the states are variable tensors).

Float tolerance rtol 1e-4 / atol 1e-5: the matrix-vector sums run in a different order
than LiteRT's, and its tanh/sigmoid are Eigen approximations.
"""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from edgelite.interpreter import Interpreter
from edgelite.kernels.api import PrepareError
from edgelite.schema import write
from tests.kernels.harness import compare, op_model, run_kernel

TOL = {"rtol": 1e-4, "atol": 1e-5}
UNI_STATES = (18, 19)
BIDI_STATES = (35, 36, 37, 38)


def _rand(rng, *shape):
    return rng.uniform(-0.6, 0.6, shape).astype(np.float32)


def _cell(rng, n_in, nc, n_out, cifg=False, peephole=False, proj=False, proj_bias=True):
    """The 17 weight inputs of one LSTM direction, TFLite order (None = absent)."""
    w = [None if cifg else _rand(rng, nc, n_in)] + [_rand(rng, nc, n_in) for _ in range(3)]
    r = [None if cifg else _rand(rng, nc, n_out)] + [_rand(rng, nc, n_out) for _ in range(3)]
    p = [_rand(rng, nc) if peephole and not cifg else None] + \
        [_rand(rng, nc) if peephole else None for _ in range(2)]
    b = [None if cifg else _rand(rng, nc)] + [_rand(rng, nc) for _ in range(3)]
    pw = [_rand(rng, n_out, nc) if proj else None,
          _rand(rng, n_out) if proj and proj_bias else None]
    return w + r + p + b + pw


def _uni_model(batch=2, steps=3, n_in=4, nc=5, time_major=False, cifg=False, peephole=False,
               proj=False, proj_bias=True, norm=False, cell_clip=0.0, proj_clip=0.0,
               activation="TANH", const=True, seed=0):
    rng = np.random.default_rng(seed)
    n_out = 3 if proj else nc
    x = _rand(rng, *((steps, batch, n_in) if time_major else (batch, steps, n_in)))
    ins = [x] + _cell(rng, n_in, nc, n_out, cifg, peephole, proj, proj_bias)
    ins += [np.zeros((batch, n_out), np.float32), np.zeros((batch, nc), np.float32)]
    ins += [None if cifg or not norm else _rand(rng, nc)] + \
        [_rand(rng, nc) if norm else None for _ in range(3)]
    options = {"fused_activation_function": activation, "cell_clip": cell_clip,
               "proj_clip": proj_clip, "time_major": time_major}
    flags = [i > 0 and i not in UNI_STATES for i in range(24)]
    model = op_model("UNIDIRECTIONAL_SEQUENCE_LSTM", ins, options,
                     const=flags if const else None,
                     variables=[i in UNI_STATES for i in range(24)])
    feeds = [x] if const else [v for i, v in enumerate(ins)
                               if v is not None and i not in UNI_STATES]
    return model, feeds


UNI_CASES = {
    "plain": {}, "cifg": {"cifg": True}, "peephole": {"peephole": True},
    "peephole_cifg": {"peephole": True, "cifg": True},
    "projection": {"proj": True}, "projection_no_bias_clip": {"proj": True, "proj_bias": False,
                                                              "proj_clip": 0.1},
    "layer_norm": {"norm": True}, "layer_norm_cifg": {"norm": True, "cifg": True},
    "cell_clip_peephole": {"cell_clip": 0.2, "peephole": True},
    "everything": {"peephole": True, "proj": True, "norm": True, "cell_clip": 0.5,
                   "proj_clip": 0.3},
}


@pytest.mark.parametrize("case", list(UNI_CASES))
@pytest.mark.parametrize("time_major", [False, True])
def test_unidirectional_lstm(case, time_major):
    model, feeds = _uni_model(time_major=time_major, **UNI_CASES[case])
    compare(model, feeds, invokes=2, **TOL)


@pytest.mark.parametrize("activation", ["NONE", "RELU", "RELU6", "RELU_N1_TO_1", "SIGN_BIT"])
def test_unidirectional_lstm_activations(activation):
    # NONE: TFLite's float kernel computes h = o * g (its scratch keeps the cell gate)
    model, feeds = _uni_model(activation=activation, peephole=True, seed=3)
    compare(model, feeds, invokes=2, **TOL)


@pytest.mark.parametrize("shape", [(1, 1, 1, 1), (3, 6, 7, 8)], ids=str)
def test_unidirectional_lstm_shapes_and_runtime_weights(shape):
    batch, steps, n_in, nc = shape
    model, feeds = _uni_model(batch, steps, n_in, nc, peephole=True, proj=True, norm=True,
                              const=False, seed=5)
    compare(model, feeds, invokes=2, **TOL)


def test_unidirectional_lstm_legacy_20_inputs():
    model, feeds = _uni_model(peephole=True, seed=7)
    op = model.subgraphs[0].operators[0]
    op.inputs = op.inputs[:20]
    compare(model, feeds, invokes=2, **TOL)


@pytest.mark.parametrize("cifg", [False, True])
def test_unidirectional_lstm_v4_diagonal_recurrent(cifg):
    model, feeds = _uni_model(cifg=cifg, peephole=True, seed=9)
    sg = model.subgraphs[0]
    op = sg.operators[0]
    op.version = 4
    op.options["diagonal_recurrent_tensors"] = True
    for i in op.inputs[5:9]:
        if i >= 0:
            t = sg.tensors[i]
            t.data = np.ascontiguousarray(t.data[:, 0])
            t.shape = t.data.shape
    compare(model, feeds, invokes=2, **TOL)


def _bidi_model(merge=False, time_major=True, batch=2, aux=None, cifg=False, peephole=False,
                proj=False, seed=1):
    rng = np.random.default_rng(seed)
    steps, n_in, nc, n_aux = 3, 4, 5, 2
    n_out = 3 if proj else nc   # LiteRT checks both directions against the forward sizes
    x = _rand(rng, *((steps, batch, n_in) if time_major else (batch, steps, n_in)))
    ins = [x] + _cell(rng, n_in, nc, n_out, cifg, peephole, proj) + \
        _cell(rng, n_in, nc, n_out, cifg, peephole, proj)
    ins += [np.zeros((batch, n), np.float32) for n in (n_out, nc, n_out, nc)]
    if aux is None:
        ins += [None] * 9
    elif aux == "backward_input":      # stacked without cross links: feeds the bw cell
        ins += [_rand(rng, *x.shape)] + [None] * 8
    else:                              # cross links: extra weights in both directions
        ins += [_rand(rng, *x.shape[:2], n_aux)]
        for _ in range(2):
            ins += [None if cifg else _rand(rng, nc, n_aux)] + \
                [_rand(rng, nc, n_aux) for _ in range(3)]
    options = {"fused_activation_function": "TANH", "cell_clip": 0.0, "proj_clip": 0.0,
               "merge_outputs": merge, "time_major": time_major}
    model = op_model("BIDIRECTIONAL_SEQUENCE_LSTM", ins, options,
                     const=[i > 0 and i not in BIDI_STATES and i != 39 for i in range(48)],
                     variables=[i in BIDI_STATES for i in range(48)],
                     outputs=[(np.float32, None)] * (1 if merge else 2))
    return model, [x] + ([] if aux is None else [ins[39]])


# Batch-major merged outputs use batch 1: LiteRT offsets the state of batch b by the merged
# output width there, reading past the state (NaN/garbage for batch > 1).
@pytest.mark.parametrize("merge,time_major,batch", [(False, True, 2), (True, True, 2),
                                                    (False, False, 2), (True, False, 1)])
def test_bidirectional_lstm(merge, time_major, batch):
    model, feeds = _bidi_model(merge, time_major, batch)
    compare(model, feeds, invokes=2, **TOL)


@pytest.mark.parametrize("aux,cifg,peephole,proj", [("backward_input", False, False, False),
                                                    ("cross_links", False, False, False),
                                                    ("cross_links", True, True, True)])
def test_bidirectional_lstm_aux_input(aux, cifg, peephole, proj):
    model, feeds = _bidi_model(aux=aux, cifg=cifg, peephole=peephole, proj=proj, seed=4)
    compare(model, feeds, invokes=2, **TOL)


def _rnn_model(time_major, activation, const=True, batch=2, steps=4, n_in=3, units=6):
    rng = np.random.default_rng(2)
    x = _rand(rng, *((steps, batch, n_in) if time_major else (batch, steps, n_in)))
    ins = [x, _rand(rng, units, n_in), _rand(rng, units, units), _rand(rng, units),
           np.zeros((batch, units), np.float32)]
    model = op_model("UNIDIRECTIONAL_SEQUENCE_RNN", ins,
                     {"time_major": time_major, "fused_activation_function": activation},
                     const=[False, const, const, const, False],
                     variables=[False, False, False, False, True])
    return model, ins[:1] if const else ins[:4]


@pytest.mark.parametrize("time_major", [False, True])
@pytest.mark.parametrize("activation", ["TANH", "RELU", "NONE"])
def test_unidirectional_rnn(time_major, activation):
    compare(*_rnn_model(time_major, activation), invokes=2, **TOL)


def test_unidirectional_rnn_runtime_weights():
    compare(*_rnn_model(True, "RELU6", const=False), invokes=2, **TOL)


def test_state_persists_and_resets():
    model, feeds = _uni_model(seed=11)
    interp = Interpreter(model_content=write(model))
    interp.allocate_tensors()
    interp.set_tensor(interp.get_input_details()[0]["index"], feeds[0])
    out = interp.get_output_details()[0]["index"]
    runs = []
    for reset in (False, False, True):
        if reset:
            interp.reset_all_variables()
        interp.invoke()
        runs.append(interp.get_tensor(out).copy())
    assert not np.allclose(runs[0], runs[1])      # the second invoke starts from the state
    np.testing.assert_array_equal(runs[0], runs[2])


def test_invoke_allocates_nothing():
    model, feeds = _uni_model(batch=4, steps=64, n_in=16, nc=32, seed=12)
    interp = Interpreter(model_content=write(model))
    interp.allocate_tensors()
    interp.set_tensor(interp.get_input_details()[0]["index"], feeds[0])
    interp.invoke()                                   # compile / warm up
    tracemalloc.start()
    interp.invoke()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 4096, f"invoke allocated {peak} bytes (output is {4 * 64 * 32 * 4})"


def _expect_error(model, *words):
    with pytest.raises(PrepareError) as err:
        run_kernel(model, [])
    for word in words:
        assert word in str(err.value)


def test_bad_inputs_name_the_op():
    model, _ = _uni_model()
    sg = model.subgraphs[0]
    w = sg.tensors[sg.operators[0].inputs[2]]
    w.data, w.dtype = w.data.astype(np.int8), np.dtype(np.int8)
    _expect_error(model, "UNIDIRECTIONAL_SEQUENCE_LSTM", "input 2", "must be float32")
    model, _ = _uni_model()
    sg = model.subgraphs[0]
    w = sg.tensors[sg.operators[0].inputs[3]]
    w.data = w.data[:, :2].copy()
    w.shape = w.data.shape
    _expect_error(model, "UNIDIRECTIONAL_SEQUENCE_LSTM", "shape")
    model, _ = _uni_model(cifg=True)
    sg = model.subgraphs[0]
    sg.operators[0].inputs[12] = sg.operators[0].inputs[13]   # input gate bias with CIFG
    _expect_error(model, "input gate bias")
    model, _ = _bidi_model()
    model.subgraphs[0].operators[0].inputs = model.subgraphs[0].operators[0].inputs[:40]
    _expect_error(model, "BIDIRECTIONAL_SEQUENCE_LSTM", "48 inputs")
    model, _ = _rnn_model(False, "TANH")
    model.subgraphs[0].operators[0].options["fused_activation_function"] = "TANH_X"
    _expect_error(model, "UNIDIRECTIONAL_SEQUENCE_RNN", "TANH_X")
