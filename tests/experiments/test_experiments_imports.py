"""The import graph of the whole ``ahtga`` package (module-level imports only) has no cycle,
and the experiments' leaf modules import nothing else of ``ahtga.experiments``."""
import ast
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
PKG = ROOT / "ahtga"


def _modules() -> dict[str, pathlib.Path]:
    out = {}
    for p in PKG.rglob("*.py"):
        parts = list(p.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = p
    return out


def _resolve(mod: str, is_pkg: bool, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = mod.split(".") if is_pkg else mod.split(".")[:-1]
    base = base[:len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def import_graph() -> dict[str, set[str]]:
    """module -> the ``ahtga`` modules it imports at module level (statements at the top of the
    module, also inside top-level ``if``/``try``; a ``from X import name`` where ``X.name`` is a
    module counts as importing ``X.name``; imports of a module's own ancestor packages, which
    Python runs first anyway, are left out)."""
    mods = _modules()
    graph: dict[str, set[str]] = {}
    for mod, path in mods.items():
        tree = ast.parse(path.read_text())
        is_pkg = path.name == "__init__.py"
        stmts, deps = list(tree.body), set()
        while stmts:
            n = stmts.pop()
            if isinstance(n, (ast.If, ast.Try)):
                stmts.extend(n.body + n.orelse + getattr(n, "finalbody", [])
                             + [s for h in getattr(n, "handlers", []) for s in h.body])
            elif isinstance(n, ast.Import):
                deps |= {a.name for a in n.names}
            elif isinstance(n, ast.ImportFrom):
                target = _resolve(mod, is_pkg, n)
                for a in n.names:
                    sub = f"{target}.{a.name}"
                    deps.add(sub if sub in mods else target)
        graph[mod] = {d for d in deps if d in mods and d != mod and not mod.startswith(d + ".")}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle as a list of modules (first == last), or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(m):
        state[m] = 1
        stack.append(m)
        for d in sorted(graph.get(m, ())):
            if state.get(d) == 1:
                return stack[stack.index(d):] + [d]
            if d not in state:
                c = visit(d)
                if c:
                    return c
        state[m] = 2
        stack.pop()
        return None

    for m in sorted(graph):
        if m not in state:
            c = visit(m)
            if c:
                return c
    return None


def test_cycle_finder_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_cycle_in_ahtga():
    graph = import_graph()
    assert "ahtga.experiments.runner" in graph and len(graph) > 50
    assert find_cycle(graph) is None, " -> ".join(find_cycle(graph))


@pytest.mark.parametrize("leaf", ["registry", "evaluation", "store", "locks", "distributed"])
def test_experiment_leaves_import_no_other_experiment_module(leaf):
    deps = import_graph()[f"ahtga.experiments.{leaf}"]
    assert not {d for d in deps if d.startswith("ahtga.experiments")}, deps


def test_experiments_have_few_function_level_imports():
    """Imports inside functions hid the old cycle; the ones left are optional packages or
    break no cycle.  Count them so new ones are a decision."""
    n = 0
    for p in (PKG / "experiments").rglob("*.py"):
        for node in ast.walk(ast.parse(p.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                n += sum(isinstance(s, (ast.Import, ast.ImportFrom)) for s in ast.walk(node))
    assert n <= 15, n
