"""The one entry point: :class:`Policy` checks prompts, uploads and outputs.

from unclip.safety import Policy, ContentPolicyViolation
policy = Policy.default()                      # or Policy.from_file("policy.toml"), Policy.disabled()
policy.enforce_prompt(prompt)                  # raises ContentPolicyViolation when refused
policy.enforce_image(upload, kind="upload")    # edits and variations
policy.enforce_image(result, kind="output")    # every generated image before it is returned
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PIL import Image

from unclip.errors import InputError
from unclip.safety import audit
from unclip.safety.categories import IMAGE_KINDS, PROMPT, TEXT_CATEGORIES
from unclip.safety.classifier import shared_classifier
from unclip.safety.config import PolicyConfig, load_default, load_file, load_mapping
from unclip.safety.decision import Decision
from unclip.safety.errors import ContentPolicyViolation
from unclip.safety.image_check import ImageChecker
from unclip.safety.prompt_check import PromptChecker
from unclip.safety.requirements import CheckNeed, check_needs
from unclip.safety.verdict import decide

DISABLED_WARNING = (
    "CONTENT POLICY DISABLED (--no-safety): prompts, uploads and outputs are NOT checked. "
    "Use only for research on your own machine; never expose this to other people."
)


class Policy:
    """A content policy: what to check and what to do, per category (see docs/SAFETY.md)."""

    def __init__(self, config: PolicyConfig, *, enabled: bool = True) -> None:
        self.config = config
        self.enabled = enabled
        self._prompts = PromptChecker(config, shared_classifier())
        self._images = ImageChecker(config)

    # -- construction -------------------------------------------------------------------------------------
    @classmethod
    def default(cls) -> Policy:
        """The shipped policy (unclip/safety/data/default_policy.toml)."""
        return cls(load_default())

    @classmethod
    def from_file(cls, path: str | Path) -> Policy:
        """A TOML or JSON policy file laid over the default; bad keys raise PolicyFileError."""
        return cls(load_file(path))

    @classmethod
    def from_mapping(cls, data: dict[str, Any], source: str = "<mapping>") -> Policy:
        return cls(load_mapping(data, source))

    @classmethod
    def disabled(cls) -> Policy:
        """Allows everything (``--no-safety``); logs a loud warning once per process."""
        audit.warn_once("disabled", DISABLED_WARNING)
        return cls(load_default(), enabled=False)

    # -- checks ------------------------------------------------------------------------------------------
    def check_prompt(self, text: str) -> Decision:
        if not isinstance(text, str):
            raise InputError(f"prompt must be a string, got {type(text).__name__}")
        if not self.enabled:
            return Decision.allow(PROMPT, "safety checks disabled")
        result = self._prompts.score(text)
        rules = self.config.categories
        thresholds = {c: rules[c].threshold for c in TEXT_CATEGORIES}
        reasons = {c: self._prompts.reason(result, c) for c in result.matched}
        for why in result.unavailable:
            audit.warn_once(why.split(":", 1)[0], f"prompt check degraded: {why}")
        decision = decide(PROMPT, result.scores, rules, thresholds, reasons, result.unavailable)
        audit.log_decision(decision, prompt=text)
        return decision

    def check_image(self, image: Image.Image, kind: str = "upload") -> Decision:
        if kind not in IMAGE_KINDS:
            raise InputError(f"image kind must be one of {list(IMAGE_KINDS)}, got {kind!r}")
        if not isinstance(image, Image.Image):
            raise InputError(f"expected a PIL image, got {type(image).__name__}")
        if not self.enabled:
            return Decision.allow(kind, "safety checks disabled")
        decision = self._images.check(image, kind)
        audit.log_decision(decision)
        return decision

    def enforce_prompt(self, text: str) -> Decision:
        """:meth:`check_prompt`, raising :class:`ContentPolicyViolation` when the prompt is refused."""
        decision = self.check_prompt(text)
        if not decision.allowed:
            raise ContentPolicyViolation(decision)
        return decision

    def enforce_image(self, image: Image.Image, kind: str = "upload") -> Decision:
        """:meth:`check_image`, raising :class:`ContentPolicyViolation` when the image is refused."""
        decision = self.check_image(image, kind)
        if not decision.allowed:
            raise ContentPolicyViolation(decision)
        return decision

    # -- introspection -----------------------------------------------------------------------------------
    def preload(self) -> dict[str, str]:
        """Load the term lists and every model now (servers: at start-up, not on the first request).

        Returns :meth:`status`. Safe to call from several threads; each model loads once per process.
        """
        self._prompts.lexicon  # noqa: B018 - builds the matchers
        return self.status()

    def requirements(self) -> dict[str, CheckNeed]:
        """The optional checks (classifier, nudity, faces): enabled by this policy? installed?

        Cheap (no imports, no model loading): what a server checks at start-up to fail closed.
        """
        needs = check_needs(self.config)
        if not self.enabled:
            needs = {k: CheckNeed(v.name, False, v.installed, v.missing) for k, v in needs.items()}
        return needs

    def status(self) -> dict[str, str]:
        """Which checks can run here: ``{"classifier": "ok" | why, "faces": ..., "nudity": ...}``.

        Loads the models (once per process), so call it at start-up rather than per request.
        """
        ok, why = shared_classifier().available()
        out = {"enabled": "yes" if self.enabled else "NO (disabled)", "classifier": "ok" if ok else why}
        out.update(self._images.status())
        return out

    def __repr__(self) -> str:
        state = "" if self.enabled else ", disabled"
        return f"Policy({self.config.name!r} from {self.config.source}{state})"
