"""Nudity check: clean "unavailable" without nudenet; with it, benign photos are not flagged."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from unclip.safety import Policy
from unclip.safety.nudity import EXPLICIT, LABELS, NudityDetector


def _have_nudenet() -> bool:
    try:
        import nudenet  # noqa: F401
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


HAVE_NUDENET = _have_nudenet()


def test_unavailable_without_the_package(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "nudenet", None)  # as if nudenet were not installed
    ok, why = NudityDetector().available()
    assert not ok
    assert "nudity check unavailable (nudenet not installed)" in why and "pip install" in why


def test_policy_without_the_model_allows_and_says_so(tmp_path: Path, photos, caplog) -> None:
    path = tmp_path / "policy.toml"
    path.write_text('[images]\nnudity_model = "missing/320n.onnx"\n')
    policy = Policy.from_file(path)
    assert "not found" in policy.status()["nudity"]
    decision = policy.check_image(photos["coffee"], kind="output")
    assert decision.allowed
    assert len(decision.unavailable) == 1 and decision.unavailable[0].startswith("nudity: ")
    assert "sexual" not in decision.scores
    assert any("image check skipped" in r.getMessage() for r in caplog.records) or decision.unavailable


def test_policy_can_fail_closed_when_the_check_is_missing(tmp_path: Path, photos) -> None:
    path = tmp_path / "strict.toml"
    path.write_text('[images]\nwhen_unavailable = "refuse"\nnudity_model = "missing/320n.onnx"\n')
    decision = Policy.from_file(path).check_image(photos["coffee"], kind="output")
    assert not decision.allowed and decision.category == "sexual" and decision.action == "refuse"
    assert "when_unavailable = refuse" in decision.reason


def test_labels_cover_the_explicit_classes() -> None:
    assert len(LABELS) == 18 and set(EXPLICIT) <= set(LABELS)


@pytest.mark.skipif(not HAVE_NUDENET, reason="optional nudenet extra not installed")
def test_benign_photos_are_not_flagged(policy: Policy, photos, request) -> None:
    from unclip.safety.imaging import to_rgb_array
    from unclip.safety.nudity import shared_nudity_detector

    detector = shared_nudity_detector()
    assert detector.available()[0]
    images = dict(photos)
    try:
        images["grace_hopper"] = request.getfixturevalue("grace_hopper")
    except pytest.skip.Exception:
        pass  # matplotlib not installed: the skimage photos still run
    for name, image in images.items():
        scores = detector.class_scores(to_rgb_array(image))
        assert max(scores[c] for c in EXPLICIT) < 0.45, (name, scores)
        decision = policy.check_image(image, kind="output")
        assert decision.allowed and decision.scores["sexual"] < 0.45, (name, decision)
    # The model really runs: it sees the faces NudeNet also labels.
    assert detector.class_scores(to_rgb_array(photos["astronaut"]))["FACE_FEMALE"] > 0.5


@pytest.mark.skipif(not HAVE_NUDENET, reason="optional nudenet extra not installed")
def test_matches_nudenet_own_pipeline(photos) -> None:
    import numpy as np
    from nudenet import NudeDetector

    reference = NudeDetector().detect(np.ascontiguousarray(np.asarray(photos["astronaut"])[:, :, ::-1]))
    face = next(d for d in reference if d["class"] == "FACE_FEMALE")
    ours = NudityDetector().class_scores(np.asarray(photos["astronaut"]))
    assert ours["FACE_FEMALE"] == pytest.approx(face["score"], abs=1e-4)
