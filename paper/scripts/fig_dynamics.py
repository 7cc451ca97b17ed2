"""Training dynamics for every optimizer (``dynamics`` preset; the tail panel falls back to
``main``): (a) the tail index of the per-example gradient norms of a fixed probe batch (Hill with
double-bootstrap k, ``ahtga.metrics.TailMonitor``) over training steps, (b) the entropy effective
rank of the per-example gradient covariance of a fixed batch after each epoch.  Mean over seeds
(line) and min-max (band).  Large tail indices (tens) mean light-tailed norms.
"""
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import common as C  # noqa: E402


def main(argv=None):
    a = C.parse_args(__doc__, argv)
    groups = C.by_preset(C.experiment_records(a.results))
    rs = groups.get("dynamics") or groups.get("main") or []
    preset = "dynamics" if groups.get("dynamics") else "main"
    if not rs:
        C.placeholder_figure(a.out, "training dynamics: " + C.NO_RESULTS)
        C.report(a.out, C.NO_RESULTS)
        return
    C.apply_style()
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(6.6, 2.9), constrained_layout=True)
    any_rank = False
    for lab in sorted({r["optimizer"] for r in rs}, key=C.order_key):
        runs = [r for r in rs if r["optimizer"] == lab]
        kw = dict(color=C.color(lab), label=C.display(lab, tex=False),
                  lw=1.6 if lab == "ahtga" else 0.9, ls="-" if C.is_ahtga(lab) else "--")
        x, m, lo, hi = C.tail_curve(runs)
        if x:
            axes[0].plot(x, m, **kw)
            axes[0].fill_between(x, lo, hi, color=C.color(lab), alpha=0.1, lw=0)
        x, m, lo, hi = C.curve_band(runs, "epoch.epoch", "epoch.eff_rank")
        if x:
            any_rank = True
            axes[1].plot(x, m, **kw)
            axes[1].fill_between(x, lo, hi, color=C.color(lab), alpha=0.1, lw=0)
    axes[0].set_yscale("log")
    axes[0].axhline(2.0, color="0.5", lw=0.5, ls=":")
    axes[0].set_xlabel("step")
    axes[0].set_ylabel("tail index of gradient norms\n(Hill, double bootstrap)")
    axes[1].set_xlabel("epoch")
    axes[1].set_ylabel("effective rank of\nper-example gradients")
    if not any_rank:
        axes[1].text(0.5, 0.5, "effective rank not measured\n(no dynamics runs)", ha="center",
                     va="center", transform=axes[1].transAxes)
    h, l = axes[0].get_legend_handles_labels()
    fig.legend(h, l, loc="outside lower center", ncol=min(5, len(l)))
    st = C.stamp(rs, preset)
    C.save_figure(fig, a.out, st)
    C.report(a.out, st)


if __name__ == "__main__":
    main()
