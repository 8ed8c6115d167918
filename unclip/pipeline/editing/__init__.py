"""Editing with an unCLIP cascade: inpainting (trained or zero-shot), outpainting, variations,
interpolations and text diffs. `UnCLIP.edit / outpaint / vary / interpolate / text_diff` delegate here.

Modules: `inputs` (loading and fitting images), `masks` (mask conventions, keep masks per stage),
`inpaint`, `outpaint`, `variations`, `interpolate`, `text_diff`, `latents` (slerp, DDIM inversion),
`blend` (seam softening, exact compositing), `safety` (the content-policy hook).
"""

from unclip.pipeline.editing.inputs import MAX_INPUT_PIXELS, load_image, plan_fit
from unclip.pipeline.editing.masks import MASK_MODES, edit_region

__all__ = ["MASK_MODES", "MAX_INPUT_PIXELS", "edit_region", "load_image", "plan_fit"]
