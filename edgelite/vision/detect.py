"""Object detection with a .tflite model; the decoding is chosen from the model's outputs.

* **SSD with post-processing in the graph**: the model ends in the custom op
  ``TFLite_Detection_PostProcess``, whose four outputs are boxes (1, N, 4) as normalized
  (ymin, xmin, ymax, xmax), classes (1, N), scores (1, N) and the count (1,). The image
  is stretched to the input size (as TF's object-detection models are trained); label
  ``k`` is line ``k`` of the labels file, or line ``k + 1`` when the file starts with
  TF's ``???`` placeholder for the background class.
* **Raw anchors, BlazeFace-style** (mediapipe's face detectors): two outputs, regressors
  (1, N, C) and scores (1, N, 1), decoded against SSD anchors and merged by weighted NMS
  exactly as MediaPipe's face-detection graph configures it (``anchors.py``). The image
  is letterboxed (aspect ratio kept, black border) as MediaPipe does.

Boxes come back in the source image's pixels: (x0, y0, x1, y1).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..schema import read
from .anchors import KNOWN_CONFIGS, decode, ssd_anchors, weighted_nms
from .bundled import load_labels
from .image import letterbox, resize
from .image_model import ImageModel

POSTPROCESS_OP = "TFLite_Detection_PostProcess"


@dataclass(frozen=True)
class Detection:
    box: tuple[float, float, float, float]       # x0, y0, x1, y1 in source pixels
    score: float
    label: str
    keypoints: tuple = field(default=(), compare=False)   # ((x, y), ...) source pixels

    @property
    def centre(self) -> tuple[float, float]:
        return ((self.box[0] + self.box[2]) / 2, (self.box[1] + self.box[3]) / 2)

    def as_dict(self) -> dict:
        return {"box": [round(v, 1) for v in self.box], "score": round(self.score, 4),
                "label": self.label}


class Detector:
    """``Detector(model_path, labels=None, threads=N, threshold=None)``; ``detect(rgb)``.
    ``threshold``: the minimum score (default: the model's own, 0.5 for BlazeFace)."""

    def __init__(self, model_path, labels=None, threads: int | None = None,
                 threshold: float | None = None):
        self.model = ImageModel(model_path, threads)
        self.labels = load_labels(labels) if labels is not None else None
        self.threshold = threshold
        self._postprocess = self._postprocess_outputs()
        if self._postprocess is not None:
            self.kind = "ssd-postprocess"
            return
        self.kind = "anchors"
        self._regressors, self._scores, key = self._anchor_outputs()
        if key not in KNOWN_CONFIGS:
            raise ValueError(
                f"model {self.model.path.name}: raw SSD outputs with {key[2]} anchors of "
                f"{key[3]} values on a {key[0]}x{key[1]} input match no known anchor "
                f"configuration (known: {', '.join(str(k) for k in KNOWN_CONFIGS)})")
        anchor_options, self.coding = KNOWN_CONFIGS[key]
        self.anchors = ssd_anchors(anchor_options)

    def _postprocess_outputs(self) -> list[int] | None:
        """Positions in get_output_details() of boxes, classes, scores, count, when the
        model's outputs are those of a TFLite_Detection_PostProcess op."""
        sg = read(self.model.path).subgraphs[0]
        ops = [op for op in sg.operators if op.opcode == POSTPROCESS_OP]
        if not ops:
            return None
        position = {d["index"]: k for k, d in enumerate(self.model.outputs)}
        outputs = ops[-1].outputs
        if len(outputs) != 4 or any(t not in position for t in outputs):
            raise ValueError(f"model {self.model.path.name}: the outputs of its "
                             f"{POSTPROCESS_OP} op are not all model outputs")
        return [position[t] for t in outputs]

    def _anchor_outputs(self) -> tuple[int, int, tuple]:
        shapes = [tuple(int(d) for d in o["shape"]) for o in self.model.outputs]
        if len(shapes) == 2 and all(len(s) == 3 for s in shapes) \
                and shapes[0][1] == shapes[1][1]:
            scores = 0 if shapes[0][2] == 1 else 1
            regressors = 1 - scores
            if shapes[scores][2] == 1 and shapes[regressors][2] >= 4:
                return regressors, scores, (self.model.height, self.model.width,
                                            shapes[0][1], shapes[regressors][2])
        raise ValueError(
            f"model {self.model.path.name}: outputs {shapes} are neither those of "
            f"{POSTPROCESS_OP} (boxes, classes, scores, count) nor raw SSD regressors "
            "(1, N, C) + scores (1, N, 1)")

    def detect(self, rgb: np.ndarray) -> list[Detection]:
        """Detections in one (H, W, 3) uint8 RGB image, best first."""
        if self.kind == "ssd-postprocess":
            return self._detect_postprocess(rgb)
        return self._detect_anchors(rgb)

    def _label(self, class_id: int, default: str) -> str:
        if not self.labels:
            return default
        k = class_id + (1 if self.labels[0] == "???" else 0)
        return self.labels[k] if 0 <= k < len(self.labels) else str(class_id)

    def _detect_postprocess(self, rgb: np.ndarray) -> list[Detection]:
        h, w = rgb.shape[:2]
        self.model.set_input(resize(rgb, self.model.height, self.model.width))
        self.model.invoke()
        boxes, classes, scores, count = (self.model.output(k) for k in self._postprocess)
        threshold = 0.5 if self.threshold is None else self.threshold
        found = []
        for k in range(int(count.reshape(-1)[0])):
            score = float(scores.reshape(-1)[k])
            if score < threshold:
                continue
            ymin, xmin, ymax, xmax = (float(v) for v in boxes.reshape(-1, 4)[k])
            box = (max(xmin, 0.0) * w, max(ymin, 0.0) * h, min(xmax, 1.0) * w,
                   min(ymax, 1.0) * h)
            class_id = int(classes.reshape(-1)[k])
            found.append(Detection(box, score, self._label(class_id, str(class_id))))
        return sorted(found, key=lambda d: -d.score)

    def _detect_anchors(self, rgb: np.ndarray) -> list[Detection]:
        h, w = rgb.shape[:2]
        canvas, (sx, sy), (ox, oy) = letterbox(rgb, self.model.height, self.model.width)
        # the border is black: -1 once scaled to [-1, 1]
        self.model.set_input(canvas, canvas / 127.5 - 1.0)
        self.model.invoke()
        boxes, scores, points = decode(self.model.output(self._regressors),
                                       self.model.output(self._scores), self.anchors,
                                       self.coding, self.threshold)
        size = np.array([self.model.width, self.model.height], np.float32)
        offset, scale = np.array([ox, oy], np.float32), np.array([sx, sy], np.float32)

        def to_source(xy: np.ndarray) -> np.ndarray:   # normalized canvas -> image pixels
            return np.clip((xy * size - offset) / scale, 0, [w, h])

        found = []
        for box, score, kps in weighted_nms(boxes, scores, points, self.coding.iou_threshold):
            x0, y0 = to_source(box[:2])
            x1, y1 = to_source(box[2:])
            keypoints = tuple(tuple(float(v) for v in p) for p in to_source(kps))
            found.append(Detection((float(x0), float(y0), float(x1), float(y1)), score,
                                   self._label(0, self.coding.label), keypoints))
        return found

    @property
    def latency_ms(self) -> float:
        return self.model.last_latency_ms
