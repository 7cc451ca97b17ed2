"""Curves of the small-scale MNIST chunk (``paper/measured/small/``, see ``tab_small_main.py``):
test accuracy per epoch and training loss per logged step, mean over seeds (line) and lowest to
highest seed (band), one line per optimizer.  A placeholder figure when no files are present.
"""
import math
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import common as C  # noqa: E402


def main(argv=None):
    a = C.parse_args(__doc__, argv)
    rs = [r for r in C.small_records(a.measured) if r.get("preset") == "main"]
    if not rs:
        C.placeholder_figure(a.out, "MNIST at small scale: measurement not available")
        C.report(a.out, "small-scale MNIST runs not available")
        return
    C.apply_style()
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(6.6, 2.6), constrained_layout=True)
    for lab in sorted({r["optimizer"] for r in rs}, key=C.order_key):
        runs = [r for r in rs if r["optimizer"] == lab]
        kw = dict(color=C.color(lab), label=C.display(lab, tex=False),
                  lw=1.6 if lab == "ahtga" else 1.0, ls="-" if C.is_ahtga(lab) else "--", marker="o")
        x, m, lo, hi = C.curve_band(runs, "epoch.epoch", "epoch.test_acc")
        if x:
            axes[0].plot(x, m, **kw)
            axes[0].fill_between(x, lo, hi, color=C.color(lab), alpha=0.12, lw=0)
        kw.pop("marker")
        x, m, lo, hi = C.curve_band(runs, "step.step", "step.train_loss")
        if x:
            axes[1].plot(x, m, **kw)
            axes[1].fill_between(x, lo, hi, color=C.color(lab), alpha=0.12, lw=0)
    from matplotlib.ticker import MaxNLocator
    axes[0].xaxis.set_major_locator(MaxNLocator(integer=True))
    axes[0].set_xlabel("epoch")
    axes[0].set_ylabel("test accuracy")
    axes[1].set_xlabel("step")
    axes[1].set_ylabel("training loss (window mean)")
    axes[1].set_yscale("log")
    ymax = max((l.get_ydata().max() for l in axes[1].get_lines() if len(l.get_ydata())), default=1.0)
    if math.isfinite(ymax) and ymax > 1e3:
        axes[1].set_ylim(top=1e3)
    h, l = axes[0].get_legend_handles_labels()
    fig.legend(h, l, loc="outside lower center", ncol=min(4, len(l)))
    st = C.stamp(rs, "main")
    C.save_figure(fig, a.out, st)
    C.report(a.out, "measured/small: " + st)


if __name__ == "__main__":
    main()
