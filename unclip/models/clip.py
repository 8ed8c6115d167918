"""CLIP text and image encoders (unclip's own towers, `clip_text.py` and `clip_vision.py`) behind a small
unclip-facing API. Their parameter names are those of CLIP checkpoints, under `model.` (`model.text_model.*`,
`model.vision_model.*`, the two projections, `model.logit_scale`), and they compute exactly what
transformers' `CLIPModel` computes (tests compare): transformers is needed only to convert or compare,
never to generate (its import alone took 2.5 s of a 6 s `unclip generate`).

The prior and decoder consume a :class:`TextEncoding`: the projected caption embedding, the final
token features of the text transformer and their padding mask. Images enter as float tensors in
[-1, 1] (what the decoder produces) or PIL images, and are resized, centre-cropped and normalised here
(no torchvision).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

from unclip.errors import InputError
from unclip.models.clip_text import ClipTextTransformer
from unclip.models.clip_vision import ClipVisionTransformer
from unclip.utils.config import Config
from unclip.utils.images import pil_to_tensor

if TYPE_CHECKING:
    from transformers import CLIPConfig

LOGIT_SCALE_INIT = 2.6592  # log(1 / 0.07), CLIP's initial temperature
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


@dataclass
class ClipConfig(Config):
    """Sizes of the CLIP text and vision towers; any size from tiny to ViT-L/14."""

    embed_dim: int = 512
    vocab_size: int = 49408
    bos_token_id: int = 49406
    eos_token_id: int = 49407
    pad_token_id: int = 49407
    text_width: int = 512
    text_layers: int = 12
    text_heads: int = 8
    text_intermediate: int | None = None
    text_max_tokens: int = 77
    vision_width: int = 768
    vision_layers: int = 12
    vision_heads: int = 12
    vision_intermediate: int | None = None
    image_size: int = 224
    patch_size: int = 32
    hidden_act: str = "quick_gelu"
    layer_norm_eps: float = 1e-5
    image_mean: tuple[float, float, float] = CLIP_MEAN
    image_std: tuple[float, float, float] = CLIP_STD
    # False: text tower only (e.g. converted from Karlo's text-to-image repo, which ships no image
    # encoder). Generation works; anything that embeds an image (variations) raises InputError.
    image_tower: bool = True

    def to_hf(self) -> CLIPConfig:
        """The same sizes as transformers' config (to compare with its classes, or to export to them)."""
        from transformers import CLIPConfig, CLIPTextConfig, CLIPVisionConfig  # slow import: only when needed

        text = CLIPTextConfig(
            vocab_size=self.vocab_size,
            hidden_size=self.text_width,
            intermediate_size=self.text_intermediate or 4 * self.text_width,
            num_hidden_layers=self.text_layers,
            num_attention_heads=self.text_heads,
            max_position_embeddings=self.text_max_tokens,
            projection_dim=self.embed_dim,
            hidden_act=self.hidden_act,
            layer_norm_eps=self.layer_norm_eps,
            bos_token_id=self.bos_token_id,
            eos_token_id=self.eos_token_id,
            pad_token_id=self.pad_token_id,
        )
        vision = CLIPVisionConfig(
            hidden_size=self.vision_width,
            intermediate_size=self.vision_intermediate or 4 * self.vision_width,
            num_hidden_layers=self.vision_layers,
            num_attention_heads=self.vision_heads,
            image_size=self.image_size,
            patch_size=self.patch_size,
            projection_dim=self.embed_dim,
            hidden_act=self.hidden_act,
            layer_norm_eps=self.layer_norm_eps,
        )
        return CLIPConfig(
            text_config=text.to_dict(), vision_config=vision.to_dict(), projection_dim=self.embed_dim
        )


@dataclass
class TextEncoding:
    """What the prior and decoder see of a caption."""

    embeds: torch.Tensor  # [B, D] projected text embedding (not normalised)
    hidden: torch.Tensor  # [B, L, W] final token features
    mask: torch.Tensor  # [B, L] bool, True where a real token is

    def repeat_interleave(self, n: int) -> TextEncoding:
        if n == 1:
            return self
        return TextEncoding(*(t.repeat_interleave(n, dim=0) for t in (self.embeds, self.hidden, self.mask)))

    def expand_to(self, batch: int) -> TextEncoding:
        """Broadcast a batch-1 encoding (e.g. the empty caption) to `batch` rows."""
        return TextEncoding(*(t.expand(batch, *t.shape[1:]) for t in (self.embeds, self.hidden, self.mask)))

    @staticmethod
    def cat(encodings: list[TextEncoding]) -> TextEncoding:
        return TextEncoding(
            torch.cat([e.embeds for e in encodings]),
            torch.cat([e.hidden for e in encodings]),
            torch.cat([e.mask for e in encodings]),
        )

    def to(self, device: torch.device | str, dtype: torch.dtype | None = None) -> TextEncoding:
        return TextEncoding(
            self.embeds.to(device, dtype), self.hidden.to(device, dtype), self.mask.to(device)
        )


class ClipTowers(nn.Module):
    """The networks, named as in CLIP checkpoints: `text_model`, `text_projection` and, with an image
    tower, `vision_model`, `visual_projection` and the contrastive loss's `logit_scale`."""

    def __init__(self, config: ClipConfig) -> None:
        super().__init__()
        c = config
        self.text_model = ClipTextTransformer(
            c.vocab_size,
            c.text_width,
            c.text_layers,
            c.text_heads,
            c.text_intermediate or 4 * c.text_width,
            c.text_max_tokens,
            c.eos_token_id,
            c.hidden_act,
            c.layer_norm_eps,
        )
        self.text_projection = nn.Linear(c.text_width, c.embed_dim, bias=False)
        if c.image_tower:
            self.vision_model = ClipVisionTransformer(
                c.vision_width,
                c.vision_layers,
                c.vision_heads,
                c.vision_intermediate or 4 * c.vision_width,
                c.image_size,
                c.patch_size,
                c.hidden_act,
                c.layer_norm_eps,
            )
            self.visual_projection = nn.Linear(c.vision_width, c.embed_dim, bias=False)
            self.logit_scale = nn.Parameter(torch.tensor(LOGIT_SCALE_INIT))
        self.init_weights()

    def init_weights(self) -> None:
        """CLIP's initialisation, for a model trained from scratch (loading replaces it)."""
        if self.text_projection.weight.is_meta:
            return
        self.text_model.init_weights()
        nn.init.normal_(self.text_projection.weight, std=self.text_projection.in_features**-0.5)
        if hasattr(self, "vision_model"):
            self.vision_model.init_weights()
            nn.init.normal_(self.visual_projection.weight, std=self.visual_projection.in_features**-0.5)


class ClipModel(nn.Module):
    """CLIP with projections: `encode_text` for the prior and decoder, `encode_image` for variations."""

    def __init__(self, config: ClipConfig):
        super().__init__()
        self.config = config
        self.model = ClipTowers(config)
        self.mean: torch.Tensor
        self.std: torch.Tensor
        self.register_buffer("mean", torch.tensor(config.image_mean).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(config.image_std).view(1, 3, 1, 1), persistent=False)

    def materialize_buffers(self) -> None:
        """Compute the buffers that are not saved (the image normalisation), for a network built on the
        meta device (the model loader builds it so and assigns the saved weights)."""
        device = self.model.text_projection.weight.device
        self.mean = torch.tensor(self.config.image_mean, device=device).view(1, 3, 1, 1)
        self.std = torch.tensor(self.config.image_std, device=device).view(1, 3, 1, 1)

    def encode_text(self, ids: torch.Tensor, mask: torch.Tensor) -> TextEncoding:
        # CLIP's text transformer is causal, so real tokens never see the padding: no mask is needed
        # for them, and the EOS token's features (the pooled output) are unaffected.
        hidden, pooled = self.model.text_model(ids)
        embeds = self.model.text_projection(pooled)
        return TextEncoding(embeds=embeds, hidden=hidden, mask=mask.bool())

    def encode_image(self, pixels: torch.Tensor) -> torch.Tensor:
        """`pixels`: [B, 3, S, S] already normalised by :meth:`preprocess`; returns [B, D] embeddings."""
        if not self.config.image_tower:
            raise InputError(
                "this model's CLIP has no image encoder, so it cannot embed images (variations, image "
                "inputs); convert it with an image encoder (see docs/KARLO.md)"
            )
        return self.model.visual_projection(self.model.vision_model(pixels))

    def preprocess(self, images: torch.Tensor) -> torch.Tensor:
        """Images in [-1, 1], any square-or-not size -> CLIP input (resize short side, centre crop, normalise)."""
        size = self.config.image_size
        x = (images.float() + 1) / 2
        h, w = x.shape[-2:]
        scale = size / min(h, w)
        nh, nw = max(size, round(h * scale)), max(size, round(w * scale))
        if (nh, nw) != (h, w):
            x = F.interpolate(x, size=(nh, nw), mode="bicubic", align_corners=False, antialias=True)
        top, left = (nh - size) // 2, (nw - size) // 2
        x = x[..., top : top + size, left : left + size].clamp(0, 1)
        return ((x - self.mean.float()) / self.std.float()).to(
            images.dtype if images.is_floating_point() else x.dtype
        )

    def embed_pil(self, images: list[Image.Image]) -> torch.Tensor:
        """CLIP image embeddings of PIL images."""
        device = self.mean.device
        dtype = next(self.parameters()).dtype
        batch = torch.stack([pil_to_tensor(im) for im in images]).to(device)
        return self.encode_image(self.preprocess(batch).to(dtype))
