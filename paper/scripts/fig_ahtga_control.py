"""AHTGA's controller during training (``main`` preset, and the target schedules of
``ablate_target``): the per-step estimate alpha_hat of the tail index of the per-example gradient
norms, its EMA alpha, the target alpha*, and the exponent gamma, at each logged step (seed 0, or
the lowest seed present).  Estimates are clamped to ``alpha_clamp`` (5 by default): a flat
alpha_hat at the clamp means light-tailed norms.
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

    fig, axes = plt.subplots(1, 2, figsize=(6.6, 3.0), constrained_layout=True)
    for lab, r in sel:
        s = r["curves"]["step"]
        st = s["step"]
        col = C.color(lab)
        name = C.display(lab, tex=False)
        ah = [(x, y) for x, y in zip(st, s.get("alpha_hat", [])) if y is not None]
        if ah:
            axes[0].scatter(*zip(*ah), s=2, color=col, alpha=0.35)
        al = [(x, y) for x, y in zip(st, s.get("alpha", [])) if y is not None]
        if al:
            axes[0].plot(*zip(*al), color=col, label=f"{name}: alpha (EMA)")
        ast = [(x, y) for x, y in zip(st, s.get("alpha_star", [])) if y is not None]
        if ast:
            axes[0].plot(*zip(*ast), color=col, ls=":", lw=1.0)
        g = [(x, y) for x, y in zip(st, s.get("gamma", [])) if y is not None]
        if g:
            axes[1].plot(*zip(*g), color=col, label=name)
    axes[0].set_xlabel("step")
    axes[0].set_ylabel("tail index (dots: per-step estimate;\nline: EMA; dotted: target)")
    axes[1].set_xlabel("step")
    axes[1].set_ylabel("exponent gamma")
    axes[1].axhline(0, color="0.5", lw=0.5)
    h, l = axes[0].get_legend_handles_labels()
    fig.legend(h, l, loc="outside lower center", ncol=min(3, len(l)))
    recs_used = [r for _l, r in sel]
    st = C.stamp(recs_used, "AHTGA telemetry")
    C.save_figure(fig, a.out, st)
    C.report(a.out, st)


if __name__ == "__main__":
    main()
