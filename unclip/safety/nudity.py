"""Nudity detection with NudeNet's ONNX detector (optional: the ``nudenet`` package, AGPL-3.0 LICENSE file).

Only the model file ``320n.onnx`` is used (from the installed ``nudenet`` package, or a path set in the
policy as ``images.nudity_model``); it runs on onnxruntime with the same preprocessing as NudeNet 3.4
(BGR, padded to a square at the bottom/right, resized to 320, scaled to [0, 1]). The score is the highest
class confidence among the exposed-body-part classes. Without the package the check reports itself
unavailable and the policy decides what to do (``images.when_unavailable``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from unclip.safety.lazy import Lazy

INPUT_SIZE = 320
# Output classes of NudeNet 3.4's 320n.onnx, in order.
LABELS: tuple[str, ...] = (
    "FEMALE_GENITALIA_COVERED",
    "FACE_FEMALE",
    "BUTTOCKS_EXPOSED",
    "FEMALE_BREAST_EXPOSED",
    "FEMALE_GENITALIA_EXPOSED",
    "MALE_BREAST_EXPOSED",
    "ANUS_EXPOSED",
    "FEET_EXPOSED",
    "BELLY_COVERED",
    "FEET_COVERED",
    "ARMPITS_COVERED",
    "ARMPITS_EXPOSED",
    "FACE_MALE",
    "BELLY_EXPOSED",
    "MALE_GENITALIA_EXPOSED",
    "ANUS_COVERED",
    "FEMALE_BREAST_COVERED",
    "BUTTOCKS_COVERED",
)
EXPLICIT: tuple[str, ...] = (
    "FEMALE_BREAST_EXPOSED",
    "FEMALE_GENITALIA_EXPOSED",
    "MALE_GENITALIA_EXPOSED",
    "BUTTOCKS_EXPOSED",
    "ANUS_EXPOSED",
)
INSTALL_HINT = (
    "install the optional extra: pip install 'nudenet==3.4.2' (AGPL-3.0 licence file; see docs/SAFETY.md)"
)


@dataclass(frozen=True)
class NudityResult:
    score: float
    label: str  # the explicit class with the highest confidence


@dataclass(frozen=True)
class _Model:
    session: Any
    input_name: str
    cv2: Any
    path: str


def _model_path(configured: str) -> Path:
    if configured:
        path = Path(configured)
        if not path.is_file():
            raise RuntimeError(f"nudity check unavailable (model file {path} not found)")
        return path
    try:
        import nudenet
    except ImportError as exc:
        raise RuntimeError(f"nudity check unavailable (nudenet not installed); {INSTALL_HINT}") from exc
    path = Path(nudenet.__file__).parent / "320n.onnx"
    if not path.is_file():
        raise RuntimeError(
            f"nudity check unavailable ({path} missing from the nudenet package); {INSTALL_HINT}"
        )
    return path


def _load(configured: str) -> _Model:
    path = _model_path(configured)
    try:
        import cv2
        import onnxruntime as ort
    except ImportError as exc:
        raise RuntimeError(f"nudity check unavailable ({exc.name} not installed); {INSTALL_HINT}") from exc
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1  # one request per thread: fastest under concurrent load
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    try:
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own exception types for bad files
        raise RuntimeError(f"nudity check unavailable (cannot load {path}: {exc})") from exc
    shape = session.get_outputs()[0].shape
    if len(shape) != 3 or shape[1] != 4 + len(LABELS):
        raise RuntimeError(
            f"nudity check unavailable ({path} is not a NudeNet 320n detector: output {shape})"
        )
    return _Model(session, session.get_inputs()[0].name, cv2, str(path))


def preprocess(rgb: np.ndarray, cv2: Any) -> np.ndarray:
    """NudeNet 3.4's input: BGR, zero-padded to a square at bottom/right, 320x320, [0, 1], NCHW float32."""
    h, w = rgb.shape[:2]
    side = max(h, w)
    square = np.zeros((side, side, 3), dtype=np.uint8)
    square[:h, :w] = rgb[:, :, ::-1]
    small = cv2.resize(square, (INPUT_SIZE, INPUT_SIZE), interpolation=cv2.INTER_LINEAR)
    return np.ascontiguousarray(small.transpose(2, 0, 1)[None], dtype=np.float32) / np.float32(255.0)


class NudityDetector:
    """``detect(rgb)`` -> :class:`NudityResult`; the ONNX session is created on first use (thread-safe)."""

    def __init__(self, model_path: str = "") -> None:
        self.model_path = model_path
        self._model: Lazy[_Model] = Lazy(lambda: _load(model_path))

    def available(self) -> tuple[bool, str]:
        try:
            model = self._model.get()
        except RuntimeError as exc:
            return False, str(exc)
        return True, f"NudeNet {Path(model.path).name}"

    def class_scores(self, rgb: np.ndarray) -> dict[str, float]:
        """Highest confidence of every NudeNet class anywhere in the image."""
        model = self._model.get()
        output = model.session.run(None, {model.input_name: preprocess(rgb, model.cv2)})[0]
        best = output[0, 4:, :].max(axis=1)
        return {label: float(score) for label, score in zip(LABELS, best)}

    def detect(self, rgb: np.ndarray) -> NudityResult:
        scores = self.class_scores(rgb)
        label = max(EXPLICIT, key=scores.__getitem__)
        return NudityResult(scores[label], label)


_shared: dict[str, NudityDetector] = {}


def shared_nudity_detector(model_path: str = "") -> NudityDetector:
    """One detector per model path for the whole process."""
    detector = _shared.get(model_path)
    if detector is None:
        detector = _shared.setdefault(model_path, NudityDetector(model_path))
    return detector
