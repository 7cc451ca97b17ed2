"""Planted wrong formulas (theory.mutations) are reported as failures; unplanted, the checks pass."""
from __future__ import annotations

import json

import pytest

from theory import flatness, mutations, run_all
from theory.registry import by_name


def test_every_mutation_names_registered_checks():
    reg = by_name()
    assert len(mutations.MUTATIONS) >= 8
    for m in mutations.MUTATIONS:
        assert m.checks and all(c in reg for c in m.checks), m.name


def test_planted_restores_the_function():
    m = next(x for x in mutations.MUTATIONS if x.target.endswith(":brownian_log_rate"))
    original = flatness.brownian_log_rate
    with mutations.planted(m):
        assert flatness.brownian_log_rate is not original
        assert not flatness.check_brownian_exit_time().passed
    assert flatness.brownian_log_rate is original
    assert flatness.check_brownian_exit_time().passed


FAST = [m for m in mutations.MUTATIONS if not m.slow]


@pytest.mark.slow
@pytest.mark.parametrize("mutation", FAST, ids=lambda m: m.name)
def test_every_fast_mutation_is_caught_without_an_exception(mutation, monkeypatch):
    monkeypatch.setattr(mutations, "MUTATIONS", (mutation,))
    (rec,) = mutations.run_mutations(small=True)
    assert rec["caught"], rec
    assert not rec["errors"], rec              # caught by a failed comparison, not by a crash


def test_run_all_reports_missed_mutation(tmp_path, monkeypatch):
    # a "mutation" that changes nothing must be reported as missed (exit 1)
    noop = mutations.Mutation("no-op", "theory.flatness:brownian_log_rate", lambda f: f,
                              ("theory.flatness.check_levy_constant_matches_tail",))
    monkeypatch.setattr(mutations, "MUTATIONS", (noop,))
    monkeypatch.setattr(run_all, "CHECKS", (by_name()["theory.flatness.check_levy_constant_matches_tail"],))
    assert run_all.main(["--out", str(tmp_path), "--mutations"]) == 1
    data = json.loads((tmp_path / "theory_mutations.json").read_text())
    assert data["n_missed"] == 1 and not data["mutations"][0]["caught"]
