"""proofs/ names checks that exist; run_all lists every statement; run_all's output files."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from theory import run_all
from theory.registry import CHECKS, STATEMENTS, Entry, by_name

ROOT = Path(__file__).resolve().parents[2]
PROOFS = sorted((ROOT / "proofs").glob("stmt_*.tex"))


def _comment_checks(text: str) -> list[str]:
    lines = [ln for ln in text.splitlines() if ln.startswith("% CHECKS:")]
    assert len(lines) == 1, "exactly one '% CHECKS:' line"
    return lines[0].split(":", 1)[1].split()


def _visible_checks(text: str) -> list[str]:
    para = text[text.index(r"\paragraph{Checks.}"):]
    return [m.replace(r"\_", "_") for m in re.findall(r"\\texttt\{([^}]*)\}", para)]


def test_one_fragment_per_statement():
    nums = sorted(int(re.match(r"stmt_(\d+)_", p.name).group(1)) for p in PROOFS)
    assert nums == sorted(STATEMENTS)


@pytest.mark.parametrize("path", PROOFS, ids=lambda p: p.name)
def test_fragment_names_existing_registered_checks(path):
    text = path.read_text()
    n = int(re.match(r"stmt_(\d+)_", path.name).group(1))
    listed = _comment_checks(text)
    assert listed, "no checks named"
    assert sorted(listed) == sorted(_visible_checks(text)), "comment and visible lists differ"
    reg = by_name()
    for name in listed:
        assert name in reg, f"{name} not in theory/registry.py"
        assert reg[name].statement == n, f"{name} registered under statement {reg[name].statement}"
        assert callable(reg[name].function())
    # and every registered check of this statement is named by its fragment
    assert {e.check for e in CHECKS if e.statement == n} == set(listed)
    assert re.search(r"\\(paragraph|emph)\{Proof", text), "no proof or proof sketch"
    for token in (r"\paragraph{References.}", r"\subsection*{Statement"):
        assert token in text


def test_fragments_have_no_document_preamble():
    for path in PROOFS:
        text = path.read_text()
        assert r"\documentclass" not in text and r"\begin{document}" not in text
        assert text.count("{") == text.count("}"), path.name


def test_run_all_table_lists_every_statement(tmp_path, monkeypatch):
    # run the fast symbolic checks through the CLI plus one cheap check of each statement
    fast = [e for e in CHECKS if e.check in {
        "theory.transform.check_exact_exponent", "theory.hill_pareto.check_wrong_threshold",
        "theory.stable_laws.check_vector_norm_index", "theory.convergence.check_clipping_exponents",
        "theory.generalization.check_schedule_implication", "theory.flatness.check_levy_constant_matches_tail",
        "theory.flatness.check_exit_time_law",
        "sim.theory_checks.check_gclt_scaling"}]
    assert {e.statement for e in fast} == set(STATEMENTS)
    monkeypatch.setattr(run_all, "CHECKS", tuple(fast))
    rc = run_all.main(["--out", str(tmp_path), "--small"])
    assert rc == 0
    tex = (tmp_path / "tab_theory_checks.tex").read_text()
    rows = [ln for ln in tex.splitlines() if re.match(r"^\d+ & ", ln)]
    assert {int(r.split(" &")[0]) for r in rows} == set(STATEMENTS)
    assert r"\begin{tabular}" in tex and r"\end{tabular}" in tex
    assert "& Basis &" in tex
    assert {r.split(" & ")[3] for r in rows} <= {"derivation", "algebra on a cited premise", "simulation"}
    assert "algebra on a cited premise" in {r.split(" & ")[3] for r in rows}
    data = json.loads((tmp_path / "theory_checks.json").read_text())
    assert data["n_failed"] == 0 and len(data["checks"]) == len(fast)
    assert not list(tmp_path.glob("*.tmp"))


def test_run_all_reports_failure_and_error(tmp_path, monkeypatch):
    bad = Entry(1, "theory.transform.check_does_not_exist", "missing")
    monkeypatch.setattr(run_all, "CHECKS", (bad,))
    assert run_all.main(["--out", str(tmp_path)]) == 1
    data = json.loads((tmp_path / "theory_checks.json").read_text())
    assert data["checks"][0]["error"].startswith("AttributeError")
    assert r"\textbf{error}" in (tmp_path / "tab_theory_checks.tex").read_text()


def test_tex_escape():
    assert run_all._tex_escape("a_b^2 |x| > 1 & 50%") == (
        r"a\_b\textasciicircum{}2 \textbar{}x\textbar{} \textgreater{} 1 \& 50\%")


def test_basis_of_each_entry():
    reg = by_name()
    assert reg["theory.flatness.check_exit_time_law"].basis == "algebra on a cited premise"
    assert reg["theory.convergence.check_minibatch_second_moment"].basis == "derivation"
    assert reg["sim.theory_checks.check_exit_time_level"].basis == "simulation"
    with pytest.raises(ValueError, match="premise"):
        Entry(1, "sim.theory_checks.check_gclt_scaling", "x", premise="y")
