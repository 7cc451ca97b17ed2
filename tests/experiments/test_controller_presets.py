"""The controller's regime in every run, the relative-unit variants, the adaptivity control and
the dose-response presets (issue 15, parts 2-3), on tiny configs of a few epochs."""
import json
import math

import pytest

from ahtga.experiments import evaluation, runner
from ahtga.experiments.cli import run_presets
from ahtga.experiments.optimizers import MissingSource, optimizer_kwargs
from ahtga.experiments.presets import resolve
from ahtga.experiments.registry import VARIANTS
from ahtga.experiments.store import read_json, result_path, write_json_atomic

from experiments_kit import kill_and_resume

# 256 digits, batch 64: 4 steps per epoch.  A pool of 128 norms (2 steps) and a 10-step warm-up
# give the controller something to do within a few epochs; ratio 1.0 puts the reading on both
# sides of the target, so the c2 (below-target) branch runs.
QUICK_CTRL = {"epochs": 12, "max_train_examples": 256, "tail_every": 0, "dynamics": False,
              "lr_sweep": False, "lr_from": "", "progress": False, "log_every": 2,
              "perturbations": (), "ood": "", "model_kwargs": {"hidden": [32]}, "lr": 0.1,
              "ahtga_kwargs": {"pool_size": 128, "target": {"name": "relative", "base": 1.0,
                                                            "warmup": 10, "horizon": 10}}}


def _run(tmp_path, preset, label, over=None, seed=0):
    cfg = resolve(preset, "tiny", {**QUICK_CTRL, "optimizers": (label,), **(over or {})})
    return read_json(runner.run_one(cfg, label, seed, tmp_path))


def _paper_script(name: str):
    """A module of ``paper/scripts`` (which import each other by bare name)."""
    import importlib
    import sys
    from pathlib import Path
    scripts = Path(__file__).resolve().parents[2] / "paper" / "scripts"
    sys.path.insert(0, str(scripts))
    try:
        return importlib.import_module(name)
    finally:
        sys.path.remove(str(scripts))


@pytest.fixture(scope="module")
def plain_and_c2(tmp_path_factory):
    out = tmp_path_factory.mktemp("ctrl")
    return _run(out, "ablate_c2", "ahtga"), _run(out, "ablate_c2", "ahtga_c2_1.0"), out


def test_regime_is_logged_for_ahtga_and_null_otherwise(plain_and_c2, tmp_path):
    ahtga, _, _ = plain_and_c2
    reg = ahtga["final"]["regime"]
    assert reg["steps"] == ahtga["final"]["steps"] == 48           # every step, not the logged ones
    assert reg["above"] + reg["below"] + reg["equal"] == pytest.approx(1.0)
    assert reg["equal"] > 0                                         # the warm-up holds alpha* = alpha
    assert 0 <= reg["cap"] <= 1 and 0 <= reg["floor"] <= 1 and reg["gamma_mean"] is not None
    # the achieved index of the transformed norms is tracked, logged and summarised
    curve = [v for v in ahtga["curves"]["step"]["alpha_transformed"] if v is not None]
    assert curve and all(v > 0 for v in curve)
    assert reg["alpha_transformed_final"] == pytest.approx(curve[-1])
    assert min(curve) <= reg["alpha_transformed_median"] <= max(curve) or len(curve) < 3
    assert ahtga["optimizer_spec"]["kwargs"]["track_transformed"] is True
    sgd = _run(tmp_path, "main", "sgd")
    assert sgd["final"]["regime"] is None
    assert all(v is None for v in sgd["curves"]["step"]["alpha_transformed"])


def test_c2_variant_runs_the_below_branch_and_differs(plain_and_c2):
    ahtga, c2, _ = plain_and_c2
    assert ahtga["final"]["regime"]["below"] > 0.2 and c2["final"]["regime"]["below"] > 0.2
    # c2 = 1.0 instead of 0.25 on the below branch: gamma and the trained model differ
    assert c2["final"]["regime"]["gamma_mean"] < ahtga["final"]["regime"]["gamma_mean"]
    assert c2["curves"]["step"]["train_loss"] != ahtga["curves"]["step"]["train_loss"]


def test_regime_resumes_exactly(tmp_path, monkeypatch):
    cfg = resolve("main", "tiny", {**QUICK_CTRL, "epochs": 6, "optimizers": ("ahtga",)})
    # val + test per epoch: the 7th evaluation is in epoch 4, after 3 checkpoints
    ref, res = kill_and_resume(monkeypatch, tmp_path, cfg, "ahtga", 0, evaluation, "evaluate", 7)
    assert res["timings"]["resumed_from_epoch"] == 3
    assert res["final"]["regime"] == ref["final"]["regime"]
    assert res["final"]["regime"]["steps"] == 24
    assert res["curves"]["step"]["alpha_transformed"] == ref["curves"]["step"]["alpha_transformed"]


def test_variants_in_relative_units():
    def target(label):
        return VARIANTS[label][1]["target"]

    assert target("ahtga_fixed") == {"name": "relative", "warmup": 50, "horizon": 50, "base": 0.9,
                                     "reference": "warmup"}
    lin = target("ahtga_linear")
    assert lin["name"] == "relative" and (lin["base"]["a_min"], lin["base"]["a_max"]) == (0.7, 1.1)
    val = target("ahtga_validation")
    assert val["name"] == "relative" and val["base"]["name"] == "validation" and val["base"]["base"] == 0.9
    assert target("ahtga_abs15") == 1.5
    src = VARIANTS["ahtga_source"][1]
    assert src == {"exponent": "quadratic", "target": 1.5, "window": 1, "estimator": "hill_db",
                   "alpha_clamp": (0.1, 5.0)}
    # the ablations run on the package's defaults: only their own option is set
    cfg = resolve("ablate_c1", "tiny")
    assert "target" not in optimizer_kwargs(cfg, "ahtga_c1_0.5")


def test_relative_variants_train(tmp_path):
    """Each target variant trains past its 50-step warm-up and sets a target of its own."""
    # a clamp above the digits' readings (about 5-6): at the default clamp (5) most readings sit
    # on it and every relative reference is the clamp
    over = {"epochs": 8, "max_train_examples": 512,
            "ahtga_kwargs": {"pool_size": 128, "alpha_clamp": (0.1, 50.0)}}
    stars = {}
    for label in ("ahtga_fixed", "ahtga_linear", "ahtga_validation", "ahtga_abs15"):
        r = _run(tmp_path, "ablate_target", label, over)
        assert not r["final"]["diverged"] and r["final"]["regime"]["steps"] == 64
        stars[label] = r["final"]["regime"]["alpha_star_mean"]
    assert all(math.isfinite(v) for v in stars.values())
    assert len({round(v, 9) for v in stars.values()}) == len(stars)


def test_gamma_matched_reads_its_source_and_refuses_without_it(tmp_path):
    over = {"epochs": 6}
    with pytest.raises(MissingSource, match=r"adaptivity/ahtga/seed1\.json.*run adaptivity"):
        _run(tmp_path, "adaptivity", "ahtga_gamma_matched", over, seed=1)
    assert not (tmp_path / "adaptivity" / "ahtga_gamma_matched" / "seed1.json").exists()
    src = _run(tmp_path, "adaptivity", "ahtga", over, seed=1)
    g = src["final"]["regime"]["gamma_mean"]
    assert g != 0.0
    m = _run(tmp_path, "adaptivity", "ahtga_gamma_matched", over, seed=1)
    assert m["optimizer_spec"]["kwargs"]["exponent"] == {"name": "fixed", "gamma": g}
    frm = m["optimizer_spec"]["options_from"]
    assert frm["source"].endswith("adaptivity/ahtga/seed1.json") and frm["run_key"] == src["run_key"]
    # the fixed gamma was applied at every step: the regime's mean is that gamma
    assert m["final"]["regime"]["gamma_mean"] == pytest.approx(g, rel=1e-12)
    assert m["final"]["regime"]["cap"] == 0 and m["curves"]["step"]["train_loss"] != src["curves"]["step"]["train_loss"]
    # another seed has no source
    with pytest.raises(MissingSource):
        _run(tmp_path, "adaptivity", "ahtga_gamma_matched", over, seed=0)
    # a changed source makes the matched result stale (its options differ)
    cfg = resolve("adaptivity", "tiny", {**QUICK_CTRL, "optimizers": ("ahtga_gamma_matched",), **over})
    path = result_path(tmp_path, "adaptivity", "ahtga_gamma_matched", 1)
    assert runner.stored_is_current(path, cfg, "ahtga_gamma_matched", tmp_path)
    s = read_json(result_path(tmp_path, "adaptivity", "ahtga", 1))
    s["final"]["regime"]["gamma_mean"] = g + 0.1
    write_json_atomic(result_path(tmp_path, "adaptivity", "ahtga", 1), s)
    assert not runner.stored_is_current(path, cfg, "ahtga_gamma_matched", tmp_path)


def test_run_trains_the_matched_run_after_its_source(tmp_path):
    """The command line plans runs that read other runs after the rest: listed first, the
    matched run would otherwise start before its source (and fail)."""
    over = {**QUICK_CTRL, "epochs": 3, "optimizers": ("ahtga_gamma_matched", "ahtga")}
    assert run_presets(["adaptivity"], "tiny", over, tmp_path, seeds=[0, 1], jobs=1) == 0
    for s in (0, 1):
        m = read_json(result_path(tmp_path, "adaptivity", "ahtga_gamma_matched", s))
        a = read_json(result_path(tmp_path, "adaptivity", "ahtga", s))
        assert m["optimizer_spec"]["kwargs"]["exponent"]["gamma"] == a["final"]["regime"]["gamma_mean"]


def test_dose_presets_differ_in_their_target_only():
    cfg = resolve("dose", "tiny")
    labels = [lab for lab in cfg.optimizers if lab.startswith("ahtga_dose_")]
    assert len(labels) >= 6 and "ahtga_gamma0" in cfg.optimizers and cfg.dynamics
    ratios = []
    for lab in labels:
        kw = optimizer_kwargs(cfg, lab)
        assert kw["rescale"] == "mean" and kw["target"]["name"] == "relative"
        ratios.append(kw["target"]["base"])
        rest = {k: v for k, v in kw.items() if k != "target"}
        assert rest == {k: v for k, v in optimizer_kwargs(cfg, labels[0]).items() if k != "target"}
    assert len(set(ratios)) == len(ratios) and min(ratios) < 0.9 and max(ratios) > 1.0


def test_dose_ratio_moves_the_achieved_index(tmp_path):
    """Heavier targets (smaller ratios) give a smaller achieved index of the transformed norms."""
    over = {"epochs": 10, "max_train_examples": 512, "dynamics": False,   # 80 steps: 30 past the warm-up
            "ahtga_kwargs": {"pool_size": 128, "alpha_clamp": (0.1, 50.0)}}
    lo = _run(tmp_path, "dose", "ahtga_dose_0.6", over)["final"]["regime"]
    hi = _run(tmp_path, "dose", "ahtga_dose_1.5", over)["final"]["regime"]
    assert lo["gamma_mean"] > 0 > hi["gamma_mean"]
    assert lo["alpha_transformed_median"] < hi["alpha_transformed_median"]


def test_paper_controller_scripts_read_the_regime(tmp_path):
    """The paper's controller numbers and tables come from the runs' final.regime and outcomes:
    the paired difference quoted is the seed-by-seed difference of the result files."""
    from ahtga.experiments.aggregate import t_interval

    num = _paper_script("num_controller")
    tab = _paper_script("tab_controller_adaptivity")
    out = tmp_path / "results" / "experiments"
    over = {**QUICK_CTRL, "epochs": 4,
            "optimizers": ("ahtga", "ahtga_gamma_matched", "ahtga_gamma0")}
    assert run_presets(["adaptivity"], "tiny", over, out, seeds=[0, 1], jobs=1) == 0
    args = ["--results", str(tmp_path / "results"), "--measured", str(tmp_path / "none")]
    num.main([*args, "--out", str(tmp_path / "num.tex")])
    tex = (tmp_path / "num.tex").read_text()
    acc = {lab: [read_json(result_path(out, "adaptivity", lab, s))["final"]["test_acc"] for s in (0, 1)]
           for lab in ("ahtga", "ahtga_gamma0")}
    d = t_interval([a - b for a, b in zip(acc["ahtga"], acc["ahtga_gamma0"])])
    assert f"test accuracy {d['mean']:+.4f} (95\\% CI {d['lo']:+.4f} to {d['hi']:+.4f}, 2 seeds" in tex
    assert "\\newcommand{\\CtrlSmallAdaptSentence}{Not measured at the small scale.}" in tex
    tab.main([*args, "--out", str(tmp_path / "tab.tex")])
    t = (tmp_path / "tab.tex").read_text()
    assert "adaptive $-$ $\\gamma=0$" in t and "small scale: adaptivity control not measured" in t


def test_regime_table_gives_each_chunk_its_clamp(tmp_path):
    """Trained tiny runs of plain AHTGA (today's clamp, recorded as its default) and of
    ``ahtga_clamp5`` (the earlier clamp, set explicitly): the regime table gives each chunk's
    upper clamp from its result files, and the earlier-clamp chunk is named as such."""
    tab = _paper_script("tab_controller_regime")
    out = tmp_path / "results" / "experiments"
    over = {**QUICK_CTRL, "epochs": 2, "optimizers": ("ahtga", "ahtga_clamp5")}
    assert run_presets(["main"], "tiny", over, out, seeds=[0], jobs=1) == 0
    assert read_json(result_path(out, "main", "ahtga", 0))["optimizer_spec"]["defaults"][
        "alpha_clamp"] == [0.1, 50.0]
    tab.main(["--results", str(tmp_path / "results"), "--measured", str(tmp_path / "none"),
              "--out", str(tmp_path / "tab.tex")])
    rows = {line.split(" & ")[0]: line.split(" & ") for line in
            (tmp_path / "tab.tex").read_text().splitlines() if " & main & " in line}
    assert rows["AHTGA (adaptive $\\gamma$)"][2] == "50"
    assert rows["AHTGA, earlier clamp $[0.1, 5]$"][2] == "5"


def test_adaptivity_table_has_one_block_per_preset_with_its_own_labels():
    """Planted CIFAR-10 runs of ``adaptivity_cifar`` (adaptive label ``ahtga_clamp50``) beside MNIST
    ``adaptivity`` runs: each preset gets its block, and the paired rows pair each preset's own
    adaptive run with its own controls, seed by seed."""
    num = _paper_script("num_controller")
    tab = _paper_script("tab_controller_adaptivity")
    recs = []
    accs = {("adaptivity", "ahtga"): (0.90, 0.91, 0.92),
            ("adaptivity", "ahtga_gamma_matched"): (0.89, 0.91, 0.90),
            ("adaptivity", "ahtga_gamma0"): (0.88, 0.90, 0.91),
            ("adaptivity_cifar", "ahtga_clamp50"): (0.50, 0.55, 0.53),
            ("adaptivity_cifar", "ahtga_clamp50_gamma_matched"): (0.52, 0.56, 0.57),
            ("adaptivity_cifar", "ahtga_gamma0"): (0.51, 0.50, 0.52)}
    for (preset, lab), vals in accs.items():
        for seed, a in enumerate(vals):
            recs.append({"preset": preset, "optimizer": lab, "seed": seed,
                         "config": {"dataset": "mnist" if preset == "adaptivity" else "cifar10"},
                         "final": {"diverged": False, "test_acc": a, "gen_gap_loss": 0.1,
                                   "gen_gap_acc": 0.01, "ece": 0.05,
                                   "regime": {"gamma_mean": 0.1 + 0.01 * seed}}})
    t = tab.tabular(recs, "planted")
    assert "cifar10 (\\texttt{adaptivity\\_cifar})" in t and "mnist (\\texttt{adaptivity})" in t
    assert t.index("adaptivity})") < t.index("adaptivity\\_cifar})")        # MNIST first
    # CIFAR block: clamp50 minus its matched control = (-0.02, -0.01, -0.04): mean -0.0233
    from ahtga.experiments.aggregate import t_interval
    d = t_interval([-0.02, -0.01, -0.04])
    cifar = t[t.index("adaptivity\\_cifar})"):]
    assert f"{d['mean']:.4f}" in cifar.split("adaptive $-$ $\\gamma=0$")[0]
    sent = num.adapt_sentence(recs)
    assert "On cifar10 (\\texttt{adaptivity\\_cifar})" in sent and "On mnist" in sent
    assert f"test accuracy {d['mean']:+.4f} (95\\% CI {d['lo']:+.4f} to {d['hi']:+.4f}, 3 seeds" in sent


def test_dose_sentence_reports_a_mixed_verdict():
    """Planted dose runs where a heavier achieved tail goes with higher accuracy AND a larger gap:
    the generated sentence must say both, not only the supporting half."""
    num = _paper_script("num_controller")
    recs = []
    for i, r in enumerate((0.6, 0.8, 1.0, 1.2, 1.5)):
        for s in range(3):
            a = 1.0 + i + 0.01 * s
            recs.append({"preset": "dose", "optimizer": f"ahtga_dose_{r}", "seed": s,
                         "final": {"diverged": False, "regime": {"alpha_transformed_median": a},
                                   "test_acc": 0.99 - 0.01 * a, "gen_gap_loss": 0.1 - 0.01 * a,
                                   "ece": 0.01, "hessian_top": 10.0}})
    text = num.dose_sentence(recs)
    assert "mixed" in text and "higher test accuracy" in text and "a larger loss gap" in text
    for r in recs:   # the gap now shrinks with a heavier tail as well: plain support
        r["final"]["gen_gap_loss"] = 0.1 + 0.01 * r["final"]["regime"]["alpha_transformed_median"]
    text = num.dose_sentence(recs)
    assert "mixed" not in text and "as the hypothesis says" in text and "smaller loss gap" in text


def test_dose_table_shows_the_step_length_when_logged():
    """The dose table adds the mean parameter-step length when the runs logged it (and only
    then): mean rescaling equalises the mean weight, not the step, so the step is reported."""
    tab = _paper_script("tab_controller_dose")
    recs = [{"preset": "dose", "optimizer": lab, "seed": s,
             "final": {"diverged": False, "regime": {"alpha_transformed_median": 2.0, "gamma_mean": 0.1},
                       "test_acc": 0.9, "gen_gap_loss": 0.1, "ece": 0.01, "hessian_top": 10.0}}
            for lab in ("ahtga_gamma0", "ahtga_dose_0.6") for s in (0, 1)]
    assert "Delta" not in tab.tabular(recs, "t")
    for r in recs:
        r["final"]["update_norm_mean"] = 0.25 if r["optimizer"] == "ahtga_gamma0" else 0.5
    t = tab.tabular(recs, "t")
    assert "\\Delta\\theta" in t and "0.2500" in t and "0.5000" in t


def test_regime_sentence_reports_other_data_sets_and_a_pinned_controller():
    """Plain AHTGA on another data set of the main study gets its own clause; readings at the
    clamp in most steps are reported as a controller that did not adapt (and only then)."""
    num = _paper_script("num_controller")

    def rec(preset, seed, clamped, below):
        return {"preset": preset, "optimizer": "ahtga", "seed": seed,
                "config": {"dataset": "cifar10" if preset == "main_cifar" else "mnist"},
                "final": {"diverged": False, "regime": {
                    "above": 1 - below - 0.1, "below": below, "equal": 0.1, "cap": 0.0,
                    "floor": 0.0, "clamped": clamped, "gamma_mean": 0.05,
                    "alpha_transformed_median": 3.0}}}
    recs = [rec("main", s, 0.2, 0.3) for s in (0, 1)] + [rec("main_cifar", s, 0.97, 0.0) for s in (0, 1)]
    text = num.regime_sentence(recs)
    assert "On cifar10 (\\texttt{main\\_cifar}, 2 seeds)" in text and "clamped in 97\\%" in text
    assert text.count("did not adapt") == 1
    recs = [r for r in recs if r["preset"] == "main"] + [rec("main_cifar", s, 0.2, 0.3) for s in (0, 1)]
    assert "did not adapt" not in num.regime_sentence(recs)
    # the earlier clamp's runs of main_cifar (read as ahtga_clamp5) beside today's: each named
    early = [{**rec("main_cifar", s, 0.97, 0.0), "optimizer": "ahtga_clamp5"} for s in (0, 1)]
    text = num.regime_sentence(recs + early)
    assert text.count("On cifar10 (\\texttt{main\\_cifar}, 2 seeds)") == 2
    assert text.index("it had") < text.index(num.EARLIER_CLAMP_NAME + " had")
    assert text.count("did not adapt") == 1 and text.index(num.EARLIER_CLAMP_NAME) < text.index("did not adapt")


def test_earlier_adaptivity_runs_get_their_own_block(tmp_path):
    """The MNIST adaptivity runs of the earlier clamp (measured/earlier_clamp/adaptivity) are
    read as their own preset, after today's, with plain AHTGA as ``ahtga_clamp5``: the table
    and sentence report both, and the paired differences are each block's own."""
    from ahtga.experiments.store import write_json_atomic

    num, tab = _paper_script("num_controller"), _paper_script("tab_controller_adaptivity")
    labels = ("ahtga", "ahtga_gamma_matched", "ahtga_gamma0")
    now, recs = [], {}
    for root, accs in ((tmp_path / "small", (0.96, 0.98, 0.97)),
                       (tmp_path / num.EARLIER, (0.981, 0.982, 0.980))):
        for lab, acc in zip(labels, accs):
            (root / "adaptivity" / lab).mkdir(parents=True)
            for s in range(2):
                r = {"preset": "adaptivity", "optimizer": lab, "seed": s,
                     "config": {"dataset": "mnist"}, "optimizer_spec": {"kwargs": {}},
                     "final": {"diverged": False, "test_acc": acc + 0.001 * s,
                               "gen_gap_loss": 0.01, "gen_gap_acc": 0.01, "ece": 0.01,
                               "regime": {"gamma_mean": 0.05}}}
                write_json_atomic(root / "adaptivity" / lab / f"seed{s}.json", r)
    earlier = num.earlier_records(tmp_path)
    assert {r["preset"] for r in earlier} == {"adaptivity (earlier clamp)"}
    assert {r["optimizer"] for r in earlier} == {"ahtga_clamp5", "ahtga_gamma_matched", "ahtga_gamma0"}
    recs = _load_dir(tmp_path / "small") + earlier
    text = num.adapt_sentence(recs)
    assert text.index("(\\texttt{adaptivity})") < text.index("(\\texttt{adaptivity (earlier clamp)})")
    assert "test accuracy -0.0200" in text and "test accuracy -0.0010" in text
    t = tab.tabular(recs, "t")
    assert t.index("mnist (\\texttt{adaptivity})") < t.index("mnist (\\texttt{adaptivity (earlier clamp)})")


def _load_dir(root):
    from ahtga.experiments.store import read_json

    return [read_json(p) for p in sorted(root.glob("*/*/seed*.json"))]


def test_dose_table_and_sentence_have_one_block_per_preset(tmp_path):
    """``dose`` (MNIST) and ``dose_cifar`` are reported apart, MNIST first, each headed by its
    data set and the clamp its runs used."""
    tab, num = _paper_script("tab_controller_dose"), _paper_script("num_controller")
    recs = []
    for preset, data, clamp, base in (("dose_cifar", "cifar10", [0.1, 50.0], 0.5),
                                      ("dose", "mnist", None, 0.98)):
        for i, lab in enumerate(("ahtga_gamma0", "ahtga_dose_0.6", "ahtga_dose_1.0", "ahtga_dose_1.5")):
            for s in range(3):
                spec = {"kwargs": {}, **({"defaults": {"alpha_clamp": clamp}} if clamp else {})}
                recs.append({"preset": preset, "optimizer": lab, "seed": s,
                             "config": {"dataset": data}, "optimizer_spec": spec,
                             "final": {"diverged": False, "test_acc": base - 0.001 * i + 1e-4 * s,
                                       "regime": {"alpha_transformed_median": 2.0 + i + 0.1 * s,
                                                  "gamma_mean": 0.1},
                                       "gen_gap_loss": 0.1, "ece": 0.01, "hessian_top": 10.0}})
    t = tab.tabular(recs, "t")
    assert t.index("mnist (\\texttt{dose}, clamp $[0.1, 5]$)") < \
        t.index("cifar10 (\\texttt{dose\\_cifar}, clamp $[0.1, 50]$)")
    assert t.count("ratio 0.6") == 2
    text = num.dose_sentence(recs)
    assert text.index("On mnist (\\texttt{dose}, clamp $[0.1, 5]$)") < \
        text.index("On cifar10 (\\texttt{dose\\_cifar}, clamp $[0.1, 50]$)")
    assert text.count("Spearman's rank correlation over the 9 runs") == 2
    assert num.dose_sentence([r for r in recs if r["preset"] == "dose_cifar"]).startswith("On cifar10")
    # the earlier clamp's dose runs, read from measured/earlier_clamp: a block after today's
    early = [{**r, "preset": "dose"} for r in recs if r["preset"] == "dose"]
    for r in early:
        path = tmp_path / num.EARLIER / "dose" / r["optimizer"] / f"seed{r['seed']}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(r))
    earlier = num.earlier_records(tmp_path)
    assert {r["preset"] for r in earlier} == {"dose (earlier clamp)"}
    both = [{**r, "optimizer_spec": {"kwargs": {}, "defaults": {"alpha_clamp": [0.1, 50.0]}}}
            if r["preset"] == "dose" else r for r in recs] + earlier
    t = tab.tabular(both, "t")
    assert t.index("(\\texttt{dose}, clamp $[0.1, 50]$)") < \
        t.index("(\\texttt{dose (earlier clamp)}, clamp $[0.1, 5]$)") < t.index("dose\\_cifar")
    assert "length of the parameter step" not in text                   # not logged
    # logged: a step that grows as the achieved index falls is named as the confound
    for r in recs:
        r["final"]["update_norm_mean"] = 1.0 / r["final"]["regime"]["alpha_transformed_median"]
    text = num.dose_sentence(recs)
    assert text.count("do not separate the tail from the step length") == 2
    # the heaviest ratio against gamma = 0, seed by seed: accuracy 0.001 lower in every seed
    assert text.count("Ratio 0.6 minus $\\gamma=0$, seed by seed: test accuracy -0.0010") == 2
    assert "mean step length" in text


def test_clamp_of_default_ahtga_and_of_the_variants():
    """Through the experiments' own optimizer construction: default AHTGA clamps single
    estimates to ``DEFAULT_ALPHA_CLAMP`` = [0.1, 50], as ``ahtga_clamp50`` does explicitly (its
    results predate the default); ``ahtga_source`` keeps the [0.1, 5] it was measured with, since
    its unbounded rule at an absolute target would turn readings near 50 into a huge gamma."""
    import torch

    from ahtga.experiments.optimizers import make_optimizer
    from ahtga.optim.ahtga import DEFAULT_ALPHA_CLAMP
    cfg = resolve("main", "tiny", {"optimizers": ("ahtga", "ahtga_clamp50", "ahtga_source")})
    built = {lab: make_optimizer(cfg, lab, torch.nn.Linear(4, 2), 0.1, 0)
             for lab in ("ahtga", "ahtga_clamp50", "ahtga_source")}
    assert DEFAULT_ALPHA_CLAMP == (0.1, 50.0)
    assert built["ahtga"].tracker.clamp == built["ahtga_clamp50"].tracker.clamp == (0.1, 50.0)
    assert built["ahtga_source"].tracker.clamp == (0.1, 5.0)
    assert optimizer_kwargs(cfg, "ahtga_clamp50")["alpha_clamp"] == (0.1, 50.0)
    assert "alpha_clamp" not in optimizer_kwargs(cfg, "ahtga")


def test_dose_presets_on_cifar_and_fashion_are_dose_in_their_main_setting():
    """``dose_cifar`` / ``dose_fashion`` run ``dose``'s optimizers (same target ratios, gamma = 0,
    rescale='mean', Hessian at the end) on ``main_cifar``'s / ``main_fashion``'s model and data,
    at the lr of AHTGA's sweep there, on the 10000 images of the adaptivity presets."""
    dose = resolve("dose", "small", {})
    for preset, src, adapt in (("dose_cifar", "main_cifar", "adaptivity_cifar"),
                               ("dose_fashion", "main_fashion", "adaptivity_fashion")):
        cfg, main = resolve(preset, "small", {}), resolve(src, "small", {})
        assert tuple(cfg.optimizers) == tuple(dose.optimizers) and cfg.dynamics
        assert cfg.lr_from == src and cfg.tail_every == 0
        for f in ("task", "dataset", "model", "model_kwargs", "perturbations", "epochs", "batch_size"):
            assert getattr(cfg, f) == getattr(main, f), f
        assert cfg.max_train_examples == resolve(adapt, "small", {}).max_train_examples == 10000
        for lab in cfg.optimizers:
            assert optimizer_kwargs(cfg, lab) == optimizer_kwargs(dose, lab), lab


def test_clamp_lr_control_sentence_pairs_the_control_with_the_earlier_clamp(tmp_path):
    """The clamp (0.1, 50) at the earlier default's lr (small_controls) is reported against the
    earlier clamp's runs of ``main`` (kept under measured/earlier_clamp, read as
    ``ahtga_clamp5``), seed by seed, with the lr each clamp's sweep chose; nothing when either
    is absent."""
    from ahtga.experiments.aggregate import t_interval
    from ahtga.experiments.store import write_json_atomic

    num = _paper_script("num_controller")

    def rec(preset, lab, seed, acc, lr, clamp=None):
        return {"preset": preset, "optimizer": lab, "seed": seed,
                "optimizer_spec": {"lr": lr, "kwargs": {},
                                   **({"defaults": {"alpha_clamp": clamp}} if clamp else {})},
                "final": {"diverged": False, "test_acc": acc, "regime": {"below": 0.2}}}

    # today's plain AHTGA (clamp recorded as its default) and the earlier runs on disk
    now = [rec("main", "ahtga", s, 0.95, 0.3, [0.1, 50.0]) for s in range(3)]
    early = tmp_path / num.EARLIER / "main" / "ahtga"
    early.mkdir(parents=True)
    for s, a in enumerate((0.980, 0.982, 0.981)):
        write_json_atomic(early / f"seed{s}.json", rec("main", "ahtga", s, a, 0.1))
    earlier = num.earlier_records(tmp_path)
    assert {r["optimizer"] for r in earlier} == {"ahtga_clamp5"}
    assert all(r["stored_optimizer"] == "ahtga" for r in earlier)
    assert num.clamp_lr_sentence(tmp_path, now + earlier) == ""          # no control runs yet
    root = tmp_path / "small_controls" / num.CLAMP_LR_CONTROL / "main" / "ahtga_clamp50"
    root.mkdir(parents=True)
    for s, a in enumerate((0.978, 0.983, 0.979)):
        write_json_atomic(root / f"seed{s}.json", rec("main", "ahtga_clamp50", s, a, 0.1))
    assert num.clamp_lr_sentence(tmp_path, now) == ""                    # no earlier runs
    text = num.clamp_lr_sentence(tmp_path, now + earlier)
    d = t_interval([-0.002, 0.001, -0.002])
    assert "chose lr 0.3 with the clamp $[0.1, 50]$ and 0.1 with the earlier clamp" in text
    assert "at lr 0.1 the clamp $[0.1, 50]$ reached" in text
    assert f"{d['mean']:+.4f} (95\\% CI {d['lo']:+.4f} to {d['hi']:+.4f}, 3 seeds" in text
