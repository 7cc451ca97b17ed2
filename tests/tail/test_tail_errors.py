"""Bad input: clear errors naming the argument and value, or a documented inf with a warning."""
import math

import numpy as np
import pytest
import torch

from ahtga.tail import (EMATracker, TailWarning, double_bootstrap, estimate, hill, hill_all_k,
                        hill_rbc, kernel_type, moment, pickands, stable_mmo)

X = (1 - np.random.default_rng(0).random(100)) ** (-1 / 1.5)
NAN = X.copy()
NAN[3] = np.nan
INF = X.copy()
INF[5] = np.inf
WITH_ZERO = X.copy()
WITH_ZERO[0] = 0.0

ERRORS = [
    (lambda: hill(NAN, 5), ValueError, r"`x` contains 1 NaN or Inf"),
    (lambda: hill(INF, 5), ValueError, r"`x` contains 1 NaN or Inf"),
    (lambda: hill(X, 0), ValueError, r"`k` must satisfy 1 <= k < n; got k=0 with n=100"),
    (lambda: hill(X, 100), ValueError, r"got k=100 with n=100"),
    (lambda: hill([1.0], 1), ValueError, r"at least 2 values.*n=1"),
    (lambda: hill(-X, 5), ValueError, r"positive among its 6 largest"),
    (lambda: hill_all_k(X, k_max=100), ValueError, r"`k_max` must be <= 99; got k_max=100"),
    (lambda: pickands(X, 26), ValueError, r"1 <= k <= n/4; got k=26 with n=100"),
    (lambda: pickands(np.r_[np.arange(100.0, 115.0), np.ones(85)], 10), ValueError,
     r"ties x_\(2k\) = x_\(4k\)"),
    (lambda: moment(X, 0), ValueError, r"got k=0 with n=100"),
    (lambda: moment(NAN, 5), ValueError, r"NaN or Inf"),
    (lambda: kernel_type(X, 2), ValueError, r"3 <= k <= n; got k=2"),
    (lambda: kernel_type(X, 10, a=0.5), ValueError, r"`a` must lie in \(0.5, inf\]; got a=0.5"),
    (lambda: stable_mmo(X, 1), ValueError, r"`m` must be >= 2; got m=1"),
    (lambda: stable_mmo(X, 51), ValueError, r"`m` must be <= 50; got m=51"),
    (lambda: stable_mmo(X, 5, center="mode"), ValueError, r"`center` must be one of"),
    (lambda: stable_mmo(X[:3]), ValueError, r"at least 4 values.*n=3"),
    (lambda: stable_mmo(np.r_[X[:50], 0.0, X[51:]], 5, center=None), ValueError, r"exact zeros"),
    (lambda: hill_rbc(X, 5, rho=0.5), ValueError, r"`rho` must lie in"),
    (lambda: hill_rbc(X[:5], 2), ValueError, r"at least 8 values.*n=5"),
    (lambda: double_bootstrap(X[:15]), ValueError, r"at least 16 values.*n=15"),
    (lambda: double_bootstrap(WITH_ZERO), ValueError, r"must be positive.*1 value\(s\) <= 0"),
    (lambda: double_bootstrap(X, n_boot=1), ValueError, r"`n_boot` must be >= 2; got n_boot=1"),
    (lambda: double_bootstrap(X, n1=100), ValueError, r"`n1` must be <= 99; got n1=100"),
    (lambda: double_bootstrap(X, n1=15), ValueError, r"n2 = floor\(n1\^2/n\) must be >= 4; got n2=2"),
    (lambda: double_bootstrap(X, eps=1.5), ValueError, r"`eps` must lie in \(0.0, 1.0\); got eps=1.5"),
    (lambda: double_bootstrap(X, n1=50, eps=0.1), ValueError, r"either `n1` or `eps`"),
    (lambda: double_bootstrap(X, correction="half"), ValueError, r"`correction` must be one of"),
    (lambda: double_bootstrap(X, k_search="fast"), ValueError, r"`k_search` must be one of"),
    (lambda: double_bootstrap(X, seed=-1), ValueError, r"`seed` must be >= 0; got seed=-1"),
    (lambda: double_bootstrap(X, seed=1, generator=torch.Generator()), ValueError, r"either `seed` or `generator`"),
    (lambda: double_bootstrap(np.ones((2, 50))), ValueError, r"must be 1-d.*\(2, 50\)"),
    (lambda: estimate(X, "hills"), ValueError, r"unknown estimator 'hills'; valid names: hill, hill_db"),
    (lambda: estimate(X, "hill", kk=3), ValueError, r"unknown option\(s\) \['kk'\] for estimator 'hill'"),
    (lambda: estimate(np.ones((3, 40)), "hill"), ValueError, r"must be 1-d"),
    (lambda: EMATracker(beta=1.0), ValueError, r"`beta` must lie in \[0.0, 1.0\); got beta=1.0"),
    (lambda: EMATracker(lo=5, hi=1), ValueError, r"`lo` must be < `hi`"),
    (lambda: EMATracker(init=20.0), ValueError, r"`init` must lie in \[0.1, 10.0\]; got init=20.0"),
    (lambda: EMATracker().update("a"), TypeError, r"`alpha_hat` must be a real number"),
]


@pytest.mark.parametrize("call,exc,match", ERRORS, ids=[f"e{i}" for i in range(len(ERRORS))])
def test_error_table(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


CONST = np.full(64, 2.5)
INF_CASES = [
    (lambda: hill(CONST, 5), "no tail to measure"),
    (lambda: moment(CONST, 5), "xi <= 0"),
    (lambda: kernel_type(CONST, 10), "xi <= 0"),
    (lambda: pickands(CONST, 5), "xi <= 0"),
    (lambda: stable_mmo(CONST, 8), "alpha=inf"),
    (lambda: hill_rbc(CONST, 5), "no tail"),
    (lambda: double_bootstrap(CONST, n_boot=10), "no tail"),
    (lambda: moment(np.random.default_rng(1).random(500), 100), "xi <= 0"),   # bounded tail
    (lambda: hill(np.r_[np.full(10, 70.0), np.arange(1.0, 50.0)], 5), "ties at the"),
]


@pytest.mark.parametrize("call,match", INF_CASES, ids=[f"inf{i}" for i in range(len(INF_CASES))])
def test_documented_inf_with_warning(call, match):
    with pytest.warns(TailWarning, match=match):
        out = call()
    alpha = out.alpha if hasattr(out, "alpha") else float(out)
    assert math.isinf(alpha) and alpha > 0


def test_no_silent_nan_anywhere():
    rng = np.random.default_rng(2)
    data = [rng.random(200), np.abs(rng.standard_cauchy(200)), np.r_[np.ones(150), rng.random(50) + 1]]
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for x in data:
            for name in ["hill", "hill_db", "hill_db_sqrt", "hill_rbc", "pickands", "moment", "kernel",
                         "stable_mmo"]:
                try:
                    r = estimate(x, name, seed=0, **({"n_boot": 20} if "db" in name else {}))
                except ValueError:
                    continue
                assert not math.isnan(r.alpha), (name, x[:3])
