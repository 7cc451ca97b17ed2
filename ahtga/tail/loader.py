"""Read one sample from a file for the command line (``python -m ahtga.tail FILE``).

Formats, by suffix:

- ``.npy``: a real numeric array (``allow_pickle=False``); 1-d, or 2-d read as columns.
- ``.csv``: comma-separated (Python's ``csv`` module, so ``"1.5"`` in quotes is a number); an
  optional header row of names (a first row with a cell that is not a number); every other
  cell must be a number (``nan``/``inf`` are numbers and are refused later with their count).
- anything else: whitespace-separated text, ``#`` starts a comment.

A file with several columns is never pooled silently: pass ``column`` (a 0-based index, or a
header name for CSV) or ``pool=True`` to use every cell.  A cell that cannot be read is an
error naming the file, the line (1-based), the column and the text; so are empty cells
(trailing commas), a ``;`` delimiter and ragged rows.  Complex ``.npy`` arrays are refused.
"""
from __future__ import annotations

import csv
import pathlib

import numpy as np


def _number(cell: str, path, line: int, col: int) -> float:
    text = cell.strip()
    if text == "":
        raise ValueError(f"FILE {str(path)!r} line {line}, column {col}: empty cell "
                         "(a trailing or doubled comma?)")
    try:
        return float(text)
    except ValueError:
        hint = " (the delimiter of a .csv file is ',', not ';')" if ";" in text else ""
        raise ValueError(f"FILE {str(path)!r} line {line}, column {col}: could not read "
                         f"{text!r} as a number{hint}") from None


def _rows(path: pathlib.Path) -> tuple[list[str] | None, list[list[float]]]:
    """(header names or None, numeric rows) of a CSV or whitespace text file."""
    is_csv = path.suffix.lower() == ".csv"
    header, rows = None, []
    with open(path, newline="" if is_csv else None, encoding="utf-8", errors="replace") as f:
        lines = csv.reader(f) if is_csv else (ln.split("#", 1)[0].split() for ln in f)
        for i, cells in enumerate(lines, start=1):
            if not cells or all(c.strip() == "" for c in cells) and len(cells) <= 1:
                continue                                # blank line
            if header is None and not rows and is_csv and _is_header(cells):
                header = [c.strip() for c in cells]
                continue
            row = [_number(c, path, i, j) for j, c in enumerate(cells)]
            width = len(header) if header is not None else (len(rows[0]) if rows else len(row))
            if len(row) != width:
                raise ValueError(f"FILE {str(path)!r} line {i}: {len(row)} cell(s) where the "
                                 f"{'header' if header is not None and not rows else 'first row'}"
                                 f" has {width}")
            rows.append(row)
    return header, rows


def _is_header(cells) -> bool:
    """A header row: every cell is a name (not a number, with at least one letter)."""
    for c in cells:
        text = c.strip()
        try:
            float(text)
            return False
        except ValueError:
            if not any(ch.isalpha() for ch in text) or ";" in text:
                return False
    return True


def load(path, *, column=None, pool: bool = False) -> np.ndarray:
    """Read a 1-d float64 array from ``path`` (formats and rules in the module docstring)."""
    path = pathlib.Path(path)
    if not path.exists():
        raise ValueError(f"FILE not found: {str(path)!r}")
    header = None
    if path.suffix.lower() == ".npy":
        try:
            arr = np.load(path, allow_pickle=False)
        except ValueError as e:
            raise ValueError(f"could not read numbers from FILE {str(path)!r}: {e}") from None
        if np.iscomplexobj(arr):
            raise ValueError(f"FILE {str(path)!r} holds complex numbers ({arr.dtype}); the tail "
                             "index needs real values (save abs() or .real explicitly)")
        if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_):
            raise ValueError(f"FILE {str(path)!r} holds {arr.dtype} values, not numbers")
        arr = arr.astype(np.float64)
        if arr.ndim > 2:
            raise ValueError(f"FILE {str(path)!r} holds a {arr.ndim}-d array of shape "
                             f"{arr.shape}; save a 1-d sample or a 2-d table of columns")
        table = arr.reshape(-1, 1) if arr.ndim <= 1 else arr
    else:
        header, rows = _rows(path)
        table = np.asarray(rows, dtype=np.float64).reshape(len(rows), -1 if rows else 1)
    if table.size == 0:
        raise ValueError(f"FILE {str(path)!r} holds no values")
    ncol = table.shape[1]
    if column is not None:
        idx = _column_index(column, header, ncol, path)
        return table[:, idx].copy()
    if ncol > 1 and not pool:
        names = f" ({', '.join(header)})" if header else ""
        raise ValueError(f"FILE {str(path)!r} has {ncol} columns{names}; pick one with --column "
                         "(a 0-based index or a header name) or pass --pool to use every cell")
    return table.reshape(-1).copy()


def _column_index(column, header, ncol: int, path) -> int:
    text = str(column)
    if header is not None and text in header:
        return header.index(text)
    try:
        idx = int(text)
    except ValueError:
        known = f"; header names: {', '.join(header)}" if header else " (the file has no header)"
        raise ValueError(f"--column {text!r} is neither a column index nor a header name of FILE "
                         f"{str(path)!r}{known}") from None
    if not 0 <= idx < ncol:
        raise ValueError(f"--column must be in [0, {ncol - 1}] for FILE {str(path)!r}; got {idx}")
    return idx
