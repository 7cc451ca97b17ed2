"""Invariances and consistency of every estimator (hypothesis, seeds drawn as integers)."""
import math
import warnings

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

from ahtga.tail import (double_bootstrap, hill, hill_all_k, hill_rbc, kernel_type, moment,
                        pickands, stable_mmo, estimate, ESTIMATORS)


def pareto(rng, shape, alpha=1.5):
    return (1.0 - rng.random(shape)) ** (-1.0 / alpha)


FIXED_K = {
    "hill": lambda x, k: hill(x, k),
    "pickands": lambda x, k: pickands(x, max(1, k // 4)),
    "moment": lambda x, k: moment(x, k),
    "kernel": lambda x, k: kernel_type(x, max(3, k)),
    "hill_rbc": lambda x, k: hill_rbc(x, k),
    "stable_mmo": lambda x, k: stable_mmo(x, 5),
}


@given(seed=st.integers(0, 2**31 - 1), n=st.integers(40, 300), c=st.floats(1e-3, 1e3),
       alpha=st.floats(0.5, 3.0), kf=st.floats(0.05, 0.9))
@pytest.mark.parametrize("name", sorted(FIXED_K))
def test_scale_and_permutation_invariance(name, seed, n, c, alpha, kf):
    rng = np.random.default_rng(seed)
    x = pareto(rng, n, alpha)
    if name == "stable_mmo":
        x = x * rng.choice([-1.0, 1.0], n)
    k = max(1, min(n - 1, int(kf * n)))
    f = FIXED_K[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        base = float(f(torch.as_tensor(x), k))
        scaled = float(f(torch.as_tensor(c * x), k))
        perm = float(f(torch.as_tensor(rng.permutation(x)), k))
    if name == "stable_mmo":      # blocks depend on the order: only scale invariance holds
        assert scaled == pytest.approx(base, rel=1e-9, abs=1e-12) or (math.isinf(base) and math.isinf(scaled))
        return
    for v in (scaled, perm):
        assert (math.isinf(base) and math.isinf(v)) or v == pytest.approx(base, rel=1e-9)


@settings(max_examples=8)
@given(seed=st.integers(0, 2**31 - 1), c=st.floats(1e-3, 1e3))
def test_double_bootstrap_scale_and_permutation_invariance(seed, c):
    rng = np.random.default_rng(seed)
    x = pareto(rng, 200, 1.3)
    a = double_bootstrap(x, n_boot=30, seed=seed % 1000)
    b = double_bootstrap(c * x, n_boot=30, seed=seed % 1000)
    p = double_bootstrap(rng.permutation(x), n_boot=30, seed=seed % 1000)
    for r in (b, p):
        assert (r.k, r.k1, r.k2) == (a.k, a.k1, a.k2)
        assert r.alpha == pytest.approx(a.alpha, rel=1e-9)


@given(seed=st.integers(0, 2**31 - 1), n=st.integers(3, 200))
def test_all_k_hill_equals_one_k_hill(seed, n):
    x = torch.as_tensor(pareto(np.random.default_rng(seed), n))
    allk = hill_all_k(x)
    assert allk.shape == (n - 1,)
    for k in {1, (n - 1) // 2 or 1, n - 1}:
        assert float(allk[k - 1]) == pytest.approx(float(hill(x, k)), rel=1e-12)


@given(seed=st.integers(0, 2**31 - 1))
def test_batched_equals_looped(seed):
    rng = np.random.default_rng(seed)
    X = torch.as_tensor(pareto(rng, (3, 4, 64)))
    S = torch.as_tensor(pareto(rng, (3, 64)) * rng.choice([-1.0, 1.0], (3, 64)))
    fns = [lambda x: hill(x, 7), lambda x: pickands(x, 5), lambda x: moment(x, 9),
           lambda x: kernel_type(x, 20), lambda x: hill_rbc(x, 8), lambda x: hill_all_k(x, k_max=10)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for f in fns:
            batched = f(X)
            for i in range(3):
                for j in range(4):
                    torch.testing.assert_close(batched[i, j], f(X[i, j]), rtol=1e-12, atol=0)
        bm = stable_mmo(S, 8)
        for i in range(3):
            torch.testing.assert_close(bm[i], stable_mmo(S[i], 8), rtol=1e-12, atol=0)
    # dim argument: the sample along dim 0
    torch.testing.assert_close(hill(X.movedim(-1, 0), 7, dim=0), hill(X, 7))


def test_estimators_recover_pareto_alpha():
    """On exact Pareto(1.5), n = 20000, every estimator lands near 1.5 (stated tolerances)."""
    x = pareto(np.random.default_rng(7), 20000, 1.5)
    tol = {"hill": 0.08, "hill_db": 0.08, "hill_db_sqrt": 0.08, "hill_rbc": 0.15, "pickands": 0.6,
           "moment": 0.2, "kernel": 0.35}
    for name, t in tol.items():
        opts = {"k": 2000} if name in ("hill", "hill_rbc", "moment", "kernel") else {}
        if name == "pickands":
            opts = {"k": 1000}
        r = estimate(x, name, seed=0, **({"n_boot": 50} if "db" in name else {}), **opts)
        assert abs(r.alpha - 1.5) < t, (name, r.alpha)
    assert set(ESTIMATORS) >= set(tol) | {"stable_mmo"}


# ----------------------------------------------------------------------------- issue 14, item 6
_FAST = {"hill_db": {"n_boot": 20}, "hill_db_sqrt": {"n_boot": 20}, "hill_db_te": {"n_boot": 20},
         "hill_lepski": {"n_boot": 20, "cap_n": 150}}


def _est(x, name, seed=0):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return estimate(x, name, seed=seed, **_FAST.get(name, {}))


@settings(max_examples=15)
@given(seed=st.integers(0, 2**31 - 1), n=st.integers(60, 250), alpha=st.floats(0.8, 3.0),
       e=st.floats(-300.0, 300.0))
@pytest.mark.parametrize("name", sorted(ESTIMATORS))
def test_every_registered_estimator_scale_and_permutation_invariant(name, seed, n, alpha, e):
    """Scales 1e-300 .. 1e300 (the sample normalised to max 1 first, so c x stays normal)."""
    rng = np.random.default_rng(seed)
    x = pareto(rng, n, alpha)
    x = x / x.max()
    if name == "stable_mmo":
        x = x * rng.choice([-1.0, 1.0], n)
    c = 10.0 ** e
    base, scaled = _est(x, name, seed % 997), _est(c * x, name, seed % 997)
    assert scaled.k == base.k
    assert (math.isinf(base.alpha) and math.isinf(scaled.alpha)) or \
        scaled.alpha == pytest.approx(base.alpha, rel=1e-6)
    if name != "stable_mmo":                      # its blocks depend on the order
        perm = _est(rng.permutation(x), name, seed % 997)
        assert perm.k == base.k and perm.alpha == pytest.approx(base.alpha, rel=1e-9)


@given(seed=st.integers(0, 2**31 - 1), n=st.integers(20, 3000), c=st.floats(0.3, 3.0))
def test_hill_lepski_responds_monotonically_to_the_true_index(seed, n, c):
    """x -> x^(1/c) has c times the tail index; hill_lepski (AHTGA's estimator, the default
    before stable_dk) reads exactly c times its estimate (same k), so a heavier tail always
    reads smaller (x^(1/c) is not a rescaling).  The default stable_dk's response:
    ``test_tail_stable_fit.py`` (monotone within a branch)."""
    x = pareto(np.random.default_rng(seed), n, 1.5)
    a, b = estimate(x, "hill_lepski", seed=1), estimate(x ** (1.0 / c), "hill_lepski", seed=1)
    assert b.k == a.k and b.alpha == pytest.approx(c * a.alpha, rel=1e-9)
    assert (b.alpha > a.alpha) == (c > 1) or c == 1


@given(seed=st.integers(0, 2**31 - 1), n=st.integers(40, 400),
       kind=st.sampled_from(["list", "f64", "f32", "f16", "int64", "int32", "tensor64", "tensor32",
                             "noncontig", "row", "col"]))
def test_estimate_over_input_types_and_dtypes(seed, n, kind):
    """The same values give the same estimate whatever container or dtype carries them
    (float16/32 and integers compared on the values they can hold)."""
    rng = np.random.default_rng(seed)
    x = np.round(pareto(rng, n, 1.2) * 100.0) + rng.random(n)      # distinct, up to ~1e4
    if kind in ("f16", "int64", "int32"):
        x = np.unique(x.astype({"f16": np.float16, "int64": np.int64, "int32": np.int32}[kind]))
        if x.size < 10:
            return
    ref = _est(np.asarray(x, dtype=np.float64), "hill_lepski")
    if kind == "list":
        v = x.tolist()
    elif kind in ("f64", "f16", "int64", "int32"):
        v = x
    elif kind == "f32":
        x32 = x.astype(np.float32)
        v, ref = x32, _est(x32.astype(np.float64), "hill_lepski")
    elif kind == "tensor64":
        v = torch.as_tensor(x)
    elif kind == "tensor32":
        v = torch.as_tensor(x, dtype=torch.float32)
        ref = _est(v.double().numpy(), "hill_lepski")
    elif kind == "noncontig":
        big = torch.as_tensor(np.stack([x, -x], axis=1))[:, 0]
        assert not big.is_contiguous()
        v = big
    elif kind == "row":
        v = x[None, :]
    else:
        v = torch.as_tensor(x)[:, None]
    got = _est(v, "hill_lepski")
    assert got.k == ref.k
    assert got.alpha == pytest.approx(ref.alpha, rel=1e-5 if kind in ("f32", "tensor32") else 1e-12)


@given(seed=st.integers(0, 2**31 - 1), n=st.integers(1, 60), fmt=st.sampled_from(["npy", "csv", "txt"]),
       header=st.booleans())
def test_cli_loader_round_trips_a_sample(tmp_path_factory, seed, n, fmt, header):
    from ahtga.tail.loader import load
    rng = np.random.default_rng(seed)
    x = rng.standard_cauchy(n) * 10.0 ** rng.integers(-200, 200)
    d = tmp_path_factory.mktemp("ld")
    p = d / f"x.{fmt}"
    if fmt == "npy":
        np.save(p, x)
    else:
        lines = (["value"] if header and fmt == "csv" else []) + [repr(float(v)) for v in x]
        p.write_text("\n".join(lines) + "\n")
    np.testing.assert_array_equal(load(p), x)
