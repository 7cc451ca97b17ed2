"""The gradient-tail study at a glance (see ``tab_tailgrid.py`` for the sources): one row per
group (scale, data, model).  Left: the tail index at the end of training against lr/batch (log
scale) for the per-example norms, the noise |U| (``hill_lepski``) and the signed noise
(``stable_mmo``); the dotted line is alpha = 2.  Right: the generalization gap (test - train
loss) against the same indices.  Filled markers: no label noise; open: 20% / 40% label noise.
Means over seeds per cell.
"""
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import common as C  # noqa: E402
from tab_tailgrid import analyses  # noqa: E402

SERIES = (("norm_alpha_end", "norms", "#1f77b4", "o"), ("noise_alpha_end", "noise |U|", "#ff7f0e", "s"),
          ("noise_mmo_alpha_end", "noise (stable)", "#2ca02c", "^"))


def _scatter(ax, cells, xkey, ykey, color, marker, label):
    for noisy in (False, True):
        pts = [(c[xkey], c[ykey]) for c in cells if c.get(xkey) is not None
               and c.get(ykey) is not None and bool(c["label_noise"]) == noisy]
        if pts:
            x, y = zip(*pts)
            ax.scatter(x, y, s=12, marker=marker, edgecolors=color,
                       facecolors="none" if noisy else color, linewidths=0.8,
                       label=None if noisy else label)


def main(argv=None):
    a = C.parse_args(__doc__, argv)
    found = analyses(a.results, a.measured)
    if not found:
        C.placeholder_figure(a.out, "gradient-tail study: no results")
        C.report(a.out, "gradient-tail study: no results")
        return
    C.apply_style()
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(found), 2, figsize=(6.4, 2.3 * len(found)), squeeze=False)
    for row, (what, g, gr) in zip(axes, found):
        cells = gr["cells"]
        for key, label, color, marker in SERIES:
            _scatter(row[0], cells, "lr_over_batch", key, color, marker, label)
            _scatter(row[1], cells, key, "gap_loss", color, marker, label)
        row[0].set_xscale("log")
        row[0].axhline(2.0, color="0.4", linestyle=":", linewidth=0.8)
        row[0].set_xlabel("lr / batch")
        row[0].set_ylabel("tail index at the end")
        row[0].set_title(f"{g} ({what})")
        row[1].axvline(2.0, color="0.4", linestyle=":", linewidth=0.8)
        row[1].set_xlabel("tail index at the end")
        row[1].set_ylabel("gap: test - train loss")
        row[0].legend(loc="best")
    fig.tight_layout()
    C.save_figure(fig, a.out, stamp="; ".join(f"{g} ({w})" for w, g, _ in found))
    C.report(a.out, "; ".join(f"{g} ({what})" for what, g, _ in found))


if __name__ == "__main__":
    main()
