"""Convergence curves of the main comparison: test accuracy per epoch and training loss per
logged step, mean over seeds (line) and min-max over seeds (band), every optimizer of the
``main`` preset (its first preset of the ``main`` study when ``main`` itself is absent).
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
    fig, axes = plt.subplots(1, 2, figsize=(6.6, 2.9), constrained_layout=True)
    labs = sorted({r["optimizer"] for r in rs}, key=C.order_key)
    for lab in labs:
        runs = [r for r in rs if r["optimizer"] == lab]
        kw = dict(color=C.color(lab), label=C.display(lab, tex=False),
                  lw=1.6 if lab == "ahtga" else 1.0, ls="-" if C.is_ahtga(lab) else "--")
        x, m, lo, hi = C.curve_band(runs, "epoch.epoch", "epoch.test_acc")
        if x:
            axes[0].plot(x, m, **kw)
            axes[0].fill_between(x, lo, hi, color=C.color(lab), alpha=0.12, lw=0)
        x, m, lo, hi = C.curve_band(runs, "step.step", "step.train_loss")
        if x:
            axes[1].plot(x, m, **kw)
            axes[1].fill_between(x, lo, hi, color=C.color(lab), alpha=0.12, lw=0)
    axes[0].set_xlabel("epoch")
    axes[0].set_ylabel("next-token accuracy (test)" if lm else "test accuracy")
    axes[0].set_ylim(0, 1)
    axes[1].set_xlabel("step")
    axes[1].set_ylabel("training loss (window mean)")
    axes[1].set_yscale("log")
    ymax = max((l.get_ydata().max() for l in axes[1].get_lines() if len(l.get_ydata())), default=1.0)
    if math.isfinite(ymax) and ymax > 1e3:  # runs that blew up: keep the rest readable
        axes[1].set_ylim(top=1e3)
    h, l = axes[0].get_legend_handles_labels()
    fig.legend(h, l, loc="outside lower center", ncol=min(5, len(l)))
    st = C.stamp(rs, preset)
    C.save_figure(fig, a.out, st)
    C.report(a.out, st)


if __name__ == "__main__":
    main()
