"""Is it a power law at all?  Clauset, Shalizi and Newman (2009) for a continuous tail.

Model: p(x) = ((a - 1) / x_min) (x / x_min)^(-a) for x >= x_min (density exponent a; the tail
index of the rest of the package is alpha = a - 1).

1. Fit.  For a candidate x_min with the m values x >= x_min, the MLE is
   a_hat = 1 + m / sum_i log(x_i / x_min), and the KS distance between the tail's empirical
   CDF S and the fitted P(x) = 1 - (x / x_min)^(1 - a_hat) is D = max_x |S(x) - P(x)| (both sides
   of every jump of S).  x_min minimises D over the candidates: every distinct value with at
   least ``min_tail`` values at or above it while there are at most ``exact_max`` = 2000 of them
   (Clauset et al.'s full scan), else tail sizes on a geometric grid (ratio 1.02) so that one
   scan costs about 50 n operations instead of n^2 / 2.  All candidates at once: suffix sums of
   the sorted logs give every a_hat; the distances are computed tail by tail in vector form.
2. Goodness of fit (``n_boot`` synthetic samples, seeded): each keeps the size n; a
   Binomial(n, m/n) number of values comes from the fitted power law above x_min, the rest is
   resampled from the data below x_min; each is refitted (x_min scan included) and
   p = share of synthetic D >= the data's D.  p < 0.1 rejects the power law (their rule).
3. Alternatives on the same tail x >= x_min, each fitted by maximum likelihood truncated at
   x_min: exponential (closed form), lognormal and stretched exponential (Weibull) (numerical,
   scipy).  With l_i the pointwise log-likelihood difference power law - alternative,
   R = sum l_i, sigma^2 = mean (l_i - mean l)^2, Vuong's normalised statistic R / (sigma sqrt m)
   and the two-sided p-value erfc(|R| / (sigma sqrt(2 m))): R > 0 with a small p favours the
   power law, R < 0 the alternative; a large p decides nothing.

Warnings (:class:`~ahtga.tail.TailWarning`) name the problem: ``integer data`` (every value an
integer: a continuous fit to counts is biased; jitter them, ``jitter_integers``, or fit a
discrete law), ``ties`` (repeated values in the tail: the KS distance and the MLE assume a
continuous law), ``light tail`` (the power law is rejected, p < 0.1, and the exponential or the
stretched exponential is significantly better, p < 0.1; or the fitted tail index exceeds 5,
which exponential and Gaussian tails produce and which grows with n).

The ``powerlaw`` package (Alstott et al. 2014) implements the same method; the tests check
agreement with it, ``bench/bench_gof.py`` measures the speed against it at n = 1e5.

References: A. Clauset, C. R. Shalizi, M. E. J. Newman (2009), "Power-law distributions in
empirical data", SIAM Review 51(4):661-703.  Q. H. Vuong (1989), "Likelihood ratio tests for
model selection and non-nested hypotheses", Econometrica 57(2):307-333.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy import optimize, special

from .._validation import as_tensor, check_int
from .hill import tail_warn

EXACT_MAX = 2000
GRID_RATIO = 1.02
MIN_TAIL = 10
LIGHT_INDEX = 5.0


@dataclass
class PowerLawFit:
    """x_min, the density exponent ``a`` (tail index ``alpha = a - 1``), the tail size ``n_tail``
    and the KS distance ``D`` of the fit; ``candidates``: how many x_min were scanned."""

    xmin: float
    a: float
    n_tail: int
    D: float
    candidates: int

    @property
    def alpha(self) -> float:
        return self.a - 1.0


@dataclass
class GofResult:
    """``fit``; ``p_value`` of the bootstrap test with ``n_boot`` samples (None if n_boot = 0);
    ``comparisons``: {name: {"R", "R_normalized", "p", "params"}} for ``exponential``,
    ``lognormal`` and ``stretched_exponential`` (R > 0 favours the power law);
    ``warnings``: the messages issued."""

    fit: PowerLawFit
    p_value: float | None
    n_boot: int
    comparisons: dict = field(default_factory=dict)
    warnings: list = field(default_factory=list)

    def as_dict(self) -> dict:
        f = self.fit
        return {"xmin": f.xmin, "alpha": f.alpha, "a": f.a, "n_tail": f.n_tail, "D": f.D,
                "p_value": self.p_value, "n_boot": self.n_boot, "comparisons": self.comparisons,
                "warnings": list(self.warnings)}


def _as_sample(x) -> np.ndarray:
    t = as_tensor("x", x)
    v = t.detach().to("cpu").double().numpy().reshape(-1)
    if v.size < MIN_TAIL + 1:
        raise ValueError(f"`x` needs at least {MIN_TAIL + 1} values for the goodness-of-fit test; "
                         f"got n={v.size}")
    if (v <= 0).any():
        raise ValueError(f"`x` must be positive for the power-law fit; got {(v <= 0).sum()} value(s) "
                         "<= 0 (take absolute values of signed data, drop zeros)")
    return np.sort(v)


def _candidates(xs: np.ndarray, min_tail: int, exact_max: int) -> np.ndarray:
    """Start indices j (x_min = xs[j]) of the candidate tails, ascending in j."""
    n = xs.size
    first = np.r_[True, xs[1:] != xs[:-1]]                 # first occurrence of each value
    starts = np.nonzero(first)[0]
    starts = starts[n - starts >= min_tail]
    if starts.size <= exact_max:
        return starts
    m = np.unique(np.round(min_tail * GRID_RATIO ** np.arange(
        int(math.log(n / min_tail) / math.log(GRID_RATIO)) + 2)).astype(np.int64))
    m = m[m <= n]
    j = n - m                                               # tail of size m starts at n - m
    j = starts[np.clip(np.searchsorted(starts, j, side="right") - 1, 0, starts.size - 1)]
    return np.unique(j)


def _scan(xs: np.ndarray, logs: np.ndarray, suffix: np.ndarray, cand: np.ndarray):
    """(a_hat, D) for every candidate start index (vector form, tail by tail)."""
    n = xs.size
    m = n - cand
    a = 1.0 + m / (suffix[cand] - m * logs[cand])
    D = np.empty(cand.size)
    for i, (j, mj, aj) in enumerate(zip(cand, m, a)):
        z = logs[j:] - logs[j]
        P = -np.expm1((1.0 - aj) * z)                       # fitted CDF at the tail's values
        k = np.arange(mj)
        D[i] = max(np.max((k + 1) / mj - P), np.max(P - k / mj))
    return a, D


def fit_power_law(x, *, xmin: float | None = None, min_tail: int = MIN_TAIL,
                  exact_max: int = EXACT_MAX) -> PowerLawFit:
    """Fit the continuous power-law tail (module docstring, step 1).  ``xmin`` fixes x_min
    instead of scanning; ``min_tail`` is the smallest tail a candidate may leave."""
    xs = _as_sample(x)
    min_tail = check_int("min_tail", min_tail, min_value=2, max_value=xs.size)
    exact_max = check_int("exact_max", exact_max, min_value=1)
    return _fit_sorted(xs, xmin, min_tail, exact_max)


def _fit_sorted(xs, xmin, min_tail, exact_max) -> PowerLawFit:
    logs = np.log(xs)
    suffix = np.cumsum(logs[::-1])[::-1]
    if xmin is not None:
        j = int(np.searchsorted(xs, float(xmin), side="left"))
        if xs.size - j < 2:
            raise ValueError(f"`xmin` leaves fewer than 2 values in the tail; got xmin={xmin!r}")
        cand = np.array([j])
    else:
        cand = _candidates(xs, min_tail, exact_max)
    a, D = _scan(xs, logs, suffix, cand)
    a = np.where(np.isfinite(a), a, np.inf)
    best = int(np.argmin(np.where(np.isfinite(a), D, np.inf)))
    j = int(cand[best])
    return PowerLawFit(float(xs[j]), float(a[best]), int(xs.size - j), float(D[best]), int(cand.size))


def _loglik_pl(t, xmin, a):
    return math.log((a - 1.0) / xmin) - a * np.log(t / xmin)


def _fit_exponential(t, xmin):
    lam = 1.0 / np.mean(t - xmin)
    return np.log(lam) - lam * (t - xmin), {"lambda": float(lam)}


def _maximise(total, starts):
    """Maximise total(p) (the summed log-likelihood) over 2 parameters: Nelder-Mead from each
    start, the best kept.  (L-BFGS-B's Fortran step was the slow part on a loaded machine,
    through its BLAS calls.)"""
    def f(p):
        with np.errstate(over="ignore", invalid="ignore"):
            v = -float(total(p))
        return v if math.isfinite(v) else 1e300

    best = None
    for start in starts:
        r = optimize.minimize(f, np.array(start, dtype=float), method="Nelder-Mead",
                              options={"xatol": 1e-8, "fatol": 1e-9, "maxiter": 600})
        if best is None or r.fun < best.fun:
            best = r
    return best


def _fit_lognormal(t, xmin):
    lt, l0 = np.log(t), math.log(xmin)

    def ll(p):
        mu, ls = p
        s = math.exp(ls)
        return (-lt - ls - 0.5 * math.log(2 * math.pi) - 0.5 * ((lt - mu) / s) ** 2
                - special.log_ndtr(-(l0 - mu) / s))

    # the summed log-likelihood from sufficient statistics (O(1) per evaluation)
    m, S0, S1, S2 = lt.size, float(lt.sum()), float(lt.sum()), float((lt * lt).sum())

    def total(p):
        mu, ls = p
        s = math.exp(ls)
        return (-S0 - m * ls - 0.5 * m * math.log(2 * math.pi)
                - (S2 - 2.0 * mu * S1 + m * mu * mu) / (2.0 * s * s)
                - m * float(special.log_ndtr(-(l0 - mu) / s)))

    # near a power law the likelihood has a long valley towards mu -> -inf, sigma -> inf: start
    # from the best point of a profile over sigma (mu maximised for each sigma on a line search)
    starts = [(float(lt.mean()), math.log(float(max(lt.std(), 1e-3))))]
    prof = []
    for sig in np.geomspace(0.1, 300.0, 16):
        r = optimize.minimize_scalar(lambda mu: -total((mu, math.log(sig))),
                                     bounds=(l0 - 30.0 * sig * sig - 10.0, l0 + 10.0 * sig),
                                     method="bounded", options={"xatol": 1e-6 * max(1.0, sig * sig)})
        prof.append((r.fun, r.x, math.log(sig)))
    prof.sort()
    starts += [(m_, ls) for _f, m_, ls in prof[:2]]
    best = _maximise(total, starts)
    mu, ls = best.x
    return ll(best.x), {"mu": float(mu), "sigma": float(math.exp(ls))}


def _fit_stretched(t, xmin):
    y = t / xmin
    ly = np.log(y)

    def ll(p):
        lb, llam = p
        b, lam = math.exp(lb), math.exp(llam)
        return lb + llam + (b - 1.0) * ly - lam * np.expm1(b * ly) - math.log(xmin)

    m, Sly = ly.size, float(ly.sum())

    def total(p):                     # one pass over the data per evaluation
        lb, llam = p
        b, lam = math.exp(lb), math.exp(llam)
        return (m * (lb + llam - math.log(xmin)) + (b - 1.0) * Sly
                - lam * float(np.expm1(b * ly).sum()))

    best = _maximise(total, ((0.0, math.log(1.0 / max(np.mean(y - 1.0), 1e-12))), (math.log(0.3), 0.0),
                             (math.log(0.1), math.log(2.0))))
    lb, llam = best.x
    b = math.exp(lb)
    best_ll = ll(best.x)
    # in the unscaled variable: pdf ~ x^(b-1) exp(-Lambda x^b), Lambda = lam / xmin^b
    return best_ll, {"beta": float(b), "lambda": float(math.exp(llam) / xmin ** b)}


_ALTERNATIVES = {"exponential": _fit_exponential, "lognormal": _fit_lognormal,
                 "stretched_exponential": _fit_stretched}


def compare(x, fit: PowerLawFit) -> dict:
    """Likelihood-ratio comparisons of the fitted power law with each alternative on the tail
    x >= fit.xmin (module docstring, step 3)."""
    xs = _as_sample(x)
    t = xs[xs >= fit.xmin]
    lpl = _loglik_pl(t, fit.xmin, fit.a)
    out = {}
    m = t.size
    for name, fn in _ALTERNATIVES.items():
        lalt, params = fn(t, fit.xmin)
        d = lpl - lalt
        R = float(d.sum())
        sd = float(np.sqrt(np.mean((d - d.mean()) ** 2)))
        if sd > 0:
            p = float(special.erfc(abs(R) / (sd * math.sqrt(2 * m))))
            Rn = R / (sd * math.sqrt(m))
        else:
            p, Rn = 1.0, 0.0
        out[name] = {"R": R, "R_normalized": float(Rn), "p": p, "params": params}
    return out


def input_problems(x) -> list[str]:
    """Messages for integer data and ties (module docstring); empty when neither applies."""
    v = np.asarray(as_tensor("x", x).detach().to("cpu").double().numpy()).reshape(-1)
    msgs = []
    if v.size and np.all(v == np.round(v)):
        msgs.append("integer data: every value is an integer (counts?); a continuous tail fit to "
                    "them is biased by the lattice -- jitter them (--jitter, adds U(-1/2, 1/2)) "
                    "or fit a discrete law")
    s = np.sort(v)[::-1]
    top = s[: max(MIN_TAIL, int(math.isqrt(s.size)) * 4)]
    dup = int(np.sum(top[1:] == top[:-1]))
    if dup:
        msgs.append(f"ties: {dup} repeated value(s) among the {top.size} largest; the tail "
                    "estimators and the KS distance assume a continuous law (--jitter breaks ties)")
    return msgs


def jitter_integers(x, *, seed: int | None = None) -> np.ndarray:
    """x + U(-1/2, 1/2) (seeded), dropping values that become <= 0: the usual continuous
    approximation of integer counts (documented as ``--jitter`` in the command line)."""
    v = np.asarray(as_tensor("x", x).detach().to("cpu").double().numpy()).reshape(-1)
    rng = np.random.default_rng(seed)
    out = v + rng.uniform(-0.5, 0.5, v.size)
    return out[out > 0]


def gof_test(x, *, n_boot: int = 200, seed: int | None = None, min_tail: int = MIN_TAIL,
             exact_max: int = EXACT_MAX, warn: bool = True) -> GofResult:
    """Fit, bootstrap p-value and likelihood-ratio comparisons (module docstring).

    ``n_boot`` synthetic samples (0 skips the p-value; Clauset et al. use 2500 for a p-value
    accurate to 0.01), seeded by ``seed``.  Issues the module's warnings unless ``warn=False``
    (they are returned in ``warnings`` either way).
    """
    xs = _as_sample(x)
    n_boot = check_int("n_boot", n_boot, min_value=0)
    min_tail = check_int("min_tail", min_tail, min_value=2, max_value=xs.size)
    exact_max = check_int("exact_max", exact_max, min_value=1)
    fit = _fit_sorted(xs, None, min_tail, exact_max)
    p = None
    if n_boot:
        rng = np.random.default_rng(seed)
        below = xs[xs < fit.xmin]
        n, hits = xs.size, 0
        for _ in range(n_boot):
            m = int(rng.binomial(n, fit.n_tail / n)) if below.size else n
            tail = fit.xmin * (1.0 - rng.random(m)) ** (-1.0 / (fit.a - 1.0))
            body = below[rng.integers(0, below.size, n - m)] if below.size else np.empty(0)
            ys = np.sort(np.concatenate([body, tail]))
            fb = _fit_sorted(ys, None, min(min_tail, ys.size), exact_max)
            hits += fb.D >= fit.D
        p = hits / n_boot
    comps = compare(xs, fit)
    msgs = input_problems(xs)
    light_alt = [k for k in ("exponential", "stretched_exponential")
                 if comps[k]["R"] < 0 and comps[k]["p"] < 0.1]
    if (p is not None and p < 0.1 and light_alt) or fit.alpha > LIGHT_INDEX:
        why = (f"the fitted tail index is {fit.alpha:.3g} > {LIGHT_INDEX:g}" if fit.alpha > LIGHT_INDEX
               else f"the power law is rejected (p = {p:.3g}) and {', '.join(light_alt)} fits better")
        msgs.append(f"light tail: {why}; an exponential or Gaussian tail reads as a large alpha "
                    "that grows with n, not as a power law")
    if warn:
        for msg in msgs:
            tail_warn(msg, stacklevel=2)
    return GofResult(fit, p, n_boot, comps, msgs)
