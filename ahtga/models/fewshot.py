"""Few-shot learners on episodes (:class:`ahtga.data.Episode`): Prototypical Networks and MAML.

Prototypical Networks (Snell et al. 2017): prototypes ``c_k = mean_{i: y_i = k} f(x_i)`` of the
support embeddings; query logits ``-||f(x) - c_k||^2`` (squared Euclidean distance); loss the
mean cross-entropy of the queries.

MAML (Finn et al. 2017): for each task, ``steps`` inner gradient steps on the support loss,
``theta' = theta - inner_lr * grad L_S(theta)``, then the query loss ``L_Q(theta')``; the outer
gradient is ``d L_Q(theta') / d theta``. Second order differentiates through the inner steps
(``create_graph=True``): for one step ``(I - inner_lr * H_S(theta)) grad L_Q(theta')``. First order
(FOMAML) treats the inner gradients as constants, giving ``grad L_Q(theta')``. The inner loop
runs the model with ``torch.func.functional_call`` on the adapted parameter dict; buffers are the
module's own (use GroupNorm, not BatchNorm).
"""
from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call

from ahtga._validation import check_int, check_positive


def prototypes(support: torch.Tensor, support_y: torch.Tensor, ways: int | None = None) -> torch.Tensor:
    """``[ways, D]`` class means of ``support`` embeddings ``[S, D]`` with labels ``0..ways-1``."""
    ways = int(support_y.max()) + 1 if ways is None else ways
    counts = torch.bincount(support_y, minlength=ways).to(support.dtype)
    if bool((counts == 0).any()):
        raise ValueError(f"every class 0..{ways - 1} needs a support example; counts={counts.tolist()}")
    sums = torch.zeros(ways, support.shape[1], dtype=support.dtype, device=support.device)
    sums.index_add_(0, support_y, support)
    return sums / counts[:, None]


def prototypical_logits(support, support_y, query, ways: int | None = None) -> torch.Tensor:
    """Query logits ``-||q - c_k||^2`` ``[Q, ways]``."""
    c = prototypes(support, support_y, ways)
    return -torch.cdist(query, c).pow(2)


def prototypical_loss(support, support_y, query, query_y, ways: int | None = None, *,
                      reduction: str = "mean") -> tuple[torch.Tensor, torch.Tensor]:
    """``(loss, accuracy)`` of the queries; ``reduction="none"`` gives per-query losses."""
    logits = prototypical_logits(support, support_y, query, ways)
    loss = F.cross_entropy(logits, query_y, reduction=reduction)
    acc = (logits.argmax(1) == query_y).float().mean()
    return loss, acc


class ProtoNet(nn.Module):
    """``encoder`` (e.g. ResNet-12, a conv-4) + the prototypical loss; ``forward(episode)`` returns
    ``(loss, accuracy)``."""

    def __init__(self, encoder: nn.Module):
        super().__init__()
        self.encoder = encoder

    def embed(self, x):
        return torch.flatten(self.encoder(x), 1)

    def forward(self, episode, *, reduction: str = "mean"):
        z = self.embed(torch.cat([episode.support_x, episode.query_x]))
        s = z[: len(episode.support_x)]
        q = z[len(episode.support_x):]
        return prototypical_loss(s, episode.support_y, q, episode.query_y, episode.ways, reduction=reduction)


def maml_adapt(model: nn.Module, params: dict[str, torch.Tensor], x, y, *, inner_lr: float, steps: int = 1,
               first_order: bool = False, loss_fn: Callable = F.cross_entropy) -> dict[str, torch.Tensor]:
    """Adapted parameters after ``steps`` inner SGD steps on ``loss_fn(model(x), y)``."""
    check_positive("inner_lr", inner_lr)
    check_int("steps", steps, min_value=0)
    p = dict(params)
    for _ in range(steps):
        loss = loss_fn(functional_call(model, p, (x,)), y)
        grads = torch.autograd.grad(loss, list(p.values()), create_graph=not first_order, allow_unused=True)
        p = {k: (v if g is None else v - inner_lr * (g if not first_order else g.detach()))
             for (k, v), g in zip(p.items(), grads)}
    return p


class MAML(nn.Module):
    """``forward(episodes)`` returns the mean query ``(loss, accuracy)`` over a list of episodes,
    differentiable in ``model``'s parameters (second order unless ``first_order``)."""

    def __init__(self, model: nn.Module, *, inner_lr: float = 0.4, steps: int = 1, first_order: bool = False,
                 loss_fn: Callable = F.cross_entropy):
        super().__init__()
        self.model = model
        self.inner_lr = check_positive("inner_lr", inner_lr)
        self.steps = check_int("steps", steps, min_value=0)
        self.first_order, self.loss_fn = bool(first_order), loss_fn

    def forward(self, episodes):
        if not isinstance(episodes, (list, tuple)):
            episodes = [episodes]
        params = {k: v for k, v in self.model.named_parameters() if v.requires_grad}
        losses, accs = [], []
        for ep in episodes:
            p = maml_adapt(self.model, params, ep.support_x, ep.support_y, inner_lr=self.inner_lr,
                           steps=self.steps, first_order=self.first_order, loss_fn=self.loss_fn)
            out = functional_call(self.model, p, (ep.query_x,))
            losses.append(self.loss_fn(out, ep.query_y))
            accs.append((out.argmax(1) == ep.query_y).float().mean() if out.ndim == 2 else torch.tensor(float("nan")))
        return torch.stack(losses).mean(), torch.stack(accs).mean()


class Conv4(nn.Module):
    """The 4-block conv embedding of Vinyals et al. 2016 / Snell et al. 2017: [3x3 conv(64) -> norm
    -> ReLU -> 2x2 max-pool] x 4, flattened (28x28 -> 64, 84x84 -> 1600). ``num_classes`` adds a
    linear head (the MAML classifier)."""

    def __init__(self, in_channels: int = 1, *, hidden: int = 64, norm: str = "group", num_classes: int | None = None,
                 image_size: int = 28):
        super().__init__()
        from ._norm import norm2d
        layers, c = [], in_channels
        for _ in range(4):
            layers += [nn.Conv2d(c, hidden, 3, padding=1), norm2d(norm, hidden), nn.ReLU(), nn.MaxPool2d(2)]
            c = hidden
        self.features = nn.Sequential(*layers, nn.Flatten())
        s = image_size
        for _ in range(4):
            s //= 2
        self.feature_dim = hidden * s * s
        self.head = nn.Linear(self.feature_dim, num_classes) if num_classes else None

    def forward(self, x):
        z = self.features(x)
        return self.head(z) if self.head is not None else z
