"""An NHWC graph builder shared by the Keras and SavedModel frontends.

Keras layers and TF ops are already channels-last, so unlike the ONNX frontend there is
no layout tracking: a :class:`Value` is one IR tensor (or a numpy constant not yet
materialized), and each method emits one TFLite builtin, computing its output shape.
Elementwise ops on two constants are evaluated here with numpy; everything else on
constants is left to the ``fold_constants`` pass, which runs the real kernels.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Optional

import numpy as np

from ...schema import ir
from ..errors import ConversionError
from .tensors import TensorFactory

NONE = "NONE"
_NUMPY_BINARY = {"ADD": np.add, "SUB": np.subtract, "MUL": np.multiply, "DIV": np.divide,
                 "MAXIMUM": np.maximum, "MINIMUM": np.minimum, "POW": np.power,
                 "SQUARED_DIFFERENCE": lambda a, b: (a - b) ** 2}


@dataclass
class Value:
    shape: tuple[int, ...]
    dtype: np.dtype
    index: int = -1                        # IR tensor (-1: constant not materialized)
    const: Optional[np.ndarray] = None

    @property
    def rank(self) -> int:
        return len(self.shape)


def same_pads(size: int, k: int, stride: int, dilation: int = 1) -> tuple[int, int]:
    out = -(-size // stride)
    total = max((out - 1) * stride + (k - 1) * dilation + 1 - size, 0)
    return total // 2, total - total // 2


def conv_out(size: int, k: int, stride: int, dilation: int, padding: str) -> int:
    if padding == "SAME":
        return -(-size // stride)
    return (size - (k - 1) * dilation - 1) // stride + 1


class Builder(TensorFactory):
    """Emits TFLite builtins into one subgraph; ``where`` names the part being lowered."""

    def __init__(self, name: str = "main") -> None:
        self.sg = ir.Subgraph(name=name)
        self._names: set[str] = set()
        self._const_cache: dict[tuple, int] = {}
        self.where = ""
        self.producer: dict[int, ir.Operator] = {}

    def error(self, message: str) -> ConversionError:
        return ConversionError(f"{self.where}: {message}" if self.where else message)

    # ------------------------------------------------------------------ tensors
    def const(self, array, dtype=None) -> Value:
        array = np.asarray(array, dtype=dtype)
        if array.dtype == np.float64:
            array = array.astype(np.float32)
        return Value(tuple(array.shape), array.dtype, const=array)

    def tensor(self, v: Optional[Value]) -> int:
        """The IR tensor index of ``v`` (a constant becomes a shared constant tensor)."""
        if v is None:
            return -1
        if v.index >= 0:
            return v.index
        array = np.array(v.const, order="C")
        key = (array.dtype.str, array.shape, hashlib.sha1(array.tobytes()).hexdigest())
        if key not in self._const_cache:
            self._const_cache[key] = self.new_tensor(f"{self.where or 'const'}_const",
                                                     array.shape, array.dtype, data=array)
        return self._const_cache[key]

    def input(self, name: str, shape, dtype=np.float32) -> Value:
        v = Value(tuple(int(d) for d in shape), np.dtype(dtype))
        v.index = self.new_tensor(name, v.shape, v.dtype)
        self.sg.inputs.append(v.index)
        return v

    def output(self, v: Value, name: str) -> None:
        if v.index < 0 or v.index in self.sg.inputs or v.index in self.sg.outputs:
            v = self.reshape(v, v.shape, force=True)
        t = self.sg.tensors[v.index]
        self._names.discard(t.name)
        t.name = self.unique(name)
        self.sg.outputs.append(v.index)

    def op(self, opcode: str, inputs: list, shapes: list, dtypes: list | None = None,
           options: dict | None = None) -> list[Value]:
        dtypes = dtypes or [np.float32] * len(shapes)
        outs = []
        for k, (shape, dtype) in enumerate(zip(shapes, dtypes)):
            v = Value(tuple(int(d) for d in shape), np.dtype(dtype))
            v.index = self.new_tensor(f"{self.where}/{opcode.lower()}" + (f"_{k}" if k else ""),
                                      v.shape, v.dtype)
            outs.append(v)
        op = ir.Operator(opcode, [self.tensor(i) for i in inputs], [o.index for o in outs],
                         dict(options or {}))
        self.sg.operators.append(op)
        for o in outs:
            self.producer[o.index] = op
        return outs

    def op1(self, opcode, inputs, shape, dtype=np.float32, options=None) -> Value:
        return self.op(opcode, inputs, [shape], [dtype], options)[0]

    def ints(self, values) -> Value:
        return self.const(np.array(values, np.int32))

    # ------------------------------------------------------------------ layers
    def conv2d(self, x: Value, w_hwio: np.ndarray, bias, strides, padding: str,
               dilations=(1, 1), act: str = NONE) -> Value:
        kh, kw, _, cout = w_hwio.shape
        n, h, w, _ = x.shape
        shape = (n, conv_out(h, kh, strides[0], dilations[0], padding),
                 conv_out(w, kw, strides[1], dilations[1], padding), cout)
        bias = np.zeros(cout, np.float32) if bias is None else bias
        filt = self.const(np.ascontiguousarray(np.transpose(w_hwio, (3, 0, 1, 2)), np.float32))
        return self.op1("CONV_2D", [x, filt, self.const(bias, np.float32)], shape, options={
            "padding": padding, "stride_h": int(strides[0]), "stride_w": int(strides[1]),
            "dilation_h_factor": int(dilations[0]), "dilation_w_factor": int(dilations[1]),
            "fused_activation_function": act})

    def depthwise(self, x: Value, w_hwcm: np.ndarray, bias, strides, padding: str,
                  dilations=(1, 1), act: str = NONE) -> Value:
        kh, kw, cin, mult = w_hwcm.shape
        n, h, w, _ = x.shape
        shape = (n, conv_out(h, kh, strides[0], dilations[0], padding),
                 conv_out(w, kw, strides[1], dilations[1], padding), cin * mult)
        bias = np.zeros(cin * mult, np.float32) if bias is None else bias
        filt = self.const(np.asarray(w_hwcm, np.float32).reshape(1, kh, kw, cin * mult))
        return self.op1("DEPTHWISE_CONV_2D", [x, filt, self.const(bias, np.float32)], shape,
                        options={"padding": padding, "stride_h": int(strides[0]),
                                 "stride_w": int(strides[1]), "depth_multiplier": int(mult),
                                 "dilation_h_factor": int(dilations[0]),
                                 "dilation_w_factor": int(dilations[1]),
                                 "fused_activation_function": act})

    def dense(self, x: Value, w_io, bias=None, act: str = NONE) -> Value:
        """``x @ w_io + bias`` over the last axis (FULLY_CONNECTED, keeping leading dims)."""
        w = w_io if isinstance(w_io, Value) else self.const(
            np.ascontiguousarray(np.asarray(w_io, np.float32).T))
        units = w.shape[0]
        b = None if bias is None else (bias if isinstance(bias, Value)
                                       else self.const(bias, np.float32))
        keep = x.rank > 2
        shape = x.shape[:-1] + (units,) if keep else (int(np.prod(x.shape[:-1])), units)
        return self.op1("FULLY_CONNECTED", [x, w, b], shape, options={
            "fused_activation_function": act, "weights_format": "DEFAULT",
            "keep_num_dims": keep, "asymmetric_quantize_inputs": False})

    def pool(self, opcode: str, x: Value, ksize, strides, padding: str) -> Value:
        n, h, w, c = x.shape
        shape = (n, conv_out(h, ksize[0], strides[0], 1, padding),
                 conv_out(w, ksize[1], strides[1], 1, padding), c)
        return self.op1(opcode, [x], shape, options={
            "padding": padding, "stride_h": int(strides[0]), "stride_w": int(strides[1]),
            "filter_height": int(ksize[0]), "filter_width": int(ksize[1]),
            "fused_activation_function": NONE})

    # ------------------------------------------------------------------ elementwise
    def binary(self, opcode: str, a: Value, b: Value, act: str = NONE) -> Value:
        if a.const is not None and b.const is not None and opcode in _NUMPY_BINARY \
                and act == NONE:
            return self.const(np.asarray(_NUMPY_BINARY[opcode](a.const, b.const),
                                         np.result_type(a.dtype, b.dtype)))
        shape = tuple(np.broadcast_shapes(a.shape, b.shape))
        if act == NONE:
            same = self._trivial(opcode, a, b, shape)
            if same is not None:
                return same
            if opcode == "ADD":
                fused = self.bias_into_dense(a, b) or self.bias_into_dense(b, a)
                if fused is not None:
                    return fused
            if b.const is not None and b.dtype.kind == "f" and opcode in ("SUB", "DIV"):
                # x - c = x + (-c), x / c = x * (1/c): forms the folding passes absorb
                c = np.asarray(b.const, np.float64)
                opcode, b = ("ADD", self.const((-c).astype(b.dtype))) if opcode == "SUB" \
                    else ("MUL", self.const((1.0 / c).astype(b.dtype)))
        opts = {"fused_activation_function": act} if opcode in ("ADD", "SUB", "MUL", "DIV") \
            else {}
        if opcode in ("ADD", "SUB"):
            opts["pot_scale_int16"] = True
        dtype = a.dtype if a.const is None else b.dtype
        return self.op1(opcode, [a, b], shape, dtype, opts)

    @staticmethod
    def _trivial(opcode, a: Value, b: Value, shape) -> Value | None:
        """``x * 1``, ``x + 0``, ``x - 0``, ``x / 1`` (not growing x): x itself."""
        unit = {"MUL": 1, "DIV": 1, "ADD": 0, "SUB": 0}.get(opcode)
        if unit is None:
            return None
        pairs = ((a, b), (b, a)) if opcode in ("MUL", "ADD") else ((a, b),)
        for x, c in pairs:
            if c.const is not None and x.const is None and x.shape == shape and \
                    x.dtype == np.result_type(x.dtype, c.dtype) and np.all(c.const == unit):
                return x
        return None

    def scalar(self, value, dtype=np.float32) -> Value:
        return self.const(np.array(value, dtype))

    def unary(self, opcode: str, x: Value, options: dict | None = None) -> Value:
        return self.op1(opcode, [x], x.shape, x.dtype, options)

    def softmax(self, x: Value, beta: float = 1.0) -> Value:
        return self.unary("SOFTMAX", x, {"beta": float(beta)})

    # ------------------------------------------------------------------ movement
    def reshape(self, x: Value, shape, force: bool = False) -> Value:
        shape = list(int(d) for d in shape)
        if -1 in shape:
            k = shape.index(-1)
            rest = int(np.prod([d for i, d in enumerate(shape) if i != k]))
            shape[k] = int(np.prod(x.shape)) // max(rest, 1)
        if x.const is not None:
            return self.const(np.reshape(x.const, shape))
        if tuple(shape) == x.shape and not force:
            return x
        if not force:
            source = self._reshaped_from(x)
            if source is not None:   # a reshape of a reshape: one from the source
                return self.reshape(source, shape)
            folded = self._keepdims_reduce(x, shape)
            folded = self._keepdims_dense(x, shape) if folded is None else folded
            if folded is not None:
                return folded
        return self.op1("RESHAPE", [x, self.ints(shape)], shape, x.dtype,
                        {"new_shape": shape})

    def _reshaped_from(self, x: Value) -> Value | None:
        op = self.producer.get(x.index)
        if op is None or op.opcode != "RESHAPE" or op.outputs != [x.index]:
            return None
        t = self.sg.tensors[op.inputs[0]]
        if t.is_constant or op.inputs[0] in self.sg.outputs:
            return None
        return Value(tuple(t.shape), t.dtype, index=op.inputs[0])

    def _keepdims_reduce(self, x: Value, shape) -> Value | None:
        """A reduction re-emitted with keep_dims when ``shape`` is its keep-dims shape
        (global pooling then Reshape to [N, 1, 1, C]: one MEAN, as TF's converter
        writes it); the first reduction is left for dead-code removal."""
        op = self.producer.get(x.index)
        if op is None or op.opcode not in ("MEAN", "SUM", "REDUCE_MAX", "REDUCE_MIN") or \
                op.options.get("keep_dims"):
            return None
        src = self.sg.tensors[op.inputs[0]]
        axes = self.sg.tensors[op.inputs[1]].data
        if axes is None:
            return None
        axes = sorted(int(a) % len(src.shape) for a in np.asarray(axes).reshape(-1))
        kept = [1 if i in axes else d for i, d in enumerate(src.shape)]
        if list(shape) != kept:
            return None
        v = Value(src.shape, src.dtype, index=op.inputs[0])
        return self.reduce(op.opcode, v, axes, True)

    def _keepdims_dense(self, x: Value, shape) -> Value | None:
        """RESHAPE to [M, K] -> FULLY_CONNECTED -> RESHAPE back to [..., N] (TF's
        Tensordot for a Dense on a 3-D input) as one FULLY_CONNECTED keeping the dims."""
        fc = self.producer.get(x.index)
        if fc is None or fc.opcode != "FULLY_CONNECTED" or fc.options.get("keep_num_dims") \
                or fc.options.get("fused_activation_function") != NONE:
            return None
        flat = self.producer.get(fc.inputs[0])
        if flat is None or flat.opcode != "RESHAPE":
            return None
        src = self.sg.tensors[flat.inputs[0]]
        if tuple(src.shape[:-1]) != tuple(shape[:-1]) or shape[-1] != x.shape[-1]:
            return None
        w = self.sg.tensors[fc.inputs[1]]
        bias = fc.inputs[2] if len(fc.inputs) > 2 else -1
        return self.op1("FULLY_CONNECTED", [Value(src.shape, src.dtype, index=flat.inputs[0]),
                                            Value(w.shape, w.dtype, index=fc.inputs[1]),
                                            None if bias < 0 else Value(
                                                (x.shape[-1],), x.dtype, index=bias)],
                        tuple(shape), x.dtype, {**fc.options, "keep_num_dims": True})

    def bias_into_dense(self, a: Value, c: Value) -> Value | None:
        """``reshape(FC(x)) + c`` with c covering exactly the dims the reshape split off
        the FC's units: the FC takes c as its bias (Keras' EinsumDense bias)."""
        if c.const is None or a.const is not None or c.rank == 0:
            return None
        rs = self.producer.get(a.index)
        if rs is None or rs.opcode != "RESHAPE":
            return None
        fc = self.producer.get(rs.inputs[0])
        if fc is None or fc.opcode != "FULLY_CONNECTED" or \
                (len(fc.inputs) > 2 and fc.inputs[2] >= 0) or \
                fc.options.get("fused_activation_function") != NONE:
            return None
        units = self.sg.tensors[fc.outputs[0]].shape[-1]
        if tuple(c.shape) != a.shape[-c.rank:] or int(np.prod(c.shape)) != units:
            return None
        x, w = fc.inputs[0], fc.inputs[1]
        xt, wt = self.sg.tensors[x], self.sg.tensors[w]
        out = self.sg.tensors[fc.outputs[0]]
        y = self.op1("FULLY_CONNECTED", [Value(xt.shape, xt.dtype, index=x),
                                         Value(wt.shape, wt.dtype, index=w),
                                         self.const(np.asarray(c.const, np.float32).reshape(-1))],
                     out.shape, out.dtype, dict(fc.options))
        return self.reshape(y, a.shape)

    def transpose(self, x: Value, perm) -> Value:
        perm = [int(p) for p in perm]
        if x.const is not None:
            return self.const(np.transpose(x.const, perm))
        if perm == list(range(x.rank)):
            return x
        moved = [p for p in perm if x.shape[p] != 1]
        if moved == sorted(moved):   # only size-1 axes move: the data order is unchanged
            return self.reshape(x, [x.shape[p] for p in perm])
        return self.op1("TRANSPOSE", [x, self.ints(perm)], [x.shape[p] for p in perm],
                        x.dtype)

    def concat(self, values: list[Value], axis: int) -> Value:
        rank = values[0].rank
        axis %= rank
        if all(v.const is not None for v in values):
            return self.const(np.concatenate([v.const for v in values], axis))
        shape = list(values[0].shape)
        shape[axis] = sum(v.shape[axis] for v in values)
        return self.op1("CONCATENATION", values, shape, values[0].dtype,
                        {"axis": axis, "fused_activation_function": NONE})

    def pad(self, x: Value, pads, value: float | None = None) -> Value:
        pads = [[int(b), int(e)] for b, e in pads]
        shape = [d + b + e for d, (b, e) in zip(x.shape, pads)]
        if value is None or value == 0:
            return self.op1("PAD", [x, self.ints(pads)], shape, x.dtype)
        return self.op1("PADV2", [x, self.ints(pads), self.const(np.array(value, x.dtype))],
                        shape, x.dtype)

    def reduce(self, opcode: str, x: Value, axes, keepdims: bool) -> Value:
        axes = sorted(int(a) % x.rank for a in axes)
        shape = [1 if i in axes else d for i, d in enumerate(x.shape)] if keepdims else \
            [d for i, d in enumerate(x.shape) if i not in axes]
        return self.op1(opcode, [x, self.ints(axes)], shape, x.dtype, {"keep_dims": keepdims})

    def slice(self, x: Value, begin, size) -> Value:
        size = [x.shape[i] - b if s == -1 else s for i, (b, s) in enumerate(zip(begin, size))]
        if x.const is not None:
            idx = tuple(slice(b, b + s) for b, s in zip(begin, size))
            return self.const(np.ascontiguousarray(x.const[idx]))
        return self.op1("SLICE", [x, self.ints(begin), self.ints(size)], size, x.dtype)

    def batch_matmul(self, a: Value, b: Value, adj_x=False, adj_y=False) -> Value:
        m = a.shape[-1] if adj_x else a.shape[-2]
        n = b.shape[-2] if adj_y else b.shape[-1]
        lead = tuple(np.broadcast_shapes(a.shape[:-2], b.shape[:-2]))
        return self.op1("BATCH_MATMUL", [a, b], lead + (m, n), a.dtype,
                        {"adj_x": bool(adj_x), "adj_y": bool(adj_y),
                         "asymmetric_quantize_inputs": False})
