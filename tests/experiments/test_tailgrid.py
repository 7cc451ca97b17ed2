"""The gradient-tail study: the probe's records and their resumption, the preset family's grid,
and the correlation analysis on planted data."""
import json
import math

import pytest

from ahtga.experiments import presets, studies
from ahtga.experiments.config import to_dict
from ahtga.experiments.presets import resolve
from ahtga.experiments.tasks import tailgrid
from experiments_kit import kill_and_resume

# batch 256 on digits' 1146 training images: 4 steps an epoch, 8 in all; measurements at steps
# 0, 4 and 8, the goodness-of-fit test at the last only (tiny preset: tail_gof_every = 0)
QUICK = {"epochs": 2, "tail_pool": 400, "tail_gof_boot": 5, "tail_noise_batches": 2,
         "tail_noise_samples": 5000, "checkpoint_every": 1, "progress": False,
         "optimizers": ("sgd_x1",)}


def _drop_times(recs):
    return [{k: v for k, v in r.items() if k not in ("seconds", "gof_s")} for r in recs]


def test_probe_records_the_study_and_resumes_identically(tmp_path, monkeypatch):
    cfg = resolve("tailgrid_b3", "tiny", QUICK)
    # the 3rd measurement (step 8) comes after the checkpoint of epoch 1: kill it there
    ref, res = kill_and_resume(monkeypatch, tmp_path, cfg, "sgd_x1", 0, studies, "gradient_tails", 3)
    assert res["timings"]["resumed_from_epoch"] == 1
    recs = ref["curves"]["tail_pool"]
    assert [r["step"] for r in recs] == [0, 4, 8]
    assert recs[0]["n_norms"] == 400                     # at initialisation none is zero
    for r in recs:
        assert 0 < r["n_norms"] <= 400                   # exact zero gradients are dropped
        assert r["estimator"] == "hill_lepski" and r["noise_batch"] == 256
        assert r["n_noise"] == 5000 and r["seconds"] >= r["gof_s"] >= 0
        assert r["norm_alpha"] is not None and r["noise_mmo_alpha"] is not None
    # the goodness-of-fit test ran at the last measurement only
    assert [r["norm_gof_p"] is not None for r in recs] == [False, False, True]
    assert 0 <= recs[-1]["norm_gof_p"] <= 1 and 0 <= recs[-1]["noise_gof_p"] <= 1
    fin = ref["final"]["tail_pool"]
    assert fin["points"] == 3 and fin["last_step"] == 8 and fin["n_norms"] == recs[-1]["n_norms"]
    assert fin["norm_alpha_start"] == recs[0]["norm_alpha"]
    assert fin["norm_alpha_end"] == recs[-1]["norm_alpha"]
    assert fin["norm_alpha_median"] == sorted(r["norm_alpha"] for r in recs)[1]
    assert fin["heavy_norm"] == (recs[-1]["norm_alpha"] < 2 and recs[-1]["norm_gof_p"] >= 0.1)
    # resumed from the checkpoint: the same measurements, the same summary
    assert _drop_times(res["curves"]["tail_pool"]) == _drop_times(recs)
    drop = ("seconds", "gof_s")
    assert ({k: v for k, v in res["final"]["tail_pool"].items() if k not in drop}
            == {k: v for k, v in fin.items() if k not in drop})


def test_pooled_summary_heavy_rule_and_missing_values():
    recs = [{"step": 0, "norm_alpha": 3.0, "noise_alpha": 2.5, "norm_gof_p": None},
            {"step": 5, "norm_alpha": 1.0, "noise_alpha": None},
            {"step": 9, "norm_alpha": 1.5, "noise_alpha": 1.9, "norm_gof_p": 0.1,
             "noise_gof_p": 0.05, "n_norms": 1000}]
    s = studies.pooled_summary(recs)
    assert (s["norm_alpha_start"], s["norm_alpha_end"], s["norm_alpha_median"]) == (3.0, 1.5, 1.5)
    assert (s["noise_alpha_start"], s["noise_alpha_end"], s["noise_alpha_median"]) == (2.5, 1.9, 2.2)
    assert s["heavy_norm"] is True            # 1.5 < 2 and p = 0.1 not rejected
    assert s["heavy_noise"] is False          # 1.9 < 2 but p = 0.05 rejects the power law
    assert s["noise_mmo_alpha_end"] is None and s["points"] == 3
    recs[-1]["norm_alpha"] = 2.0               # alpha = 2 is not heavy
    assert studies.pooled_summary(recs)["heavy_norm"] is False
    assert studies.pooled_summary([]) is None


def test_study_off_by_default_and_absent_from_recorded_configs():
    cfg = resolve("main", "tiny")
    assert cfg.tail_pool == 0
    d = to_dict(cfg)   # new fields at their defaults leave earlier results' configs unchanged
    assert not any(k in d for k in ("tail_pool", "tail_gof_boot", "tail_noise_samples"))


@pytest.mark.parametrize("key,value", [("tail_pool", -1), ("tail_gof_boot", -2),
                                       ("tail_pool_points", 0), ("tail_noise_batches", 0),
                                       ("tail_noise_samples", 10), ("tail_gof_every", -1)])
def test_bad_study_settings_name_the_field(key, value):
    with pytest.raises(ValueError, match=f"`?{key}`?.*{value}"):
        resolve("tailgrid_b1", "tiny", {key: value})


def test_presets_resolve_with_the_grid_as_declared():
    names = tailgrid.PRESET_NAMES
    assert all(n in presets.PRESETS for n in names)
    cells = {}
    for n in names:
        for scale in presets.PRESETS[n].scales:
            cfg = resolve(n, scale)
            assert cfg.optimizers == tailgrid.LABELS and not cfg.lr_sweep
            assert cfg.lr_schedule == "constant" and cfg.tail_pool >= 1000
            assert set(cfg.lr_overrides) == set(tailgrid.LABELS)
            family = ("char" if cfg.task == "lm" else "cifar" if cfg.dataset == "cifar10"
                      else "mnist")
            base = tailgrid.BASE_LR[(family, scale)]
            assert sorted(cfg.lr_overrides.values()) == pytest.approx(
                [base * m for m in tailgrid.LR_MULTIPLIERS])
            key = (family, scale)
            cells.setdefault(key, set()).update(
                (cfg.batch_size, cfg.label_noise, lr) for lr in cfg.lr_overrides.values())
    # at least 4 lrs x 3 batch sizes on MNIST and CIFAR-10 (small) and on digits (tiny), the
    # char LM; label noise 0 / 20 / 40% at the middle batch size for the image data
    for key in (("mnist", "tiny"), ("mnist", "small"), ("cifar", "small"), ("char", "small")):
        got = cells[key]
        clean = {(b, lr) for b, r, lr in got if r == 0}
        assert len({b for b, _ in clean}) == 3 and len({lr for _, lr in clean}) == 4
        assert len(clean) == 12
        if key[0] != "char":
            mid = tailgrid.BATCHES[key][1]
            for r in (0.2, 0.4):
                assert len({lr for b, rr, lr in got if rr == r and b == mid}) == 4
    assert math.isclose(resolve("tailgrid_b2", "small").lr_overrides["sgd_x1"], 0.03)


# ----------------------------------------------------------------------------- correlation
from ahtga.experiments import correlation as C          # noqa: E402
from ahtga.experiments.store import write_json_atomic   # noqa: E402


def test_spearman_agrees_with_scipy_and_is_rank_invariant():
    import numpy as np
    from scipy import stats
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal(30), rng.standard_normal(30)
    y[3] = y[4]                                          # a tie
    assert C.spearman(x, y) == pytest.approx(stats.spearmanr(x, y).statistic, abs=1e-12)
    assert C.spearman(np.exp(x), y ** 3) == pytest.approx(C.spearman(x, y), abs=1e-12)


def test_bootstrap_spearman_on_planted_data():
    import numpy as np
    x = np.arange(12, dtype=float)
    mono = C.bootstrap_spearman(x, np.exp(x / 3), n_boot=500, seed=1)     # monotone: rho = 1
    assert mono["rho"] == pytest.approx(1.0) and mono["lo"] > 0 and mono["hi"] == pytest.approx(1.0)
    assert mono["n"] == 12 and mono["n_boot"] == 500 and mono["n_valid"] >= 450
    dec = C.bootstrap_spearman(x, -x ** 2, n_boot=500, seed=1)
    assert dec["rho"] == pytest.approx(-1.0) and dec["hi"] < 0
    rng = np.random.default_rng(5)
    ind = C.bootstrap_spearman(rng.standard_normal(40), rng.standard_normal(40), n_boot=1000, seed=2)
    assert ind["lo"] < 0 < ind["hi"] and abs(ind["rho"]) < 0.4        # independent: covers 0


def test_bootstrap_is_seeded():
    a = C.bootstrap_spearman([1, 3, 2, 5, 4, 6], [2, 1, 4, 3, 6, 5], n_boot=300, seed=7)
    b = C.bootstrap_spearman([1, 3, 2, 5, 4, 6], [2, 1, 4, 3, 6, 5], n_boot=300, seed=7)
    c = C.bootstrap_spearman([1, 3, 2, 5, 4, 6], [2, 1, 4, 3, 6, 5], n_boot=300, seed=8)
    assert a == b and a != c


@pytest.mark.parametrize("call,match", [
    (lambda: C.spearman([1, 2, 3], [1, 2]), r"`x` and `y` must have the same length; got 3 and 2"),
    (lambda: C.spearman([1, 2], [1, 2]), r"at least 3 pairs.*n=2"),
    (lambda: C.spearman([1, 2, float("nan")], [1, 2, 3]), r"must be finite"),
    (lambda: C.bootstrap_spearman([1, 2, 3], [3, 2, 1], n_boot=0), r"`n_boot` must be >= 1; got n_boot=0"),
    (lambda: C.bootstrap_spearman([1, 2, 3], [3, 2, 1], level=1.5), r"`level`.*1.5"),
    (lambda: C.analyse("/nonexistent/h2"), r"`results` must be a results directory; got results='/nonexistent/h2'"),
])
def test_bad_input_names_the_argument(call, match):
    with pytest.raises((ValueError, FileNotFoundError), match=match):
        call()


def _fake_result(root, preset, label, seed, *, lr, batch, alpha, gap, heavy=True, group="digits"):
    write_json_atomic(root / preset / label / f"seed{seed}.json", {
        "schema_version": 2, "preset": preset, "optimizer": label, "seed": seed,
        "config": {"scale": "tiny", "task": "classification", "dataset": group, "model": "mlp",
                   "batch_size": batch, "label_noise": 0.0},
        "optimizer_spec": {"name": "sgd", "lr": lr, "kwargs": {}},
        "timings": {"total_s": 10.0},
        "final": {"gen_gap_loss": gap, "gen_gap_acc": gap / 10, "test_acc": 0.9, "diverged": False,
                  "tail_pool": {**{k: alpha for k in C.INDICES}, "heavy_norm": heavy,
                                "heavy_noise": False, "seconds": 1.0, "gof_s": 0.5}}})


def test_analyse_groups_cells_averages_seeds_and_reads_a_planted_relation(tmp_path):
    # 8 cells: alpha falls as lr/batch grows, the gap rises as alpha falls (planted, exact)
    k = 0
    for b in (16, 64):
        for m, lr in enumerate((0.025, 0.05, 0.1, 0.2)):
            for seed in (0, 1):
                ratio = lr / b
                _fake_result(tmp_path, f"tailgrid_b{b}", f"sgd_x{m}", seed, lr=lr, batch=b,
                             alpha=1.0 / ratio ** 0.3 + 0.01 * seed, gap=ratio * 100 + 0.001 * seed,
                             heavy=(m + seed) % 2 == 0)
                k += 1
    _fake_result(tmp_path, "other", "adam", 0, lr=1e-3, batch=64, alpha=9.0, gap=0.0, group="mnist")
    (tmp_path / "main" / "sgd").mkdir(parents=True)
    write_json_atomic(tmp_path / "main" / "sgd" / "seed0.json", {"final": {"test_acc": 1.0}})  # no study
    rep = C.analyse(tmp_path, n_boot=300, seed=0)
    assert rep["n_runs"] == k + 1 and set(rep["groups"]) == {"tiny/classification/digits/mlp",
                                                             "tiny/classification/mnist/mlp"}
    g = rep["groups"]["tiny/classification/digits/mlp"]
    cells = g["cells"]
    assert len(cells) == 8 and all(c["seeds"] == [0, 1] for c in cells)
    c0 = next(c for c in cells if c["batch"] == 16 and c["lr"] == 0.025)
    assert c0["norm_alpha_end"] == pytest.approx(1.0 / (0.025 / 16) ** 0.3 + 0.005)
    assert c0["norm_alpha_end_ci"] is not None and c0["heavy_norm_share"] == 0.5
    assert c0["probe_share"] == pytest.approx(0.1)
    cr = g["all"]["correlations"]["norm_alpha_end"]
    assert cr["gap_loss"]["rho"] == pytest.approx(-1.0) and cr["gap_loss"]["hi"] < 0
    assert cr["lr_over_batch"]["rho"] == pytest.approx(-1.0)
    assert g["all"]["heavy_norm_cells"] == 8 and g["all"]["heavy_noise_cells"] == 0
    small = rep["groups"]["tiny/classification/mnist/mlp"]["all"]["correlations"]["norm_alpha_end"]
    assert small["gap_loss"]["rho"] is None and small["gap_loss"]["n"] == 1


def test_correlation_cli_writes_json(tmp_path, capsys):
    for i, lr in enumerate((0.1, 0.2, 0.4)):
        _fake_result(tmp_path, "p", f"l{i}", 0, lr=lr, batch=32, alpha=3 - i, gap=0.1 * i)
    assert C.main([str(tmp_path), "--n-boot", "50"]) == 0
    rep = json.loads((tmp_path / "tailgrid_correlation.json").read_text())
    assert rep["n_boot"] == 50 and rep["groups"]
    assert "vs gap_loss -1.00" in capsys.readouterr().out
    assert C.main([str(tmp_path / "missing")]) == 2
    assert "`results` must be a results directory" in capsys.readouterr().err


def test_paper_scripts_report_the_study_from_results(tmp_path):
    import importlib.util
    import pathlib
    import sys
    scripts = pathlib.Path(__file__).resolve().parents[2] / "paper" / "scripts"
    sys.path.insert(0, str(scripts))
    try:
        res = tmp_path / "results" / "experiments"
        for b in (16, 64):
            for m, lr in enumerate((0.025, 0.05, 0.1, 0.2)):
                _fake_result(res, f"tailgrid_b{b}", f"sgd_x{m}", 0, lr=lr, batch=b,
                             alpha=3.0 - 10 * lr / b * 16, gap=0.1 - lr / b, heavy=m == 3)
        out = {}
        for name, ext in (("num_tailgrid", "tex"), ("tab_tailgrid", "tex"), ("fig_tailgrid", "pdf")):
            spec = importlib.util.spec_from_file_location(name, scripts / f"{name}.py")
            mod = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(mod)
            out[name] = tmp_path / f"{name}.{ext}"
            mod.main(["--results", str(tmp_path / "results"), "--measured", str(tmp_path / "none"),
                      "--out", str(out[name])])
        num = out["num_tailgrid"].read_text()
        assert "\\newcommand{\\TailgridAvailable}{yes}" in num
        assert "in 2 of 8 cells" in num                      # the two heavy cells (m == 3)
        # alpha falls with lr/batch (planted): rho = -1 and the claim holds for every index
        assert "$\\rho=-1.00$" in num and "not for" not in num
        # the gap falls as lr/batch grows while alpha falls: rho(alpha, gap) = +1
        assert "$\\rho=+1.00$" in num and "The interval is above 0" in num
        assert "\\newcommand{\\TailgridSmallSentence}{not measured}" in num
        assert num.count("\\newcommand") == 11
        assert "\\mathbf{" in out["tab_tailgrid"].read_text()
        assert out["fig_tailgrid"].stat().st_size > 1000
    finally:
        sys.path.remove(str(scripts))
