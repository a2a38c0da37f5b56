"""Hybrid (dynamic-range) recurrent sequence ops: int8 weights, float32 input, state and
output. UNIDIRECTIONAL_SEQUENCE_LSTM, BIDIRECTIONAL_SEQUENCE_LSTM and
UNIDIRECTIONAL_SEQUENCE_RNN dispatch here from :mod:`edgelite.kernels.sequence` when their
weight matrices are int8, and compute as LiteRT's hybrid kernels do (lstm_eval's hybrid
step, kernel_utils' hybrid RNN step):

1. every step, each batch row of the input, the aux input and the output state is
   quantized to int8 on its own: symmetric (``max|v| / 127``), or asymmetric with a zero
   point when ``asymmetric_quantize_inputs`` is set (``conv_quantized``'s quantizers);
2. a gate's matrix product is the int32 dot product of an int8 weight row and that int8
   vector, minus ``zero_point * row_sum`` of the weight row, converted to float32 and
   scaled by ``float32(vector scale * weight scale)``; it accumulates onto the gate,
   which starts at its bias (0 with layer norm) — input, aux, then recurrent products;
3. peephole weights are dequantized once (``int8 * scale`` in float32); peephole, layer
   norm, gate nonlinearities and the cell update are the float kernel's
   (``lstm_cell``), since LiteRT shares them between its float and hybrid paths;
4. a projection quantizes the hidden vector per batch row the same way, starting from
   its bias, then clips.

Weight matrices must be constant int8 tensors with one scale each (LiteRT reads the
per-tensor scale); their zero points are ignored, as LiteRT ignores them. Batch rows are
independent, so each row runs its whole sequence in turn.

The fully integer UNIDIRECTIONAL_SEQUENCE_LSTM (``prepare_integer_lstm``) derives LiteRT's
8x8_16 constants here — effective scales from the weight, state and intermediate tensors'
scales (float32 products, as LiteRT), zero points folded into int32 biases, quantized
clips — and runs :mod:`edgelite.kernels.lstm_cell_integer`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from . import quant
from .api import PrepareContext, TensorSpec
from .conv_quantized import _asymmetric, _symmetric
from .fixed_point import quantize_multiplier
from .lstm_cell import CELL, FORGET, INPUT, OUTPUT, _gates, _hidden, activate
from .lstm_cell_integer import BARREL, CLAMP, lstm_sequence_int

_SLOTS = (INPUT, FORGET, CELL, OUTPUT)   # packed slot of TFLite's i, f, c, o tensors
_INT8 = np.dtype(np.int8)


def is_hybrid_weight(spec: TensorSpec | None) -> bool:
    return spec is not None and spec.dtype in (_INT8, np.dtype(np.uint8))


def check_quantized_weight(ctx: PrepareContext, i: int, what: str, scaled: bool) -> None:
    """Input ``i`` (of a hybrid or integer op) must be constant and, if ``scaled``, carry
    exactly one (per-tensor) scale: LiteRT reads the tensor's single scale."""
    t = ctx.input(i)
    ctx.check(t.data is not None, f"input {i} ({what}) must be constant")
    ctx.check(t.sparsity is None, f"input {i} ({what}): sparse weights are not supported")
    ctx.check(not scaled or (quant.is_quantized(t) and len(quant.scales(t)) == 1),
              f"input {i} ({what}): {t.dtype} weights need exactly one (per-tensor) scale")


def _int8(ctx: PrepareContext, i: int) -> tuple[np.ndarray, np.float32]:
    t = ctx.input(i)
    return np.asarray(t.data, np.int8), np.float32(quant.scales(t)[0])


@dataclass
class HybridWeights:
    """One LSTM direction's weights, packed for :func:`hybrid_lstm_sequence`: the gates'
    int8 rows stacked in lstm_cell's slot order (``[width, features]``), a float32 scale
    and an int32 row sum per row for each of input / aux / recurrent."""

    w_in: np.ndarray
    w_aux: np.ndarray
    w_rec: np.ndarray
    scales: np.ndarray      # float32 [3, width]
    sums: np.ndarray        # int32 [3, width]
    bias: np.ndarray        # float32 [width]
    peep: np.ndarray        # float32 [3, n_cell], dequantized
    ln: np.ndarray          # float32 [4, n_cell]
    proj: np.ndarray        # int8 [n_out, n_cell]
    proj_scale: np.ndarray  # float32 [n_out]
    proj_sums: np.ndarray   # int32 [n_out]
    proj_bias: np.ndarray   # float32 [n_out]


def pack_hybrid(ctx: PrepareContext, cell) -> HybridWeights:
    """Pack a validated ``sequence._Cell`` whose matrices are int8."""
    nc, width, lay = cell.n_cell, cell.width, cell.lay
    features = (cell.n_input, cell.n_aux, cell.n_out)
    mats = [np.zeros((width, n), np.int8) for n in features]
    scales = np.zeros((3, width), np.float32)
    bias = np.zeros(width, np.float32)
    ln = np.zeros((4, nc), np.float32)
    for gate, slot in enumerate(_SLOTS):
        if cell.cifg and slot == INPUT:
            continue
        rows = slice(slot * nc, (slot + 1) * nc)
        for k, index in enumerate((lay.w, lay.aux, lay.r)):
            if features[k]:
                mats[k][rows], scales[k, rows] = _int8(ctx, index[gate])
        bias[rows] = np.asarray(ctx.input(lay.bias[gate]).data, np.float32)
        if cell.norm:
            ln[slot] = np.asarray(ctx.input(lay.ln[gate]).data, np.float32)
    sums = np.stack([m.sum(axis=1, dtype=np.int32) for m in mats]) if width else \
        np.zeros((3, 0), np.int32)
    peep = np.zeros((3, nc), np.float32)
    if cell.peephole:
        for row, index in enumerate(lay.peephole):
            if not (cell.cifg and row == 0):
                values, scale = _int8(ctx, index)
                peep[row] = values.astype(np.float32) * scale
    proj = np.zeros((cell.n_out, nc), np.int8)
    proj_scale = np.zeros(cell.n_out, np.float32)
    proj_bias = np.zeros(cell.n_out, np.float32)
    if cell.proj:
        proj[...], scale = _int8(ctx, lay.proj)
        proj_scale[:] = scale
        if ctx.input(lay.proj_bias) is not None:
            proj_bias[:] = np.asarray(ctx.input(lay.proj_bias).data, np.float32)
    return HybridWeights(mats[0], mats[1], mats[2], scales, sums, bias, peep, ln, proj,
                         proj_scale, proj.sum(axis=1, dtype=np.int32), proj_bias)


def weight_inputs(cell) -> list:
    """The input indices holding one direction's int8 weights (for the dtype checks)."""
    lay = cell.lay
    used = list(lay.w) + list(lay.r) + (list(lay.aux) if cell.n_aux else [])
    used += list(lay.peephole) if cell.peephole else []
    return used + ([lay.proj] if cell.proj else [])


@njit(cache=True)
def _quantize_row(v, q, asymmetric):
    """Quantize ``v`` into ``q[:v.size]`` as LiteRT's BatchQuantizeFloats does one row."""
    if asymmetric:
        return _asymmetric(v, q[:v.size])
    return _symmetric(v, q[:v.size]), 0


@njit(cache=True)
def hybrid_accumulate(z, w, sums, scales, v, q, asymmetric):
    """``z[j] += float32(w[j] . quant(v) - zp * sums[j]) * float32(sf * scales[j])``."""
    n = v.shape[0]
    if n == 0 or w.shape[0] == 0:
        return
    sf, zp = _quantize_row(v, q, asymmetric)
    for j in range(w.shape[0]):
        acc = np.int32(0)
        for k in range(n):
            acc += np.int32(w[j, k]) * np.int32(q[k])
        acc -= np.int32(zp) * sums[j]
        z[j] += np.float32(acc) * (sf * scales[j])


@njit(cache=True)
def hybrid_lstm_sequence(x, aux, time_major, reverse, w_in, w_aux, w_rec, scales, sums,
                         bias, peep, ln, proj, proj_scale, proj_sums, proj_bias, flags,
                         clips, act, h_state, c_state, out, offset, z, hidden, q):
    """One hybrid LSTM direction over the sequence (see the module doc); ``flags`` =
    (cifg, peephole, layer_norm, projection, asymmetric). Updates the states in place and
    writes ``out[..., offset:offset + n_output]``; z [width], hidden [n_cell] and q (int8,
    the longest quantized vector) are scratch."""
    n_time = x.shape[0] if time_major else x.shape[1]
    n_out = h_state.shape[1]
    asym = flags[4] != 0
    for b in range(h_state.shape[0]):
        for step in range(n_time):
            t = n_time - 1 - step if reverse else step
            i0, i1 = (t, b) if time_major else (b, t)
            for j in range(z.shape[0]):
                z[j] = np.float32(0.0) if flags[2] else bias[j]
            hybrid_accumulate(z, w_in, sums[0], scales[0], x[i0, i1], q, asym)
            hybrid_accumulate(z, w_aux, sums[1], scales[1], aux[i0, i1], q, asym)
            hybrid_accumulate(z, w_rec, sums[2], scales[2], h_state[b], q, asym)
            _gates(z, c_state, b, peep, ln, bias, flags, clips[0], act)
            _hidden(z, c_state, b, hidden, act)
            h = h_state[b]
            if flags[3]:
                for k in range(n_out):
                    h[k] = proj_bias[k]
                hybrid_accumulate(h, proj, proj_sums, proj_scale, hidden, q, asym)
                if clips[1] > 0:
                    for k in range(n_out):
                        h[k] = min(max(h[k], -clips[1]), clips[1])
            else:
                for k in range(n_out):
                    h[k] = hidden[k]
            for k in range(n_out):
                out[i0, i1, offset + k] = h[k]


@njit(cache=True)
def hybrid_rnn_sequence(x, time_major, w_in, w_rec, scales, sums, bias, act, asym,
                        h_state, out, q):
    """A hybrid basic RNN: ``h = act(bias + Wx . x + Wh . h)``, both products hybrid."""
    n_time = x.shape[0] if time_major else x.shape[1]
    units = h_state.shape[1]
    for b in range(h_state.shape[0]):
        for t in range(n_time):
            i0, i1 = (t, b) if time_major else (b, t)
            row = out[i0, i1]
            for j in range(units):
                row[j] = bias[j]
            hybrid_accumulate(row, w_in, sums[0], scales[0], x[i0, i1], q, asym)
            hybrid_accumulate(row, w_rec, sums[1], scales[1], h_state[b], q, asym)
            for j in range(units):
                row[j] = activate(row[j], act)
                h_state[b, j] = row[j]


def prepare_hybrid_rnn(ctx: PrepareContext, units: int, time_major: bool, act: int):
    """UNIDIRECTIONAL_SEQUENCE_RNN with int8 input/recurrent weights (shapes checked)."""
    b = ctx.input(3)
    (w_in, s_in), (w_rec, s_rec) = _int8(ctx, 1), _int8(ctx, 2)
    scales = np.array([[s_in] * units, [s_rec] * units], np.float32)
    sums = np.stack([w_in.sum(axis=1, dtype=np.int32), w_rec.sum(axis=1, dtype=np.int32)])
    bias = np.asarray(b.data, np.float32).reshape(-1)
    asym = bool(ctx.options.get("asymmetric_quantize_inputs", False))
    q = ctx.scratch((max(w_in.shape[1], units),), np.int8)

    def run(ins, outs, scratch):
        hybrid_rnn_sequence(ins[0], time_major, w_in, w_rec, scales, sums, bias, act, asym,
                            ins[4], outs[0], scratch[q])
    return run


# --------------------------------------------------------------------------- integer LSTM
def _wrap32(values) -> np.ndarray:
    return ((np.asarray(values, np.int64) + 2**31) % 2**32 - 2**31).astype(np.int32)


def _qm(real) -> tuple[int, int]:
    return quantize_multiplier(float(real))


def _scale_zp(ctx: PrepareContext, spec: TensorSpec, what: str) -> tuple[np.float32, int]:
    ctx.check(quant.is_quantized(spec), f"{what} {spec.name!r} carries no quantization")
    return np.float32(quant.scales(spec)[0]), int(quant.zero_points(spec)[0])


def _intermediate(ctx: PrepareContext, k: int) -> tuple[np.float32, int]:
    """Scale and zero point of the op's intermediate tensor ``k`` (LiteRT reads the gate
    outputs' scales from 0-3 with layer norm, the hidden state's from 4)."""
    idx = ctx.op.intermediates
    ctx.check(len(idx) == 5, "an int8 LSTM needs 5 intermediate tensors (the 8x8_16 "
                             f"kernel; 8x8_8 is not supported), got {len(idx)}")
    ctx.check(ctx.services is not None, "intermediate tensors need the interpreter")
    t = ctx.services.model.subgraphs[ctx.subgraph_index].tensors[idx[k]]
    q = t.quantization
    ctx.check(q is not None and len(q.scales) > 0,
              f"intermediate tensor {k} ({t.name!r}) carries no quantization")
    return np.float32(q.scales[0]), int(q.zero_points[0])


def _cell_scale_log2(ctx: PrepareContext, c: TensorSpec) -> int:
    scale, _ = _scale_zp(ctx, c, "cell state")
    log2 = float(np.log(scale) * np.float32(1.0 / np.log(np.float32(2.0))))
    ctx.check(abs(log2 - round(log2)) < 1e-3 and -15 <= round(log2) <= -9,
              f"the int16 cell state needs a power-of-two scale 2**-15..2**-9, got {scale}")
    return round(log2)


def _gate_params(ctx, cell, k: int, in_q, h_q, inter, cell_log2) -> tuple:
    """(w_in, w_rec, effective biases, int16 peephole, per-gate parameter row) of gate k."""
    lay, nc = cell.lay, cell.n_cell
    row = np.zeros(9, np.int64)
    w_in = np.zeros((nc, cell.n_input), np.int8)
    w_rec = np.zeros((nc, cell.n_out), np.int8)
    zeros = np.zeros(nc, np.int32)
    if k == 0 and cell.cifg:
        return w_in, w_rec, zeros, zeros, zeros, zeros, zeros, row
    w_in[...], s_in = _int8(ctx, lay.w[k])
    w_rec[...], s_rec = _int8(ctx, lay.r[k])
    row[0:2] = _qm(np.float32(s_in * in_q[0]) / inter[0])
    row[2:4] = _qm(np.float32(s_rec * h_q[0]) / inter[0])
    bias = np.asarray(ctx.input(lay.bias[k]).data, np.int64)
    peep = zeros
    if cell.peephole and k != 2:
        spec = ctx.input(lay.peephole[(0, 1, None, 2)[k]])
        peep = np.asarray(spec.data, np.int16)
        row[4:6] = _qm(np.float32(2.0**cell_log2 * float(quant.scales(spec)[0]) / inter[0]))
    ln_w = zeros
    ln_scale = np.float32(1.0)
    if cell.norm:
        spec = ctx.input(lay.ln[k])
        ln_w, ln_scale = np.asarray(spec.data, np.int16), np.float32(quant.scales(spec)[0])
    row[6:8] = _qm(ln_scale)
    row[8] = max(1, int(np.float32(10000) * ln_scale))
    b_in = _wrap32((0 if cell.norm else bias) - in_q[1] * w_in.sum(axis=1, dtype=np.int64))
    b_rec = _wrap32(-h_q[1] * w_rec.sum(axis=1, dtype=np.int64))
    ln_b = _wrap32(bias) if cell.norm else zeros
    return w_in, w_rec, b_in, b_rec, peep, ln_w, ln_b, row


def prepare_integer_lstm(ctx: PrepareContext, cell, time_major: bool, n_batch: int):
    """UNIDIRECTIONAL_SEQUENCE_LSTM with int8 input and output state, int16 cell state
    (LiteRT's 8x8_16 kernel); ``cell`` is the validated ``sequence._Cell``."""
    lay, nc, n_out = cell.lay, cell.n_cell, cell.n_out
    x, h, c, out = ctx.input(0), ctx.input(lay.h), ctx.input(lay.c), ctx.outputs[0]
    for spec, dtype, size, what in ((h, np.int8, n_batch * n_out, "output state"),
                                    (c, np.int16, n_batch * nc, "cell state")):
        ctx.check(spec is not None and spec.data is None and spec.dtype == dtype
                  and spec.size == size,
                  f"the {what} must be a variable {np.dtype(dtype)} tensor of {size} values")
    ctx.check(not (cell.peephole and cell.proj and n_out > nc),
              "peephole weights with a projection wider than the cell are not supported")
    in_q, h_q = _scale_zp(ctx, x, "input"), _scale_zp(ctx, h, "output state")
    out_scale, _ = _scale_zp(ctx, out, "output")
    cell_log2 = _cell_scale_log2(ctx, c)
    hid_scale, hid_zp = _intermediate(ctx, 4)
    inter = [_intermediate(ctx, k) if cell.norm else (np.float32(2.0**-12), 0)
             for k in range(4)]
    parts = [_gate_params(ctx, cell, k, in_q, h_q, inter[k], cell_log2) for k in range(4)]
    w_in, w_rec, b_in, b_rec, peep, ln_w, ln_b, gq = (np.stack(p) for p in zip(*parts))
    proj = np.zeros((n_out, nc), np.int8)
    proj_scale, proj_b = np.float32(1.0), np.zeros(n_out, np.int64)
    if cell.proj:
        proj[...], proj_scale = _int8(ctx, lay.proj)
        if ctx.input(lay.proj_bias) is not None:
            proj_b = np.asarray(ctx.input(lay.proj_bias).data, np.int64)
    proj_b = _wrap32(proj_b + hid_zp * proj.sum(axis=1, dtype=np.int64))
    clips = [ctx.options.get("cell_clip", 0.0), ctx.options.get("proj_clip", 0.0)]
    cell_clip = int(np.clip(np.float32(clips[0]) / _scale_zp(ctx, c, "cell state")[0],
                            -32768, 32767)) if clips[0] > 0 else 0
    proj_clip = int(np.clip(np.float32(clips[1]) / out_scale, -128, 127)) if clips[1] > 0 else 0
    sq = np.array([cell.cifg, cell.peephole, cell.norm, cell.proj, cell_log2, cell_clip,
                   proj_clip, *_qm(np.float32(2.0**-15 / float(hid_scale) * 2.0**-15)),
                   hid_zp, *_qm(np.float32(proj_scale * hid_scale) / h_q[0]), h_q[1]],
                  np.int64)
    ctx.set_output(0, x.shape[:2] + (n_out,), np.int8)
    gates = ctx.scratch((4, n_batch, nc), np.int16)
    hidden = ctx.scratch((n_batch, nc), np.int8)

    def run(ins, outs, scratch):
        lstm_sequence_int(ins[0], time_major, w_in, w_rec, b_in, b_rec, peep, ln_w, ln_b,
                          proj, proj_b, gq, sq, ins[lay.h].reshape(n_batch, n_out),
                          ins[lay.c].reshape(n_batch, nc), outs[0], scratch[gates],
                          scratch[hidden], BARREL, CLAMP)
    return run
