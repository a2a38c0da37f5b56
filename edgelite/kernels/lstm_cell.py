"""The float LSTM / RNN cell math shared by the sequence kernels (``sequence.py``).

Pure functions over plain arrays; nothing here knows the interpreter.

One LSTM step for one batch row, as TFLite's float kernel computes it:

1. each gate pre-activation ``z = W_x x + W_aux aux + W_h h`` (+ bias here, unless layer
   norm is on) — the four gates' weights are packed side by side and transposed
   (``[features, 4 * n_cell]``), so the step is a few axpy sweeps over contiguous rows;
2. peephole: the input and forget gates add ``w_c * c_old``;
3. layer norm (optional): ``z = (z - mean) / sqrt(var + 1e-8) * gamma + bias``;
4. ``i, f = sigmoid``; ``g = act(z_g)``; CIFG (no input gate) uses ``i = 1 - f``;
5. ``c = f * c_old + i * g``, clipped to ``±cell_clip`` when that is > 0;
6. the output gate's peephole uses the *new* cell; ``o = sigmoid``;
7. ``h = o * act(c)``, then optionally ``h = clip(P h + p_bias, proj_clip)``.

``act`` is the fused activation. With NONE, TFLite's float kernel leaves its scratch
untouched instead of copying ``c``, so ``h = o * g``; that quirk is reproduced (LiteRT is
the oracle). Batch rows are independent, so each row runs its whole sequence in turn.
"""

from __future__ import annotations

import numpy as np
from numba import njit

# fused activation -> code used inside the numba loops
ACTIVATION_CODES = {"NONE": 0, "RELU": 1, "RELU_N1_TO_1": 2, "RELU6": 3, "TANH": 4,
                    "SIGN_BIT": 5}
# packed gate slots: forget, cell, output first so CIFG (no input gate) uses 3 slots
FORGET, CELL, OUTPUT, INPUT = 0, 1, 2, 3

_ZERO = np.float32(0.0)
_ONE = np.float32(1.0)
_SIX = np.float32(6.0)
_EPS = np.float32(1e-8)


@njit(cache=True)
def activate(v, code):
    """The fused activation ``code`` applied to one float32 value."""
    if code == 1:
        return max(v, _ZERO)
    if code == 2:
        return min(max(v, -_ONE), _ONE)
    if code == 3:
        return min(max(v, _ZERO), _SIX)
    if code == 4:
        return np.tanh(v)
    if code == 5:
        return _ONE if np.signbit(v) else _ZERO
    return v


@njit(cache=True)
def _sigmoid(v):
    return _ONE / (_ONE + np.exp(-v))


@njit(cache=True)
def _accumulate(z, w, x, i0, i1):
    """z += x[i0, i1, :] @ w (w is [features, width], rows contiguous)."""
    for k in range(w.shape[0]):
        xv = x[i0, i1, k]
        for j in range(z.shape[0]):
            z[j] += w[k, j] * xv


@njit(cache=True)
def _layer_norm(z, lo, n, gamma, beta):
    """z[lo:lo+n] = (z - mean) / sqrt(var + 1e-8) * gamma + beta, in float32."""
    total = _ZERO
    for c in range(n):
        total += z[lo + c]
    mean = total / np.float32(n)
    sq = _ZERO
    for c in range(n):
        d = z[lo + c] - mean
        sq += d * d
    inv = _ONE / np.sqrt(sq / np.float32(n) + _EPS)
    for c in range(n):
        z[lo + c] = (z[lo + c] - mean) * inv * gamma[c] + beta[c]


@njit(cache=True)
def _gates(z, c_state, b, peep, ln, bias, flags, clip, act):
    """Turn the pre-activations ``z`` of row ``b`` into gate values and update (and clip)
    the cell; ``flags`` = (cifg, peephole, layer_norm, projection)."""
    nc = c_state.shape[1]
    cifg, peephole, norm = flags[0], flags[1], flags[2]
    for c in range(nc):
        if peephole:
            if not cifg:
                z[INPUT * nc + c] += peep[0, c] * c_state[b, c]
            z[FORGET * nc + c] += peep[1, c] * c_state[b, c]
    slots = 3 if cifg else 4
    if norm:
        for s in range(slots):
            if s != OUTPUT:
                _layer_norm(z, s * nc, nc, ln[s], bias[s * nc:(s + 1) * nc])
    for c in range(nc):
        f = _sigmoid(z[FORGET * nc + c])
        g = activate(z[CELL * nc + c], act)
        i = _ONE - f if cifg else _sigmoid(z[INPUT * nc + c])
        z[CELL * nc + c] = g
        c_state[b, c] = f * c_state[b, c] + i * g
        if clip > 0:
            c_state[b, c] = min(max(c_state[b, c], -clip), clip)
    if peephole:
        for c in range(nc):
            z[OUTPUT * nc + c] += peep[2, c] * c_state[b, c]
    if norm:
        _layer_norm(z, OUTPUT * nc, nc, ln[OUTPUT], bias[OUTPUT * nc:(OUTPUT + 1) * nc])


@njit(cache=True)
def _hidden(z, c_state, b, hidden, act):
    """hidden = sigmoid(z_o) * act(c) (see the module doc for NONE)."""
    nc = c_state.shape[1]
    for c in range(nc):
        cv = z[CELL * nc + c] if act == 0 else activate(c_state[b, c], act)
        hidden[c] = _sigmoid(z[OUTPUT * nc + c]) * cv


@njit(cache=True)
def lstm_sequence(x, aux, time_major, reverse, w_in, w_aux, w_rec, bias, peep, ln,
                  proj, proj_bias, flags, clips, act, h_state, c_state, out, offset,
                  z, hidden):
    """Run one LSTM direction over the whole sequence, updating ``h_state``/``c_state`` in
    place and writing ``out[..., offset:offset + n_output]`` for every step.

    x/aux/out are [time, batch, ...] if ``time_major`` else [batch, time, ...]; z is a
    [slots * n_cell] and hidden an [n_cell] float32 scratch."""
    n_time = x.shape[0] if time_major else x.shape[1]
    n_batch = h_state.shape[0]
    n_out = h_state.shape[1]
    nc = c_state.shape[1]
    width = z.shape[0]
    for b in range(n_batch):
        for step in range(n_time):
            t = n_time - 1 - step if reverse else step
            i0, i1 = (t, b) if time_major else (b, t)
            for j in range(width):
                z[j] = _ZERO if flags[2] else bias[j]
            _accumulate(z, w_in, x, i0, i1)
            _accumulate(z, w_aux, aux, i0, i1)
            for k in range(n_out):
                hv = h_state[b, k]
                for j in range(width):
                    z[j] += w_rec[k, j] * hv
            _gates(z, c_state, b, peep, ln, bias, flags, clips[0], act)
            _hidden(z, c_state, b, hidden, act)
            for k in range(n_out):
                if flags[3]:
                    acc = proj_bias[k]
                    for c in range(nc):
                        acc += proj[c, k] * hidden[c]
                    if clips[1] > 0:
                        acc = min(max(acc, -clips[1]), clips[1])
                else:
                    acc = hidden[k]
                out[i0, i1, offset + k] = acc
            for k in range(n_out):
                h_state[b, k] = out[i0, i1, offset + k]


@njit(cache=True)
def rnn_sequence(x, time_major, w_in, w_rec, bias, act, h_state, out):
    """A basic RNN over the sequence: ``h = act(W_x x + W_h h + b)`` per step; weights
    packed transposed ([features, units]); ``h_state`` updated in place."""
    n_time = x.shape[0] if time_major else x.shape[1]
    units = h_state.shape[1]
    for b in range(h_state.shape[0]):
        for t in range(n_time):
            i0, i1 = (t, b) if time_major else (b, t)
            row = out[i0, i1]
            for j in range(units):
                row[j] = bias[j]
            _accumulate(row, w_in, x, i0, i1)
            for k in range(units):
                hv = h_state[b, k]
                for j in range(units):
                    row[j] += w_rec[k, j] * hv
            for j in range(units):
                row[j] = activate(row[j], act)
                h_state[b, j] = row[j]
