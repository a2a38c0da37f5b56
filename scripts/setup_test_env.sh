#!/usr/bin/env bash
# Everything the test suite needs on a fresh machine (Debian + Python >= 3.10):
#   - flatc (Debian's flatbuffers-compiler) for the "bindings are current" test;
#   - Mesa's lavapipe (mesa-vulkan-drivers), the software Vulkan device the GPU tests use;
#   - a virtualenv at .venv with edgelite and its [test] extra (LiteRT, onnx, ...);
#   - the mediapipe test models, fetched from the mediapipe==0.10.14 wheel on PyPI into
#     $EDGELITE_MODEL_CACHE (default ~/.cache/edgelite/mediapipe).
# The TF-converter models are read from ../shared/corpus (or $EDGELITE_CORPUS).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v flatc >/dev/null 2>&1; then
  apt-get update -qq && apt-get install -y -qq flatbuffers-compiler >/dev/null
fi
# a Vulkan device for the GPU delegate tests: Mesa's lavapipe runs on the CPU
if ! ls /usr/share/vulkan/icd.d/lvp_icd.*.json >/dev/null 2>&1; then
  apt-get update -qq && apt-get install -y -qq mesa-vulkan-drivers >/dev/null
fi
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e '.[test]'
cache=${EDGELITE_MODEL_CACHE:-$HOME/.cache/edgelite/mediapipe}
corpus=${EDGELITE_CORPUS:-../shared/corpus}
if [ ! -f "$cache/pose_detection.tflite" ]; then
  PATH="$PWD/.venv/bin:$PATH" bash "$corpus/scripts/fetch_mediapipe_models.sh" "$cache"
fi
bash scripts/make_keras_fixtures.sh   # Keras/SavedModel converter fixtures (a separate TF venv)
