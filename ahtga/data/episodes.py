"""Few-shot episodes over any class-indexed source.

A *source* is any object with a ``targets`` (or ``y``) int tensor ``[N]`` and ``source[i]`` giving
``(x_i, y_i)`` (an :class:`ArrayDataset`, :class:`ImageFolder`, :class:`MiniImageNet`...).
An :class:`Episode` holds support and query tensors with labels relabelled ``0 .. ways-1`` in the
order of ``classes`` (the source's class ids).

* :class:`EpisodeSampler`: fixed ``ways``-way ``shots``-shot with ``queries`` per class.
* :class:`MetaDatasetSampler`: the varying-ways, varying-shots episodes of Meta-Dataset
  (Triantafillou et al. 2020, sec. 3.2, as recalled; confirm constants against the paper):

  1. ways ``N ~ U{min_ways, min(max_ways, C)}``; classes drawn without replacement;
  2. queries per class ``q = min(max_query, min_c floor(query_fraction * n_c))``;
  3. support budget ``|S| = min(max_support, sum_c ceil(beta * min(100, n_c - q)))``,
     ``beta ~ U(0, 1]``;
  4. shares ``R_c = exp(a_c) n_c / sum_c' exp(a_c') n_c'`` with ``a_c ~ U[log 0.5, log 2)``;
  5. shots ``k_c = min(floor(R_c (|S| - N)) + 1, n_c - q)`` (at least one per class).

Both are seeded: ``sample(seed)`` or iterating with ``seed`` gives the same episodes each run.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from ahtga._validation import check_in_range, check_int


@dataclass
class Episode:
    support_x: torch.Tensor
    support_y: torch.Tensor
    query_x: torch.Tensor
    query_y: torch.Tensor
    classes: list[int]

    @property
    def ways(self) -> int:
        return len(self.classes)


def class_index(source) -> dict[int, torch.Tensor]:
    """Map class id -> tensor of example indices, from ``source.targets`` or ``source.y``."""
    t = getattr(source, "targets", None)
    if t is None:
        t = getattr(source, "y", None)
    if t is None:
        raise TypeError(f"`source` must have a `targets` or `y` label tensor; got {type(source).__name__}")
    t = torch.as_tensor(t)
    order = torch.argsort(t, stable=True)
    ids, counts = torch.unique_consecutive(t[order], return_counts=True)
    return {int(c): idx for c, idx in zip(ids.tolist(), torch.split(order, counts.tolist()))}


def _gather(source, idx: torch.Tensor) -> torch.Tensor:
    x = getattr(source, "x", None)
    if isinstance(x, torch.Tensor):
        return x[idx]
    return torch.stack([source[int(i)][0] for i in idx])


def _build(source, picks: list[tuple[int, torch.Tensor, int, int]]) -> Episode:
    """picks: (class id, permuted indices of that class, shots, queries); queries follow the shots."""
    s_idx, s_y, q_idx, q_y = [], [], [], []
    for j, (c, perm, k, q) in enumerate(picks):
        s_idx.append(perm[:k]); s_y.append(torch.full((k,), j))
        q_idx.append(perm[k:k + q]); q_y.append(torch.full((q,), j))
    s_idx, q_idx = torch.cat(s_idx), torch.cat(q_idx)
    return Episode(_gather(source, s_idx), torch.cat(s_y), _gather(source, q_idx), torch.cat(q_y),
                   [c for c, *_ in picks])


class EpisodeSampler:
    """``ways``-way ``shots``-shot episodes with ``queries`` query examples per class."""

    def __init__(self, source, *, ways: int = 5, shots: int = 1, queries: int = 15,
                 episodes: int = 100, seed: int = 0):
        self.source, self.index = source, class_index(source)
        self.ways = check_int("ways", ways, min_value=1, max_value=len(self.index))
        self.shots = check_int("shots", shots, min_value=1)
        self.queries = check_int("queries", queries, min_value=0)
        self.episodes = check_int("episodes", episodes, min_value=1)
        self.seed = check_int("seed", seed)
        self.classes = [c for c, idx in self.index.items() if len(idx) >= shots + queries]
        if len(self.classes) < self.ways:
            raise ValueError(f"only {len(self.classes)} classes have >= shots + queries = "
                             f"{shots + queries} examples; `ways`={ways} needs {ways}")

    def sample(self, generator: torch.Generator) -> Episode:
        cls = torch.randperm(len(self.classes), generator=generator)[:self.ways].tolist()
        picks = []
        for i in cls:
            c = self.classes[i]
            idx = self.index[c]
            picks.append((c, idx[torch.randperm(len(idx), generator=generator)], self.shots, self.queries))
        return _build(self.source, picks)

    def __iter__(self):
        g = torch.Generator().manual_seed(self.seed)
        for _ in range(self.episodes):
            yield self.sample(g)

    def __len__(self) -> int:
        return self.episodes


class MetaDatasetSampler:
    """Varying ways and shots (Meta-Dataset); see the module docstring for the algorithm."""

    def __init__(self, source, *, min_ways: int = 5, max_ways: int = 50, max_query: int = 10,
                 query_fraction: float = 0.5, max_support: int = 500, max_support_per_class: int = 100,
                 episodes: int = 100, seed: int = 0):
        self.source, self.index = source, class_index(source)
        self.min_ways = check_int("min_ways", min_ways, min_value=1, max_value=len(self.index))
        self.max_ways = check_int("max_ways", max_ways, min_value=self.min_ways)
        self.max_query = check_int("max_query", max_query, min_value=1)
        self.query_fraction = check_in_range("query_fraction", query_fraction, 0.0, 1.0, lo_open=True, hi_open=True)
        self.max_support = check_int("max_support", max_support, min_value=1)
        self.max_support_per_class = check_int("max_support_per_class", max_support_per_class, min_value=1)
        self.episodes = check_int("episodes", episodes, min_value=1)
        self.seed = check_int("seed", seed)
        self.classes = [c for c, idx in self.index.items() if math.floor(query_fraction * len(idx)) >= 1
                        and len(idx) >= 2]
        if len(self.classes) < self.min_ways:
            raise ValueError(f"only {len(self.classes)} classes have >= 2 examples; `min_ways`={min_ways}")

    def sample(self, generator: torch.Generator) -> Episode:
        g = generator
        hi = min(self.max_ways, len(self.classes))
        n = int(torch.randint(self.min_ways, hi + 1, (1,), generator=g))
        cls = [self.classes[i] for i in torch.randperm(len(self.classes), generator=g)[:n].tolist()]
        sizes = torch.tensor([len(self.index[c]) for c in cls], dtype=torch.float64)
        q = int(min(self.max_query, int(torch.floor(self.query_fraction * sizes).min())))
        beta = 1.0 - float(torch.rand((), generator=g, dtype=torch.float64))  # in (0, 1]
        budget = int(torch.ceil(beta * torch.clamp(sizes - q, max=self.max_support_per_class)).sum())
        budget = min(self.max_support, budget)
        a = torch.empty(n, dtype=torch.float64).uniform_(math.log(0.5), math.log(2.0), generator=g)
        share = torch.exp(a) * sizes
        share = share / share.sum()
        shots = torch.minimum(torch.floor(share * max(budget - n, 0)).long() + 1, sizes.long() - q)
        picks = []
        for c, k in zip(cls, shots.tolist()):
            idx = self.index[c]
            picks.append((c, idx[torch.randperm(len(idx), generator=g)], int(k), q))
        return _build(self.source, picks)

    def __iter__(self):
        g = torch.Generator().manual_seed(self.seed)
        for _ in range(self.episodes):
            yield self.sample(g)

    def __len__(self) -> int:
        return self.episodes
