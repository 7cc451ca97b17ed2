"""Double-bootstrap Hill: vectorised ``ahtga.tail.double_bootstrap`` against a straightforward
reference that draws one resample at a time and sorts it (as common implementations do).

Data: |symmetric stable| alpha = 1.5, n = 1e5 (sim.stable, S1), 500 resamples per stage.
Both sides use the same n1 = floor(n^0.9), n2 = floor(n1^2/n), the paper's correction and
the full search over 2 <= k < n_s, so their estimates have the same distribution; we print
the time ratio and the mean and sd of alpha and k* over seeds, plus a two-sample KS p-value.
Rows: ``k_search="full"`` (exact full search, the default) and ``k_search="grid"`` (coarse
grid with exact endpoints and a CLT for the sums between them, then the exact search in a
window around the grid minimum); each against the reference, with KS p-values of alpha and k*.
A second, timing-only block uses tail-estimation's sizes (n1 = floor(sqrt(0.5) n)).
A last row times the default estimator (``stable_t_dk``) against ``hill_db`` on the same sample
(its stable branch), on a Pareto(1.5) sample of the same size (its Drees-Kaufmann branch) and on
a |Student-t(4)| one (its Student-t branch), and
``hill_lepski`` (AHTGA's estimator): issue 14 asks for a cost ratio <= 1 at n = 1e5.
Ratios are measured in one process; absolute times depend on the (shared) machine.
"""
from __future__ import annotations

import math
import pathlib
import time

import numpy as np
import scipy.stats
import torch

from ahtga.tail import double_bootstrap
from bench import save_json


def naive_curve(desc: np.ndarray, m: int, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """Q(k), k = 1..m-1: mean over resamples of (M(k) - 2 H(k)^2)^2, one resample at a time."""
    acc = np.zeros(m - 1)
    k = np.arange(1, m)
    for _ in range(n_boot):
        s = np.sort(desc[rng.integers(0, desc.size, m)])[::-1]
        L = np.log(s)
        c1 = np.cumsum(L[:-1])
        c2 = np.cumsum(L[:-1] ** 2)
        thr = L[1:]
        H = c1 / k - thr
        M = c2 / k - 2 * thr * c1 / k + thr ** 2
        acc += (M - 2 * H * H) ** 2
    return acc / n_boot


def naive_double_bootstrap(x, *, n_boot: int = 500, n1: int | None = None, correction: str = "paper",
                           rng: np.random.Generator | int | None = None) -> dict:
    """Reference double bootstrap (Danielsson et al. 2001) with a full sort per resample."""
    rng = np.random.default_rng(rng)
    desc = np.sort(np.asarray(x, dtype=np.float64))[::-1]
    n = desc.size
    n1 = int(math.floor(n ** 0.9)) if n1 is None else n1
    n2 = n1 * n1 // n
    q1 = naive_curve(desc, n1, n_boot, rng)
    q2 = naive_curve(desc, n2, n_boot, rng)
    k1 = int(np.argmin(q1[1:])) + 2
    k2 = int(np.argmin(q2[1:])) + 2
    lk1, ln1 = math.log(k1), math.log(n1)
    c = ((lk1 * lk1) / (2 * ln1 - lk1) ** 2) ** ((ln1 - lk1) / ln1)
    if correction == "sqrt":
        c = math.sqrt(c)
    k = min(max(int(round(k1 * k1 / k2 * c)), 1), n - 1)
    L = np.log(desc)
    alpha = 1.0 / (L[:k].mean() - L[k])
    return {"alpha": float(alpha), "k": k, "k1": k1, "k2": k2, "n1": n1, "n2": n2}


def _stable_abs(alpha: float, n: int, seed: int) -> np.ndarray:
    from sim.stable import stable_rvs
    return np.abs(stable_rvs(alpha, 0.0, size=n, parameterization="S1", rng=seed))


def main(out_dir, *, n: int = 100_000, n_boot: int = 500, seeds: int = 10, grid_seeds: int = 30,
         te_seeds: int = 2, default_seeds: int = 3) -> dict:
    out_dir = pathlib.Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    x = _stable_abs(1.5, n, seed=12345)
    xt = torch.as_tensor(x)
    double_bootstrap(xt[:1000], n_boot=20, seed=0)          # warm-up

    fast, slow, grid = [], [], []
    t0 = time.perf_counter()
    for s in range(seeds):
        r = double_bootstrap(xt, n_boot=n_boot, seed=s)
        fast.append((r.alpha, r.k, r.k1, r.k2))
    t_fast = (time.perf_counter() - t0) / seeds
    double_bootstrap(xt, n_boot=n_boot, seed=0, k_search="grid")          # warm-up
    t0 = time.perf_counter()
    for s in range(grid_seeds):
        r = double_bootstrap(xt, n_boot=n_boot, seed=500 + s, k_search="grid")
        grid.append((r.alpha, r.k, r.k1, r.k2))
    t_grid = (time.perf_counter() - t0) / grid_seeds
    t0 = time.perf_counter()
    for s in range(seeds):
        r = naive_double_bootstrap(x, n_boot=n_boot, rng=1000 + s)
        slow.append((r["alpha"], r["k"], r["k1"], r["k2"]))
    t_slow = (time.perf_counter() - t0) / seeds
    fast, slow, grid = (np.array(v, dtype=float) for v in (fast, slow, grid))

    # timing only, tail-estimation's sizes: n1 = sqrt(0.5) n, n2 = n1^2/n = n/2
    n1_te = int(n * 0.5 ** 0.5)
    t0 = time.perf_counter()
    for s in range(te_seeds):
        double_bootstrap(xt, n_boot=n_boot, n1=n1_te, correction="sqrt", seed=s)
    t_fast_te = (time.perf_counter() - t0) / te_seeds
    t0 = time.perf_counter()
    for s in range(te_seeds):
        double_bootstrap(xt, n_boot=n_boot, n1=n1_te, correction="sqrt", seed=s, k_search="grid")
    t_grid_te = (time.perf_counter() - t0) / te_seeds
    t0 = time.perf_counter()
    for s in range(te_seeds):
        naive_double_bootstrap(x, n_boot=n_boot, n1=n1_te, correction="sqrt", rng=s)
    t_slow_te = (time.perf_counter() - t0) / te_seeds

    # the default estimator hill_lepski (its double-bootstrap cap on the grid search included)
    # against hill_db (the previous default, full search) on the same data
    from ahtga.tail import estimate
    t0 = time.perf_counter()
    for s in range(default_seeds):
        estimate(xt, "hill_lepski", seed=s)
    t_lep = (time.perf_counter() - t0) / default_seeds
    t0 = time.perf_counter()
    for s in range(default_seeds):
        estimate(xt, "hill_db", seed=s)
    t_db = (time.perf_counter() - t0) / default_seeds
    # the default on this |stable| sample (its stable branch) and on a Pareto(1.5)
    # sample of the same size (the stable test rejects it: Hill at the Drees-Kaufmann k)
    from ahtga.tail import DEFAULT
    xp = torch.from_numpy((1.0 - np.random.default_rng(5).random(n)) ** (-1.0 / 1.5))
    t0 = time.perf_counter()
    for s in range(default_seeds):
        e_st = estimate(xt, DEFAULT, seed=s)
    t_def = (time.perf_counter() - t0) / default_seeds
    t0 = time.perf_counter()
    for s in range(default_seeds):
        e_dk = estimate(xp, DEFAULT, seed=s)
    t_def_dk = (time.perf_counter() - t0) / default_seeds
    xs = torch.from_numpy(np.abs(np.random.default_rng(6).standard_t(4.0, n)))
    t0 = time.perf_counter()
    for s in range(default_seeds):
        e_t = estimate(xs, DEFAULT, seed=s)
    t_def_t = (time.perf_counter() - t0) / default_seeds

    def summary(a):
        return {"alpha_mean": float(a[:, 0].mean()), "alpha_sd": float(a[:, 0].std(ddof=1)),
                "k_mean": float(a[:, 1].mean()), "k_sd": float(a[:, 1].std(ddof=1)),
                "k1_mean": float(a[:, 2].mean()), "k2_mean": float(a[:, 3].mean())}

    def ks(a, b, col):
        return float(scipy.stats.ks_2samp(a[:, col], b[:, col]).pvalue)

    res = {
        "case": f"|stable| alpha=1.5, n={n}, n_boot={n_boot}, n1=n^0.9, correction=paper",
        "torch_threads": torch.get_num_threads(),
        "seconds_vectorised": t_fast, "seconds_reference": t_slow, "ratio": t_slow / t_fast,
        "seconds_grid": t_grid, "ratio_grid": t_slow / t_grid,
        "vectorised": summary(fast), "reference": summary(slow), "grid": summary(grid),
        "ks_pvalue_alpha": ks(fast, slow, 0), "ks_pvalue_k": ks(fast, slow, 1),
        "grid_ks_pvalue_alpha": ks(grid, slow, 0), "grid_ks_pvalue_k": ks(grid, slow, 1),
        "grid_vs_full_ks_pvalue_alpha": ks(grid, fast, 0), "grid_vs_full_ks_pvalue_k": ks(grid, fast, 1),
        "seeds": seeds, "grid_seeds": grid_seeds,
        "te_sizes": {"n1": n1_te, "seconds_vectorised": t_fast_te, "seconds_grid": t_grid_te,
                     "seconds_reference": t_slow_te, "ratio": t_slow_te / t_fast_te,
                     "ratio_grid": t_slow_te / t_grid_te, "seeds": te_seeds},
        "target_ratio": 30.0,
        "default_estimator": {"name": DEFAULT, "seconds_stable_sample": t_def,
                              "branch_stable_sample": e_st.diagnostics.get("branch"),
                              "seconds_pareto_sample": t_def_dk,
                              "branch_pareto_sample": e_dk.diagnostics.get("branch"),
                              "seconds_hill_db": t_db, "cost_ratio": t_def / t_db,
                              "cost_ratio_pareto_sample": t_def_dk / t_db,
                              "seconds_student_t_sample": t_def_t,
                              "branch_student_t_sample": e_t.diagnostics.get("branch"),
                              "cost_ratio_student_t_sample": t_def_t / t_db,
                              "target": "<= 1", "seeds": default_seeds},
        "hill_lepski": {"seconds": t_lep, "seconds_hill_db": t_db, "cost_ratio": t_lep / t_db,
                        "seeds": default_seeds},
    }
    print(f"double bootstrap n={n}, B={n_boot}: reference {t_slow:.3f} s; full search {t_fast:.3f} s "
          f"({res['ratio']:.1f}x), grid {t_grid:.3f} s ({res['ratio_grid']:.1f}x)  [target 30x]")
    for name in ("vectorised", "grid", "reference"):
        sm = res[name]
        print(f"  {name:10s} alpha {sm['alpha_mean']:.4f} +- {sm['alpha_sd']:.4f}  "
              f"k* {sm['k_mean']:.0f} +- {sm['k_sd']:.0f}  k1 {sm['k1_mean']:.0f}  k2 {sm['k2_mean']:.0f}")
    print(f"  KS p-values vs reference: full alpha {res['ks_pvalue_alpha']:.3f}, k* {res['ks_pvalue_k']:.3f} "
          f"({seeds} seeds each); grid alpha {res['grid_ks_pvalue_alpha']:.3f}, k* "
          f"{res['grid_ks_pvalue_k']:.3f} ({grid_seeds} grid seeds)")
    te = res["te_sizes"]
    print(f"  tail-estimation sizes (n1={n1_te}): reference {t_slow_te:.3f} s; full {t_fast_te:.3f} s "
          f"({te['ratio']:.1f}x), grid {t_grid_te:.3f} s ({te['ratio_grid']:.1f}x)")
    print(f"  default estimator {DEFAULT} {t_def:.3f} s ({e_st.diagnostics.get('branch')} branch), "
          f"{t_def_dk:.3f} s on Pareto(1.5) ({e_dk.diagnostics.get('branch')} branch), {t_def_t:.3f} s "
          f"on |t(4)| ({e_t.diagnostics.get('branch')} branch) vs hill_db {t_db:.3f} s: cost ratio "
          f"{t_def / t_db:.3f} / {t_def_dk / t_db:.3f} / {t_def_t / t_db:.3f}  [target <= 1]")
    print(f"  hill_lepski (AHTGA's) {t_lep:.3f} s: cost ratio {t_lep / t_db:.2f}")
    save_json(out_dir, "bench_tail.json", res)
    return res


if __name__ == "__main__":
    import sys
    main(sys.argv[1] if len(sys.argv) > 1 else "bench/out")
