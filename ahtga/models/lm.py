"""Language models: an LSTM LM (Zaremba et al. 2014 style) and a causal Transformer LM (GPT-2
style, pre-LN). Both map token ids ``[B, T]`` to next-token logits ``[B, T, V]``; per-example
(per-sequence) losses are ``cross_entropy(logits.transpose(1, 2), targets, reduction="none")
.mean(1)``.
"""
from __future__ import annotations

import torch
from torch import nn

from ahtga._validation import check_int
from ._transformer import Block, init_transformer


class LSTMLM(nn.Module):
    """Embedding -> dropout -> ``layers``-layer LSTM -> dropout -> Linear(V).

    ``tie_weights`` shares the embedding and output matrices (Press and Wolf 2017; needs
    ``emb_dim == hidden``). ``forward(ids, state=None, return_state=False)``; carry ``state``
    across truncated-BPTT windows (detach it between windows).
    """

    def __init__(self, vocab_size: int, *, emb_dim: int = 200, hidden: int = 200, layers: int = 2,
                 dropout: float = 0.0, tie_weights: bool = False):
        super().__init__()
        check_int("vocab_size", vocab_size, min_value=1)
        if tie_weights and emb_dim != hidden:
            raise ValueError(f"`tie_weights` needs emb_dim == hidden; got emb_dim={emb_dim}, hidden={hidden}")
        self.embed = nn.Embedding(vocab_size, emb_dim)
        self.drop = nn.Dropout(dropout)
        self.lstm = nn.LSTM(emb_dim, hidden, layers, batch_first=True, dropout=dropout if layers > 1 else 0.0)
        self.head = nn.Linear(hidden, vocab_size)
        if tie_weights:
            self.head.weight = self.embed.weight
        nn.init.uniform_(self.embed.weight, -0.1, 0.1)

    def forward(self, ids: torch.Tensor, state=None, *, return_state: bool = False):
        h, state = self.lstm(self.drop(self.embed(ids)), state)
        logits = self.head(self.drop(h))
        return (logits, state) if return_state else logits


class TransformerLM(nn.Module):
    """Token + learned position embeddings -> ``depth`` causal pre-LN blocks -> LayerNorm -> Linear(V).

    Weights are untied by default (a shared parameter would be counted by two layer rules of
    the per-example engine); ``tie_weights=True`` ties them.
    """

    def __init__(self, vocab_size: int, *, dim: int = 256, depth: int = 4, heads: int = 4, max_len: int = 256,
                 mlp_ratio: int = 4, dropout: float = 0.0, tie_weights: bool = False):
        super().__init__()
        check_int("vocab_size", vocab_size, min_value=1)
        self.max_len = check_int("max_len", max_len, min_value=1)
        self.tok = nn.Embedding(vocab_size, dim)
        self.pos = nn.Embedding(max_len, dim)
        self.drop = nn.Dropout(dropout)
        self.blocks = nn.ModuleList(Block(dim, heads, mlp_ratio=mlp_ratio, dropout=dropout) for _ in range(depth))
        self.ln = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, vocab_size, bias=False)
        init_transformer(self)
        if tie_weights:
            self.head.weight = self.tok.weight

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        T = ids.shape[1]
        if T > self.max_len:
            raise ValueError(f"sequence length {T} exceeds `max_len`={self.max_len}")
        pos = torch.arange(T, device=ids.device).expand(ids.shape[0], -1)   # batch in dim 0 for the engine
        h = self.drop(self.tok(ids) + self.pos(pos))
        for blk in self.blocks:
            h = blk(h, causal=True)
        return self.head(self.ln(h))
