"""RNN, GRU and LSTM, unrolled over the (static) sequence into FULLY_CONNECTED + gate math.

Weights, recurrences and biases may be constants or run-time inputs (FULLY_CONNECTED takes
either). The input projection of every time step is one FULLY_CONNECTED over
``[seq * batch, input]``; each step adds the recurrent projection of the previous hidden
state and applies the gates (ONNX gate orders: LSTM i, o, f, c; GRU z, r, h). Directions
"forward", "reverse" and "bidirectional", ``layout`` 0 and 1, initial states, LSTM
peepholes, ``clip`` and GRU's ``linear_before_reset`` are honoured; ``sequence_lens``
masks the state update and zeroes the outputs past each batch item's length (forward
direction only).
"""

from __future__ import annotations

import numpy as np

from .elementwise import binary, scalar, select, unary
from .nn import _reshape_logical

_ACTIVATIONS = {"Tanh": "TANH", "Sigmoid": "LOGISTIC", "Relu": "RELU"}


def _slice(ctx, v, begin, size):
    if v.const is not None:
        idx = tuple(slice(b, b + s) for b, s in zip(begin, size))
        return ctx.const_value(np.ascontiguousarray(np.asarray(v.const)[idx]))
    return ctx.emit("SLICE", [ctx.logical(v), ctx.constant_index(np.array(begin, np.int32)),
                              ctx.constant_index(np.array(size, np.int32))],
                    [tuple(size)], [v.dtype])[0]


def _fc(ctx, x, w, b=None):
    """x [rows, k] @ w[units, k]^T (+ b[units])."""
    rows, units = x.shape[0], w.shape[0]
    args = [ctx.logical(x), ctx.logical(w), -1 if b is None else ctx.logical(b)]
    return ctx.emit("FULLY_CONNECTED", args, [(rows, units)], [x.dtype],
                    {"fused_activation_function": "NONE", "weights_format": "DEFAULT",
                     "keep_num_dims": False, "asymmetric_quantize_inputs": False})[0]


def _pack(ctx, values, axis):
    shape = list(values[0].shape)
    shape.insert(axis, len(values))
    return ctx.emit("PACK", [ctx.logical(v) for v in values], [tuple(shape)],
                    [values[0].dtype], {"values_count": len(values), "axis": axis})[0]


def _act(ctx, name, x, clip):
    if clip is not None:
        x = binary(ctx, "MINIMUM", binary(ctx, "MAXIMUM", x, scalar(ctx, -clip, x.dtype)),
                   scalar(ctx, clip, x.dtype))
    return unary(ctx, _ACTIVATIONS[name], x)


def _activations(ctx, attrs, defaults, dirs):
    names = attrs.get("activations")
    if not names:
        return [list(defaults)] * dirs
    names = [n.decode() if isinstance(n, bytes) else n for n in names]
    per = len(defaults)
    out = []
    for d in range(dirs):
        chosen = names[d * per:(d + 1) * per] or list(defaults)
        for n in chosen:
            if n not in _ACTIVATIONS:
                raise ctx.error(f"activation {n} is not supported (Tanh, Sigmoid, Relu)")
        out.append(chosen)
    return out


def _recurrent(kind: str):
    gates = {"RNN": 1, "GRU": 3, "LSTM": 4}[kind]
    defaults = {"RNN": ("Tanh",), "GRU": ("Sigmoid", "Tanh"),
                "LSTM": ("Sigmoid", "Tanh", "Tanh")}[kind]

    def rule(ctx, node, ins, attrs):
        ins = list(ins) + [None] * (8 - len(ins))
        x, w, r, b, seq_lens, h0, c0, peep = ins[:8]
        hidden = int(attrs["hidden_size"])
        direction = attrs.get("direction", b"forward")
        direction = direction.decode() if isinstance(direction, bytes) else direction
        dirs = 2 if direction == "bidirectional" else 1
        layout = int(attrs.get("layout", 0))
        clip = float(attrs["clip"]) if "clip" in attrs else None
        if kind == "LSTM" and int(attrs.get("input_forget", 0)):
            raise ctx.error("LSTM with input_forget=1 is not supported")
        if layout:
            x = _transpose(ctx, x, (1, 0, 2))
        seq, batch, isize = x.shape
        acts = _activations(ctx, attrs, defaults, dirs)
        x2d = _reshape_logical(ctx, x, (seq * batch, isize))
        lens_mask = None
        if seq_lens is not None:
            if direction != "forward":
                raise ctx.error("sequence_lens is supported with direction forward only")
            lens = seq_lens if seq_lens.dtype == np.int32 else \
                unary(ctx, "CAST", seq_lens, dtype=np.int32)
            lens_mask = _reshape_logical(ctx, lens, (batch, 1))
        ys, hs, cs = [], [], []
        for d in range(dirs):
            reverse = direction == "reverse" or d == 1
            wd = _reshape_logical(ctx, _slice(ctx, w, [d, 0, 0], [1, gates * hidden, isize]),
                                  (gates * hidden, isize))
            rd = _reshape_logical(ctx, _slice(ctx, r, [d, 0, 0], [1, gates * hidden, hidden]),
                                  (gates * hidden, hidden))
            wb = rb = None
            if b is not None:
                wb = _reshape_logical(ctx, _slice(ctx, b, [d, 0], [1, gates * hidden]),
                                      (gates * hidden,))
                rb = _reshape_logical(ctx, _slice(ctx, b, [d, gates * hidden],
                                                  [1, gates * hidden]), (gates * hidden,))
            xproj = _reshape_logical(ctx, _fc(ctx, x2d, wd, wb), (seq, batch, gates * hidden))
            h = _state(ctx, h0, d, layout, batch, hidden, x.dtype)
            c = _state(ctx, c0, d, layout, batch, hidden, x.dtype) if kind == "LSTM" else None
            p = None
            if peep is not None:
                p = [_reshape_logical(ctx, _slice(ctx, peep, [d, k * hidden], [1, hidden]),
                                      (hidden,)) for k in range(3)]
            outs = [None] * seq
            steps = range(seq - 1, -1, -1) if reverse else range(seq)
            for t in steps:
                xt = _reshape_logical(ctx, _slice(ctx, xproj, [t, 0, 0],
                                                  [1, batch, gates * hidden]),
                                      (batch, gates * hidden))
                h_new, c_new = _step(ctx, kind, xt, h, c, rd, rb, p, hidden, acts[d], clip,
                                     attrs)
                if lens_mask is not None:
                    alive = binary(ctx, "GREATER", lens_mask, scalar(ctx, t, np.int32))
                    h_new = select(ctx, alive, h_new, h)
                    if c_new is not None:
                        c_new = select(ctx, alive, c_new, c)
                    outs[t] = select(ctx, alive, h_new, scalar(ctx, 0.0, x.dtype))
                else:
                    outs[t] = h_new
                h, c = h_new, c_new
            ys.append(outs)
            hs.append(h)
            cs.append(c)
        y = _pack(ctx, [_pack(ctx, [ys[d][t] for d in range(dirs)], 0) for t in range(seq)], 0)
        yh = _pack(ctx, hs, 0)
        yc = _pack(ctx, cs, 0) if kind == "LSTM" else None
        if layout:
            y = _transpose(ctx, y, (2, 0, 1, 3))
            yh = _transpose(ctx, yh, (1, 0, 2))
            yc = _transpose(ctx, yc, (1, 0, 2)) if yc is not None else None
        return [y, yh, yc][:len(node.output)]
    return rule


def _transpose(ctx, v, perm):
    shape = tuple(v.shape[p] for p in perm)
    return ctx.emit("TRANSPOSE", [ctx.logical(v), ctx.constant_index(np.array(perm, np.int32))],
                    [shape], [v.dtype])[0]


def _state(ctx, s0, d, layout, batch, hidden, dtype):
    if s0 is None:
        return ctx.const_value(np.zeros((batch, hidden), dtype))
    begin, size = ([0, d, 0], [batch, 1, hidden]) if layout else ([d, 0, 0], [1, batch, hidden])
    return _reshape_logical(ctx, _slice(ctx, s0, begin, size), (batch, hidden))


def _gate(ctx, v, k, hidden):
    rows = v.shape[0]
    return _slice(ctx, v, [0, k * hidden], [rows, hidden])


def _step(ctx, kind, xt, h, c, rd, rb, p, hidden, acts, clip, attrs):
    add, mul = (lambda a, b: binary(ctx, "ADD", a, b)), (lambda a, b: binary(ctx, "MUL", a, b))
    if kind == "RNN":
        return _act(ctx, acts[0], add(xt, _fc(ctx, h, rd, rb)), clip), None
    if kind == "LSTM":
        z = add(xt, _fc(ctx, h, rd, rb))
        i, o, f, g = (_gate(ctx, z, k, hidden) for k in range(4))
        if p is not None:
            i, f = add(i, mul(p[0], c)), add(f, mul(p[2], c))
        i, f = _act(ctx, acts[0], i, clip), _act(ctx, acts[0], f, clip)
        c_new = add(mul(f, c), mul(i, _act(ctx, acts[1], g, clip)))
        if p is not None:
            o = add(o, mul(p[1], c_new))
        o = _act(ctx, acts[0], o, clip)
        return mul(o, _act(ctx, acts[2], c_new, None if clip is None else None)), c_new
    # GRU
    r_zr = _slice(ctx, rd, [0, 0], [2 * hidden, hidden])
    r_h = _slice(ctx, rd, [2 * hidden, 0], [hidden, hidden])
    rb_zr = None if rb is None else _slice(ctx, rb, [0], [2 * hidden])
    rb_h = None if rb is None else _slice(ctx, rb, [2 * hidden], [hidden])
    hzr = _fc(ctx, h, r_zr, rb_zr)
    z = _act(ctx, acts[0], add(_gate(ctx, xt, 0, hidden), _gate(ctx, hzr, 0, hidden)), clip)
    r = _act(ctx, acts[0], add(_gate(ctx, xt, 1, hidden), _gate(ctx, hzr, 1, hidden)), clip)
    if int(attrs.get("linear_before_reset", 0)):
        hh = mul(r, _fc(ctx, h, r_h, rb_h))
    else:
        hh = _fc(ctx, mul(r, h), r_h, rb_h)
    cand = _act(ctx, acts[1], add(_gate(ctx, xt, 2, hidden), hh), clip)
    one = scalar(ctx, 1.0, h.dtype)
    return add(mul(binary(ctx, "SUB", one, z), cand), mul(z, h)), None


RULES = {"RNN": _recurrent("RNN"), "GRU": _recurrent("GRU"), "LSTM": _recurrent("LSTM")}
