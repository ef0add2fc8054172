"""Small numeric tables as text, laid out exactly as ``DataFrame.to_string(float_format=f)``.

The results' text (MMRM fixed effects and covariance, CAFS arms) has always been pandas' layout;
writing it here lets ``alstrial stats mmrm`` / ``stats cafs`` print it without importing pandas
(a third of a small command's run time). The rules follow pandas 2 (``pandas.io.formats.format``),
and tests compare the output with pandas' on many tables: a numeric column's header gets a
leading space, integers print as ``f"{x: d}"``, floats through ``float_format`` (NaN as ``NaN``),
columns are right- and the index left-justified, joined by one space (``to_string`` does not cut
wide cells: it lifts ``display.max_colwidth``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

import numpy as np


def _fixed(strings: list[str], mode: str, minimum: int = 0) -> list[str]:
    """pandas' ``_make_fixed_width``: every cell padded to one width."""
    if not strings:
        return strings
    width = max(minimum, *map(len, strings))
    return [s.ljust(width) if mode == "left" else s.rjust(width) for s in strings]


def _trim_front(strings: list[str]) -> list[str]:
    while strings and all(strings) and all(s[0] == " " for s in strings):
        strings = [s[1:] for s in strings]
    return strings


def _escape(text: str) -> str:
    return text.replace("\t", r"\t").replace("\n", r"\n").replace("\r", r"\r")


def _is_int(v: object) -> bool:
    return isinstance(v, int | np.integer) and not isinstance(v, bool | np.bool_)


def _is_float(v: object) -> bool:
    return isinstance(v, float | np.floating)


def _trim_zeros(cells: list[str]) -> list[str]:
    """pandas' ``_trim_zeros_float``: drop trailing zeros common to every plain decimal number."""
    plain = re.compile(r"^\s*[\+-]?[0-9]+\.[0-9]*$")
    while (numbers := [c for c in cells if plain.match(c)]) and all(c.endswith("0") for c in numbers):
        cells = [c[:-1] if plain.match(c) else c for c in cells]
    return [c + "0" if plain.match(c) and c.endswith(".") else c for c in cells]


def _float_index_cells(labels: Sequence[float]) -> list[str]:
    """A float index: pandas' default float format (6 decimals, trailing zeros trimmed, or
    scientific when a value is tiny, or long and large)."""
    values = np.asarray(labels, dtype=float)

    def cells(fmt: str) -> list[str]:
        return _trim_zeros([" NaN" if np.isnan(v) else format(v, fmt) for v in values.tolist()])

    out = cells(" .6f")
    finite = np.abs(values[~np.isnan(values)])
    too_long = max(map(len, out)) > 6 + 6
    if ((finite < 1e-6) & (finite > 0)).any() or (too_long and (finite > 1e6).any()):
        out = cells(" .6e")
    return out


def _index_cells(labels: Sequence[object]) -> list[str]:
    """Index labels as pandas formats an index of ints, of floats, or of anything else (``str``)."""
    if labels and all(_is_int(v) for v in labels):
        return _trim_front(_fixed([f"{int(v): d}" for v in labels], "left"))  # type: ignore[call-overload]
    if labels and all(_is_float(v) for v in labels):
        return _trim_front(_fixed(_float_index_cells(labels), "left"))  # type: ignore[arg-type]
    if any(_is_int(v) or _is_float(v) for v in labels):
        raise TypeError("index labels must not mix numbers with other values")
    return _trim_front([" " + _escape(str(v)) for v in labels])


def _value_cells(values: np.ndarray, float_format: Callable[[float], str]) -> list[str]:
    if np.issubdtype(values.dtype, np.integer):
        return [f"{int(v): d}" for v in values]
    return ["NaN" if np.isnan(v) else float_format(float(v)) for v in values.astype(float)]


def render_table(
    index: Sequence[object],
    columns: Sequence[tuple[str, np.ndarray]],
    float_format: Callable[[float], str],
    index_name: str | None = None,
) -> str:
    """The text of a DataFrame with this index and these numeric (int or float) columns."""
    named = index_name is not None
    head = [_escape(index_name)] if index_name is not None else []
    index_col = ["", *_fixed(head + _index_cells(index), "left")]
    strcols = [index_col]
    for name, values in columns:
        header = [" " + name] + ([""] if named else [])
        cells = _fixed(_value_cells(np.asarray(values), float_format), "right", max(map(len, header)))
        width = max(*map(len, cells), *map(len, header)) if cells else max(map(len, header))
        strcols.append([h.rjust(width) for h in header] + cells)
    return _adjoin(strcols)


def _adjoin(strcols: list[list[str]]) -> str:
    """pandas' ``adjoin(1, ...)``: every column but the last padded to its width plus one space."""
    widths = [max(map(len, col)) + 1 for col in strcols[:-1]] + [max(map(len, strcols[-1]))]
    rows = max(map(len, strcols))
    padded = [[" " * w] * (rows - len(col)) + [s.ljust(w) for s in col] for col, w in zip(strcols, widths, strict=True)]
    return "\n".join("".join(parts) for parts in zip(*padded, strict=True))
