"""Goodness of fit (Clauset-Shalizi-Newman) against the powerlaw package, warnings that name
the problem, the command line's --gof, --jitter and --plot."""
import json
import warnings

import numpy as np
import pytest

from ahtga.tail import TailWarning
from ahtga.tail.__main__ import main
from ahtga.tail.gof import compare, fit_power_law, gof_test, input_problems, jitter_integers


def mixed(n, seed=0):
    """A lognormal body and a Pareto(1.5) tail above 3: a power-law tail with an x_min to find."""
    rng = np.random.default_rng(seed)
    return np.r_[rng.lognormal(0.0, 1.0, n // 2), 3.0 * (1.0 - rng.random(n - n // 2)) ** (-1 / 1.5)]


def test_agrees_with_the_powerlaw_package():
    powerlaw = pytest.importorskip("powerlaw")
    from scipy import special
    x = mixed(1500, seed=1)
    ours = fit_power_law(x)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = powerlaw.Fit(x, verbose=0)
        # the same x_min scan: the same x_min, exponent and KS distance
        assert ours.xmin == pytest.approx(ref.xmin, rel=1e-12)
        assert ours.a == pytest.approx(ref.alpha, rel=1e-9)
        assert ours.D == pytest.approx(ref.D, abs=1.0 / ours.n_tail)
        comp = compare(x, ours)
        R, p = ref.distribution_compare("power_law", "exponential")
        Rn, _ = ref.distribution_compare("power_law", "exponential", normalized_ratio=True)
        assert comp["exponential"]["R"] == pytest.approx(R, rel=1e-4)          # theirs: numerical MLE
        assert comp["exponential"]["R_normalized"] == pytest.approx(Rn, rel=1e-4)
        assert comp["exponential"]["p"] == pytest.approx(p, rel=1e-3)
        # here the lognormal optimum lies far down the valley towards the power law (mu ~ -1e3
        # and below): the package's normaliser erfc(27) underflows there, so compare
        # likelihoods, each computed precisely: ours is at least the one at the package's optimum
        t = np.sort(x)[np.sort(x) >= ours.xmin]
        lt, l0 = np.log(t), np.log(ours.xmin)
        mu, sg = ref.lognormal.mu, ref.lognormal.sigma
        theirs = np.sum(-lt - np.log(sg) - 0.5 * np.log(2 * np.pi) - 0.5 * ((lt - mu) / sg) ** 2
                        - special.log_ndtr(-(l0 - mu) / sg))
        pl = np.sum(np.log((ours.a - 1) / ours.xmin) - ours.a * np.log(t / ours.xmin))
        assert pl - comp["lognormal"]["R"] >= theirs - 1e-6
        # stretched exponential: our maximum likelihood is at least the package's
        R, _ = ref.distribution_compare("power_law", "stretched_exponential")
        assert comp["stretched_exponential"]["R"] <= R + 1e-6
    assert ours.alpha == pytest.approx(1.5, abs=0.15) and ours.xmin == pytest.approx(3.0, rel=0.35)


def test_agrees_with_powerlaw_on_lognormal_data():
    """Away from the power-law limit both lognormal fits are well defined: the same R and p."""
    powerlaw = pytest.importorskip("powerlaw")
    x = np.random.default_rng(8).lognormal(0.0, 1.0, 1200)
    ours = fit_power_law(x, xmin=1.0)                 # x_min fixed for both
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = powerlaw.Fit(x, xmin=ours.xmin, verbose=0)
        comp = compare(x, ours)
        assert ours.a == pytest.approx(ref.power_law.alpha, rel=1e-9)
        assert comp["lognormal"]["R"] < -3 and comp["lognormal"]["p"] < 0.05     # clearly lognormal
        for name in ("exponential", "lognormal"):
            R, p = ref.distribution_compare("power_law", name)
            assert comp[name]["R"] == pytest.approx(R, rel=1e-3, abs=1e-3), name
            assert comp[name]["p"] == pytest.approx(p, rel=1e-3, abs=1e-3), name


def test_bootstrap_p_value_is_seeded_and_separates_laws():
    pl = gof_test(mixed(600, seed=2), n_boot=40, seed=0, warn=False)
    again = gof_test(mixed(600, seed=2), n_boot=40, seed=0, warn=False)
    assert pl.p_value == again.p_value and pl.p_value > 0.1
    assert pl.comparisons["exponential"]["R"] > 0 and pl.comparisons["exponential"]["p"] < 0.05
    rng = np.random.default_rng(3)
    with pytest.warns(TailWarning, match="light tail"):
        ex = gof_test(rng.exponential(1.0, 600) + 1.0, n_boot=40, seed=0)
    assert ex.fit.alpha > 5 or ex.p_value < 0.1
    assert any(m.startswith("light tail") for m in ex.warnings)


def test_integer_and_tied_data_are_named():
    z = np.random.default_rng(4).zipf(2.0, 2000).astype(float)
    msgs = input_problems(z)
    assert msgs[0].startswith("integer data") and "--jitter" in msgs[0]
    assert msgs[1].startswith("ties:")
    with pytest.warns(TailWarning, match="integer data"), pytest.warns(TailWarning, match="ties"):
        gof_test(z, n_boot=0)
    j = jitter_integers(z, seed=1)
    assert j.size == z.size and np.all(np.abs(j - z) <= 0.5)         # counts >= 1 stay positive
    assert input_problems(j) == [] and np.array_equal(j, jitter_integers(z, seed=1))
    assert input_problems(mixed(500)) == []


def test_errors():
    with pytest.raises(ValueError, match=r"at least 11 values"):
        gof_test(np.arange(1.0, 6.0))
    with pytest.raises(ValueError, match=r"must be positive.*1 value"):
        fit_power_law(np.r_[mixed(50), -1.0])
    with pytest.raises(ValueError, match=r"`n_boot` must be >= 0"):
        gof_test(mixed(50), n_boot=-1)


def test_cli_gof_jitter_plot(tmp_path, capsys):
    p = tmp_path / "x.npy"
    np.save(p, mixed(800, seed=5))
    out_png = tmp_path / "fig" / "t.png"
    assert main([str(p), "--gof", "--n-boot", "20", "--seed", "1", "--json", "--plot", str(out_png)]) == 0
    out = capsys.readouterr().out
    rec = json.loads(out.strip().splitlines()[-1])
    assert rec["gof"]["n_boot"] == 20 and 0 <= rec["gof"]["p_value"] <= 1
    assert set(rec["gof"]["comparisons"]) == {"exponential", "lognormal", "stretched_exponential"}
    assert "power-law tail: x_min" in out and "vs lognormal" in out
    assert out_png.exists() and out_png.read_bytes()[:4] == b"\x89PNG"
    assert not list(out_png.parent.glob("*.tmp*"))
    # integer counts: warned by name; --jitter silences it and is seeded
    c = tmp_path / "counts.txt"
    np.savetxt(c, np.random.default_rng(6).zipf(2.0, 1500), fmt="%d")
    assert main([str(c)]) == 0
    err = capsys.readouterr().err
    assert "integer data" in err and "ties:" in err
    assert main([str(c), "--jitter", "--seed", "2", "--json"]) == 0
    a = capsys.readouterr()
    assert "integer data" not in a.err
    assert main([str(c), "--jitter", "--seed", "2", "--json"]) == 0
    assert json.loads(capsys.readouterr().out.splitlines()[-1]) == json.loads(a.out.splitlines()[-1])
    # light tail flagged without --gof
    g = tmp_path / "g.npy"
    np.save(g, np.abs(np.random.default_rng(7).standard_normal(4000)))
    assert main([str(g)]) == 0
    assert "light tail?" in capsys.readouterr().err
    assert main([str(p), "--plot", str(tmp_path / "t.jpg")]) == 2
    assert "--plot must name a .png" in capsys.readouterr().err
