"""Face detection with OpenCV's Haar cascade (``cv2.data.haarcascades``, opencv-python-headless < 5).

The image is brought to a 256 px shorter side, histogram-equalised and padded by 15 % (edge-replicated,
so faces cut by the border are still found), then ``haarcascade_frontalface_alt2`` runs with scale step 1.15.
A face's score is ``1 - exp(-n / 8)`` where ``n`` is the number of overlapping raw detections OpenCV merged
into it (its "neighbours"): real faces gather 15-60, texture false alarms 2-3.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from unclip.safety.lazy import Lazy

CASCADE = "haarcascade_frontalface_alt2.xml"
WORK_SHORT_SIDE = 256
PAD_FRACTION = 0.15
SCALE_FACTOR = 1.15
MIN_NEIGHBOURS = 3
NEIGHBOUR_SCALE = 8.0
INSTALL_HINT = "install opencv-python-headless>=4.8,<5 (OpenCV 5 dropped the Haar cascades)"


@dataclass(frozen=True)
class FaceResult:
    score: float
    faces: int
    boxes: tuple[tuple[int, int, int, int], ...]  # x, y, w, h in the array the detector was given


def neighbours_to_score(neighbours: int) -> float:
    return 1.0 - math.exp(-neighbours / NEIGHBOUR_SCALE)


def _load_cv2() -> tuple[Any, str]:
    try:
        import cv2
    except ImportError as exc:
        raise RuntimeError(f"face check unavailable (opencv not installed); {INSTALL_HINT}") from exc
    if not hasattr(cv2, "CascadeClassifier") or not hasattr(cv2, "data"):
        raise RuntimeError(
            f"face check unavailable (OpenCV {cv2.__version__} has no Haar cascades); {INSTALL_HINT}"
        )
    path = Path(cv2.data.haarcascades) / CASCADE  # type: ignore[attr-defined]  # not in OpenCV's stubs
    if not path.is_file() or cv2.CascadeClassifier(str(path)).empty():
        raise RuntimeError(f"face check unavailable ({path} missing or unreadable); {INSTALL_HINT}")
    return cv2, str(path)


class FaceDetector:
    """Thread-safe: each thread gets its own cascade object (OpenCV's is not safe to share)."""

    def __init__(self) -> None:
        self._cv2: Lazy[tuple[Any, str]] = Lazy(_load_cv2)
        self._local = threading.local()

    def available(self) -> tuple[bool, str]:
        try:
            self._cv2.get()
        except RuntimeError as exc:
            return False, str(exc)
        return True, f"OpenCV Haar cascade {CASCADE}"

    def _cascade(self) -> Any:
        cascade = getattr(self._local, "cascade", None)
        if cascade is None:
            cv2, path = self._cv2.get()
            cascade = self._local.cascade = cv2.CascadeClassifier(path)
        return cascade

    def detect(self, rgb: np.ndarray, min_face_size: float = 0.1) -> FaceResult:
        cv2, _ = self._cv2.get()
        gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
        h, w = gray.shape
        scale = WORK_SHORT_SIDE / min(h, w)
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        gray = cv2.resize(gray, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)
        gray = cv2.equalizeHist(gray)
        pad = int(PAD_FRACTION * WORK_SHORT_SIDE)
        gray = cv2.copyMakeBorder(gray, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
        smallest = max(24, int(min_face_size * WORK_SHORT_SIDE))
        boxes, neighbours = self._cascade().detectMultiScale2(
            gray, scaleFactor=SCALE_FACTOR, minNeighbors=MIN_NEIGHBOURS, minSize=(smallest, smallest)
        )
        best = max((int(n) for n in neighbours), default=0)
        found = tuple(
            (int((x - pad) / scale), int((y - pad) / scale), int(bw / scale), int(bh / scale))
            for x, y, bw, bh in boxes
        )
        return FaceResult(neighbours_to_score(best), len(found), found)


_shared = FaceDetector()


def shared_face_detector() -> FaceDetector:
    return _shared
