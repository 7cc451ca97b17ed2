"""AHTGA's controller during training (``main`` preset, and the target schedules of
``ablate_target``): the per-step estimate alpha_hat of the tail index of the per-example gradient
norms, its EMA alpha, the target alpha*, and the exponent gamma, at each logged step (seed 0, or
the lowest seed present).  Estimates are clamped to ``alpha_clamp`` ((0.1, 50) by default; 5
in runs made before that default): a flat alpha_hat at the clamp means light-tailed norms.  One
panel per variant, shared axes, gamma on the right axis (the same scale in every panel).
"""
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import common as C  # noqa: E402


def series(recs):
    """(label, run) pairs: the lowest-seed run of every AHTGA variant with logged telemetry."""
    out = []
    for preset in ("main", "ablate_target"):
        rs = [r for r in recs if r["preset"] == preset and C.is_ahtga(r["optimizer"])
              and any(v is not None for v in r.get("curves", {}).get("step", {}).get("alpha", []))]
        for lab in sorted({r["optimizer"] for r in rs}, key=C.order_key):
            run = min((r for r in rs if r["optimizer"] == lab), key=lambda r: r["seed"])
            if all(lab != l for l, _ in out):
                out.append((lab, run))
    return out


def main(argv=None):
    a = C.parse_args(__doc__, argv)
    recs = C.experiment_records(a.results)
    sel = series(recs)
    if not sel:
        C.placeholder_figure(a.out, "AHTGA telemetry: " + C.NO_RESULTS)
        C.report(a.out, C.NO_RESULTS)
        return
    C.apply_style()
    import matplotlib.pyplot as plt

    # one panel per variant (small multiples with shared axes): on one axis the variants'
    # curves hide each other, and identical variants would hide plain AHTGA
    ncol = 2 if len(sel) > 1 else 1
    nrow = -(-len(sel) // ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(6.6, 1.75 * nrow + 0.5), sharex=True,
                             sharey=True, constrained_layout=True, squeeze=False)
    gax = []
    for ax, (lab, r) in zip(axes.flat, sel):
        s = r["curves"]["step"]
        st = s["step"]
        ah = [(x, y) for x, y in zip(st, s.get("alpha_hat", [])) if y is not None]
        if ah:
            ax.scatter(*zip(*ah), s=2, color="0.55", alpha=0.5, label="estimate")
        al = [(x, y) for x, y in zip(st, s.get("alpha", [])) if y is not None]
        if al:
            ax.plot(*zip(*al), color="C0", lw=1.2, label="alpha (EMA)")
        ast = [(x, y) for x, y in zip(st, s.get("alpha_star", [])) if y is not None]
        if ast:
            ax.plot(*zip(*ast), color="C0", ls=":", lw=1.2, label="target alpha*")
        g2 = ax.twinx()
        gax.append(g2)
        g = [(x, y) for x, y in zip(st, s.get("gamma", [])) if y is not None]
        if g:
            g2.plot(*zip(*g), color="C3", lw=1.0, label="gamma (right axis)")
        g2.axhline(0, color="C3", lw=0.4, alpha=0.5)
        g2.tick_params(axis="y", colors="C3", labelsize=6)
        ax.set_title(C.display(lab, tex=False), fontsize=7)
    for ax in axes.flat[len(sel):]:
        ax.axis("off")
    lo = min((min(l.get_ydata()) for ga in gax for l in ga.get_lines()[:-1] if len(l.get_ydata())),
             default=-0.1)
    hi = max((max(l.get_ydata()) for ga in gax for l in ga.get_lines()[:-1] if len(l.get_ydata())),
             default=0.1)
    for ga in gax:   # the same gamma scale in every panel
        ga.set_ylim(min(lo, -0.05) * 1.1, max(hi, 0.05) * 1.1)
    for ax in axes[-1]:
        ax.set_xlabel("step")
    for ax in axes[:, 0]:
        ax.set_ylabel("tail index")
    h, l = axes.flat[0].get_legend_handles_labels()
    h2, l2 = gax[0].get_legend_handles_labels()
    fig.legend(h + h2[:1], l + l2[:1], loc="outside lower center", ncol=4, fontsize=7)
    recs_used = [r for _l, r in sel]
    st = C.stamp(recs_used, "AHTGA telemetry")
    C.save_figure(fig, a.out, st)
    C.report(a.out, st)


if __name__ == "__main__":
    main()
