r"""Numbers of the speed/memory and GPU paragraphs, from ``paper/measured`` (files measured on
machines CI does not have); each macro says "not available" when its file is absent.

``\GpuStepAvailable`` (yes/no), ``\GpuStepDevice``, ``\GpuDirectionRatio``, ``\GpuSignRatio``,
``\GpuDirectionMemRatio``, ``\GpuReferenceRatio`` (time ratios to SGD in the same process,
``ahtga_*`` methods, falling back to ``engine_*``), ``\GpuStepTorch``,
``\GpuTargetsSentence`` (the file's targets, met or not: :func:`targets_sentence`), and the ratios of
:data:`GPU_EXTRA_ROWS` (the estimate lag, the estimate on the GPU, whole steps in one CUDA graph,
the engine alone); ``\GpuCifarAvailable``, ``\GpuCifarDevice``, ``\GpuCifarSentence`` (one
:func:`gpu_cifar_sentence` per setting of ``tab_gpu_cifar.groups``); ``\CpuBenchAvailable``, ``\CpuEngineWorstDirection`` (worst
direction-preserving ratio to SGD over the CPU cases), ``\CpuTailSpeedup``, ``\CpuTailGridSpeedup``, ``\CpuStableSpeedup``,
``\CpuStableSpeedupThreads``, ``\CpuStableSpeedupTorch``; ``\CpuOverheadAvailable`` (yes/no),
``\CpuOverheadDirection``, ``\CpuOverheadSign`` (AHTGA step over SGD step in the host-side proxy
of ``bench/bench_overhead.py``), ``\CpuOverheadOps``, ``\CpuOverheadSgdOps`` (kernel-like ATen
operators per step of the direction-preserving AHTGA step and of SGD);
``\CpuOverheadLagAvailable`` (yes/no), ``\CpuOverheadDirectionLag``, ``\CpuOverheadSignLag``
(the same ratios with ``estimate_lag=1``), ``\CpuOverheadLagBatch``,
``\CpuOverheadLagBigWithout``, ``\CpuOverheadLagBigWith`` (the direction form without and with
the lag at the larger batch of the proxy's ``lag`` block); ``\CpuCostAvailable`` (yes/no),
``\CpuCostBatch``, ``\CpuCostFlopsDirection``, ``\CpuCostBytesDirection``,
``\CpuCostOpsDirection``, ``\CpuCostMemDirection``, ``\CpuCostBytesSign``,
``\CpuCostMemSign`` (operator-level counts of ``bench/bench_cost.py``, ratios to SGD: matmul
FLOPs, bytes moved, operators, peak live memory of the AHTGA direction step, falling back to
the engine's, and of the engine's sign step); ``\CpuLstmAvailable`` (yes/no),
``\CpuLstmRatio``, ``\CpuLstmGenericRatio`` (AHTGA step over SGD step on the PTB LSTM of
``bench/bench_lstm.py``, with the batched LSTM rule and with the generic fallback),
``\CpuLstmSpeedup``, ``\CpuLstmSgdSeconds``.
"""
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import common as C  # noqa: E402


#: further time ratios of the GPU step benchmark, macro -> ``bench/gpu_step.py`` row
GPU_EXTRA_ROWS = {"GpuDirectionLagRatio": "ahtga_direction_lag",
                  "GpuDirectionDevestRatio": "ahtga_direction_devest",
                  "GpuSgdGraphRatio": "sgd_graph",
                  "GpuDirectionGraphRatio": "engine_direction_graph",
                  "GpuEngineDirectionRatio": "engine_direction"}


#: ``bench/gpu_step.py``'s targets: key -> (what, rows measured against it, result key)
TARGET_ROWS = {"direction_time": ("direction-form time", ("ahtga_direction", "engine_direction"), "time_ratio"),
               "sign_time": ("sign-form time", ("ahtga_sign", "engine_sign"), "time_ratio"),
               "direction_memory": ("direction-form memory", ("ahtga_direction", "engine_direction"),
                                    "memory_ratio")}


def targets_sentence(d: dict) -> str:
    """The benchmark file's own targets (ratios to SGD) against what it measured, met or not."""
    res, parts = d.get("results", {}), []
    for key, target in (d.get("targets") or {}).items():
        what, rows, rkey = TARGET_ROWS.get(key, (key.replace("_", " "), (), ""))
        got = next((res[r][rkey] for r in rows if rkey in res.get(r, {})), None)
        if got is None:
            parts.append(f"{what} at most {target:g} (not measured)")
        else:
            parts.append(f"{what} at most {target:g} times SGD: {got:.2f}, "
                         f"{'met' if got <= target else 'not met'}")
    return ("The benchmark's targets: " + "; ".join(parts) + ".") if parts else ""


def gpu_cifar_sentence(key: tuple, rs: list[dict]) -> str:
    """One setting of the GPU CIFAR-10 comparison: where AHTGA stands, AHTGA minus SGD seed by
    seed, the learning rates and their source, and AHTGA's controller regime in those runs."""
    from num_controller import cell, diff_text, in_preset, paired, share_text
    from tab_gpu_cifar import lr_text

    preset, epochs, n_train = key
    tab = C.aggregate(rs, preset, ["test_acc"])
    s = (f"After {epochs} epochs on {n_train} training images ({C.seeds_text(rs)}; "
         f"{C.tex_escape(lr_text(rs))}): {C.comparison_sentence(tab, 'test_acc', 'test accuracy')}")
    a, b = in_preset(rs, preset, "ahtga"), in_preset(rs, preset, "sgd")
    if a and b:
        s += f" AHTGA minus SGD, seed by seed: {diff_text(paired(a, b, 'test_acc'))}."
    reg = [r for r in a if isinstance(C.get(r, "final.regime"), dict)]
    if reg:
        s += (f" AHTGA's controller in these runs: $\\alpha>\\alpha^*$ in "
              f"{share_text(cell(reg, 'regime.above'))} of steps, $\\alpha<\\alpha^*$ in "
              f"{share_text(cell(reg, 'regime.below'))}, $\\gamma$ at its cap in "
              f"{share_text(cell(reg, 'regime.cap'))}, mean $\\gamma$ "
              f"{C.fmt_ci(cell(reg, 'regime.gamma_mean'), 3)}.")
    return s


def main(argv=None):
    a = C.parse_args(__doc__, argv)
    found = C.measured_files(a.measured)
    M = C.Macros("paper/scripts/num_speed.py (from paper/measured)")
    gs = found["gpu_step"]
    if gs:
        d = gs[-1][1]
        res = d.get("results", {})

        def ratio(names, key="time_ratio"):
            for n in names:
                if key in res.get(n, {}):
                    return f"{res[n][key]:.2f}"
            return C.NA
        M.add("GpuStepAvailable", "yes")
        M.add("GpuStepDevice", C.tex_escape(str(d.get("device"))))
        M.add("GpuDirectionRatio", ratio(["ahtga_direction", "engine_direction"]))
        M.add("GpuSignRatio", ratio(["ahtga_sign", "engine_sign"]))
        M.add("GpuDirectionMemRatio", ratio(["ahtga_direction", "engine_direction"], "memory_ratio"))
        M.add("GpuReferenceRatio", ratio(["reference"]))
        for name, row in GPU_EXTRA_ROWS.items():
            M.add(name, ratio([row]))
        M.add("GpuStepTorch", C.tex_escape(str(d.get("torch", C.NA))))
        M.add("GpuTargetsSentence", targets_sentence(d))
    else:
        M.add("GpuStepAvailable", "no")
        for n in ("GpuStepDevice", "GpuDirectionRatio", "GpuSignRatio", "GpuDirectionMemRatio",
                  "GpuReferenceRatio", *GPU_EXTRA_ROWS, "GpuStepTorch",
                  "GpuTargetsSentence"):
            M.add(n, C.NA)
    runs = [d for _p, d in found["gpu_runs"]]
    if runs:
        from tab_gpu_cifar import device_of, groups
        sents = [gpu_cifar_sentence(key, rs) for key, rs in groups(runs).items()]
        M.add("GpuCifarAvailable", "yes")
        M.add("GpuCifarDevice", C.tex_escape(device_of(runs)))
        M.add("GpuCifarSentence", " ".join(sents))
    else:
        M.add("GpuCifarAvailable", "no")
        M.add("GpuCifarDevice", C.NA)
        M.add("GpuCifarSentence", f"The GPU CIFAR-10 comparison is {C.NA}.")
    res, _machines = C.cpu_bench_results(found["cpu_bench"])
    eng, tl, st = res.get("bench_engine") or {}, res.get("bench_tail") or {}, res.get("bench_stable") or {}
    M.add("CpuBenchAvailable", "yes" if res else "no")
    M.add("CpuEngineWorstDirection", f"{eng['direction_worst_ratio']:.2f}" if "direction_worst_ratio" in eng else C.NA)
    M.add("CpuTailSpeedup", f"{tl['ratio']:.0f}" if "ratio" in tl else C.NA)
    M.add("CpuTailGridSpeedup", f"{tl['ratio_grid']:.0f}" if "ratio_grid" in tl else C.NA)
    M.add("CpuStableSpeedup", f"{st['min_ratio_numpy']:.1f}" if "min_ratio_numpy" in st else C.NA)
    M.add("CpuStableSpeedupThreads", f"{st['min_ratio_numpy_threads']:.1f}"
          if "min_ratio_numpy_threads" in st else C.NA)
    M.add("CpuStableSpeedupTorch", f"{st['min_ratio_torch']:.1f}" if "min_ratio_torch" in st else C.NA)
    ov = (res.get("bench_overhead") or {}).get("methods") or {}
    have = all(k in ov for k in ("sgd", "ahtga_direction", "ahtga_sign"))
    M.add("CpuOverheadAvailable", "yes" if have else "no")
    M.add("CpuOverheadDirection", f"{ov['ahtga_direction']['ratio_to_sgd']:.2f}" if have else C.NA)
    M.add("CpuOverheadSign", f"{ov['ahtga_sign']['ratio_to_sgd']:.2f}" if have else C.NA)
    M.add("CpuOverheadOps", str(ov["ahtga_direction"]["kernel_like_ops"]) if have else C.NA)
    M.add("CpuOverheadSgdOps", str(ov["sgd"]["kernel_like_ops"]) if have else C.NA)
    lag = have and all(k in ov for k in ("ahtga_direction_lag", "ahtga_sign_lag"))
    M.add("CpuOverheadLagAvailable", "yes" if lag else "no")
    M.add("CpuOverheadDirectionLag", f"{ov['ahtga_direction_lag']['ratio_to_sgd']:.2f}" if lag else C.NA)
    M.add("CpuOverheadSignLag", f"{ov['ahtga_sign_lag']['ratio_to_sgd']:.2f}" if lag else C.NA)
    lb = (res.get("bench_overhead") or {}).get("lag") or {}
    lm = lb.get("methods") or {}
    big = all(k in lm for k in ("ahtga_direction", "ahtga_direction_lag"))
    M.add("CpuOverheadLagBatch", str(lb.get("batch")) if big else C.NA)
    M.add("CpuOverheadLagBigWithout", f"{lm['ahtga_direction']['ratio_to_sgd']:.2f}" if big else C.NA)
    M.add("CpuOverheadLagBigWith", f"{lm['ahtga_direction_lag']['ratio_to_sgd']:.2f}" if big else C.NA)
    ls = res.get("bench_lstm") or {}
    have_lstm = all(k in (ls.get("ratio_to_sgd") or {}) for k in ("ahtga", "ahtga_generic"))
    M.add("CpuLstmAvailable", "yes" if have_lstm else "no")
    M.add("CpuLstmRatio", f"{ls['ratio_to_sgd']['ahtga']:.2f}" if have_lstm else C.NA)
    M.add("CpuLstmGenericRatio", f"{ls['ratio_to_sgd']['ahtga_generic']:.2f}" if have_lstm else C.NA)
    M.add("CpuLstmSpeedup", f"{ls['speedup_over_generic']:.1f}" if have_lstm else C.NA)
    M.add("CpuLstmSgdSeconds", f"{ls['seconds']['sgd']:.2f}" if have_lstm else C.NA)
    cost = res.get("bench_cost") or {}
    cres = cost.get("results") or {}
    drow = cres.get("ahtga_direction") or cres.get("engine_direction") or {}
    srow = cres.get("ahtga_sign") or cres.get("engine_sign") or {}
    have_cost = "ratio" in drow and "ratio" in srow

    def cr(row, key):
        return f"{row['ratio'][key]:.2f}" if have_cost else C.NA
    M.add("CpuCostAvailable", "yes" if have_cost else "no")
    M.add("CpuCostBatch", str((cost.get("config") or {}).get("batch")) if have_cost else C.NA)
    M.add("CpuCostFlopsDirection", cr(drow, "matmul_flops"))
    M.add("CpuCostBytesDirection", cr(drow, "bytes_moved"))
    M.add("CpuCostOpsDirection", cr(drow, "ops"))
    M.add("CpuCostMemDirection", cr(drow, "peak_live_bytes"))
    M.add("CpuCostBytesSign", cr(srow, "bytes_moved"))
    M.add("CpuCostMemSign", cr(srow, "peak_live_bytes"))
    C.write_text(a.out, M.text())
    C.report(a.out, f"GPU step {'yes' if gs else 'no'}, GPU runs {len(runs)}, CPU bench {'yes' if res else 'no'}")


if __name__ == "__main__":
    main()
