"""``python -m apps.classify`` on files, headless: an image, a video, a directory."""

from __future__ import annotations

from tests.apps.helpers import need, photo, run, run_json, run_json_lines, write_png, write_video

CATS = {"Egyptian cat", "tabby", "tiger cat"}


def test_coffee_is_espresso(tmp_path):
    results = run_json("apps.classify", "--source", str(write_png(tmp_path / "coffee.png",
                                                                 photo("coffee"))))
    assert isinstance(results, list) and len(results) == 5
    assert results[0]["label"] == "espresso" and results[0]["index"] == 967
    assert results[0]["score"] > 0.5
    assert [r["score"] for r in results] == sorted((r["score"] for r in results), reverse=True)


def test_top_k_and_threshold(tmp_path):
    coffee = str(write_png(tmp_path / "coffee.png", photo("coffee")))
    assert len(run_json("apps.classify", "--source", coffee, "--top-k", "2")) == 2
    only = run_json("apps.classify", "--source", coffee, "--threshold", "0.5")
    assert [r["label"] for r in only] == ["espresso"]


def test_video_source_gives_json_lines_per_frame(tmp_path):
    cv2 = need("cv2", "opencv-python-headless")
    coffee = photo("coffee")                                   # 400 x 600
    cat = cv2.resize(photo("chelsea"), (600, 400), interpolation=cv2.INTER_AREA)
    video = write_video(tmp_path / "clip.avi", [coffee] * 3 + [cat] * 3)
    lines = run_json_lines("apps.classify", "--source", str(video), "--top-k", "1")
    assert [line["frame"] for line in lines] == list(range(6))
    labels = [line["results"][0]["label"] for line in lines]
    assert labels[:3] == ["espresso"] * 3, labels
    assert set(labels[3:]) <= CATS, labels
    assert all(line["latency_ms"] > 0 for line in lines)
    assert all(line["fps"] > 0 for line in lines[1:])


def test_directory_source_and_annotated_video(tmp_path):
    cv2 = need("cv2", "opencv-python-headless")
    folder = tmp_path / "photos"
    folder.mkdir()
    write_png(folder / "a_coffee.png", photo("coffee"))
    write_png(folder / "b_cat.png", photo("chelsea"))
    out = tmp_path / "annotated.mp4"
    proc = run("apps.classify", "--source", str(folder), "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("a_coffee.png: espresso"), lines
    assert lines[1].split(": ")[1].split(" ")[0] in {"Egyptian", "tabby", "tiger"}, lines
    assert "ms invoke" in lines[0]
    capture = cv2.VideoCapture(str(out))
    frames = 0
    while capture.read()[0]:
        frames += 1
    assert frames == 2


def test_annotated_image(tmp_path):
    cv2 = need("cv2", "opencv-python-headless")
    coffee = photo("coffee")
    out = tmp_path / "out.png"
    proc = run("apps.classify", "--source", str(write_png(tmp_path / "c.png", coffee)),
               "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("c.png: espresso")
    annotated = cv2.imread(str(out))[:, :, ::-1]
    assert annotated.shape == coffee.shape
    assert (annotated != coffee).any(axis=2).mean() > 0.005   # text was drawn
