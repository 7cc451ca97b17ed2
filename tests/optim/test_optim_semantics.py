"""torch.optim's semantics for AHTGA and every baseline: a parameter without a gradient in a step
is untouched (no momentum, no weight decay); ``load_state_dict`` checks counts and shapes and
names the parameter; ``add_param_group`` is validated; param groups with different
hyper-parameters each follow their own rule."""
from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from torch import nn

from ahtga.control import FixedExponent
from ahtga.optim import build_optimizer
from ahtga.optim.ahtga import AHTGA
from optim_ahtga_kit import fixed_k_hill
from test_optim_baselines import CASES, GRADS, IDS, THETA0, reference_run

EST = fixed_k_hill(8)
B = 16


class TwoHeads(nn.Module):
    """A trunk and two heads; ``use`` picks which heads feed the loss."""

    def __init__(self, seed=0):
        super().__init__()
        torch.manual_seed(seed)
        self.trunk = nn.Linear(5, 8)
        self.a = nn.Linear(8, 3)
        self.b = nn.Linear(8, 3)
        self.use = ("a", "b")

    def forward(self, x):
        h = torch.tanh(self.trunk(x))
        return sum(getattr(self, n)(h) for n in self.use)


def _data(step, seed=1):
    g = torch.Generator().manual_seed(seed + step)
    return torch.randn(B, 5, generator=g), torch.randint(0, 3, (B,), generator=g)


def _losses(model, step):
    x, y = _data(step)
    return nn.functional.cross_entropy(model(x), y, reduction="none")


def _ahtga(model, **kw):
    kw.setdefault("estimator", EST)
    kw.setdefault("min_samples", 8)
    kw.setdefault("lr", 0.1)
    return AHTGA(model, **kw)


def _baseline_step(model, opt, step):
    opt.zero_grad(set_to_none=True)
    _losses(model, step).mean().backward()
    opt.step()


def _snap(module):
    return [p.detach().clone() for p in module.parameters()]


def _same(module, snap):
    return all(torch.equal(p, q) for p, q in zip(module.parameters(), snap))


# ------------------------------------------------------------------ no gradient -> untouched
@pytest.mark.parametrize("wd", [0.0, 0.1])
def test_ahtga_layer_frozen_after_construction_does_not_move(wd):
    model = TwoHeads()
    opt = _ahtga(model, weight_decay=wd)
    for t in range(2):
        opt.step(_losses(model, t))
    model.a.requires_grad_(False)
    before = _snap(model.a)
    for t in range(2, 5):
        opt.step(_losses(model, t))
    assert _same(model.a, before), "a frozen layer moved (momentum or weight decay)"
    assert all(p.grad is None for p in model.a.parameters())


@pytest.mark.parametrize("wd", [0.0, 0.1])
def test_ahtga_unused_branch_is_untouched(wd):
    model = TwoHeads()
    opt = _ahtga(model, weight_decay=wd)
    opt.step(_losses(model, 0))                   # both heads used: b has momentum now
    model.use = ("a",)
    before = _snap(model.b)
    for t in range(1, 4):
        opt.step(_losses(model, t))
    assert _same(model.b, before), "an unused branch moved (momentum or weight decay)"
    model.use = ("a", "b")                        # used again: it moves again
    opt.step(_losses(model, 4))
    assert not _same(model.b, before)


def test_ahtga_never_used_parameter_gets_no_state():
    model = TwoHeads()
    model.use = ("a",)
    opt = _ahtga(model, weight_decay=0.1)
    before = _snap(model.b)
    for t in range(3):
        opt.step(_losses(model, t))
    assert _same(model.b, before)
    assert all("momentum_buffer" not in opt.state[p] for p in model.b.parameters())


@pytest.mark.parametrize("name,opts", CASES, ids=IDS)
def test_baselines_leave_parameters_without_gradient_untouched(name, opts):
    opts = dict(opts, weight_decay=0.1) if "weight_decay" in _options(name) else opts
    model = TwoHeads()
    opt = build_optimizer(name, model, **opts)
    _baseline_step(model, opt, 0)
    model.a.requires_grad_(False)                 # frozen after construction
    model.use = ("a",)                            # and b unused
    before_a, before_b = _snap(model.a), _snap(model.b)
    for t in range(1, 4):
        _baseline_step(model, opt, t)
    assert _same(model.a, before_a) and _same(model.b, before_b), f"{name} {opts}"


def _options(name):
    from ahtga.optim import optimizer_options
    return optimizer_options(name)


# ------------------------------------------------------------------ load_state_dict checks
def _other_shape_model():
    m = TwoHeads()
    m.a = nn.Linear(8, 4)                          # same count, another shape
    return m


def test_ahtga_load_state_dict_checks_shapes_and_names_the_parameter():
    model = TwoHeads()
    opt = _ahtga(model)
    opt.step(_losses(model, 0))
    sd = opt.state_dict()
    other = _other_shape_model()
    opt2 = _ahtga(other)
    with pytest.raises(ValueError, match=r"a\.weight.*\(3, 8\).*\(4, 8\)"):
        opt2.load_state_dict(sd)


def test_ahtga_load_state_dict_checks_counts():
    model = TwoHeads()
    opt = _ahtga(model)
    opt.step(_losses(model, 0))
    sd = opt.state_dict()
    small = nn.Sequential(nn.Linear(5, 3))
    opt2 = _ahtga(small)
    with pytest.raises(ValueError, match="param_groups\\[0\\].*6.*2"):
        opt2.load_state_dict(sd)


@pytest.mark.parametrize("name,opts", CASES, ids=IDS)
def test_baseline_load_state_dict_checks_shapes(name, opts):
    if name in ("sgd", "adam"):
        pytest.skip("torch.optim's own class, registered as it is")
    model = TwoHeads()
    opt = build_optimizer(name, model, **opts)
    for t in range(2):
        _baseline_step(model, opt, t)
    sd = copy.deepcopy(opt.state_dict())
    other = _other_shape_model()
    opt2 = build_optimizer(name, other, **opts)
    if not any(isinstance(v, torch.Tensor) and v.dim() > 0
               for s in sd["state"].values() for v in s.values()):
        opt2.load_state_dict(sd)                   # no per-parameter tensors: nothing to misfit
        sum((p ** 2).sum() for p in other.parameters()).backward()
        opt2.step()
        return
    with pytest.raises(ValueError, match=r"param_groups\[0\]\['params'\]\[2\].*\(3, 8\).*\(4, 8\)"):
        opt2.load_state_dict(sd)


# ------------------------------------------------------------------ add_param_group
@pytest.mark.parametrize("group,match", [
    (dict(lr=-1.0), "lr"),
    (dict(betas=(0.9,)), "betas"),
    (dict(betas=(1.5, 0.9)), r"betas\[0\]"),
    (dict(weight_decay=-0.1), "weight_decay"),
])
def test_ahtga_add_param_group_is_validated(group, match):
    model = TwoHeads()
    opt = _ahtga(model, params=list(model.trunk.parameters()) + list(model.a.parameters()))
    n = len(opt.param_groups)
    with pytest.raises(ValueError, match=match):
        opt.add_param_group({"params": list(model.b.parameters()), **group})
    assert len(opt.param_groups) == n


def test_ahtga_add_param_group_refuses_foreign_or_repeated_parameters():
    model = TwoHeads()
    opt = _ahtga(model, params=list(model.trunk.parameters()))
    with pytest.raises(ValueError, match="not.*covered|covered"):
        opt.add_param_group({"params": [nn.Parameter(torch.zeros(3))]})
    with pytest.raises(ValueError, match="more than one"):
        opt.add_param_group({"params": [model.trunk.weight]})
    opt.add_param_group({"params": list(model.a.parameters()), "lr": 0.5})
    assert opt.param_groups[-1]["lr"] == 0.5


def test_ahtga_param_groups_with_different_hyper_parameters():
    """gamma = 0: each group is torch SGD(momentum=b1, dampening=b1) with its own lr, b1 and
    (decoupled) weight decay."""
    m1, m2 = TwoHeads(), TwoHeads()
    groups = lambda m, wd_b: [  # noqa: E731
        {"params": list(m.trunk.parameters()), "lr": 0.2, "betas": (0.5, 0.9)},
        {"params": list(m.a.parameters()) + list(m.b.parameters()), "lr": 0.05,
         "betas": (0.8, 0.9), "weight_decay": wd_b}]
    opt = _ahtga(m1, params=groups(m1, 0.1), exponent=FixedExponent(0.0))
    ref_groups = groups(m2, 0.0)
    sgd = torch.optim.SGD([{"params": g["params"], "lr": g["lr"], "momentum": g["betas"][0],
                            "dampening": g["betas"][0]} for g in ref_groups])
    for t in range(3):
        opt.step(_losses(m1, t))
        sgd.zero_grad(set_to_none=True)
        _losses(m2, t).mean().backward()
        with torch.no_grad():                      # decoupled weight decay of group 2
            for p in ref_groups[1]["params"]:
                p.mul_(1 - 0.05 * 0.1)
        sgd.step()
        for p, q in zip(m1.parameters(), m2.parameters()):
            torch.testing.assert_close(p, q, rtol=1e-5, atol=1e-6)


# ------------------------------------------------------------------ baselines: group options
# A second option per method that differs between the two groups (besides lr).
_SECOND = {"sgd": ("momentum", 0.5), "adam": ("betas", (0.5, 0.99)),
           "clipped_sgd": ("max_norm", 0.5), "normalized_sgd": ("beta", 0.5),
           "signsgd": ("lr", None), "signum": ("beta", 0.5),
           "tailopt": ("upper", 0.5), "tailopt_biclip": ("upper", 0.5),
           "tailopt_adagrad": ("upper", 0.5), "tailopt_rmsprop": ("upper", 0.5),
           "tailopt_bi2clip": ("outer_upper", 0.01)}


# GRADS without the all-zero tensor (the L2 BiClip reference divides by the norm)
GRADS_NZ = [[g if np.any(g) else g + 0.7 for g in step] for step in GRADS]


def _separable(name, opts):
    """Options under which the two groups do not interact (norms taken per group)."""
    if name == "clipped_sgd":
        return {**opts, "norm_scope": "group"}
    if name == "normalized_sgd":
        return {**opts, "per_layer": True}
    return opts


@pytest.mark.parametrize("name,opts", CASES, ids=IDS)
def test_baseline_param_groups_with_different_hyper_parameters(name, opts):
    """Two groups, the second with half the lr and another value of a second option: each
    group follows the hand-computed rule with its own options."""
    if name == "adam" or (name == "normalized_sgd" and not opts.get("per_layer")) \
            or (name == "clipped_sgd" and "norm_scope" not in opts):
        opts = _separable(name, opts)
    key, value = _SECOND[name]
    opts_b = {**opts, "lr": opts["lr"] * 0.5}
    if value is None:       # signSGD has no second option the reference follows
        value = opts_b["lr"]
    opts_b[key] = value
    params = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in THETA0]
    opt = build_optimizer(name, [{"params": [params[0]]},
                                 {"params": [params[1]], "lr": opts_b["lr"], key: value}],
                          **opts)
    exp_a = reference_run(name, opts, [THETA0[0]], [[g[0]] for g in GRADS_NZ])
    exp_b = reference_run(name, opts_b, [THETA0[1]], [[g[1]] for g in GRADS_NZ])
    for k, g in enumerate(GRADS_NZ):
        opt.zero_grad()
        sum((p * torch.tensor(gi)).sum() for p, gi in zip(params, g)).backward()
        opt.step()
        np.testing.assert_allclose(params[0].detach().numpy(), exp_a[k][0], rtol=1e-12,
                                   atol=1e-12, err_msg=f"{name} group 0 step {k + 1}")
        np.testing.assert_allclose(params[1].detach().numpy(), exp_b[k][0], rtol=1e-12,
                                   atol=1e-12, err_msg=f"{name} group 1 step {k + 1}")


