"""SavedModel-only fixtures written with plain TensorFlow (tf.Module + tf.function), for
make_fixtures.py (runs in the TensorFlow venv only).

  qat_savedmodel/          a quantization-aware conv net: FakeQuantWithMinMaxVars(PerChannel)
                           on its weights, FakeQuantWithMinMaxVars / FakeQuantWithMinMaxArgs
                           on its activations (as tensorflow-model-optimization places
                           them: weights symmetric narrow-range, per channel for the convs;
                           activations asymmetric, ranges from a calibration pass)
  qat_tf_int8.tflite       TF's TFLiteConverter of it with optimizations=[DEFAULT] (no
                           representative dataset: the FakeQuant ranges are the ranges)
  qat.npz                  x, y (the FakeQuant float model's outputs), y_tf_int8 (TF's
                           int8 file on x, LiteRT's builtin kernels)
  while_loop_savedmodel/   a tf.while_loop that is not an LSTM (a While op)
  stateless_while_savedmodel/  the same without a variable (a StatelessWhile op)
"""

from __future__ import annotations

import os

import numpy as np
import tensorflow as tf

SEED = 4321
N_TEST = 8
SHAPE = (1, 16, 16, 3)
INPUT_RANGE = (-1.0, 1.25)    # FakeQuantWithMinMaxArgs on the input (not a zero-point tie)


def _conv(x, w, b):
    return tf.nn.conv2d(x, w, 1, "SAME") + b


class QatNet(tf.Module):
    """conv-relu / maxpool / conv / add-relu / depthwise-relu6 / mean / dense."""

    def __init__(self, rng):
        super().__init__()

        def var(a, name):
            return tf.Variable(np.asarray(a, np.float32), name=name)

        shapes = {"w1": (3, 3, 3, 16), "w2": (3, 3, 16, 16), "wd": (3, 3, 16, 1),
                  "wf": (16, 10)}
        for name, shape in shapes.items():
            w = rng.normal(0, 0.4, shape)
            setattr(self, name, var(w, name))
            # tfmot's weight quantizer: symmetric, narrow range; per channel for convs
            peak = np.abs(w).max(axis=(0, 1, 2)) if name in ("w1", "w2") else np.abs(w).max()
            setattr(self, name + "_min", var(-peak, name + "_min"))
            setattr(self, name + "_max", var(peak, name + "_max"))
        for name, n in (("b1", 16), ("b2", 16), ("bd", 16), ("bf", 10)):
            setattr(self, name, var(rng.normal(0, 0.2, n), name))
        self.acts = ("a1", "a2", "a3", "a5", "a6")
        for a in self.acts:
            setattr(self, a + "_min", var(0.0, a + "_min"))
            setattr(self, a + "_max", var(1.0, a + "_max"))

    def _w(self, name):
        w, lo, hi = (getattr(self, name + s) for s in ("", "_min", "_max"))
        if len(lo.shape):
            return tf.quantization.fake_quant_with_min_max_vars_per_channel(
                w, lo, hi, num_bits=8, narrow_range=True)
        return tf.quantization.fake_quant_with_min_max_vars(w, lo, hi, num_bits=8,
                                                            narrow_range=True)

    def forward(self, x, seen=None):
        """The network; ``seen`` collects activation extremes instead of fake-quantizing."""
        def act(name, h):
            if seen is not None:
                seen[name] = (min(seen.get(name, (0, 0))[0], float(tf.reduce_min(h))),
                              max(seen.get(name, (0, 0))[1], float(tf.reduce_max(h))))
                return h
            return tf.quantization.fake_quant_with_min_max_vars(
                h, getattr(self, name + "_min"), getattr(self, name + "_max"))

        x = tf.quantization.fake_quant_with_min_max_args(x, *INPUT_RANGE)
        h1 = act("a1", tf.nn.relu(_conv(x, self._w("w1"), self.b1)))
        p = tf.nn.max_pool2d(h1, 2, 2, "VALID")
        h2 = act("a2", _conv(p, self._w("w2"), self.b2))
        h3 = act("a3", tf.nn.relu(p + h2))
        d = tf.nn.depthwise_conv2d(h3, self._w("wd"), [1, 1, 1, 1], "SAME") + self.bd
        h4 = tf.quantization.fake_quant_with_min_max_args(tf.nn.relu6(d), 0.0, 6.0)
        g = act("a5", tf.reduce_mean(h4, axis=[1, 2]))
        return act("a6", tf.matmul(g, self._w("wf")) + self.bf)

    @tf.function(input_signature=[tf.TensorSpec(SHAPE, tf.float32, name="image")])
    def serve(self, image):
        return {"logits": self.forward(image)}


def _run_tflite(blob, xs):
    it = tf.lite.Interpreter(
        model_content=blob, experimental_op_resolver_type=(
            tf.lite.experimental.OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES))
    it.allocate_tensors()
    d, o = it.get_input_details()[0], it.get_output_details()[0]
    outs = []
    for x in xs:
        it.set_tensor(d["index"], x[None])
        it.invoke()
        outs.append(it.get_tensor(o["index"])[0].copy())
    return np.stack(outs)


def qat(out_dir):
    rng = np.random.default_rng(SEED)
    tf.random.set_seed(SEED)
    net = QatNet(rng)
    calib = rng.uniform(-1, 1, (16,) + SHAPE[1:]).astype(np.float32)
    seen = {}
    for c in calib:
        net.forward(tf.constant(c[None]), seen)
    for a, (lo, hi) in seen.items():   # a little margin, so the ranges are not round
        getattr(net, a + "_min").assign(lo * 1.05)
        getattr(net, a + "_max").assign(hi * 1.05)
    sm = os.path.join(out_dir, "qat_savedmodel")
    tf.saved_model.save(net, sm, signatures={"serving_default": net.serve})
    x = rng.uniform(-1.1, 1.3, (N_TEST,) + SHAPE[1:]).astype(np.float32)
    y = np.concatenate([net.serve(tf.constant(xi[None]))["logits"].numpy() for xi in x])
    conv = tf.lite.TFLiteConverter.from_saved_model(sm)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    blob = conv.convert()
    with open(os.path.join(out_dir, "qat_tf_int8.tflite"), "wb") as f:
        f.write(blob)
    y_q = _run_tflite(blob, x)
    np.savez(os.path.join(out_dir, "qat.npz"), x=x, y=y, y_tf_int8=y_q)
    return {"max_abs_tf_int8_vs_float": float(np.abs(y_q - y).max())}


class WhileNet(tf.Module):
    """y <- y * w + i, three times: a While (it reads a variable) that is not an LSTM."""

    def __init__(self, stateful: bool):
        super().__init__()
        self.w = tf.Variable(np.full((1, 4), 0.5, np.float32), name="w")
        self.stateful = stateful

    @tf.function(input_signature=[tf.TensorSpec((1, 4), tf.float32, name="x")])
    def serve(self, x):
        w = self.w if self.stateful else tf.constant(0.5)

        def body(i, y):
            return i + 1, y * w + tf.cast(i, tf.float32)

        _, y = tf.while_loop(lambda i, y: i < 3, body, [tf.constant(0), x])
        return {"y": y}


def while_loop(out_dir):
    """while_loop_savedmodel/ (a While op), stateless_while_savedmodel/ (StatelessWhile)."""
    for stateful, name in ((True, "while_loop"), (False, "stateless_while")):
        net = WhileNet(stateful)
        tf.saved_model.save(net, os.path.join(out_dir, f"{name}_savedmodel"),
                            signatures={"serving_default": net.serve})
    return {"saved": ["while_loop_savedmodel", "stateless_while_savedmodel"]}


GRAPHS = {"qat": qat, "while_loop": while_loop}
