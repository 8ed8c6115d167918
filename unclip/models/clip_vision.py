"""CLIP's image tower (a ViT): patches + a class token + positions, pre-norm, the transformer, and the
class token's features after a final norm as the pooled output."""

from __future__ import annotations

import torch
from torch import nn

from unclip.models.clip_layers import ClipEncoder, init_layers


class ClipVisionEmbeddings(nn.Module):
    def __init__(self, width: int, image_size: int, patch_size: int) -> None:
        super().__init__()
        self.image_size = image_size
        self.class_embedding = nn.Parameter(torch.empty(width))
        self.patch_embedding = nn.Conv2d(3, width, kernel_size=patch_size, stride=patch_size, bias=False)
        positions = (image_size // patch_size) ** 2 + 1
        self.position_embedding = nn.Embedding(
            positions, width, _weight=torch.empty(positions, width)
        )  # see clip_text

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        if pixels.shape[-2:] != (self.image_size, self.image_size):
            raise ValueError(
                f"image of {tuple(pixels.shape[-2:])} px; this CLIP takes {self.image_size}x{self.image_size}"
            )
        patches = (
            self.patch_embedding(pixels.to(self.patch_embedding.weight.dtype)).flatten(2).transpose(1, 2)
        )
        cls = self.class_embedding.expand(pixels.shape[0], 1, -1)
        return torch.cat([cls, patches], dim=1) + self.position_embedding.weight[None]


class ClipVisionTransformer(nn.Module):
    def __init__(
        self,
        width: int,
        layers: int,
        heads: int,
        hidden: int,
        image_size: int,
        patch_size: int,
        act: str = "quick_gelu",
        eps: float = 1e-5,
    ) -> None:
        super().__init__()
        self.embeddings = ClipVisionEmbeddings(width, image_size, patch_size)
        self.pre_layrnorm = nn.LayerNorm(width, eps=eps)  # (sic: the checkpoints' name)
        self.encoder = ClipEncoder(layers, width, heads, hidden, act, eps, causal=False)
        self.post_layernorm = nn.LayerNorm(width, eps=eps)

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        """pixels [B, 3, S, S], normalised -> pooled [B, W] (the class token)."""
        hidden = self.encoder(self.pre_layrnorm(self.embeddings(pixels)))
        return self.post_layernorm(hidden[:, 0, :])

    def init_weights(self) -> None:
        width = self.embeddings.class_embedding.shape[0]
        nn.init.normal_(self.embeddings.class_embedding, std=width**-0.5)
        nn.init.normal_(self.embeddings.patch_embedding.weight, std=0.02)
        nn.init.normal_(self.embeddings.position_embedding.weight, std=0.02)
        init_layers(self.encoder, width)
