"""Keras' LSTM in a SavedModel: a ``While`` loop over TensorList ops -> one
UNIDIRECTIONAL_SEQUENCE_LSTM (time-major, as the loop reads its input).

The exported graph (Keras 3 ``LSTM``, TF's ``tf.while_loop`` lowering):

    xs   = TensorListFromTensor(transpose(x, [1, 0, 2]))     # time-major steps
    out  = TensorListReserve(n)                              # n = T, or 1 (last only)
    loop = While(counter 0, max T, time 0, out, h0 = 0, c0 = 0, xs, kernel, rec, bias)
    body:  z = MatMul(GetItem(xs, time), kernel) + MatMul(h, rec); BiasAdd(z, bias)
           i, f, g, o = Split(z, 4);  c' = sigmoid(f) * c + sigmoid(i) * act(g)
           h' = sigmoid(o) * act(c');  out = SetItem(out, time | 0, h')
    y    = TensorListStack(loop.out)                         # [n, batch, units]

The body is matched node by node (the gate algebra included); anything else fails
naming the While node. TensorLists live only at conversion: a list is the stacked
tensor it holds (:class:`TensorList`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...errors import ConversionError
from ..keras.layers.recurrent import sequence_lstm
from ..nhwc_builder import Builder, Value

_ACTS = {"Tanh": "tanh", "Relu": "relu", "Relu6": "relu6"}


@dataclass
class TensorList:
    """A TensorList at conversion time: ``tensor`` stacks its items on axis 0 (None for a
    reserved list nothing was written to yet); ``length`` its item count."""
    tensor: Value | None
    length: int


class Unavailable:
    """A loop output the sequence op does not produce (the final cell state)."""

    def __init__(self, what: str) -> None:
        self.what = what


def tensor_list_from_tensor(b: Builder, node, ins) -> list:
    return [TensorList(ins[0], ins[0].shape[0])]


def tensor_list_reserve(b: Builder, node, ins) -> list:
    if ins[1].const is None:
        raise b.error("the TensorList length must be known at conversion")
    return [TensorList(None, int(np.asarray(ins[1].const)))]


def tensor_list_stack(b: Builder, node, ins) -> list:
    lst = ins[0]
    if not isinstance(lst, TensorList) or lst.tensor is None:
        raise b.error("TensorListStack of a list that no supported loop wrote")
    return [lst.tensor]


class _Body:
    """Resolves references inside the While body function to nodes / argument indices."""

    def __init__(self, fn) -> None:
        self.fn = fn
        self.nodes = {n.name: n for n in fn.nodes}
        self.args = {a: k for k, a in enumerate(fn.inputs)}

    def node(self, ref: str):
        """The producing node of ``ref`` through Identity ops, or None for an argument."""
        name = ref.split(":")[0]
        while name in self.nodes and self.nodes[name].op == "Identity":
            name = self.nodes[name].inputs[0].split(":")[0]
        return self.nodes.get(name)

    def arg(self, ref: str) -> int | None:
        name = ref.split(":")[0]
        while name in self.nodes and self.nodes[name].op == "Identity":
            name = self.nodes[name].inputs[0].split(":")[0]
        return self.args.get(name)

    def output_index(self, ref: str) -> int:
        parts = ref.split(":")
        return int(parts[-1]) if len(parts) == 3 else 0

    def one(self, op: str):
        found = [n for n in self.fn.nodes if n.op == op]
        if len(found) != 1:
            raise ConversionError(f"{len(found)} {op} nodes (one expected)")
        return found[0]

    def variable(self, ref: str) -> int:
        read = self.node(ref)
        if read is None or read.op != "ReadVariableOp" or self.arg(read.inputs[0]) is None:
            raise ConversionError("a weight that is not a loop-invariant variable")
        return self.arg(read.inputs[0])


def _expect(cond: bool, what: str) -> None:
    if not cond:
        raise ConversionError(f"not a Keras LSTM loop: {what}")


def _is(body: _Body, ref: str, op: str):
    n = body.node(ref)
    return n if n is not None and n.op == op else None


def _gate(body: _Body, ref: str, split, k: int, op: str = "Sigmoid") -> bool:
    n = _is(body, ref, op)
    return n is not None and body.node(n.inputs[0]) is split and \
        body.output_index(n.inputs[0]) == k


def _match(body: _Body) -> dict:
    """Roles of the body's arguments and the cell's activation, checked against the
    LSTM cell's algebra."""
    get, put = body.one("TensorListGetItem"), body.one("TensorListSetItem")
    split = body.one("Split")
    _expect(int(split.attrs.get("num_split", 0)) == 4, "Split is not into 4 gates")
    roles = {"xs": body.arg(get.inputs[0]), "time": body.arg(get.inputs[1]),
             "out": body.arg(put.inputs[0])}
    _expect(None not in roles.values(), "the TensorList reads/writes are not loop state")
    z = body.node(split.inputs[1])
    _expect(z is not None and z.op in ("BiasAdd", "AddV2", "Add"), "no bias add")
    roles["bias"] = body.variable(z.inputs[1])
    add = _is(body, z.inputs[0], "AddV2") or _is(body, z.inputs[0], "Add")
    _expect(add is not None, "the gates are not x.W + h.R")
    for ref in add.inputs[:2]:
        mm = _is(body, ref, "MatMul")
        _expect(mm is not None and not mm.attrs.get("transpose_a")
                and not mm.attrs.get("transpose_b"), "the gates are not x.W + h.R")
        if body.node(mm.inputs[0]) is get:
            roles["kernel"] = body.variable(mm.inputs[1])
        else:
            roles["h"] = body.arg(mm.inputs[0])
            roles["rec"] = body.variable(mm.inputs[1])
    _expect({"kernel", "rec"} <= roles.keys() and roles["h"] is not None,
            "the gates are not x.W + h.R")
    h_new = body.node(put.inputs[2])
    _expect(h_new is not None and h_new.op == "Mul", "the written item is not o * act(c)")
    o_ref, act_ref = sorted(h_new.inputs[:2], key=lambda r: not _gate(body, r, split, 3))
    _expect(_gate(body, o_ref, split, 3), "the output gate is not sigmoid(z[3])")
    act = body.node(act_ref)
    _expect(act is not None and act.op in _ACTS, "the cell activation is not tanh/relu")
    roles["act"] = _ACTS[act.op]
    c_new = body.node(act.inputs[0])
    _expect(c_new is not None and c_new.op in ("AddV2", "Add"), "c' is not f*c + i*g")
    terms = [body.node(r) for r in c_new.inputs[:2]]
    _expect(all(t is not None and t.op == "Mul" for t in terms), "c' is not f*c + i*g")
    forget = [t for t in terms if any(_gate(body, r, split, 1) for r in t.inputs[:2])]
    update = [t for t in terms if any(_gate(body, r, split, 0) for r in t.inputs[:2])]
    _expect(len(forget) == 1 and len(update) == 1 and forget[0] is not update[0],
            "c' is not sigmoid(f) * c + sigmoid(i) * act(g)")
    roles["c"] = next((body.arg(r) for r in forget[0].inputs[:2]
                       if body.arg(r) is not None), None)
    _expect(roles["c"] is not None, "the forget gate does not scale the carried c")
    _expect(any(_gate(body, r, split, 2, act.op) for r in update[0].inputs[:2]),
            "the update is not sigmoid(i) * act(z[2])")
    index = body.arg(put.inputs[1])
    roles["sequence"] = index == roles["time"]
    _expect(roles["sequence"] or (body.node(put.inputs[1]) is not None
                                  and body.node(put.inputs[1]).op == "Const"),
            "the output index is neither the time step nor a constant")
    ret = [body.fn.ret[o] for o in body.fn.outputs]
    roles["h_out"] = next(k for k, r in enumerate(ret) if body.node(r) is h_new)
    roles["c_out"] = next((k for k, r in enumerate(ret) if body.node(r) is c_new), None)
    roles["out_out"] = next(k for k, r in enumerate(ret) if body.node(r) is put)
    return roles


def _zero_state(v) -> bool:
    return isinstance(v, Value) and v.const is not None and not np.any(v.const)


def lower_while(low, node, ins) -> list:
    """The While node's outputs, the loop lowered to UNIDIRECTIONAL_SEQUENCE_LSTM."""
    b = low.b
    fn = low.functions.get(node.attrs["body"][1])
    if fn is None:
        raise b.error("its body function is not in the SavedModel's library")
    try:
        roles = _match(_Body(fn))
    except (ConversionError, StopIteration, KeyError, IndexError) as e:
        raise b.error(f"only Keras' LSTM loop is supported as a While ({e})") from None
    xs, out = ins[roles["xs"]], ins[roles["out"]]
    if not isinstance(xs, TensorList) or xs.tensor is None or not isinstance(out, TensorList):
        raise b.error("the loop's TensorLists do not come from TensorListFromTensor / "
                      "TensorListReserve")
    steps = xs.length
    time0, limit = ins[roles["time"]], ins[1]
    if time0.const is None or int(np.asarray(time0.const)) != 0 or limit.const is None \
            or int(np.asarray(limit.const)) < steps:
        raise b.error("the loop does not run over every step of its input from step 0")
    if not (_zero_state(ins[roles["h"]]) and _zero_state(ins[roles["c"]])):
        raise b.error("the LSTM's initial states are not zero")
    kernel, rec, bias = (low.read(ins[roles[k]]).const.astype(np.float32)
                         for k in ("kernel", "rec", "bias"))
    y = sequence_lstm(b, xs.tensor, kernel, rec, bias, roles["act"], time_major=True)
    t, n, units = y.shape
    last = b.op1("STRIDED_SLICE", [y, b.ints([t - 1, 0, 0]), b.ints([t, n, units]),
                                   b.ints([1, 1, 1])], (n, units),
                 options={"begin_mask": 0, "end_mask": 0, "ellipsis_mask": 0,
                          "new_axis_mask": 0, "shrink_axis_mask": 1, "offset": False})
    stacked = y if roles["sequence"] else b.reshape(last, (1, n, units))
    results = list(ins)
    results[roles["out_out"]] = TensorList(stacked, stacked.shape[0])
    results[roles["h_out"]] = last
    if roles["c_out"] is not None:
        results[roles["c_out"]] = Unavailable("the LSTM's final cell state")
    return results


LIST_RULES = {"TensorListFromTensor": tensor_list_from_tensor,
              "TensorListReserve": tensor_list_reserve, "TensorListStack": tensor_list_stack}
