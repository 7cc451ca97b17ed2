"""``RowGroupEngine``: per-example gradients that are sums of several rows' gradients.

Some per-example losses depend on more than one input row.  A Prototypical-Networks query loss
``l_q`` depends on the query's embedding and on every support embedding (through the class
prototypes), so ``g_q = d l_q / d theta = sum_r J_r^T w_{q,r}``, with ``J_r`` the Jacobian of the
embedding of row ``r`` and ``w_{q,r} = d l_q / d z_r``.  The fast per-layer rules of
:class:`~ahtga.engine.PerExampleEngine` need every example to own its rows, and the batched
reference (one backward per query through the whole episode) costs ``Q`` backwards.

Here each example ``q`` gets its own copies of the rows it depends on: the caller runs the
model on an *expanded* batch (row ``r`` belongs to group ``groups[r]``) and forms one pseudo-loss
per row, ``L_r = <z_r, w_r>`` with the head's Jacobian ``w_r`` detached, so that
``grad L_r = J_r^T w_r`` and ``g_q = sum_{r in group q} grad L_r`` exactly (the layers must not mix
rows, e.g. GroupNorm rather than batch-statistics BatchNorm).  The inner engine gives every row's
gradient by its fast rules from one backward of ``sum_r L_r``; this class sums them per group:

* norms ``||g_q||``: rows materialised a chunk of whole groups at a time (at most ``chunk_elems``
  elements) and segment-summed;
* ``write_weighted_grad(w)``: ``sum_q w_q g_q = sum_r w_{groups[r]} grad L_r`` (no materialising);
* ``write_sign_grad(c)``: ``sum_q c_q sign(g_q)`` from the same per-group sums.

Usage (one step)::

    engine = RowGroupEngine(model)
    ...                                    # forward of the expanded batch, pseudo-losses
    engine.set_rows(row_losses, groups)    # groups: [R] int64, sorted, values 0..B-1
    opt.step(example_losses)               # AHTGA(model, engine=engine); engine.backward
                                           # returns the B group norms

Cost for 5-way 1-shot episodes with 15 queries per class (Omniglot, Conv-4, CPU): the expanded
batch has 75 x (1 + 5) rows; see ``ahtga.experiments.fewshot`` for the measured step times.
"""
from __future__ import annotations

import torch
from torch import nn

from .engine import PerExampleEngine


class RowGroupEngine:
    """The :class:`PerExampleEngine` interface over row groups (module docstring).

    Parameters: ``model`` and the keyword options of :class:`PerExampleEngine` (its ``mode`` must
    be ``"fast"``: the reference mode would not need row groups).
    """

    def __init__(self, model: nn.Module, **engine_kwargs):
        if engine_kwargs.get("mode", "fast") != "fast":
            raise ValueError("RowGroupEngine wraps the fast engine; got "
                             f"mode={engine_kwargs['mode']!r}")
        self.inner = PerExampleEngine(model, **engine_kwargs)
        self.params = self.inner.params
        self.chunk_elems = self.inner.chunk_elems
        self._rows = None
        self._groups = None
        self._bounds = None          # start row of every group, and R at the end

    def set_rows(self, row_losses: torch.Tensor, groups: torch.Tensor) -> None:
        """The rows' pseudo-losses [R] (with graph) and their groups [R] (sorted, 0..B-1, every
        group present) for the next :meth:`backward`."""
        if not isinstance(row_losses, torch.Tensor) or row_losses.dim() != 1:
            raise ValueError("`row_losses` must be a 1-d tensor [R]; got "
                             f"{tuple(getattr(row_losses, 'shape', ()))}")
        if (not isinstance(groups, torch.Tensor) or groups.shape != row_losses.shape
                or groups.dtype != torch.int64):
            raise ValueError("`groups` must be an int64 tensor of the rows' shape "
                             f"{tuple(row_losses.shape)}; got {getattr(groups, 'dtype', type(groups))} "
                             f"of shape {tuple(getattr(groups, 'shape', ()))}")
        g = groups.detach().cpu()
        if g.numel() == 0 or int(g[0]) != 0 or bool((g[1:] - g[:-1] < 0).any()) \
                or bool((g[1:] - g[:-1] > 1).any()):
            raise ValueError("`groups` must be sorted and cover 0..B-1 without gaps "
                             f"(rows of one example contiguous); got {g.tolist()[:20]}...")
        counts = torch.bincount(g)
        self._bounds = torch.cat([torch.zeros(1, dtype=torch.int64), counts.cumsum(0)]).tolist()
        self._rows, self._groups = row_losses, groups.to(row_losses.device)

    @property
    def num_groups(self) -> int:
        return len(self._bounds) - 1

    def backward(self, losses: torch.Tensor) -> torch.Tensor:
        """Per-example gradient norms [B] of the rows set by :meth:`set_rows`; ``losses`` are
        the B example losses (only their number is used here: their gradients are the rows')."""
        if self._rows is None:
            raise RuntimeError("call set_rows(row_losses, groups) before backward")
        if losses.dim() != 1 or losses.shape[0] != self.num_groups:
            raise ValueError(f"`losses` has {tuple(losses.shape)} but the rows form "
                             f"{self.num_groups} groups")
        rows, self._rows = self._rows, None
        self.inner.backward(rows)
        st = self.inner._state
        sq = None
        for p in self.params:
            cs = st["contribs"].get(id(p), [])
            if not cs:
                continue
            part = torch.cat([self._group_sums(cs, a, b).pow(2).sum(1)
                              for a, b in self._group_chunks(p.numel())])
            sq = part if sq is None else sq + part.to(sq.dtype)
        if sq is None:
            return torch.zeros(self.num_groups, device=losses.device)
        return sq.sqrt().detach()

    def _group_chunks(self, numel: int):
        """Ranges [a, b) of groups whose rows hold at most ``chunk_elems`` elements of
        per-row gradients (at least one group per range)."""
        bounds, n = self._bounds, self.num_groups
        a = 0
        while a < n:
            b = a + 1
            while b < n and (bounds[b + 1] - bounds[a]) * numel <= self.chunk_elems:
                b += 1
            yield a, b
            a = b

    def _group_sums(self, cs, a: int, b: int) -> torch.Tensor:
        """[b - a, numel]: sum over each group's rows of the per-row gradients."""
        r0, r1 = self._bounds[a], self._bounds[b]
        m = PerExampleEngine._summed(cs, r0, r1).reshape(r1 - r0, -1)
        out = torch.zeros(b - a, m.shape[1], dtype=m.dtype, device=m.device)
        return out.index_add_(0, self._groups[r0:r1] - a, m)

    def write_weighted_grad(self, weights: torch.Tensor) -> None:
        """``p.grad = sum_q weights_q g_q``."""
        self._check(weights, "weights")
        self.inner.write_weighted_grad(weights[self._groups])

    def write_sign_grad(self, coeffs: torch.Tensor) -> None:
        """``p.grad = sum_q coeffs_q sign(g_q)``."""
        self._check(coeffs, "coeffs")

        def sign_sum(p, cs):
            g = None
            for a, b in self._group_chunks(p.numel()):
                s = self._group_sums(cs, a, b)
                part = coeffs[a:b].to(s.dtype) @ s.sign()
                g = part if g is None else g + part
            return g

        self.inner.write_grads(sign_sum)

    def _check(self, v, name):
        if self._groups is None or self.inner._state is None:
            raise RuntimeError("call backward first (or the state was released)")
        if not isinstance(v, torch.Tensor) or v.shape != (self.num_groups,):
            raise ValueError(f"`{name}` must have shape ({self.num_groups},); got "
                             f"{tuple(getattr(v, 'shape', ()))}")

    def per_example_grads(self) -> dict[str, torch.Tensor]:
        """All per-example gradients ``{name: [B, *shape]}`` of the last backward (each the sum
        of its group's rows; for tests and small models)."""
        if self._groups is None or self.inner._state is None:
            raise RuntimeError("call backward first (or the state was released)")
        st = self.inner._state
        out = {}
        for p in self.params:
            cs = st["contribs"].get(id(p), [])
            name = self.inner._names.get(id(p), str(id(p)))
            if not cs:
                out[name] = torch.zeros(self.num_groups, *p.shape, dtype=p.dtype,
                                        device=p.device)
                continue
            out[name] = torch.cat([self._group_sums(cs, a, b)
                                   for a, b in self._group_chunks(p.numel())]).reshape(
                self.num_groups, *p.shape)
        return out

    def remove(self) -> None:
        """Remove the hooks (the engine can no longer be used)."""
        self.inner.remove()
        self._rows = self._groups = self._bounds = None

    def release(self) -> None:
        self.inner.release()
        self._rows = self._groups = self._bounds = None
