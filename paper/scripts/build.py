"""Build every figure, table and number of the paper in one process (what ``make figures`` runs).

    python scripts/build.py --results RESULTS --measured MEASURED --gen GENERATED [--only NAME ...]
                            [--force] [--list] [--deps NAME]

The outputs are discovered, as the Makefile's wildcard did: every ``scripts/fig_*.py`` makes
``GEN/fig_*.pdf``, every ``scripts/tab_*.py`` ``GEN/tab_*.tex`` and every ``scripts/num_*.py``
``GEN/num_*.tex``, so a new script is built without editing anything.  Each script is imported once
into this process and its ``main(["--results", R, "--measured", M, "--out", OUT])`` is called, so the
start-up cost (numpy, torch, matplotlib, the package) is paid once instead of once per output.

An output is rebuilt when it is missing or older than any of its dependencies:

* the script itself and, transitively, every sibling script it imports (``common.py``,
  ``fig_main_curves.py``, ...), found by parsing the import statements (also those inside functions);
* the source files of the package modules those scripts import (``ahtga``, ``sim``, ``theory``):
  for ``ahtga.optim`` every ``.py`` under ``ahtga/optim/``, for a module file that file;
* every ``*.json`` under RESULTS and MEASURED;
* the files of ``GEN`` a script names in a module-level ``GENERATED_INPUTS`` tuple (for example
  ``num_theory.py``: ``theory_checks.json``, written by ``make theory``).

A script that raises is reported and the others still run; the exit status is then 1 (outputs are
written atomically by the scripts, so a failure leaves no partial file).  ``--force`` rebuilds
everything; ``--only`` restricts to the named outputs or scripts (``tab_main``, ``tab_main.tex``);
``--deps NAME`` prints the dependency list of one output.
"""
from __future__ import annotations

import argparse
import ast
import importlib.util
import os
import pathlib
import sys
import time
import traceback

SCRIPTS = pathlib.Path(__file__).resolve().parent
ROOT = SCRIPTS.parents[1]
KINDS = {"fig": ".pdf", "tab": ".tex", "num": ".tex"}
PACKAGES = ("ahtga", "sim", "theory")


def targets(gen: pathlib.Path) -> list[tuple[pathlib.Path, pathlib.Path]]:
    """(script, output) for every fig_/tab_/num_ script, sorted by script name."""
    out = []
    for p in sorted(SCRIPTS.glob("*.py")):
        kind = p.stem.split("_", 1)[0]
        if kind in KINDS and "_" in p.stem:
            out.append((p, gen / (p.stem + KINDS[kind])))
    return out


def _imports(path: pathlib.Path) -> tuple[set[str], tuple[str, ...]]:
    """Module names a file imports (top level and inside functions) and its GENERATED_INPUTS."""
    tree = ast.parse(path.read_text(), filename=str(path))
    mods: set[str] = set()
    gen_inputs: tuple[str, ...] = ()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            mods.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            mods.add(node.module)
            mods.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "GENERATED_INPUTS"
                                                  for t in node.targets):
            gen_inputs = tuple(ast.literal_eval(node.value))
    return mods, gen_inputs


def _package_files(mod: str) -> list[pathlib.Path]:
    """Source files of a package module: the .py files under its folder, or its own file."""
    parts = mod.split(".")
    if parts[0] not in PACKAGES:
        return []
    for n in range(len(parts), 0, -1):
        base = ROOT.joinpath(*parts[:n])
        if base.is_dir() and (base / "__init__.py").is_file():
            return sorted(base.rglob("*.py"))
        if base.with_suffix(".py").is_file():
            return [base.with_suffix(".py")]
    return []


_DEP_CACHE: dict[pathlib.Path, tuple[set[pathlib.Path], set[str]]] = {}


def code_deps(script: pathlib.Path) -> tuple[set[pathlib.Path], set[str]]:
    """(files, generated inputs): the script, the sibling scripts it imports transitively and the
    package files they import; and the GENERATED_INPUTS named by any of those scripts."""
    if script in _DEP_CACHE:
        return _DEP_CACHE[script]
    files: set[pathlib.Path] = set()
    gen_inputs: set[str] = set()
    todo, seen = [script], set()
    while todo:
        f = todo.pop()
        if f in seen:
            continue
        seen.add(f)
        files.add(f)
        mods, gi = _imports(f)
        gen_inputs.update(gi)
        for m in mods:
            sib = SCRIPTS / (m.split(".")[0] + ".py")
            if "." not in m and sib.is_file():
                todo.append(sib)
            else:
                files.update(_package_files(m))
    _DEP_CACHE[script] = (files, gen_inputs)
    return files, gen_inputs


def data_files(results: pathlib.Path, measured: pathlib.Path) -> list[pathlib.Path]:
    out = []
    for d in (results, measured):
        if d.is_dir():
            out.extend(d.rglob("*.json"))
    return out


def _mtime(p: pathlib.Path) -> float:
    try:
        return p.stat().st_mtime
    except FileNotFoundError:
        return -1.0


def stale(script, output, gen, newest_data: float) -> bool:
    if not output.is_file():
        return True
    t = output.stat().st_mtime
    files, gen_inputs = code_deps(script)
    newest = max([newest_data, *(_mtime(f) for f in files), *(_mtime(gen / g) for g in gen_inputs)])
    return newest > t


def _load(script: pathlib.Path):
    """Import a script as the module of its file name (siblings import each other by that name)."""
    name = script.stem
    if name in sys.modules and getattr(sys.modules[name], "__file__", None) == str(script):
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, script)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


def _matches(only, script, output) -> bool:
    return not only or any(o in (script.stem, output.name, str(output)) for o in only)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--results", type=pathlib.Path, required=True)
    ap.add_argument("--measured", type=pathlib.Path, required=True)
    ap.add_argument("--gen", type=pathlib.Path, required=True, help="output folder (generated/)")
    ap.add_argument("--only", nargs="*", default=None, help="outputs or scripts to consider")
    ap.add_argument("--force", action="store_true", help="rebuild even if up to date")
    ap.add_argument("--list", action="store_true", help="print the outputs and exit")
    ap.add_argument("--deps", default=None, help="print the dependencies of one output and exit")
    a = ap.parse_args(argv)
    todo = [(s, o) for s, o in targets(a.gen) if _matches(a.only, s, o)]
    if a.only and not todo:
        print(f"no output matches --only {' '.join(a.only)}", file=sys.stderr)
        return 2
    if a.list:
        print(" ".join(str(o) for _, o in todo))
        return 0
    if a.deps is not None:
        hit = [(s, o) for s, o in targets(a.gen) if _matches([a.deps], s, o)]
        if not hit:
            print(f"no output matches --deps {a.deps}", file=sys.stderr)
            return 2
        files, gi = code_deps(hit[0][0])
        for f in sorted(files):
            print(os.path.relpath(f, ROOT))
        for g in sorted(gi):
            print(a.gen / g)
        return 0
    newest_data = max([-1.0, *(_mtime(f) for f in data_files(a.results, a.measured))])
    a.gen.mkdir(parents=True, exist_ok=True)
    sys.path.insert(0, str(SCRIPTS))
    os.environ.setdefault("MPLBACKEND", "Agg")
    failed, built, t0 = [], 0, time.perf_counter()
    for script, out in todo:
        if not a.force and not stale(script, out, a.gen, newest_data):
            continue
        try:
            _load(script).main(["--results", str(a.results), "--measured", str(a.measured), "--out", str(out)])
            built += 1
        except Exception:                                          # reported; the others still run
            failed.append(out.name)
            print(f"{out.name}: FAILED\n{traceback.format_exc()}", file=sys.stderr, flush=True)
        finally:
            if "matplotlib.pyplot" in sys.modules:
                sys.modules["matplotlib.pyplot"].close("all")
    print(f"built {built} of {len(todo)} outputs in {time.perf_counter() - t0:.1f}s"
          + (f"; FAILED: {', '.join(failed)}" if failed else ""), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
