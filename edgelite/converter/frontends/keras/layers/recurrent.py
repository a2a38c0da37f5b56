"""LSTM and SimpleRNN layers -> TFLite's UNIDIRECTIONAL_SEQUENCE_LSTM / _RNN.

Keras keeps one kernel ``[in, gates * units]`` (LSTM gates i, f, c, o: TFLite's order
too), a recurrent kernel ``[units, gates * units]`` and a bias; TFLite takes each gate's
weights as its own ``[units, in]`` tensor. The states are zero-initialized *variable*
tensors, as TFLite's converter writes them (they carry over between invokes until
``reset_all_variables``). ``return_sequences=False`` keeps the last step (STRIDED_SLICE).
GRU has no TFLite builtin sequence op: it is not converted.
"""

from __future__ import annotations

import numpy as np

from .....schema import ir
from ...nhwc_builder import Builder, Value

_CELL_ACT = {"tanh": "TANH", "relu": "RELU", "relu6": "RELU6", "sigmoid": "SIGMOID"}


def _state(b: Builder, shape) -> Value:
    index = b.sg.add_tensor(ir.Tensor(b.unique(f"{b.where}/state"), tuple(shape),
                                      np.dtype(np.float32), is_variable=True))
    return Value(tuple(shape), np.dtype(np.float32), index=index)


def _act(b, cfg, key, default):
    name = cfg.get(key, default)
    name = name if isinstance(name, str) else (name or {}).get("config", {}).get("name")
    return str(name).lower()


def _common(b, cfg, x):
    if cfg.get("return_state") or cfg.get("stateful"):
        raise b.error("return_state / stateful recurrent layers are not supported")
    if cfg.get("go_backwards"):
        x = b.op1("REVERSE_V2", [x, b.ints([1])], x.shape)
    return x


def _finish(b, cfg, y: Value) -> Value:
    if cfg.get("return_sequences"):
        return y
    n, t, u = y.shape
    return b.op1("STRIDED_SLICE", [y, b.ints([0, t - 1, 0]), b.ints([n, t, u]),
                                   b.ints([1, 1, 1])], (n, u),
                 options={"begin_mask": 0, "end_mask": 0, "ellipsis_mask": 0,
                          "new_axis_mask": 0, "shrink_axis_mask": 2, "offset": False})


def lstm(b: Builder, cfg, args, kwargs, w):
    x = _common(b, cfg, args[0])
    if _act(b, cfg, "recurrent_activation", "sigmoid") != "sigmoid":
        raise b.error("LSTM recurrent_activation must be sigmoid (TFLite's gates)")
    act = _act(b, cfg, "activation", "tanh")
    if act not in ("tanh", "relu", "relu6"):
        raise b.error(f"LSTM activation {act!r} is not supported (tanh, relu, relu6)")
    cell = w.sub("cell")
    vs = cell.vars() or w.vars()
    kernel, rec = vs[0].astype(np.float32), vs[1].astype(np.float32)
    units = rec.shape[0]
    bias = vs[2].astype(np.float32) if cfg.get("use_bias", True) and len(vs) > 2 else \
        np.zeros(4 * units, np.float32)
    y = sequence_lstm(b, x, kernel, rec, bias, act)
    return _finish(b, cfg, y)


def sequence_lstm(b: Builder, x: Value, kernel: np.ndarray, rec: np.ndarray,
                  bias: np.ndarray, act: str, time_major: bool = False) -> Value:
    """One UNIDIRECTIONAL_SEQUENCE_LSTM from Keras-layout weights (``kernel [in, 4u]``,
    ``rec [u, 4u]``, ``bias [4u]``, gates i, f, c, o) over ``x`` ([batch, time, in], or
    [time, batch, in] if ``time_major``), with zero-initialized variable states."""
    units = rec.shape[0]
    t, n = (x.shape[0], x.shape[1]) if time_major else (x.shape[1], x.shape[0])
    gates = range(4)
    ins = [x] + [b.const(np.ascontiguousarray(kernel[:, g * units:(g + 1) * units].T))
                 for g in gates] \
        + [b.const(np.ascontiguousarray(rec[:, g * units:(g + 1) * units].T)) for g in gates] \
        + [None] * 3 + [b.const(bias[g * units:(g + 1) * units]) for g in gates] \
        + [None] * 2 + [_state(b, (n, units)), _state(b, (n, units))] + [None] * 4
    shape = (t, n, units) if time_major else (n, t, units)
    return b.op1("UNIDIRECTIONAL_SEQUENCE_LSTM", ins, shape, options={
        "fused_activation_function": _CELL_ACT[act], "cell_clip": 0.0, "proj_clip": 0.0,
        "time_major": time_major, "asymmetric_quantize_inputs": False,
        "diagonal_recurrent_tensors": False})


def simple_rnn(b: Builder, cfg, args, kwargs, w):
    x = _common(b, cfg, args[0])
    act = _act(b, cfg, "activation", "tanh")
    if act not in ("tanh", "relu", "relu6", "sigmoid"):
        raise b.error(f"SimpleRNN activation {act!r} is not supported")
    vs = w.sub("cell").vars() or w.vars()
    kernel, rec = vs[0].astype(np.float32), vs[1].astype(np.float32)
    units = rec.shape[0]
    bias = vs[2].astype(np.float32) if cfg.get("use_bias", True) and len(vs) > 2 else \
        np.zeros(units, np.float32)
    n, t, _ = x.shape
    y = b.op1("UNIDIRECTIONAL_SEQUENCE_RNN",
              [x, b.const(np.ascontiguousarray(kernel.T)), b.const(np.ascontiguousarray(rec.T)),
               b.const(bias), _state(b, (n, units))], (n, t, units),
              options={"time_major": False, "fused_activation_function": _CELL_ACT[act],
                       "asymmetric_quantize_inputs": False})
    return _finish(b, cfg, y)


RULES = {"LSTM": lstm, "SimpleRNN": simple_rnn}
