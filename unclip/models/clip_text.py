"""CLIP's text tower: token + position embeddings, a causal transformer, a final layer norm.

The pooled output is the features of each caption's first end-of-text token (the causal attention lets
it see the whole caption and none of the padding after it).
"""

from __future__ import annotations

import torch
from torch import nn

from unclip.models.clip_layers import ClipEncoder, init_layers


class ClipTextEmbeddings(nn.Module):
    def __init__(self, vocab_size: int, width: int, max_tokens: int) -> None:
        super().__init__()
        # created empty (`init_weights` fills them): nn.Embedding's own init on the meta device, where
        # the model loader builds networks, imports torch's reference ops (1.8 s)
        self.token_embedding = nn.Embedding(vocab_size, width, _weight=torch.empty(vocab_size, width))
        self.position_embedding = nn.Embedding(max_tokens, width, _weight=torch.empty(max_tokens, width))

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        if ids.shape[-1] > self.position_embedding.num_embeddings:
            raise ValueError(
                f"{ids.shape[-1]} tokens, but this CLIP has {self.position_embedding.num_embeddings} positions"
            )
        positions = torch.arange(ids.shape[-1], device=ids.device)
        return self.token_embedding(ids) + self.position_embedding(positions)[None]


class ClipTextTransformer(nn.Module):
    def __init__(
        self,
        vocab_size: int,
        width: int,
        layers: int,
        heads: int,
        hidden: int,
        max_tokens: int,
        eos_token_id: int,
        act: str = "quick_gelu",
        eps: float = 1e-5,
    ) -> None:
        super().__init__()
        self.eos_token_id = eos_token_id
        self.embeddings = ClipTextEmbeddings(vocab_size, width, max_tokens)
        self.encoder = ClipEncoder(layers, width, heads, hidden, act, eps, causal=True)
        self.final_layer_norm = nn.LayerNorm(width, eps=eps)

    def forward(self, ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """ids [B, L] -> (token features [B, L, W], pooled [B, W] at each row's first end-of-text token)."""
        hidden = self.final_layer_norm(self.encoder(self.embeddings(ids)))
        if self.eos_token_id == 2:  # checkpoints from before CLIP configs named the real EOS: the largest id
            at = ids.to(torch.int).argmax(dim=-1)
        else:
            at = (ids == self.eos_token_id).int().argmax(dim=-1)
        return hidden, hidden[torch.arange(hidden.shape[0], device=hidden.device), at]

    def init_weights(self) -> None:
        nn.init.normal_(self.embeddings.token_embedding.weight, std=0.02)
        nn.init.normal_(self.embeddings.position_embedding.weight, std=0.02)
        init_layers(self.encoder, self.final_layer_norm.normalized_shape[0])
