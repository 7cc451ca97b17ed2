"""Per-layer rules of the fast engine: per-example gradients from layer inputs and output grads.

For one call of a layer, ``a`` is what the forward hook stored (the layer's input) and ``g`` the
gradient of ``sum_i loss_i`` with respect to the layer's output, taken in the single backward.
Because examples do not interact, row ``i`` of ``g`` is ``d loss_i / d output_i`` and each
per-example parameter gradient is a function of ``(a_i, g_i)`` alone:

* Linear, ``y = a W^T + b`` with ``a_i`` of shape [T, d] (T = 1 without sequence dims):
  ``grad W_i = g_i^T a_i`` ([p, d]), ``grad b_i = sum_t g_{i,t}``. Squared norm either
  "ghost" ``||g_i^T a_i||_F^2 = <a_i a_i^T, g_i g_i^T>_F`` (cost ~ T^2 (d + p)) or by
  materialising ``g_i^T a_i`` (cost ~ T d p); ghost is used when it needs fewer
  multiply-adds, ``T (d + p) < d p`` (T = 1: ``||a_i||^2 ||g_i||^2``). (Bu et al.'s rule
  ``2 T^2 < p d`` compares memory instead; here memory is bounded by chunking, so the
  arithmetic decides.) Materialised per-example gradients that fit a cache budget are kept for
  the weighted and sign gradients. Li et al., "Large language models can be strong
  differentially private learners" (ICLR 2022), Sec. 4 (ghost clipping); Goodfellow,
  "Efficient per-example gradient computations" (arXiv:1510.01799) for T = 1.
* Conv1d / Conv2d: the same rule on the unfolded input (``F.unfold``: a_i is [T, C_in k / G]
  per group, T = output positions), group by group. Bu et al., "Differentially private
  optimization on large model at small cost" (ICML 2023) for the layer-wise ghost/materialise
  choice and the "book-keeping" weighted gradient below.
* Embedding: ``grad W_i`` has row ``v`` equal to ``sum_{t: x_{i,t} = v} g_{i,t}``; rows with
  repeated tokens are summed before squaring (a segment sum over (example, token) pairs),
  ``padding_idx`` rows get no gradient.
* LayerNorm / RMSNorm / GroupNorm / BatchNorm: ``grad w_i = sum over non-normalised positions
  of xhat_i * g_i``, ``grad b_i = sum g_i``, with ``xhat`` recomputed from the stored input
  (BatchNorm: batch statistics in training mode, treated as constants; running statistics in
  eval mode). These are small and stored materialised ([B, C]). GroupNorm's are taken from
  one native GroupNorm backward with the batch folded into the groups (N = 1, G' = B G).

Weighted gradient (book-keeping, no second backward): ``sum_i w_i grad W_i`` is the ordinary
weight gradient with ``g`` replaced by ``w[:, None] * g`` (Linear: one matmul; Conv: one
``conv*_weight`` call, no unfold). Sign form: per-example gradients of one layer are
materialised a chunk of examples at a time, ``sum_i c_i sign(grad W_i)`` accumulated, and freed.
All norms are accumulated in float32 (float64 for float64 models).
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .registry import RuleContext, register_rule

__all__ = ["Contribution", "Materialised", "FactorContribution", "EmbeddingContribution",
           "compute_dtype", "chunks", "rows"]


def compute_dtype(*ts: torch.Tensor) -> torch.dtype:
    """float64 if any input is float64, else float32 (half precision is upcast)."""
    return torch.float64 if any(t.dtype == torch.float64 for t in ts) else torch.float32


def rows(t: torch.Tensor, s: int, e: int) -> torch.Tensor:
    """``t[s:e]``, or ``t`` itself when that is all of it (one op less per layer and step)."""
    return t if s == 0 and e == t.shape[0] else t[s:e]


def row_sq_norms(t: torch.Tensor) -> torch.Tensor:
    """Squared L2 norm of each row of ``t`` [b, ...]: one read of ``t`` (a ``pow`` then ``sum``
    would write and read a temporary of its size; ``bench/bench_cost.py`` counts the bytes)."""
    return torch.linalg.vector_norm(t.reshape(t.shape[0], -1), dim=1).square()


def chunks(b: int, per_example: int, budget: int):
    """Slices of ``range(b)`` holding at most ``budget`` elements of ``per_example`` each."""
    step = max(1, int(budget // max(1, per_example)))
    for s in range(0, b, step):
        yield s, min(b, s + step)


class Contribution:
    """One call's share of one parameter's per-example gradients."""

    param: nn.Parameter
    batch: int

    def sq_norms(self) -> torch.Tensor:  # [B]
        raise NotImplementedError

    def weighted(self, w: torch.Tensor) -> torch.Tensor:  # param-shaped, sum_i w_i g_i
        raise NotImplementedError

    def materialise(self, s: int, e: int) -> torch.Tensor:  # [e - s, *param.shape]
        raise NotImplementedError

    def sign_sum(self, c: torch.Tensor, budget: int) -> torch.Tensor:
        """``sum_i c_i sign(g_i)``, materialising a chunk of examples at a time."""
        out = None
        for s, e in chunks(self.batch, self.param.numel(), budget):
            part = torch.tensordot(rows(c, s, e).to(self.dtype), self.materialise(s, e).sign(), 1)
            out = part if out is None else out + part
        return out


class Materialised(Contribution):
    """Per-example gradients stored explicitly, ``G`` of shape [B, *param.shape]."""

    def __init__(self, param, grads: torch.Tensor):
        self.param, self._G, self.batch, self.dtype = param, grads, grads.shape[0], grads.dtype
        self._block = None

    @property
    def G(self) -> torch.Tensor:
        if self._G is None:  # columns of a block shared with other small parameters
            flat, s, e = self._block
            self._G = flat[:, s:e].view(self.batch, *self.param.shape)
        return self._G

    def move_to_block(self, flat: torch.Tensor, s: int, e: int) -> None:
        """Keep the gradients as columns s:e of ``flat`` [B, N] (a view made when needed)."""
        self._G, self._block = None, (flat, s, e)

    def sq_norms(self):
        return row_sq_norms(self.G)

    def weighted(self, w):
        return (w.to(self.dtype) @ self.G.reshape(self.batch, -1)).reshape(self.param.shape)

    def materialise(self, s, e):
        return rows(self.G, s, e)

    def sign_sum(self, c, budget):
        return torch.tensordot(c.to(self.dtype), self.G.sign(), 1)


class FactorContribution(Contribution):
    """Weight of a Linear or Conv layer: per-example gradient ``sum_t g_t a_t^T`` per group.

    ``factors(s, e)`` returns ``(a, g)`` in the compute dtype, of shapes [b, T, d] and
    [b, T, p] for one group (``groups == 1``: plain batched matmuls, fewest ops) or
    [b, G, T, d] and [b, G, T, p]; ``weighted_fn(w)`` returns the weight gradient for output
    grads scaled by ``w``; ``mat_fn(s, e)`` (optional) materialises per-example gradients
    [b, *shape] directly. When the norms are computed by materialising, the B per-example
    gradients are kept (the weighted and sign gradients then reuse them, and the stored input
    and output grad are dropped) if they are no larger than that input and output grad,
    ``frees`` elements (keeping them saves memory), or else if they fit in what is left of the
    shared cache budget (keeping them costs memory but saves recomputing them).
    """

    def __init__(self, param, batch, groups, t, d, p, factors, weighted_fn, dtype, budget,
                 cache_left, mat_fn=None, frees=0):
        # cache_left: one-element list, the elements of per-example gradients that may still
        # be kept (shared by all layers of one backward)
        self.param, self.batch, self.groups = param, batch, groups
        self.t, self.d, self.p = t, d, p
        self.factors, self.weighted_fn, self.dtype = factors, weighted_fn, dtype
        self.budget, self.cache_left, self.mat_fn = budget, cache_left, mat_fn
        self.frees = frees
        self.cache = None

    @property
    def ghost(self) -> bool:
        """Ghost norm iff its multiply-adds T^2 (d + p) are fewer than materialising's T d p."""
        return self.t > 1 and self.t * (self.d + self.p) < self.p * self.d

    def sq_norms(self):
        gr, t, d, p = self.groups, self.t, self.d, self.p
        if t > 1 and not self.ghost:
            total = self.batch * self.param.numel()
            if total <= self.frees or total <= self.cache_left[0]:
                if total > self.frees:
                    self.cache_left[0] -= total
                per = gr * (t * (d + p) + p * d)
                parts = list(chunks(self.batch, per, self.budget))
                if len(parts) == 1:
                    cache = self.materialise(0, self.batch)
                else:  # written chunk by chunk into one buffer (no second copy for a cat)
                    cache = torch.empty(self.batch, *self.param.shape, dtype=self.dtype,
                                        device=self.param.device)
                    for s, e in parts:
                        self.materialise(s, e, out=cache[s:e])
                self.cache = cache
                # the stored input and output grad are no longer needed
                self.factors = self.weighted_fn = self.mat_fn = None
                return row_sq_norms(self.cache)
        per = gr * t * (d + p) + gr * (t * t if self.ghost else p * d)
        one = gr == 1
        out = []
        for s, e in chunks(self.batch, per, self.budget):
            if t == 1:
                a, g = self.factors(s, e)
                sq = a.pow(2).sum(-1) * g.pow(2).sum(-1)  # [b, 1] or [b, G, 1]
                sq = sq.reshape(e - s) if one else sq.sum((1, 2))
            elif self.ghost:
                a, g = self.factors(s, e)
                if one:
                    aa = torch.bmm(a, a.transpose(1, 2))
                    gg = torch.bmm(g, g.transpose(1, 2))
                    sq = (aa * gg).sum((1, 2))
                else:
                    aa = a @ a.transpose(-1, -2)
                    gg = g @ g.transpose(-1, -2)
                    sq = (aa * gg).sum((1, 2, 3))
            else:
                sq = row_sq_norms(self.materialise(s, e))
            out.append(sq)
        return out[0] if len(out) == 1 else torch.cat(out)

    def weighted(self, w):
        if self.cache is not None:
            return (w.to(self.dtype) @ self.cache.reshape(self.batch, -1)).reshape(
                self.param.shape)
        return self.weighted_fn(w)

    def materialise(self, s, e, out=None):
        """Per-example gradients of examples s..e, [e - s, *param.shape] (written into ``out``,
        a contiguous tensor of that shape, when given)."""
        if self.cache is not None:
            return rows(self.cache, s, e)
        if self.mat_fn is not None:
            res = self.mat_fn(s, e)
        else:
            a, g = self.factors(s, e)
            if self.groups == 1:
                if out is not None:
                    torch.bmm(g.transpose(1, 2), a, out=out.view(e - s, self.p, self.d))
                    return out
                return torch.bmm(g.transpose(1, 2), a).reshape(e - s, *self.param.shape)
            res = (g.transpose(-1, -2) @ a).reshape(e - s, *self.param.shape)
        return res if out is None else out.copy_(res)

    def sign_sum(self, c, budget):
        if self.t == 1:
            # sign(g_i a_i^T) = sign(g_i) sign(a_i)^T: one matmul per group, nothing materialised
            out = None
            for s, e in chunks(self.batch, self.groups * (self.d + self.p), budget):
                a, g = self.factors(s, e)
                cs = rows(c, s, e).to(self.dtype)
                if self.groups == 1:  # [b, 1, p], [b, 1, d]
                    part = (cs[:, None] * g[:, 0].sign()).transpose(0, 1) @ a[:, 0].sign()
                else:
                    part = torch.einsum("bgp,bgd->gpd", (cs.reshape(-1, 1, 1, 1)
                                                         * g.sign())[:, :, 0], a.sign()[:, :, 0])
                out = part if out is None else out + part
            return out.reshape(self.param.shape)
        if self.cache is not None:
            return (c.to(self.dtype) @ self.cache.reshape(self.batch, -1).sign()).reshape(
                self.param.shape)
        per = self.groups * (self.t * (self.d + self.p) + self.p * self.d)
        out = None
        for s, e in chunks(self.batch, per, budget):
            part = torch.tensordot(rows(c, s, e).to(self.dtype), self.materialise(s, e).sign(), 1)
            out = part if out is None else out + part
        return out


class EmbeddingContribution(Contribution):
    """Embedding weight [V, d]: segment sums of output-grad rows over (example, token) pairs."""

    def __init__(self, param, idx, g, padding_idx, dtype):
        b = idx.shape[0]
        v, d = param.shape
        self.param, self.batch, self.dtype = param, b, dtype
        idx = idx.reshape(b, -1)
        g = g.reshape(b, idx.shape[1], d).to(dtype)
        ex = torch.arange(b, device=idx.device).unsqueeze(1).expand_as(idx)
        keep = torch.ones_like(idx, dtype=torch.bool) if padding_idx is None else idx != padding_idx
        self.idx, self.ex, self.g = idx[keep], ex[keep], g[keep]
        keys, inv = torch.unique(self.ex * v + self.idx, return_inverse=True)
        self.seg = torch.zeros(keys.shape[0], d, dtype=dtype, device=g.device).index_add_(
            0, inv, self.g)
        self.seg_ex, self.seg_row = keys // v, keys % v

    def sq_norms(self):
        return torch.zeros(self.batch, dtype=self.dtype, device=self.seg.device).index_add_(
            0, self.seg_ex, self.seg.pow(2).sum(1))

    def weighted(self, w):
        out = torch.zeros(self.param.shape, dtype=self.dtype, device=self.g.device)
        return out.index_add_(0, self.idx, w.to(self.dtype)[self.ex].unsqueeze(1) * self.g)

    def materialise(self, s, e):
        m = (self.seg_ex >= s) & (self.seg_ex < e)
        out = torch.zeros(e - s, *self.param.shape, dtype=self.dtype, device=self.g.device)
        out[self.seg_ex[m] - s, self.seg_row[m]] = self.seg[m]
        return out

    def sign_sum(self, c, budget):
        out = torch.zeros(self.param.shape, dtype=self.dtype, device=self.g.device)
        return out.index_add_(0, self.seg_row,
                              c.to(self.dtype)[self.seg_ex].unsqueeze(1) * self.seg.sign())


# --------------------------------------------------------------------------------------------
# Rules: ``rule(ctx: RuleContext) -> list[Contribution]``, each registered with
# ``register_rule`` (ahtga.engine.registry), the same way a user's rule is.

@register_rule(nn.Linear)
def linear_rule(ctx: RuleContext):
    m, x, gout, budget, cache_left = (ctx.module, ctx.input, ctx.grad_output, ctx.budget,
                                      ctx.cache_left)
    b = x.shape[0]
    dt = compute_dtype(x, gout, m.weight)
    d, p = m.in_features, m.out_features
    a3 = x.reshape(b, -1, d)
    g3 = gout.reshape(b, -1, p)
    t = a3.shape[1]
    out = []
    if m.weight.requires_grad:
        def factors(s, e):  # one group: [b, T, d], [b, T, p]
            return rows(a3, s, e).to(dt), rows(g3, s, e).to(dt)

        def weighted(w):
            gw = (g3.to(dt) * w.to(dt)[:, None, None]).reshape(-1, p)
            return gw.transpose(0, 1) @ a3.to(dt).reshape(-1, d)

        out.append(FactorContribution(m.weight, b, 1, t, d, p, factors, weighted, dt, budget,
                                      cache_left, frees=x.numel() + gout.numel()))
    if m.bias is not None and m.bias.requires_grad:
        out.append(Materialised(m.bias, g3.to(dt).sum(1)))
    return out


def _explicit_padding(m):
    """Padding as (left, right) per spatial dim, and the pad mode."""
    k, dil = m.kernel_size, m.dilation
    if isinstance(m.padding, str):
        if m.padding == "valid":
            pads = [(0, 0)] * len(k)
        else:  # "same": total dil (k - 1), extra on the right (as torch does)
            pads = []
            for kk, dd in zip(k, dil):
                tot = dd * (kk - 1)
                pads.append((tot // 2, tot - tot // 2))
    else:
        pads = [(pp, pp) for pp in m.padding]
    return pads, m.padding_mode


def _unfold(x: torch.Tensor, ks, dl, st) -> torch.Tensor:
    """Patches of ``x`` (no padding) as [b, T, C*K] (channel-major, as ``F.unfold``).

    Without dilation: strided views ``Tensor.unfold`` and one copy (CUDA's im2col runs one
    kernel per example, and a one-hot depthwise convolution is slow); with dilation:
    ``F.unfold``.
    """
    b, c = x.shape[:2]
    if tuple(dl) == (1, 1):
        v = x.unfold(2, ks[0], st[0]).unfold(3, ks[1], st[1])  # [b, C, Ho, Wo, kh, kw]
        return v.permute(0, 2, 3, 1, 4, 5).reshape(b, v.shape[2] * v.shape[3], -1)
    return F.unfold(x, ks, dilation=dl, stride=st).transpose(1, 2)


@register_rule(nn.Conv1d, nn.Conv2d)
def conv_rule(ctx: RuleContext):
    m, x, gout, budget, cache_left, conv_strategy = (ctx.module, ctx.input, ctx.grad_output,
                                                     ctx.budget, ctx.cache_left,
                                                     ctx.conv_strategy)
    one_d = isinstance(m, nn.Conv1d)
    b = x.shape[0]
    dt = compute_dtype(x, gout, m.weight)
    pads, mode = _explicit_padding(m)
    flat = [v for lr in reversed(pads) for v in lr]  # F.pad order: last dim first
    symmetric_zeros = mode == "zeros" and all(lo == hi for lo, hi in pads)
    gr = m.groups
    cout = m.out_channels
    p = cout // gr
    d = (m.in_channels // gr) * math.prod(m.kernel_size)
    if one_d:
        ks, st, dl = (1, m.kernel_size[0]), (1, m.stride[0]), (1, m.dilation[0])
        g4 = gout.unsqueeze(2)
    else:
        ks, st, dl = m.kernel_size, m.stride, m.dilation
        g4 = gout
    t = g4.shape[2] * g4.shape[3]

    def padded4(s, e):
        """Explicitly padded input of examples s..e as [b, C, H, W] (padded lazily, per chunk,
        so no padded copy of the whole batch is kept)."""
        xs = rows(x, s, e).to(dt)
        if any(flat):
            xs = F.pad(xs, flat, mode="constant" if mode == "zeros" else mode)
        return xs.unsqueeze(2) if one_d else xs

    out = []
    if m.weight.requires_grad:
        def factors(s, e):
            u = _unfold(padded4(s, e), ks, dl, st)  # [b, T, C*K]
            if gr == 1:  # [b, T, d], [b, T, p]
                return u, rows(g4, s, e).to(dt).reshape(e - s, p, t).transpose(1, 2)
            a = u.reshape(e - s, t, gr, d).transpose(1, 2)
            g = rows(g4, s, e).to(dt).reshape(e - s, gr, p, t).transpose(-1, -2)
            return a, g

        def weighted(w):
            gw = gout.to(dt) * w.to(dt).reshape(-1, *([1] * (gout.dim() - 1)))
            fn = torch.nn.grad.conv1d_weight if one_d else torch.nn.grad.conv2d_weight
            if symmetric_zeros:
                return fn(x.to(dt), m.weight.shape, gw, stride=m.stride,
                          padding=tuple(lo for lo, _ in pads), dilation=m.dilation, groups=gr)
            xp = padded4(0, b)
            return fn(xp.squeeze(2) if one_d else xp, m.weight.shape, gw, stride=m.stride,
                      padding=0, dilation=m.dilation, groups=gr)

        def mat(s, e):
            # batch folded into groups: one grouped weight-gradient convolution, no unfold;
            # symmetric zero padding is the convolution's own (no padded copy of the input)
            n = e - s
            if symmetric_zeros:
                xs = rows(x, s, e).to(dt)
                xs = xs.unsqueeze(2) if one_d else xs
                pad = (0, pads[0][0]) if one_d else tuple(lo for lo, _ in pads)
            else:
                xs, pad = padded4(s, e), 0
            gs = rows(g4, s, e).to(dt)
            wg = torch.nn.grad.conv2d_weight(
                xs.reshape(1, n * xs.shape[1], *xs.shape[2:]),
                (n * cout, m.in_channels // gr, *ks),
                gs.reshape(1, n * cout, *gs.shape[2:]), stride=st, padding=pad, dilation=dl,
                groups=n * gr)
            return wg.reshape(n, *m.weight.shape)

        # "mixed": the grouped weight-gradient convolution where an example's im2col copy
        # (T x d) is larger than the per-example gradient it yields (p x d), i.e. T > p: the
        # early, high-resolution layers, whose unfold copies dominate the bytes moved
        # (bench/bench_cost.py counts them); batched matmuls on the unfolded input elsewhere.
        use_grouped = (conv_strategy == "grouped"
                       or (conv_strategy == "mixed" and t > p)
                       or (conv_strategy == "auto" and (x.device.type == "cpu" or t > p)))
        out.append(FactorContribution(m.weight, b, gr, t, d, p, factors, weighted, dt, budget,
                                      cache_left, mat_fn=mat if use_grouped else None,
                                      frees=x.numel() + gout.numel()))
    if m.bias is not None and m.bias.requires_grad:
        out.append(Materialised(m.bias, gout.to(dt).reshape(b, cout, -1).sum(2)))
    return out


@register_rule(nn.Embedding)
def embedding_rule(ctx: RuleContext):
    m, idx, gout = ctx.module, ctx.input, ctx.grad_output
    if m.scale_grad_by_freq:
        raise NotImplementedError(
            "nn.Embedding(scale_grad_by_freq=True) scales gradients by token counts over the "
            "whole batch, which couples examples; the per-example engine does not support it")
    if not m.weight.requires_grad:
        return []
    dt = compute_dtype(gout, m.weight)
    return [EmbeddingContribution(m.weight, idx, gout, m.padding_idx, dt)]


def _affine(m, xhat, gout, chan_shape_fn):
    """Materialised per-example grads of an affine normalisation's weight and bias."""
    out = []
    w = getattr(m, "weight", None)
    bias = getattr(m, "bias", None)
    if w is not None and w.requires_grad:
        out.append(Materialised(w, chan_shape_fn(xhat * gout)))
    if bias is not None and bias.requires_grad:
        out.append(Materialised(bias, chan_shape_fn(gout)))
    return out


@register_rule(nn.LayerNorm, nn.RMSNorm)
def layernorm_rule(ctx: RuleContext):
    m, x, gout = ctx.module, ctx.input, ctx.grad_output
    dt = compute_dtype(x, gout)
    k = len(m.normalized_shape)
    dims = tuple(range(x.dim() - k, x.dim()))
    xf, gf = x.to(dt), gout.to(dt)
    if isinstance(m, nn.LayerNorm):
        var, mean = torch.var_mean(xf, dim=dims, keepdim=True, correction=0)
        xhat = (xf - mean) * torch.rsqrt(var + m.eps)
    else:  # RMSNorm
        eps = m.eps if m.eps is not None else torch.finfo(x.dtype).eps
        xhat = xf * torch.rsqrt(xf.pow(2).mean(dims, keepdim=True) + eps)
    b = x.shape[0]

    def reduce(v):
        return v.reshape(b, -1, *m.normalized_shape).sum(1)

    return _affine(m, xhat, gf, reduce)


_ONES: dict = {}


def _ones(n, dtype, device):
    key = (n, dtype, str(device))
    if key not in _ONES:
        if len(_ONES) > 64:
            _ONES.clear()
        _ONES[key] = torch.ones(n, dtype=dtype, device=device)
    return _ONES[key]


def _groupnorm_stats(m: nn.Module, output: torch.Tensor):
    """GroupNorm's mean and rstd as its forward's autograd node saved them (so the rule does not
    recompute them), or None."""
    node = output.grad_fn
    if node is not None and type(node).__name__ == "NativeGroupNormBackward0":
        # detached: a record must not hold the graph (its node's pre-hook holds the record)
        return node._saved_result1.detach(), node._saved_result2.detach()
    return None


@register_rule(nn.GroupNorm, forward_stats=_groupnorm_stats)
def groupnorm_rule(ctx: RuleContext):
    """Per-example GroupNorm grads: the batch folded into the groups of one GroupNorm
    (N = 1, C' = B C, G' = B G), whose native backward returns per-channel = per-example
    weight and bias grads. ``ctx.stats``: the forward's (mean, rstd) of shape [B, G], as autograd
    saved them; recomputed when absent or in another dtype."""
    m, x, gout, stats = ctx.module, ctx.input, ctx.grad_output, ctx.stats
    want_w = m.weight is not None and m.weight.requires_grad
    want_b = m.bias is not None and m.bias.requires_grad
    if not (want_w or want_b):
        return []
    dt = compute_dtype(x, gout)
    b, c = x.shape[0], x.shape[1]
    hw = x.numel() // (b * c)
    groups = b * m.num_groups
    xf = x.to(dt).reshape(1, b * c, hw)
    gf = gout.to(dt).reshape(1, b * c, hw)
    if (stats is not None and stats[0].dtype == dt and stats[1].dtype == dt
            and stats[0].numel() == groups):
        mean, rstd = stats[0].reshape(1, groups), stats[1].reshape(1, groups)
    else:
        _, mean, rstd = torch.ops.aten.native_group_norm(xf, None, None, 1, b * c, hw, groups,
                                                         m.eps)
    ones = _ones(b * c, dt, x.device)  # dgamma, dbeta do not depend on it
    _, dw, db = torch.ops.aten.native_group_norm_backward(
        gf, xf, mean, rstd, ones, 1, b * c, hw, groups, [False, want_w, want_b])
    out = []
    if want_w:
        out.append(Materialised(m.weight, dw.reshape(b, c)))
    if want_b:
        out.append(Materialised(m.bias, db.reshape(b, c)))
    return out


def _batchnorm_check(m: nn.Module, engine) -> bool:
    """Whether this forward uses batch statistics; refused under ``batchnorm="error"``."""
    batch_stats = m.training or m.running_mean is None
    if batch_stats and getattr(engine, "batchnorm", "error") == "error":
        raise RuntimeError(
            f"{type(m).__name__} in training mode couples the examples of a batch through its "
            "batch statistics, so per-example gradients are not defined. Replace it with "
            "nn.GroupNorm (e.g. GroupNorm(32, C)), put it in eval mode, or pass "
            "PerExampleEngine(..., batchnorm='batch-stat') to accept the documented "
            "approximation (batch statistics treated as constants).")
    return batch_stats


@register_rule(nn.modules.batchnorm._BatchNorm, forward_check=_batchnorm_check,
               hook_without_params=True)
def batchnorm_rule(ctx: RuleContext):
    """BatchNorm's weight and bias: ``xhat_i * g_i`` and ``g_i`` summed over positions, with
    ``xhat`` from the batch statistics (treated as constants; ``ctx.extra`` True) or the
    running ones."""
    m, x, gout, batch_stats = ctx.module, ctx.input, ctx.grad_output, ctx.extra
    dt = compute_dtype(x, gout)
    b, c = x.shape[:2]
    xf, gf = x.to(dt), gout.to(dt)
    shape = (1, c) + (1,) * (x.dim() - 2)
    if batch_stats:
        dims = (0,) + tuple(range(2, x.dim()))
        var, mean = torch.var_mean(xf, dim=dims, keepdim=True, correction=0)
    else:
        mean = m.running_mean.to(dt).reshape(shape)
        var = m.running_var.to(dt).reshape(shape)
    xhat = (xf - mean) * torch.rsqrt(var + m.eps)

    def reduce(v):
        return v.reshape(b, c, -1).sum(2)

    return _affine(m, xhat, gf, reduce)
