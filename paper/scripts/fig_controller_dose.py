r"""Dose-response figure (the blocks of ``num_controller.dose_sets``, one row of panels per block
that was run: ``dose`` on MNIST, ``dose_cifar``, ``dose_fashion``): for each relative target
ratio (and gamma = 0), the
achieved tail index of the transformed norms (x, each run's median over its steps; log axis)
against test accuracy, loss generalization gap, ECE and the top Hessian eigenvalue (four
panels).  A point per ratio, labelled by the ratio: x = the median over seeds with a bar from
the lowest to the highest seed (one seed's index can be far off: an interval on a log axis
would be unreadable), y = the mean over seeds with its 95% t-interval; the seeds themselves as
faint dots.  Tiny scale (``RESULTS/experiments``, circles) and small scale
(``paper/measured/small``, squares) when measured.  A placeholder figure when neither has the
preset.
"""
import pathlib
import statistics
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import common as C  # noqa: E402
import num_controller as N  # noqa: E402

PANELS = N.DOSE_METRICS[1:]
MARKERS = {"Tiny": "o", "Small": "s"}
COLORS = {"Tiny": "#d62728", "Small": "#1f77b4"}


def main(argv=None):
    a = C.parse_args(__doc__, argv)
    groups = {s: [r for r in recs if r["preset"] in N.dose_sets()]
              for s, recs in N.records(a).items()}
    groups = {s: rs for s, rs in groups.items() if rs}
    presets = [p for p in N.dose_sets() if any(r["preset"] == p for rs in groups.values()
                                                for r in rs)]
    if not presets:
        C.placeholder_figure(a.out, "dose-response: " + C.NO_RESULTS)
        C.report(a.out, "dose-response not run")
        return
    C.apply_style()
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullFormatter

    fig, axes = plt.subplots(len(presets), len(PANELS), figsize=(7.2, 2.2 * len(presets)),
                             constrained_layout=True, squeeze=False)
    for row, preset in zip(axes, presets):
        data = C.joined(C.get(r, "config.dataset") for rs in groups.values() for r in rs
                        if r["preset"] == preset)
        for scale, srs in groups.items():
            rs = [r for r in srs if r["preset"] == preset]
            for ax, (m, h, _d) in zip(row, PANELS):
                first = True
                for lab in N.dose_labels(rs, preset):
                    runs = [r for r in N.in_preset(rs, preset, lab)
                            if not r["final"].get("diverged")]
                    pts = [(C.get(r, "final.regime.alpha_transformed_median"),
                            C.get(r, "final." + m)) for r in runs]
                    pts = [(px, py) for px, py in pts if px is not None and px > 0 and py is not None]
                    y = N.cell(runs, m)
                    if not pts or y.get("mean") is None:
                        continue
                    xs = sorted(px for px, _ in pts)
                    xm = statistics.median(xs)
                    ax.scatter([px for px, _ in pts], [py for _, py in pts], s=4, alpha=0.3,
                               color=COLORS[scale], lw=0)
                    ax.errorbar(xm, y["mean"], xerr=[[xm - xs[0]], [xs[-1] - xm]],
                                yerr=y.get("half_width") or 0, fmt=MARKERS[scale], ms=3.5,
                                color=COLORS[scale], capsize=1.5, lw=0.8,
                                label=f"{scale.lower()} scale" if first else None)
                    first = False
                    tag = "$\\gamma$=0" if lab == "ahtga_gamma0" else lab.rsplit("_", 1)[1]
                    ax.annotate(tag, (xm, y["mean"]), fontsize=5.5, xytext=(2, 2),
                                textcoords="offset points")
        for ax, (m, h, _d) in zip(row, PANELS):
            ax.set_xscale("log")
            # labelled major ticks at 1-2-5 only: the default minor labels collide
            ax.xaxis.set_major_locator(FixedLocator([0.5, 1, 2, 5, 10, 20, 50, 100]))
            ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:g}"))
            ax.xaxis.set_minor_formatter(NullFormatter())
            ax.set_xlabel("achieved $\\alpha$ (transformed, log)")
            ax.set_ylabel(h.replace("$", "").replace("top Hessian eig.", "top Hessian eigenvalue"))
        row[0].set_title(f"{data} ({preset})", fontsize=7, loc="left")
        row[0].legend(fontsize=6, loc="best")
    st = "; ".join(C.stamp(rs, "dose") for rs in groups.values())
    C.save_figure(fig, a.out, st)
    C.report(a.out, st)


if __name__ == "__main__":
    main()
