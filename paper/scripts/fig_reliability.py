"""Reliability diagrams of the main comparison (test set, 15 equal-width confidence bins):
accuracy against mean confidence per bin, pooled over seeds (bin counts summed), one panel per
optimizer of the ``main`` preset; the ECE in each title is the mean over seeds.
"""
import pathlib
import sys
import textwrap

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import common as C  # noqa: E402
from fig_main_curves import pick_preset  # noqa: E402


def pooled(runs):
    """Bin-wise pooled accuracy and confidence (count-weighted over seeds)."""
    acc, conf, cnt = {}, {}, {}
    for r in runs:
        rel = (r.get("final") or {}).get("reliability")
        if not rel:
            continue
        for i, c in enumerate(rel["count"]):
            if c and rel["accuracy"][i] is not None:
                cnt[i] = cnt.get(i, 0) + c
                acc[i] = acc.get(i, 0.0) + c * rel["accuracy"][i]
                conf[i] = conf.get(i, 0.0) + c * rel["confidence"][i]
    bins = sorted(cnt)
    return [conf[i] / cnt[i] for i in bins], [acc[i] / cnt[i] for i in bins], [cnt[i] for i in bins]


def main(argv=None):
    a = C.parse_args(__doc__, argv)
    preset, rs = pick_preset(C.experiment_records(a.results))
    rs = [r for r in rs if (r.get("final") or {}).get("reliability")]
    if not rs:
        C.placeholder_figure(a.out, "reliability diagrams: " + C.NO_RESULTS)
        C.report(a.out, C.NO_RESULTS)
        return
    C.apply_style()
    import matplotlib.pyplot as plt

    labs = sorted({r["optimizer"] for r in rs}, key=C.order_key)
    ncol = min(5, len(labs))
    nrow = -(-len(labs) // ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(1.45 * ncol, 1.55 * nrow), squeeze=False,
                             sharex=True, sharey=True, constrained_layout=True)
    for ax in axes.flat:
        ax.set_visible(False)
    tab = C.aggregate(rs, preset, ["ece"])
    for ax, lab in zip(axes.flat, labs):
        ax.set_visible(True)
        conf, acc, cnt = pooled([r for r in rs if r["optimizer"] == lab])
        ax.plot([0, 1], [0, 1], color="0.6", lw=0.6)
        ax.scatter(conf, acc, s=[4 + 40 * c / max(cnt) for c in cnt] if cnt else 4, color=C.color(lab))
        ax.plot(conf, acc, color=C.color(lab), lw=0.8)
        e = tab.get(lab, {}).get("ece", {})
        name = textwrap.shorten(C.display(lab, tex=False), width=22, placeholder="...")
        ax.set_title(f"{name}\nECE {C.num(e.get('mean'), 3, math_mode=False)}",
                     fontsize=6.5)
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
    for ax in axes[-1]:
        ax.set_xlabel("confidence")
    for ax in axes[:, 0]:
        ax.set_ylabel("accuracy")
    st = C.stamp(rs, preset)
    C.save_figure(fig, a.out, st)
    C.report(a.out, st)


if __name__ == "__main__":
    main()
