r"""Numbers and generated sentences of the controller section (``sections/controller.tex``):
the controller's regime in every chunk, the adaptivity control and the dose-response, at the
tiny scale (``RESULTS/experiments``, what ``make all`` runs) and at the small scale
(``paper/measured/small``, when measured; "not measured" otherwise).

Where the numbers come from (every value is a mean over seeds with the two-sided 95% Student-t
interval, ``ahtga.experiments.aggregate.t_interval``):

* regime: ``final.regime`` of every AHTGA run (``ahtga.experiments.loop``: shares of all steps
  with alpha > alpha* (``above``), alpha < alpha* (``below``), alpha* = alpha (``equal``: the
  relative target's warm-up, and steps before the first estimate), gamma at the rule's cap or
  floor, the single estimate clamped; the mean gamma; the achieved tail index of the
  transformed norms, median over the run's steps);
* adaptivity (the presets of ``ahtga.experiments.presets.ADAPTIVITY``: ``adaptivity`` on MNIST,
  ``adaptivity_cifar`` and ``adaptivity_fashion``, run on ``ahtga_clamp50`` before the clamp
  (0.1, 50) became the default, since the earlier one pinned the controller there): test
  accuracy, generalization gaps and ECE of the adaptive run (``ahtga``, or ``ahtga_clamp50``),
  its gamma-matched control (gamma fixed at the adaptive run's mean gamma,
  same seed) and ``ahtga_gamma0``, and the paired differences over seeds (adaptive minus the
  control, seed by seed, then the t-interval of the differences);
* dose-response (presets :data:`DOSE_PRESETS`: ``dose`` on MNIST, ``dose_cifar``,
  ``dose_fashion``): per target ratio the achieved index against test accuracy, loss gap, ECE
  and the top Hessian eigenvalue, and Spearman's rank correlation over all runs of a preset
  (with scipy's p-value) between the achieved index and each metric.

Which clamp of the single estimate a run used (``common.clamp_of``) is said wherever runs of
both clamps are reported: AHTGA's default became (0.1, 50) on 2026-12-04, and the runs of the
main presets made with the earlier (0.1, 5) are kept under ``MEASURED/earlier_clamp`` and read
as ``ahtga_clamp5`` (:func:`earlier_records`).

Macros, for ``S`` in ``Tiny`` and ``Small`` (all defined whatever exists):
``\CtrlSAvailable`` (yes/no), ``\CtrlSStamp``, ``\CtrlSRegimeSentence`` (plain AHTGA's regime
and the source configuration's), ``\CtrlSBranchSentence`` (in how many chunks both branches run
and gamma is off its bounds in most steps), ``\CtrlSAdaptSentence``, ``\CtrlSDoseSentence``,
``\CtrlSClampSentence`` (which presets' plain AHTGA runs used which clamp).
"""
from __future__ import annotations

import json
import math
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import common as C  # noqa: E402

SCALES = ("Tiny", "Small")
KINDS = ("Available", "Stamp", "RegimeSentence", "BranchSentence", "AdaptSentence",
         "DoseSentence", "ClampSentence")
NAMES = tuple(f"Ctrl{s}{k}" for s in SCALES for k in KINDS)

#: regime columns: (dotted key of a result, header, digits, scale)
REGIME_COLS = [("regime.above", "$\\alpha>\\alpha^*$", 2, 1.0),
               ("regime.below", "$\\alpha<\\alpha^*$", 2, 1.0),
               ("regime.equal", "$=$ (warm-up)", 2, 1.0),
               ("regime.cap", "$\\gamma$ at cap", 2, 1.0),
               ("regime.floor", "$\\gamma$ at floor", 2, 1.0),
               ("regime.clamped", "clamped", 2, 1.0),
               ("regime.gamma_mean", "mean $\\gamma$", 3, 1.0),
               ("regime.alpha_transformed_median", "achieved $\\alpha$", 2, 1.0)]
OUTCOMES = [("test_acc", "test acc.", 4), ("gen_gap_loss", "loss gap", 4),
            ("gen_gap_acc", "acc. gap", 4), ("ece", "ECE", 4)]
#: how the sentences name the AHTGA variants with an explicit clamp of the single estimate
WIDE_CLAMP_NAME = "AHTGA with the clamp $[0.1, 50]$"
EARLIER_CLAMP_NAME = "AHTGA with the earlier default clamp $[0.1, 5]$"
#: the dose-response presets, in the order the paper reports them (MNIST first)
DOSE_PRESETS = ("dose", "dose_cifar", "dose_fashion")
#: how :func:`earlier_records` names an adaptivity or dose preset run with the earlier clamp
EARLIER_PRESET = "{preset} (earlier clamp)"
ADAPT_NAMES = {"ahtga": "AHTGA (adaptive $\\gamma$)",
               "ahtga_gamma_matched": "$\\gamma$ fixed at AHTGA's mean",
               "ahtga_clamp50": "AHTGA, clamp $[0.1, 50]$ (adaptive $\\gamma$)",
               "ahtga_clamp50_gamma_matched": "$\\gamma$ fixed at its mean",
               "ahtga_clamp5": "AHTGA, earlier clamp $[0.1, 5]$",
               "ahtga_gamma0": "$\\gamma=0$"}
DOSE_METRICS = [("regime.alpha_transformed_median", "achieved $\\alpha$", 2),
                ("test_acc", "test acc.", 4), ("gen_gap_loss", "loss gap", 4),
                ("ece", "ECE", 4), ("hessian_top", "top Hessian eig.", 2)]


def dose_sets() -> list[str]:
    """The dose-response blocks in report order: each preset of :data:`DOSE_PRESETS`, then its
    runs with the earlier clamp (:data:`EARLIER_PRESET`, see :func:`earlier_records`)."""
    return [q for p in DOSE_PRESETS for q in (p, EARLIER_PRESET.format(preset=p))]


def adaptivity_sets() -> dict[str, tuple[str, str, str]]:
    """``ahtga.experiments.presets.ADAPTIVITY``: preset -> (adaptive label, its gamma-matched
    control, gamma = 0), in the order the paper reports them (MNIST first); after each preset
    whose adaptive run is plain ``ahtga``, its runs with the earlier clamp
    (:data:`EARLIER_PRESET`, adaptive label ``ahtga_clamp5``; see :func:`earlier_records`)."""
    from ahtga.experiments.presets import ADAPTIVITY

    out = {}
    for preset, (adaptive, matched, zero) in ADAPTIVITY.items():
        out[preset] = (adaptive, matched, zero)
        if adaptive == "ahtga":
            out[EARLIER_PRESET.format(preset=preset)] = ("ahtga_clamp5", matched, zero)
    return out


def fixed_gamma(label: str) -> bool:
    """Whether the label runs a fixed exponent (no rule: gamma = 0 or a matched gamma)."""
    from ahtga.experiments.registry import VARIANTS

    ex = VARIANTS.get(label, ("", {}))[1].get("exponent")
    return (isinstance(ex, dict) and ex.get("name") == "fixed") or label.endswith("gamma_matched")


def is_adaptivity(preset: str) -> bool:
    return preset in adaptivity_sets()


def clamp_text(rs: list[dict]) -> str:
    """The clamp(s) of the single estimate the runs used: ``$[0.1, 50]$``."""
    return C.joined(C.clamp_text(c) for c in (C.clamp_of(r) for r in rs) if c is not None)


def who(label: str, rs: list[dict]) -> str:
    """How a sentence names an adaptive AHTGA run, with its clamp."""
    return {"ahtga_clamp50": WIDE_CLAMP_NAME, "ahtga_clamp5": EARLIER_CLAMP_NAME}.get(
        label, f"{C.display(label)} (clamp {clamp_text(rs)})")


# ----------------------------------------------------------------------------- records
#: the runs of plain AHTGA in the main presets made with the earlier default clamp (0.1, 5),
#: kept when the default became (0.1, 50) and those rows were rerun (``MEASURED/earlier_clamp``)
EARLIER = "earlier_clamp"


def earlier_records(measured) -> list[dict]:
    """The records of ``MEASURED/earlier_clamp``, plain ``ahtga`` read as ``ahtga_clamp5`` (the
    variant that sets that clamp explicitly: the same configuration), so they neither mix with
    nor replace today's ``ahtga`` runs of the same preset and seed; ``stored_optimizer`` keeps
    the label of the file.  The runs of an adaptivity or dose-response preset (all its labels)
    are read under :data:`EARLIER_PRESET` (``stored_preset`` keeps the file's), so that its
    controls do not mix with today's either."""
    from ahtga.experiments.presets import ADAPTIVITY

    out = []
    for r in C.load_records(pathlib.Path(measured) / EARLIER):
        if r.get("optimizer") == "ahtga":
            r = {**r, "optimizer": "ahtga_clamp5", "stored_optimizer": "ahtga"}
        if r.get("preset") in ADAPTIVITY or r.get("preset") in DOSE_PRESETS:
            r = {**r, "preset": EARLIER_PRESET.format(preset=r["preset"]),
                 "stored_preset": r["preset"]}
        out.append(r)
    return out


def records(args) -> dict[str, list[dict]]:
    """``{"Tiny": tiny records under RESULTS/experiments, "Small": measured/small records and
    :func:`earlier_records`}``."""
    tiny = [r for r in C.experiment_records(args.results)
            if str(r.get("scale", C.get(r, "config.scale"))) == "tiny"]
    return {"Tiny": tiny, "Small": C.small_records(args.measured) + earlier_records(args.measured)}


def table_head(head: list[str], title: str, *, text_cols: int = 1, note: str = "") -> list[str]:
    """The opening lines of a controller table: comment, column spec (``text_cols`` left-aligned
    columns, the rest centred), the title row and the header row ``head``."""
    return ["% generated table: mean $\\pm$ 95% t-interval half-width over seeds" + note,
            "\\begin{tabular}{" + "l" * text_cols + "c" * (len(head) - text_cols) + "}", "\\hline",
            f"\\multicolumn{{{len(head)}}}{{l}}{{\\emph{{{C.tex_escape(title)}}}}} \\\\",
            " & ".join(head) + " \\\\", "\\hline"]


def write_scale_tables(args, select, tabular, what: str) -> None:
    """One ``tabular(records, title)`` per scale of :func:`records` over the records ``select``
    keeps, a placeholder "``<scale> scale: <what> not measured``" where none, written to
    ``args.out`` and reported."""
    parts, seen = [], []
    for scale, recs in records(args).items():
        recs = select(recs)
        if recs:
            parts.append(tabular(recs, C.stamp(recs)))
            seen.append(f"{scale.lower()}: {C.stamp(recs)}")
        else:
            parts.append(C.placeholder_table(f"{scale.lower()} scale: {what} not measured"))
    C.write_tables(args.out, parts)
    C.report(args.out, "; ".join(seen) if seen else f"{what} not measured")


def display(label: str) -> str:
    if label in ADAPT_NAMES:
        return ADAPT_NAMES[label]
    if label.startswith("ahtga_dose_"):
        return f"ratio {label.rsplit('_', 1)[1]}"
    if label == "ahtga_abs15":
        return "AHTGA, absolute $\\alpha^*=1.5$"
    return C.display(label)


def ci(values) -> dict:
    from ahtga.experiments.aggregate import t_interval

    return t_interval([float(v) for v in values if v is not None and math.isfinite(float(v))])


def chunks(recs: list[dict]) -> list[tuple[str, list[str], list[dict]]]:
    """AHTGA runs with a regime, one entry per distinct chunk: ``(label, presets, records)``;
    presets whose runs trained identically share one entry: the same label and, seed by seed,
    the same ``final.regime`` and training-loss curve (plain ``ahtga`` in ``main``, the
    ablations and ``dynamics``, whose monitors do not change the training)."""
    by: dict[tuple, dict] = {}
    for r in recs:
        if not C.is_ahtga(r["optimizer"]) or not isinstance(C.get(r, "final.regime"), dict):
            continue
        by.setdefault((r["preset"], r["optimizer"]), {})[r["seed"]] = r
    merged: dict[tuple, list] = {}
    for (preset, lab), seeds in by.items():
        key = (lab, json.dumps(sorted((s, C.get(r, "final.regime"),
                                       C.get(r, "curves.step.train_loss"))
                                      for s, r in seeds.items()), sort_keys=True))
        if key not in merged:
            merged[key] = [lab, [], [seeds[s] for s in sorted(seeds)]]
        merged[key][1].append(preset)
    out = [(lab, presets, rs) for lab, presets, rs in merged.values()]
    return sorted(out, key=lambda t: (C.order_key(t[0]), t[1]))


def cell(rs: list[dict], key: str) -> dict:
    return ci(C.get(r, "final." + key) for r in rs if not C.get(r, "final.diverged"))


def share_text(c: dict) -> str:
    """A share as a percentage with its interval: ``41% (33-49%)``."""
    if c.get("mean") is None:
        return "--"
    m = 100 * c["mean"]
    if c.get("half_width") is None:
        return f"{m:.0f}\\%"
    return f"{m:.0f}\\% ({max(0.0, 100 * c['lo']):.0f}--{min(100.0, 100 * c['hi']):.0f}\\%)"


def in_preset(recs, preset, label):
    return sorted((r for r in recs if r["preset"] == preset and r["optimizer"] == label),
                  key=lambda r: r["seed"])


def paired(a: list[dict], b: list[dict], metric: str) -> dict:
    """t-interval of the seed-by-seed differences a - b of ``final.<metric>`` (seeds in both,
    neither diverged)."""
    bb = {r["seed"]: r for r in b}
    diffs = []
    for r in a:
        o = bb.get(r["seed"])
        if o is None or r["final"].get("diverged") or o["final"].get("diverged"):
            continue
        x, y = C.get(r, "final." + metric), C.get(o, "final." + metric)
        if x is not None and y is not None:
            diffs.append(float(x) - float(y))
    return ci(diffs)


def diff_text(c: dict, nd: int = 4, scale: float = 1.0) -> str:
    """``+0.0123 (95% CI -0.0040 to +0.0286, n = 3; excludes 0)``."""
    if c.get("mean") is None:
        return "no paired runs"
    m = c["mean"] * scale
    if c.get("half_width") is None:
        return f"{m:+.{nd}f} (one seed, no interval)"
    lo, hi = c["lo"] * scale, c["hi"] * scale
    verdict = "excludes 0" if lo > 0 or hi < 0 else "includes 0"
    return f"{m:+.{nd}f} (95\\% CI {lo:+.{nd}f} to {hi:+.{nd}f}, {c['n']} seeds; {verdict})"


def spearman(xs, ys) -> tuple[float, float, int] | None:
    from scipy import stats

    pts = [(float(x), float(y)) for x, y in zip(xs, ys) if x is not None and y is not None
           and math.isfinite(float(x)) and math.isfinite(float(y))]
    if len(pts) < 4:
        return None
    res = stats.spearmanr([p[0] for p in pts], [p[1] for p in pts])
    return float(res.statistic), float(res.pvalue), len(pts)


def dose_labels(recs, preset: str = "dose") -> list[str]:
    labs = {r["optimizer"] for r in recs if r["preset"] == preset}
    dose = sorted((l for l in labs if l.startswith("ahtga_dose_")),
                  key=lambda l: float(l.rsplit("_", 1)[1]))
    return (["ahtga_gamma0"] if "ahtga_gamma0" in labs else []) + dose


# ----------------------------------------------------------------------------- sentences
#: the wider clamp on MNIST at plain AHTGA's learning rate (its own sweep chose another), under
#: ``MEASURED/small_controls/<tag>/main/ahtga_clamp50/``
CLAMP_LR_CONTROL = "ahtga_clamp50_lr0.1"


def clamp_lr_sentence(measured, recs) -> str:
    """On MNIST the sweeps chose different learning rates with the two clamps: the clamp
    (0.1, 50) at the earlier default's lr (the control runs) against the earlier default, seed
    by seed -- only the clamp differs; "" when either is absent."""
    ctrl = C.load_records(pathlib.Path(measured) / "small_controls" / CLAMP_LR_CONTROL)
    ctrl = sorted((r for r in ctrl if r["optimizer"] == "ahtga_clamp50"), key=lambda r: r["seed"])
    earlier = in_preset(recs, "main", "ahtga_clamp5")
    swept = [r for r in in_preset(recs, "main", "ahtga") if C.clamp_of(r) == C.current_clamp()]
    if not ctrl or not earlier:
        return ""
    lr = C.joined(C.get(r, "optimizer_spec.lr") for r in ctrl)
    lr_e = C.joined(C.get(r, "optimizer_spec.lr") for r in earlier)
    lr_swept = C.joined(C.get(r, "optimizer_spec.lr") for r in swept) if swept else "?"
    return (f"On MNIST AHTGA's sweep chose lr {lr_swept} with the clamp $[0.1, 50]$ and {lr_e} "
            f"with the earlier clamp $[0.1, 5]$; at lr {lr} the clamp $[0.1, 50]$ reached test "
            f"accuracy {C.fmt_ci(cell(ctrl, 'test_acc'), 4)}, seed by seed "
            f"{diff_text(paired(ctrl, earlier, 'test_acc'))} against the earlier clamp at that "
            f"lr, with $\\alpha<\\alpha^*$ in {share_text(cell(ctrl, 'regime.below'))} of its "
            "steps.")


def regime_sentence(recs) -> str:
    parts = []
    for lab, what in (("ahtga", "Plain AHTGA (target 0.9 times the running median of its "
                                "readings, clamp {clamp})"),
                      ("ahtga_abs15", "With the source's absolute target $\\alpha^*=1.5$ "
                                      "(clamp {clamp}) it"),
                      ("ahtga_source", "The source's full configuration (one-batch double "
                                       "bootstrap, $\\alpha^*=1.5$, unbounded rule, clamp "
                                       "{clamp})")):
        rs = [r for r in recs if r["optimizer"] == lab and isinstance(C.get(r, "final.regime"), dict)]
        if lab == "ahtga":
            rs = [r for r in rs if r["preset"] == "main"] or rs
        rs = list({r["seed"]: r for r in rs}.values())
        if not rs:
            continue
        c = {k: cell(rs, "regime." + k) for k in ("above", "below", "equal", "cap", "floor",
                                                   "clamped", "gamma_mean",
                                                   "alpha_transformed_median")}
        parts.append(
            f"{what.format(clamp=clamp_text(rs))} had $\\alpha>\\alpha^*$ in "
            f"{share_text(c['above'])} of its steps and "
            f"$\\alpha<\\alpha^*$ in {share_text(c['below'])} "
            f"($\\alpha^*=\\alpha$, the warm-up, in {share_text(c['equal'])}); "
            f"$\\gamma$ sat at its cap in {share_text(c['cap'])} and at its floor in "
            f"{share_text(c['floor'])}; the single estimate was clamped in "
            f"{share_text(c['clamped'])}; mean $\\gamma$ {C.fmt_ci(c['gamma_mean'], 3)}, "
            f"achieved index of the transformed norms {C.fmt_ci(c['alpha_transformed_median'], 2)} "
            f"({len(rs)} seeds).")
    # plain AHTGA on the other data sets of the main study (e.g. main_cifar, main_fashion), then
    # the runs with an explicit clamp: the earlier default (0.1, 5), and (0.1, 50) where it was
    # run as a variant before it became the default
    for lab in ("ahtga", "ahtga_clamp5", "ahtga_clamp50"):
        others = sorted({r["preset"] for r in recs if r["optimizer"] == lab
                         and (r["preset"].startswith("main_")
                              or (r["preset"] == "main" and lab != "ahtga"))
                         and isinstance(C.get(r, "final.regime"), dict)})
        for p in others:
            rs = list({r["seed"]: r for r in recs if r["optimizer"] == lab and r["preset"] == p
                       and isinstance(C.get(r, "final.regime"), dict)}.values())
            c = {k: cell(rs, "regime." + k) for k in ("above", "below", "cap", "floor", "clamped",
                                                       "gamma_mean")}
            data = C.tex_escape(C.joined(C.get(r, "config.dataset") for r in rs))
            n_train = C.joined(C.get(r, "config.max_train_examples") for r in rs)
            size = "" if n_train == "?" else f", {n_train} training examples"
            name = "it" if lab == "ahtga" else who(lab, rs)
            txt = (f"On {data} (\\texttt{{{C.tex_escape(p)}}}, {len(rs)} seeds{size}) {name} had "
                   f"$\\alpha>\\alpha^*$ in {share_text(c['above'])} and $\\alpha<\\alpha^*$ in "
                   f"{share_text(c['below'])} of its steps, $\\gamma$ at its cap in "
                   f"{share_text(c['cap'])} and floor in {share_text(c['floor'])}, the estimate "
                   f"clamped in {share_text(c['clamped'])}, mean $\\gamma$ "
                   f"{C.fmt_ci(c['gamma_mean'], 3)}.")
            if (c["clamped"].get("mean") or 0) >= 0.5:
                txt += (" The readings sat at the clamp in most steps, so the relative target (a "
                        "multiple of the readings' median) and $\\gamma$ were constant there: on "
                        "this data set the controller did not adapt.")
            parts.append(txt)
    return " ".join(parts) if parts else "No AHTGA run with a logged regime."


def clamp_sentence(recs) -> str:
    """Which presets' plain AHTGA runs (label ``ahtga``) used today's default clamp and which an
    earlier one (``common.clamp_of``), so that a reader of any table knows which configuration
    its "AHTGA" row is."""
    now = C.current_clamp()
    by: dict[tuple, set] = {}
    for r in recs:
        if r["optimizer"] == "ahtga":
            by.setdefault(C.clamp_of(r), set()).add(r["preset"])
    if not by:
        return ""
    name = lambda ps: ", ".join(f"\\texttt{{{C.tex_escape(p)}}}" for p in sorted(ps))  # noqa: E731
    parts = []
    if now in by:
        parts.append(f"with today's default clamp {C.clamp_text(now)} in {name(by.pop(now))}")
    for c in sorted(by):
        parts.append(f"with the earlier clamp {C.clamp_text(c)} in {name(by[c])}")
    return "Plain AHTGA ran " + "; ".join(parts) + "."


def branch_sentence(recs) -> str:
    ch = chunks(recs)
    if not ch:
        return "No AHTGA run with a logged regime."
    both, off, both_off = [], [], []
    for lab, presets, rs in ch:
        a, b = cell(rs, "regime.above"), cell(rs, "regime.below")
        cap, fl = cell(rs, "regime.cap"), cell(rs, "regime.floor")
        if a["mean"] is None or b["mean"] is None:
            continue
        bo = a["mean"] >= 0.1 and b["mean"] >= 0.1
        of = (cap["mean"] or 0) + (fl["mean"] or 0) < 0.5
        both.append(bo)
        off.append(of)
        both_off.append(bo and of)
    n = len(both)
    fixed = sum(1 for lab, _p, _r in ch if fixed_gamma(lab))
    return (f"Of the {n} distinct AHTGA chunks, both branches ran in at least 10\\% of the steps "
            f"in {sum(both)}, $\\gamma$ was at neither bound in most steps in {sum(off)}, and "
            f"both held in {sum(both_off)} ({fixed} of the chunks fix $\\gamma$ and run no "
            "rule: their branch shares only say where the reading lies).")


def adapt_sentence(recs) -> str:
    parts = [adapt_sentence_for(recs, preset, labs) for preset, labs in adaptivity_sets().items()]
    parts = [p for p in parts if p]
    return " ".join(parts) if parts else "The adaptivity control was not run at this scale."


def adapt_sentence_for(recs, preset: str, labels: tuple[str, str, str]) -> str:
    """The adaptivity control of one preset, or "" when it was not run."""
    adaptive, matched, zero = labels
    rs = {lab: in_preset(recs, preset, lab) for lab in labels}
    if not rs[adaptive] or not (rs[matched] or rs[zero]):
        return ""
    data = C.tex_escape(C.joined(C.get(r, "config.dataset") for r in rs[adaptive]))
    g = cell(rs[adaptive], "regime.gamma_mean")
    out = [f"On {data} (\\texttt{{{C.tex_escape(preset)}}}) the mean $\\gamma$ of "
           f"{who(adaptive, rs[adaptive])} was {C.fmt_ci(g, 3)}"
           + (" -- close to 0, so the matched control is close to $\\gamma=0$ and the comparison "
              "can only detect an effect of $\\gamma$'s swings around its mean."
              if g.get("mean") is not None and abs(g["mean"]) < 0.05 else ".")]
    for ctrl in (matched, zero):
        if not rs[ctrl]:
            continue
        d = {m: paired(rs[adaptive], rs[ctrl], m) for m, _h, _d in OUTCOMES}
        out.append(f"Adaptive minus {display(ctrl)}, seed by seed: test accuracy "
                   f"{diff_text(d['test_acc'])}, loss gap {diff_text(d['gen_gap_loss'])}, "
                   f"ECE {diff_text(d['ece'])}.")
    d = paired(rs[adaptive], rs[matched], "test_acc")
    if d.get("half_width") is not None:
        sep = d["lo"] > 0 or d["hi"] < 0
        out.append("The adaptive part " + (
            ("changes test accuracy beyond the seeds' spread here, "
             + ("for the better." if d["mean"] > 0 else "for the worse."))
            if sep else "is not separated from a fixed $\\gamma$ of the same mean by these seeds."))
    return " ".join(out)


def dose_sentence(recs) -> str:
    """The dose-response of every block of :func:`dose_sets` that was run, one after the
    other; a "not run" sentence when none was."""
    parts = [dose_sentence_for(recs, p) for p in dose_sets()]
    parts = [p for p in parts if p]
    return " ".join(parts) if parts else "The dose-response was not run at this scale."


def dose_sentence_for(recs, preset: str) -> str:
    """The dose-response of one preset (its data set and clamp first), or "" when not run."""
    labs = [l for l in dose_labels(recs, preset) if l.startswith("ahtga_dose_")]
    if not labs:
        return ""
    runs = [r for r in recs if r["preset"] == preset and r["optimizer"] in labs
            and not r["final"].get("diverged")]
    ach = {l: cell(in_preset(recs, preset, l), "regime.alpha_transformed_median") for l in labs}
    data = C.tex_escape(C.joined(C.get(r, "config.dataset") for r in runs))
    clamp = clamp_text(runs) if any("optimizer_spec" in r for r in runs) else ""
    lo, hi = labs[0], labs[-1]
    out = [f"On {data} (\\texttt{{{C.tex_escape(preset)}}}"
           + (f", clamp {clamp}" if clamp else "") + "), over target ratios "
           f"{lo.rsplit('_', 1)[1]}--{hi.rsplit('_', 1)[1]} the achieved index "
           f"of the transformed norms went from {C.fmt_ci(ach[lo], 2)} to {C.fmt_ci(ach[hi], 2)}."]
    x = [C.get(r, "final.regime.alpha_transformed_median") for r in runs]
    cors, sig = [], {}
    for m, h, _d in DOSE_METRICS[1:]:
        s = spearman(x, [C.get(r, "final." + m) for r in runs])
        if s is not None:
            cors.append(f"{h.replace('$', '')} $\\rho={s[0]:+.2f}$ ($p={s[1]:.2g}$)")
            sig[m] = s
    if cors:
        out.append(f"Spearman's rank correlation over the {len(runs)} runs of the achieved index "
                   "with " + ", ".join(cors) + ".")
    # the seed's hypothesis: a heavier achieved tail (smaller index) goes with higher accuracy
    # (rho < 0) or a smaller gap (rho > 0), at the 5% level
    a_s, g_s = sig.get("test_acc"), sig.get("gen_gap_loss")
    support = [w for w, s_, sign in (("higher test accuracy", a_s, -1), ("a smaller loss gap", g_s, 1))
               if s_ is not None and s_[1] < 0.05 and sign * s_[0] > 0]
    against = [w for w, s_, sign in (("lower test accuracy", a_s, 1), ("a larger loss gap", g_s, -1))
               if s_ is not None and s_[1] < 0.05 and sign * s_[0] > 0]
    if a_s is not None or g_s is not None:
        if support and against:
            out.append("The evidence is mixed: a heavier achieved tail goes with "
                       + " and ".join(support) + ", as the hypothesis says, but also with "
                       + " and ".join(against) + ", against it (rank correlations, $p<0.05$).")
        elif support:
            out.append("Here a heavier achieved tail goes with " + " and ".join(support)
                       + ", as the hypothesis says (rank correlation, $p<0.05$).")
        elif against:
            out.append("Here a heavier achieved tail goes with " + " and ".join(against)
                       + ", against the hypothesis (rank correlation, $p<0.05$).")
        else:
            out.append("These runs do not support the hypothesis that a heavier achieved tail "
                       "generalizes better: neither test accuracy nor the loss gap is rank "
                       "correlated with the achieved index at the 5\\% level.")
    # the confound: mean rescaling equalises the mean weight, not the step; where the runs logged
    # the step length, say whether it moves with the achieved index
    st = spearman(x, [C.get(r, "final.update_norm_mean") for r in runs])
    if st is not None:
        out.append(f"The rank correlation of the achieved index with the mean length of the "
                   f"parameter step is $\\rho={st[0]:+.2f}$ ($p={st[1]:.2g}$): "
                   + ("a heavier achieved tail came with a longer step, so these runs do not "
                      "separate the tail from the step length." if st[1] < 0.05 and st[0] < 0 else
                      "a heavier achieved tail came with a shorter step." if st[1] < 0.05 else
                      "the step length did not move with the tail at the 5\\% level."))
    # the heaviest target against gamma = 0, seed by seed (the same seeds, data and lr)
    zero = in_preset(recs, preset, "ahtga_gamma0")
    if zero:
        heavy = in_preset(recs, preset, lo)
        d = {m: paired(heavy, zero, m) for m in ("test_acc", "gen_gap_loss", "ece",
                                                   "update_norm_mean")}
        out.append(f"Ratio {lo.rsplit('_', 1)[1]} minus $\\gamma=0$, seed by seed: test accuracy "
                   f"{diff_text(d['test_acc'])}, loss gap {diff_text(d['gen_gap_loss'])}, ECE "
                   f"{diff_text(d['ece'])}"
                   + (f", mean step length {diff_text(d['update_norm_mean'])}"
                      if d["update_norm_mean"].get("mean") is not None else "") + ".")
    acc = {l: cell(in_preset(recs, preset, l), "test_acc") for l in labs}
    best = max((l for l in labs if acc[l]["mean"] is not None), key=lambda l: acc[l]["mean"],
               default=None)
    worst = min((l for l in labs if acc[l]["mean"] is not None), key=lambda l: acc[l]["mean"],
                default=None)
    if best and worst and best != worst:
        o = C.overlaps(acc[best], acc[worst])
        out.append(f"Test accuracy was highest at ratio {best.rsplit('_', 1)[1]} "
                   f"({C.fmt_ci(acc[best], 4)}) and lowest at ratio {worst.rsplit('_', 1)[1]} "
                   f"({C.fmt_ci(acc[worst], 4)})"
                   + ("" if o is None else "; the 95\\% intervals overlap." if o else
                      "; the 95\\% intervals do not overlap."))
    return " ".join(out)


def main(argv=None):
    a = C.parse_args(__doc__, argv)
    M = C.Macros("paper/scripts/num_controller.py")
    seen = []
    for scale, recs in records(a).items():
        ahtga = [r for r in recs if isinstance(C.get(r, "final.regime"), dict)]
        p = f"Ctrl{scale}"
        if not ahtga:
            M.add(p + "Available", "no")
            M.add(p + "Stamp", "not measured")
            for k in KINDS[2:]:
                M.add(p + k, f"Not measured at the {scale.lower()} scale.")
            continue
        seen.append(scale.lower())
        M.add(p + "Available", "yes")
        M.add(p + "Stamp", C.tex_escape(C.stamp(ahtga, "AHTGA runs with a logged regime")))
        M.add(p + "RegimeSentence", " ".join(
            t for t in (regime_sentence(ahtga),
                        clamp_lr_sentence(a.measured, recs) if scale == "Small" else "") if t))
        M.add(p + "BranchSentence", branch_sentence(ahtga))
        M.add(p + "AdaptSentence", adapt_sentence(recs))
        M.add(p + "DoseSentence", dose_sentence(recs))
        M.add(p + "ClampSentence", clamp_sentence(recs))
    C.write_text(a.out, M.text())
    C.report(a.out, "controller numbers: " + (", ".join(seen) if seen else "no AHTGA regime logged"))


if __name__ == "__main__":
    main()
