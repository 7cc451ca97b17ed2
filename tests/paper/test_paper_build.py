"""The paper's build: every figure/table/number script has a Make target, the targets build from a
small synthetic results tree in the real formats, the numbers are valid macros, main.tex inputs
only files that exist or that the Makefile generates, and every macro the text quotes is defined.

The synthetic tree is written with the producers' own writers and schemas:
``ahtga.experiments.store`` (``result_path``, ``write_json_atomic``) with configs resolved by
``ahtga.experiments.presets.resolve``; ``sim.bias.run`` (``write_json_atomic``, ``summarise``) for the
bias atlas; measured files in the layouts ``bench/gpu_step.py`` and ``bench/run_all.py`` write.
"""
from __future__ import annotations

import importlib
import json
import math
import os
import pathlib
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
PAPER = ROOT / "paper"
SCRIPTS = PAPER / "scripts"
MACRO_DEF = re.compile(r"\\(?:newcommand|providecommand)\{\\([^}]*)\}")


# ----------------------------------------------------------------------------- synthetic results
def _run_record(preset: str, label: str, seed: int, *, acc: float, blowup: bool = False,
                scale: str = "tiny") -> dict:
    """One result in the runner's format (``ahtga.experiments.runner.run_one``'s fields)."""
    from ahtga.experiments.config import to_dict
    from ahtga.experiments.presets import resolve

    cfg = resolve(preset, scale)
    rng = np.random.default_rng(seed + 17 * len(label))
    epochs = 3
    steps = [10, 20, 30]
    loss = 1e21 if blowup else 0.3 + 0.05 * rng.random()
    dyn = preset == "dynamics"
    final = {
        "train_loss": 0.2, "train_acc": acc + 0.02, "val_loss": 0.4, "val_acc": acc - 0.01,
        "test_loss": loss, "test_acc": acc + 0.01 * rng.standard_normal(),
        "gen_gap_loss": loss - 0.2, "gen_gap_acc": 0.02, "ece": 0.05 + 0.01 * rng.random(),
        "reliability": {"n": 10, "n_bins": 3, "lower": [0, 1 / 3, 2 / 3], "upper": [1 / 3, 2 / 3, 1],
                        "count": [0, 4, 6], "accuracy": [None, 0.5, 0.9],
                        "confidence": [None, 0.55, 0.85]},
        "tail_alpha_final": 2.0 + rng.random(), "tail_alpha_start": 30.0, "time_per_epoch": 0.2,
        "perturbations": {k: {"test_loss": 0.9, "test_acc": acc - 0.2} for k in ("gaussian", "blur", "contrast")},
        "ood": {"set": "permuted", "auroc": 0.6 + 0.1 * rng.random(), "n_in": 10, "n_out": 10,
                "msp_in_mean": 0.9, "msp_out_mean": 0.8},
        "diverged": False, "steps": 30, "skipped_steps": 0, "clamped_steps": 12 if "ahtga" in label else 0,
    }
    if dyn:
        final.update({"hessian_top": 0.5 + rng.random(), "hessian_trace": 5.0 + rng.random(),
                      "eff_rank_final": 4.0 + rng.random()})
    is_ahtga = label.startswith("ahtga")
    stat = (lambda v: [v, v, v]) if is_ahtga else (lambda v: [None, None, None])
    curves = {
        "step": {"step": steps, "train_loss": [2.0, 1.0, loss], "step_time": [0.01] * 3,
                 "lr": [0.1] * 3, "alpha_hat": stat(5.0), "alpha": stat(4.0), "alpha_star": stat(1.5),
                 "gamma": stat(1.5), "k": stat(8), "skipped": [False] * 3},
        "epoch": {"epoch": [1, 2, 3], "step": steps, "train_loss": [1.5, 0.8, 0.3],
                  "val_loss": [1.2, 0.7, 0.4], "val_acc": [0.6, 0.8, acc], "test_loss": [1.2, 0.7, loss],
                  "test_acc": [0.6, 0.8, acc], "epoch_time": [0.2] * 3,
                  "eff_rank": [5.0, 4.5, 4.0] if dyn else [None] * 3},
        "tail": [{"step": s, "alpha": 30.0 / (1 + s / 10), "k": 8, "q50": 1.0, "max": 3.0}
                 for s in (0, 10, 20, 30)],
    }
    return {
        "preset": preset, "optimizer": label, "seed": seed, "scale": scale, "run_key": f"k{seed}",
        "config": to_dict(cfg),
        "optimizer_spec": {"name": "ahtga" if is_ahtga else label, "lr": 0.1, "kwargs": {},
                           "lr_choice": {"source": "sweep of preset main", "grid": [0.01, 0.1, 1.0],
                                         "at_grid_edge": label == "adam"}},
        "code_version": {"package": "0.1.0", "git_describe": "test", "git_commit": None},
        "data": {"dataset": "digits", "n_train": 100, "n_val": 20, "n_test": 30, "num_classes": 10},
        "hardware": {"device": "cpu", "device_name": None, "cpu_count": 2},
        "timings": {"total_s": 1.0, "train_s": 0.6, "train_s_per_epoch": 0.2,
                    "step_s_median": 0.03 if is_ahtga else 0.01},
        "curves": curves, "final": final,
    }


def write_experiments(root: pathlib.Path) -> None:
    from ahtga.experiments.store import result_path, write_json_atomic

    plan = {"main": ["sgd", "adam", "ahtga"], "noise_sym20": ["sgd", "ahtga"],
            "dynamics": ["sgd", "ahtga"], "ablate_target": ["ahtga_fixed", "ahtga_linear"],
            "lowdata_10": ["sgd", "ahtga"]}
    for preset, labels in plan.items():
        for label in labels:
            for seed in (0, 1):
                acc = {"sgd": 0.90, "adam": 0.95}.get(label, 0.85)
                rec = _run_record(preset, label, seed, acc=acc,
                                  blowup=(preset == "main" and label == "ahtga" and seed == 1))
                write_json_atomic(result_path(root / "experiments", preset, label, seed), rec)
    # a learning-rate sweep file beside the results is not a result
    write_json_atomic(root / "experiments" / "main" / "sgd" / "lr_sweep.json", {"grid": [0.1], "chosen": 0.1})


def write_bias(root: pathlib.Path) -> None:
    from sim.bias.run import summarise, write_json_atomic

    rng = np.random.default_rng(0)
    for est in ("hill", "hill_db", "hill_rbc"):
        for law, alphas, ns in (("stable", (1.5, 1.9, 2.0), (512, 10_000)), ("pareto", (1.5,), (10_000,))):
            for a in alphas:
                for n in ns:
                    x = list(a + 0.1 * rng.standard_normal(5) + (0.2 if est == "hill_db" else 0.0))
                    rec = {"schema": 1, "cell": {"estimator": est, "law": law, "alpha": a, "n": n},
                           "config": {"reps": 5, "options": {}}, "target": a,
                           "target_convention": "tail index", "estimates": x, "k": [50] * 5,
                           "k_median": 50.0, "seconds_per_estimate": 0.001, "scale": "quick",
                           "summary": summarise(x, a)}
                    write_json_atomic(root / "bias" / est / f"{law}_a{a:g}_n{n}.json", rec)


def write_measured(root: pathlib.Path) -> None:
    root.mkdir(parents=True, exist_ok=True)
    gpu = {"device": "NVIDIA Test GPU", "torch": "2.13.0", "config": {"batch": 128, "steps": 20},
           "targets": {"direction_time": 1.3},
           "results": {"sgd": {"median_s": 0.010, "min_s": 0.009, "peak_bytes": 2 ** 30},
                       "ahtga_direction": {"median_s": 0.012, "min_s": 0.011, "peak_bytes": 1.25 * 2 ** 30,
                                           "time_ratio": 1.2, "memory_ratio": 1.25},
                       "ahtga_sign": {"median_s": 0.020, "time_ratio": 2.0, "peak_bytes": 2 ** 31,
                                      "memory_ratio": 2.0},
                       "reference": {"error": "OutOfMemoryError: test"}}}
    (root / "gpu_step.json").write_text(json.dumps(gpu))
    (root / "bench_lstm.json").write_text(json.dumps({
        "seconds": {"sgd": 0.5, "ahtga": 0.6, "ahtga_generic": 2.4},
        "ratio_to_sgd": {"sgd": 1.0, "ahtga": 1.2, "ahtga_generic": 4.8}, "speedup_over_generic": 4.0}))
    cpu = {"machine": "Linux-test", "processor": "x86_64", "torch": "2.13.0", "threads": 2,
           "results": {"bench_engine": {"cases": {"cnn_b64": {"ratio_to_sgd": {"sgd": 1.0, "direction": 1.5,
                                                                               "sign": 2.5, "reference": 4.0}}},
                                        "direction_worst_ratio": 1.5},
                       "bench_tail": {"ratio": 42.0, "seconds_reference": 5.0, "ratio_grid": 77.0,
                                      "grid_ks_pvalue_alpha": 0.5},
                       "bench_stable": {"min_ratio_numpy": 3.5, "min_ratio_torch": 4.5,
                                        "min_ratio_numpy_threads": 3.9},
                       "bench_overhead": {"methods": {
                           k: {"ratio_to_sgd": r, "ops": 100, "kernel_like_ops": 50}
                           for k, r in (("sgd", 1.0), ("ahtga_direction", 2.5), ("ahtga_sign", 2.75),
                                        ("ahtga_direction_lag", 2.125), ("ahtga_sign_lag", 2.375))}}}}
    (root / "cpu_summary.json").write_text(json.dumps(cpu))
    cost = {"what": "operator-level step cost", "config": {"batch": 64}, "results": {
        k: {"ratio": {"matmul_flops": f, "bytes_moved": b, "ops": o, "peak_live_bytes": m}}
        for k, f, b, o, m in (("sgd", 1.0, 1.0, 1.0, 1.0), ("engine_direction", 9.0, 9.0, 9.0, 9.0),
                              ("ahtga_direction", 1.06, 2.5, 1.75, 1.3),
                              ("engine_sign", 1.08, 7.125, 2.5, 1.4))}}
    (root / "cpu").mkdir(exist_ok=True)
    (root / "cpu" / "bench_cost.json").write_text(json.dumps(cost))
    from ahtga.experiments.store import result_path, write_json_atomic
    for label in ("sgd", "ahtga"):          # a measured small-scale few-shot preset
        for seed in (0, 1):
            rec = _run_record("fewshot_omniglot", label, seed, acc=0.9 if label == "sgd" else 0.8,
                              scale="small")
            rec["final"]["shots"] = {k: {"test_acc": v, "test_loss": 0.4}
                                     for k, v in (("1", 0.9 - 0.1 * (label == "ahtga")), ("5", 0.97))}
            rec["final"]["time_per_epoch"] = 10.0 if label == "ahtga" else 1.0
            if label == "ahtga":
                rec["optimizer_spec"]["kwargs"] = {"mode": "rows"}
            write_json_atomic(result_path(root / "small", "fewshot_omniglot", label, seed), rec)
    for preset, ctrl in (("main", None), ("lowdata_10", "sgd_lr0.01"),  # small-scale chunks
                         ("main_fashion", None)):
        for label in ("sgd", "ahtga"):
            for seed in (0, 1, 2):
                acc = {"main": 0.98, "main_fashion": 0.88}.get(preset, 0.95) + 0.01 * (label == "sgd")
                rec = _run_record(preset, label, seed, acc=acc, scale="small")
                rec["data"]["n_train"] = 5100 if preset == "lowdata_10" else 20000
                write_json_atomic(result_path(root / "small", preset, label, seed), rec)
                if ctrl and label == "sgd":
                    rec["optimizer_spec"]["lr"] = 0.01
                    write_json_atomic(result_path(root / "small_controls" / ctrl, preset, label,
                                                  seed), rec)
    for label in ("ahtga", "ahtga_gamma0", "ahtga_sign"):   # a small-scale ablation
        for seed in (0, 1, 2):
            rec = _run_record("ablate_transform", label, seed, scale="small",
                              acc={"ahtga": 0.97, "ahtga_gamma0": 0.90}.get(label, 0.5))
            write_json_atomic(result_path(root / "small", "ablate_transform", label, seed), rec)
    for label in ("sgd", "ahtga"):          # the dynamics preset at small scale
        for seed in (0, 1):
            write_json_atomic(result_path(root / "small", "dynamics", label, seed),
                              _run_record("dynamics", label, seed, acc=0.98, scale="small"))
    for label in ("ahtga", "ahtga_est_hill"):  # the estimator ablation
        for seed in (0, 1):
            rec = _run_record("ablate_estimator", label, seed, scale="small", acc=0.97)
            if label == "ahtga_est_hill":
                rec["curves"]["step"].update({"alpha": [0.5, 0.7, 0.9], "gamma": [-0.2, -0.1, 0.0]})
            write_json_atomic(result_path(root / "small", "ablate_estimator", label, seed), rec)
    for label in ("ahtga", "ahtga_c2_0.5"):  # an ablation whose variants tie seed by seed
        for seed in (0, 1):
            rec = _run_record("ablate_c2", label, seed, scale="small", acc=0.97)
            rec["final"]["test_acc"] = 0.97 + 0.001 * seed
            write_json_atomic(result_path(root / "small", "ablate_c2", label, seed), rec)
    for label in ("sgd", "ahtga"):          # a small-scale language model
        for seed in (0, 1):
            rec = _run_record("shakespeare_char", label, seed, acc=0.5, scale="small")
            ppl = 5.0 if label == "ahtga" else 6.0
            rec["final"].update({"test_ppl": ppl + 0.1 * seed, "val_ppl": ppl, "train_ppl": ppl - 1})
            rec["data"].update({"n_train": 8000, "vocab_size": 65})
            write_json_atomic(result_path(root / "small", "shakespeare_char", label, seed), rec)
            if label == "ahtga":            # a control: the same code path with gamma = 0
                rec["optimizer"] = "ahtga_gamma0"
                rec["optimizer_spec"]["lr"] = 1.0
                rec["final"]["test_acc"] = 0.7
                write_json_atomic(result_path(root / "small_controls" / "gamma0",
                                              "shakespeare_char", "ahtga_gamma0", seed), rec)
    for label in ("sgd", "ahtga"):
        rec = _run_record("cifar10", label, 0, acc=0.5, scale="full")
        rec["hardware"] = {"device": "cuda", "device_name": "NVIDIA Test GPU"}
        rec["data"]["notes"] = ["CIFAR-10 here: the offline copy is JPEG re-encoded (quality 75)"]
        d = root / "gpu_cifar" / "cifar10" / label
        d.mkdir(parents=True, exist_ok=True)
        (d / "seed0.json").write_text(json.dumps(rec))


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    base = tmp_path_factory.mktemp("paper")
    results = base / "results"
    write_experiments(results)
    write_bias(results)
    measured = base / "measured"
    write_measured(measured)
    return {"base": base, "results": results, "measured": measured, "empty": base / "none"}


def _make(*args) -> subprocess.CompletedProcess:
    env = {**os.environ, "MPLBACKEND": "Agg", "OMP_NUM_THREADS": "1"}
    return subprocess.run(["make", "--no-print-directory", "-C", str(PAPER), *args],
                          capture_output=True, text=True, env=env, timeout=600)


def _outputs(gen: str = "generated") -> list[str]:
    r = _make("list-outputs", f"GEN={gen}")
    assert r.returncode == 0, r.stderr
    return r.stdout.split()


def _scripts() -> list[pathlib.Path]:
    return sorted(p for p in SCRIPTS.glob("*.py") if re.match(r"(fig|tab|num)_", p.name))


# ----------------------------------------------------------------------------- tests
def test_paper_every_script_has_a_target():
    outs = {pathlib.Path(o).name for o in _outputs()}
    scripts = _scripts()
    assert len(scripts) >= 15
    for s in scripts:
        kind, name = s.stem.split("_", 1)
        ext = "pdf" if kind == "fig" else "tex"
        assert f"{kind}_{name}.{ext}" in outs, f"{s.name} has no Make target"
    assert len(outs) == len(scripts)


@pytest.fixture(scope="module")
def built(tree):
    """``make figures`` into a temporary GEN from the synthetic results, no measured files."""
    gen = tree["base"] / "gen"
    r = _make("figures", f"PY={sys.executable}", f"RESULTS={tree['results']}",
              f"MEASURED={tree['empty']}", f"GEN={gen}")
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    return gen, r.stdout


def test_paper_targets_build_from_synthetic_results(built):
    gen, log = built
    for o in _outputs(str(gen)):
        p = pathlib.Path(o)
        assert p.is_file() and p.stat().st_size > 0, o
        if p.suffix == ".pdf":
            assert p.read_bytes()[:5] == b"%PDF-", o
    # make says which scale each output came from
    assert "tab_main.tex: main: tiny scale (digits, mlp), seeds 0,1" in log
    assert "fig_bias_atlas.pdf: bias atlas: quick scale" in log
    tab = (gen / "tab_main.tex").read_text()
    assert "SGD (momentum)" in tab and "Adam" in tab and "AHTGA" in tab
    assert "\\times 10^{" in tab          # the blown-up AHTGA seed, in scientific form
    assert "not available" in (gen / "tab_gpu_step.tex").read_text()
    assert "not available" in (gen / "tab_gpu_cifar.tex").read_text()
    num = (gen / "num_experiments.tex").read_text()
    assert "\\newcommand{\\BestMainOptimizer}{Adam}" in num
    assert "\\newcommand{\\AhtgaRankMain}{3 of 3}" in num
    assert "\\newcommand{\\AhtgaFailedMain}{1 of 2}" in num
    assert "\\newcommand{\\GpuStepAvailable}{no}" in (gen / "num_speed.tex").read_text()
    assert "\\newcommand{\\CpuCostAvailable}{no}" in (gen / "num_speed.tex").read_text()
    assert "\\newcommand{\\SmallDataAvailable}{no}" in (gen / "num_small_datasets.tex").read_text()
    assert "\\newcommand{\\SmallDynAvailable}{no}" in (gen / "num_small_dynamics.tex").read_text()
    assert "\\newcommand{\\TheoryChecksAvailable}{no}" in (gen / "num_theory.tex").read_text()


def test_paper_numbers_are_valid_unique_macros(built):
    gen, _ = built
    for p in sorted(gen.glob("num_*.tex")):
        names = MACRO_DEF.findall(p.read_text())
        assert names, p.name
        for n in names:
            assert re.fullmatch(r"[A-Za-z]+", n), f"{p.name}: invalid macro name {n!r}"
        assert len(names) == len(set(names)), f"{p.name}: a macro is defined twice"


def _call(script: str, results, measured, out) -> None:
    sys.path.insert(0, str(SCRIPTS))
    try:
        mod = importlib.import_module(script)
        mod.main(["--results", str(results), "--measured", str(measured), "--out", str(out)])
    finally:
        sys.path.remove(str(SCRIPTS))


def test_paper_measured_files_are_used_when_present(tree):
    out = tree["base"] / "with_measured"
    _call("tab_gpu_step", tree["results"], tree["measured"], out / "tab_gpu_step.tex")
    t = (out / "tab_gpu_step.tex").read_text()
    assert "NVIDIA Test GPU" in t and "1.20" in t and "failed: OutOfMemoryError" in t
    _call("num_speed", tree["results"], tree["measured"], out / "num_speed.tex")
    n = (out / "num_speed.tex").read_text()
    assert "\\newcommand{\\GpuDirectionRatio}{1.20}" in n
    assert "\\newcommand{\\GpuDirectionMemRatio}{1.25}" in n
    assert "\\newcommand{\\CpuTailSpeedup}{42}" in n
    assert "\\newcommand{\\CpuTailGridSpeedup}{77}" in n
    assert "\\newcommand{\\CpuStableSpeedup}{3.5}" in n
    assert "\\newcommand{\\CpuStableSpeedupThreads}{3.9}" in n
    assert "\\newcommand{\\CpuLstmRatio}{1.20}" in n and "\\newcommand{\\CpuLstmSpeedup}{4.0}" in n
    assert "\\newcommand{\\GpuCifarDevice}{NVIDIA Test GPU}" in n
    _call("tab_gpu_cifar", tree["results"], tree["measured"], out / "tab_gpu_cifar.tex")
    assert "JPEG re-encoded" in (out / "tab_gpu_cifar.tex").read_text()
    _call("tab_fewshot", tree["results"], tree["measured"], out / "tab_fewshot.tex")
    assert "fewshot\\_omniglot" in (out / "tab_fewshot.tex").read_text()
    _call("num_fewshot", tree["results"], tree["measured"], out / "num_fewshot.tex")
    nf = (out / "num_fewshot.tex").read_text()
    assert "10.0 times an SGD epoch" in nf and "row groups" in nf
    _call("tab_speed", tree["results"], tree["measured"], out / "tab_speed.tex")
    s = (out / "tab_speed.tex").read_text()
    assert "42.0$\\times$" in s and "3.00" in s       # AHTGA 0.03 s vs SGD 0.01 s per step
    assert "77.0$\\times$" in s and "grid" in s
    assert "\\newcommand{\\CpuOverheadDirectionLag}{2.12}" in n   # 2.125 rounds to even
    assert "\\newcommand{\\CpuOverheadSignLag}{2.38}" in n
    # operator-level counts: the AHTGA step's row, else the engine's; the sign form's
    for name, v in (("CpuCostAvailable", "yes"), ("CpuCostBatch", "64"),
                    ("CpuCostFlopsDirection", "1.06"), ("CpuCostBytesDirection", "2.50"),
                    ("CpuCostOpsDirection", "1.75"), ("CpuCostMemDirection", "1.30"),
                    ("CpuCostBytesSign", "7.12"), ("CpuCostMemSign", "1.40")):
        assert f"\\newcommand{{\\{name}}}{{{v}}}" in n, name
    assert "estimate\\_lag=1" in s and "2.12$\\times$ / 2.38$\\times$ SGD" in s
    _call("tab_small_datasets", tree["results"], tree["measured"], out / "tab_small_datasets.tex")
    t = (out / "tab_small_datasets.tex").read_text()
    assert "main\\_fashion" in t and "fashion\\_mnist, small\\_cnn, 20000 training images" in t
    assert t.count("\\begin{tabular}") == 2 and "OOD AUROC" in t  # main columns, then robustness
    _call("num_small_datasets", tree["results"], tree["measured"], out / "num_small_datasets.tex")
    n2 = (out / "num_small_datasets.tex").read_text()
    assert "\\newcommand{\\SmallDataAvailable}{yes}" in n2
    assert "(fashion\\_mnist): By test accuracy" in n2 or "(fashion\\_mnist): AHTGA" in n2, n2
    _call("tab_small_lowdata", tree["results"], tree["measured"], out / "tab_small_lowdata.tex")
    t = (out / "tab_small_lowdata.tex").read_text()
    assert "10\\% of the training split (5100 examples)" in t and "main (20000 ex.)" in t
    _call("num_small_lowdata", tree["results"], tree["measured"], out / "num_small_lowdata.tex")
    n = (out / "num_small_lowdata.tex").read_text()
    assert "\\newcommand{\\SmallLowAvailable}{yes}" in n
    assert "\\newcommand{\\SmallLowMainN}{20000}" in n
    assert "With 10\\% of the data: AHTGA ranks 2 of 2" in n
    assert "SGD (momentum) at lr 0.01" in n and "a tenth of" in n
    _call("tab_small_lm", tree["results"], tree["measured"], out / "tab_small_lm.tex")
    t = (out / "tab_small_lm.tex").read_text()
    assert "8000 training sequences of 64 tokens (vocabulary 65)" in t and "test ppl" in t
    assert "\\mathbf{5.05 }" in t       # AHTGA's lower mean test perplexity is the best
    _call("num_small_lm", tree["results"], tree["measured"], out / "num_small_lm.tex")
    n = (out / "num_small_lm.tex").read_text()
    assert "AHTGA has the best mean test perplexity" in n
    assert "\\hat\\alpha=30.0$ at the start" in n
    assert "Control runs (next-token test accuracy):" in n and "at lr 1:" in n
    _call("tab_small_ablations", tree["results"], tree["measured"], out / "tab_small_ablations.tex")
    t = (out / "tab_small_ablations.tex").read_text()
    assert "ablate\\_transform" in t and "clamped" in t and "40\\%" in t   # 12 of 30 steps
    _call("num_small_ablations", tree["results"], tree["measured"], out / "num_small_ablations.tex")
    n = (out / "num_small_ablations.tex").read_text()
    assert "plain AHTGA ranks 1 of 3, above the $\\gamma=0$ control" in n
    assert "worst AHTGA (sign" in n and "intervals separate" in n
    # plain AHTGA's step curves: alpha 4 > alpha* 1.5 and gamma at 1.5 in all 9 logged steps
    assert "ablate\\_c2}: all 2 variants reached the same test accuracy in each seed" in n
    assert "Over plain AHTGA's 9 logged steps (3 runs)" in n and "in 100\\% of them" in n
    assert "largest value, 1.5, in 100\\%" in n
    assert "per estimator: AHTGA 4.00 ($+1.50$); AHTGA, estimator \\texttt{hill} 0.70 ($-0.10$)." in n
    _call("tab_dynamics", tree["results"], tree["measured"], out / "tab_dynamics.tex")
    t = (out / "tab_dynamics.tex").read_text()
    assert "dynamics: tiny scale" in t and "dynamics: small scale" in t   # two blocks
    _call("num_small_dynamics", tree["results"], tree["measured"], out / "num_small_dynamics.tex")
    n = (out / "num_small_dynamics.tex").read_text()
    assert "\\newcommand{\\SmallDynAvailable}{yes}" in n
    assert "At step 0 the probe-batch tail index is $30.00" in n and "AHTGA's is" in n
    # the GPU runs in measured/ are not mixed into the CI results' main table
    _call("tab_main", tree["results"], tree["measured"], out / "tab_main.tex")
    assert "cifar10" not in (out / "tab_main.tex").read_text()


def test_paper_placeholders_without_results(tree):
    out = tree["base"] / "empty_out"
    for s in ("tab_main", "tab_robustness", "tab_ablations", "tab_bias_atlas", "num_experiments"):
        _call(s, tree["empty"], tree["empty"], out / f"{s}.tex")
    assert "no results for this study at this scale" in (out / "tab_main.tex").read_text()
    assert "no results" in (out / "tab_bias_atlas.tex").read_text()
    num = (out / "num_experiments.tex").read_text()
    assert "\\newcommand{\\ExpAvailable}{no}" in num
    assert "\\newcommand{\\BestMainOptimizer}{n/a}" in num
    _call("fig_main_curves", tree["empty"], tree["empty"], out / "fig_main_curves.pdf")
    assert (out / "fig_main_curves.pdf").read_bytes()[:5] == b"%PDF-"


def test_paper_num_theory_reads_the_checks(tmp_path):
    (tmp_path / "theory_checks.json").write_text(json.dumps({"seconds": 3.0, "checks": [
        {"check": "theory.a.check_x", "kind": "symbolic", "passed": True, "basis": "derivation"},
        {"check": "theory.a.check_z", "kind": "symbolic", "passed": True, "basis": "algebra on a cited premise"},
        {"check": "sim.check_y", "kind": "simulation", "passed": False, "basis": "simulation"}]}))
    _call("num_theory", tmp_path, tmp_path, tmp_path / "num_theory.tex")
    t = (tmp_path / "num_theory.tex").read_text()
    assert "\\newcommand{\\TheoryChecksRun}{3}" in t and "\\newcommand{\\TheoryChecksFailed}{1}" in t
    assert "\\newcommand{\\TheoryChecksDerived}{1}" in t and "\\newcommand{\\TheoryChecksCited}{1}" in t
    assert "\\newcommand{\\TheoryMutationsRun}{n/a}" in t
    assert "check\\_y" in t
    (tmp_path / "theory_mutations.json").write_text(json.dumps({"mutations": [
        {"name": "a", "caught": True}, {"name": "b", "caught": False}]}))
    _call("num_theory", tmp_path, tmp_path, tmp_path / "num_theory.tex")
    t = (tmp_path / "num_theory.tex").read_text()
    assert "\\newcommand{\\TheoryMutationsRun}{2}" in t and "\\newcommand{\\TheoryMutationsCaught}{1}" in t


def _tex_sources() -> list[pathlib.Path]:
    return [PAPER / "main.tex", *sorted((PAPER / "sections").glob("*.tex"))]


def test_paper_main_inputs_exist_or_are_generated():
    outs = {pathlib.Path(o).name for o in _outputs()}
    made_by_make_theory = {"tab_theory_checks.tex"}
    for src in _tex_sources():
        text = re.sub(r"(?<!\\)%.*", "", src.read_text())
        for m in re.finditer(r"\\(input|genput|genfig)(?:\{[^}]*\})?\{([^}]+)\}", text):
            kind, name = m.group(1), m.group(2)
            if "#" in name:  # the \\genput/\\genfig definitions themselves
                continue
            if kind == "input" and not name.startswith("generated/"):
                assert (PAPER / name).is_file(), f"{src.name}: \\input{{{name}}} does not exist"
                continue
            base = name.split("/")[-1]
            assert base in outs or base in made_by_make_theory, f"{src.name}: {name} is not generated"


def test_paper_every_quoted_macro_is_defined(built):
    gen, _ = built
    defined = set()
    for p in gen.glob("num_*.tex"):
        defined |= set(MACRO_DEF.findall(p.read_text()))
    for src in _tex_sources():
        defined |= set(MACRO_DEF.findall(src.read_text()))
    latex = {"FloatBarrier", "Gamma", "TeX", "LaTeX", "IfFileExists"}
    for src in _tex_sources():
        text = re.sub(r"(?<!\\)%.*", "", src.read_text())
        for name in set(re.findall(r"\\([A-Z][A-Za-z]*|atlas[A-Za-z]+)", text)):
            assert name in defined or name in latex, f"{src.name} quotes \\{name}, which no num_*.tex defines"


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="LaTeX not installed")
def test_paper_compiles_from_synthetic_results(built, tmp_path):
    gen, _ = built
    d = tmp_path / "paper"
    d.mkdir()
    shutil.copy(PAPER / "main.tex", d / "main.tex")
    shutil.copytree(PAPER / "sections", d / "sections")
    shutil.copytree(gen, d / "generated")
    (tmp_path / "proofs").symlink_to(ROOT / "proofs")
    r = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "main.tex"],
                       cwd=d, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout[-3000:]
    assert (d / "main.pdf").is_file()


def test_small_ablations_separate_current_and_earlier_defaults():
    """Ablation presets whose runs logged the regime (current defaults) and presets that predate
    it: the sentences name each group, plain AHTGA's shares come from final.regime for the first
    and from the step curves for the second, and the table shows the per-variant shares."""
    scripts = pathlib.Path(__file__).resolve().parents[2] / "paper" / "scripts"
    sys.path.insert(0, str(scripts))
    try:
        num = importlib.import_module("num_small_ablations")
        tab = importlib.import_module("tab_small_ablations")
    finally:
        sys.path.remove(str(scripts))
    new, old = [], []
    for seed in (0, 1):
        for lab, below in (("ahtga", 0.2 + 0.1 * seed), ("ahtga_c2_1.0", 0.5)):
            new.append({"preset": "ablate_c2", "optimizer": lab, "seed": seed,
                        "final": {"test_acc": 0.9, "regime": {"above": 1 - below, "below": below,
                                                              "cap": 0.1, "floor": 0.0}}})
        old.append({"preset": "ablate_c1", "optimizer": "ahtga", "seed": seed,
                    "final": {"test_acc": 0.9},
                    "curves": {"step": {"gamma": [0.5, 0.5], "alpha": [4.0, 1.0],
                                        "alpha_star": [1.5, 1.5]}}})
    # ablate_beta2: the regime logged and today's clamp recorded as plain AHTGA's default
    now = [{"preset": "ablate_beta2", "optimizer": "ahtga", "seed": seed,
            "optimizer_spec": {"kwargs": {}, "defaults": {"alpha_clamp": [0.1, 50.0]}},
            "final": {"test_acc": 0.9, "regime": {"above": 0.7, "below": 0.2, "cap": 0.1,
                                                  "floor": 0.0}}} for seed in (0, 1)]
    groups = {"ablate_c1": old, "ablate_c2": new, "ablate_beta2": now}
    d = num.defaults_sentence(groups)
    # today's defaults, then the relative target with the earlier clamp (no clamp recorded:
    # written before the change), then the earliest
    assert d.index("current defaults") < d.index("ablate\\_beta2") < d.index("earlier clamp $[0.1, 5]$")
    assert d.index("earlier clamp") < d.index("ablate\\_c2") < d.index("earliest defaults")
    assert d.index("earliest defaults") < d.index("ablate\\_c1")
    r = num.regime_sentence(groups)
    # one sentence per clamp, today's first (runs of two clamps are not one run per seed):
    # today's below 20%; the earlier clamp's below: mean of 0.2 and 0.3 = 25%; the old runs:
    # alpha above alpha* in 2 of 4 logged steps
    today, earlier = r.split("(clamp $[0.1, 5]$)")
    assert "(clamp $[0.1, 50]$, today's default) plain AHTGA (2 runs" in today
    assert "below it (where $c_2$ acts) in 20\\%" in today
    assert "below it (where $c_2$ acts) in 25\\%" in earlier and "at its cap in 10\\%" in earlier
    assert "With the earliest defaults, over plain AHTGA's 4 logged steps (2 runs)" in r
    assert "in 50\\% of them" in r
    assert tab.regime_text(new, "ahtga_c2_1.0", "below") == "50\\%"
    assert tab.regime_text(old, "ahtga", "below") == "--"


def test_paper_gpu_settings_are_kept_apart_and_superseded_files_skipped(tmp_path):
    """GPU CIFAR runs of different lengths are separate blocks and sentences (never averaged
    together), with each optimizer's lr and its source, AHTGA minus SGD seed by seed and
    AHTGA's regime; a step benchmark under ``superseded/`` is not read; the benchmark's targets
    are reported met or not from its own numbers."""
    measured = tmp_path / "measured"
    accs = {3: {"sgd": (0.20, 0.30), "ahtga": (0.10, 0.16)}, 10: {"sgd": (0.50, 0.60), "ahtga": (0.30, 0.44)}}
    for epochs, by in accs.items():
        for label, vals in by.items():
            for seed, acc in enumerate(vals):
                rec = _run_record("cifar10", label, seed, acc=acc, scale="full")
                rec["final"]["test_acc"] = acc
                rec["config"]["epochs"] = epochs
                rec["data"]["n_train"] = 25000
                rec["hardware"] = {"device": "cuda", "device_name": "NVIDIA Test GPU"}
                rec["optimizer_spec"]["lr"] = 1.0 if label == "ahtga" else 0.1
                rec["optimizer_spec"]["lr_choice"] = {"source": "registry default (no sweep)"}
                if label == "ahtga":
                    rec["final"]["regime"] = {"above": 0.8 + 0.1 * seed, "below": 0.1, "cap": 0.2,
                                              "gamma_mean": 0.1 * (seed + 1)}
                d = measured / f"gpu{epochs}" / "cifar10" / label
                d.mkdir(parents=True, exist_ok=True)
                (d / f"seed{seed}.json").write_text(json.dumps(rec))
    step = {"device": "NVIDIA New GPU", "torch": "2.11", "config": {"batch": 128, "steps": 20},
            "targets": {"direction_time": 1.3, "direction_memory": 1.5},
            "results": {"sgd": {"median_s": 0.01, "time_ratio": 1.0, "memory_ratio": 1.0, "peak_bytes": 2 ** 30},
                        "ahtga_direction": {"median_s": 0.025, "time_ratio": 2.5, "memory_ratio": 1.2,
                                            "peak_bytes": 1.2 * 2 ** 30},
                        "ahtga_direction_lag": {"median_s": 0.029, "time_ratio": 2.9}}}
    (measured / "gpu_step.json").write_text(json.dumps(step))
    (measured / "superseded").mkdir()
    (measured / "superseded" / "gpu_step_old.json").write_text(json.dumps({**step, "device": "NVIDIA Old GPU"}))
    out = tmp_path / "gen"
    _call("tab_gpu_cifar", tmp_path / "results", measured, out / "tab_gpu_cifar.tex")
    t = (out / "tab_gpu_cifar.tex").read_text()
    assert t.count("multicolumn") == 2 and t.index("3 epochs") < t.index("10 epochs")
    assert "AHTGA 1; registry default (no sweep)" in t and "SGD (momentum) 0.1" in t
    assert "0.130" in t and "0.370" in t          # AHTGA's means per setting, not pooled (0.25)
    _call("num_speed", tmp_path / "results", measured, out / "num_speed.tex")
    n = (out / "num_speed.tex").read_text()
    assert "\\newcommand{\\GpuStepDevice}{NVIDIA New GPU}" in n
    assert "\\newcommand{\\GpuDirectionLagRatio}{2.90}" in n
    assert "direction-form time at most 1.3 times SGD: 2.50, not met" in n
    assert "direction-form memory at most 1.5 times SGD: 1.20, met" in n
    sent = n[n.index("\\GpuCifarSentence}"):]
    assert sent.index("After 3 epochs") < sent.index("After 10 epochs")
    three, ten = sent.split("After 10 epochs")
    assert "-0.1200" in three and "-0.1800" in ten        # AHTGA minus SGD, seed by seed
    assert "85\\%" in three and "mean $\\gamma$ $0.150" in three
