r"""Numbers of the theory section: how many machine checks ran and passed.

Reads ``theory_checks.json`` written by ``python -m theory.run_all --out paper/generated``
(``make theory``) beside the output file (the ``generated/`` folder); without it the macros say
the checks were not run.  Macros: ``\TheoryChecksRun``, ``\TheoryChecksFailed``,
``\TheoryChecksSymbolic``, ``\TheoryChecksSimulation``, ``\TheoryChecksSeconds``,
``\TheoryChecksAvailable`` (yes/no), ``\TheoryFailedList``, ``\TheoryChecksDerived``,
``\TheoryChecksCited`` (basis "derivation" / "algebra on a cited premise"); from
``theory_mutations.json`` (``--mutations``): ``\TheoryMutationsRun``, ``\TheoryMutationsCaught``.
"""
import json
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import common as C  # noqa: E402

GENERATED_INPUTS = ("theory_checks.json", "theory_mutations.json")   # read beside the output; scripts/build.py tracks it


def main(argv=None):
    a = C.parse_args(__doc__, argv)
    p = a.out.parent / "theory_checks.json"
    M = C.Macros("paper/scripts/num_theory.py (from generated/theory_checks.json)")
    d = None
    if p.is_file():
        try:
            d = json.loads(p.read_text())
        except ValueError:
            d = None
    if d and isinstance(d.get("checks"), list):
        checks = d["checks"]
        failed = [c["check"] for c in checks if not c.get("passed")]
        M.add("TheoryChecksAvailable", "yes")
        M.add("TheoryChecksRun", len(checks))
        M.add("TheoryChecksFailed", len(failed))
        M.add("TheoryChecksSymbolic", sum(c.get("kind") == "symbolic" for c in checks))
        M.add("TheoryChecksSimulation", sum(c.get("kind") != "symbolic" for c in checks))
        M.add("TheoryChecksSeconds", f"{float(d.get('seconds') or 0):.0f}")
        M.add("TheoryFailedList", ", ".join(f"\\texttt{{{C.tex_escape(f)}}}" for f in failed) or "none")
        M.add("TheoryChecksDerived", sum(c.get("basis") == "derivation" for c in checks))
        M.add("TheoryChecksCited", sum(c.get("basis") == "algebra on a cited premise" for c in checks))
        what = f"{len(checks)} checks, {len(failed)} failed"
    else:
        M.add("TheoryChecksAvailable", "no")
        for n in ("TheoryChecksRun", "TheoryChecksFailed", "TheoryChecksSymbolic",
                  "TheoryChecksSimulation", "TheoryChecksSeconds", "TheoryChecksDerived", "TheoryChecksCited"):
            M.add(n, "n/a")
        M.add("TheoryFailedList", "n/a")
        what = "theory checks not run (make theory)"
    mp = a.out.parent / "theory_mutations.json"
    try:
        md = json.loads(mp.read_text()) if mp.is_file() else None
    except ValueError:
        md = None
    if md and isinstance(md.get("mutations"), list):
        M.add("TheoryMutationsRun", len(md["mutations"]))
        M.add("TheoryMutationsCaught", sum(bool(m.get("caught")) for m in md["mutations"]))
    else:
        M.add("TheoryMutationsRun", "n/a")
        M.add("TheoryMutationsCaught", "n/a")
    C.write_text(a.out, M.text())
    C.report(a.out, what)


if __name__ == "__main__":
    main()
