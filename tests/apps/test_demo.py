"""``edgelite demo``: the bundled int8 EfficientNet-Lite0 names the bundled cat, with
numpy alone (no image library), and the bundled files ship in the package."""

from __future__ import annotations

import re
import subprocess
import sys
from fnmatch import fnmatch
from pathlib import Path

import tomllib

from edgelite.vision import bundled
from tests.apps.helpers import REPO, headless_env

CAT_CLASSES = ("Egyptian cat", "tabby", "tiger cat")
LABEL_LINE = re.compile(r"^(?P<label>.+?)\s+(?P<pct>\d+\.\d)%\s+\(class (?P<index>\d+)\)$")


def _demo(*args: str, block: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    """``edgelite demo``, optionally with some modules made unimportable."""
    code = ("import sys\n"
            + "".join(f"sys.modules[{m!r}] = None\n" for m in block)
            + "from edgelite.cli import main\n"
            + f"sys.exit(main(['demo', *{list(args)!r}]))\n")
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=headless_env(), cwd=REPO, timeout=300, check=False)


def test_demo_prints_a_cat_first_then_top5_and_latency():
    proc = subprocess.run([sys.executable, "-m", "edgelite", "demo"], capture_output=True,
                          text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    first = LABEL_LINE.match(lines[0])
    assert first and first["label"] in CAT_CLASSES, lines[0]
    top = [LABEL_LINE.match(line) for line in lines[:5]]
    assert all(top), lines[:5]
    pcts = [float(m["pct"]) for m in top]
    assert pcts == sorted(pcts, reverse=True) and 0 < sum(pcts) <= 100.5
    # the three cat classes are the three best
    assert {m["label"] for m in top[:3]} == set(CAT_CLASSES), lines[:3]
    assert lines[5].startswith("model: efficientnet_lite0_int8.tflite")
    assert re.match(r"latency: \d+\.\d ms per invoke, \d+\.\d ms per image", lines[6]), lines[6]
    assert len(lines) == 7


def test_demo_needs_no_image_library():
    proc = _demo("--runs", "1", "--top-k", "1", block=("PIL", "cv2", "skimage", "scipy"))
    assert proc.returncode == 0, proc.stderr
    assert LABEL_LINE.match(proc.stdout.splitlines()[0])["label"] in CAT_CLASSES


def test_demo_on_another_png_and_bad_input(tmp_path):
    from tests.apps.helpers import photo, write_png

    coffee = write_png(tmp_path / "coffee.png", photo("coffee"))
    proc = _demo(str(coffee), "--runs", "0")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("espresso "), proc.stdout
    assert "latency: first invoke" in proc.stdout
    for bad, phrase in ((tmp_path / "missing.png", "does not exist"),
                        (REPO / "README.md", "not a PNG")):
        proc = _demo(str(bad))
        assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
        assert proc.stderr.startswith("edgelite demo: error:") and phrase in proc.stderr


def test_bundled_files_are_package_data():
    """Every bundled file is matched by pyproject's package-data (so a plain
    ``pip install edgelite`` has it) and is small."""
    config = tomllib.loads((REPO / "pyproject.toml").read_text())
    globs = config["tool"]["setuptools"]["package-data"]["edgelite"]
    package = REPO / "edgelite"
    for path in (bundled.CLASSIFIER, bundled.IMAGENET_LABELS, bundled.FACE_DETECTOR,
                 bundled.CAT_PHOTO):
        assert path.is_file(), path
        relative = Path(path).relative_to(package).as_posix()
        assert any(fnmatch(relative, g) for g in globs), (relative, globs)
        assert path.stat().st_size < 6_000_000
        assert path.stat().st_mode & 0o044 == 0o044, f"{path} is not world-readable"
    labels = bundled.IMAGENET_LABELS.read_text().splitlines()
    assert len(labels) == 1000 and labels[285] == "Egyptian cat" and labels[967] == "espresso"
