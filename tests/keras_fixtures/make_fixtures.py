"""Make the Keras / SavedModel fixtures for edgelite's Keras and SavedModel converter tests.

Runs under a TensorFlow venv (scripts/make_keras_fixtures.sh makes one; edgelite's own
venv never has TensorFlow). For each model it writes, into OUT_DIR:

  NAME.keras            the Keras 3 archive (model.save)
  NAME_savedmodel/      a TF SavedModel (model.export, signature "serving_default")
  NAME.npz              x (test inputs), y (Keras' float outputs on x), calib (16
                        calibration samples), y_tf_int8 (TF's int8 PTQ model on x)
and, for all models together:
  tf_ops.json           TF's TFLiteConverter: float op count and op histogram per model
  tf_int8_sqnr.json     SQNR (dB) of TF's int8 PTQ model vs the float Keras outputs on x,
                        calibrated with the same 16 samples
  small_cnn.h5          the small_cnn model also as a legacy HDF5 file (model.save("x.h5"))
and the SavedModel-only fixtures of tests/keras_fixtures/tf_graphs.py (QAT, a While loop).

    python make_fixtures.py OUT_DIR [--only NAME ...]

Weights are random (weights=None) with a fixed seed; batch-norm statistics are drawn
at random too so the folded arithmetic is not a near-identity.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tf_graphs  # noqa: E402

SEED = 1234
N_CALIB = 16
N_TEST = 2


def _randomize_batch_norms(model, rng):
    for layer in model._flatten_layers(include_self=False, recursive=True):
        if isinstance(layer, keras.layers.BatchNormalization):
            gamma, beta, mean, var = (w.numpy() for w in (layer.gamma, layer.beta,
                                                          layer.moving_mean,
                                                          layer.moving_variance))
            layer.gamma.assign(rng.uniform(0.6, 1.4, gamma.shape).astype(np.float32))
            layer.beta.assign(rng.normal(0, 0.1, beta.shape).astype(np.float32))
            layer.moving_mean.assign(rng.normal(0, 0.1, mean.shape).astype(np.float32))
            layer.moving_variance.assign(rng.uniform(0.6, 1.4, var.shape).astype(np.float32))


def mobilenet_v2():
    return keras.applications.MobileNetV2(alpha=1.0, input_shape=(224, 224, 3), weights=None,
                                          classifier_activation=None), (-1.0, 1.0)


def efficientnet_b0():
    return keras.applications.EfficientNetB0(weights=None, input_shape=(224, 224, 3),
                                             classifier_activation=None), (0.0, 255.0)


def resnet50():
    return keras.applications.ResNet50(weights=None, input_shape=(224, 224, 3),
                                       classifier_activation=None), (-120.0, 150.0)


def transformer():
    x = keras.Input((16, 64), name="tokens")
    a = keras.layers.MultiHeadAttention(num_heads=4, key_dim=16, name="mha")(x, x)
    h = keras.layers.LayerNormalization(epsilon=1e-6, name="ln1")(
        keras.layers.Add(name="res1")([x, a]))
    f = keras.layers.Dense(128, activation="relu", name="ffn1")(h)
    f = keras.layers.Dense(64, name="ffn2")(f)
    h = keras.layers.LayerNormalization(epsilon=1e-6, name="ln2")(
        keras.layers.Add(name="res2")([h, f]))
    p = keras.layers.GlobalAveragePooling1D(name="pool")(h)
    y = keras.layers.Dense(10, name="head")(p)
    return keras.Model(x, y, name="transformer_block"), (-1.0, 1.0)


def lstm():
    model = keras.Sequential([keras.Input((20, 8), name="seq"),
                              keras.layers.LSTM(32, return_sequences=True, name="lstm1"),
                              keras.layers.LSTM(16, name="lstm2"),
                              keras.layers.Dense(4, name="head")], name="lstm_model")
    return model, (-1.0, 1.0)


def small_cnn():
    x = keras.Input((32, 32, 3), name="image")
    h = keras.layers.Conv2D(16, 3, strides=2, padding="same", name="conv1")(x)
    h = keras.layers.BatchNormalization(name="bn1")(h)
    h = keras.layers.ReLU(6.0, name="relu1")(h)
    h = keras.layers.SeparableConv2D(24, 3, padding="same", activation="relu", name="sep")(h)
    h = keras.layers.MaxPooling2D(name="pool")(h)
    h = keras.layers.Flatten(name="flat")(h)
    y = keras.layers.Dense(10, name="head")(keras.layers.Dropout(0.2, name="drop")(h))
    return keras.Model(x, y, name="small_cnn"), (-1.0, 1.0)


def nested():
    """A Sequential block and a functional sub-model used as layers of an outer model."""
    block = keras.Sequential([keras.Input((16, 16, 8)),
                              keras.layers.Conv2D(8, 3, padding="same", name="b_conv"),
                              keras.layers.BatchNormalization(name="b_bn"),
                              keras.layers.Activation("swish", name="b_act")], name="block")
    ix = keras.Input((16, 16, 8))
    ih = keras.layers.DepthwiseConv2D(3, padding="same", name="i_dw")(ix)
    head_in = keras.layers.Add(name="i_add")([ix, ih])
    inner = keras.Model(ix, keras.layers.GlobalAveragePooling2D(name="i_gap")(head_in),
                        name="inner")
    x = keras.Input((16, 16, 3), name="image")
    h = keras.layers.Conv2D(8, 1, name="stem")(x)
    h = block(h)
    h = block(h)                                   # the same nested model called twice
    y = keras.layers.Dense(5, name="head")(inner(h))
    return keras.Model(x, y, name="outer"), (-1.0, 1.0)


MODELS = {"mobilenet_v2": mobilenet_v2, "efficientnet_b0": efficientnet_b0,
          "resnet50": resnet50, "transformer": transformer, "lstm": lstm,
          "small_cnn": small_cnn, "nested": nested}
# models also saved as legacy HDF5 (model.save("NAME.h5"))
H5_MODELS = ("small_cnn",)


# models TF's own int8 PTQ cannot quantize: no TF SQNR to compare with
TF_INT8_FAILS = {"lstm": "TF 2.21's calibrator segfaults (calibrator.py _feed_tensors) on "
                         "the Keras 3 LSTM's WHILE loop"}


def _run_tflite(blob, xs):
    it = tf.lite.Interpreter(
        model_content=blob, experimental_op_resolver_type=(
            tf.lite.experimental.OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES))
    it.allocate_tensors()
    d = it.get_input_details()[0]
    if tuple(d["shape"]) != (1,) + xs.shape[1:]:
        it.resize_tensor_input(d["index"], (1,) + xs.shape[1:])
        it.allocate_tensors()
    out = []
    for x in xs:
        it.set_tensor(d["index"], x[None].astype(np.float32))
        it.invoke()
        out.append(it.get_tensor(it.get_output_details()[0]["index"])[0].copy())
    return np.stack(out), it


def _op_histogram(it):
    hist = {}
    for op in it._get_ops_details():
        hist[op["op_name"]] = hist.get(op["op_name"], 0) + 1
    return hist


def _sqnr(ref, got):
    ref = ref.astype(np.float64)
    return float(10 * np.log10(np.sum(ref ** 2) / np.sum((ref - got) ** 2)))


def _tf_converter(model, shape, work_dir):
    # batch 1, static, as edgelite converts (with a free batch dim TF's converter cannot
    # lower the Keras LSTM's while loop: its TensorList element shape is not static)
    sm_dir = os.path.join(work_dir, "static_batch")
    if not os.path.exists(sm_dir):
        model.export(sm_dir, format="tf_saved_model", verbose=False,
                     input_signature=[tf.TensorSpec((1,) + shape, tf.float32)])
    return tf.lite.TFLiteConverter.from_saved_model(sm_dir)


def make(name, out_dir, work_dir):
    keras.utils.set_random_seed(SEED)
    rng = np.random.default_rng(SEED)
    model, (lo, hi) = MODELS[name]()
    _randomize_batch_norms(model, rng)
    shape = tuple(model.inputs[0].shape[1:])
    calib = rng.uniform(lo, hi, (N_CALIB,) + shape).astype(np.float32)
    x = rng.uniform(lo, hi, (N_TEST,) + shape).astype(np.float32)
    y = np.concatenate([np.asarray(model(x[i:i + 1], training=False)) for i in range(N_TEST)])

    model.save(os.path.join(out_dir, f"{name}.keras"))
    if name in H5_MODELS:
        model.save(os.path.join(out_dir, f"{name}.h5"))
    sm_dir = os.path.join(out_dir, f"{name}_savedmodel")
    model.export(sm_dir, format="tf_saved_model", verbose=False)

    fblob = _tf_converter(model, shape, work_dir).convert()
    y_tf, it = _run_tflite(fblob, x)
    ops = {"count": len(it._get_ops_details()), "ops": _op_histogram(it),
           "max_rel_vs_keras": float(np.abs(y_tf - y).max() / np.abs(y).max())}

    if name in TF_INT8_FAILS:
        np.savez(os.path.join(out_dir, f"{name}.npz"), x=x, y=y, calib=calib)
        return ops, {"sqnr_db": None, "error": TF_INT8_FAILS[name]}
    conv = _tf_converter(model, shape, work_dir)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = lambda: ([c[None]] for c in calib)
    qblob = conv.convert()
    y_q, qit = _run_tflite(qblob, x)
    int8 = {"sqnr_db": _sqnr(y, y_q), "count": len(qit._get_ops_details()),
            "ops": _op_histogram(qit)}
    np.savez(os.path.join(out_dir, f"{name}.npz"), x=x, y=y, calib=calib, y_tf_int8=y_q)
    return ops, int8


def _update_json(path, name, value):
    data = {}
    if os.path.exists(path):
        with open(path) as f:
            data = json.load(f)
    data[name] = value
    with open(path, "w") as f:
        json.dump(data, f, indent=1, sort_keys=True)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("out_dir")
    p.add_argument("--only", nargs="*", choices=sorted(MODELS) + sorted(tf_graphs.GRAPHS))
    args = p.parse_args(argv)
    os.makedirs(args.out_dir, exist_ok=True)
    for name in args.only or list(MODELS) + list(tf_graphs.GRAPHS):
        if name in tf_graphs.GRAPHS:
            print(f"[make_fixtures] {name}", flush=True)
            print(f"[make_fixtures] {name}: {tf_graphs.GRAPHS[name](args.out_dir)}", flush=True)
            continue
        print(f"[make_fixtures] {name}", flush=True)
        with tempfile.TemporaryDirectory() as work_dir:
            ops, int8 = make(name, args.out_dir, work_dir)
        _update_json(os.path.join(args.out_dir, "tf_ops.json"), name, ops)
        _update_json(os.path.join(args.out_dir, "tf_int8_sqnr.json"), name, int8)
        print(f"[make_fixtures] {name}: {ops['count']} ops, int8 {int8}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
