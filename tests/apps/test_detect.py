"""``python -m apps.detect`` on files, headless: the bundled face detector on the
astronaut, a generic SSD (TFLite_Detection_PostProcess), and pan-tilt tracking with
gpiozero's mock servos on a synthetic video."""

from __future__ import annotations

import numpy as np

from tests.apps.helpers import need, photo, run, run_json, run_json_lines, write_png, write_video
from tests.apps.tiny_ssd import LABELS, tiny_ssd

# skimage.data.astronaut(), by eye: the face (hairline to chin, cheek to cheek) and eyes
TRUE_FACE = (180, 80, 265, 185)
EYES = ((200, 100), (245, 103))


def _iou(a, b) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def test_astronaut_face_box(tmp_path):
    found = run_json("apps.detect", "--source",
                     str(write_png(tmp_path / "astronaut.png", photo("astronaut"))))
    assert len(found) == 1, found
    (face,) = found
    assert set(face) == {"box", "score", "label"}
    assert face["label"] == "face" and face["score"] > 0.8
    assert _iou(face["box"], TRUE_FACE) > 0.7, face["box"]
    x0, y0, x1, y1 = face["box"]
    assert all(x0 < x < x1 and y0 < y < y1 for x, y in EYES)


def test_no_face_in_coffee_and_letterbox_maps_back(tmp_path):
    assert run_json("apps.detect", "--source",
                    str(write_png(tmp_path / "coffee.png", photo("coffee")))) == []
    # the astronaut's head on a wide and on a tall canvas: letterboxed for the model (as
    # MediaPipe does), boxes back in canvas pixels
    head = photo("astronaut")[0:256, 96:352]
    face = (TRUE_FACE[0] - 96, TRUE_FACE[1], TRUE_FACE[2] - 96, TRUE_FACE[3])
    for size, (dx, dy) in (((256, 512), (200, 0)), ((400, 256), (0, 100))):
        canvas = np.full((*size, 3), 80, np.uint8)
        canvas[dy:dy + 256, dx:dx + 256] = head
        found = run_json("apps.detect", "--source",
                         str(write_png(tmp_path / f"canvas_{dx}.png", canvas)))
        assert len(found) == 1, found
        moved = (face[0] + dx, face[1] + dy, face[2] + dx, face[3] + dy)
        assert _iou(found[0]["box"], moved) > 0.7, (found, moved)


def test_generic_ssd_model_with_postprocess_op(tmp_path):
    model = tmp_path / "tiny_ssd.tflite"
    model.write_bytes(tiny_ssd())
    labels = tmp_path / "labels.txt"
    labels.write_text("\n".join(LABELS) + "\n")
    image = np.zeros((128, 128, 3), np.uint8)
    image[32:64, 64:96, 1] = 255       # a green square filling cell (row 1, column 2)
    image[96:128, 0:32, 2] = 255       # a blue one in cell (row 3, column 0)
    found = run_json("apps.detect", "--model", str(model), "--labels", str(labels),
                     "--source", str(write_png(tmp_path / "squares.png", image)))
    assert [d["label"] for d in found] == ["blue", "green"], found
    assert np.allclose(found[0]["box"], [0, 96, 32, 128], atol=0.5)
    assert np.allclose(found[1]["box"], [64, 32, 96, 64], atol=0.5)
    assert all(0.8 < d["score"] <= 1.0 for d in found)
    # no labels file: class numbers; a threshold above both scores: nothing
    plain = run_json("apps.detect", "--model", str(model), "--source",
                     str(tmp_path / "squares.png"))
    assert [d["label"] for d in plain] == ["1", "0"]
    assert run_json("apps.detect", "--model", str(model), "--threshold", "0.99",
                    "--source", str(tmp_path / "squares.png")) == []


def _moving_face_video(path, n_move=30, n_hold=30, shift=180):
    """960x540 frames: the astronaut, face at the centre in frame 0, sliding ``shift``
    pixels right over ``n_move`` frames, then still for ``n_hold`` frames."""
    astronaut = photo("astronaut")
    frames = []
    for k in range(n_move + n_hold):
        x0 = round(255 + shift * min(k, n_move) / n_move)
        frame = np.full((540, 960, 3), 90, np.uint8)
        frame[142:540, x0:x0 + 512] = astronaut[:398]
        frames.append(frame)
    return write_video(path, frames)


def test_pan_tilt_mock_turns_right_toward_a_face_moving_right_and_settles(tmp_path):
    need("gpiozero", "gpiozero")
    video = _moving_face_video(tmp_path / "moving.avi")
    lines = run_json_lines("apps.detect", "--source", str(video), "--pan-tilt", "mock")
    assert len(lines) == 60
    assert all(len(line["results"]) == 1 for line in lines), "the face is lost"
    pan = np.array([line["pan"] for line in lines])
    tilt = np.array([line["tilt"] for line in lines])
    # sign convention: a target right of centre turns the camera right = pan rises
    assert pan[29] > pan[10] > pan[0] >= 0
    assert (np.diff(pan[:31]) >= -0.05).all(), pan[:31]
    # the face ends 180 px right of the frame centre: with the mock camera's 480 px wide
    # window and 62.2 degree field of view that is 23.3 degrees
    assert 20 < pan[-1] < 27, pan[-1]
    assert np.abs(np.diff(pan[-10:])).max() < 0.3, pan[-10:]     # settled
    assert np.abs(tilt).max() < 2.0, tilt                          # it never moved up/down
    # and the face is centred in the mock camera's window at the end
    x0, _, x1, _ = lines[-1]["view"]
    box = lines[-1]["results"][0]["box"]
    assert abs((box[0] + box[2]) / 2 - (x0 + x1) / 2) < 0.05 * (x1 - x0)


def test_pan_tilt_settings_and_annotated_video(tmp_path):
    cv2 = need("cv2", "opencv-python-headless")
    need("gpiozero", "gpiozero")
    video = _moving_face_video(tmp_path / "moving.avi", n_move=10, n_hold=0, shift=120)
    out = tmp_path / "tracked.mp4"
    proc = run("apps.detect", "--source", str(video), "--pan-tilt", "mock", "--invert-pan",
               "--pan-limits=-5,5", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert len(lines) == 10 and all("face" in line and "pan +" in line for line in lines)
    assert lines[-1].endswith(")") and "FPS" in lines[-1]
    # pan is clamped to its limit; inverting changes the servo, not the logical angle
    assert "pan +5.0" in lines[-1], lines[-1]
    capture = cv2.VideoCapture(str(out))
    ok, frame = capture.read()
    assert ok and frame.shape == (540, 960, 3)
