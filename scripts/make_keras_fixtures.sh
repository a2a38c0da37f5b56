#!/usr/bin/env bash
# The Keras / SavedModel converter fixtures (tests/converter/keras/): models saved by
# Keras/TF, TF's own outputs, TF's converter op counts and TF's int8 PTQ SQNR. TensorFlow
# lives only in a separate venv ($EDGELITE_TF_VENV, default ~/.cache/edgelite/tfenv);
# edgelite's own .venv never gets it. The fixtures go to $EDGELITE_KERAS_FIXTURES
# (default ~/.cache/edgelite/keras-fixtures) and are remade only when missing or when
# a script in tests/keras_fixtures/ changed (a hash stamp). Takes ~10 minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${EDGELITE_TF_VENV:-$HOME/.cache/edgelite/tfenv}
out=${EDGELITE_KERAS_FIXTURES:-$HOME/.cache/edgelite/keras-fixtures}
script=tests/keras_fixtures/make_fixtures.py
stamp=$(cat tests/keras_fixtures/*.py | sha256sum | cut -d' ' -f1)
if [ -f "$out/STAMP" ] && [ "$(cat "$out/STAMP")" = "$stamp" ]; then
  exit 0
fi
if ! "$venv/bin/python" -c "import tensorflow" >/dev/null 2>&1; then
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install -q --upgrade pip
  "$venv/bin/python" -m pip install -q "tensorflow==2.21.0"
fi
rm -rf "$out.tmp" && mkdir -p "$out.tmp"
"$venv/bin/python" "$script" "$out.tmp"
echo "$stamp" > "$out.tmp/STAMP"
rm -rf "$out" && mv "$out.tmp" "$out"
