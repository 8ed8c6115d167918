"""The transformer layer both CLIP towers use: pre-norm attention, then a pre-norm MLP.

Parameter names follow the layout CLIP checkpoints use (`self_attn.q_proj`, `layer_norm1`, `mlp.fc1`,
...), so unclip's saved CLIP weights and converted ones (e.g. Karlo's ViT-L/14) load unchanged. The
arithmetic is the usual one (PyTorch's scaled dot-product attention, causal for the text tower), which
gives exactly what transformers' CLIP classes compute (tests compare them).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn


def quick_gelu(x: torch.Tensor) -> torch.Tensor:
    """OpenAI CLIP's activation: x * sigmoid(1.702 x)."""
    return x * torch.sigmoid(1.702 * x)


def gelu_new(x: torch.Tensor) -> torch.Tensor:
    """GPT-2's tanh approximation of GELU, written out (not `F.gelu(approximate="tanh")`): this order of
    operations is what checkpoints configured with `gelu_new` were computed with, to the last bit."""
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


def gelu_tanh(x: torch.Tensor) -> torch.Tensor:
    return F.gelu(x, approximate="tanh")


# the `hidden_act` names of CLIP configs (the converter accepts the same list)
ACTIVATIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "quick_gelu": quick_gelu,
    "gelu": F.gelu,
    "gelu_new": gelu_new,
    "gelu_pytorch_tanh": gelu_tanh,
    "relu": F.relu,
    "silu": F.silu,
}


def activation(name: str) -> Callable[[torch.Tensor], torch.Tensor]:
    if name not in ACTIVATIONS:
        raise ValueError(f"hidden_act: must be one of {sorted(ACTIVATIONS)}, got {name!r}")
    return ACTIVATIONS[name]


class ClipAttention(nn.Module):
    def __init__(self, width: int, heads: int, causal: bool) -> None:
        super().__init__()
        if width % heads:
            raise ValueError(f"width {width} is not divisible by {heads} heads")
        self.heads = heads
        self.causal = causal
        self.q_proj = nn.Linear(width, width)
        self.k_proj = nn.Linear(width, width)
        self.v_proj = nn.Linear(width, width)
        self.out_proj = nn.Linear(width, width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, width = x.shape
        head_dim = width // self.heads

        def split(t: torch.Tensor) -> torch.Tensor:  # [B, N, W] -> [B, heads, N, head_dim]
            return t.view(b, n, self.heads, head_dim).transpose(1, 2)

        q, k, v = split(self.q_proj(x)), split(self.k_proj(x)), split(self.v_proj(x))
        out = F.scaled_dot_product_attention(q, k, v, scale=head_dim**-0.5, is_causal=self.causal and n > 1)
        return self.out_proj(out.transpose(1, 2).reshape(b, n, width))


class ClipMLP(nn.Module):
    def __init__(self, width: int, hidden: int, act: str) -> None:
        super().__init__()
        self.act = activation(act)
        self.fc1 = nn.Linear(width, hidden)
        self.fc2 = nn.Linear(hidden, width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(x)))


class ClipLayer(nn.Module):
    def __init__(self, width: int, heads: int, hidden: int, act: str, eps: float, causal: bool) -> None:
        super().__init__()
        self.self_attn = ClipAttention(width, heads, causal)
        self.layer_norm1 = nn.LayerNorm(width, eps=eps)
        self.mlp = ClipMLP(width, hidden, act)
        self.layer_norm2 = nn.LayerNorm(width, eps=eps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.self_attn(self.layer_norm1(x))
        return x + self.mlp(self.layer_norm2(x))


class ClipEncoder(nn.Module):
    def __init__(
        self, layers: int, width: int, heads: int, hidden: int, act: str, eps: float, causal: bool
    ) -> None:
        super().__init__()
        self.layers = nn.ModuleList(ClipLayer(width, heads, hidden, act, eps, causal) for _ in range(layers))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            x = layer(x)
        return x


def init_layers(encoder: ClipEncoder, width: int) -> None:
    """CLIP's initialisation of the layers (a fresh model for training): normal weights scaled by width
    and depth, zero biases, unit layer norms."""
    depth = len(encoder.layers)
    in_std = width**-0.5 * (2 * depth) ** -0.5
    for layer in encoder.layers:
        assert isinstance(layer, ClipLayer)
        attn, mlp = layer.self_attn, layer.mlp
        for proj, std in (
            (attn.q_proj, in_std),
            (attn.k_proj, in_std),
            (attn.v_proj, in_std),
            (attn.out_proj, width**-0.5),
        ):
            nn.init.normal_(proj.weight, std=std)
            nn.init.zeros_(proj.bias)
        nn.init.normal_(mlp.fc1.weight, std=(2 * width) ** -0.5)
        nn.init.normal_(mlp.fc2.weight, std=in_std)
        nn.init.zeros_(mlp.fc1.bias)
        nn.init.zeros_(mlp.fc2.bias)
