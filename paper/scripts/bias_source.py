"""Where the paper's bias-atlas outputs come from: the committed full-scale atlas in
``MEASURED/atlas`` (see ``paper/measured/README.md``) when it holds result files, else the
atlas ``make sim`` wrote into ``RESULTS/bias`` (quick scale by default).

``bias_report(args)`` runs ``sim.bias.report.report`` on that folder into a temporary folder and
returns ``(tmpdir, summary)``, or ``(None, None)`` without results (the caller writes a
placeholder), like ``common.bias_report``.
"""
from __future__ import annotations

import json
import pathlib
import tempfile


def atlas_root(args) -> pathlib.Path | None:
    for root in (pathlib.Path(args.measured) / "atlas", pathlib.Path(args.results) / "bias"):
        if root.is_dir() and any(p for p in root.glob("*/*.json") if not p.name.startswith("_")):
            return root
    return None


def bias_report(args):
    root = atlas_root(args)
    if root is None:
        return None, None
    from sim.bias import report as rep

    tmp = tempfile.TemporaryDirectory(prefix="ahtga_bias_")
    rep.report(root, tmp.name)
    summary = json.loads((pathlib.Path(tmp.name) / "bias_atlas_summary.json").read_text())
    return tmp, summary
