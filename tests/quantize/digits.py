"""A tiny CNN trained on scikit-learn's 8x8 digits, in numpy, for the quantization tests.

    conv 3x3 (1 -> 8, pad 1) - relu - maxpool 2 - conv 3x3 (8 -> 16, pad 1) - relu -
    maxpool 2 - flatten (64) - gemm (10 logits)

Trained with Adam on softmax cross-entropy for a few epochs (~1 s on two cores); the
weights are deterministic for a seed. ``to_onnx`` exports it with ``onnx.helper``;
``quantize_qdq`` makes onnxruntime's static QDQ model of it (per-channel int8 weights,
uint8 activations unless asked otherwise).
"""

from __future__ import annotations

import functools

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper


def load() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(x_train, y_train, x_test, y_test): images [N, 1, 8, 8] in [0, 1], a fixed 80/20
    split (the last 360 images are the test split)."""
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        pytest.fail("the digits tests need scikit-learn: pip install scikit-learn")
    digits = load_digits()
    x = (digits.images / 16.0).astype(np.float32)[:, None]
    y = digits.target.astype(np.int64)
    return x[:-360], y[:-360], x[-360:], y[-360:]


# --------------------------------------------------------------------------- layers
def _patches(x: np.ndarray) -> np.ndarray:
    """[N, C, H, W] -> [N, H, W, C * 9]: the 3x3 neighbourhoods (zero padded), ordered as
    an ONNX weight [O, C, 3, 3] flattens."""
    n, c, h, w = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    cols = np.stack([xp[:, :, dy:dy + h, dx:dx + w] for dy in range(3) for dx in range(3)],
                    axis=2)                                   # [N, C, 9, H, W]
    return cols.transpose(0, 3, 4, 1, 2).reshape(n, h, w, c * 9)


def _unpatch(d: np.ndarray, shape: tuple) -> np.ndarray:
    """The adjoint of ``_patches``: [N, H, W, C * 9] -> [N, C, H, W]."""
    n, c, h, w = shape
    d = d.reshape(n, h, w, c, 9).transpose(0, 3, 4, 1, 2)     # [N, C, 9, H, W]
    out = np.zeros((n, c, h + 2, w + 2), d.dtype)
    for k in range(9):
        dy, dx = divmod(k, 3)
        out[:, :, dy:dy + h, dx:dx + w] += d[:, :, k]
    return out[:, :, 1:-1, 1:-1]


def _conv(x, w, b):
    cols = _patches(x)
    y = cols @ w.reshape(w.shape[0], -1).T + b               # [N, H, W, O]
    return y.transpose(0, 3, 1, 2), cols


def _conv_back(dy, cols, x_shape, w):
    d = dy.transpose(0, 2, 3, 1)                              # [N, H, W, O]
    flat = d.reshape(-1, d.shape[-1])
    dw = (flat.T @ cols.reshape(-1, cols.shape[-1])).reshape(w.shape)
    dx = _unpatch(d @ w.reshape(w.shape[0], -1), x_shape)
    return dx, dw, flat.sum(0)


def _pool(x):
    n, c, h, w = x.shape
    return x.reshape(n, c, h // 2, 2, w // 2, 2).max(axis=(3, 5))


def _pool_back(dy, x, y):
    # ties (all-zero windows after relu) get the gradient in every position, but the
    # relu's own mask zeroes it there
    up = np.repeat(np.repeat(y, 2, axis=2), 2, axis=3)
    return (x == up) * np.repeat(np.repeat(dy, 2, axis=2), 2, axis=3)


def forward(params: dict, x: np.ndarray, cache: dict | None = None) -> np.ndarray:
    """Logits [N, 10] of the float model (numpy)."""
    c1, cols1 = _conv(x, params["w1"], params["b1"])
    r1 = np.maximum(c1, 0)
    p1 = _pool(r1)
    c2, cols2 = _conv(p1, params["w2"], params["b2"])
    r2 = np.maximum(c2, 0)
    p2 = _pool(r2)
    flat = p2.reshape(len(x), -1)
    logits = flat @ params["w3"].T + params["b3"]
    if cache is not None:
        cache.update(x=x, cols1=cols1, c1=c1, r1=r1, p1=p1, cols2=cols2, c2=c2, r2=r2,
                     p2=p2, flat=flat)
    return logits


def _grads(params: dict, x: np.ndarray, y: np.ndarray) -> dict:
    k = {}
    logits = forward(params, x, k)
    p = np.exp(logits - logits.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    p[np.arange(len(y)), y] -= 1
    d = p / len(y)
    g = {"w3": d.T @ k["flat"], "b3": d.sum(0)}
    dp2 = (d @ params["w3"]).reshape(k["p2"].shape)
    dc2 = _pool_back(dp2, k["r2"], k["p2"]) * (k["c2"] > 0)
    dp1, g["w2"], g["b2"] = _conv_back(dc2, k["cols2"], k["p1"].shape, params["w2"])
    dc1 = _pool_back(dp1, k["r1"], k["p1"]) * (k["c1"] > 0)
    _, g["w1"], g["b1"] = _conv_back(dc1, k["cols1"], k["x"].shape, params["w1"])
    return g


@functools.lru_cache(maxsize=2)
def train(seed: int = 0, epochs: int = 12) -> dict:
    """Trained float32 parameters (cached per seed: several tests share one model)."""
    x, y, _, _ = load()
    rng = np.random.default_rng(seed)
    shapes = {"w1": (8, 1, 3, 3), "b1": (8,), "w2": (16, 8, 3, 3), "b2": (16,),
              "w3": (10, 64), "b3": (10,)}
    params = {}
    for name, shape in shapes.items():
        fan_in = int(np.prod(shape[1:])) if len(shape) > 1 else 1
        params[name] = rng.normal(0, np.sqrt(2 / fan_in), shape) if len(shape) > 1 \
            else np.zeros(shape)
    m = {k: np.zeros_like(v) for k, v in params.items()}
    v = {k: np.zeros_like(v) for k, v in params.items()}
    step, lr = 0, 0.01
    xd = x.astype(np.float64)
    for _ in range(epochs):
        order = rng.permutation(len(x))
        for start in range(0, len(x), 32):
            batch = order[start:start + 32]
            g = _grads(params, xd[batch], y[batch])
            step += 1
            for name, grad in g.items():         # Adam
                m[name] = 0.9 * m[name] + 0.1 * grad
                v[name] = 0.999 * v[name] + 0.001 * grad ** 2
                mh, vh = m[name] / (1 - 0.9 ** step), v[name] / (1 - 0.999 ** step)
                params[name] = params[name] - lr * mh / (np.sqrt(vh) + 1e-8)
    return {k: val.astype(np.float32) for k, val in params.items()}


def accuracy(logits: np.ndarray, labels: np.ndarray) -> float:
    return float(np.mean(np.argmax(logits, axis=-1) == labels))


# --------------------------------------------------------------------------- export
def to_onnx(params: dict, opset: int = 13):
    """The float model as ONNX, input "input" [N, 1, 8, 8] (N free), output "logits"."""
    init = [numpy_helper.from_array(v, k) for k, v in params.items()]
    conv = {"kernel_shape": [3, 3], "pads": [1, 1, 1, 1]}
    pool = {"kernel_shape": [2, 2], "strides": [2, 2]}
    nodes = [
        helper.make_node("Conv", ["input", "w1", "b1"], ["c1"], name="conv1", **conv),
        helper.make_node("Relu", ["c1"], ["r1"], name="relu1"),
        helper.make_node("MaxPool", ["r1"], ["p1"], name="pool1", **pool),
        helper.make_node("Conv", ["p1", "w2", "b2"], ["c2"], name="conv2", **conv),
        helper.make_node("Relu", ["c2"], ["r2"], name="relu2"),
        helper.make_node("MaxPool", ["r2"], ["p2"], name="pool2", **pool),
        helper.make_node("Flatten", ["p2"], ["flat"], name="flatten"),
        helper.make_node("Gemm", ["flat", "w3", "b3"], ["logits"], name="fc", transB=1),
    ]
    graph = helper.make_graph(
        nodes, "digits_cnn",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 1, 8, 8])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 10])], init)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    return model


class _Reader:
    """onnxruntime's CalibrationDataReader protocol over a batch of images."""

    def __init__(self, name: str, images: np.ndarray) -> None:
        self._it = iter([{name: images[k:k + 1]} for k in range(len(images))])

    def get_next(self):
        return next(self._it, None)


def quantize_qdq(model, calibration: np.ndarray, tmp_path, activation_type="uint8",
                 input_name: str = "input"):
    """onnxruntime's static QDQ quantization of ``model`` (per-channel int8 weights)."""
    import onnx
    from onnxruntime.quantization import QuantFormat, QuantType, quantize_static

    src, dst = tmp_path / "float.onnx", tmp_path / "qdq.onnx"
    onnx.save(model, src)
    quantize_static(str(src), str(dst), _Reader(input_name, calibration),
                    quant_format=QuantFormat.QDQ, per_channel=True,
                    activation_type=QuantType.QUInt8 if activation_type == "uint8"
                    else QuantType.QInt8, weight_type=QuantType.QInt8)
    return onnx.load(str(dst))


def run_onnxruntime(model, x: np.ndarray) -> np.ndarray:
    import onnxruntime as ort

    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return sess.run(None, {sess.get_inputs()[0].name: x})[0]
