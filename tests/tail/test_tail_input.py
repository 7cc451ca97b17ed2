"""Bad input found by trying the package (issue 14, item 5): each gets a clear error or a
documented warning."""
import json
import math

import numpy as np
import pytest
import torch

from ahtga.tail import MIN_N, ESTIMATORS, estimate, hill, hill_rbc, moment, pickands, stable_mmo
from ahtga.tail.__main__ import main
from ahtga.tail.loader import load

PARETO = (1 - np.random.default_rng(0).random(400)) ** (-1 / 1.5)


def test_multi_column_csv_is_refused_or_needs_column(tmp_path, capsys):
    p = tmp_path / "two.csv"
    rows = "\n".join(f"{float(v)!r},{i}" for i, v in enumerate(PARETO))
    p.write_text("value,index\n" + rows + "\n")
    with pytest.raises(ValueError, match=r"has 2 columns \(value, index\); pick one with --column"):
        load(p)
    np.testing.assert_array_equal(load(p, column="value"), PARETO)
    np.testing.assert_array_equal(load(p, column=1), np.arange(400.0))
    assert load(p, pool=True).size == 800
    with pytest.raises(ValueError, match=r"--column 'size' is neither.*header names: value, index"):
        load(p, column="size")
    with pytest.raises(ValueError, match=r"--column must be in \[0, 1\].*got 2"):
        load(p, column=2)
    assert main([str(p), "--estimator", "hill", "--k", "20"]) == 2
    assert "has 2 columns" in capsys.readouterr().err
    assert main([str(p), "--estimator", "hill", "--k", "20", "--column", "value", "--json"]) == 0
    rec = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert rec["alpha"] == pytest.approx(float(hill(PARETO, 20)))


@pytest.mark.parametrize("text,match", [
    ("1.5\n2.5\nabc\n3.5\n", r"line 3, column 0: could not read 'abc' as a number"),
    ("1.5,\n2.5,\n", r"line 1, column 1: empty cell \(a trailing or doubled comma\?\)"),
    ("1.5;2\n2.5;3\n", r"line 1, column 0: could not read '1.5;2'.*not ';'"),
    ("1.5,2\n2.5\n", r"line 2: 1 cell\(s\) where the first row has 2"),
])
def test_csv_parse_errors_name_the_line(tmp_path, text, match):
    p = tmp_path / "bad.csv"
    p.write_text(text)
    with pytest.raises(ValueError, match=match):
        load(p)


def test_csv_quotes_and_header_and_text_comments(tmp_path):
    p = tmp_path / "q.csv"
    p.write_text('"x"\n"1.5"\n"2.5"\n 3.5 \n')
    np.testing.assert_array_equal(load(p), [1.5, 2.5, 3.5])
    t = tmp_path / "t.txt"
    t.write_text("# a comment\n1.5  # trailing comment\n\n2.5\n")
    np.testing.assert_array_equal(load(t), [1.5, 2.5])
    t.write_text("1.5\nfoo\n")
    with pytest.raises(ValueError, match=r"line 2, column 0: could not read 'foo'"):
        load(t)


def test_complex_input_is_refused(tmp_path):
    z = PARETO + 1j
    with pytest.raises(TypeError, match=r"`x` must hold real numbers; got complex dtype"):
        estimate(z, "hill")
    with pytest.raises(TypeError, match=r"complex"):
        hill(torch.as_tensor(z), 5)
    np.save(tmp_path / "z.npy", z)
    with pytest.raises(ValueError, match=r"holds complex numbers"):
        load(tmp_path / "z.npy")


def test_stable_mmo_near_the_float_maximum_is_finite():
    rng = np.random.default_rng(3)
    x = rng.standard_cauchy(2000)
    base = float(stable_mmo(x))
    big = float(stable_mmo(x / np.abs(x).max() * 1.7e308))
    assert math.isfinite(big) and big == pytest.approx(base, rel=1e-9)


@pytest.mark.parametrize("k", [np.int64(40), np.int32(40), np.uint16(40), torch.tensor(40)])
def test_integer_types_are_accepted_for_k(k):
    ref = float(hill(PARETO, 40))
    assert float(hill(PARETO, k)) == ref
    assert estimate(PARETO, "hill", k=k).alpha == ref and estimate(PARETO, "hill", k=k).k == 40
    assert float(moment(PARETO, k)) == float(moment(PARETO, 40))
    assert float(hill_rbc(PARETO, k)) == float(hill_rbc(PARETO, 40))
    assert float(pickands(PARETO, np.int64(20))) == float(pickands(PARETO, 20))


@pytest.mark.parametrize("k", [40.5, np.float64(40.0), True, "40", torch.tensor(40.0)])
def test_non_integer_k_is_an_error_naming_k(k):
    with pytest.raises(ValueError, match=r"`k` must satisfy 1 <= k < n; got k="):
        hill(PARETO, k)


def test_seed_out_of_range_names_the_argument(tmp_path, capsys):
    with pytest.raises(ValueError, match=r"`seed` must be <= 18446744073709551615; got seed="):
        estimate(PARETO, "hill_db", seed=1e23, n_boot=10)
    np.save(tmp_path / "x.npy", PARETO)
    for bad in ("1e23", str(2 ** 64), "-1", "abc"):
        with pytest.raises(SystemExit) as e:
            main([str(tmp_path / "x.npy"), "--seed", bad])
        assert e.value.code == 2
        err = capsys.readouterr().err
        assert "argument --seed: must be an integer in [0, 2**64 - 1]" in err and bad in err


@pytest.mark.parametrize("name", sorted(MIN_N))
def test_smallest_n_per_estimator(name, capsys):
    """Every registered estimator has a smallest n; below it a clear error names the
    estimator; at it the estimator runs.  The CLI's --help lists them."""
    assert set(MIN_N) == set(ESTIMATORS)
    need = MIN_N[name]
    x = PARETO[:need] * np.where(np.arange(need) % 2, 1.0, -1.0 if name == "stable_mmo" else 1.0)
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = estimate(x, name, seed=0, **({"n_boot": 20} if "db" in name else {}))
    assert r.alpha > 0
    with pytest.raises(ValueError, match=f"estimator '{name}' needs at least {need} values; got n={need - 1}"):
        estimate(x[:need - 1], name, seed=0)
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert "smallest sample each estimator accepts" in out
    assert any(line.split() == [name, str(need)] for line in out.splitlines())
