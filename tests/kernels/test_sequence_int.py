"""Hybrid (int8 weights, float32 activations) UNIDIRECTIONAL_SEQUENCE_LSTM,
BIDIRECTIONAL_SEQUENCE_LSTM, UNIDIRECTIONAL_SEQUENCE_RNN and BATCH_MATMUL against
LiteRT's builtin hybrid kernels, symmetric and asymmetric input quantization; the fully
integer (8x8_16) UNIDIRECTIONAL_SEQUENCE_LSTM bit-exact.

The models are test_sequence.py's float ones with their weight matrices (and peepholes,
projection) quantized to int8 per tensor. The integer products are exact on both sides,
so the remaining difference is float rounding in the gates (LiteRT's tanh/sigmoid are
Eigen approximations): rtol 1e-5 plus a small atol for values near zero.
"""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from edgelite.interpreter import Interpreter
from edgelite.kernels.api import PrepareError
from edgelite.schema import ir, write
from tests.kernels.harness import compare, op_model, run_kernel
from tests.kernels.test_sequence import _bidi_model, _rnn_model, _uni_model
from tests.litert_oracle import litert_builtin

TOL = {"rtol": 1e-5, "atol": 2e-6}
# input indices of one LSTM direction's int8 tensors: weights, peepholes, projection
_LSTM_INT8 = list(range(1, 12)) + [16]
_BIDI_INT8 = _LSTM_INT8 + [i + 17 for i in _LSTM_INT8] + list(range(40, 48))


def _quantize(t: ir.Tensor, rng) -> None:
    """Make ``t`` an int8 tensor with one scale (a random zero point LiteRT ignores)."""
    scale = np.float32(max(float(np.abs(t.data).max()), 1e-3) / 127)
    t.data = np.clip(np.round(t.data / scale), -127, 127).astype(np.int8)
    t.dtype = np.dtype(np.int8)
    t.quantization = ir.Quantization(np.array([scale], np.float32),
                                     np.array([0], np.int64))


def _hybrid(model: ir.Model, indices, asymmetric: bool = False, seed: int = 0) -> ir.Model:
    rng = np.random.default_rng(seed)
    sg = model.subgraphs[0]
    op = sg.operators[0]
    for i in indices:
        if i < len(op.inputs) and op.inputs[i] >= 0:
            _quantize(sg.tensors[op.inputs[i]], rng)
    op.options["asymmetric_quantize_inputs"] = asymmetric
    return model


LSTM_CASES = {
    "plain": {}, "cifg": {"cifg": True}, "peephole": {"peephole": True},
    "peephole_cifg": {"peephole": True, "cifg": True},
    "projection_clip": {"proj": True, "proj_clip": 0.3},
    "projection_no_bias": {"proj": True, "proj_bias": False},
    "layer_norm_cifg": {"norm": True, "cifg": True},
    "everything": {"peephole": True, "proj": True, "norm": True, "cell_clip": 0.5,
                   "proj_clip": 0.3},
}


@pytest.mark.parametrize("asymmetric", [False, True], ids=["sym", "asym"])
@pytest.mark.parametrize("case", list(LSTM_CASES))
def test_hybrid_unidirectional_lstm(case, asymmetric):
    model, feeds = _uni_model(time_major=case in ("cifg", "everything"), seed=21,
                              **LSTM_CASES[case])
    compare(_hybrid(model, _LSTM_INT8, asymmetric), feeds, invokes=2, **TOL)


@pytest.mark.parametrize("activation", ["NONE", "RELU6", "SIGN_BIT"])
def test_hybrid_lstm_activations(activation):
    model, feeds = _uni_model(activation=activation, peephole=True, seed=3)
    compare(_hybrid(model, _LSTM_INT8, True), feeds, invokes=2, **TOL)


def test_hybrid_lstm_larger_shapes():
    # 40 inputs / 24 cells: exercises the long int8 dot products on both sides
    model, feeds = _uni_model(3, 5, 40, 24, peephole=True, proj=True, seed=5)
    compare(_hybrid(model, _LSTM_INT8, True), feeds, invokes=2, **TOL)


@pytest.mark.parametrize("aux", [None, "backward_input", "cross_links"])
@pytest.mark.parametrize("asymmetric", [False, True], ids=["sym", "asym"])
def test_hybrid_bidirectional_lstm(aux, asymmetric):
    model, feeds = _bidi_model(aux=aux, peephole=aux is None, proj=aux == "cross_links",
                               seed=4)
    compare(_hybrid(model, _BIDI_INT8, asymmetric), feeds, invokes=2, **TOL)


@pytest.mark.parametrize("time_major", [False, True])
@pytest.mark.parametrize("asymmetric", [False, True], ids=["sym", "asym"])
def test_hybrid_rnn(time_major, asymmetric):
    model, feeds = _rnn_model(time_major, "TANH")
    compare(_hybrid(model, [1, 2], asymmetric), feeds, invokes=2, **TOL)


def _expect_error(model, *words):
    with pytest.raises(PrepareError) as err:
        run_kernel(model, [])
    for word in words:
        assert word in str(err.value)


def test_hybrid_bad_weights_name_the_op():
    model, _ = _uni_model()
    _hybrid(model, [4])          # only input_to_output int8: the others must follow
    _expect_error(model, "UNIDIRECTIONAL_SEQUENCE_LSTM", "input 1", "must be int8")
    model, _ = _uni_model()
    sg = model.subgraphs[0]
    _hybrid(model, _LSTM_INT8)
    sg.tensors[sg.operators[0].inputs[6]].quantization = None
    _expect_error(model, "UNIDIRECTIONAL_SEQUENCE_LSTM", "input 6", "scale")
    model, _ = _rnn_model(False, "TANH")
    _hybrid(model, [1, 2])
    w = model.subgraphs[0].tensors[model.subgraphs[0].operators[0].inputs[2]]
    w.quantization = ir.Quantization(np.array([0.1, 0.2], np.float32), np.zeros(2, np.int64))
    _expect_error(model, "UNIDIRECTIONAL_SEQUENCE_RNN", "per-tensor")


# ------------------------------------------------------------------ BATCH_MATMUL
def _bmm_model(a_shape, b_shape, adj_x, adj_y, asymmetric, per_channel=False, seed=0):
    rng = np.random.default_rng(seed)
    a = rng.uniform(-1, 1, a_shape).astype(np.float32)
    a.reshape(-1)[::7] += 0.6          # lopsided rows: asymmetric zero points differ from 0
    b = rng.integers(-127, 128, b_shape, dtype=np.int8)
    n_axis = len(b_shape) - (2 if adj_y else 1)
    scales = rng.uniform(0.002, 0.02, b_shape[n_axis] if per_channel else 1)
    bq = ir.Quantization(scales.astype(np.float32), np.zeros(scales.size, np.int64),
                         axis=n_axis)
    model = op_model("BATCH_MATMUL", [a, b], {"adj_x": adj_x, "adj_y": adj_y,
                                             "asymmetric_quantize_inputs": asymmetric},
                     const=[False, True], input_quant=[None, bq],
                     outputs=[(np.dtype(np.float32), None)])
    return model, [a]


@pytest.mark.parametrize("asymmetric", [False, True], ids=["sym", "asym"])
@pytest.mark.parametrize("a_shape,b_shape,adj_x,adj_y", [
    ((3, 20), (20, 6), False, False), ((2, 3, 20), (2, 6, 20), False, True),
    ((2, 20, 3), (20, 6), True, False), ((2, 3, 4, 20), (1, 20, 6), False, False),
    ((4, 3, 20), (2, 1, 20, 5), False, False), ((2, 2, 5, 3), (2, 1, 5, 4), True, False)])
def test_hybrid_batch_matmul(a_shape, b_shape, adj_x, adj_y, asymmetric):
    model, feeds = _bmm_model(a_shape, b_shape, adj_x, adj_y, asymmetric, seed=len(a_shape))
    compare(model, feeds, **TOL)


@pytest.mark.parametrize("adj_y", [False, True])
def test_hybrid_batch_matmul_per_channel(adj_y):
    b_shape = (2, 7, 16) if adj_y else (2, 16, 7)
    model, feeds = _bmm_model((2, 5, 16), b_shape, False, adj_y, True, per_channel=True)
    compare(model, feeds, **TOL)


def test_hybrid_batch_matmul_bad_rhs():
    model, _ = _bmm_model((3, 8), (8, 4), False, False, False, per_channel=True)
    model.subgraphs[0].tensors[model.subgraphs[0].operators[0].inputs[1]].quantization.axis = 0
    _expect_error(model, "BATCH_MATMUL", "per-channel")
    model, _ = _bmm_model((3, 8), (8, 4), False, False, False)
    model.subgraphs[0].tensors[model.subgraphs[0].operators[0].inputs[1]].data = None
    _expect_error(model, "BATCH_MATMUL", "constant")


# ------------------------------------------------------------------ integer (8x8_16) LSTM
def _q(scale, zp=0) -> ir.Quantization:
    return ir.Quantization(np.array([scale], np.float32), np.array([zp], np.int64))


def _to_int(t: ir.Tensor, dtype, scale: float, zp: int = 0) -> None:
    """Quantize constant/variable tensor ``t`` (variables: only their type)."""
    info = np.iinfo(dtype)
    if t.data is not None:
        t.data = np.clip(np.round(t.data / scale) + zp, info.min, info.max).astype(dtype)
    t.dtype, t.quantization = np.dtype(dtype), _q(scale, zp)


def _int_lstm(norm=False, proj=False, peephole=False, cifg=False, time_major=False,
              cell_clip=0.0, proj_clip=0.0, batch=2, steps=4, seed=0):
    """test_sequence's float LSTM quantized the way TFLite's 8x8_16 kernel expects it;
    the feeds are int8."""
    model, (x,) = _uni_model(batch, steps, 6, 8, time_major, cifg, peephole, proj, True,
                             norm, cell_clip, proj_clip, "TANH", seed=seed)
    rng = np.random.default_rng(seed)
    sg = model.subgraphs[0]
    op = sg.operators[0]
    t = [None if i < 0 else sg.tensors[i] for i in op.inputs]
    x_scale, x_zp, h_scale, h_zp = 0.6 / 127, 3, 1 / 128, -2
    hid_scale, hid_zp = 1 / 128, int(rng.integers(-3, 4))
    inter = [0.00025 * (k + 2) for k in range(4)]
    _to_int(t[0], np.int8, x_scale, x_zp)
    for k in range(4):
        for i in (1 + k, 5 + k):
            if t[i] is not None:
                _to_int(t[i], np.int8, float(np.abs(t[i].data).max()) / 127)
        if t[12 + k] is not None:
            if norm:
                gamma = t[20 + k]
                ln_scale = float(np.abs(gamma.data).max()) / 32767
                _to_int(t[12 + k], np.int32, ln_scale / 1024)
                _to_int(gamma, np.int16, ln_scale)
            else:
                _to_int(t[12 + k], np.int32, x_scale * t[1 + k].quantization.scales[0])
    for i in (9, 10, 11):
        if t[i] is not None:
            _to_int(t[i], np.int16, float(np.abs(t[i].data).max()) / 32767)
    if proj:
        _to_int(t[16], np.int8, float(np.abs(t[16].data).max()) / 127)
        _to_int(t[17], np.int32, hid_scale * t[16].quantization.scales[0])
    _to_int(t[18], np.int8, h_scale, h_zp)
    _to_int(t[19], np.int16, 2.0**-11)
    out = sg.tensors[op.outputs[0]]
    out.dtype, out.quantization = np.dtype(np.int8), _q(h_scale, h_zp)
    scales = [(s, 0) for s in inter] + [(hid_scale, hid_zp)]
    for k, (scale, zp) in enumerate(scales):
        op.intermediates.append(sg.add_tensor(ir.Tensor(
            f"intermediate{k}", (), np.dtype(np.int16 if k < 4 else np.int8),
            quantization=_q(scale, zp))))
    xq = np.clip(np.round(x / x_scale) + x_zp, -128, 127).astype(np.int8)
    return model, [xq]


INT_CASES = {
    "plain": {}, "time_major": {"time_major": True}, "cifg": {"cifg": True},
    "peephole": {"peephole": True}, "projection": {"proj": True, "proj_clip": 0.4},
    "peephole_projection_time_major": {"peephole": True, "proj": True, "time_major": True},
    "layer_norm": {"norm": True}, "layer_norm_cifg_peephole": {"norm": True, "cifg": True,
                                                               "peephole": True},
    "everything": {"norm": True, "proj": True, "peephole": True, "cell_clip": 0.3,
                   "proj_clip": 0.3, "time_major": True},
}


def _run_from_state(interp, feeds: list, states: dict) -> list:
    """Set the inputs and the variable state tensors (index -> value), invoke twice."""
    interp.allocate_tensors()
    for d, x in zip(interp.get_input_details(), feeds):
        interp.set_tensor(d["index"], x)
    for index, value in states.items():
        interp.set_tensor(index, value)
    outs = []
    for _ in range(2):
        interp.invoke()
        outs.append(interp.get_tensor(interp.get_output_details()[0]["index"]).copy())
    return outs


@pytest.mark.parametrize("case", list(INT_CASES))
def test_integer_lstm(case):
    # The states start from random values (the reset state is tested below).
    model, feeds = _int_lstm(**INT_CASES[case], seed=7)
    sg = model.subgraphs[0]
    rng = np.random.default_rng(1)
    states = {}
    for i in sg.operators[0].inputs[18:20]:
        t = sg.tensors[i]
        info = np.iinfo(t.dtype)
        bound = min(info.max, 4000)          # cell state: well inside +-2 at 2**-11
        states[i] = rng.integers(-bound, bound, t.shape).astype(t.dtype)
    blob = write(model)
    expected = _run_from_state(litert_builtin(model_content=blob), feeds, states)
    got = _run_from_state(Interpreter(model_content=blob), feeds, states)
    assert len(np.unique(expected[1])) > 8          # not saturated / trivial
    for g, e in zip(got, expected):
        np.testing.assert_array_equal(g, e)


@pytest.mark.parametrize("case", ["plain", "projection"])
def test_integer_lstm_from_the_reset_state(case):
    """LiteRT resets an int8 variable (the output state) to its zero point, not to 0."""
    model, feeds = _int_lstm(**INT_CASES[case], seed=3)
    sg = model.subgraphs[0]
    out_state = sg.tensors[sg.operators[0].inputs[18]]
    assert out_state.dtype == np.int8 and out_state.quantization.zero_points[0] != 0
    blob = write(model)
    expected = _run_from_state(litert_builtin(model_content=blob), feeds, {})
    got = _run_from_state(Interpreter(model_content=blob), feeds, {})
    for g, e in zip(got, expected):
        np.testing.assert_array_equal(g, e)


def _prepare_error(model, *words):
    with pytest.raises(PrepareError) as err:
        Interpreter(model_content=write(model)).allocate_tensors()
    for word in words:
        assert word in str(err.value)


def test_integer_lstm_bad_model_names_the_op():
    model, _ = _int_lstm()
    model.subgraphs[0].operators[0].intermediates.pop()
    _prepare_error(model, "UNIDIRECTIONAL_SEQUENCE_LSTM", "5 intermediate tensors")
    model, _ = _int_lstm()
    sg = model.subgraphs[0]
    sg.tensors[sg.operators[0].inputs[19]].quantization = _q(0.001)
    _prepare_error(model, "UNIDIRECTIONAL_SEQUENCE_LSTM", "power-of-two")
    model, _ = _int_lstm()
    sg = model.subgraphs[0]
    t = sg.tensors[sg.operators[0].inputs[13]]
    t.data, t.dtype = t.data.astype(np.float32), np.dtype(np.float32)
    _prepare_error(model, "input 13 (gate bias) must be int32")


@pytest.mark.parametrize("case", ["hybrid_lstm", "integer_lstm", "hybrid_batch_matmul"])
def test_invoke_allocates_nothing(case):
    if case == "hybrid_lstm":
        model, feeds = _uni_model(4, 32, 16, 32, peephole=True, proj=True, seed=12)
        model = _hybrid(model, _LSTM_INT8, True)
    elif case == "integer_lstm":
        model, feeds = _int_lstm(norm=True, proj=True, peephole=True, steps=32)
    else:
        model, feeds = _bmm_model((2, 20, 64), (20, 16), True, False, True)
    interp = Interpreter(model_content=write(model))
    interp.allocate_tensors()
    interp.set_tensor(interp.get_input_details()[0]["index"], feeds[0])
    interp.invoke()                                   # compile / warm up
    tracemalloc.start()
    interp.invoke()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 4096, f"invoke allocated {peak} bytes"
