"""A run that another preset under the same results folder already holds (same run_key: the
same config apart from naming fields, options, lr and seed) is copied, not trained again --
also when the two presets are run by separate commands."""
from pathlib import Path

import pytest

from ahtga.experiments import runner
from ahtga.experiments.presets import ADAPTIVITY, resolve
from ahtga.experiments.registry import VARIANT_FROM_RUN, VARIANTS
from ahtga.experiments.store import read_json, result_path

QUICK = {"epochs": 2, "max_train_examples": 128, "tail_every": 0, "dynamics": False,
         "lr_sweep": False, "lr_from": "", "progress": False, "log_every": 1,
         "perturbations": (), "ood": "", "model_kwargs": {"hidden": [16]}, "lr": 0.1}


def _cfg(preset, label, **over):
    return resolve(preset, "tiny", {**QUICK, "optimizers": (label,), **over})


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    out = tmp_path_factory.mktemp("identical")
    path, status = runner.run_one_status(_cfg("ablate_c2", "ahtga"), "ahtga", 0, out)
    assert status == "trained"
    return out, path


def test_identical_run_of_another_preset_is_copied_not_trained(source):
    out, src = source
    cfg = _cfg("ablate_c1", "ahtga")
    assert runner.identical_result(cfg, "ahtga", 0, out) == src
    path, status = runner.run_one_status(cfg, "ahtga", 0, out)
    assert status == "copied" and path == result_path(out, "ablate_c1", "ahtga", 0)
    a, b = read_json(src), read_json(path)
    assert b["reused_from"] == str(src) and b["preset"] == "ablate_c1"
    assert b["config"]["preset"] == "ablate_c1" and b["run_key"] == a["run_key"]
    assert b["final"] == a["final"] and b["timings"] == a["timings"]      # nothing retrained
    # the copy is this preset's current result from now on
    assert runner.run_one_status(cfg, "ahtga", 0, out)[1] == "current"


@pytest.mark.parametrize("change", ["seed", "lr", "option"])
def test_a_different_run_is_not_taken_for_the_stored_one(source, change):
    out, _ = source
    cfg = _cfg("ablate_beta2", "ahtga", **({"lr": 0.05} if change == "lr" else {}))
    label, seed = ("ahtga_b2_0.5" if change == "option" else "ahtga"), (1 if change == "seed" else 0)
    if change == "option":
        cfg = _cfg("ablate_beta2", label)
    assert runner.identical_result(cfg, label, seed, out) is None


def test_copies_and_unreadable_files_are_passed_over(source, tmp_path):
    out, src = source
    # a copy (reused_from) is never a source, its original is; a truncated file is skipped
    from ahtga.experiments.store import write_json_atomic
    cfg = _cfg("ablate_target", "ahtga")
    copy = result_path(out, "aa_copy", "ahtga", 0)          # sorts before the original
    bad = result_path(out, "ab_truncated", "ahtga", 0)
    for p in (copy, bad):
        p.parent.mkdir(parents=True, exist_ok=True)
    write_json_atomic(copy, {**read_json(src), "reused_from": "elsewhere"})
    bad.write_text('{"run_key": ')
    try:
        with pytest.warns(RuntimeWarning, match="ab_truncated.*unreadable result file"):
            assert runner.identical_result(cfg, "ahtga", 0, out) == src
        src.rename(src.with_suffix(".bak"))
        with pytest.warns(RuntimeWarning, match="ab_truncated"):
            assert runner.identical_result(cfg, "ahtga", 0, out) is None  # only the copy is left
    finally:
        src.with_suffix(".bak").rename(src)
        copy.unlink()
        bad.unlink()
    # nothing under an empty folder
    assert runner.identical_result(cfg, "ahtga", 0, tmp_path) is None


def test_adaptivity_presets_pair_an_adaptive_run_with_its_matched_control():
    for preset, (adaptive, matched, zero) in ADAPTIVITY.items():
        assert VARIANT_FROM_RUN[matched].label == adaptive
        assert VARIANTS[zero][1]["exponent"] == {"name": "fixed", "gamma": 0.0}
        scale = "small" if preset != "adaptivity" else "tiny"
        cfg = resolve(preset, scale, {})
        assert tuple(cfg.optimizers) == (adaptive, matched, zero)
        # the matched control has the adaptive run's options apart from the fixed exponent
        a = {k: v for k, v in VARIANTS.get(adaptive, ("ahtga", {}))[1].items()}
        m = {k: v for k, v in VARIANTS[matched][1].items()}
        assert a == m
    # the CIFAR-10 / Fashion-MNIST versions train main_cifar's / main_fashion's model on its data
    for preset, src in (("adaptivity_cifar", "main_cifar"), ("adaptivity_fashion", "main_fashion")):
        cfg, main = resolve(preset, "small", {}), resolve(src, "small", {})
        assert cfg.lr_from == src
        for f in ("task", "dataset", "model", "model_kwargs", "perturbations", "epochs", "batch_size"):
            assert getattr(cfg, f) == getattr(main, f), f
    assert resolve("adaptivity_cifar", "small", {}).max_train_examples == \
        resolve("main_cifar", "small", {}).max_train_examples == 10000


# ------------------------------------------------------------------ optimizer defaults
def test_effective_defaults_name_what_an_unset_option_becomes(monkeypatch):
    from ahtga.optim import ahtga as mod
    from ahtga.optim.registry import effective_defaults

    d = effective_defaults("ahtga")
    assert d["target"] == mod.DEFAULT_TARGET and d["exponent"] == mod.DEFAULT_EXPONENT
    assert d["pool_size"] == mod.DEFAULT_POOL_SIZE and d["alpha_clamp"] == mod.DEFAULT_ALPHA_CLAMP
    assert d["lr"] == 1.0                                   # the registry's default over the class's
    g = effective_defaults("ahtga", given=("window", "exponent"))
    assert g["pool_size"] is None and "exponent" not in g and "window" not in g
    assert effective_defaults("sgd")["momentum"] == 0.9
    monkeypatch.setitem(mod.DEFAULT_EXPONENT, "gamma_max", 0.75)
    assert effective_defaults("ahtga")["exponent"]["gamma_max"] == 0.75
    with pytest.raises(ValueError, match="unknown optimizer 'nope'"):
        effective_defaults("nope")


def test_a_result_made_under_another_default_is_stale(tmp_path, monkeypatch):
    """Result files record the optimizer's defaults; when one changes later, the stored result is
    no longer current (nor copied into another preset), so it is retrained."""
    from ahtga.optim import ahtga as mod
    from ahtga.experiments.store import write_json_atomic

    cfg = _cfg("ablate_c2", "ahtga")
    path, status = runner.run_one_status(cfg, "ahtga", 0, tmp_path)
    res = read_json(path)
    rec = res["optimizer_spec"]["defaults"]
    assert rec["exponent"]["gamma_max"] == mod.DEFAULT_EXPONENT["gamma_max"]
    assert "lr" not in rec and "seed" not in rec and "track_transformed" not in rec  # set by the run
    assert runner.stored_is_current(path, cfg, "ahtga", tmp_path)
    other = _cfg("ablate_c1", "ahtga")
    assert runner.identical_result(other, "ahtga", 0, tmp_path) == path
    # an option the stored run did not know (added since) does not make it stale
    write_json_atomic(path, {**res, "optimizer_spec": {**res["optimizer_spec"], "defaults": {
        k: v for k, v in rec.items() if k != "median_lag"}}})
    assert runner.stored_is_current(path, cfg, "ahtga", tmp_path)
    # a changed default does: the clamp of results written before it became (0.1, 50) ...
    write_json_atomic(path, {**res, "optimizer_spec": {**res["optimizer_spec"], "defaults": {
        **rec, "alpha_clamp": [0.1, 5.0]}}})
    assert not runner.stored_is_current(path, cfg, "ahtga", tmp_path)
    write_json_atomic(path, res)
    assert runner.stored_is_current(path, cfg, "ahtga", tmp_path)
    # ... and a default changed under the stored file
    monkeypatch.setitem(mod.DEFAULT_EXPONENT, "gamma_max", 0.75)
    assert not runner.stored_is_current(path, cfg, "ahtga", tmp_path)
    assert runner.identical_result(other, "ahtga", 0, tmp_path) is None
    # a file written before defaults were recorded cannot tell: taken as current
    spec = {k: v for k, v in res["optimizer_spec"].items() if k != "defaults"}
    write_json_atomic(path, {**res, "optimizer_spec": spec})
    assert runner.stored_is_current(path, cfg, "ahtga", tmp_path)
    # retraining under the new default records it
    path2, status2 = runner.run_one_status(cfg, "ahtga", 0, tmp_path, force=True)
    assert status2 == "trained"
    assert read_json(path2)["optimizer_spec"]["defaults"]["exponent"]["gamma_max"] == 0.75
