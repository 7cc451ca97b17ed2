"""A small Vision Transformer (Dosovitskiy et al. 2021).

Patches of ``patch x patch`` pixels are embedded by a stride-``patch`` convolution (equivalent
to a Linear on flattened patches); a learned class token and learned positions are
``nn.Embedding`` tables (so every parameter sits in a layer with a fast per-example rule);
pre-LN blocks; the class token's final LayerNorm'd state goes to a linear head.
"""
from __future__ import annotations

import torch
from torch import nn

from ahtga._validation import check_int
from ._transformer import Block, init_transformer


class ViT(nn.Module):
    def __init__(self, *, image_size: int = 32, patch_size: int = 4, in_channels: int = 3, num_classes: int = 10,
                 dim: int = 192, depth: int = 6, heads: int = 3, mlp_ratio: int = 4, dropout: float = 0.0):
        super().__init__()
        check_int("image_size", image_size, min_value=1)
        check_int("patch_size", patch_size, min_value=1)
        if image_size % patch_size:
            raise ValueError(f"`image_size` must be divisible by `patch_size`; got {image_size} and {patch_size}")
        n = (image_size // patch_size) ** 2
        self.patch = nn.Conv2d(in_channels, dim, patch_size, stride=patch_size)
        self.cls = nn.Embedding(1, dim)
        self.pos = nn.Embedding(n + 1, dim)
        self.blocks = nn.ModuleList(Block(dim, heads, mlp_ratio=mlp_ratio, dropout=dropout) for _ in range(depth))
        self.ln = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, num_classes)
        init_transformer(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B = x.shape[0]
        p = self.patch(x).flatten(2).transpose(1, 2)                       # [B, n, dim]
        cls = self.cls(torch.zeros(B, 1, dtype=torch.long, device=x.device))
        h = torch.cat([cls, p], 1)
        h = h + self.pos(torch.arange(h.shape[1], device=x.device).expand(B, -1))
        for blk in self.blocks:
            h = blk(h)
        return self.head(self.ln(h[:, 0]))
