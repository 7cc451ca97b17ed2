"""scripts/build.py (the one-process build behind ``make figures``): discovery, dependencies
(sibling imports, package sources, GENERATED_INPUTS), staleness, failure reporting; and the tables
generated from the code's defaults."""
from __future__ import annotations

import inspect
import os
import pathlib
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
SCRIPTS = ROOT / "paper" / "scripts"
sys.path.insert(0, str(SCRIPTS))
import build  # noqa: E402


def test_every_script_is_a_target():
    names = {s.name for s, _ in build.targets(pathlib.Path("generated"))}
    expected = {p.name for p in SCRIPTS.glob("*.py") if p.stem.split("_", 1)[0] in ("fig", "tab", "num")}
    assert names == expected and "build.py" not in names and "common.py" not in names


def test_sibling_imports_are_dependencies():
    files, _ = build.code_deps(SCRIPTS / "tab_small_datasets.py")
    names = {f.name for f in files}
    assert {"tab_small_datasets.py", "tab_small_main.py", "common.py"} <= names
    # transitively: num_small_lm imports num_small_noise, which imports tab_robustness, which
    # imports fig_main_curves
    files, _ = build.code_deps(SCRIPTS / "num_small_lm.py")
    assert {"num_small_noise.py", "tab_robustness.py", "fig_main_curves.py"} <= {f.name for f in files}


def test_package_sources_and_generated_inputs_are_dependencies():
    files, gen_inputs = build.code_deps(SCRIPTS / "tab_defaults.py")
    rel = {f.relative_to(ROOT).as_posix() for f in files}
    assert "ahtga/optim/ahtga.py" in rel and "ahtga/control/tail_tracker.py" in rel
    _, gen_inputs = build.code_deps(SCRIPTS / "num_theory.py")
    assert gen_inputs == {"theory_checks.json", "theory_mutations.json"}


def _fake_scripts(tmp_path, monkeypatch):
    d = tmp_path / "scripts"
    d.mkdir()
    (d / "helper_mod.py").write_text("VALUE = 'v1'\n")
    (d / "tab_ok.py").write_text(
        "import argparse, pathlib\nfrom helper_mod import VALUE\n"
        "def main(argv=None):\n"
        "    ap = argparse.ArgumentParser(); [ap.add_argument(f'--{n}') for n in ('results', 'measured', 'out')]\n"
        "    a = ap.parse_args(argv)\n"
        "    pathlib.Path(a.out).write_text(VALUE)\n")
    (d / "num_bad.py").write_text("def main(argv=None):\n    raise RuntimeError('planted')\n")
    monkeypatch.setattr(build, "SCRIPTS", d)
    monkeypatch.setattr(build, "_DEP_CACHE", {})
    for name in ("helper_mod", "tab_ok", "num_bad"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    return d


def test_build_reports_a_failure_and_builds_the_rest(tmp_path, monkeypatch, capsys):
    _fake_scripts(tmp_path, monkeypatch)
    gen = tmp_path / "gen"
    rc = build.main(["--results", str(tmp_path / "r"), "--measured", str(tmp_path / "m"), "--gen", str(gen)])
    assert rc == 1
    assert (gen / "tab_ok.tex").read_text() == "v1"
    assert not (gen / "num_bad.tex").exists()
    assert "FAILED: num_bad.tex" in capsys.readouterr().out


def test_touching_an_imported_sibling_makes_the_output_stale(tmp_path, monkeypatch):
    d = _fake_scripts(tmp_path, monkeypatch)
    gen = tmp_path / "gen"
    gen.mkdir()
    out = gen / "tab_ok.tex"
    out.write_text("old")
    t = out.stat().st_mtime
    for p in d.glob("*.py"):
        os.utime(p, (t - 100, t - 100))
    assert not build.stale(d / "tab_ok.py", out, gen, -1.0)
    os.utime(d / "helper_mod.py", (t + 100, t + 100))
    assert build.stale(d / "tab_ok.py", out, gen, -1.0)
    # a result file newer than the output also makes it stale
    os.utime(d / "helper_mod.py", (t - 100, t - 100))
    assert build.stale(d / "tab_ok.py", out, gen, t + 1)


def test_defaults_table_is_read_from_the_code():
    import tab_defaults
    from ahtga.optim.ahtga import AHTGA, DEFAULT_EXPONENT

    sig = inspect.signature(AHTGA.__init__).parameters
    rows = {nv for _, nv, _ in tab_defaults.rows()}
    tgt = sig["target"].default
    if tgt is None:                                  # default None: the module's DEFAULT_TARGET spec
        from ahtga.optim.ahtga import DEFAULT_TARGET
        assert f"target = {DEFAULT_TARGET['name']}" in rows
    else:
        assert f"target = {tgt:g}" in rows
    assert f"estimator = {sig['estimator'].default}" in rows
    assert f"gamma_max = {DEFAULT_EXPONENT['gamma_max']:g}" in rows
    assert f"eps = {sig['eps'].default:g}" in rows
    macros = num_defaults_text()
    assert "DefaultTargetText" in macros and "LrGridText" in macros


def num_defaults_text():
    import num_defaults
    import tempfile
    with tempfile.TemporaryDirectory() as d:
        out = pathlib.Path(d) / "num_defaults.tex"
        num_defaults.main(["--results", d, "--measured", d, "--out", str(out)])
        return out.read_text()


def test_defaults_table_follows_a_changed_default(monkeypatch):
    import tab_defaults
    from ahtga.optim import ahtga as opt

    monkeypatch.setitem(opt.DEFAULT_EXPONENT, "gamma_max", 0.75)
    assert "gamma_max = 0.75" in {nv for _, nv, _ in tab_defaults.rows()}


def test_grid_text():
    import num_defaults
    assert num_defaults.grid_text([6, 6]) == "six-point"
    assert num_defaults.grid_text([5, 6, 6]) == "five- to six-point"


@pytest.mark.parametrize("mu,beta", [(0.9, 0.9)])
def test_sharpness_ceilings_are_the_quadratic_stability_limits(mu, beta):
    # heavy ball x' = x - lr lam x + mu (x - x_prev): stable iff lr lam < 2 (1 + mu); the EMA form is
    # heavy ball with step lr (1 - beta): checked by iterating just below and above each ceiling
    import numpy as np

    def grows(step, m, lam=1.0, n=4000):
        x, xp = 1.0, 1.0
        for _ in range(n):
            x, xp = x - step * lam * x + m * (x - xp), x
        return abs(x) > 1.0

    assert not grows(0.99 * 2 * (1 + mu), mu) and grows(1.01 * 2 * (1 + mu), mu)
    lr_ceiling = 2 * (1 + beta) / (1 - beta)
    assert not grows(0.99 * lr_ceiling * (1 - beta), beta) and grows(1.01 * lr_ceiling * (1 - beta), beta)
    assert np.isclose(lr_ceiling / (2 * (1 + mu)), 10.0)
