"""Unit checks of ``edgelite.vision`` (anchors, decoding, weighted NMS, PNG, resize,
labels) and of the pan-tilt pieces (PID, sign convention, mock servos, camera window)."""

from __future__ import annotations

import numpy as np
import pytest

from edgelite.vision import ImageError, read_png, write_png
from edgelite.vision.anchors import FACE_SHORT_RANGE, BoxCoding, decode, ssd_anchors, weighted_nms
from edgelite.vision.bundled import load_labels
from edgelite.vision.image import letterbox, resize
from tests.apps.helpers import need, photo


def test_face_short_range_anchors():
    anchors = ssd_anchors(FACE_SHORT_RANGE[0])
    assert anchors.shape == (896, 4)
    assert (anchors[:, 2:] == 1).all()                       # fixed anchor size
    # stride 8: 16x16 cells, 2 anchors each; then stride 16: 8x8 cells, 6 anchors each
    np.testing.assert_allclose(anchors[0, :2], [0.5 / 16, 0.5 / 16])
    np.testing.assert_allclose(anchors[1, :2], [0.5 / 16, 0.5 / 16])
    np.testing.assert_allclose(anchors[2, :2], [1.5 / 16, 0.5 / 16])
    np.testing.assert_allclose(anchors[511, :2], [15.5 / 16, 15.5 / 16])
    np.testing.assert_allclose(anchors[512:518, :2], [[0.5 / 8, 0.5 / 8]] * 6)
    np.testing.assert_allclose(anchors[518, :2], [1.5 / 8, 0.5 / 8])
    np.testing.assert_allclose(anchors[-1, :2], [7.5 / 8, 7.5 / 8])


def test_decode_xywh_keypoints_sigmoid_and_threshold():
    anchors = np.array([[0.5, 0.5, 1, 1], [0.25, 0.75, 1, 1]], np.float32)
    coding = BoxCoding(scale=128.0, num_keypoints=1)
    raw = np.array([[12.8, -6.4, 32, 64, 0, 12.8],       # x, y, w, h, kp x, kp y
                    [0, 0, 10, 10, 0, 0]], np.float32)
    scores = np.array([[2.0], [-3.0]], np.float32)
    boxes, s, kps = decode(raw, scores, anchors, coding)
    assert len(boxes) == 1                                 # sigmoid(-3) < 0.5
    cx, cy, w, h = 0.6, 0.45, 0.25, 0.5
    np.testing.assert_allclose(boxes[0], [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2],
                               rtol=1e-6)
    np.testing.assert_allclose(s, [1 / (1 + np.exp(-2.0))], rtol=1e-6)
    np.testing.assert_allclose(kps[0], [[0.5, 0.6]], rtol=1e-6)
    # scores clip at +-100 before the sigmoid (no overflow), negative sizes are dropped
    raw[1, 2] = -5
    boxes, s, _ = decode(raw, np.array([[1e4], [1e4]], np.float32), anchors, coding)
    assert len(boxes) == 1 and s[0] == 1.0


def test_weighted_nms_averages_overlaps_by_score_and_keeps_the_best_score():
    boxes = np.array([[0, 0, 10, 10], [1, 0, 11, 10], [50, 50, 60, 60]], np.float32)
    scores = np.array([0.6, 0.9, 0.7], np.float32)
    kps = np.array([[[0, 0]], [[3, 3]], [[55, 55]]], np.float32)
    kept = weighted_nms(boxes, scores, kps, iou_threshold=0.3)
    assert [round(k[1], 3) for k in kept] == [0.9, 0.7]
    np.testing.assert_allclose(kept[0][0], [0.6, 0, 10.6, 10], rtol=1e-6)
    np.testing.assert_allclose(kept[0][2], [[1.8, 1.8]], rtol=1e-6)
    np.testing.assert_allclose(kept[1][0], boxes[2])


@pytest.mark.parametrize("mode", ["RGB", "L", "RGBA", "P", "1", "LA", "I;16"])
def test_png_reader_against_pillow(tmp_path, mode):
    pil = need("PIL.Image", "pillow")
    image = pil.fromarray(photo("chelsea")).convert(mode if mode != "I;16" else "L")
    if mode == "I;16":
        image = pil.fromarray(np.asarray(image, np.uint16) * 257)
    image.save(tmp_path / "x.png")              # Pillow picks filters per row (all five)
    got = read_png(tmp_path / "x.png")
    want = np.asarray(image.convert("RGB")) if mode != "I;16" \
        else np.repeat((np.asarray(image) >> 8).astype(np.uint8)[..., None], 3, axis=2)
    np.testing.assert_array_equal(got, want)


def test_png_writer_round_trip_and_errors(tmp_path):
    rgb = photo("coffee")
    write_png(tmp_path / "c.png", rgb)
    np.testing.assert_array_equal(read_png(tmp_path / "c.png"), rgb)
    (tmp_path / "bad.png").write_bytes(b"GIF89a")
    with pytest.raises(ImageError, match="bad.png.*not a PNG"):
        read_png(tmp_path / "bad.png")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        read_png(tmp_path / "none.png")


def test_resize_and_letterbox():
    flat = np.full((300, 451, 3), 77, np.uint8)
    np.testing.assert_allclose(resize(flat, 224, 224), 77, rtol=1e-5)
    ramp = np.tile(np.arange(100, dtype=np.uint8)[None, :, None], (4, 1, 3))
    down = resize(ramp, 4, 10)[0, 1:-1, 0]   # inside: the mean of each 10-pixel span
    np.testing.assert_allclose(down, np.arange(14.5, 90, 10), atol=0.01)
    pil = need("PIL.Image", "pillow")   # the same filter as PIL's BILINEAR resize
    noise = np.random.default_rng(0).integers(0, 256, (97, 131, 3), dtype=np.uint8)
    for size in ((40, 50), (97, 131), (200, 150), (13, 300)):
        want = np.asarray(pil.fromarray(noise).resize(size[::-1], pil.BILINEAR), np.float32)
        assert np.abs(resize(noise, *size) - want).max() <= 1.0, size   # PIL rounds
    canvas, scale, offset = letterbox(flat, 128, 128)
    assert canvas.shape == (128, 128, 3) and offset == (0, 21)
    assert scale == pytest.approx((128 / 451, 85 / 300))
    assert (canvas[:21] == 0).all() and (canvas[21:106] > 76).all() and (canvas[106:] == 0).all()


def test_labels_formats(tmp_path):
    (tmp_path / "a.txt").write_text("cat\ndog\n\n")
    (tmp_path / "b.txt").write_text("0 person\n1: bicycle\n2  car\n")
    assert load_labels(tmp_path / "a.txt") == ["cat", "dog"]
    assert load_labels(tmp_path / "b.txt") == ["person", "bicycle", "car"]


def test_pid_and_pan_tilt_sign_convention_with_mock_servos():
    need("gpiozero", "gpiozero")
    from apps.pan_tilt import PID, PanTilt, ServoConfig, VirtualCamera

    pid = PID(kp=0.5, ki=0.0, kd=0.0)
    assert pid.update(10.0) == 5.0
    gimbal = PanTilt("mock", ServoConfig(17), ServoConfig(18, -45, 45, invert=True),
                     fov=(60.0, 40.0), gains=(0.5, 0.0, 0.0))
    try:
        # a target right of and above the centre: bearings positive
        assert gimbal.bearing((150, 25), (200, 100)) == (15.0, 10.0)
        gimbal.update((150, 25), (200, 100))
        assert gimbal.pan == pytest.approx(7.5) and gimbal.tilt == pytest.approx(5.0)
        assert gimbal.servos[1].angle == pytest.approx(-5.0)     # inverted servo
        gimbal.update((100.4, 50), (200, 100))                   # inside the deadband
        assert gimbal.pan == pytest.approx(7.5)
        for _ in range(50):
            gimbal.update((200, 0), (200, 100))                  # far right: clamped
        assert gimbal.pan == pytest.approx(90.0) and gimbal.tilt == pytest.approx(45.0)
    finally:
        gimbal.close()
    camera = VirtualCamera(fov=(60.0, 40.0), view=0.5)       # a 200 x 100 window
    assert camera.window((400, 200), pan=0, tilt=0) == (100, 50, 300, 150)
    # right by 15/60 of 200 px, up by 10/40 of 100 px; then kept inside the frame
    assert camera.window((400, 200), pan=15, tilt=10) == (150, 25, 350, 125)
    assert camera.window((400, 200), pan=-90, tilt=-40) == (0, 100, 200, 200)
