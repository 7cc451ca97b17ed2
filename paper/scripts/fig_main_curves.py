"""Convergence curves of the main comparison: test accuracy per epoch and training loss per
logged step, mean over seeds (line) and min-max over seeds (band), every optimizer of the
``main`` preset (its first preset of the ``main`` study when ``main`` itself is absent).

Eleven curves on one axis cannot be told apart at page size, so the figure has two rows with
plain AHTGA in both as the common reference: top, AHTGA against the baselines; bottom, AHTGA
against its own variants (sign forms, the source's configuration, rescaled coefficients).
"""
import math
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import common as C  # noqa: E402


def pick_preset(recs):
    groups = C.by_preset(recs)
    if "main" in groups:
        return "main", groups["main"]
    for p, rs in groups.items():
        if C.study_of(p) == "main":
            return p, rs
    return None, []


def split_rows(labs: list[str]) -> list[list[str]]:
    """The rows of the figure: [AHTGA + baselines, AHTGA + its variants]; one row when either
    group is empty (plain AHTGA absent: its variants join the baselines' row)."""
    base = [l for l in labs if not C.is_ahtga(l)]
    variants = [l for l in labs if C.is_ahtga(l) and l != "ahtga"]
    ref = ["ahtga"] if "ahtga" in labs else []
    if not ref or not base or not variants:
        return [labs]
    return [ref + base, ref + variants]


def main(argv=None):
    a = C.parse_args(__doc__, argv)
    preset, rs = pick_preset(C.experiment_records(a.results))
    if not rs:
        C.placeholder_figure(a.out, "convergence curves: " + C.NO_RESULTS)
        C.report(a.out, C.NO_RESULTS)
        return
    C.apply_style()
    import matplotlib.pyplot as plt

    lm = rs[0].get("config", {}).get("task") == "lm"
    labs = sorted({r["optimizer"] for r in rs}, key=C.order_key)
    rows = split_rows(labs)
    fig, axes = plt.subplots(len(rows), 2, figsize=(6.6, 2.5 * len(rows) + 0.4),
                             constrained_layout=True, squeeze=False)
    for row, group in zip(axes, rows):
        for lab in group:
            runs = [r for r in rs if r["optimizer"] == lab]
            kw = dict(color=C.color(lab), label=C.display(lab, tex=False),
                      lw=1.6 if lab == "ahtga" else 1.0, ls="-" if C.is_ahtga(lab) else "--")
            x, m, lo, hi = C.curve_band(runs, "epoch.epoch", "epoch.test_acc")
            if x:
                row[0].plot(x, m, **kw)
                row[0].fill_between(x, lo, hi, color=C.color(lab), alpha=0.12, lw=0)
            x, m, lo, hi = C.curve_band(runs, "step.step", "step.train_loss")
            if x:
                row[1].plot(x, m, **kw)
                row[1].fill_between(x, lo, hi, color=C.color(lab), alpha=0.12, lw=0)
        row[0].set_xlabel("epoch")
        row[0].set_ylabel("next-token accuracy (test)" if lm else "test accuracy")
        row[0].set_ylim(0, 1)
        row[1].set_xlabel("step")
        row[1].set_ylabel("training loss (window mean)")
        row[1].set_yscale("log")
        ymax = max((l.get_ydata().max() for l in row[1].get_lines() if len(l.get_ydata())),
                   default=1.0)
        if math.isfinite(ymax) and ymax > 1e3:  # runs that blew up: keep the rest readable
            row[1].set_ylim(top=1e3)
        row[0].legend(loc="lower right", fontsize=6, ncol=2 if len(group) > 5 else 1)
    st = C.stamp(rs, preset)
    C.save_figure(fig, a.out, st)
    C.report(a.out, st)


if __name__ == "__main__":
    main()
