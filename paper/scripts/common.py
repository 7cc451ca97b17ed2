"""Shared style and helpers of the paper's figure/table/number scripts.

Every script is called by ``paper/Makefile`` as

    $(PY) scripts/<kind>_<name>.py --results RESULTS --measured paper/measured --out OUTFILE

and reads result files only:

* ``RESULTS/experiments/<preset>/<optimizer>/seed<k>.json`` -- the experiments runner's result
  files (``ahtga.experiments.store``); tables over seeds use ``ahtga.experiments.aggregate``
  (mean and the two-sided 95% Student-t interval, ``t_{0.975,n-1} s / sqrt(n)``);
* ``RESULTS/bias/<estimator>/<cell>.json`` -- the estimator bias atlas (``sim.bias``), drawn by
  ``sim.bias.report`` itself (:func:`bias_report`);
* ``paper/generated/theory_checks.json`` -- written by ``python -m theory.run_all``;
* ``paper/measured/**.json`` -- files measured on machines CI does not have, recognised by their
  content (:func:`measured_files`): GPU step benchmarks (``bench/gpu_step.py``), GPU CIFAR-10
  runs (``bench/gpu_cifar.py``, the runner's result format) and CPU benchmark summaries
  (``bench/run_all.py``).

Nothing here fails because a study has no results: scripts draw a placeholder figure or table
that says so, and the number macros say "not available".  Every output is written atomically
(``name.tmp`` then ``os.replace``).  Each figure carries a small stamp naming the scale and the
seeds of the results it was drawn from; the captions quote the same stamp from
``generated/num_experiments.tex`` (``\\StampMain`` and friends).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import pathlib
import re
import sys
import tempfile
import warnings

ROOT = pathlib.Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # `sim` and `ahtga` from the repository, whatever the cwd
    sys.path.insert(0, str(ROOT))

os.environ.setdefault("MPLBACKEND", "Agg")

NA = "not available"
NO_RESULTS = "no results for this study at this scale"

# ----------------------------------------------------------------------------- optimizers
#: display order of the optimizers and the AHTGA variants of the ablations
ORDER = ["sgd", "adam", "clipped_sgd", "normalized_sgd", "tailopt", "tailopt_biclip", "signsgd",
         "signum", "ahtga", "ahtga_sign", "ahtga_source", "ahtga_gmax1", "ahtga_rescaled", "ahtga_sign_raw", "ahtga_exact", "ahtga_gamma0",
         "ahtga_fixed", "ahtga_linear", "ahtga_validation"]
NAMES = {"sgd": "SGD (momentum)", "adam": "Adam", "clipped_sgd": "Clipped SGD",
         "normalized_sgd": "Normalized SGD", "tailopt": "TailOPT (Adam-BiClip)",
         "tailopt_biclip": "TailOPT (BiClip-SGD)", "signsgd": "signSGD", "signum": "Signum",
         "ahtga": "AHTGA", "ahtga_sign": "AHTGA (sign, normalized)",
         "ahtga_sign_raw": "AHTGA (sign, raw)", "ahtga_exact": "AHTGA (exact exponent)",
         "ahtga_gamma0": "AHTGA, $\\gamma=0$", "ahtga_fixed": "AHTGA, fixed $\\alpha^*$",
         "ahtga_linear": "AHTGA, linear $\\alpha^*_t$", "ahtga_validation": "AHTGA, validation $\\alpha^*$",
         "ahtga_source": "AHTGA, source rule (unbounded $\\gamma$)",
         "ahtga_gmax1": "AHTGA, $\\gamma\\le 1$",
         "ahtga_rescaled": "AHTGA, mean-rescaled coefficients",
         "ahtga_clamp50": "AHTGA, clamp $[0.1, 50]$",
         "ahtga_clamp5": "AHTGA, earlier clamp $[0.1, 5]$",
         "ahtga_abs15": "AHTGA, absolute $\\alpha^*=1.5$",
         "ahtga_clamp50_gamma_matched": "AHTGA, clamp $[0.1, 50]$, $\\gamma$ fixed at its mean"}
_BASE_COLORS = {"sgd": "#1f77b4", "adam": "#ff7f0e", "clipped_sgd": "#2ca02c",
                "normalized_sgd": "#9467bd", "tailopt": "#8c564b", "tailopt_biclip": "#bcbd22",
                "signsgd": "#7f7f7f", "signum": "#17becf", "ahtga": "#d62728",
                "ahtga_sign": "#e377c2"}
_EXTRA = ["#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173", "#3182bd", "#e6550d", "#31a354",
          "#756bb1", "#636363", "#9c9ede", "#cedb9c"]


#: AHTGA's clamp of a single tail-index estimate before ``DEFAULT_ALPHA_CLAMP`` became (0.1, 50)
#: (2026-12-04): results that neither set nor recorded the clamp used it
EARLIER_CLAMP = (0.1, 5.0)


def clamp_of(rec: dict) -> tuple[float, float] | None:
    """The clamp of the single estimate an AHTGA result ran with: its own ``alpha_clamp`` option,
    else the default it recorded (``optimizer_spec.defaults``), else :data:`EARLIER_CLAMP` (files
    written before the defaults were recorded all predate the change); None for other
    optimizers."""
    if not is_ahtga(str(rec.get("optimizer", ""))):
        return None
    spec = rec.get("optimizer_spec") or {}
    for where in (spec.get("kwargs") or {}, spec.get("defaults") or {}):
        if where.get("alpha_clamp") is not None:
            lo, hi = where["alpha_clamp"]
            return float(lo), float(hi)
    return EARLIER_CLAMP


def current_clamp() -> tuple[float, float]:
    """AHTGA's default clamp of a single estimate today (``DEFAULT_ALPHA_CLAMP``), as floats."""
    from ahtga.optim.ahtga import DEFAULT_ALPHA_CLAMP

    lo, hi = DEFAULT_ALPHA_CLAMP
    return float(lo), float(hi)


def clamp_text(clamp) -> str:
    """``$[0.1, 50]$``."""
    return f"$[{clamp[0]:g}, {clamp[1]:g}]$"


def is_ahtga(label: str) -> bool:
    return label == "ahtga" or label.startswith("ahtga_")


def display(label: str, *, tex: bool = True) -> str:
    """Readable name of an optimizer label (TeX unless ``tex=False``)."""
    if label in NAMES:
        s = NAMES[label]
    else:
        m = re.fullmatch(r"ahtga_(c1|c2)_(.+)", label)
        b = re.fullmatch(r"ahtga_b2_(.+)", label)
        e = re.fullmatch(r"ahtga_est_(.+)", label)
        if m:
            s = f"AHTGA, $c_{m.group(1)[1]}={m.group(2)}$"
        elif b:
            s = f"AHTGA, $\\beta_2={b.group(1)}$"
        elif e:
            s = f"AHTGA, estimator \\texttt{{{tex_escape(e.group(1))}}}"
        else:
            s = f"\\texttt{{{tex_escape(label)}}}"
    if not tex:
        s = (s.replace("\\texttt{", "").replace("}", "").replace("{", "").replace("$", "")
             .replace("\\_", "_").replace("\\gamma", "gamma").replace("\\alpha", "alpha")
             .replace("\\beta", "beta").replace("^*", "*").replace("\\le", "<="))
    return s


def color(label: str) -> str:
    if label in _BASE_COLORS:
        return _BASE_COLORS[label]
    return _EXTRA[sum(map(ord, label)) % len(_EXTRA)]


def order_key(label: str):
    return (ORDER.index(label) if label in ORDER else len(ORDER), label)


# ----------------------------------------------------------------------------- arguments, style
def parse_args(doc: str | None = None, argv=None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=(doc or "").split("\n")[0])
    ap.add_argument("--results", type=pathlib.Path, required=True,
                    help="results folder (experiments/ and bias/ inside)")
    ap.add_argument("--measured", type=pathlib.Path, required=True,
                    help="folder of files measured elsewhere (may be empty or missing)")
    ap.add_argument("--out", type=pathlib.Path, required=True, help="output file")
    return ap.parse_args(argv)


def apply_style() -> None:
    """The shared matplotlib style: small serif text that matches the paper, thin lines."""
    import matplotlib

    matplotlib.use("Agg")
    matplotlib.rcParams.update({
        "font.family": "serif", "font.size": 8, "axes.titlesize": 8, "axes.labelsize": 8,
        "legend.fontsize": 6.5, "xtick.labelsize": 7, "ytick.labelsize": 7,
        "lines.linewidth": 1.2, "lines.markersize": 3, "axes.linewidth": 0.6,
        "axes.spines.top": False, "axes.spines.right": False, "legend.frameon": False,
        "figure.dpi": 100, "savefig.bbox": "tight", "savefig.pad_inches": 0.02,
        "pdf.fonttype": 42, "axes.grid": True, "grid.linewidth": 0.3, "grid.alpha": 0.5,
    })


# ----------------------------------------------------------------------------- atomic writes
def write_text(path, text: str) -> pathlib.Path:
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)
    return path


def save_figure(fig, path, stamp: str | None = None) -> pathlib.Path:
    """Stamp the figure (above its top right corner, grey) with the scale it came from; write it
    atomically."""
    import matplotlib.pyplot as plt

    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if stamp:
        fig.text(0.995, 1.0, stamp, ha="right", va="bottom", fontsize=5, color="0.45")
    tmp = path.with_name(path.name + ".tmp")
    fig.savefig(tmp, format=path.suffix.lstrip(".") or "pdf", metadata={"CreationDate": None}
                if path.suffix == ".pdf" else None)
    plt.close(fig)
    os.replace(tmp, path)
    return path


def placeholder_figure(path, message: str = NO_RESULTS, *, width=4.0, height=1.2) -> pathlib.Path:
    """A small figure whose only content is ``message``."""
    apply_style()
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(width, height))
    fig.text(0.5, 0.5, message, ha="center", va="center", fontsize=9, wrap=True)
    return save_figure(fig, path)


def placeholder_table(message: str = NO_RESULTS) -> str:
    return f"% generated placeholder\n\\begin{{tabular}}{{l}}\\hline\n\\emph{{{tex_escape(message)}}} \\\\\n\\hline\n\\end{{tabular}}\n"


def report(out, what: str) -> None:
    """One line per output on stdout: what it was built from (``make figures`` shows these)."""
    print(f"{pathlib.Path(out).name}: {what}", flush=True)


# ----------------------------------------------------------------------------- TeX
_TEX_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#",
                "_": r"\_", "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}",
                "^": r"\textasciicircum{}"}
_DIGITS = ["Zero", "One", "Two", "Three", "Four", "Five", "Six", "Seven", "Eight", "Nine"]
MACRO_RE = re.compile(r"^[A-Za-z]+$")


def tex_escape(s: str) -> str:
    return "".join(_TEX_SPECIAL.get(ch, ch) for ch in str(s))


def camel(*parts) -> str:
    """Letters-only CamelCase of ``parts`` (digits spelt out, '.' -> Point): a valid macro name."""
    out = []
    for p in parts:
        for tok in re.split(r"[^A-Za-z0-9.]+", str(p)):
            if not tok:
                continue
            tok = "".join("Point" if ch == "." else _DIGITS[int(ch)] if ch.isdigit() else ch for ch in tok)
            out.append(tok[0].upper() + tok[1:])
    return "".join(out)


def newcommand(name: str, value) -> str:
    if not MACRO_RE.match(name):
        raise ValueError(f"`name` must be letters only (a TeX macro name); got name={name!r}")
    return f"\\newcommand{{\\{name}}}{{{value}}}"


class Macros:
    """An ordered set of ``\\newcommand`` lines; a name defined twice is an error."""

    def __init__(self, header: str):
        self.lines = [f"% generated by {header}; do not edit"]
        self.names: set[str] = set()

    def add(self, name: str, value) -> None:
        if name in self.names:
            raise ValueError(f"macro \\{name} defined twice")
        self.names.add(name)
        self.lines.append(newcommand(name, value))

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


def fmt(v, nd=3, *, sign=False) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "--"
    return f"{v:+.{nd}f}" if sign else f"{v:.{nd}f}"


def fmt_ci(cell: dict | None, nd: int = 3, *, math_mode: bool = True, scale: float = 1.0) -> str:
    """``mean ± half-width`` of an aggregate cell (``--`` when empty, the mean alone for n = 1)."""
    if not cell or cell.get("mean") is None:
        return "--"
    m = cell["mean"] * scale
    hw = cell.get("half_width")
    if hw is None:
        s = num(m, nd, math_mode=math_mode)
    else:
        pm = " \\pm " if math_mode else " ± "
        s = num(m, nd, math_mode=math_mode) + pm + num(hw * scale, nd, math_mode=math_mode)
    return f"${s}$" if math_mode else s


def num(v: float, nd: int = 3, *, math_mode: bool = True) -> str:
    """Fixed point with ``nd`` digits; huge values (a run that blew up) in scientific form."""
    if v is None or not math.isfinite(v):
        return "--"
    if abs(v) >= 1e4:
        e = int(math.floor(math.log10(abs(v))))
        return (f"{v / 10 ** e:.1f}\\times 10^{{{e}}}" if math_mode else f"{v:.1e}")
    return f"{v:.{nd}f}"


# ----------------------------------------------------------------------------- experiments
def experiment_records(results) -> list[dict]:
    """Every finished run under ``RESULTS/experiments`` (unreadable files are skipped with a
    warning; ``lr_sweep.json`` and checkpoints are not results)."""
    return load_records(pathlib.Path(results) / "experiments")


def load_records(root) -> list[dict]:
    """Runner-format result files ``root/<preset>/<optimizer>/seed<k>.json`` (unreadable files
    are skipped with a warning; ``lr_sweep.json`` and checkpoints are not results)."""
    root = pathlib.Path(root)
    recs = []
    for p in sorted(root.glob("*/*/seed*.json")):
        try:
            r = json.loads(p.read_text())
        except (OSError, ValueError) as err:
            warnings.warn(f"skipping unreadable result file {p}: {err}")
            continue
        if isinstance(r, dict) and "final" in r and "optimizer" in r and "preset" in r:
            recs.append(r)
    return recs


def by_preset(recs: list[dict]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for r in recs:
        out.setdefault(r["preset"], []).append(r)
    return out


def small_records(measured) -> list[dict]:
    """Runner-format result files under ``MEASURED/small/<preset>/<optimizer>/seed<k>.json``
    (the real-data chunks measured on a CPU and stored with the paper)."""
    return load_records(pathlib.Path(measured) / "small")


def small_groups(measured, keep) -> dict[str, list[dict]]:
    """``{preset: records}`` of ``small_records`` for the presets with ``keep(preset, records)``."""
    return {p: rs for p, rs in by_preset(small_records(measured)).items() if keep(p, rs)}


def joined(values, what: str = "?") -> str:
    """The distinct non-null values joined by "/" (numbers in numeric order), or ``what``."""
    vals = {v for v in values if v is not None}
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in vals):
        return "/".join(str(v) for v in sorted(vals)) if vals else what
    return "/".join(sorted({str(v) for v in vals})) if vals else what


def stamps(groups: dict[str, list[dict]]) -> str:
    """``stamp`` of each preset's records, joined by "; "; presets whose records have the same
    stamp share one (``"a, b: small scale (mnist, small_cnn), seeds 0-2"``)."""
    shared: dict[str, list[str]] = {}
    for p, rs in groups.items():
        shared.setdefault(stamp(rs), []).append(p)
    return "; ".join(f"{', '.join(ps)}: {st}" for st, ps in shared.items())


def write_group_tables(out, groups: dict[str, list[dict]], make, *, missing: str,
                       missing_report: str) -> None:
    """The tabulars of each preset, ``make(preset, records)`` (one text or a list of them),
    reported by their stamps; without groups a placeholder table saying ``missing``."""
    if not groups:
        write_tables(out, [placeholder_table(missing)])
        report(out, missing_report)
        return
    parts = []
    for p, rs in groups.items():
        made = make(p, rs)
        parts += [made] if isinstance(made, str) else list(made)
    write_tables(out, parts)
    report(out, stamps(groups))


def write_missing_macros(out, M, names, missing_report: str, *, na=()) -> None:
    """Every macro of ``names`` defined when the measurement is absent: "no" for the one ending
    in ``Available``, ``NA`` for those in ``na``, empty otherwise."""
    for n in names:
        M.add(n, "no" if n.endswith("Available") else NA if n in na else "")
    write_text(out, M.text())
    report(out, missing_report)


def study_of(preset: str) -> str:
    """The study a preset belongs to (``ahtga.experiments.presets``), else guessed from its name."""
    try:
        from ahtga.experiments.presets import PRESETS

        if preset in PRESETS:
            return PRESETS[preset].study
    except ImportError:  # pragma: no cover - the package is always importable here
        pass
    for prefix, study in (("noise_", "robustness"), ("ablate_", "ablation"), ("lowdata", "lowdata"),
                          ("dynamics", "dynamics")):
        if preset.startswith(prefix):
            return study
    return "main"


def aggregate(recs: list[dict], preset: str, metrics) -> dict[str, dict[str, dict]]:
    """``ahtga.experiments.aggregate.aggregate`` over the given records, optimizers in display
    order: ``{optimizer: {metric: {n, mean, std, half_width, lo, hi, seeds, missing, diverged}}}``."""
    from ahtga.experiments.aggregate import aggregate as _agg

    tab = _agg(None, preset, tuple(metrics), results=recs)
    return {k: tab[k] for k in sorted(tab, key=order_key)}


def seeds_text(recs: list[dict]) -> str:
    seeds = sorted({int(r["seed"]) for r in recs})
    if not seeds:
        return "no seeds"
    if seeds == list(range(seeds[0], seeds[-1] + 1)) and len(seeds) > 2:
        return f"seeds {seeds[0]}-{seeds[-1]}"
    return ("seed " if len(seeds) == 1 else "seeds ") + ",".join(map(str, seeds))


def dataset_text(recs: list[dict]) -> str:
    ds = sorted({r.get("config", {}).get("dataset", "?") for r in recs})
    models = sorted({r.get("config", {}).get("model", "?") for r in recs})
    return f"{'+'.join(ds)}, {'+'.join(models)}"


def scale_text(recs: list[dict]) -> str:
    sc = sorted({str(r.get("scale", r.get("config", {}).get("scale", "?"))) for r in recs})
    return "+".join(sc) if sc else "none"


def stamp(recs: list[dict], what: str = "") -> str:
    """``"<what>: tiny scale (digits, mlp), seeds 0-2"``: where a figure's numbers came from."""
    if not recs:
        return f"{what + ': ' if what else ''}{NO_RESULTS}"
    return (f"{what + ': ' if what else ''}{scale_text(recs)} scale ({dataset_text(recs)}), "
            f"{seeds_text(recs)}")


def jpeg_note(recs: list[dict]) -> bool:
    """True when any run used the JPEG re-encoded CIFAR-10 copy (recorded in ``data.notes``)."""
    for r in recs:
        if r.get("config", {}).get("dataset", "").startswith("cifar10"):
            return True
        if any("JPEG" in str(n) for n in (r.get("data") or {}).get("notes", [])):
            return True
    return False


def ranking(table: dict[str, dict[str, dict]], metric: str, *, higher: bool = True) -> list[str]:
    """Optimizers with a mean for ``metric``, best first."""
    labs = [k for k, v in table.items() if v.get(metric, {}).get("mean") is not None]
    return sorted(labs, key=lambda k: (-1 if higher else 1) * table[k][metric]["mean"])


def overlaps(a: dict, b: dict) -> bool | None:
    """Do the two 95% intervals overlap?  ``None`` when either has fewer than two seeds."""
    if a.get("lo") is None or b.get("lo") is None:
        return None
    return not (a["hi"] < b["lo"] or b["hi"] < a["lo"])


def comparison_sentence(table, metric: str, metric_text: str, *, higher: bool = True,
                        nd: int = 3, ahtga: str = "ahtga", scale: float = 1.0) -> str:
    """A plain sentence on where AHTGA stands for ``metric``: its rank, the best optimizer, their
    means with 95% intervals, and whether the intervals overlap (a separation of the means is not
    claimed when they do)."""
    rank = ranking(table, metric, higher=higher)
    if not rank:
        return f"{metric_text}: {NO_RESULTS}."
    best = rank[0]
    b = table[best][metric]
    if ahtga not in rank:
        return (f"By {metric_text} the best optimizer is {display(best)} "
                f"({fmt_ci(b, nd, scale=scale)}); AHTGA has no result here.")
    a = table[ahtga][metric]
    pos = rank.index(ahtga) + 1
    if best == ahtga:
        second = rank[1] if len(rank) > 1 else None
        if second is None:
            return f"AHTGA is the only optimizer with a {metric_text} here ({fmt_ci(a, nd, scale=scale)})."
        o = overlaps(a, table[second][metric])
        tail = ("" if o is None else
                "; the 95\\% intervals overlap, so the data do not separate them" if o else
                "; the 95\\% intervals do not overlap")
        return (f"AHTGA has the best mean {metric_text} ({fmt_ci(a, nd, scale=scale)}) of "
                f"{len(rank)} optimizers; next is {display(second)} "
                f"({fmt_ci(table[second][metric], nd, scale=scale)}){tail}.")
    o = overlaps(a, b)
    tail = ("" if o is None else
            "; the 95\\% intervals overlap, so the data do not separate them" if o else
            f"; the 95\\% intervals do not overlap: AHTGA does not match {display(best)} here")
    return (f"AHTGA ranks {pos} of {len(rank)} by mean {metric_text} "
            f"({fmt_ci(a, nd, scale=scale)}); the best is {display(best)} "
            f"({fmt_ci(b, nd, scale=scale)}){tail}.")


def get(d, dotted: str):
    for part in dotted.split("."):
        if not isinstance(d, dict) or part not in d:
            return None
        d = d[part]
    return d


def curve_band(recs: list[dict], xkey_path: str, ykey_path: str):
    """Mean and min/max over seeds of a per-epoch/per-step curve, on the x points all seeds share.

    ``xkey_path``/``ykey_path`` are dotted paths into ``curves`` (e.g. ``epoch.epoch`` and
    ``epoch.test_acc``).  Returns ``(x, mean, lo, hi)`` as lists (empty when nothing to draw)."""
    import numpy as np

    series = []
    for r in recs:
        xs, ys = get(r.get("curves", {}), xkey_path), get(r.get("curves", {}), ykey_path)
        if not xs or not ys:
            continue
        series.append({x: y for x, y in zip(xs, ys) if y is not None and math.isfinite(y)})
    if not series:
        return [], [], [], []
    common = sorted(set.intersection(*(set(s) for s in series)))
    if not common:
        return [], [], [], []
    Y = np.array([[s[x] for x in common] for s in series], dtype=float)
    return common, Y.mean(0).tolist(), Y.min(0).tolist(), Y.max(0).tolist()


def tail_curve(recs: list[dict]):
    """Tail-monitor curve (``curves.tail``: step, alpha) as a band over seeds."""
    import numpy as np

    series = []
    for r in recs:
        pts = {t["step"]: t["alpha"] for t in r.get("curves", {}).get("tail", [])
               if t.get("alpha") is not None and math.isfinite(t["alpha"])}
        if pts:
            series.append(pts)
    if not series:
        return [], [], [], []
    common = sorted(set.intersection(*(set(s) for s in series)))
    if not common:
        return [], [], [], []
    Y = np.array([[s[x] for x in common] for s in series], dtype=float)
    return common, Y.mean(0).tolist(), Y.min(0).tolist(), Y.max(0).tolist()


# ----------------------------------------------------------------------------- measured files
def measured_files(measured) -> dict[str, list]:
    """Files under ``measured`` (recursively), sorted by kind from their content:

    * ``gpu_step``: ``bench/gpu_step.py`` output (``device``, ``targets``, ``results``);
    * ``gpu_runs``: runner-format result files (``preset``, ``optimizer``, ``final``) whose
      ``hardware.device`` is CUDA, e.g. from ``bench/gpu_cifar.py``;
    * ``cpu_runs``: runner-format result files measured on a CPU (e.g. ``measured/small/``);
    * ``cpu_bench``: ``bench/run_all.py`` summaries (``results`` holding ``bench_*`` entries) or
      one ``bench_<name>.json`` (wrapped as ``{"machine": None, "results": {"bench_<name>": ...}}``).
    Each entry is ``(path, dict)``; unreadable or unrecognised files are listed in ``other``.
    Files under a folder named ``superseded`` (earlier measurements kept for the record, see
    ``paper/measured/README.md``) are not read."""
    out = {"gpu_step": [], "gpu_runs": [], "cpu_runs": [], "cpu_bench": [], "other": []}
    root = pathlib.Path(measured)
    if not root.is_dir():
        return out
    for p in sorted(root.rglob("*.json")):
        if "superseded" in p.relative_to(root).parts:
            continue
        try:
            d = json.loads(p.read_text())
        except (OSError, ValueError):
            out["other"].append((p, None))
            continue
        if not isinstance(d, dict):
            out["other"].append((p, d))
        elif "targets" in d and "results" in d and "device" in d:
            out["gpu_step"].append((p, d))
        elif "final" in d and "preset" in d and "optimizer" in d:
            dev = str((d.get("hardware") or {}).get("device", ""))
            out["gpu_runs" if dev.startswith("cuda") else "cpu_runs"].append((p, d))
        elif isinstance(d.get("results"), dict) and any(str(k).startswith("bench_") for k in d["results"]):
            out["cpu_bench"].append((p, d))
        elif p.stem.startswith("bench_"):  # one benchmark's own file (bench/out/bench_*.json)
            out["cpu_bench"].append((p, {"machine": None, "results": {p.stem: d}}))
        else:
            out["other"].append((p, d))
    return out


# ----------------------------------------------------------------------------- bias atlas
def bias_report(results):
    """Run ``sim.bias.report.report`` on ``RESULTS/bias`` into a temporary folder and return
    ``(tmpdir, summary)``; ``(None, None)`` when there are no atlas results.  The caller copies
    the output it needs (``fig_bias_atlas.pdf``, ``tab_bias_atlas.tex``, ``bias_numbers.tex``)."""
    root = pathlib.Path(results) / "bias"
    if not root.is_dir() or not any(p for p in root.glob("*/*.json") if not p.name.startswith("_")):
        return None, None
    from sim.bias import report as rep

    tmp = tempfile.TemporaryDirectory(prefix="ahtga_bias_")
    rep.report(root, tmp.name)
    summary = json.loads((pathlib.Path(tmp.name) / "bias_atlas_summary.json").read_text())
    return tmp, summary


def bias_stamp(summary: dict | None) -> str:
    if not summary:
        return f"bias atlas: {NO_RESULTS}"
    return (f"bias atlas: {summary['scale']} scale, {summary['reps']} replications per cell, "
            f"{summary['n_cells']} cells")


def copy_atomic(src, dst) -> pathlib.Path:
    dst = pathlib.Path(dst)
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(dst.name + ".tmp")
    tmp.write_bytes(pathlib.Path(src).read_bytes())
    os.replace(tmp, dst)
    return dst


# ----------------------------------------------------------------------------- tables
def bold_if(cell: str, best: bool) -> str:
    """A formatted ``$mean \\pm hw$`` cell in bold when ``best`` (and not ``--``)."""
    if not best or cell == "--":
        return cell
    return "$\\mathbf{" + cell.strip("$").replace("\\pm", "}\\pm\\mathbf{") + "}$"


def runs_cell(cells: dict) -> str:
    """The "seeds" cell of a table row: runs counted (finished, missing, diverged) and diverged."""
    first = next(iter(cells.values())) if cells else {}
    n = len(first.get("seeds", [])) + first.get("missing", 0) + first.get("diverged", 0)
    dv = first.get("diverged", 0)
    return f"{n}" + (f" ({dv} div.)" if dv else "")


def ci_tabular(blocks, columns, *, caption_note: str = "") -> str:
    """A ``tabular`` of ``mean ± 95% half-width`` cells, one row per optimizer.

    ``blocks``: ``[(title, table), ...]`` with ``table`` from :func:`aggregate`;
    ``columns``: ``[(metric, header, digits, higher_is_better or None, scale), ...]``.
    The best mean of each column in each block is bold (no bold when ``higher`` is None); the
    last column gives the number of seeds (and diverged runs, if any).  ``--``: not measured."""
    ncol = len(columns) + 2
    L = [f"% generated table: mean $\\pm$ 95% t-interval half-width over seeds{caption_note}",
         "\\begin{tabular}{l" + "c" * len(columns) + "c}", "\\hline",
         "optimizer & " + " & ".join(h for _m, h, _d, _hb, _s in columns) + " & seeds \\\\", "\\hline"]
    for title, table in blocks:
        if title:
            L.append(f"\\multicolumn{{{ncol}}}{{l}}{{\\emph{{{title}}}}} \\\\")
        if not table:
            L.append(f"\\multicolumn{{{ncol}}}{{l}}{{\\quad {NO_RESULTS}}} \\\\")
            continue
        best = {}
        for m, _h, _d, hb, _s in columns:
            if hb is not None:
                r = ranking(table, m, higher=hb)
                if len(r) > 1:
                    best[m] = r[0]
        for lab, cells in table.items():
            row = [display(lab)]
            for m, _h, d, _hb, sc in columns:
                row.append(bold_if(fmt_ci(cells.get(m), d, scale=sc), best.get(m) == lab))
            row.append(runs_cell(cells))
            L.append(" & ".join(row) + " \\\\")
        L.append("\\hline")
    L.append("\\end{tabular}")
    return "\n".join(L) + "\n"


def cpu_bench_results(found) -> tuple[dict, list[str]]:
    """Merge the CPU benchmark files: ``({bench_name: result}, [machine descriptions])``; a later
    file (path order) wins for the same benchmark."""
    merged, machines = {}, []
    for _p, d in found:
        merged.update(d.get("results") or {})
        if d.get("machine"):
            machines.append(f"{d['machine']} ({d.get('processor') or '?'}, {d.get('threads', '?')} threads)")
    return merged, sorted(set(machines))


def write_tables(path, parts) -> pathlib.Path:
    """Write one or more ``tabular`` texts, each shrunk to the line width when wider
    (``adjustbox``'s ``max width``; the paper loads the package), separated by a small skip."""
    boxed = [f"\\begin{{adjustbox}}{{max width=\\linewidth}}\n{p.rstrip()}\n\\end{{adjustbox}}\n"
             for p in parts]
    return write_text(path, "\n\\medskip\n".join(boxed))
