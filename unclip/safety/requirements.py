"""Which checks a policy enables, and whether each is installed: cheap enough for start-up.

Only ``importlib.util.find_spec`` (and a file test for a configured nudity model) is used: nothing is
imported or loaded, so a server can refuse to start without a check it needs, in milliseconds, and still
load the models on first use.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path

from unclip.safety.categories import ALLOW, FACES, SEXUAL
from unclip.safety.classifier import INSTALL_HINT as CLASSIFIER_HINT
from unclip.safety.config import PolicyConfig
from unclip.safety.nudity import INSTALL_HINT as NUDITY_HINT

CHECKS: tuple[str, ...] = ("classifier", "nudity", "faces")
FACES_HINT = "install opencv: pip install 'opencv-python-headless>=4.8,<5' (OpenCV 5 has no Haar cascades)"


@dataclass(frozen=True)
class CheckNeed:
    """One optional check: does the policy use it, and is what it needs installed?"""

    name: str
    enabled: bool
    installed: bool
    missing: str = ""  # what is not installed and how to install it ("" when installed)

    @property
    def unmet(self) -> bool:
        return self.enabled and not self.installed


def _installed(module: str) -> bool:
    try:
        return find_spec(module) is not None
    except (ImportError, ValueError):  # a broken parent package, or a module with no spec
        return False


def _first_missing(*modules: str) -> str | None:
    return next((m for m in modules if not _installed(m)), None)


def _classifier(config: PolicyConfig) -> CheckNeed:
    rule = config.categories[config.prompt.classifier_category]
    enabled = config.prompt.classifier and rule.action != ALLOW
    gone = _first_missing("profanity_check", "sklearn", "joblib")
    return CheckNeed(
        "classifier", enabled, gone is None, f"{gone} not installed; {CLASSIFIER_HINT}" if gone else ""
    )


def _nudity(config: PolicyConfig) -> CheckNeed:
    rule = config.categories[SEXUAL]
    enabled = rule.action != ALLOW and bool(rule.images)
    model = config.images.nudity_model
    if model and not Path(model).is_file():
        return CheckNeed(
            "nudity", enabled, False, f"model file {model} not found (policy images.nudity_model)"
        )
    gone = _first_missing("onnxruntime", "cv2") if model else _first_missing("nudenet", "onnxruntime", "cv2")
    return CheckNeed("nudity", enabled, gone is None, f"{gone} not installed; {NUDITY_HINT}" if gone else "")


def _faces(config: PolicyConfig) -> CheckNeed:
    rule = config.categories[FACES]
    enabled = rule.action != ALLOW and bool(rule.images)
    gone = _first_missing("cv2")
    return CheckNeed("faces", enabled, gone is None, f"{gone} not installed; {FACES_HINT}" if gone else "")


def check_needs(config: PolicyConfig) -> dict[str, CheckNeed]:
    """Every optional check of ``config``, by name (``classifier``, ``nudity``, ``faces``)."""
    return {need.name: need for need in (_classifier(config), _nudity(config), _faces(config))}
