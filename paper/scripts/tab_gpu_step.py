"""GPU step cost (``bench/gpu_step.py``, from ``paper/measured``): ResNet-18 with GroupNorm on
CIFAR-shaped random batches, median milliseconds per full training step after warm-up (CUDA
events), its ratio to SGD in the same process, and peak memory and its ratio; the GPU named.
A placeholder saying the measurement is not available when no such file is present.
"""
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import common as C  # noqa: E402

NAMES = {"sgd": "SGD (momentum)", "reference": "torch.func per-example gradients + direction transform",
         "engine_direction": "engine: norms + direction-preserving gradient",
         "engine_sign": "engine: sign form (streamed)",
         "ahtga_direction": "AHTGA optimizer, direction form",
         "ahtga_sign": "AHTGA optimizer, sign form",
         "ahtga_direction_devest": "AHTGA optimizer, direction form, tail estimate on the GPU",
         "ahtga_direction_lag": "AHTGA optimizer, direction form, estimate_lag=1",
         "ahtga_sign_lag": "AHTGA optimizer, sign form, estimate_lag=1",
         "engine_direction_grouped": "engine: direction-preserving, grouped convolutions",
         "engine_sign_grouped": "engine: sign form, grouped convolutions",
         "engine_direction_nostream": "engine: direction-preserving, not streamed",
         "sgd_graph": "SGD, whole step in one CUDA graph",
         "engine_direction_graph": "engine direction-preserving step in one CUDA graph",
         "engine_sign_graph": "engine sign-form step in one CUDA graph"}


def main(argv=None):
    a = C.parse_args(__doc__, argv)
    found = C.measured_files(a.measured)["gpu_step"]
    if not found:
        C.write_tables(a.out, [C.placeholder_table("GPU step benchmark: measurement not available")])
        C.report(a.out, "GPU step benchmark not available")
        return
    parts = []
    for p, d in found:
        cfg = d.get("config", {})
        L = [f"% generated from paper/measured/{C.tex_escape(str(p.relative_to(a.measured)))} (bench/gpu_step.py)",
             "\\begin{tabular}{lcccc}", "\\hline",
             "method & ms/step & $\\times$ SGD & peak MiB & memory $\\times$ SGD \\\\", "\\hline",
             f"\\multicolumn{{5}}{{l}}{{\\emph{{{C.tex_escape(str(d.get('device')))}; batch "
             f"{cfg.get('batch', '?')}, median of {cfg.get('steps', '?')} steps}}}} \\\\"]
        for name, r in d.get("results", {}).items():
            label = C.tex_escape(NAMES.get(name, name))
            if "error" in r:
                L.append(f"{label} & \\multicolumn{{4}}{{l}}{{failed: {C.tex_escape(r['error'][:60])}}} \\\\")
                continue
            mem = f"{r['peak_bytes'] / 2 ** 20:.0f}" if r.get("peak_bytes") else "--"
            L.append(f"{label} & {1e3 * r['median_s']:.1f} & {C.fmt(r.get('time_ratio'), 2)} & {mem} & "
                     f"{C.fmt(r.get('memory_ratio'), 2)} \\\\")
        L += ["\\hline", "\\end{tabular}"]
        parts.append("\n".join(L) + "\n")
    C.write_tables(a.out, parts)
    C.report(a.out, "; ".join(str(d.get("device")) for _p, d in found))


if __name__ == "__main__":
    main()
