"""The one place where editing requests and results are screened by the content policy.

Every editing entry point (`edit`, `outpaint`, `vary`, `interpolate`, `text_diff`) calls
`screen_inputs` before any model runs and `screen_outputs` on its results, with the pipeline's
policy (`UnCLIP.policy`; None when the caller applies the policy itself, as the HTTP server does).
A refusal raises `unclip.safety.ContentPolicyViolation`.
"""

from __future__ import annotations

from collections.abc import Sequence

from PIL import Image

from unclip.safety import Policy


def screen_inputs(policy: Policy | None, prompts: Sequence[str], images: Sequence[Image.Image]) -> None:
    """Refuse a request whose prompts (captions too) or uploaded images break the policy."""
    if policy is None:
        return
    for prompt in prompts:
        if prompt:
            policy.enforce_prompt(prompt)
    for image in images:
        policy.enforce_image(image, "upload")


def screen_outputs(policy: Policy | None, images: list[Image.Image]) -> list[Image.Image]:
    """Check generated images before they are returned: a refused image is never returned."""
    if policy is not None:
        for image in images:
            policy.enforce_image(image, "output")
    return images
