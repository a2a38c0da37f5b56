"""One image-input ``.tflite`` model in an ``Interpreter``: its input size and layout, and
the conversions between float tensors and the model's (possibly quantized) inputs and
outputs. The classifier and the detector build on it."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from ..interpreter import Interpreter


class ImageModel:
    """``model_path``: a .tflite whose first input is one image, (1, H, W, 3) channels-last
    or (1, 3, H, W) channels-first, float32, int8 or uint8."""

    def __init__(self, model_path, threads: int | None = None):
        path = Path(model_path)
        if not path.is_file():
            raise FileNotFoundError(f"model {str(path)!r} does not exist")
        self.path = path
        self.interpreter = Interpreter(model_path=str(path), num_threads=threads)
        self.interpreter.allocate_tensors()
        self.input = self.interpreter.get_input_details()[0]
        self.outputs = self.interpreter.get_output_details()
        shape = [int(d) for d in self.input["shape"]]
        if len(shape) != 4 or 3 not in (shape[1], shape[3]):
            raise ValueError(f"model {path.name}: input {self.input['name']!r} has shape "
                             f"{shape}; an image model takes (1, H, W, 3) or (1, 3, H, W)")
        self.channels_first = shape[3] != 3
        self.height, self.width = (shape[2], shape[3]) if self.channels_first else shape[1:3]
        self.dtype = np.dtype(self.input["dtype"])
        self.last_latency_ms = float("nan")

    def set_input(self, pixels: np.ndarray, normalized: np.ndarray | None = None) -> None:
        """Feed one image of the model's size. ``pixels``: float RGB in [0, 255];
        ``normalized``: the same scaled to [-1, 1] (by default ``pixels / 127.5 - 1``).
        Quantized inputs get ``normalized`` quantized with the input's scale and zero
        point (for TFLite's uint8 detectors, scale 1/128 and zero point 128, that is the
        raw pixels); an integer input without quantization takes the raw pixels; float
        inputs get ``normalized``."""
        if normalized is None:
            normalized = pixels / 127.5 - 1.0
        scale, zero = self.input["quantization"]
        if self.dtype.kind in "iu" and not scale:
            data = np.clip(np.rint(pixels), 0, 255)
        elif self.dtype.kind in "iu":
            info = np.iinfo(self.dtype)
            data = np.clip(np.rint(normalized / scale) + zero, info.min, info.max)
        else:
            data = normalized
        data = data.astype(self.dtype)[None]
        if self.channels_first:
            data = data.transpose(0, 3, 1, 2)
        self.interpreter.set_tensor(self.input["index"], np.ascontiguousarray(data))

    def invoke(self) -> None:
        start = time.perf_counter()
        self.interpreter.invoke()
        self.last_latency_ms = (time.perf_counter() - start) * 1e3

    def output(self, index: int) -> np.ndarray:
        """Output ``index`` (of ``get_output_details()``) as float32, dequantized."""
        detail = self.outputs[index]
        value = self.interpreter.get_tensor(detail["index"])
        scale, zero = detail["quantization"]
        if np.dtype(value.dtype).kind in "iu" and scale:
            return (value.astype(np.float32) - zero) * np.float32(scale)
        return value.astype(np.float32)
