"""End-to-end tiny runs: result files with every field, skip on rerun, resume after a kill,
learning-rate sweep, command line."""
import dataclasses
import json

import pytest

from ahtga.experiments import evaluation, loop, lr, runner
from ahtga.experiments.cli import main as cli_main
from ahtga.experiments.presets import resolve
from ahtga.experiments.store import checkpoint_path, read_json, result_path
from experiments_kit import kill_and_resume

QUICK = {"optimizers": ("sgd", "ahtga"), "epochs": 2, "max_train_examples": 256, "tail_every": 2,
         "tail_probe": 64, "dynamics": True, "hessian_iters": 5, "hutchinson_samples": 3,
         "eff_rank_batch": 16, "hessian_batch": 64, "lr_sweep": False, "progress": False,
         "log_every": 2, "model_kwargs": {"hidden": [32]}, "lr_overrides": {"ahtga": 0.1}}


@pytest.fixture(scope="module")
def e2e(tmp_path_factory):
    out = tmp_path_factory.mktemp("res")
    cfg = resolve("main", "tiny", QUICK)
    paths = {lab: runner.run_one(cfg, lab, 0, out) for lab in cfg.optimizers}
    return out, cfg, paths


def test_result_files_have_all_fields(e2e):
    out, cfg, paths = e2e
    for lab, p in paths.items():
        assert p == result_path(out, "main", lab, 0) and p.is_file()
        r = read_json(p)
        for key in ("config", "code_version", "data", "hardware", "timings", "curves", "final"):
            assert key in r, key
        assert r["config"]["optimizers"] == ["sgd", "ahtga"] and r["config"]["epochs"] == 2
        assert r["code_version"]["package"] and r["hardware"]["torch"]
        assert len(r["data"]["sha256_train"]) == 64 and r["data"]["n_train"] == 256
        assert r["timings"]["total_s"] > 0
        f = r["final"]
        for k in ("test_acc", "test_loss", "val_acc", "train_loss", "gen_gap_loss", "ece",
                  "hessian_top", "hessian_trace", "eff_rank_final", "tail_alpha_final"):
            assert f[k] is not None, k
        assert 0 <= f["test_acc"] <= 1 and 0 <= f["ece"] <= 1
        assert len(f["reliability"]["count"]) == 15 and sum(f["reliability"]["count"]) == r["data"]["n_test"]
        assert set(f["perturbations"]) == {"gaussian", "blur", "contrast"}
        assert 0 <= f["ood"]["auroc"] <= 1 and f["ood"]["set"] == "permuted"
        assert 1 <= f["eff_rank_final"] <= 16
        c = r["curves"]
        assert c["epoch"]["epoch"] == [1, 2] and len(c["epoch"]["test_acc"]) == 2
        assert c["step"]["step"] == [2, 4, 6, 8] and all(t > 0 for t in c["step"]["step_time"])
        assert [t["step"] for t in c["tail"]] == [0, 2, 4, 6, 8]
        assert not checkpoint_path(p).exists()
    ah = read_json(paths["ahtga"])
    assert all(v is not None for v in ah["curves"]["step"]["alpha_star"])
    assert all(v is not None for v in ah["curves"]["step"]["gamma"])
    assert ah["optimizer_spec"]["lr"] == 0.1
    sgd = read_json(paths["sgd"])
    assert all(v is None for v in sgd["curves"]["step"]["gamma"])
    json.dumps(ah, allow_nan=False)  # strict JSON


def test_rerun_skips_done_results(e2e, monkeypatch):
    out, cfg, paths = e2e
    before = paths["sgd"].stat().st_mtime_ns

    def fail(*a, **k):
        raise AssertionError("a finished run must not be recomputed")

    monkeypatch.setattr(loop, "train_run", fail)
    assert runner.run_one(cfg, "sgd", 0, out) == paths["sgd"]
    assert paths["sgd"].stat().st_mtime_ns == before


def test_stale_result_from_an_edited_config_is_recomputed(e2e, monkeypatch):
    out, cfg, paths = e2e
    edited = dataclasses.replace(cfg, epochs=cfg.epochs + 1)
    calls = []

    def fake_train(*a, **k):
        calls.append(1)
        raise RuntimeError("stop after the decision to recompute")

    monkeypatch.setattr(loop, "train_run", fake_train)
    with pytest.warns(RuntimeWarning, match="differ from this run's; recomputing"):
        with pytest.raises(RuntimeError, match="stop after"):
            runner.run_one(edited, "sgd", 0, out)
    assert calls == [1] and paths["sgd"].is_file()   # the old file stays until a new one is written


@pytest.mark.parametrize("label", ["sgd", "ahtga"])
def test_killed_run_resumes_from_checkpoint(tmp_path, monkeypatch, label):
    cfg = resolve("main", "tiny", {**QUICK, "epochs": 3, "dynamics": False, "perturbations": (),
                                   "ood": ""})
    # val + test per epoch: the 5th evaluation is in epoch 3, after 2 checkpoints
    ref, res = kill_and_resume(monkeypatch, tmp_path, cfg, label, 1, evaluation, "evaluate", 5)
    assert res["timings"]["resumed_from_epoch"] == 2
    assert res["curves"]["epoch"]["test_loss"] == pytest.approx(ref["curves"]["epoch"]["test_loss"], rel=1e-6)
    assert res["curves"]["step"]["train_loss"] == pytest.approx(ref["curves"]["step"]["train_loss"], rel=1e-6)
    assert res["final"]["test_acc"] == ref["final"]["test_acc"]


def test_lr_sweep_picks_by_validation_and_records(tmp_path, monkeypatch):
    import ahtga.optim as O

    monkeypatch.setitem(O.LR_GRIDS, "sgd", (1e-7, 0.1, 1e7))
    cfg = resolve("main", "tiny", {**QUICK, "optimizers": ("sgd",), "dynamics": False, "lr_sweep": True,
                                   "tail_every": 0, "perturbations": (), "ood": "", "epochs": 3})
    r = read_json(runner.run_one(cfg, "sgd", 0, tmp_path))
    choice = r["optimizer_spec"]["lr_choice"]
    assert r["optimizer_spec"]["lr"] == 0.1 and set(choice["points"]) == {"1e-07", "0.1", "10000000.0"}
    assert choice["points"]["10000000.0"]["diverged"] or (
        choice["points"]["10000000.0"]["val_acc"] <= choice["points"]["0.1"]["val_acc"])
    rec = read_json(tmp_path / "main" / "sgd" / "lr_sweep.json")
    assert rec["chosen"] == 0.1
    assert rec["setting"] == lr.sweep_setting(cfg)
    # a later preset reuses the recorded choice through lr_from ...
    c2 = resolve("noise_sym20", "tiny", {"optimizers": ("sgd",), "model_kwargs": QUICK["model_kwargs"]})
    assert lr.resolve_lr(c2, "sgd", tmp_path)[0] == 0.1
    # ... but not for another model, data set or batch size: without a sweep of its own that
    # is an error naming the preset to run first (never the registry default), with one a sweep
    other = dataclasses.replace(c2, model_kwargs={"hidden": [16]}, lr_sweep=False)
    with pytest.raises(runner.MissingSweep, match="preset 'main'"):
        lr.resolve_lr(other, "sgd", tmp_path)
    assert lr.known_lr(other, "sgd", tmp_path) is None
    assert lr.known_lr(dataclasses.replace(other, lr_sweep=True), "sgd", tmp_path) is None
    # a record written before settings were stored is reused (nothing to compare it with)
    rec.pop("setting")
    (tmp_path / "main" / "sgd" / "lr_sweep.json").write_text(json.dumps(rec))
    assert lr.resolve_lr(other, "sgd", tmp_path)[0] == 0.1


def test_lr_grids_extend_a_sweep_and_recompute_results_of_another_lr(tmp_path, monkeypatch):
    """A per-label grid reuses the grid points already swept, trains only the new ones, and a
    stored result whose lr is no longer the choice is recomputed; other labels' results (whose
    config differs only in another label's grid) are kept."""
    import ahtga.optim as O
    from ahtga.experiments.lr import needs_sweep
    from ahtga.experiments.config import to_dict

    monkeypatch.setitem(O.LR_GRIDS, "sgd", (1e-7, 1e-6))
    base = {**QUICK, "optimizers": ("sgd", "adam"), "dynamics": False, "lr_sweep": True,
            "tail_every": 0, "perturbations": (), "ood": "", "epochs": 2,
            "lr_overrides": {"adam": 1e-3}}
    cfg = resolve("main", "tiny", base)
    assert "lr_grids" not in to_dict(cfg)          # default: recorded configs are unchanged
    r0 = read_json(runner.run_one(cfg, "sgd", 0, tmp_path))
    adam = runner.run_one(cfg, "adam", 0, tmp_path)
    adam_mtime = adam.stat().st_mtime_ns
    assert r0["optimizer_spec"]["lr"] in (1e-7, 1e-6)
    wide = resolve("main", "tiny", {**base, "lr_grids": {"sgd": [1e-7, 1e-6, 0.1]}})
    assert needs_sweep(wide, "sgd", tmp_path) and not needs_sweep(cfg, "sgd", tmp_path)
    trained = []
    real = loop.train_run

    def counting(c, label, seed, lr, *a, **k):
        trained.append((label, lr, c.epochs))
        return real(c, label, seed, lr, *a, **k)

    monkeypatch.setattr(loop, "train_run", counting)
    r1 = read_json(runner.run_one(wide, "sgd", 0, tmp_path))
    sweep = read_json(tmp_path / "main" / "sgd" / "lr_sweep.json")
    assert sweep["grid"] == [1e-7, 1e-6, 0.1] and set(sweep["points"]) == {"1e-07", "1e-06", "0.1"}
    assert trained[0][1] == 0.1 and len(trained) == 2   # one new sweep point, then the run
    assert r1["optimizer_spec"]["lr"] == 0.1 == sweep["chosen"]
    assert runner.run_one(wide, "adam", 0, tmp_path) == adam and adam.stat().st_mtime_ns == adam_mtime
    # a grid that keeps the choice keeps the result
    same = resolve("main", "tiny", {**base, "lr_grids": {"sgd": [1e-6, 0.1]}})
    mtime = result_path(tmp_path, "main", "sgd", 0).stat().st_mtime_ns
    n = len(trained)
    assert needs_sweep(same, "sgd", tmp_path)  # the CLI sweeps first (here: no point to train)
    assert lr.lr_sweep(same, "sgd", tmp_path)["chosen"] == 0.1
    assert runner.run_one(same, "sgd", 0, tmp_path).stat().st_mtime_ns == mtime
    assert len(trained) == n
    # without any sweep record the stored result is kept (no sweep just to decide that)
    (tmp_path / "main" / "sgd" / "lr_sweep.json").unlink()
    assert runner.run_one(same, "sgd", 0, tmp_path).stat().st_mtime_ns == mtime
    assert len(trained) == n
    with pytest.raises(ValueError, match=r"lr_grids\['sgd'\]"):
        resolve("main", "tiny", {**base, "lr_grids": {"sgd": [0.1, -1.0]}})


def test_cli_run_list_and_errors(tmp_path, capsys):
    args = ["run", "main", "--seeds", "0", "--out", str(tmp_path), "--jobs", "1",
            "--set", "optimizers=sgd", "--set", "epochs=1", "--set", "max_train_examples=128",
            "--set", "lr_sweep=false", "--set", "progress=false", "--set", "tail_every=0",
            "--set", "perturbations=", "--set", "ood="]
    assert cli_main(args) == 0
    p = result_path(tmp_path, "main", "sgd", 0)
    assert p.is_file()
    capsys.readouterr()
    before = p.stat().st_mtime_ns
    assert cli_main(args) == 0                                   # done: nothing to do
    assert "0 run(s) to do" in capsys.readouterr().out and p.stat().st_mtime_ns == before
    # an edited setting makes the stored result stale: planned and recomputed
    with pytest.warns(RuntimeWarning, match="recomputing"):
        assert cli_main(args + ["--set", "batch_size=32"]) == 0
    assert "1 run(s) to do" in capsys.readouterr().out and p.stat().st_mtime_ns != before
    assert read_json(p)["config"]["batch_size"] == 32
    assert cli_main(["list"]) == 0
    assert "ablate_estimator" in capsys.readouterr().out
    assert cli_main(["run", "main", "--out", str(tmp_path), "--set", "epoch=1"]) == 2
    assert capsys.readouterr().err.startswith("error: Unknown config key: 'epoch'")
    assert cli_main(["aggregate", "main", "--out", str(tmp_path), "--metrics", "test_acc"]) == 0


def test_language_model_run_reports_perplexity(tmp_path):
    text = ("To be, or not to be, that is the question: whether 'tis nobler in the mind to suffer "
            "the slings and arrows of outrageous fortune. ") * 40
    (tmp_path / "input.txt").write_text(text)
    cfg = resolve("shakespeare_char", "small", {
        "data_dir": str(tmp_path), "verify_checksums": False, "optimizers": ("sgd",), "epochs": 1,
        "lr_sweep": False, "progress": False, "tail_every": 0, "seq_len": 16, "batch_size": 16,
        "model": "lstm_lm", "model_kwargs": {"emb_dim": 8, "hidden": 8, "layers": 1}, "lr": 0.5})
    r = read_json(runner.run_one(cfg, "sgd", 0, tmp_path / "out"))
    f = r["final"]
    assert f["test_ppl"] == pytest.approx(2.718281828459045 ** f["test_loss"], rel=1e-9)
    assert 1 < f["test_ppl"] < r["data"]["vocab_size"] * 2 and "ece" not in f
    assert r["data"]["seq_len"] == 16 and r["curves"]["epoch"]["test_loss"][0] == pytest.approx(f["test_loss"])


def test_eval_every_evaluates_every_kth_epoch_and_the_last(tmp_path):
    from ahtga.experiments.config import to_dict

    over = {**QUICK, "optimizers": ("sgd",), "epochs": 3, "dynamics": False, "tail_every": 0,
            "perturbations": (), "ood": "", "lr_overrides": {"sgd": 0.05}}
    cfg = resolve("main", "tiny", {**over, "eval_every": 2})
    r = read_json(runner.run_one(cfg, "sgd", 0, tmp_path))
    e = r["curves"]["epoch"]
    assert e["epoch"] == [1, 2, 3] and len(e["train_loss"]) == 3
    assert e["test_acc"][0] is None and e["val_loss"][0] is None
    assert None not in e["test_acc"][1:] and None not in e["val_acc"][1:]
    assert r["final"]["test_acc"] == pytest.approx(e["test_acc"][-1])
    # the default is left out of recorded configs (earlier result files stay current)
    assert "eval_every" not in to_dict(resolve("main", "tiny", over))
    assert to_dict(cfg)["eval_every"] == 2
    with pytest.raises(ValueError, match="eval_every"):
        resolve("main", "tiny", {"eval_every": 0})
    with pytest.raises(ValueError, match="eval_every.*fewshot"):
        resolve("fewshot_tiny", "tiny", {"eval_every": 2})
