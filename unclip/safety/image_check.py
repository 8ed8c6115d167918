"""Run the image detectors a policy asks for on one upload or output."""

from __future__ import annotations

from PIL import Image

from unclip.safety import audit
from unclip.safety.categories import ALLOW, FACES, REFUSE, SEXUAL
from unclip.safety.config import PolicyConfig
from unclip.safety.decision import Decision
from unclip.safety.faces import FaceDetector, shared_face_detector
from unclip.safety.imaging import to_rgb_array
from unclip.safety.nudity import NudityDetector, shared_nudity_detector
from unclip.safety.verdict import decide

CHECK_NAMES = {SEXUAL: "nudity", FACES: "faces"}


class ImageChecker:
    def __init__(
        self, config: PolicyConfig, faces: FaceDetector | None = None, nudity: NudityDetector | None = None
    ) -> None:
        self.config = config
        self.faces = faces or shared_face_detector()
        self.nudity = nudity or shared_nudity_detector(config.images.nudity_model)

    def _wanted(self, kind: str) -> list[str]:
        rules = self.config.categories
        return [c for c in (SEXUAL, FACES) if rules[c].action != ALLOW and kind in rules[c].images]

    def status(self) -> dict[str, str]:
        out = {}
        for name, detector in (("faces", self.faces), ("nudity", self.nudity)):
            ok, why = detector.available()
            out[name] = "ok" if ok else why
        return out

    def check(self, image: Image.Image, kind: str) -> Decision:
        wanted = self._wanted(kind)
        if not wanted:
            return Decision.allow(kind, f"no image checks apply to {kind}s")
        rgb = to_rgb_array(image)
        rules = self.config.categories
        scores: dict[str, float] = {}
        reasons: dict[str, str] = {}
        unavailable: list[str] = []
        for category in wanted:
            detector = self.faces if category == FACES else self.nudity
            ok, why = detector.available()
            if not ok:
                unavailable.append(f"{CHECK_NAMES[category]}: {why}")
                audit.warn_once(f"image:{category}", f"image check skipped: {why}")
                continue
            if category == FACES:
                faces = self.faces.detect(rgb, rules[FACES].min_face_size)
                scores[FACES] = faces.score
                reasons[FACES] = f"faces: {faces.faces} face(s) detected, score {faces.score:.2f}"
            else:
                nudity = self.nudity.detect(rgb)
                scores[SEXUAL] = nudity.score
                reasons[SEXUAL] = f"sexual: NudeNet {nudity.label} {nudity.score:.2f}"
        missing = tuple(unavailable)
        if missing and self.config.images.when_unavailable == REFUSE:
            category = FACES if any(m.startswith("faces") for m in missing) else SEXUAL
            return Decision(
                False,
                category,
                0.0,
                REFUSE,
                f"{missing[0]} (policy images.when_unavailable = refuse)",
                kind,
                scores,
                missing,
            )
        thresholds = {c: rules[c].image_threshold for c in scores}
        return decide(kind, scores, rules, thresholds, reasons, missing)
