"""The frozen CLIP that conditions the prior and decoder while they train.

Text (and image) embeddings come from precomputed `unclip embed` shards when the batch has them, else
from the frozen CLIP on the fly. Dropping a caption replaces its whole encoding (token features, text
embedding and mask) with the empty caption's, exactly what sampling feeds as the unconditional input.
"""

from __future__ import annotations

import torch

from unclip.models.clip import ClipModel, TextEncoding
from unclip.models.tokenizer import ClipTokenizer, tokenize


class FrozenClip:
    def __init__(self, clip: ClipModel, tokenizer: ClipTokenizer, device: torch.device) -> None:
        self.clip = clip.to(device).eval().requires_grad_(False)
        self.tokenizer = tokenizer
        self.device = device
        tokens = tokenize(tokenizer, [""], clip.config.text_max_tokens)
        with torch.no_grad():
            self.empty = clip.encode_text(tokens.ids.to(device), tokens.mask.to(device))

    @property
    def max_tokens(self) -> int:
        return self.clip.config.text_max_tokens

    @torch.no_grad()
    def text(self, batch: dict[str, torch.Tensor]) -> TextEncoding:
        if "text_hidden" in batch:
            return TextEncoding(
                batch["text_embeds"].float(), batch["text_hidden"].float(), batch["text_mask"].bool()
            )
        return self.clip.encode_text(batch["ids"], batch["mask"])

    @torch.no_grad()
    def image_embeds(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        if "image_embeds" in batch:
            return batch["image_embeds"].float()
        return self.clip.encode_image(self.clip.preprocess(batch["clip_pixels"])).float()

    def drop_captions(self, text: TextEncoding, drop: torch.Tensor) -> TextEncoding:
        """Rows where `drop` is True get the empty caption's encoding."""
        b = text.embeds.shape[0]
        empty = self.empty.expand_to(b)
        d = drop.to(text.embeds.device)
        return TextEncoding(
            torch.where(d[:, None], empty.embeds.to(text.embeds.dtype), text.embeds),
            torch.where(d[:, None, None], empty.hidden.to(text.hidden.dtype), text.hidden),
            torch.where(d[:, None], empty.mask, text.mask),
        )
