"""The default estimator stable_t_dk: the tabulated stable density, the Student-t fit and its
test, the choice between the two models, the fallback, errors and invariances."""
import math
import warnings

import numpy as np
import pytest
import torch
from scipy import stats
from scipy.stats import levy_stable

from ahtga.tail import DEFAULT, MIN_N, TailWarning, estimate, hill_dk, stable_dk, stable_t_dk, student_t_fit
from ahtga.tail import _stable_density as D
from ahtga.tail import stable_t as ST
from sim import stable_density as SD
from sim.stable import stable_rvs


def abs_stable(alpha, n, seed):
    return np.abs(stable_rvs(alpha, 0.0, size=n, parameterization="S1", rng=seed))


def abs_t(nu, n, seed):
    return np.abs(np.random.default_rng(seed).standard_t(nu, n))


def test_default_and_registry():
    assert DEFAULT == "stable_t_dk" and MIN_N["stable_t_dk"] == 3
    e = estimate(abs_stable(1.5, 2000, 0))
    assert e.estimator == "stable_t_dk" and e.k is None and e.diagnostics["branch"] == "stable"


@pytest.mark.parametrize("alpha", [0.8, 1.0, 1.5, 1.9])
def test_density_table_against_scipy(alpha):
    """The written table (Fourier integral and series) agrees with scipy's levy_stable.pdf in the
    body, where scipy's integral is reliable."""
    i = [round(a, 4) for a in D.ALPHAS].index(alpha)
    y = np.array([-3.0, -1.0, 0.0, 0.7, 1.5, 2.5])
    got = ST.stable_logpdf(y, alpha)
    want = np.log(2 * levy_stable.pdf(np.exp(y), alpha, 0.0))
    np.testing.assert_allclose(got, want, atol=2e-5)
    j = np.round((y - D.LOGX_LO) / D.LOGX_STEP).astype(int)
    np.testing.assert_allclose(np.asarray(D.LOGF[i])[j], got, atol=1e-9)   # grid points: the table


@pytest.mark.parametrize("alpha", [0.6, 1.0, 1.3, 1.71, 1.9, 1.99, 2.0])
def test_density_integrates_to_one_and_meets_its_tail(alpha):
    """Between and on the table's rows the density of |X| integrates to 1 (up to the mass beyond
    the table, computed from the power-law term) and joins the power-law term above the table."""
    y = np.linspace(D.LOGX_LO, D.LOGX_LO + D.LOGX_STEP * (D.LOGX_N - 1), 20001)
    f = np.exp(ST.stable_logpdf(y, alpha))
    mass = np.trapezoid(f * np.exp(y), y) + math.exp(D.LOGX_LO) * f[0]
    if alpha < 2:
        c = 2 * math.gamma(alpha) * math.sin(math.pi * alpha / 2) / math.pi      # P(|X| > x) ~ c x^-alpha
        mass += c * math.exp(-alpha * y[-1])
        edge = y[-1]
        inside, above = ST.stable_logpdf(np.array([edge - 1e-9]), alpha), ST.stable_logpdf(np.array([edge + 1e-9]), alpha)
        assert abs(inside[0] - above[0]) < 1e-3
    assert mass == pytest.approx(1.0, abs=2e-4)


def test_density_generator_switches_where_integral_and_series_agree():
    lx = SD.logx_grid()
    for a in (0.7, 1.2, 1.96):
        row, gap = SD.log_density_row(a, lx)
        assert np.all(np.isfinite(row)) and gap < SD.SWITCH_TOL
    x = np.array([50.0, 200.0, 1000.0])      # Cauchy: the error is the first omitted term, x^-4 relative
    np.testing.assert_allclose(SD.series(1.0, x), 1 / (math.pi * (1 + x ** 2)), rtol=1.1 * 50.0 ** -4)


def test_stable_logpdf_errors():
    with pytest.raises(ValueError, match="alpha"):
        ST.stable_logpdf(np.zeros(3), 0.5)


def test_student_t_fit_recovers_nu_and_its_gradient_is_right():
    x = abs_t(4.0, 20_000, 1)
    nu, s, ll, terms = student_t_fit(x)
    assert abs(nu - 4) < 0.35 and abs(s - 1) < 0.05
    assert ll == pytest.approx(terms.sum()) and ll == pytest.approx(np.sum(np.log(2 * stats.t.pdf(x / s, nu) / s)))
    # the likelihood is maximal: no nearby (nu, s) is better
    for dn, ds in [(0.2, 0), (-0.2, 0), (0, 0.02), (0, -0.02)]:
        assert np.sum(np.log(2 * stats.t.pdf(x / (s + ds), nu + dn) / (s + ds))) < ll
    nu2, s2, _, _ = student_t_fit(x * 1e6)                        # scale equivariance
    assert nu2 == pytest.approx(nu, rel=1e-4) and s2 == pytest.approx(s * 1e6, rel=1e-4)


def test_stable_loglik_peaks_near_the_truth():
    x = abs_stable(1.6, 5000, 2)
    ll, a, s, terms = ST.stable_loglik(x, 1.5)
    assert abs(a - 1.6) < 0.05 and abs(s - 1) < 0.05 and ll == pytest.approx(terms.sum())
    worse = np.sum(ST.stable_logpdf(np.log(x), 1.3))
    assert worse < ll


@pytest.mark.parametrize("alpha", [1.0, 1.5, 1.8])
def test_stable_data_take_the_stable_branch(alpha):
    x = abs_stable(alpha, 10_000, int(alpha * 10))
    a, k, d = stable_t_dk(x)
    assert d["branch"] == "stable" and k is None and abs(a - alpha) < 0.04
    assert a == stable_dk(x)[0]


@pytest.mark.parametrize("nu", [3.0, 4.0, 6.0])
def test_student_t_data_read_as_nu_at_n_1e4(nu):
    """The failure of stable_dk (|t| read as a stable index < 2) is gone where the data say so."""
    x = abs_t(nu, 10_000, int(nu))
    a, _, d = stable_t_dk(x)
    assert d["branch"] == "student_t" and abs(a - nu) < 0.25 * nu
    assert stable_dk(x)[0] != a


def test_student_t4_at_n_1e3_mostly_read_as_t():
    reads = [stable_t_dk(abs_t(4.0, 1000, 100 + r)) for r in range(10)]
    assert sum(d["branch"] == "student_t" for _, _, d in reads) >= 7
    assert np.median([a for a, _, _ in reads]) == pytest.approx(4.0, abs=1.0)


def test_choice_follows_the_log_odds():
    """With both models accepted, the branch is t exactly when llr > stable_log_odds."""
    for seed in range(200, 240):
        x = abs_t(4.0, 1000, seed)
        _, _, d = stable_t_dk(x)
        if d["loglik_t"] is None:
            continue
        llr = d["loglik_t"] - d["loglik_stable"]
        assert (d["branch"] == "student_t") == (llr > ST.STABLE_LOG_ODDS)
        for c in (llr - 0.1, llr + 0.1):
            assert (stable_t_dk(x, stable_log_odds=c)[2]["branch"] == "student_t") == (llr > c)
        return
    pytest.fail("no sample with both models accepted")


def test_neither_model_falls_back_to_hill_dk():
    x = (1.0 - np.random.default_rng(3).random(10_000)) ** (-1 / 0.9)        # Pareto(0.9)
    a, k, d = stable_t_dk(x)
    assert d["branch"] == "hill_dk" and d["stable_p"] < 1e-3 and d["t_p"] < 1e-3
    assert (a, k) == hill_dk(x)[:2] and abs(a - 0.9) < 0.05


def test_small_samples_take_hill_lepski():
    x = abs_stable(1.5, 20, 4)
    e = estimate(x)
    assert e.diagnostics["branch"] == "hill_lepski" and e.diagnostics["t_nu"] is None


def test_gaussian_reads_with_a_warning():
    from scipy.stats import halfnorm
    x = halfnorm.ppf((np.arange(5000) + 0.5) / 5000)
    with pytest.warns(TailWarning, match="Gaussian"):
        e = estimate(x)
    assert e.diagnostics["gaussian"] is True


def test_invariances_and_input_types():
    x = abs_t(4.0, 3000, 9)
    a = estimate(x)
    for y in (x * 1e-200, x * 3e150, np.random.default_rng(0).permutation(x), torch.as_tensor(x, dtype=torch.float32)):
        b = estimate(y)
        assert b.diagnostics["branch"] == a.diagnostics["branch"]
        assert b.alpha == pytest.approx(a.alpha, rel=1e-3 if b.diagnostics["branch"] != "hill_dk" else 1e-6)


def test_errors_name_the_argument():
    x = abs_stable(1.5, 200, 5)
    with pytest.raises(ValueError, match="stable_log_odds"):
        estimate(x, stable_log_odds=math.inf)
    with pytest.raises(ValueError, match="level"):
        estimate(x, level=0.0)
    with pytest.raises(ValueError, match="unknown option"):
        estimate(x, t_level=0.1)
    with pytest.raises(ValueError, match="positive|> 0"):
        stable_t_dk(np.r_[x, -1.0])
    with pytest.raises(ValueError, match="needs at least 3"):
        estimate(x[:2])
