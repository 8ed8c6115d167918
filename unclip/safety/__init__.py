"""unclip's content policy: one :class:`Policy` for the CLI, the Python pipeline and the server.

    from unclip.safety import Policy, Decision, ContentPolicyViolation
    policy = Policy.default()
    decision = policy.check_prompt("a corgi wearing a tiny hat")   # Decision(allowed=True, ...)
    policy.enforce_image(pil_image, kind="output")                 # raises ContentPolicyViolation if refused

See docs/SAFETY.md for the policy file format, the checks and their measured accuracy.
"""

from unclip.safety.categories import ACTIONS, ALL_CATEGORIES, IMAGE_KINDS, TEXT_CATEGORIES
from unclip.safety.decision import Decision
from unclip.safety.errors import ContentPolicyViolation, PolicyFileError
from unclip.safety.policy import Policy

__all__ = [
    "ACTIONS",
    "ALL_CATEGORIES",
    "IMAGE_KINDS",
    "TEXT_CATEGORIES",
    "ContentPolicyViolation",
    "Decision",
    "Policy",
    "PolicyFileError",
]
