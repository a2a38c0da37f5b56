"""SSD anchors and box decoding as MediaPipe configures them for its BlazeFace-style
detectors (``SsdAnchorsCalculator`` + ``TensorsToDetectionsCalculator``), and MediaPipe's
weighted non-max suppression.

Anchors: each layer ``k`` has a grid of ``ceil(size / stride_k)`` cells; consecutive
layers with the same stride are merged into one grid whose cells carry the anchors of
all of them, in layer order. Per layer there is one anchor per aspect ratio plus, when
``interpolated_scale_aspect_ratio`` > 0, one more; with ``fixed_anchor_size`` (as every
BlazeFace graph sets) all anchors are 1 x 1, so only the centres matter:
``((x + offset_x) / grid_w, (y + offset_y) / grid_h)``. Face detection short range:
strides 8, 16, 16, 16 on 128 x 128 -> 16x16 cells x 2 + 8x8 cells x 6 = 896 anchors.

Decoding (``reverse_output_order``: x before y): centre = raw / scale * anchor size +
anchor centre, size = raw / scale * anchor size; keypoints like centres. Scores are
``sigmoid(clip(raw, -clip, clip))``.

Weighted NMS (MediaPipe's ``WEIGHTED`` algorithm): take the best remaining detection,
gather every remaining one whose IoU with it exceeds the threshold (itself included),
replace its box and keypoints by the score-weighted mean of that group, keep its score,
and drop the group. Averaging the overlapping boxes steadies the box from frame to frame.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class SsdAnchorOptions:
    """The fields of MediaPipe's ``SsdAnchorsCalculatorOptions`` this generator uses."""

    input_height: int
    input_width: int
    strides: tuple[int, ...]
    min_scale: float = 0.1484375
    max_scale: float = 0.75
    aspect_ratios: tuple[float, ...] = (1.0,)
    interpolated_scale_aspect_ratio: float = 1.0
    anchor_offset_x: float = 0.5
    anchor_offset_y: float = 0.5
    fixed_anchor_size: bool = True


@dataclass(frozen=True)
class BoxCoding:
    """How raw regressor rows decode (``TensorsToDetectionsCalculatorOptions``)."""

    scale: float                 # x_scale = y_scale = w_scale = h_scale
    num_keypoints: int
    score_clipping: float = 100.0
    min_score: float = 0.5
    iou_threshold: float = 0.3
    label: str = "face"


def _layer_scale(options: SsdAnchorOptions, index: int) -> float:
    n = len(options.strides)
    if n == 1:
        return (options.min_scale + options.max_scale) / 2
    return options.min_scale + (options.max_scale - options.min_scale) * index / (n - 1)


def ssd_anchors(options: SsdAnchorOptions) -> np.ndarray:
    """Anchors as an (N, 4) float32 array of (x_centre, y_centre, w, h), normalized."""
    anchors = []
    strides = options.strides
    layer = 0
    while layer < len(strides):
        sizes = []   # (w, h) per anchor of one grid cell
        last = layer
        while last < len(strides) and strides[last] == strides[layer]:
            scale = _layer_scale(options, last)
            for ratio in options.aspect_ratios:
                sizes.append((scale * math.sqrt(ratio), scale / math.sqrt(ratio)))
            if options.interpolated_scale_aspect_ratio > 0:
                following = 1.0 if last == len(strides) - 1 else _layer_scale(options, last + 1)
                s, r = math.sqrt(scale * following), options.interpolated_scale_aspect_ratio
                sizes.append((s * math.sqrt(r), s / math.sqrt(r)))
            last += 1
        grid_h = math.ceil(options.input_height / strides[layer])
        grid_w = math.ceil(options.input_width / strides[layer])
        for y in range(grid_h):
            for x in range(grid_w):
                cx = (x + options.anchor_offset_x) / grid_w
                cy = (y + options.anchor_offset_y) / grid_h
                for w, h in sizes:
                    anchors.append((cx, cy, 1.0, 1.0) if options.fixed_anchor_size
                                   else (cx, cy, w, h))
        layer = last
    return np.asarray(anchors, np.float32)


def decode(raw_boxes: np.ndarray, raw_scores: np.ndarray, anchors: np.ndarray,
           coding: BoxCoding, min_score: float | None = None
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Boxes (M, 4) as normalized (xmin, ymin, xmax, ymax), scores (M,) and keypoints
    (M, K, 2) of the anchors whose score reaches ``min_score`` (default the coding's)."""
    raw_boxes = raw_boxes.reshape(len(anchors), -1).astype(np.float32)
    logits = np.clip(raw_scores.reshape(len(anchors), -1)[:, 0].astype(np.float64),
                     -coding.score_clipping, coding.score_clipping)
    scores = 1.0 / (1.0 + np.exp(-logits))
    keep = scores >= (coding.min_score if min_score is None else min_score)
    raw, a = raw_boxes[keep], anchors[keep]
    cx = raw[:, 0] / coding.scale * a[:, 2] + a[:, 0]
    cy = raw[:, 1] / coding.scale * a[:, 3] + a[:, 1]
    w = raw[:, 2] / coding.scale * a[:, 2]
    h = raw[:, 3] / coding.scale * a[:, 3]
    boxes = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1)
    points = raw[:, 4:4 + 2 * coding.num_keypoints].reshape(len(raw), coding.num_keypoints, 2)
    points = points / coding.scale * a[:, None, 2:4] + a[:, None, 0:2]
    valid = (w >= 0) & (h >= 0)   # MediaPipe drops boxes decoded with a negative size
    return boxes[valid], scores[keep][valid], points[valid]


def iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """IoU of one (xmin, ymin, xmax, ymax) box with each row of ``boxes``."""
    ix = np.clip(np.minimum(box[2], boxes[:, 2]) - np.maximum(box[0], boxes[:, 0]), 0, None)
    iy = np.clip(np.minimum(box[3], boxes[:, 3]) - np.maximum(box[1], boxes[:, 1]), 0, None)
    inter = ix * iy
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    union = area + areas - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)


def weighted_nms(boxes: np.ndarray, scores: np.ndarray, keypoints: np.ndarray,
                 iou_threshold: float) -> list[tuple[np.ndarray, float, np.ndarray]]:
    """MediaPipe's weighted NMS: (box, score, keypoints) per kept detection, best first."""
    order = np.argsort(-scores, kind="stable")
    remaining = order
    kept = []
    while len(remaining):
        best = remaining[0]
        group_mask = iou(boxes[best], boxes[remaining]) > iou_threshold
        group_mask[0] = True   # a box always overlaps itself (also a zero-area one)
        group = remaining[group_mask]
        weights = scores[group][:, None]
        box = (boxes[group] * weights).sum(axis=0) / weights.sum()
        points = (keypoints[group] * weights[:, :, None]).sum(axis=0) / weights.sum()
        kept.append((box, float(scores[best]), points))
        remaining = remaining[~group_mask]
    return kept


# MediaPipe's face_detection_short_range graph (modules/face_detection/*.pbtxt)
FACE_SHORT_RANGE = (
    SsdAnchorOptions(input_height=128, input_width=128, strides=(8, 16, 16, 16)),
    BoxCoding(scale=128.0, num_keypoints=6),
)

KNOWN_CONFIGS = {(128, 128, 896, 16): FACE_SHORT_RANGE}
"""(input height, input width, anchors, values per regressor row) -> configuration."""
