"""``PerExampleEngine``: per-example gradient norms and reweighted batch gradients.

Usage (what the optimizer does each step)::

    engine = PerExampleEngine(model)            # registers forward hooks once
    losses = loss_fn(model(x), y)               # shape [B], reduction="none"
    norms = engine.backward(losses)             # ||g_i||, one backward of losses.sum()
    engine.write_weighted_grad(s / B)           # p.grad = sum_i s_i g_i / B
    # or engine.write_sign_grad(c / B)          # p.grad = sum_i c_i sign(g_i) / B
    engine.release()

Modes
-----
``mode="fast"``: forward hooks store each hooked layer's inputs and the gradient edge of its
output (taken before any later in-place op); ``backward`` runs ONE ``torch.autograd.grad`` of
``losses.sum()`` with respect to those outputs -- which skips the ordinary weight gradients
altogether -- and applies the per-layer rules of :mod:`ahtga.engine.hooks`. Calls: the first
verifies (below); the second "plans": every output grad is captured and the engine notes which
layers' backward nodes ran (layers inside the graph); from the third on (``stream=True``) those
layers are processed by node pre-hooks as soon as their output gradient exists, and their
stored input and output gradient are freed during the backward unless the layer's rule needs
them for the weighted gradient; only the first layers of the graph (e.g. embeddings) and
fallback modules are captured. The per-layer rules are found through the one registration
point :func:`ahtga.engine.registry.register_rule` (built-in and user rules alike). If the graph changes so that a streamed layer becomes a first
layer, its gradient would be missed: build a new engine (or pass ``stream=False``) for models
whose structure changes between steps. The weighted
gradient is then written by book-keeping from the stored inputs and output grads (no second
backward); the sign form materialises one layer's per-example gradients at a time, in chunks of
examples bounded by ``chunk_elems`` elements. Modules with trainable parameters and no fast rule
use the per-layer fallback (:mod:`ahtga.engine.fallback`) with a one-time warning, except
``nn.LSTM``, whose calls the fallback path computes batched and exactly by recomputing the
unrolled layers (:mod:`ahtga.engine.lstm`; the generic fallback for the variants it does not
cover: bidirectional, projections, packed sequences, dropout in training). A parameter
used by several calls or modules (weight sharing) gets its per-example gradient as the sum of
the calls' contributions (materialised in chunks). On the first ``backward`` (``verify=True``)
the engine also asks autograd for the ordinary batch gradient and checks that its
per-example gradients sum to it: a parameter used outside its module's ``forward`` (e.g. a tied
head written as ``h @ emb.weight.T``, or a penalty on the weights inside the losses) is then
reported instead of silently getting a wrong gradient.

Standard protocol (``loss_reduction="mean"`` or ``"sum"``, fast mode): the forward hooks put a
pre-hook on each hooked layer's backward node, so the user's own ``loss.backward()`` of the
reduced loss hands every layer's output gradient to its rule as soon as it exists (the layer's
stored input is dropped right after); ``collect()`` then returns the norms (scaled by B for a
mean) and the weighted and sign gradients are written by the same book-keeping, with no second
backward. The ordinary ``.grad`` of that backward serves the one-time verification. A second
backward before ``collect()`` (gradient accumulation) makes ``collect()`` raise; ``discard()``
(called by the optimizer's ``zero_grad``) drops what completed backwards gathered.

``mode="reference"``: ``backward`` pushes the rows of the identity through the losses' graph
(``torch.autograd.grad(..., is_grads_batched=True)``, i.e. ``vmap`` over the backward pass;
one backward per example if an op has no batching rule) and keeps all per-example gradients
``[B, *p.shape]``. It needs nothing but the losses, so it fits the same interface; memory is
B times the model's gradient. Ground truth for the model-level reference is
:func:`ahtga.engine.reference.per_example_grads` (``torch.func``).

BatchNorm
---------
BatchNorm in training mode makes ``loss_i`` depend on every example through the batch
statistics, so a per-example gradient is not defined. The engine refuses it (construction or
forward) unless ``batchnorm="batch-stat"``, which adopts this convention: ``g_i`` is example
``i``'s term of the batch gradient's layer-wise decomposition, ``sum_t g_{i,t} a_{i,t}^T`` with
the output grads ``g`` of the single backward of ``sum_i loss_i`` (which carry the coupling
through the batch statistics), and for BatchNorm's own weight and bias ``xhat_i`` normalised
with the batch statistics treated as constants. Then ``sum_i g_i`` is exactly the batch
gradient, but ``g_i`` is not ``d loss_i / d theta``: an approximation. In eval mode (running
statistics) BatchNorm is per-example and exact under either setting.

Losses that are NaN or Inf give NaN/Inf norms: the caller (the optimizer) checks them.
Do not wrap the model in ``DistributedDataParallel`` (its reducer expects ``.grad`` from the
backward); use :mod:`ahtga.engine.distributed` to gather norms and all-reduce the gradients.
"""
from __future__ import annotations

import functools
import math
import warnings

import torch
from torch import nn
from torch.autograd.graph import get_gradient_edge
from torch.utils._pytree import tree_flatten, tree_unflatten

from .._validation import check_choice, check_int
from . import hooks as H
from . import lstm as _lstm
from .fallback import fallback_grads, output_batch_dims
from .reference import batched_autograd_grads
from .registry import RuleContext, rule_for

__all__ = ["PerExampleEngine"]

_JOINT_MAX = 1 << 16  # parameters this small (biases, norm weights) share one [B, N] block


def _joins_block(c) -> bool:
    """Whether a parameter's single contribution ``c`` goes into the shared [B, N] block of
    small materialised gradients (see ``_norms``)."""
    return type(c) is H.Materialised and c.param.numel() <= _JOINT_MAX


class _Record:
    __slots__ = ("module", "args", "kwargs", "leaves", "edges", "versions", "extra",
                 "gouts", "stream", "fired", "stats")

    def __init__(self):
        self.stream = self.fired = False
        self.stats = None


def _check_weights(name: str, w, batch: int, like: torch.Tensor) -> torch.Tensor:
    if not isinstance(w, torch.Tensor):
        w = torch.as_tensor(w)
    if w.dim() != 1 or w.shape[0] != batch:
        raise ValueError(f"`{name}` must have shape [{batch}] (one per example); got shape "
                         f"{tuple(w.shape)}")
    # Finiteness is checked on CPU only: on a GPU the check would synchronise every step
    # (the optimizer has already checked the norms the weights come from).
    if w.device.type == "cpu" and not bool(torch.isfinite(w).all()):
        raise ValueError(f"`{name}` contains NaN or Inf values; got {name}={w.tolist()[:8]}...")
    return w.detach().to(like.device)


class PerExampleEngine:
    """Per-example gradients of ``model``'s trainable parameters; see the module docstring.

    Parameters
    ----------
    model : the ``nn.Module`` whose forward produces the losses (not a DDP wrapper).
    mode : "fast" (hooks, per-layer rules) or "reference" (batched autograd on the losses).
    batchnorm : "error" (refuse BatchNorm using batch statistics) or "batch-stat" (the
        convention in the module docstring).
    fallback_warn : warn once per module type that uses the slow per-layer fallback.
    verify : on the first ``backward``, check that per-example gradients sum to autograd's
        batch gradient (costs one ordinary weight-gradient pass, once).
    chunk_elems : bound on elements materialised at once (unfolded inputs, per-example
        gradients of one layer for a chunk of examples).
    cache_elems : per-example gradients materialised for the norms are kept for the
        weighted/sign gradient (and the layer's stored input and output grad dropped) when
        they are no larger than that input and output grad, which saves memory; larger ones
        are kept while their total stays under this many elements, which saves recomputing
        them (0: only the memory-saving ones; the others' weighted gradient is recomputed
        from the stored inputs and output grads).
    stream : process layers inside the graph during the backward (node pre-hooks) from the
        third call on; False captures every output grad and processes after the backward.
    loss_reduction : None (``backward(losses)`` runs the engine's own backward) or "mean" /
        "sum": the standard protocol (module docstring), gathered during the user's backward.
    conv_strategy : how per-example convolution weight gradients are materialised: "unfold"
        (im2col + batched matmul), "grouped" (one weight-gradient convolution with the batch
        folded into the groups), "mixed" (per layer: grouped where an example's im2col copy
        would be larger than its per-example gradient, i.e. more output positions than output
        channels per group; unfold elsewhere) or "auto" (grouped on the CPU, mixed elsewhere).
    """

    def __init__(self, model: nn.Module, *, mode: str = "fast", batchnorm: str = "error",
                 fallback_warn: bool = True, verify: bool = True,
                 chunk_elems: int = 2 ** 25, cache_elems: int = 2 ** 25,
                 conv_strategy: str = "auto", stream: bool = True,
                 loss_reduction: str | None = None):
        if isinstance(model, nn.parallel.DistributedDataParallel):
            raise TypeError("`model` is a DistributedDataParallel wrapper; pass model.module "
                            "and use ahtga.engine.distributed.allreduce_grads after writing "
                            "the gradient (DDP's reducer expects .grad from the backward)")
        if not isinstance(model, nn.Module):
            raise TypeError(f"`model` must be an nn.Module; got {type(model).__name__}")
        self.mode = check_choice("mode", mode, {"fast", "reference"})
        self.batchnorm = check_choice("batchnorm", batchnorm, {"error", "batch-stat"})
        self.fallback_warn = bool(fallback_warn)
        self.verify = bool(verify)
        self.chunk_elems = check_int("chunk_elems", chunk_elems, min_value=1)
        self.cache_elems = check_int("cache_elems", cache_elems, min_value=0)
        self.stream = bool(stream)
        self.conv_strategy = check_choice("conv_strategy", conv_strategy,
                                          {"auto", "unfold", "grouped", "mixed"})
        if loss_reduction is not None:
            check_choice("loss_reduction", loss_reduction, {"mean", "sum"})
            if self.mode != "fast":
                raise ValueError("`loss_reduction` (the standard protocol) needs mode='fast'; got "
                                 f"mode={self.mode!r}")
        self.loss_reduction = loss_reduction
        self.model = model
        self.params: list[nn.Parameter] = [p for p in model.parameters() if p.requires_grad]
        if not self.params:
            raise ValueError("`model` has no trainable parameters (none with requires_grad)")
        self._names = {id(p): n for n, p in model.named_parameters()}
        self._handles = []
        self._pending: list[_Record] = []
        self._recording = True
        self._warned: set[str] = set()
        self._state = None
        self._verified = False
        self._planned = False          # first fast backward: find which layers can stream
        self._contribs = self._sqs = None
        self._streamable: set = set()
        self._rule_of: dict = {}       # hooked module -> its registered Rule
        for m in model.modules():      # a rule may refuse a module (BatchNorm under "error")
            rule = rule_for(m)
            if rule is not None and rule.forward_check is not None:
                rule.forward_check(m, self)
        self._fallback_params: dict[nn.Module, list[str]] = {}
        # standard protocol: what the hooks gathered during the user's backward(s)
        self._backwards = 0            # completed backwards since the last collect
        self._in_backward = self._accumulated = False
        self._fired_pytree: list[_Record] = []
        self._batch = None
        self._lowp = False             # a half-precision output grad was seen (autocast)
        if self.mode == "fast":
            self._plan(model)

    # ----------------------------------------------------------------------------- set-up
    def _plan(self, model: nn.Module) -> None:
        covered: set[nn.Module] = set()
        for m in model.modules():
            if m in covered:
                continue
            direct = [n for n, p in m.named_parameters(recurse=False) if p.requires_grad]
            rule = rule_for(m)
            if rule is not None:   # a registered per-example rule (ahtga.engine.registry)
                if direct or rule.hook_without_params:
                    self._rule_of[m] = rule
                    self._handles.append(m.register_forward_hook(self._hook, with_kwargs=True))
            elif direct:
                whole = (isinstance(m, (nn.RNNBase, nn.MultiheadAttention))
                         or not any(True for _ in m.children()))
                if whole:
                    names = [n for n, p in m.named_parameters() if p.requires_grad]
                    covered.update(m.modules())
                else:
                    names = direct
                self._fallback_params[m] = names
                self._handles.append(m.register_forward_hook(self._hook, with_kwargs=True))

    def remove(self) -> None:
        """Remove the hooks (the engine can no longer be used)."""
        for h in self._handles:
            h.remove()
        self._handles.clear()
        self.release()

    def _hook(self, m, args, kwargs, output):
        if not self._recording or not torch.is_grad_enabled():
            return
        rule = self._rule_of.get(m)
        extra = None
        if rule is not None:
            if rule.forward_check is not None:
                extra = rule.forward_check(m, self)
            if not any(p.requires_grad for p in m.parameters(recurse=False)):
                return
        if m not in self._fallback_params and isinstance(output, torch.Tensor):
            # fast-rule layers: one input, one tensor output; no pytree work
            if not output.requires_grad:
                return
            x = args[0] if args else next(iter(kwargs.values()))
            x = x.detach()
            r = _Record()
            r.module, r.extra, r.gouts = m, extra, None
            r.args, r.kwargs, r.versions = (x,), {}, [(x, x._version)]
            edge = get_gradient_edge(output)
            r.leaves, r.edges = [tuple(output.shape)], [edge]
            r.stats = (rule.forward_stats(m, output)
                       if rule is not None and rule.forward_stats is not None else None)
            if self.loss_reduction is not None:
                edge.node.register_prehook(functools.partial(self._attached_hook, r,
                                                             edge.output_nr))
                r.edges = None   # (the node holds the record through its hook, not vice versa)
            elif not self._planned:
                edge.node.register_prehook(functools.partial(self._mark_fired, r))
            elif self.stream and m in self._streamable:
                r.stream = True
                edge.node.register_prehook(functools.partial(self._stream_hook, r,
                                                             edge.output_nr))
            self._pending.append(r)
            return
        leaves, _ = tree_flatten(output)
        leaves = [v if isinstance(v, torch.Tensor) else None for v in leaves]
        edges = [get_gradient_edge(v) if v is not None and v.requires_grad else None
                 for v in leaves]
        if all(e is None for e in edges):
            return
        r = _Record()
        r.module, r.extra = m, extra
        flat_args, spec = tree_flatten((args, kwargs))
        det = [v.detach() if isinstance(v, torch.Tensor) else v for v in flat_args]
        r.versions = [(v, v._version) for v in det if isinstance(v, torch.Tensor)]
        r.args, r.kwargs = tree_unflatten(det, spec)
        r.leaves = [None if v is None else tuple(v.shape) for v in leaves]
        r.edges = edges
        r.gouts = None
        if self.loss_reduction is not None:
            r.gouts = [None] * len(leaves)
            for j, e in enumerate(edges):
                if e is not None:
                    e.node.register_prehook(functools.partial(self._attached_leaf, r, j,
                                                              e.output_nr))
            r.edges = None
        self._pending.append(r)

    # ------------------------------------------------------------- the standard protocol
    def _begin(self) -> bool:
        """Called by every attached hook: notes the start of a backward (and queues its end);
        False when this backward must not be gathered (a second one before ``collect``)."""
        if not self._in_backward:
            self._in_backward = True
            torch.autograd.Variable._execution_engine.queue_callback(self._backward_done)
            if self._contribs is None:
                self._contribs, self._sqs, self._batch = {}, {}, None
                self._cache_left = [self.cache_elems]
        if self._backwards > 0:
            self._accumulated = True
            return False
        return True

    def _backward_done(self) -> None:
        self._in_backward = False
        if not self._accumulated:
            self._backwards += 1
        self._pending = []   # forward records this backward did not reach are dropped

    def _attached_hook(self, r, nr, grad_outputs):
        """Node pre-hook of a fast-rule layer during the user's backward: the layer's output
        grad of the reduced loss; processed at once, then the stored input is dropped."""
        if r.args is None or not self._begin():
            return
        g = grad_outputs[nr]
        try:
            if g is None:
                return
            for v, ver in r.versions:
                if v._version != ver:
                    raise RuntimeError(
                        f"an input of {type(r.module).__name__} was modified in place after its "
                        "forward; the engine needs the layer inputs unchanged (avoid in-place "
                        "ops such as ReLU(inplace=True) on a tensor that feeds a layer)")
            if self._batch is None:
                self._batch = r.args[0].shape[0]
            r.gouts = [g]
            with torch.no_grad():
                self._consume(r)
        finally:
            r.args = r.gouts = r.stats = None
            r.versions = ()

    def _attached_leaf(self, r, j, nr, grad_outputs):
        """Node pre-hook of one output of a fallback (or multi-output) module: its grad is
        kept; the module is processed by ``collect``."""
        if r.args is None or not self._begin():
            return
        r.gouts[j] = grad_outputs[nr]
        if not r.fired:
            r.fired = True
            self._fired_pytree.append(r)

    def collect(self) -> torch.Tensor:
        """Standard protocol (``loss_reduction`` set): the per-example gradient norms [B] of
        the one backward of the reduced loss since the last ``collect``/``release``, from what
        the hooks gathered during it (no second backward). ``loss_reduction="mean"`` multiplies
        by B what the backward gave (the gradient of ``mean_i loss_i``), so the norms and the
        weighted gradient are those of the per-example losses, as with :meth:`backward`.

        Raises ``RuntimeError`` when no backward ran, or when several ran (gradient
        accumulation is not supported: the examples of one step must come from one backward).
        """
        if self.loss_reduction is None:
            raise RuntimeError("collect() is the standard protocol: build the engine with "
                               "loss_reduction='mean' or 'sum'")
        accumulated, done = self._accumulated, self._backwards
        if accumulated or done != 1:
            self.release()
            if accumulated:
                raise RuntimeError(
                    "several backwards ran since the last step: gradient accumulation is not "
                    "supported by AHTGA's standard protocol (the per-example set of a step must "
                    "come from one backward); call opt.step() after every backward, or "
                    "concatenate the micro-batches into one batch")
            raise RuntimeError("no backward of the model's loss ran since the last step: call "
                               "loss.backward() (with the loss computed from the model's "
                               "output after the optimizer was built) before opt.step()")
        contribs, sqs, batch = self._contribs, self._sqs, self._batch
        fired, self._fired_pytree = self._fired_pytree, []
        try:
            with torch.no_grad():
                for r in fired:
                    if batch is None:
                        lv = [s for s in r.leaves if s is not None]
                        batch = lv[0][output_batch_dims(r.module, len(lv))[0]]
                        self._batch = batch
                    if all(g is None for g in r.gouts):
                        continue
                    self._consume(r)
                    r.args = r.gouts = None
        finally:
            self._contribs = self._sqs = None
            self._backwards = 0
        if batch is None:
            raise RuntimeError("the backward reached no layer with trainable parameters")
        scale = float(batch) if self.loss_reduction == "mean" else 1.0
        dev = self.params[0].device
        self._state = {"batch": batch, "device": dev, "contribs": contribs, "scale": scale}
        norms = self._norms(sqs)
        if self.verify and not self._verified:
            self._check([p.grad for p in self.params], lowp=self._lowp)
            self._verified = True
        return norms * scale if scale != 1.0 else norms

    def discard(self) -> None:
        """Drop what was gathered by completed backwards (``optimizer.zero_grad`` calls this:
        zeroed gradients start a new step); forward records waiting for a backward stay."""
        if self.loss_reduction is None:
            return
        self._state = None
        self._contribs = self._sqs = self._batch = None
        self._fired_pytree = []
        self._backwards = 0
        self._accumulated = False

    # ---------------------------------------------------------------------------- backward
    def backward(self, losses: torch.Tensor) -> torch.Tensor:
        """One backward of ``losses.sum()``; returns per-example gradient norms [B] (detached)."""
        if not isinstance(losses, torch.Tensor) or losses.dim() != 1 or losses.shape[0] < 1:
            raise ValueError("`losses` must be a tensor of shape [B] (per-example losses, "
                             "reduction='none'); got "
                             f"{tuple(losses.shape) if isinstance(losses, torch.Tensor) else type(losses).__name__}")
        if not losses.requires_grad:
            raise ValueError("`losses` does not require grad: compute them from the model's "
                             "output with grad enabled")
        self._state = None
        if self.mode == "reference":
            return self._backward_reference(losses)
        if self.loss_reduction is not None:   # the standard protocol's own backward
            self.discard()
            for p in self.params:
                p.grad = None
            red = losses.mean() if self.loss_reduction == "mean" else losses.sum()
            if red.shape != () or losses.shape[0] < 1:
                raise ValueError("`losses` must be non-empty")
            red.backward()
            return self.collect()
        return self._backward_fast(losses)

    def _backward_reference(self, losses):
        grads = batched_autograd_grads(losses, self.params)
        self._state = {"batch": losses.shape[0], "device": losses.device,
                       "contribs": {id(p): [H.Materialised(p, g.to(H.compute_dtype(g)))]
                                    for p, g in zip(self.params, grads)}}
        return self._norms()

    def _mark_fired(self, r, grad_outputs):
        if self._contribs is not None:
            r.fired = True

    def _stream_hook(self, r, nr, grad_outputs):
        """Node pre-hook: process a layer as soon as its output gradient exists, then drop
        the layer's stored input and the gradient (unless its rule keeps them)."""
        if self._contribs is None or not r.stream:  # not the engine's backward, or captured
            return
        g = grad_outputs[nr]
        r.fired = True
        if g is not None:
            r.gouts = [g]
            self._consume(r)
        # (the version entry holds the input too: without clearing it, every streamed layer's
        # input would stay alive until the backward ends)
        r.args = r.gouts = r.stats = None
        r.versions = ()

    def _consume(self, r):
        if any(g is not None and g.dtype in (torch.float16, torch.bfloat16) for g in r.gouts):
            self._lowp = True   # autocast: the verification allows half-precision rounding
        contribs, sqs = self._contribs, self._sqs
        for c in self._rules(r, self._batch):
            contribs.setdefault(id(c.param), []).append(c)
            if len(contribs[id(c.param)]) == 1:
                if not _joins_block(c):  # (those are gathered into one block by _norms)
                    sqs[id(c.param)] = c.sq_norms()  # may cache and drop the factors
            else:
                sqs.pop(id(c.param), None)

    def _backward_fast(self, losses):
        """One ``autograd.grad`` of ``losses.sum()``. Layers found to be inside the graph on the
        first call ("streamable": their backward node runs) are processed by node pre-hooks
        during the backward, so their output grads and stored inputs are freed as it goes;
        the others (the first layers, e.g. embeddings, and fallback modules) have their output
        grads returned by ``autograd.grad`` and are processed after it. Parameter gradients of
        the ordinary kind are never computed (except on the verification call)."""
        records, self._pending = self._pending, []
        batch = losses.shape[0]
        for r in records:
            for v, ver in r.versions:
                if v._version != ver:
                    for q in records:
                        q.edges = None
                    raise RuntimeError(
                        f"an input of {type(r.module).__name__} was modified in place after its "
                        "forward; the engine needs the layer inputs unchanged (avoid in-place "
                        "ops such as ReLU(inplace=True) on a tensor that feeds a layer)")
        if not records:
            raise RuntimeError("no forward pass was recorded: run the model's forward (with "
                               "grad enabled) after creating the engine, then call backward")
        if all(r.stream for r in records):  # autograd.grad needs an input: capture one layer
            records[0].stream = False
        edges = [(r, j, e) for r in records if not r.stream
                 for j, e in enumerate(r.edges) if e is not None]
        check = self.verify and not self._verified
        inputs = [e for _, _, e in edges] + (list(self.params) if check else [])
        self._batch, self._contribs, self._sqs = batch, {}, {}
        self._cache_left = [self.cache_elems]  # per-example grads kept across layers
        try:
            try:
                grads = torch.autograd.grad(losses.sum(), inputs, allow_unused=True)
            finally:
                # A record's edge holds its backward node, whose pre-hook holds the record:
                # a reference cycle through C++ that the garbage collector cannot break, which
                # would keep every step's graph alive. Cut it here.
                for r in records:
                    r.edges = None
                del inputs
            for r in records:
                if not r.stream:
                    r.gouts = [None] * len(r.leaves)
            for (r, j, _), g in zip(edges, grads):
                r.gouts[j] = g
            auto = grads[len(edges):]
            del grads, edges
            if not self._planned and not check:  # (parameter requests run every node)
                fired = {r.module for r in records if r.fired}
                unfired = {r.module for r in records if not r.fired}
                self._streamable = {m for m in fired - unfired
                                    if m not in self._fallback_params}
                self._planned = True
            with torch.no_grad():  # (the rules must not record a graph; streamed ones run
                # inside the backward, where grad mode is off already)
                while records:  # consume records so each output grad is freed once its rule ran
                    r = records.pop(0)
                    if r.stream or all(g is None for g in r.gouts):
                        continue
                    self._consume(r)
                    del r
            contribs, sqs = self._contribs, self._sqs
        finally:
            self._contribs = self._sqs = None
        self._state = {"batch": batch, "device": losses.device, "contribs": contribs}
        norms = self._norms(sqs)
        if check:
            self._check(auto, lowp=self._lowp)
            self._verified = True
        return norms

    def _rules(self, r: _Record, batch: int):
        m = r.module
        first = r.args[0] if r.args else None
        if isinstance(first, torch.Tensor) and not isinstance(m, (nn.RNNBase,
                                                                  nn.MultiheadAttention)):
            if first.dim() == 0 or first.shape[0] != batch:
                raise RuntimeError(
                    f"{type(m).__name__} ran on a batch of {first.shape[0] if first.dim() else 0}"
                    f" examples but `losses` has {batch}: the engine needs every hooked layer "
                    "to see the whole batch in dim 0")
        if m in self._fallback_params:
            return self._fallback(r, batch)
        gout = r.gouts[0]
        if gout is None:
            return []
        return self._rule_of[m].fn(RuleContext(
            module=m, input=first, grad_output=gout, batch=batch, budget=self.chunk_elems,
            cache_left=self._cache_left, conv_strategy=self.conv_strategy, stats=r.stats,
            extra=r.extra))

    def _fallback(self, r: _Record, batch: int):
        m = r.module
        kind = type(m).__name__
        batched = _lstm.supported(m, r.args, r.kwargs)   # nn.LSTM: batched, exact (engine.lstm)
        if not batched and self.fallback_warn and kind not in self._warned:
            self._warned.add(kind)
            warnings.warn(f"{kind} has no fast per-example rule; using the per-layer torch.func "
                          "fallback (slower, exact)", RuntimeWarning, stacklevel=4)
        params = dict(m.named_parameters())
        names = [n for n in self._fallback_params[m] if params[n].requires_grad]
        if not names:
            return []
        leaves = [s for s in r.leaves if s is not None]
        gouts = [g for g, s in zip(r.gouts, r.leaves) if s is not None]

        def loop_warn():
            key = kind + ":loop"
            if self.fallback_warn and key not in self._warned:
                self._warned.add(key)
                warnings.warn(f"{kind}: torch.func.vmap failed; per-example autograd loop "
                              "used instead (slow, exact)", RuntimeWarning, stacklevel=5)

        self._recording = False
        try:
            with torch.enable_grad():
                if batched:
                    g = _lstm.per_example_grads(m, names, r.args, r.kwargs, gouts, batch)
                else:
                    g = fallback_grads(m, names, r.args, r.kwargs, gouts,
                                       output_batch_dims(m, len(leaves)), batch, on_loop=loop_warn)
        finally:
            self._recording = True
        return [H.Materialised(params[n], v.detach().to(H.compute_dtype(v)))
                for n, v in g.items()]

    def _check(self, auto_grads, lowp: bool = False) -> None:
        st = self._state
        ones = torch.ones(st["batch"], device=st["device"])
        # A parameter whose true gradient is exactly zero (e.g. an attention key bias: softmax
        # ignores it) has rounding noise on both sides; judge it against the whole gradient,
        # with a floor of sqrt(machine eps) of its norm (3.5e-4 in float32, 1.5e-8 in float64).
        total = math.sqrt(sum(float(g.norm()) ** 2 for g in auto_grads if g is not None))
        for p, ga in zip(self.params, auto_grads):
            mine = self._weighted_for(p, ones)
            ref = torch.zeros_like(p) if ga is None else ga
            mine = torch.zeros_like(p) if mine is None else mine.to(p.dtype)
            tol = (1e-2 if lowp or p.dtype in (torch.float16, torch.bfloat16) else 1e-3)
            err = float((mine - ref).norm())
            floor = math.sqrt(torch.finfo(p.dtype).eps) * total if p.dtype.is_floating_point else 0.0
            scale = float(ref.norm()) + float(mine.norm()) + floor + 1e-12
            if err > tol * scale:
                raise RuntimeError(
                    f"per-example gradients of parameter '{self._names.get(id(p), '?')}' "
                    f"(shape {tuple(p.shape)}) do not sum to the batch gradient (relative "
                    f"error {err / scale:.2e}): it is probably used outside its module's forward "
                    "(a tied weight used functionally, a weight penalty inside the losses) or by "
                    "a module that mixes examples. Use mode='reference' or restructure the model.")

    # ------------------------------------------------------------------------------- norms
    def _need_state(self):
        if self._state is None:
            raise RuntimeError("call backward(losses) first (or the state was released)")
        return self._state

    def _norms(self, done: dict | None = None) -> torch.Tensor:
        st = self._state
        done = done or {}
        sqs = []
        small: dict = {}  # (dtype, device) -> single materialised contributions of small params
        for p in self.params:
            cs = st["contribs"].get(id(p), [])
            if not cs:
                continue
            if len(cs) == 1:
                c = cs[0]
                if id(p) in done:
                    sqs.append(done[id(p)])
                elif _joins_block(c):
                    small.setdefault((c.G.dtype, c.G.device), []).append(c)
                else:
                    sqs.append(c.sq_norms())
            else:
                sqs.append(torch.cat([
                    H.row_sq_norms(self._summed(cs, s, e))
                    for s, e in H.chunks(st["batch"], p.numel() * (len(cs) + 1),
                                         self.chunk_elems)]))
        st["joint"] = joint = []
        for group in small.values():
            if len(group) == 1:
                sqs.append(group[0].sq_norms())
                continue
            # Biases and normalisation weights: one [B, N] block for all of them, so their
            # norms, weighted and sign gradients take a few ops instead of a few per parameter.
            b = st["batch"]
            flat = torch.cat([c.G.reshape(b, -1) for c in group], 1)
            pids, sizes, start = [], [], 0
            for c in group:
                n = c.param.numel()
                c.move_to_block(flat, start, start + n)
                pids.append(id(c.param))
                sizes.append(n)
                start += n
            joint.append((flat, pids, sizes))
            sqs.append(H.row_sq_norms(flat))
        dt = torch.float64 if any(q.dtype == torch.float64 for q in sqs) else torch.float32
        if not sqs:
            total = torch.zeros(st["batch"], dtype=dt, device=st["device"])
        else:
            total = torch.stack([q.to(dt) for q in sqs]).sum(0)
        return total.sqrt().detach()

    def _joint(self, fn) -> dict:
        """``{id(p): fn(block)[span]}`` for the parameters gathered in joint blocks."""
        out = {}
        for flat, pids, sizes in self._state.get("joint", ()):
            out.update(zip(pids, fn(flat).split(sizes)))
        return out

    @staticmethod
    def _summed(cs, s, e):
        out = cs[0].materialise(s, e)
        for c in cs[1:]:
            out = out + c.materialise(s, e)
        return out

    # ------------------------------------------------------------------------------ writes
    def _weighted_for(self, p, w):
        cs = self._state["contribs"].get(id(p), [])
        out = None
        for c in cs:
            v = c.weighted(w)
            out = v if out is None else out + v
        return out

    def write_grads(self, grad_for) -> None:
        """Set every covered parameter's ``.grad`` to ``grad_for(p, contribs)`` (param-shaped or
        flat); a parameter with no contribution in this backward (frozen, or not in the
        losses' graph) gets ``.grad = None``, so torch.optim-style updates leave it untouched.
        ``grad_for`` giving None means a zero gradient."""
        st = self._need_state()
        with torch.no_grad():
            for p in self.params:
                cs = st["contribs"].get(id(p), [])
                if not cs:
                    p.grad = None
                    continue
                g = grad_for(p, cs)
                p.grad = torch.zeros_like(p) if g is None else g.to(p.dtype).reshape(p.shape)

    def write_weighted_grad(self, weights: torch.Tensor) -> None:
        """Set ``p.grad = sum_i weights_i g_i`` for every covered parameter (overwrites)."""
        st = self._need_state()
        w = _check_weights("weights", weights, st["batch"], self.params[0])
        if st.get("scale", 1.0) != 1.0:   # standard protocol, mean-reduced loss
            w = w * st["scale"]
        joint = self._joint(lambda flat: w.to(flat.dtype) @ flat)
        self.write_grads(lambda p, cs: joint[id(p)] if id(p) in joint
                         else self._weighted_for(p, w))

    def write_sign_grad(self, coeffs: torch.Tensor) -> None:
        """Set ``p.grad = sum_i coeffs_i sign(g_i)``, one parameter's per-example grads at a time."""
        st = self._need_state()
        c = _check_weights("coeffs", coeffs, st["batch"], self.params[0])
        joint = self._joint(lambda flat: c.to(flat.dtype) @ flat.sign())

        def sign_sum(p, cs):
            if id(p) in joint:
                return joint[id(p)]
            if len(cs) == 1:
                return cs[0].sign_sum(c, self.chunk_elems)
            g = None
            for s, e in H.chunks(st["batch"], p.numel() * (len(cs) + 1), self.chunk_elems):
                part = torch.tensordot(c[s:e].to(cs[0].dtype), self._summed(cs, s, e).sign(), 1)
                g = part if g is None else g + part
            return g

        self.write_grads(sign_sum)

    def per_example_grads(self) -> dict[str, torch.Tensor]:
        """All per-example gradients ``{name: [B, *shape]}`` of the last backward (for tests
        and small models: memory is B times the model)."""
        st = self._need_state()
        out = {}
        for p in self.params:
            cs = st["contribs"].get(id(p), [])
            name = self._names.get(id(p), str(id(p)))
            out[name] = (self._summed(cs, 0, st["batch"]).reshape(st["batch"], *p.shape) if cs
                         else torch.zeros(st["batch"], *p.shape, dtype=p.dtype, device=p.device))
            if st.get("scale", 1.0) != 1.0:
                out[name] = out[name] * st["scale"]
        return out

    def release(self) -> None:
        """Drop stored activations, output grads and per-example gradients."""
        self._state = None
        for r in self._pending:
            r.edges = None  # see _backward_fast: breaks the record <-> node cycle
        self._pending = []
        if self.loss_reduction is not None:
            self.discard()
