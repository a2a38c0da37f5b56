"""Recurrent sequence ops, float32: UNIDIRECTIONAL_SEQUENCE_LSTM (v1-4),
BIDIRECTIONAL_SEQUENCE_LSTM (v1-3) and UNIDIRECTIONAL_SEQUENCE_RNN (v1-3).

Inputs follow TFLite's layout (-1 marks an absent optional tensor): the LSTM takes its
four gates' input/recurrent weights, optional peephole, projection and layer-norm
tensors, and two *variable* state tensors (output state, cell state) that the kernel
reads and updates in place, so state carries over from one invoke to the next.
Prepare validates every shape, then packs the gates' weights once into transposed
``[features, gates * n_cell]`` matrices (at run time into scratch when a weight is not
constant); the step math lives in :mod:`edgelite.kernels.lstm_cell`.

Hybrid ops (float32 input, int8 weight matrices; all three ops) and the fully integer
UNIDIRECTIONAL_SEQUENCE_LSTM (int8 input, int16 cell: LiteRT's 8x8_16 kernel) are
validated here (``_DTYPES``: the dtype of every tensor kind per variant) and run by
:mod:`edgelite.kernels.sequence_quantized`; int8 input to the other two ops is rejected.
v4's diagonal recurrent weights (``[n_cell]`` vectors, ``z += w_h * h`` elementwise) are
expanded to diagonal matrices (float only).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .api import KernelDef, PrepareContext
from .lstm_cell import ACTIVATION_CODES, CELL, FORGET, INPUT, OUTPUT, lstm_sequence, rnn_sequence
from .sequence_quantized import (
    check_quantized_weight,
    hybrid_lstm_sequence,
    is_hybrid_weight,
    pack_hybrid,
    prepare_hybrid_rnn,
    prepare_integer_lstm,
)

_SLOTS = (INPUT, FORGET, CELL, OUTPUT)   # packed slot of TFLite's i, f, c, o tensors


@dataclass(frozen=True)
class _Layout:
    """Input indices of one LSTM direction (gate tuples are in i, f, c, o order)."""

    w: tuple
    r: tuple
    peephole: tuple          # cell_to_input, cell_to_forget, cell_to_output
    bias: tuple
    proj: int
    proj_bias: int
    h: int
    c: int
    ln: tuple | None = None
    aux: tuple | None = None


def _direction(base: int, h: int, c: int, ln=None, aux=None) -> _Layout:
    g = base + 1
    return _Layout((g, g + 1, g + 2, g + 3), (g + 4, g + 5, g + 6, g + 7),
                   (g + 8, g + 9, g + 10), (g + 11, g + 12, g + 13, g + 14), g + 15, g + 16,
                   h, c, ln, aux)


_UNI = _direction(0, 18, 19, ln=(20, 21, 22, 23))
_FW = _direction(0, 35, 36, aux=(40, 41, 42, 43))
_BW = _direction(17, 37, 38, aux=(44, 45, 46, 47))


@dataclass
class _Cell:
    """One LSTM direction, validated: sizes, flags and its packed weights."""

    lay: _Layout
    n_input: int
    n_aux: int
    n_cell: int
    n_out: int
    cifg: bool
    peephole: bool
    norm: bool
    proj: bool
    diagonal: bool = False
    flags: np.ndarray = None
    packed: list | None = None     # None: packed into scratch on every run
    first_scratch: int = 0
    hybrid: object = None          # sequence_quantized.HybridWeights for int8 weights

    @property
    def width(self) -> int:
        return (3 if self.cifg else 4) * self.n_cell

    def shapes(self) -> list:
        nc, w = self.n_cell, self.width
        return [(self.n_input, w), (self.n_aux, w), (self.n_out, w), (w,), (3, nc), (4, nc),
                (nc, self.n_out), (self.n_out,)]

    def pack(self, get: Callable, dst: list) -> list:
        """Fill ``dst`` (arrays of :meth:`shapes`) from the op's inputs (``get(i)``)."""
        w_in, w_aux, w_rec, bias, peep, ln, proj, proj_bias = dst
        nc, lay = self.n_cell, self.lay
        for gate, slot in enumerate(_SLOTS):
            if self.cifg and slot == INPUT:
                continue
            cols = slice(slot * nc, (slot + 1) * nc)
            w_in[:, cols] = get(lay.w[gate]).T
            if self.diagonal:
                w_rec[:, cols] = 0
                np.fill_diagonal(w_rec[:, cols], get(lay.r[gate]))
            else:
                w_rec[:, cols] = get(lay.r[gate]).T
            if self.n_aux:
                w_aux[:, cols] = get(lay.aux[gate]).T
            bias[cols] = get(lay.bias[gate])
            if self.norm:
                ln[slot] = get(lay.ln[gate])
        if self.peephole:
            for row, index in enumerate(lay.peephole):
                if not (self.cifg and row == 0):
                    peep[row] = get(index)
        if self.proj:
            proj[...] = get(lay.proj).T
            proj_bias[...] = get(lay.proj_bias) if get(lay.proj_bias) is not None else 0
        return dst


# dtype of each kind of weight tensor, per kernel variant: float, hybrid (int8 weights,
# float activations) and integer (8x8_16: int8 activations, int16 cell)
_DTYPES = {"float": {"matrix": np.float32, "peephole": np.float32, "bias": np.float32,
                     "ln": np.float32},
           "hybrid": {"matrix": np.int8, "peephole": np.int8, "bias": np.float32,
                      "ln": np.float32},
           "integer": {"matrix": np.int8, "peephole": np.int16, "bias": np.int32,
                       "ln": np.int16}}


def _weight(ctx: PrepareContext, i: int, shape: tuple, what: str, required=True,
                  kind: str = "bias", mode: str = "float"):
    """Input ``i`` checked to be a tensor of ``shape`` with the dtype ``_DTYPES`` gives its
    ``kind`` in ``mode`` — constant (integer ones with one scale) unless ``mode`` is
    float. None if absent, allowed unless ``required``."""
    t = ctx.input(i)
    if t is None:
        ctx.check(not required, f"input {i} ({what}) is required")
        return None
    dtype = np.dtype(_DTYPES[mode][kind])
    ctx.check(t.dtype == dtype, f"input {i} ({what}) must be {dtype}, got {t.dtype}")
    if mode != "float":
        check_quantized_weight(ctx, i, what, scaled=dtype.kind == "i" and dtype.itemsize < 4)
    ctx.check(tuple(t.shape) == shape,
              f"input {i} ({what}) has shape {list(t.shape)}, expected {list(shape)}")
    return t


def _present(ctx: PrepareContext, indices) -> list:
    return [ctx.input(i) is not None for i in indices]


def _check_cell(ctx: PrepareContext, lay: _Layout, n_input: int, n_aux: int,
                diagonal: bool = False, mode: str = "float") -> _Cell:
    """Validate one direction's tensors (TFLite's rules, dtypes per ``mode``, see
    ``_DTYPES``) and size its :class:`_Cell`."""
    w_o, r_o = ctx.input(lay.w[3]), ctx.input(lay.r[3])
    ctx.check(mode == "float" or not diagonal,
              "diagonal recurrent weights are not supported with int8 weights")
    ctx.check(w_o is not None and len(w_o.shape) == 2, "input_to_output weights must be 2-D")
    ctx.check(r_o is not None and len(r_o.shape) == (1 if diagonal else 2),
              f"recurrent_to_output weights must be {1 if diagonal else 2}-D")
    nc = w_o.shape[0]
    n_out = nc if diagonal else r_o.shape[1]
    cifg = ctx.input(lay.w[0]) is None
    ctx.check(cifg == (ctx.input(lay.r[0]) is None),
              "input_to_input and recurrent_to_input weights must be both present or absent")
    for gate in range(4):
        required = gate > 0 or not cifg
        _weight(ctx, lay.w[gate], (nc, n_input), "input weights", required, "matrix",
                      mode)
        _weight(ctx, lay.r[gate], (nc,) if diagonal else (nc, n_out),
                      "recurrent weights", required, "matrix", mode)
        ctx.check((ctx.input(lay.bias[gate]) is None) == (gate == 0 and cifg),
                  "the input gate bias must be present exactly when the input gate is")
        _weight(ctx, lay.bias[gate], (nc,), "gate bias", False, "bias", mode)
    peep = _present(ctx, lay.peephole)
    peephole = peep[2]       # with CIFG a cell_to_input weight may come along, unused
    ctx.check(peep[1:] == [peephole] * 2 and peep[0] in ((peephole,) if not cifg else
                                                         (False, peephole)),
              "peephole weights must be all present or all absent")
    for i in lay.peephole:
        _weight(ctx, i, (nc,), "peephole weights", False, "peephole", mode)
    proj = _weight(ctx, lay.proj, (n_out, nc), "projection weights", False, "matrix",
                         mode) is not None
    ctx.check(proj or ctx.input(lay.proj_bias) is None, "projection bias without weights")
    _weight(ctx, lay.proj_bias, (n_out,), "projection bias", False, "bias", mode)
    ctx.check(proj or n_out == nc, f"without projection n_output ({n_out}) must be n_cell")
    norm = lay.ln is not None and ctx.input(lay.ln[1]) is not None
    if norm:
        ctx.check(_present(ctx, lay.ln) == [not cifg, True, True, True],
                  "layer-norm coefficients must be present for every used gate")
        for i in lay.ln:
            _weight(ctx, i, (nc,), "layer-norm coefficients", False, "ln", mode)
    if n_aux:
        ctx.check(all(_present(ctx, lay.aux)[1 if cifg else 0:]),
                  "aux input weights must be present for every used gate")
        for i in lay.aux:
            _weight(ctx, i, (nc, n_aux), "aux input weights", False, "matrix", mode)
    return _Cell(lay, n_input, n_aux, nc, n_out, cifg, peephole, norm, proj, diagonal,
                 np.array([cifg, peephole, norm, proj], np.int64))


def _check_state(ctx: PrepareContext, i: int, size: int, what: str) -> None:
    s = ctx.input(i)
    ctx.check(s is not None and s.data is None, f"input {i} ({what}) must be a variable tensor")
    ctx.check(s.dtype == np.float32 and s.size == size,
              f"input {i} ({what}) must hold {size} float32 values, got {list(s.shape)}")


def _plan_cell(ctx: PrepareContext, cell: _Cell, n_batch: int, hybrid: bool) -> None:
    """State checks, weight packing (now if constant, else per run) and scratch."""
    _check_state(ctx, cell.lay.h, n_batch * cell.n_out, "output state")
    _check_state(ctx, cell.lay.c, n_batch * cell.n_cell, "cell state")
    if hybrid:
        cell.hybrid = pack_hybrid(ctx, cell)
        asymmetric = bool(ctx.options.get("asymmetric_quantize_inputs", False))
        cell.flags = np.append(cell.flags, np.int64(asymmetric))
        cell.first_scratch = len(ctx.scratch_requests)
        ctx.scratch((cell.width,), np.float32)
        ctx.scratch((cell.n_cell,), np.float32)
        ctx.scratch((max(cell.n_input, cell.n_aux, cell.n_out, cell.n_cell),), np.int8)
        return
    used = [i for i in (*cell.lay.w, *cell.lay.r, *cell.lay.peephole, *cell.lay.bias,
                        cell.lay.proj, cell.lay.proj_bias, *(cell.lay.ln or ()),
                        *(cell.lay.aux if cell.n_aux else ())) if ctx.input(i) is not None]
    zeros = [np.zeros(s, np.float32) for s in cell.shapes()]
    if all(ctx.input(i).data is not None for i in used):
        cell.packed = cell.pack(lambda i: None if ctx.input(i) is None else
                                np.asarray(ctx.input(i).data, np.float32), zeros)
    cell.first_scratch = len(ctx.scratch_requests)
    for shape in ([(cell.width,), (cell.n_cell,)] +
                  ([] if cell.packed is not None else cell.shapes())):
        ctx.scratch(shape, np.float32)


def _run_cell(cell: _Cell, ins, scratch, x, aux, time_major: bool, reverse: bool, clips,
              act: int, out, offset: int) -> None:
    s = cell.first_scratch
    if cell.hybrid is not None:
        hw = cell.hybrid
        hybrid_lstm_sequence(x, aux, time_major, reverse, hw.w_in, hw.w_aux, hw.w_rec,
                             hw.scales, hw.sums, hw.bias, hw.peep, hw.ln, hw.proj,
                             hw.proj_scale, hw.proj_sums, hw.proj_bias, cell.flags, clips, act,
                             ins[cell.lay.h].reshape(-1, cell.n_out),
                             ins[cell.lay.c].reshape(-1, cell.n_cell), out, offset,
                             scratch[s], scratch[s + 1], scratch[s + 2])
        return
    packed = cell.packed if cell.packed is not None else \
        cell.pack(lambda i: None if i < 0 or ins[i] is None else ins[i], scratch[s + 2:s + 10])
    h = ins[cell.lay.h].reshape(-1, cell.n_out)
    c = ins[cell.lay.c].reshape(-1, cell.n_cell)
    lstm_sequence(x, aux, time_major, reverse, *packed, cell.flags, clips, act, h, c, out,
                  offset, scratch[s], scratch[s + 1])


def _options(ctx: PrepareContext) -> tuple[np.ndarray, int]:
    clips = np.array([ctx.options.get("cell_clip", 0.0), ctx.options.get("proj_clip", 0.0)],
                     np.float32)
    ctx.check(bool(np.all(clips >= 0)), f"cell_clip/proj_clip must be >= 0, got {list(clips)}")
    name = ctx.options.get("fused_activation_function", "NONE")
    ctx.check(name in ACTIVATION_CODES, f"fused activation {name} is not supported")
    return clips, ACTIVATION_CODES[name]


def _sequence_input(ctx: PrepareContext, i: int = 0, int8: bool = False):
    x = ctx.input(i)
    ctx.check(x is not None and len(x.shape) == 3, "the input must be 3-D")
    ctx.check(x.dtype == np.float32 or (int8 and x.dtype == np.int8),
              f"{x.dtype} input is not supported" + (" (float32 or int8)" if int8 else
                                                     " (float32 only)"))
    return x


def prepare_unidirectional_lstm(ctx: PrepareContext):
    ctx.check(len(ctx.op.inputs) in (20, 24),
              f"expects 20 or 24 inputs, got {len(ctx.op.inputs)}")
    ctx.check(len(ctx.outputs) == 1, "expects one output")
    x = _sequence_input(ctx, int8=True)
    time_major = bool(ctx.options.get("time_major", False))
    n_batch = x.shape[1] if time_major else x.shape[0]
    clips, act = _options(ctx)
    diagonal = bool(ctx.options.get("diagonal_recurrent_tensors", False))
    mode = "integer" if x.dtype == np.int8 else \
        "hybrid" if is_hybrid_weight(ctx.input(_UNI.w[3])) else "float"
    cell = _check_cell(ctx, _UNI, x.shape[2], 0, diagonal, mode)
    if mode == "integer":
        return prepare_integer_lstm(ctx, cell, time_major, n_batch)
    _plan_cell(ctx, cell, n_batch, mode == "hybrid")
    ctx.set_output(0, x.shape[:2] + (cell.n_out,), np.float32)
    aux = np.zeros(x.shape[:2] + (0,), np.float32)

    def run(ins, outs, scratch):
        _run_cell(cell, ins, scratch, ins[0], aux, time_major, False, clips, act, outs[0], 0)
    return run


def prepare_bidirectional_lstm(ctx: PrepareContext):
    ctx.check(len(ctx.op.inputs) == 48, f"expects 48 inputs, got {len(ctx.op.inputs)}")
    merge = bool(ctx.options.get("merge_outputs", False))
    ctx.check(len(ctx.outputs) == (1 if merge else 2),
              f"expects {1 if merge else 2} outputs with merge_outputs={merge}")
    x = _sequence_input(ctx)
    time_major = bool(ctx.options.get("time_major", True))
    n_batch = x.shape[1] if time_major else x.shape[0]
    clips, act = _options(ctx)
    aux_in = ctx.input(39)
    use_aux = ctx.input(41) is not None
    ctx.check(not use_aux or aux_in is not None, "aux input weights without an aux input")
    # Without aux weights an aux input is the backward direction's input (stacked
    # bidirectional layers without cross links); with them it feeds both directions.
    bw_index = 39 if aux_in is not None and not use_aux else 0
    if bw_index or use_aux:
        _sequence_input(ctx, 39)
        ctx.check(aux_in.shape[:2] == x.shape[:2], "the aux input's time/batch must match")
    n_aux = aux_in.shape[2] if use_aux else 0
    hybrid = is_hybrid_weight(ctx.input(_FW.w[3]))
    mode = "hybrid" if hybrid else "float"
    fw = _check_cell(ctx, _FW, x.shape[2], n_aux, mode=mode)
    bw = _check_cell(ctx, _BW, ctx.input(bw_index).shape[2], n_aux, mode=mode)
    _plan_cell(ctx, fw, n_batch, hybrid)
    _plan_cell(ctx, bw, n_batch, hybrid)
    ctx.set_output(0, x.shape[:2] + (fw.n_out + (bw.n_out if merge else 0),), np.float32)
    if not merge:
        ctx.set_output(1, x.shape[:2] + (bw.n_out,), np.float32)
    no_aux = np.zeros(x.shape[:2] + (0,), np.float32)

    def run(ins, outs, scratch):
        aux = ins[39] if use_aux else no_aux
        _run_cell(fw, ins, scratch, ins[0], aux, time_major, False, clips, act, outs[0], 0)
        bw_out, offset = (outs[0], fw.n_out) if merge else (outs[1], 0)
        _run_cell(bw, ins, scratch, ins[bw_index], aux, time_major, True, clips, act,
                  bw_out, offset)
    return run


def prepare_unidirectional_rnn(ctx: PrepareContext):
    ctx.check(len(ctx.op.inputs) == 5 and len(ctx.outputs) == 1,
              "expects 5 inputs and one output")
    x = _sequence_input(ctx)
    time_major = bool(ctx.options.get("time_major", False))
    n_batch = x.shape[1] if time_major else x.shape[0]
    w = ctx.input(1)
    ctx.check(w is not None and len(w.shape) == 2, "input weights must be 2-D")
    units = w.shape[0]
    mode = "hybrid" if is_hybrid_weight(w) else "float"
    _weight(ctx, 1, (units, x.shape[2]), "input weights", True, "matrix", mode)
    _weight(ctx, 2, (units, units), "recurrent weights", True, "matrix", mode)
    _weight(ctx, 3, (units,), "bias", True, "bias", mode)
    h = ctx.input(4)
    _check_state(ctx, 4, n_batch * units, "hidden state")
    ctx.check(tuple(h.shape) == (n_batch, units), f"hidden state must be [{n_batch}, {units}]")
    name = ctx.options.get("fused_activation_function", "NONE")
    ctx.check(name in ACTIVATION_CODES, f"fused activation {name} is not supported")
    act = ACTIVATION_CODES[name]
    ctx.set_output(0, x.shape[:2] + (units,), np.float32)
    if mode == "hybrid":
        return prepare_hybrid_rnn(ctx, units, time_major, act)
    const = all(ctx.input(i).data is not None for i in (1, 2, 3))
    packed = [np.ascontiguousarray(np.asarray(ctx.input(i).data, np.float32).T)
              for i in (1, 2)] if const else None
    if not const:
        ctx.scratch((x.shape[2], units), np.float32)
        ctx.scratch((units, units), np.float32)

    def run(ins, outs, scratch):
        if packed is None:
            np.copyto(scratch[0], ins[1].T)
            np.copyto(scratch[1], ins[2].T)
        w_in, w_rec = packed if packed is not None else scratch
        rnn_sequence(ins[0], time_major, w_in, w_rec, ins[3], act, ins[4], outs[0])
    return run


KERNELS = {
    "UNIDIRECTIONAL_SEQUENCE_LSTM": KernelDef(prepare_unidirectional_lstm, 4, pure=False),
    "BIDIRECTIONAL_SEQUENCE_LSTM": KernelDef(prepare_bidirectional_lstm, 3, pure=False),
    "UNIDIRECTIONAL_SEQUENCE_RNN": KernelDef(prepare_unidirectional_rnn, 3, pure=False),
}
