"""Errors raised by the content policy (all are :class:`unclip.errors.UnclipError`)."""

from __future__ import annotations

from unclip.errors import UnclipError
from unclip.safety.decision import Decision

_WHAT = {
    "prompt": "Your prompt may contain text that is not allowed by our safety system.",
    "upload": "Your image may contain content that is not allowed by our safety system.",
    "output": "The generated image may contain content that is not allowed by our safety system.",
}


class ContentPolicyViolation(UnclipError):
    """A prompt, upload or output was refused by the content policy; carries the :class:`Decision`.

    The server maps it to HTTP 400 with ``code = "content_policy_violation"``, as DALL-E 2 did.
    """

    code = "content_policy_violation"

    def __init__(self, decision: Decision) -> None:
        self.decision = decision
        what = _WHAT.get(decision.kind, _WHAT["prompt"])
        super().__init__(
            f"Your request was rejected as a result of our safety system. {what} "
            f"(category: {decision.category})"
        )

    @property
    def category(self) -> str | None:
        return self.decision.category

    @property
    def score(self) -> float:
        return self.decision.score


class PolicyFileError(UnclipError):
    """A policy file is unreadable or invalid; the message names the file and the offending key."""

    def __init__(self, path: str, key: str, problem: str) -> None:
        self.path = path
        self.key = key
        where = f"{path}: {key}" if key else path
        super().__init__(f"{where}: {problem}")
