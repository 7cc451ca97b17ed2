"""Transformer building blocks made only of ``nn.Linear``, ``nn.LayerNorm`` and ``nn.Embedding``
(the layer types whose per-example gradients the engine computes by its fast rules). Every
such layer is called with the batch in dim 0 (position tables are indexed by ``arange(T)``
expanded to ``[B, T]``), as the per-example engine requires.

Attention (Vaswani et al. 2017): ``softmax(Q K^T / sqrt(d_head) + mask) V`` per head, with
``Q, K, V`` from one ``Linear(dim, 3 dim)`` and the heads merged by ``Linear(dim, dim)``. Masks:
``causal`` (position t attends to positions <= t) and/or a key padding mask (``[B, T]``, 1 = real
token, 0 = padding). Blocks are pre-LN (``x + f(LN(x))``, GPT-2 style) by default, or post-LN
(``LN(x + f(x))``, the original and BERT's) with ``norm_first=False``.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ahtga._validation import check_int


class SelfAttention(nn.Module):
    def __init__(self, dim: int, heads: int, *, dropout: float = 0.0):
        super().__init__()
        check_int("dim", dim, min_value=1)
        check_int("heads", heads, min_value=1)
        if dim % heads:
            raise ValueError(f"`dim` must be divisible by `heads`; got dim={dim}, heads={heads}")
        self.heads, self.dropout = heads, dropout
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor, *, causal: bool = False, key_mask: torch.Tensor | None = None) -> torch.Tensor:
        B, T, D = x.shape
        q, k, v = self.qkv(x).view(B, T, 3, self.heads, D // self.heads).permute(2, 0, 3, 1, 4)
        mask = None
        if key_mask is not None:
            mask = key_mask.bool()[:, None, None, :]                      # [B, 1, 1, T]
            if causal:
                mask = mask & torch.ones(T, T, dtype=torch.bool, device=x.device).tril()
            causal = False
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=causal,
                                           dropout_p=self.dropout if self.training else 0.0)
        return self.proj(y.transpose(1, 2).reshape(B, T, D))


class Block(nn.Module):
    """Attention + MLP (``Linear(dim, mlp_ratio dim) -> GELU -> Linear``), each residual."""

    def __init__(self, dim: int, heads: int, *, mlp_ratio: int = 4, dropout: float = 0.0, norm_first: bool = True):
        super().__init__()
        self.norm_first = norm_first
        self.ln1, self.ln2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.attn = SelfAttention(dim, heads, dropout=dropout)
        self.mlp = nn.Sequential(nn.Linear(dim, mlp_ratio * dim), nn.GELU(), nn.Linear(mlp_ratio * dim, dim),
                                 nn.Dropout(dropout))
        self.drop = nn.Dropout(dropout)

    def forward(self, x, *, causal: bool = False, key_mask=None):
        if self.norm_first:
            x = x + self.drop(self.attn(self.ln1(x), causal=causal, key_mask=key_mask))
            return x + self.mlp(self.ln2(x))
        x = self.ln1(x + self.drop(self.attn(x, causal=causal, key_mask=key_mask)))
        return self.ln2(x + self.mlp(x))


def init_transformer(module: nn.Module, std: float = 0.02) -> None:
    """GPT-2/BERT initialisation: N(0, std) for Linear and Embedding weights, zero biases."""
    for m in module.modules():
        if isinstance(m, (nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, 0.0, std)
            if isinstance(m, nn.Linear) and m.bias is not None:
                nn.init.zeros_(m.bias)
