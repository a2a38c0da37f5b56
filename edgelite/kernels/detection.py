"""Non-max suppression, float32: NON_MAX_SUPPRESSION_V4 (v1), NON_MAX_SUPPRESSION_V5
(v1, soft-NMS) and the custom op ``TFLite_Detection_PostProcess`` (SSD decoding + NMS).

NMS V4/V5 greedily take the best-scoring remaining box and drop (V4, or V5 with sigma 0)
or decay by ``exp(-0.5 * iou^2 / sigma)`` (V5) the boxes it overlaps; candidates wait in
a priority queue whose tie order follows libstdc++ (``ordering.py``). Outputs have the
fixed length ``max_output_size`` (dynamic when it is not a constant), zero-padded after
the ``valid_outputs`` selections, as TFLite pads them.

``TFLite_Detection_PostProcess`` decodes centre-size box encodings against anchors (in
double precision, as TFLite does), then runs either *fast* NMS (one pass over each
anchor's best class, up to ``max_classes_per_detection`` classes per kept box) or
*regular* NMS (per class, ``detections_per_class`` each, merged after each class by a
stable sort into the best ``max_detections``: LiteRT's merge order for tied scores; the
fast path ranks classes in ``std::partial_sort``'s tie order). The FlexBuffer options are
decoded once in prepare; output rows past ``num_detections`` are zero (LiteRT leaves them
unwritten). Quantized (uint8/int8/int16) inputs are a later issue.
"""

from __future__ import annotations

import math

import numpy as np
from flatbuffers import flexbuffers
from numba import njit

from .api import KernelDef, PrepareContext
from .ordering import argmax_first, heap_pop, heap_push, partial_sort_desc, stable_argsort_desc

_ZERO = np.float32(0.0)


@njit(cache=True)
def _iou_corners(boxes, i, j):
    """IoU of boxes i, j given as (y1, x1, y2, x2) corners in any order (NMS V4/V5)."""
    ymin_i, ymax_i = min(boxes[i, 0], boxes[i, 2]), max(boxes[i, 0], boxes[i, 2])
    xmin_i, xmax_i = min(boxes[i, 1], boxes[i, 3]), max(boxes[i, 1], boxes[i, 3])
    ymin_j, ymax_j = min(boxes[j, 0], boxes[j, 2]), max(boxes[j, 0], boxes[j, 2])
    xmin_j, xmax_j = min(boxes[j, 1], boxes[j, 3]), max(boxes[j, 1], boxes[j, 3])
    area_i = (ymax_i - ymin_i) * (xmax_i - xmin_i)
    area_j = (ymax_j - ymin_j) * (xmax_j - xmin_j)
    if area_i <= 0 or area_j <= 0:
        return _ZERO
    inter = max(min(ymax_i, ymax_j) - max(ymin_i, ymin_j), _ZERO) * \
        max(min(xmax_i, xmax_j) - max(xmin_i, xmin_j), _ZERO)
    union = area_i + area_j - inter
    return _ZERO if union == 0 else inter / union


@njit(cache=True)
def _soft_nms(boxes, scores, max_out, iou_thr, score_thr, sigma, sel_idx, sel_scores,
              keys, items, cand):
    """Greedy (soft-)NMS; fills ``sel_idx``/``sel_scores`` (if not empty) and returns the
    count. keys/items: heap scratch of ``len(scores)`` rows; cand: a 2-int row."""
    size = 0
    for i in range(scores.shape[0]):
        if scores[i] > score_thr:
            cand[0], cand[1] = i, 0
            size = heap_push(keys, items, size, scores[i], cand)
    wanted = min(size, max_out)
    scale = np.float32(-0.5) / sigma if sigma > 0 else _ZERO
    count = 0
    while count < wanted and size > 0:
        original, size = heap_pop(keys, items, size, cand)
        score = original
        hard = False
        for j in range(count - 1, cand[1] - 1, -1):
            iou = _iou_corners(boxes, cand[0], sel_idx[j])
            if iou >= iou_thr:
                hard = True
                break
            if sigma > 0:
                score = score * np.exp(scale * iou * iou)
            if score <= score_thr:
                break
        cand[1] = count
        if not hard:
            if score == original:
                sel_idx[count] = cand[0]
                if sel_scores.shape[0] > 0:
                    sel_scores[count] = score
                count += 1
            if score > score_thr:
                size = heap_push(keys, items, size, score, cand)
    return count


def _check_nms(ctx: PrepareContext, soft: bool) -> None:
    n_in = 6 if soft else 5
    ctx.check(len(ctx.inputs) == n_in and len(ctx.outputs) == n_in - 3,
              f"expects {n_in} inputs and {n_in - 3} outputs")
    boxes, scores, max_out = ctx.input(0), ctx.input(1), ctx.input(2)
    ctx.check(boxes is not None and len(boxes.shape) == 2 and boxes.shape[1] == 4,
              "boxes must be [num_boxes, 4]")
    ctx.check(scores is not None and tuple(scores.shape) == boxes.shape[:1],
              f"scores must be [{boxes.shape[0]}]")
    ctx.check(boxes.dtype == np.float32 and scores.dtype == np.float32,
              f"{boxes.dtype} boxes/scores are not supported yet (quantized NMS comes later)")
    ctx.check(max_out is not None and max_out.dtype == np.int32 and max_out.shape == (),
              "max_output_size must be an int32 scalar")
    for i in range(3, n_in):
        t = ctx.input(i)
        ctx.check(t is not None and t.dtype == np.float32 and t.shape == (),
                  f"input {i} must be a float32 scalar")
    sigma = ctx.input(5)
    ctx.check(not (soft and sigma.is_const and float(sigma.data) < 0),
              "the soft-NMS sigma must be >= 0")


def prepare_nms(ctx: PrepareContext):
    soft = ctx.opcode == "NON_MAX_SUPPRESSION_V5"
    _check_nms(ctx, soft)
    max_out = ctx.input(2)
    count_out = 2 if soft else 1
    ctx.set_output(count_out, (), np.int32)
    static = max_out.is_const
    if static:
        size = int(max_out.data)
        ctx.check(size >= 0, f"max_output_size must be >= 0, got {size}")
        for k in range(count_out):
            ctx.set_output(k, (size,), np.int32 if k == 0 else np.float32)
    else:
        for k in range(count_out):
            ctx.set_output_dynamic(k, np.int32 if k == 0 else np.float32)
    n = ctx.input(0).shape[0]
    ctx.scratch((n,), np.float32)
    ctx.scratch((n, 2), np.int32)
    ctx.scratch((2,), np.int32)
    no_scores = np.zeros(0, np.float32)
    where = f"operator {ctx.op_index} ({ctx.opcode})"

    def run(ins, outs, scratch):
        size = int(ins[2])
        sig = np.float32(ins[5]) if soft else _ZERO
        if size < 0 or sig < 0:
            raise ValueError(f"{where}: max_output_size {size} / sigma {sig} is negative")
        if not static:
            for k in range(count_out):
                outs[k] = np.zeros(size, np.int32 if k == 0 else np.float32)
        sel_scores = outs[1] if soft else no_scores
        count = _soft_nms(ins[0], ins[1], size, np.float32(ins[3]), np.float32(ins[4]), sig,
                          outs[0], sel_scores, scratch[0], scratch[1], scratch[2])
        outs[0][count:] = 0
        sel_scores[count:] = 0
        outs[count_out][...] = count
    return run


# ----------------------------------------------------------------- detection postprocess
@njit(cache=True)
def _decode(enc, anchors, scales, out, areas):
    """Centre-size encodings (y, x, h, w) + anchors -> (ymin, xmin, ymax, xmax) corners,
    in double precision rounded to float32 as TFLite does; False if a box is inverted."""
    for i in range(out.shape[0]):
        ah, aw = np.float64(anchors[i, 2]), np.float64(anchors[i, 3])
        yc = np.float32(np.float64(enc[i, 0]) / scales[0] * ah + np.float64(anchors[i, 0]))
        xc = np.float32(np.float64(enc[i, 1]) / scales[1] * aw + np.float64(anchors[i, 1]))
        hh = np.float32(0.5 * math.exp(np.float64(enc[i, 2]) / scales[2]) * ah)
        hw = np.float32(0.5 * math.exp(np.float64(enc[i, 3]) / scales[3]) * aw)
        out[i, 0], out[i, 1], out[i, 2], out[i, 3] = yc - hh, xc - hw, yc + hh, xc + hw
    for i in range(out.shape[0]):
        if out[i, 0] > out[i, 2] or out[i, 1] > out[i, 3]:
            return False
        areas[i] = (out[i, 2] - out[i, 0]) * (out[i, 3] - out[i, 1])
    return True


@njit(cache=True)
def _suppress(geo, i, n_keep, active, iou_thr):
    """Deactivate the candidates after ``i`` whose IoU with it exceeds ``iou_thr`` (> 0,
    so empty boxes, IoU 0, never suppress); ``geo`` rows: ymin, xmin, ymax, xmax, area,
    in candidate order. Branch-free body (the IoU is TFLite's float32 formula). Returns
    how many were deactivated."""
    y0s, x0s, y1s, x1s, areas = geo[0], geo[1], geo[2], geo[3], geo[4]
    y0, x0, y1, x1, area = y0s[i], x0s[i], y1s[i], x1s[i], areas[i]
    removed = 0
    if area <= 0:
        return 0
    for j in range(i + 1, n_keep):
        dy = min(y1, y1s[j]) - max(y0, y0s[j])
        dx = min(x1, x1s[j]) - max(x0, x0s[j])
        inter = max(dy, _ZERO) * max(dx, _ZERO)
        hit = np.int32(inter / (area + areas[j] - inter) > iou_thr) & \
            np.int32(areas[j] > 0)
        was = active[j]
        removed += was & hit
        active[j] = was & (1 - hit)
    return removed


@njit(cache=True)
def _nms_single_class(boxes, areas, scores, score_thr, iou_thr, max_det, w_i, w_f):
    """TFLite's single-class NMS over one score per anchor; returns the number of anchors
    written to ``w_i[4]`` (best first). Uses w_i rows 0-4 and w_f rows 0, 3-7."""
    keep, order, tmp, active, selected = w_i[0], w_i[1], w_i[2], w_i[3], w_i[4]
    keep_scores, geo = w_f[0], w_f[3:8]
    n_keep = 0
    for i in range(scores.shape[0]):
        if scores[i] >= score_thr:
            keep[n_keep], keep_scores[n_keep] = i, scores[i]
            n_keep += 1
    stable_argsort_desc(keep_scores, n_keep, order, tmp)
    for k in range(n_keep):                 # candidates' geometry, contiguous, best first
        b = keep[order[k]]
        geo[0, k], geo[1, k], geo[2, k], geo[3, k] = boxes[b, 0], boxes[b, 1], boxes[b, 2], \
            boxes[b, 3]
        geo[4, k] = areas[b]
    wanted = min(n_keep, max_det)
    active[:n_keep] = 1
    n_active, count = n_keep, 0
    for i in range(n_keep):
        if n_active == 0 or count >= wanted:
            break
        if active[i] == 0:
            continue
        selected[count] = keep[order[i]]
        count += 1
        active[i] = 0
        n_active -= 1 + _suppress(geo, i, n_keep, active, iou_thr)
    return count


@njit(cache=True)
def _regular(boxes, areas, scores, n_classes, offset, thresholds, sizes, out_boxes,
             out_classes, out_scores, w_i, w_f):
    """Per-class NMS, merged after each class into the best ``max_detections``; w_i/w_f:
    int32/float32 work rows of ``num_boxes + max_detections``."""
    max_det, per_class = sizes[0], sizes[2]
    selected = w_i[4]
    merged, sort_idx, sorted_tmp = w_i[5], w_i[6], w_i[7]
    merged_scores, sorted_vals = w_f[1], w_f[2]
    width = scores.shape[1]
    size = 0
    for col in range(n_classes):
        count = _nms_single_class(boxes, areas, scores[:, col + offset], thresholds[0],
                                  thresholds[1], per_class, w_i, w_f)
        total = size
        for s in range(count):
            merged[total] = selected[s] * width + col + offset
            merged_scores[total] = scores[selected[s], col + offset]
            total += 1
        n_sort = min(total, max_det)
        stable_argsort_desc(merged_scores, total, sort_idx, w_i[2])   # w_i[2] is free now
        for r in range(n_sort):
            sorted_tmp[r] = merged[sort_idx[r]]
            sorted_vals[r] = merged_scores[sort_idx[r]]
        for r in range(n_sort):
            merged[r], merged_scores[r] = sorted_tmp[r], sorted_vals[r]
        size = n_sort
    for r in range(size):
        anchor = merged[r] // width
        out_boxes[r, :] = boxes[anchor, :]
        out_classes[r] = merged[r] - anchor * width - offset
        out_scores[r] = merged_scores[r]
    return size


@njit(cache=True)
def _fast(boxes, areas, scores, n_classes, offset, thresholds, sizes, out_boxes,
          out_classes, out_scores, w_i, w_f, heap_keys, heap_items, class_idx):
    """One NMS over each anchor's best class score; each kept anchor reports its best
    ``min(max_classes_per_detection, num_classes)`` classes (``class_idx`` rows)."""
    max_det, per_det = sizes[0], sizes[1]
    n = boxes.shape[0]
    n_cat = min(per_det, n_classes)
    best = w_f[1, :n]
    for row in range(n):
        row_scores = scores[row, offset:offset + n_classes]
        if n_cat == 1:
            class_idx[row, 0] = argmax_first(row_scores)
        else:
            partial_sort_desc(row_scores, n_cat, class_idx[row], heap_keys, heap_items)
        best[row] = row_scores[class_idx[row, 0]]
    selected = w_i[4]
    count = _nms_single_class(boxes, areas, best, thresholds[0], thresholds[1], max_det, w_i,
                              w_f)
    for k in range(count):
        anchor = selected[k]
        for c in range(n_cat):
            r = per_det * k + c
            out_boxes[r, :] = boxes[anchor, :]
            out_classes[r] = class_idx[anchor, c]
            out_scores[r] = scores[anchor, offset + class_idx[anchor, c]]
    return count


def _postprocess_options(ctx: PrepareContext) -> dict:
    """The FlexBuffer map, read as TFLite reads it (absent numbers are 0)."""
    raw = ctx.op.custom_options
    ctx.check(bool(raw), "needs FlexBuffer custom options")
    try:
        m = flexbuffers.Loads(bytes(raw))
    except Exception as e:  # noqa: BLE001 - any decoding failure is a bad model
        raise ctx.error(f"cannot decode the FlexBuffer custom options: {e}") from None
    ctx.check(isinstance(m, dict), "custom options must be a FlexBuffer map")

    def number(key, kind, default=0):
        value = m.get(key)
        return kind(default if value is None else value)

    return {"max_detections": number("max_detections", int),
            "max_classes_per_detection": number("max_classes_per_detection", int),
            "detections_per_class": number("detections_per_class", int, 100),
            "use_regular_nms": number("use_regular_nms", bool, False),
            "num_classes": number("num_classes", int),
            "thresholds": np.array([number("nms_score_threshold", float),
                                    number("nms_iou_threshold", float)], np.float32),
            "scales": np.array([np.float32(number(k, float)) for k in
                                ("y_scale", "x_scale", "h_scale", "w_scale")], np.float64)}


def _check_postprocess(ctx: PrepareContext, o: dict) -> tuple[int, int]:
    enc, cls, anchors = ctx.input(0), ctx.input(1), ctx.input(2)
    ctx.check(len(ctx.inputs) == 3 and None not in (enc, cls, anchors),
              "expects 3 inputs (box encodings, class predictions, anchors)")
    ctx.check(len(ctx.outputs) == 4, "expects 4 outputs")
    ctx.check(all(t.dtype == np.float32 for t in (enc, cls, anchors)),
              "quantized inputs are not supported yet")
    ctx.check(len(enc.shape) == 3 and enc.shape[0] == 1 and enc.shape[2] >= 4,
              f"box encodings must be [1, num_boxes, >=4], got {list(enc.shape)}")
    n = enc.shape[1]
    ctx.check(tuple(cls.shape[:2]) == (1, n) and len(cls.shape) == 3,
              f"class predictions must be [1, {n}, classes], got {list(cls.shape)}")
    ctx.check(tuple(anchors.shape) == (n, 4), f"anchors must be [{n}, 4]")
    offset = cls.shape[2] - o["num_classes"]
    ctx.check(o["num_classes"] >= 1 and offset in (0, 1),
              f"num_classes {o['num_classes']} does not fit {cls.shape[2]} class scores")
    ctx.check(o["max_detections"] >= 0, "max_detections must be >= 0")
    ctx.check(o["max_classes_per_detection"] >= 1, "max_classes_per_detection must be >= 1")
    ctx.check(not o["use_regular_nms"] or o["detections_per_class"] >= 1,
              "detections_per_class must be >= 1")
    ctx.check(0 < o["thresholds"][1] <= 1, "nms_iou_threshold must be in (0, 1]")
    return n, offset


def prepare_postprocess(ctx: PrepareContext):
    o = _postprocess_options(ctx)
    n, offset = _check_postprocess(ctx, o)
    max_det, per_det = o["max_detections"], o["max_classes_per_detection"]
    rows = max_det * per_det
    for k, shape in enumerate([(1, rows, 4), (1, rows), (1, rows), (1,)]):
        ctx.set_output(k, shape, np.float32)
    sizes = np.array([max_det, per_det, o["detections_per_class"]], np.int64)
    width = n + max_det
    heap = o["num_classes"] + 1
    # boxes, areas, int / float work rows (see _regular, _nms_single_class), the class
    # ranking heap (fast NMS) and each anchor's best classes
    for shape, dtype in [((n, 4), np.float32), ((n,), np.float32), ((8, width), np.int32),
                         ((8, width), np.float32), ((heap,), np.float32),
                         ((heap, 1), np.int32), ((n, min(per_det, o["num_classes"])), np.int32)]:
        ctx.scratch(shape, dtype)
    regular, n_classes = o["use_regular_nms"], o["num_classes"]
    scales, thresholds = o["scales"], o["thresholds"]
    where = f"operator {ctx.op_index} ({ctx.opcode})"

    def run(ins, outs, scratch):
        boxes, areas = scratch[0], scratch[1]
        if not _decode(ins[0][0], ins[2], scales, boxes, areas):
            raise ValueError(f"{where}: a decoded box has min > max (bad anchors?)")
        for out in outs:
            out.fill(0)
        if regular:
            count = _regular(boxes, areas, ins[1][0], n_classes, offset, thresholds, sizes,
                             outs[0][0], outs[1][0], outs[2][0], scratch[2], scratch[3])
        else:
            count = _fast(boxes, areas, ins[1][0], n_classes, offset, thresholds, sizes,
                          outs[0][0], outs[1][0], outs[2][0], *scratch[2:7])
        outs[3][0] = count
    return run


KERNELS = {
    "NON_MAX_SUPPRESSION_V4": KernelDef(prepare_nms, 1),
    "NON_MAX_SUPPRESSION_V5": KernelDef(prepare_nms, 1),
}
CUSTOM_KERNELS = {
    "TFLite_Detection_PostProcess": KernelDef(prepare_postprocess, 1),
}
