"""SAS transport (XPT) version 5 files, checked against the format's limits before anything is written.

Version 5 is what regulators accept (FDA Study Data Technical Conformance Guide): dataset and
variable names of at most 8 characters (letters, digits, underscore, starting with a letter or
underscore), labels of at most 40 characters, character values of at most 200 bytes, and ASCII
text. pyreadstat writes it with ``file_format_version=5``; every limit is checked here first so
that a violation names the dataset, the variable and the row instead of failing inside the writer.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from alstrial.errors import Problem, ValidationFailed

MAX_NAME = 8
MAX_LABEL = 40
MAX_CHAR_BYTES = 200
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class XptLimitExceeded(ValidationFailed):
    """A dataset breaks a limit of SAS transport version 5 (every breach is listed)."""


_ASCII = str.maketrans(
    {"≤": "<=", "≥": ">=", "–": "-", "—": "-", "’": "'", "‘": "'", "“": '"', "”": '"', "×": "x", "µ": "u"}
)


def ascii_text(text: str) -> str:
    """Text made ASCII for XPT v5: common typographic signs spelled out, accents dropped."""
    import unicodedata

    spelled = text.translate(_ASCII)
    return unicodedata.normalize("NFKD", spelled).encode("ascii", "ignore").decode("ascii")


def _char_problem(value: str) -> str | None:
    try:
        data = value.encode("ascii")
    except UnicodeEncodeError:
        bad = next(ch for ch in value if ord(ch) > 127)
        return f"contains the non-ASCII character {bad!r}; XPT v5 text must be ASCII"
    if len(data) > MAX_CHAR_BYTES:
        return f"is {len(data)} bytes long; XPT v5 allows at most {MAX_CHAR_BYTES}"
    return None


def check_xpt_v5(name: str, label: str, frame: pd.DataFrame, labels: Mapping[str, str]) -> list[Problem]:
    """Every breach of the v5 limits in one dataset: names, labels, types and character values."""
    problems: list[Problem] = []
    where = f"dataset {name}"
    if not _NAME.match(name) or len(name) > MAX_NAME:
        problems.append(Problem(where, name, f"dataset names must be 1-{MAX_NAME} letters, digits or '_'"))
    if len(label) > MAX_LABEL:
        problems.append(Problem(f"{where} label", label, f"is {len(label)} characters; at most {MAX_LABEL}"))
    for column in frame.columns:
        var = f"{where}, variable {column}"
        if not isinstance(column, str) or not _NAME.match(column) or len(column) > MAX_NAME:
            problems.append(Problem(var, column, f"variable names must be 1-{MAX_NAME} letters, digits or '_'"))
        var_label = labels.get(column, "")
        if len(var_label) > MAX_LABEL:
            problems.append(Problem(f"{var} label", var_label, f"is {len(var_label)} characters; at most {MAX_LABEL}"))
        series = frame[column]
        if pd.api.types.is_bool_dtype(series):
            problems.append(Problem(var, str(series.dtype), "booleans have no XPT type: write 'Y'/'' flags or 1/0"))
            continue
        if pd.api.types.is_numeric_dtype(series):
            continue
        for row, value in enumerate(series.tolist(), start=1):
            if value is None or (isinstance(value, float) and math.isnan(value)):
                continue
            if not isinstance(value, str):
                problems.append(Problem(f"{var}, row {row}", value, "a character variable holds a non-text value"))
                continue
            reason = _char_problem(value)
            if reason:
                problems.append(Problem(f"{var}, row {row}", value if len(value) <= 60 else value[:57] + "...", reason))
    return problems


def write_xpt(path: Path, name: str, label: str, frame: pd.DataFrame, labels: Mapping[str, str]) -> Path:
    """Write one dataset as XPT v5 after checking every limit (raises :class:`XptLimitExceeded`, writes nothing)."""
    import pyreadstat

    problems = check_xpt_v5(name, label, frame, labels)
    if problems:
        raise XptLimitExceeded(problems, context=f"{name} cannot be written as SAS transport v5")
    out = frame.copy()
    for column in out.columns:
        if not pd.api.types.is_numeric_dtype(out[column]):
            out[column] = out[column].astype(object).where(out[column].notna(), "")
        else:
            out[column] = out[column].astype(float)
    path.parent.mkdir(parents=True, exist_ok=True)
    pyreadstat.write_xport(
        out,
        str(path),
        file_label=label,
        column_labels=[labels.get(c, "") for c in out.columns],
        table_name=name.upper(),
        file_format_version=5,
    )
    return path


def read_xpt(path: Path) -> tuple[pd.DataFrame, dict[str, str], str]:
    """A dataset, its variable labels and its label, as written by anyone (pyreadstat's reader)."""
    import pyreadstat

    frame, meta = pyreadstat.read_xport(str(path))
    labels = dict(zip(meta.column_names, meta.column_labels or [""] * len(meta.column_names), strict=True))
    return frame, {k: v or "" for k, v in labels.items()}, meta.file_label or ""
