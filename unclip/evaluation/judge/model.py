"""The judge's network: a small residual CNN that names the emoji concept in a 64 px picture.

It is deliberately unlike the model it judges: no CLIP, no text, trained only on real emoji
(`train.py`), so a picture it recognises is one whose shape and colours say what it is.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from unclip.utils.config import Config


@dataclass(kw_only=True)
class JudgeConfig(Config):
    num_classes: int  # concepts it can name (labels.json, same order)
    image_size: int = 64  # pictures are resized to this before classification
    # per stage; each stage after the first halves the size
    channels: list[int] = field(default_factory=lambda: [32, 64, 128, 256])
    stem_stride: int = 2  # the first convolution's stride (2: the stages start at half the image size)
    blocks_per_stage: int = 2
    dropout: float = 0.2

    def __post_init__(self) -> None:
        if self.num_classes < 2:
            raise ValueError(f"num_classes must be at least 2, got {self.num_classes}")
        if not self.channels or min(self.channels) < 1:
            raise ValueError(f"channels must be positive, got {self.channels}")
        if self.stem_stride not in (1, 2):
            raise ValueError(f"stem_stride must be 1 or 2, got {self.stem_stride}")
        if self.image_size < 16:
            raise ValueError(f"image_size must be at least 16, got {self.image_size}")


class _Block(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.skip = (
            nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
            if stride != 1 or cin != cout
            else nn.Identity()
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(h)) + self.skip(x))


class JudgeNet(nn.Module):
    """Images in [-1, 1], NCHW at `config.image_size` -> concept logits."""

    def __init__(self, config: JudgeConfig) -> None:
        super().__init__()
        self.config = config
        c = config.channels
        self.stem = nn.Sequential(
            nn.Conv2d(3, c[0], 3, config.stem_stride, 1, bias=False), nn.BatchNorm2d(c[0]), nn.ReLU()
        )
        blocks: list[nn.Module] = []
        cin = c[0]
        for i, cout in enumerate(c):
            for j in range(config.blocks_per_stage):
                blocks.append(_Block(cin, cout, 2 if (i > 0 and j == 0) else 1))
                cin = cout
        self.blocks = nn.Sequential(*blocks)
        self.dropout = nn.Dropout(config.dropout)
        self.head = nn.Linear(cin, config.num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.blocks(self.stem(x))
        return self.head(self.dropout(h.mean(dim=(2, 3))))
