"""The one place where editing requests and results are screened by the content policy.

Every editing entry point (`edit`, `outpaint`, `vary`, `interpolate`, `text_diff`) calls
`screen_inputs` before any model runs and `screen_outputs` on its results. Both are no-ops until
`unclip.safety` lands; wiring it in is meant to be this file only, e.g.::

    from unclip.safety import Policy
    policy = Policy.default()
    for p in prompts: policy.check_prompt(p)      # raising a refusal (an UnclipError subclass)
    for im in images: policy.check_image(im)
"""

from __future__ import annotations

from collections.abc import Sequence

from PIL import Image


def screen_inputs(prompts: Sequence[str], images: Sequence[Image.Image]) -> None:
    """Refuse a request whose prompts (captions too) or uploaded images break the policy."""
    return


def screen_outputs(images: list[Image.Image]) -> list[Image.Image]:
    """Check generated images before they are returned; may refuse or replace them."""
    return images
