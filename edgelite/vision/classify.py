"""Image classification with a .tflite model: preprocessing, top-k with labels.

Preprocessing matches how the bundled EfficientNet-Lite0 was calibrated
(``apps/models/build.py``): the centred square of the image, resized with an
antialiased filter to the model's input size, RGB scaled to [-1, 1] (``(p / 255 - mean)
/ std`` with mean = std = 0.5), quantized to the input's type. Scores are softmax
probabilities (unless the model already ends in one).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .bundled import load_labels
from .image import centre_square, resize
from .image_model import ImageModel


@dataclass(frozen=True)
class Classification:
    index: int
    label: str
    score: float

    def as_dict(self) -> dict:
        return {"label": self.label, "index": self.index, "score": round(self.score, 5)}


class Classifier:
    """``Classifier(model_path, labels=path_or_list, threads=N)``; ``classify(rgb, k)``."""

    def __init__(self, model_path, labels=None, threads: int | None = None,
                 mean: float = 0.5, std: float = 0.5):
        self.model = ImageModel(model_path, threads)
        if len(self.model.outputs) != 1:
            raise ValueError(f"model {self.model.path.name} has {len(self.model.outputs)} "
                             "outputs; a classifier has one (the class scores)")
        self.classes = int(np.prod(self.model.outputs[0]["shape"]))
        self.labels = load_labels(labels) if labels is not None else None
        # TF's classifiers often have a 'background' class 0 the label file lacks
        self.offset = 1 if self.labels and len(self.labels) == self.classes - 1 else 0
        self.mean, self.std = mean, std

    def _label(self, index: int) -> str:
        k = index - self.offset
        return self.labels[k] if self.labels and 0 <= k < len(self.labels) else str(index)

    def scores(self, rgb: np.ndarray) -> np.ndarray:
        """Class probabilities for one (H, W, 3) uint8 RGB image."""
        square, _ = centre_square(rgb)
        pixels = resize(square, self.model.height, self.model.width)
        self.model.set_input(pixels, (pixels / 255.0 - self.mean) / self.std)
        self.model.invoke()
        out = self.model.output(0).reshape(-1).astype(np.float64)
        if out.min() >= 0 and abs(out.sum() - 1.0) < 0.02:   # already probabilities
            return out
        e = np.exp(out - out.max())
        return e / e.sum()

    def classify(self, rgb: np.ndarray, top_k: int = 5) -> list[Classification]:
        probs = self.scores(rgb)
        best = np.argsort(-probs, kind="stable")[:top_k]
        return [Classification(int(i), self._label(int(i)), float(probs[i])) for i in best]

    @property
    def latency_ms(self) -> float:
        """The last invoke's time (preprocessing excluded)."""
        return self.model.last_latency_ms
