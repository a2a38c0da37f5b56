"""Make MobileNetV2 .tflite files at any width and size with TensorFlow's converter, for the
benchmarks (issue 7 reports MobileNetV2-1.0-224): random weights, fixed seed, the same recipe
as ../shared/corpus/scripts/make_tf_models.py (which makes the α=0.35, 96×96 corpus files).

    python benchmarks/make_mobilenet_v2.py [--alpha 1.0] [--size 224] [OUTDIR]

Needs TensorFlow (``pip install tensorflow`` in a separate venv: edgelite itself never
imports it). OUTDIR defaults to ``~/.cache/edgelite/models``, where
benchmarks/vs_litert.py looks (``$EDGELITE_BENCH_MODELS`` there). Writes
``mobilenet_v2_{alpha*100:03d}_{size}.{float32,int8}.tflite``.
"""

import argparse
import os
from pathlib import Path

import numpy as np

parser = argparse.ArgumentParser()
parser.add_argument("outdir", nargs="?", default=os.environ.get(
    "EDGELITE_BENCH_MODELS", str(Path.home() / ".cache" / "edgelite" / "models")))
parser.add_argument("--alpha", type=float, default=1.0)
parser.add_argument("--size", type=int, default=224)
parser.add_argument("--modes", default="float32,int8")
args = parser.parse_args()

import tensorflow as tf  # after argument errors, which need no TensorFlow

os.makedirs(args.outdir, exist_ok=True)
rng = np.random.default_rng(0)
tf.keras.utils.set_random_seed(0)
shape = (args.size, args.size, 3)
model = tf.keras.applications.MobileNetV2(input_shape=shape, alpha=args.alpha, weights=None)


def representative():
    for _ in range(16):
        yield [rng.uniform(-1, 1, (1, *shape)).astype(np.float32)]


stem = f"mobilenet_v2_{round(args.alpha * 100):03d}_{args.size}"
for mode in args.modes.split(","):
    c = tf.lite.TFLiteConverter.from_keras_model(model)
    if mode == "int8":
        c.optimizations = [tf.lite.Optimize.DEFAULT]
        c.representative_dataset = representative
        c.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        c.inference_input_type = tf.int8
        c.inference_output_type = tf.int8
    elif mode != "float32":
        raise SystemExit(f"unknown mode {mode!r}: float32 or int8")
    path = os.path.join(args.outdir, f"{stem}.{mode}.tflite")
    Path(path).write_bytes(c.convert())
    print(path)
