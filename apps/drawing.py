"""Annotations drawn on BGR frames with OpenCV (boxes, keypoints, text with a backing)."""

from __future__ import annotations

import numpy as np

GREEN, YELLOW, WHITE, BLACK, CYAN = (0, 200, 0), (0, 220, 255), (255, 255, 255), (0, 0, 0), \
    (255, 200, 0)


def _scale(bgr: np.ndarray) -> float:
    return max(0.4, min(bgr.shape[:2]) / 720)


def text(cv2, bgr: np.ndarray, line: str, x: int, y: int, colour=WHITE) -> int:
    """One line of text on a dark backing with its top-left at (x, y); returns the y
    of the next line."""
    s = _scale(bgr)
    (w, h), base = cv2.getTextSize(line, cv2.FONT_HERSHEY_SIMPLEX, 0.6 * s, 1)
    cv2.rectangle(bgr, (x, y), (x + w + 6, y + h + base + 6), BLACK, -1)
    cv2.putText(bgr, line, (x + 3, y + h + 3), cv2.FONT_HERSHEY_SIMPLEX, 0.6 * s, colour, 1,
                cv2.LINE_AA)
    return y + h + base + 8


def box(cv2, bgr: np.ndarray, xyxy, caption: str, colour=GREEN) -> None:
    x0, y0, x1, y1 = (round(v) for v in xyxy)
    cv2.rectangle(bgr, (x0, y0), (x1, y1), colour, max(1, int(2 * _scale(bgr))))
    text(cv2, bgr, caption, x0, max(0, y0 - int(24 * _scale(bgr))), colour)


def points(cv2, bgr: np.ndarray, xys, colour=YELLOW) -> None:
    for x, y in xys:
        cv2.circle(bgr, (round(x), round(y)), max(2, int(3 * _scale(bgr))), colour,
                   -1)


def rectangle(cv2, bgr: np.ndarray, xyxy, colour=CYAN) -> None:
    x0, y0, x1, y1 = (round(v) for v in xyxy)
    cv2.rectangle(bgr, (x0, y0), (x1, y1), colour, max(1, int(2 * _scale(bgr))))


def crosshair(cv2, bgr: np.ndarray, x: float, y: float, colour=CYAN) -> None:
    size = int(12 * _scale(bgr))
    cx, cy = round(x), round(y)
    cv2.line(bgr, (cx - size, cy), (cx + size, cy), colour, 1)
    cv2.line(bgr, (cx, cy - size), (cx, cy + size), colour, 1)
