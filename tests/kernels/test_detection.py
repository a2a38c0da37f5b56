"""NON_MAX_SUPPRESSION_V4/V5 and the custom TFLite_Detection_PostProcess against LiteRT.

Selections are compared exactly (indices, classes, counts and the float boxes/scores,
which are copied or computed as LiteRT computes them), tied scores included: the tie
order is LiteRT's (its heap / partial-sort / stable-sort behaviour).
"""

from __future__ import annotations

import numpy as np
import pytest
from flatbuffers import flexbuffers

from edgelite.kernels.api import PrepareError
from tests.kernels.harness import compare, op_model, run_edgelite, run_kernel, run_litert


def _boxes_scores(rng, n, ties=False):
    centre, size = rng.uniform(0, 1, (n, 2)), rng.uniform(0.05, 0.4, (n, 2))
    boxes = np.concatenate([centre - size / 2, centre + size / 2], 1).astype(np.float32)
    flip = rng.random(n) < 0.3                      # corners in either order
    boxes[flip] = boxes[flip][:, [2, 3, 0, 1]]
    scores = rng.uniform(0, 1, n)
    if ties:
        scores = np.round(scores * 4) / 4
    return boxes, scores.astype(np.float32)


def _nms_model(v5, n=40, max_out=10, iou=0.5, threshold=0.2, sigma=0.0, ties=False,
               const_max=True, seed=0):
    boxes, scores = _boxes_scores(np.random.default_rng(seed), n, ties)
    ins = [boxes, scores, np.array(max_out, np.int32), np.array(iou, np.float32),
           np.array(threshold, np.float32)] + ([np.array(sigma, np.float32)] if v5 else [])
    outputs = [(np.int32, None)] + ([(np.float32, None)] if v5 else []) + [(np.int32, None)]
    model = op_model("NON_MAX_SUPPRESSION_V5" if v5 else "NON_MAX_SUPPRESSION_V4", ins,
                     const=[False, False, const_max] + [True] * (len(ins) - 3),
                     outputs=outputs)
    return model, [boxes, scores] + ([] if const_max else [ins[2]])


NMS_CASES = {"default": {}, "ties": {"ties": True}, "iou_1_all": {"iou": 1.0, "threshold": 0.0,
                                                                  "max_out": 50},
             "tight": {"iou": 0.1, "max_out": 3}, "none_selected": {"threshold": 1.5},
             "max_out_0": {"max_out": 0}, "one_box": {"n": 1}, "runtime_max_out":
             {"const_max": False, "max_out": 7}}


@pytest.mark.parametrize("case", list(NMS_CASES))
@pytest.mark.parametrize("seed", [0, 1])
def test_nms_v4(case, seed):
    compare(*_nms_model(False, seed=seed, **NMS_CASES[case]))


@pytest.mark.parametrize("sigma", [0.0, 0.5])
@pytest.mark.parametrize("case", ["default", "ties", "iou_1_all", "runtime_max_out"])
@pytest.mark.parametrize("seed", [0, 3])
def test_nms_v5_soft(sigma, case, seed):
    kwargs = dict(NMS_CASES[case], sigma=sigma)
    compare(*_nms_model(True, seed=seed, **kwargs), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("n", [7, 16, 33])
def test_nms_tied_scores_pop_in_litert_order(n):
    # three score levels, big overlapping boxes: which of equal candidates goes first
    # decides what survives, so this pins the priority queue's tie order
    rng = np.random.default_rng(n)
    centre, size = rng.uniform(0, 1, (n, 2)), rng.uniform(0.2, 0.6, (n, 2))
    boxes = np.concatenate([centre - size / 2, centre + size / 2], 1).astype(np.float32)
    scores = (rng.integers(0, 3, n) / 2).astype(np.float32)
    ins = [boxes, scores, np.array(n, np.int32), np.array(0.3, np.float32),
           np.array(-1.0, np.float32)]
    model = op_model("NON_MAX_SUPPRESSION_V4", ins, const=[False, False, True, True, True],
                     outputs=[(np.int32, None)] * 2)
    compare(model, [boxes, scores])


def test_nms_pads_with_zeros():
    model, feeds = _nms_model(True, n=6, max_out=20, threshold=0.0)
    indices, scores, count = run_edgelite(model, feeds)
    assert 0 < count < 20 and not indices[count:].any() and not scores[count:].any()


def test_nms_bad_inputs_name_the_op():
    model, _ = _nms_model(False)
    boxes = model.subgraphs[0].tensors[0]
    boxes.shape = (40, 5)
    with pytest.raises(PrepareError, match="NON_MAX_SUPPRESSION_V4.*boxes"):
        run_kernel(model, [])
    model, _ = _nms_model(True, sigma=-1.0)
    with pytest.raises(PrepareError, match="NON_MAX_SUPPRESSION_V5.*sigma"):
        run_kernel(model, [])
    model, _ = _nms_model(False)
    model.subgraphs[0].tensors[0].dtype = np.dtype(np.int8)
    with pytest.raises(PrepareError, match="not supported yet"):
        run_kernel(model, [])


# ----------------------------------------------------------------- detection postprocess
def _options(**changes) -> dict:
    options = {"max_detections": 5, "max_classes_per_detection": 1,
               "detections_per_class": 3, "use_regular_nms": False,
               "nms_score_threshold": 0.3, "nms_iou_threshold": 0.5, "num_classes": 4,
               "y_scale": 10.0, "x_scale": 10.0, "h_scale": 5.0, "w_scale": 5.0}
    options.update(changes)
    return options


def _postprocess_model(options: dict, n=30, background=True, code_size=4, ties=False, seed=0):
    rng = np.random.default_rng(seed)
    anchors = np.concatenate([rng.uniform(0.2, 0.8, (n, 2)), rng.uniform(0.1, 0.3, (n, 2))],
                             1).astype(np.float32)
    encodings = rng.normal(0, 1, (1, n, code_size)).astype(np.float32)
    scores = rng.uniform(0, 1, (1, n, options["num_classes"] + int(background)))
    if ties:
        scores = np.round(scores * 5) / 5
    scores = scores.astype(np.float32)
    model = op_model("TFLite_Detection_PostProcess", [encodings, scores, anchors],
                     const=[False, False, True], outputs=[(np.float32, None)] * 4, custom=True,
                     custom_options=bytes(flexbuffers.Dumps(options)))
    return model, [encodings, scores]


def _compare_detections(model, feeds, rows_per_detection):
    """LiteRT leaves the rows past num_detections unwritten (garbage); edgelite zeroes
    them. Everything written is compared exactly."""
    expected, got = run_litert(model, feeds), run_edgelite(model, feeds)
    assert [g.shape for g in got] == [e.shape for e in expected]
    assert all(g.dtype == np.float32 for g in got)
    assert got[3][0] == expected[3][0]
    rows = int(expected[3][0]) * rows_per_detection
    for k in range(3):
        np.testing.assert_array_equal(got[k][0, :rows], expected[k][0, :rows],
                                      err_msg=f"output {k}")
        assert not got[k][0, rows:].any()
    return got


POSTPROCESS_CASES = {
    "plain": ({}, {}), "classes_per_detection_3": ({"max_classes_per_detection": 3}, {}),
    "no_background": ({"num_classes": 3}, {"background": False}),
    "ties": ({}, {"ties": True}),
    "ties_2_classes": ({"max_classes_per_detection": 2}, {"ties": True}),
    "keypoint_codes": ({"max_detections": 10, "detections_per_class": 5}, {"code_size": 6}),
    "integer_scales": ({"y_scale": 10, "x_scale": 10, "h_scale": 5, "w_scale": 5}, {}),
    "nothing_passes": ({"nms_score_threshold": 1.5}, {}),
}


@pytest.mark.parametrize("case", list(POSTPROCESS_CASES))
@pytest.mark.parametrize("regular", [False, True])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_detection_postprocess(case, regular, seed):
    changes, shape = POSTPROCESS_CASES[case]
    options = _options(use_regular_nms=regular, **changes)
    model, feeds = _postprocess_model(options, seed=seed, **shape)
    per_row = 1 if regular else options["max_classes_per_detection"]
    _compare_detections(model, feeds, per_row)


def test_detection_postprocess_defaults_from_flexbuffer():
    options = _options(use_regular_nms=True, max_detections=8)
    del options["detections_per_class"]                   # TFLite's default: 100
    model, feeds = _postprocess_model(options, n=40, seed=4)
    _compare_detections(model, feeds, 1)


def test_detection_postprocess_bad_options_name_the_op():
    model, _ = _postprocess_model(_options(nms_iou_threshold=0.0))
    with pytest.raises(PrepareError, match="TFLite_Detection_PostProcess.*iou"):
        run_kernel(model, [])
    model, _ = _postprocess_model(_options())
    op = model.subgraphs[0].operators[0]
    op.custom_options = bytes(flexbuffers.Dumps(_options(num_classes=9)))
    with pytest.raises(PrepareError, match="num_classes"):
        run_kernel(model, [])
    model, _ = _postprocess_model(_options())
    model.subgraphs[0].operators[0].custom_options = b"\x01\x02"
    with pytest.raises(PrepareError, match="FlexBuffer"):
        run_kernel(model, [])
