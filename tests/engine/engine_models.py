"""Small models for the engine tests (float64 so fast-vs-reference errors show rule bugs)."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def ce(out, y):
    """Per-example cross-entropy; sequence outputs [B, T, V] average over tokens."""
    if out.dim() == 3:
        return F.cross_entropy(out.transpose(1, 2), y, reduction="none").mean(1)
    return F.cross_entropy(out, y, reduction="none")


def mlp(d_in=12, h=16, k=3):
    return nn.Sequential(nn.Flatten(), nn.Linear(d_in, h), nn.Tanh(), nn.Linear(h, h),
                         nn.ReLU(), nn.Linear(h, k))


def cnn(k=3):
    """Conv2d with stride, padding, groups, dilation, reflect padding; GroupNorm; in-place ReLU."""
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1, stride=2), nn.GroupNorm(2, 8), nn.ReLU(inplace=True),
        nn.Conv2d(8, 8, 3, groups=2, padding="same", padding_mode="reflect"), nn.ReLU(),
        nn.Conv2d(8, 6, 2, dilation=2, bias=False), nn.GroupNorm(3, 6), nn.Tanh(),
        nn.Flatten(), nn.Linear(6 * 2 * 2, k))



class Conv1dNet(nn.Module):
    def __init__(self, k):
        super().__init__()
        self.c1 = nn.Conv1d(2, 6, 3, padding=1)
        self.c2 = nn.Conv1d(6, 4, 5, stride=2, padding_mode="circular", padding=2)
        self.fc = nn.Linear(4 * 5, k)

    def forward(self, x):  # x [B, 2, 10]
        return self.fc(torch.relu(self.c2(torch.relu(self.c1(x)))).flatten(1))


class Block(nn.Module):
    """Pre-norm causal attention block written with nn.Linear (fast rules throughout)."""

    def __init__(self, d, heads):
        super().__init__()
        self.h = heads
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.RMSNorm(d)
        self.qkv, self.o = nn.Linear(d, 3 * d), nn.Linear(d, d)
        self.ff1, self.ff2 = nn.Linear(d, 2 * d), nn.Linear(2 * d, d)

    def forward(self, x):
        b, t, d = x.shape
        q, k, v = self.qkv(self.ln1(x)).split(d, dim=2)
        q, k, v = (z.reshape(b, t, self.h, d // self.h).transpose(1, 2) for z in (q, k, v))
        a = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + self.o(a.transpose(1, 2).reshape(b, t, d))
        return x + self.ff2(F.gelu(self.ff1(self.ln2(x))))


class TinyLM(nn.Module):
    """Token + position Embedding (padding_idx 0), two blocks, LayerNorm, head; tie optional."""

    def __init__(self, vocab=11, d=8, t=7, heads=2, tie=False):
        super().__init__()
        self.tok = nn.Embedding(vocab, d, padding_idx=0)
        self.pos = nn.Embedding(t, d)
        self.blocks = nn.ModuleList([Block(d, heads), Block(d, heads)])
        self.ln = nn.LayerNorm(d)
        self.head = nn.Linear(d, vocab, bias=False)
        if tie:
            self.head.weight = self.tok.weight

    def forward(self, idx):
        pos = torch.arange(idx.shape[1], device=idx.device).expand_as(idx)  # batch dim kept
        x = self.tok(idx) + self.pos(pos)
        for blk in self.blocks:
            x = blk(x)
        return self.head(self.ln(x))


class TinyLMBroadcastPos(TinyLM):
    """Position embedding looked up without the batch dim (nanoGPT style): not supported."""

    def forward(self, idx):
        x = self.tok(idx) + self.pos(torch.arange(idx.shape[1], device=idx.device))
        for blk in self.blocks:
            x = blk(x)
        return self.head(self.ln(x))


class LSTMNet(nn.Module):
    def __init__(self, vocab=9, d=5, h=6, k=3):
        super().__init__()
        self.emb = nn.Embedding(vocab, d)
        self.rnn = nn.LSTM(d, h, batch_first=True)
        self.fc = nn.Linear(h, k)

    def forward(self, idx):
        out, _ = self.rnn(self.emb(idx))
        return self.fc(out[:, -1])


class MHANet(nn.Module):
    def __init__(self, d=8, k=3):
        super().__init__()
        self.inp = nn.Linear(4, d)
        self.att = nn.MultiheadAttention(d, 2)  # batch_first=False: batch in dim 1
        self.fc = nn.Linear(d, k)

    def forward(self, x):  # x [B, T, 4]
        h = self.inp(x).transpose(0, 1)
        a, _ = self.att(h, h, h, need_weights=False)
        return self.fc(a.mean(0))


class Scale(nn.Module):
    """A layer with a bare parameter and no fast rule."""

    def __init__(self, d):
        super().__init__()
        self.s = nn.Parameter(torch.linspace(0.5, 1.5, d))

    def forward(self, x):
        return x * self.s


class SharedNet(nn.Module):
    """One Linear called twice, and a custom Scale layer."""

    def __init__(self):
        super().__init__()
        self.a = nn.Linear(6, 6)
        self.sc = Scale(6)
        self.out = nn.Linear(6, 3)

    def forward(self, x):
        return self.out(self.sc(torch.tanh(self.a(torch.tanh(self.a(x))))))


class FunctionalTie(nn.Module):
    """Head written as h @ emb.weight.T: a parameter used outside its module's forward."""

    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(7, 4)

    def forward(self, idx):
        return self.emb(idx).mean(1) @ self.emb.weight.T


# A user's own layer and its per-example rule, registered through the public registration point
# (the README shows the same example).
from ahtga.engine import Materialised, RuleContext, register_rule  # noqa: E402


class Gate(nn.Module):
    """y = x * sigmoid(w) + b over the last dim (any leading dims)."""

    def __init__(self, d):
        super().__init__()
        self.w = nn.Parameter(torch.linspace(-1.0, 1.0, d))
        self.b = nn.Parameter(torch.zeros(d))

    def forward(self, x):
        return x * torch.sigmoid(self.w) + self.b


@register_rule(Gate)
def gate_rule(ctx: RuleContext):
    m, b = ctx.module, ctx.batch
    d = m.w.numel()
    out = []
    if m.w.requires_grad:   # d y / d w = x sigmoid'(w), summed over the leading dims
        s = torch.sigmoid(m.w.detach())
        xg = (ctx.input * ctx.grad_output).reshape(b, -1, d).sum(1)
        out.append(Materialised(m.w, xg * s * (1 - s)))
    if m.b.requires_grad:
        out.append(Materialised(m.b, ctx.grad_output.reshape(b, -1, d).sum(1)))
    return out


class GateNet(nn.Module):
    def __init__(self, k=3):
        super().__init__()
        self.inp = nn.Linear(6, 5)
        self.gate = Gate(5)
        self.fc = nn.Linear(5, k)

    def forward(self, x):  # x [B, T, 6]
        return self.fc(torch.tanh(self.gate(self.inp(x))).mean(1))
