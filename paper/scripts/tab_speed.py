"""Cost on the CPU. (a) From the experiment runs: median seconds per training step per
optimizer (``timings.step_s_median``) in the ``main`` preset, mean over seeds, and its ratio to
SGD's (runs were separate processes on a shared machine: indicative only).  (b) From
``paper/measured`` when present: the CPU benchmarks of ``bench/run_all.py`` (per-step cost of
AHTGA's per-example engine relative to an SGD step in the same process; the host-side overhead
proxy of ``bench/bench_overhead.py`` with its operator counts; double-bootstrap and
stable-sampler speed-ups over straightforward references).
"""
import pathlib
import statistics
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import common as C  # noqa: E402
from fig_main_curves import pick_preset  # noqa: E402


def step_times(rs):
    """``{optimizer: (mean median-step seconds over seeds, n seeds)}``."""
    out = {}
    for lab in sorted({r["optimizer"] for r in rs}, key=C.order_key):
        v = [r["timings"]["step_s_median"] for r in rs if r["optimizer"] == lab
             and (r.get("timings") or {}).get("step_s_median")]
        if v:
            out[lab] = (statistics.mean(v), len(v))
    return out


def bench_rows(res: dict) -> list[tuple[str, str]]:
    rows = []
    eng = res.get("bench_engine")
    if eng and eng.get("cases"):
        for case, c in eng["cases"].items():
            r = c.get("ratio_to_sgd", {})
            rows.append((f"engine, {C.tex_escape(case)}: direction / sign / torch.func per step",
                         " / ".join(f"{r[k]:.2f}$\\times$" if k in r else "--"
                                    for k in ("direction", "sign", "reference")) + " SGD"))
    tl = res.get("bench_tail")
    if tl and "ratio" in tl:
        rows.append(("double-bootstrap Hill, $n=10^5$, 500 resamples: speed-up over one-at-a-time",
                     f"{tl['ratio']:.1f}$\\times$ (reference {tl.get('seconds_reference', float('nan')):.2f} s)"))
        if "ratio_grid" in tl:
            rows.append(("\\quad the same, \\texttt{k\\_search=\"grid\"} (coarse-to-fine)",
                         f"{tl['ratio_grid']:.1f}$\\times$ (KS $p$ vs reference: "
                         f"{tl.get('grid_ks_pvalue_alpha', float('nan')):.2f})"))
    ov = (res.get("bench_overhead") or {}).get("methods")
    if ov and "sgd" in ov:
        names = [k for k in ("engine_direction", "engine_sign", "ahtga_direction", "ahtga_sign")
                 if k in ov]
        rows.append(("host-side proxy (ResNet-18-GN, width 4, $8\\times 8$, batch 32, one thread): "
                     "engine direction / sign, AHTGA direction / sign per step",
                     " / ".join(f"{ov[k]['ratio_to_sgd']:.2f}$\\times$" for k in names) + " SGD"))
        rows.append(("\\quad ATen operators per step (kernel-like), same order; SGD",
                     " / ".join(f"{ov[k]['ops']} ({ov[k]['kernel_like_ops']})" for k in names)
                     + f"; {ov['sgd']['ops']} ({ov['sgd']['kernel_like_ops']})"))
        lag = [k for k in ("ahtga_direction_lag", "ahtga_sign_lag") if k in ov]
        if lag:
            rows.append(("\\quad AHTGA with \\texttt{estimate\\_lag=1} (estimate on a background "
                         "thread): direction / sign",
                         " / ".join(f"{ov[k]['ratio_to_sgd']:.2f}$\\times$" for k in lag) + " SGD"))
        lb = (res.get("bench_overhead") or {}).get("lag") or {}
        lm = lb.get("methods") or {}
        if all(k in lm for k in ("ahtga_direction", "ahtga_direction_lag")):
            rows.append((f"\\quad the same at batch {lb.get('batch')}: AHTGA direction, without / "
                         "with the lag",
                         f"{lm['ahtga_direction']['ratio_to_sgd']:.2f}$\\times$ / "
                         f"{lm['ahtga_direction_lag']['ratio_to_sgd']:.2f}$\\times$ SGD"))
    st = res.get("bench_stable")
    if st and "min_ratio_numpy" in st:
        rows.append(("$10^6$ stable draws: speed-up over \\texttt{scipy.stats.levy\\_stable} (numpy / torch, worst case)",
                     f"{st['min_ratio_numpy']:.1f}$\\times$ / {st['min_ratio_torch']:.1f}$\\times$"))
    return rows


def main(argv=None):
    a = C.parse_args(__doc__, argv)
    preset, rs = pick_preset(C.experiment_records(a.results))
    parts, what = [], []
    st = step_times(rs)
    if st:
        base = st.get("sgd", (None, 0))[0]
        L = ["% generated: per-step CPU time of the experiment runs",
             "\\begin{tabular}{lccc}", "\\hline",
             "optimizer & ms per step & $\\times$ SGD & seeds \\\\", "\\hline",
             f"\\multicolumn{{4}}{{l}}{{\\emph{{{C.tex_escape(C.stamp(rs, preset))}}}}} \\\\"]
        for lab, (t, n) in st.items():
            ratio = f"{t / base:.2f}" if base else "--"
            L.append(f"{C.display(lab)} & {1e3 * t:.2f} & {ratio} & {n} \\\\")
        L += ["\\hline", "\\end{tabular}"]
        parts.append("\n".join(L) + "\n")
        what.append(C.stamp(rs, preset))
    else:
        parts.append(C.placeholder_table("per-step time of the runs: " + C.NO_RESULTS))
    res, machines = C.cpu_bench_results(C.measured_files(a.measured)["cpu_bench"])
    rows = bench_rows(res)
    if rows:
        L = ["% generated: CPU benchmarks from paper/measured (bench/run_all.py)",
             "\\begin{tabular}{p{0.62\\linewidth}l}", "\\hline", "benchmark & ratio \\\\", "\\hline"]
        if machines:
            L.append(f"\\multicolumn{{2}}{{p{{0.9\\linewidth}}}}{{\\emph{{{C.tex_escape('; '.join(machines))}}}}} \\\\")
        L += [f"{k} & {v} \\\\" for k, v in rows]
        L += ["\\hline", "\\end{tabular}"]
        parts.append("\n".join(L) + "\n")
        what.append("CPU benchmarks from measured/")
    else:
        parts.append(C.placeholder_table("CPU benchmarks (make bench): not available in paper/measured"))
    C.write_tables(a.out, parts)
    C.report(a.out, "; ".join(what) or C.NO_RESULTS)


if __name__ == "__main__":
    main()
