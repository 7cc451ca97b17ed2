"""Every signature that ``docs/CONTRACTS.md`` lists in its code blocks exists, with those
parameters (exactly those, unless the entry says ``...``) and the literal defaults it states
(the first of ``"a"|"b"`` alternatives is the default)."""
from __future__ import annotations

import ast
import importlib
import inspect
import re
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "CONTRACTS.md"
_NAME = re.compile(r"[A-Za-z_]\w*")


def _split_top(text: str, sep: str = ",") -> list[str]:
    out, depth, cur, quote = [], 0, "", None
    for ch in text:
        if quote:
            quote = None if ch == quote else quote
        elif ch in "\"'":
            quote = ch
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == sep and depth == 0:
            out.append(cur)
            cur = ""
            continue
        cur += ch
    out.append(cur)
    return [p.strip() for p in out if p.strip()]


def _calls(line: str):
    """``(name, argument text)`` of the top-level calls in a line (comments removed)."""
    i = 0
    while True:
        m = re.compile(r"(?:class\s+)?([A-Za-z_][\w.]*)\(").search(line, i)
        if not m:
            return
        depth, j = 0, m.end() - 1
        for j in range(m.end() - 1, len(line)):
            depth += {"(": 1, ")": -1}.get(line[j], 0)
            if depth == 0:
                break
        yield m.group(1), line[m.end():j]
        nxt = re.compile(r",\s+(?=[A-Za-z_][\w.]*\()").match(line, j + 1)
        if not nxt:
            return
        i = nxt.end()


def _entries():
    """(module, class or None, name, argument text, line) for every documented signature."""
    text = DOC.read_text()
    entries = []
    for section in re.split(r"^## ", text, flags=re.M)[1:]:
        m = re.match(r"`([\w.]+)`", section)
        if not m:
            continue
        module = m.group(1)
        for block in re.findall(r"```python\n(.*?)```", section, flags=re.S):
            # join continuation lines (open parentheses)
            logical, cur, depth = [], "", 0
            for raw in block.splitlines():
                code, _, comment = raw.partition("#")
                cm = re.match(r"\s*(ahtga(?:\.\w+)+)\b", comment)
                if not code.strip() and cm and depth == 0:
                    logical.append(("module", cm.group(1)))
                    continue
                cur = (cur + " " + code.strip()) if depth else code.rstrip()
                depth += code.count("(") - code.count(")")
                if depth <= 0:
                    logical.append(("code", cur))
                    cur, depth = "", 0
            cls = None
            for kind, line in logical:
                if kind == "module":
                    module, cls = line, None
                    continue
                indented = line.startswith(" ")
                stripped = line.strip()
                if not stripped or stripped.startswith("@"):
                    continue
                if not indented:
                    cls = None
                for name, args in _calls(stripped) if re.match(r"(class\s+)?[\w.]+\(",
                                                               stripped) else ():
                    owner = cls if indented else None
                    entries.append((module, owner, name, args, stripped))
                    if stripped.startswith("class ") and not indented:
                        cls = name
                    break   # methods and functions: the first call on the line is the entry
                else:
                    pass
                # further calls on one line (a, b, c listed together)
                calls = list(_calls(stripped)) if re.match(r"[\w.]+\(", stripped) else []
                for name, args in calls[1:]:
                    entries.append((module, cls if indented else None, name, args, stripped))
    return entries


ENTRIES = _entries()


def _resolve(module, owner, name):
    mod = importlib.import_module(module)
    if owner is not None:
        return getattr(getattr(mod, owner), name.lstrip("."))
    obj = mod
    for part in name.split("."):
        obj = getattr(obj, part)
    return obj


def test_the_document_lists_signatures():
    names = {e[2] for e in ENTRIES}
    assert {"AHTGA", "PerExampleEngine", "backward", "collect", "TailTracker", "hill",
            "aggregate", "RowGroupEngine", "ahtga_update"} <= names


@pytest.mark.parametrize("module,owner,name,args,line", ENTRIES,
                         ids=[f"{e[0]}.{e[1] + '.' if e[1] else ''}{e[2]}" for e in ENTRIES])
def test_documented_signature_exists(module, owner, name, args, line):
    obj = _resolve(module, owner, name)
    target = obj.__init__ if inspect.isclass(obj) else obj
    sig = inspect.signature(target)
    params = {k: v for k, v in sig.parameters.items() if k != "self"}
    var_kw = any(p.kind is p.VAR_KEYWORD for p in params.values())
    documented, open_ended = [], False
    for piece in _split_top(args):
        if piece in ("*", "/") or piece.startswith("**"):
            continue
        if piece == "...":
            open_ended = True
            continue
        for alt in re.split(r"\s\|\s", piece):
            m = _NAME.match(alt)
            if not m:
                continue
            pname = m.group(0)
            documented.append(pname)
            assert pname in params or var_kw, (
                f"CONTRACTS.md documents {name}(... {pname} ...) but the code has "
                f"{name}{sig}: {line}")
            rest = alt[m.end():].strip()
            if rest.startswith("=") and pname in params:
                default = rest[1:].strip()
                first = _split_top(default, "|")[0] if "|" in default else default
                try:
                    want = ast.literal_eval(first)
                except (ValueError, SyntaxError):
                    continue
                if want is Ellipsis:
                    continue
                have = params[pname].default
                assert have is not inspect.Parameter.empty and have == want, (
                    f"CONTRACTS.md says {name}({pname}={first}) but the code's default is "
                    f"{have!r}: {line}")
    if not open_ended:
        missing = [k for k, p in params.items() if k not in documented
                   and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)]
        assert not missing, (f"{name}{sig} has parameter(s) {missing} that CONTRACTS.md does not "
                             f"list (add them, or '...' when the entry lists a subset): {line}")
