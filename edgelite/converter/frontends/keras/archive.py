"""Reading Keras model files without Keras: the layer config and the weights.

- Keras 3 ``.keras``: a zip holding ``config.json`` (the serialized model) and
  ``model.weights.h5``, where each layer's variables are ``.../vars/0..n`` in the layer's
  creation order and the layer's name is the ``name`` attribute of its ``vars`` group
  (the group itself is named after the class, ``conv2d_3``); sublayers (MHA's
  ``query_dense``, an RNN's ``cell``) are child groups.
- Legacy ``.h5`` (``model.save("m.h5")``): the config is the ``model_config`` attribute and
  layer ``L``'s variables are ``model_weights/L/...`` in the order of ``L``'s
  ``weight_names`` attribute.
"""

from __future__ import annotations

import io
import json
import os
import zipfile

import numpy as np

from ...errors import ConversionError


class Weights:
    """One layer's (or model's) weights; ``vars()`` in creation order."""

    def __init__(self, group, legacy: bool = False) -> None:
        self._g = group
        self._legacy = legacy
        self._by_name: dict | None = None   # layer name -> key under "layers", read once

    def vars(self) -> list[np.ndarray]:
        g = self._g
        if g is None:
            return []
        if self._legacy:
            names = [n.decode() if isinstance(n, bytes) else n
                     for n in g.attrs.get("weight_names", [])]
            return [np.asarray(g[n]) for n in names]
        if "vars" not in g:
            return []
        v = g["vars"]
        return [np.asarray(v[str(i)]) for i in range(len(v))]

    def sub(self, key: str) -> "Weights":
        if self._g is None or key not in self._g:
            return Weights(None, self._legacy)
        return Weights(self._g[key], self._legacy)

    def layer(self, name: str) -> "Weights":
        """The weights of the layer called ``name`` inside this model."""
        g = self._g
        if g is None:
            return Weights(None, self._legacy)
        if self._legacy:
            return Weights(g[name] if name in g else None, True)
        layers = g["layers"] if "layers" in g else None
        if layers is None:
            return Weights(None)
        if self._by_name is None:   # one pass over the children (h5py attribute reads are slow)
            self._by_name = {}
            for key in layers:
                child = layers[key]
                if "vars" in child:
                    self._by_name.setdefault(child["vars"].attrs.get("name"), key)
        key = self._by_name.get(name, name)
        return Weights(layers[key] if key in layers else None)


def load(path: str) -> tuple[dict, Weights, object]:
    """(model config, root weights, an object to close) for a ``.keras`` or ``.h5`` file."""
    import h5py

    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"Keras model {path!r} does not exist")
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as z:
            names = set(z.namelist())
            if "config.json" not in names:
                raise ConversionError(f"{path!r}: a .keras archive without config.json")
            config = json.loads(z.read("config.json"))
            blob = z.read("model.weights.h5") if "model.weights.h5" in names else None
        if blob is None:
            return config, Weights(None), None
        f = h5py.File(io.BytesIO(blob), "r")
        return config, Weights(f), f
    try:
        f = h5py.File(path, "r")
    except OSError as e:
        raise ConversionError(f"{path!r} is neither a .keras archive nor an HDF5 file: "
                              f"{e}") from None
    raw = f.attrs.get("model_config")
    if raw is None:
        f.close()
        raise ConversionError(f"{path!r}: an HDF5 file without a model_config (weights only?)")
    config = json.loads(raw.decode() if isinstance(raw, bytes) else raw)
    group = f["model_weights"] if "model_weights" in f else f
    return config, Weights(group, legacy=True), f
