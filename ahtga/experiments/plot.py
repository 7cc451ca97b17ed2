"""``python -m ahtga.experiments plot OUT PRESET``: the curves of a preset in one PNG.

Four panels, one line per optimizer label (the mean over its seeds at each logged point, over
the seeds that logged it): training loss by step (``curves.step.train_loss``), test accuracy by
epoch (``curves.epoch.test_acc``; evaluation epochs only), AHTGA's EMA tail index alpha and its
exponent gamma by step (``curves.step.alpha`` / ``gamma``; AHTGA and its variants only, other
optimizers have none).  Needs matplotlib (the ``research`` extra); no paper build.
"""
from __future__ import annotations

from pathlib import Path

from .aggregate import load_results

__all__ = ["curve_means", "plot_preset"]

PANELS = (("step", "train_loss", "training loss", "step"), ("epoch", "test_acc", "test accuracy", "epoch"),
          ("step", "alpha", "alpha (AHTGA EMA)", "step"), ("step", "gamma", "gamma (AHTGA)", "step"))


def curve_means(results: list[dict], part: str, key: str) -> dict[str, tuple[list, list]]:
    """``{label: (x, mean y)}`` of ``curves[part][key]`` over the seeds of each label (points
    where no seed has a value are dropped; a label without any value is left out)."""
    xkey = "step" if part == "step" else "epoch"
    sums: dict[str, dict] = {}
    for r in results:
        c = (r.get("curves") or {}).get(part) or {}
        for x, y in zip(c.get(xkey, []), c.get(key, [])):
            if y is not None:
                s = sums.setdefault(r["optimizer"], {}).setdefault(x, [0.0, 0])
                s[0] += float(y)
                s[1] += 1
    return {lab: (sorted(pts), [pts[x][0] / pts[x][1] for x in sorted(pts)]) for lab, pts in sums.items()}


def plot_preset(out: str | Path, preset: str, png: str | Path | None = None) -> Path:
    """Draw the preset's curves (module docstring) to ``png`` (default ``OUT/PRESET/curves.png``,
    written to a temporary name and renamed); returns the path."""
    import os

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    results = load_results(out, preset)
    if not results:
        raise FileNotFoundError(f"no result files of preset {preset!r} under {out} "
                                f"(expected {out}/{preset}/<optimizer>/seed<k>.json)")
    png = Path(png) if png else Path(out) / preset / "curves.png"
    order: list[str] = []          # the preset's optimizer order; one colour per label
    for r in results:
        for lab in [*(r.get("config") or {}).get("optimizers", []), r["optimizer"]]:
            if lab not in order:
                order.append(lab)
    cmap = plt.get_cmap("tab20" if len(order) > 10 else "tab10")
    colour = {lab: cmap(i % cmap.N) for i, lab in enumerate(order)}
    fig, axes = plt.subplots(2, 2, figsize=(11, 7.5))
    for ax, (part, key, title, xlabel) in zip(axes.flat, PANELS):
        lines = curve_means(results, part, key)
        for lab in (lab for lab in order if lab in lines):
            x, y = lines[lab]
            ax.plot(x, y, label=lab, lw=1.2, color=colour[lab], marker="o" if part == "epoch" else None,
                    ms=3)
        ax.set_title(title)
        ax.set_xlabel(xlabel)
        if key == "train_loss" and lines and min(min(y) for _, y in lines.values()) > 0:
            ax.set_yscale("log")
        if not lines:
            ax.text(0.5, 0.5, "no values logged", ha="center", va="center", transform=ax.transAxes)
    handles, labels = axes.flat[0].get_legend_handles_labels()
    if handles:
        fig.legend(handles, labels, loc="lower center", ncol=min(6, len(labels)), fontsize=8)
    seeds = sorted({r["seed"] for r in results})
    fig.suptitle(f"{preset}: mean over seeds {seeds}")
    fig.tight_layout(rect=(0, 0.07, 1, 0.96))
    png.parent.mkdir(parents=True, exist_ok=True)
    tmp = png.with_name(f"{png.stem}.{os.getpid()}.tmp.png")
    fig.savefig(tmp, dpi=110)
    plt.close(fig)
    os.replace(tmp, png)
    return png
