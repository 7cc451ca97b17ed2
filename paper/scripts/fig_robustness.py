"""Label-noise robustness: test accuracy (clean test labels) against the fraction of corrupted
training labels (0 = the ``main`` runs), symmetric and asymmetric noise in two panels; mean over
seeds with 95% t-interval error bars.
"""
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import common as C  # noqa: E402


def main(argv=None):
    a = C.parse_args(__doc__, argv)
    recs = C.experiment_records(a.results)
    groups = C.by_preset(recs)
    kinds = {"symmetric": [("main", 0.0), ("noise_sym20", 0.2), ("noise_sym40", 0.4)],
             "asymmetric": [("main", 0.0), ("noise_asym20", 0.2), ("noise_asym40", 0.4)]}
    if not any(p in groups for p in ("noise_sym20", "noise_sym40", "noise_asym20", "noise_asym40")):
        C.placeholder_figure(a.out, "label-noise robustness: " + C.NO_RESULTS)
        C.report(a.out, C.NO_RESULTS)
        return
    C.apply_style()
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(6.6, 2.8), sharey=True, constrained_layout=True)
    used = []
    noise_labs = {r["optimizer"] for p in groups if p.startswith("noise_") for r in groups[p]}
    for ax, (kind, pts) in zip(axes, kinds.items()):
        tabs = {p: C.aggregate(groups[p], p, ["test_acc"]) for p, _r in pts if p in groups}
        for j, lab in enumerate(sorted(noise_labs, key=C.order_key)):
            xs, ms, hw = [], [], []
            for p, rate in pts:
                c = tabs.get(p, {}).get(lab, {}).get("test_acc")
                if c and c.get("mean") is not None:
                    xs.append(rate + 0.006 * (j - len(noise_labs) / 2))
                    ms.append(c["mean"])
                    hw.append(c["half_width"] or 0.0)
            if xs:
                ax.errorbar(xs, ms, yerr=hw, color=C.color(lab), marker="o", capsize=2,
                            label=C.display(lab, tex=False), lw=1.5 if lab == "ahtga" else 0.9)
        used += [r for p, _r in pts if p in groups and p != "main" for r in groups[p]]
        ax.set_title(f"{kind} label noise")
        ax.set_xlabel("fraction of training labels corrupted")
        ax.set_xticks([0, 0.2, 0.4])
    axes[0].set_ylabel("test accuracy")
    axes[0].set_ylim(0, 1.02)  # 95% intervals over few seeds can leave [0, 1]: clipped at the axes
    h, l = axes[0].get_legend_handles_labels()
    fig.legend(h, l, loc="outside lower center", ncol=min(5, len(l)))
    st = C.stamp(used, "label noise")
    C.save_figure(fig, a.out, st)
    C.report(a.out, st)


if __name__ == "__main__":
    main()
