import math
import warnings
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from ahtga.control import TailTracker, step_seed
from ahtga.tail import TailWarning, hill


def hill_k(k):
    def f(x, *, seed):
        return SimpleNamespace(alpha=float(hill(x, min(k, x.numel() - 1))), k=k)
    return f


def pareto(alpha, n, seed):
    return torch.from_numpy(np.random.default_rng(seed).pareto(alpha, n) + 1.0)


def test_ema_and_clamp():
    tr = TailTracker(hill_k(20), beta=0.9, alpha_init=2.0, clamp=(0.1, 5.0))
    x = pareto(1.5, 200, 0)
    u = tr.update(x)
    a = float(hill(x, 20))
    assert u.alpha_hat == u.alpha_hat_raw == pytest.approx(a) and not u.clamped and u.estimated
    assert u.alpha == pytest.approx(0.9 * 2.0 + 0.1 * a) and u.k == 20 and u.n == 200
    # light tails: Gaussian norms read as a huge alpha and get clamped at hi
    g = torch.randn(200, 50, generator=torch.Generator().manual_seed(0)).norm(dim=1)
    u2 = tr.update(g.double())
    assert u2.alpha_hat_raw > 5.0 and u2.alpha_hat == 5.0 and u2.clamped
    assert u2.alpha == pytest.approx(0.9 * u.alpha + 0.1 * 5.0)


def test_non_finite_estimate_is_ignored_and_flagged():
    tr = TailTracker(lambda x, *, seed: SimpleNamespace(alpha=math.inf, k=3), alpha_init=1.7,
                     min_samples=4)
    u = tr.update(torch.ones(10))
    assert u.clamped and math.isinf(u.alpha_hat) and u.alpha == 1.7


def test_window_pools_previous_steps():
    seen = []

    def spy(x, *, seed):
        seen.append((x.numel(), seed))
        return SimpleNamespace(alpha=1.5, k=1)
    tr = TailTracker(spy, window=3, min_samples=40, seed=5)
    batches = [pareto(1.5, 20, s) for s in range(5)]
    ups = [tr.update(b) for b in batches]
    # step 0: 20 < 40 -> no estimate (window filling), alpha kept; then 40, 60, 60, 60 pooled
    assert not ups[0].estimated and ups[0].alpha == 2.0 and ups[0].n == 20
    assert [n for n, _ in seen] == [40, 60, 60, 60]
    assert [s for _, s in seen] == [step_seed(5, t) for t in range(1, 5)]
    # zeros are not pooled (the Hill estimator needs positive values)
    z = torch.cat([torch.zeros(15), pareto(1.5, 5, 9)])
    assert tr.update(z).n == 45


def test_estimate_every():
    calls = []

    def spy(x, *, seed):
        calls.append(x.numel())
        return SimpleNamespace(alpha=1.0, k=2)
    tr = TailTracker(spy, estimate_every=3, window=2, min_samples=10, beta=0.5)
    ups = [tr.update(pareto(1.5, 10, s)) for s in range(7)]
    assert [u.estimated for u in ups] == [True, False, False, True, False, False, True]
    assert calls == [10, 20, 20]
    assert [u.alpha for u in ups] == [1.5, 1.5, 1.5, 1.25, 1.25, 1.25, 1.125]


def test_impossible_configuration_is_an_error():
    tr = TailTracker(hill_k(5), window=2, min_samples=32)
    with pytest.raises(ValueError, match=r"got a batch of B=15 with window=2 \(B \* window = 30\)"):
        tr.update(pareto(1.5, 15, 0))
    with pytest.raises(ValueError, match=r"`norms` contains NaN or Inf"):
        tr.update(torch.tensor([1.0, float("nan")] * 20))


def test_estimator_errors_name_the_sample_size():
    def broken(x, *, seed):
        raise ValueError("boom")
    with pytest.raises(ValueError, match=r"failed on the pooled norms \(n=40\): boom"):
        TailTracker(broken).update(pareto(1.5, 40, 0))


def test_estimator_warnings_are_recorded_and_issued_once():
    def noisy(x, *, seed):
        warnings.warn("k* clamped", TailWarning)
        return SimpleNamespace(alpha=1.5, k=1)
    tr = TailTracker(noisy)
    with pytest.warns(TailWarning, match="k\\* clamped .*only recorded in StepStats") as rec:
        ups = [tr.update(pareto(1.5, 40, s)) for s in range(3)]
    assert len([w for w in rec if issubclass(w.category, TailWarning)]) == 1
    assert all(u.warned for u in ups)


@pytest.mark.filterwarnings("ignore::ahtga.tail.TailWarning")
def test_named_estimator_and_seeds_reproduce():
    from ahtga.tail import ESTIMATORS
    assert "hill_db" in ESTIMATORS
    x = pareto(1.5, 300, 1)
    a = TailTracker("hill_db", seed=3, estimator_options={"n_boot": 50})
    b = TailTracker("hill_db", seed=3, estimator_options={"n_boot": 50})
    ua, ub = a.update(x), b.update(x)
    assert ua == ub and ua.k >= 1
    b.load_state_dict(a.state_dict())
    assert a.update(x) == b.update(x)
    assert step_seed(3, 0) != step_seed(3, 1) != step_seed(4, 1)


@pytest.mark.parametrize("kw, match", [
    (dict(estimator="nope"), r"`estimator` must be one of"),
    (dict(estimator=hill_k(3), estimator_options={"k": 3}), r"apply to named estimators only"),
    (dict(beta=1.0), r"`beta` must lie in \[0.0, 1.0\)"),
    (dict(clamp=(1.0,)), r"`clamp` must be a pair"),
    (dict(clamp=(0.0, 2.0)), r"`clamp\[0\]` must be finite and > 0"),
    (dict(seed=-1), r"`seed` must be >= 0"),
])
def test_tracker_bad_input(kw, match):
    kw.setdefault("estimator", hill_k(3))
    est = kw.pop("estimator")
    with pytest.raises((ValueError, TypeError), match=match):
        TailTracker(est, **kw)


def test_estimate_device_policy():
    from ahtga.control.tail_tracker import AUTO_CPU_MAX, estimate_device_for
    cpu = torch.device("cpu")
    assert estimate_device_for("cpu", 10, "auto") == cpu
    assert estimate_device_for("cpu", 10, "same") == cpu
    assert estimate_device_for("cuda:1", 128, "auto") == cpu
    assert estimate_device_for("cuda:1", AUTO_CPU_MAX + 1, "auto") == torch.device("cuda:1")
    assert estimate_device_for("cuda:0", 128, "same") == torch.device("cuda:0")
    assert estimate_device_for("cuda:0", 10 ** 7, "cpu") == cpu
    with pytest.raises(ValueError, match=r"`estimate_device` must be one of .*got estimate_device='gpu'"):
        TailTracker(hill_k(5), estimate_device="gpu")
