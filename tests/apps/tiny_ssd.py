"""A tiny SSD-style detector ending in ``TFLite_Detection_PostProcess``, built through the
IR, for the generic-SSD path of ``apps.detect``.

Input (1, 32, 32, 3) float32 in [-1, 1]. An 8x8/stride-8 average pool gives a 4x4 grid of
cells; each cell is one anchor (its own square), and its mean R, G, B are the scores of
the background and of classes 0 ("green") and 1 ("blue"). The box encodings are zero, so
every detection is exactly its anchor's cell: a green square filling one cell of the
picture is found as "green" with that cell's box.
"""

from __future__ import annotations

import numpy as np
from flatbuffers import flexbuffers

from edgelite.schema import ir, write

GRID = 4
LABELS = ["???", "green", "blue"]   # TF's label-map layout: '???' for the background


def anchors() -> np.ndarray:
    """(16, 4) anchors as (y_centre, x_centre, h, w), normalized, row-major cells."""
    cells = [((r + 0.5) / GRID, (c + 0.5) / GRID, 1 / GRID, 1 / GRID)
             for r in range(GRID) for c in range(GRID)]
    return np.asarray(cells, np.float32)


def tiny_ssd() -> bytes:
    sg = ir.Subgraph(name="tiny_ssd")
    f32 = np.float32
    image = sg.add_tensor(ir.Tensor("image", (1, 32, 32, 3), f32))
    pooled = sg.add_tensor(ir.Tensor("pooled", (1, GRID, GRID, 3), f32))
    shape = sg.add_tensor(ir.Tensor("shape", (3,), np.int32,
                                    data=np.array([1, GRID * GRID, 3], np.int32)))
    scores = sg.add_tensor(ir.Tensor("scores", (1, GRID * GRID, 3), f32))
    codes = sg.add_tensor(ir.Tensor("box_encodings", (1, GRID * GRID, 4), f32,
                                    data=np.zeros((1, GRID * GRID, 4), f32)))
    boxes_in = sg.add_tensor(ir.Tensor("anchors", (GRID * GRID, 4), f32, data=anchors()))
    outs = [sg.add_tensor(ir.Tensor(name, shape_, f32)) for name, shape_ in (
        ("detection_boxes", (1, 5, 4)), ("detection_classes", (1, 5)),
        ("detection_scores", (1, 5)), ("num_detections", (1,)))]
    sg.inputs, sg.outputs = [image], list(outs)
    options = {"max_detections": 5, "max_classes_per_detection": 1,
               "detections_per_class": 5, "use_regular_nms": False,
               "nms_score_threshold": 0.3, "nms_iou_threshold": 0.5, "num_classes": 2,
               "y_scale": 10.0, "x_scale": 10.0, "h_scale": 5.0, "w_scale": 5.0}
    sg.operators = [
        ir.Operator("AVERAGE_POOL_2D", [image], [pooled],
                    {"padding": "VALID", "stride_w": 8, "stride_h": 8, "filter_width": 8,
                     "filter_height": 8, "fused_activation_function": "NONE"}),
        ir.Operator("RESHAPE", [pooled, shape], [scores],
                    {"new_shape": [1, GRID * GRID, 3]}),
        ir.Operator("TFLite_Detection_PostProcess", [codes, scores, boxes_in], outs,
                    custom=True, custom_options=bytes(flexbuffers.Dumps(options))),
    ]
    return write(ir.Model([sg]))
