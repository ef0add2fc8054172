"""Read a plain CSV file into a :class:`Table` as ``pandas.read_csv`` would, without pandas.

Only files whose reading leaves no doubt are read here: UTF-8, comma-separated, quotes only
around a whole cell free of quotes and commas (as R's ``write.csv`` writes), a header of
distinct non-empty names, every row as wide as the header, no blank line, no cell with
surrounding spaces, no boolean-looking cell, no number with 19 digits or more before the point,
beyond double range, or that Python reads and the patterns here do not. Anything else returns
None and the caller reads the file with pandas (whose messages for malformed files it keeps).
Typing follows pandas' C parser: its default missing-value markers; a column of integers is
"int" (float if a value is missing), of numbers "float" (parsed as pandas parses them, see
:func:`_xstrtod`), otherwise strings. tests/stats/test_table_csv.py compares the two readers.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np

from alstrial.stats.table import Column, Table

# pandas._libs.parsers.STR_NA_VALUES (a test checks the two agree)
NA_VALUES = frozenset(
    {"", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN", "<NA>", "N/A", "NA"}
    | {"NULL", "NaN", "None", "n/a", "nan", "null"}
)
_INT = re.compile(r"[+-]?[0-9]+")
_FLOAT = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|[+-]?(?:inf|infinity)", re.IGNORECASE)
_PARTS = re.compile(r"([+-]?)([0-9]*)(?:\.([0-9]*))?(?:[eE]([+-]?[0-9]+))?")
_LONG = re.compile(r"[+-]?[0-9]{19}")
_BOOLS = frozenset({"true", "false"})


class _Unsure(Exception):
    """The file is not plain enough to be sure of reading it as pandas does."""


def read_csv_table(path: Path) -> Table | None:
    """The whole file as a :class:`Table`, or None when pandas should read it."""
    try:
        raw = path.read_bytes()
        text = raw.decode("utf-8")
        return _parse(text)
    except (OSError, UnicodeDecodeError, _Unsure):
        return None


def _parse(text: str) -> Table:
    if not text or text[0] == "\ufeff" or "\x00" in text:
        raise _Unsure
    if "\r" in text:
        if text.count("\r") != text.count("\r\n"):
            raise _Unsure
        text = text.replace("\r\n", "\n")
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    if len(lines) < 2 or any(not line.strip() for line in lines):
        raise _Unsure
    names = _split(lines[0])
    if any(not n or n != n.strip() for n in names) or len(set(names)) != len(names):
        raise _Unsure
    rows = [_split(line) for line in lines[1:]]
    if any(len(r) != len(names) for r in rows):
        raise _Unsure
    cells = list(zip(*rows, strict=True))
    columns = {name: _column(col) for name, col in zip(names, cells, strict=True)}
    return Table(names=tuple(names), columns=columns, index=range(len(rows)))


def _split(line: str) -> list[str]:
    cells = line.split(",")
    if '"' not in line:
        return cells
    out = []
    for cell in cells:
        if '"' in cell:
            if len(cell) < 2 or cell[0] != '"' or cell[-1] != '"' or '"' in cell[1:-1]:
                raise _Unsure
            cell = cell[1:-1]
        out.append(cell)
    return out


def _column(cells: tuple[str, ...]) -> Column:
    missing = np.array([c in NA_VALUES for c in cells])
    present = [c for c, m in zip(cells, missing, strict=True) if not m]
    distinct = set(present)  # columns repeat values (visits, arms, baselines): check each once
    for c in distinct:
        if c != c.strip() or c.lower() in _BOOLS:
            raise _Unsure
    if any(_LONG.match(c) for c in distinct):
        # pandas keeps a column holding an integer beyond int64 as text, even beside floats, and
        # "20000000000000000000.0" too: 19 digits and more before the point are left to it
        raise _Unsure
    if all(_INT.fullmatch(c) for c in distinct):
        ints = [int(c) for c in present]  # all within int64 (19 digits are refused above)
        if not missing.any():
            return Column("int", np.array(ints, dtype=float), missing, np.array([str(v) for v in ints], dtype=object))
        if any(abs(v) >= 2**53 for v in ints):
            raise _Unsure  # integers with a gap become floats in pandas; exactly so below 2**53
        values = np.full(len(cells), np.nan)
        values[~missing] = ints  # "-0" is 0.0 here, as in pandas (beside a decimal it is -0.0)
        return Column("float", values, missing, np.array([str(v) for v in values.tolist()], dtype=object))
    if all(_FLOAT.fullmatch(c) for c in distinct):
        parsed = {c: _xstrtod(c) for c in distinct}
        values = np.array([np.nan if m else parsed[c] for c, m in zip(cells, missing, strict=True)])
        return Column("float", values, missing, np.array([str(v) for v in values.tolist()], dtype=object))
    for c in distinct:
        if not _FLOAT.fullmatch(c) and _looks_numeric(c):
            raise _Unsure
    values = np.array([np.nan if m else c for c, m in zip(cells, missing, strict=True)], dtype=object)
    text = np.array(["nan" if m else c for c, m in zip(cells, missing, strict=True)], dtype=object)
    return Column("other", values, missing, text)


_POWERS = [float(f"1e{i}") for i in range(309)]
_MAX_DIGITS = 17


def _xstrtod(cell: str) -> float:
    """pandas' default float parser (``precise_xstrtod`` in its tokenizer), to the bit: it is not
    always correctly rounded (1 ulp off on some 16-17 digit values), and the results must be the
    numbers pandas would have read. ``cell`` matches ``_FLOAT``.

    The parser accumulates the first 17 digits in a double (``number * 10. + digit``), counts
    the digits it drops before the point and the decimals it keeps into the exponent, then
    multiplies or divides once by a power of ten. The first 15 digits accumulate exactly
    (below 2**53), so they are read as one integer and only the 16th and 17th are accumulated."""
    if cell.lstrip("+-").lower() in ("inf", "infinity"):
        return float(cell)
    match = _PARTS.fullmatch(cell)
    if match is None:  # pragma: no cover - _FLOAT and _PARTS accept the same numbers
        raise _Unsure
    sign, whole, fraction, exp = match.groups()
    fraction = fraction or ""
    if exp is not None and len(exp.lstrip("+-")) > _MAX_DIGITS:
        raise _Unsure  # pandas reads at most 17 exponent digits and then fails on the rest
    if len(whole) >= _MAX_DIGITS:
        used, exponent = whole[:_MAX_DIGITS], len(whole) - _MAX_DIGITS
    else:
        kept = min(_MAX_DIGITS - len(whole), len(fraction))
        used, exponent = whole + fraction[:kept], -kept
    exponent += int(exp) if exp is not None else 0
    number = float(int(used[:15]))
    for digit in used[15:]:
        number = number * 10.0 + int(digit)
    if sign == "-":
        number = -number
    if exponent > 308 or exponent < -308:  # pandas' range errors and subnormals: let pandas read them
        raise _Unsure
    value = number * _POWERS[exponent] if exponent > 0 else number / _POWERS[-exponent]
    if math.isinf(value):  # overflow: pandas' range error, the column stays text
        raise _Unsure
    return value


def _looks_numeric(cell: str) -> bool:
    """A cell Python reads as a number but the patterns above do not ("1_000", "١"): ask pandas."""
    try:
        float(cell)
    except ValueError:
        return False
    return True
