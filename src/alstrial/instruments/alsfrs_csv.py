"""Reading and writing ALSFRS-R visit tables as CSV, keeping other columns exactly as given.

Every cell is read as text (no type guessing), so an ID like ``007`` or a date stays as typed
and blank stays blank; :func:`~alstrial.instruments.alsfrs_frame.score_frame` parses the item
cells itself. Output is written to a temporary file beside the target and renamed into place,
so a failed run never leaves a partial file.
"""

from __future__ import annotations

import csv
import os
import tempfile
import warnings
from importlib import resources
from pathlib import Path
from typing import IO

import numpy as np
import pandas as pd

from alstrial.errors import AlstrialError

__all__ = ["AlsfrsCsvError", "example_csv_text", "read_alsfrs_csv", "write_csv_atomic", "write_scored_csv"]

#: ΔFS in points/month is written rounded to 4 decimals; all other columns are integers or text.
DECIMALS = 4
_LOOKUP_MAX = 1000
_INT_TEXT = np.array([str(i) for i in range(_LOOKUP_MAX + 1)], dtype=object)


class AlsfrsCsvError(AlstrialError):
    """A CSV file cannot be read or written (missing, unreadable, not UTF-8, malformed)."""


def read_alsfrs_csv(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a visit table with every cell as text (a UTF-8 BOM from Excel is accepted)."""
    p = Path(path)
    header: list[str] | None = None
    try:
        with p.open(newline="", encoding="utf-8-sig") as fh:
            # pandas skips blank lines before the header too; a file of blank lines has no header
            header = next((row for row in csv.reader(fh) if any(cell.strip() for cell in row)), None)
            if header is None:
                raise AlsfrsCsvError(f"{p} is empty (or only blank lines): expected a header row naming q1 … q12")
            names = [h.strip() for h in header]
            dupes = sorted({h for h in names if names.count(h) > 1})
            if dupes:
                raise AlsfrsCsvError(f"{p}: duplicate column name(s) in the header: {', '.join(map(repr, dupes))}")
        with warnings.catch_warnings():
            # index_col=False stops pandas from silently turning extra leading fields into an
            # index; it then warns (and would drop data), which we turn into an error below.
            warnings.simplefilter("error", pd.errors.ParserWarning)
            df = pd.read_csv(
                p, dtype=str, keep_default_na=False, na_filter=False, encoding="utf-8-sig", index_col=False
            )
    except FileNotFoundError:
        raise AlsfrsCsvError(f"input file not found: {p}") from None
    except IsADirectoryError:
        raise AlsfrsCsvError(f"input is a directory, not a CSV file: {p}") from None
    except PermissionError:
        raise AlsfrsCsvError(f"no permission to read {p}") from None
    except UnicodeDecodeError as e:
        raise AlsfrsCsvError(f"{p} is not UTF-8 text (byte {e.start}); save it as CSV UTF-8") from None
    except pd.errors.EmptyDataError:
        raise AlsfrsCsvError(f"{p} is empty (or only blank lines): expected a header row naming q1 … q12") from None
    except (pd.errors.ParserError, pd.errors.ParserWarning, csv.Error) as e:
        raise AlsfrsCsvError(
            f"{p} is not a well-formed CSV file: {_first_long_row(p, len(header or [])) or e}"
        ) from None
    df.columns = [str(c).strip() for c in df.columns]
    return df


def _first_long_row(path: Path, n_fields: int) -> str | None:
    """Locate the first data row with more fields than the header (only run on the error path)."""
    with path.open(newline="", encoding="utf-8-sig") as fh:
        for n, fields in enumerate(csv.reader(fh)):
            if n and len(fields) > n_fields:
                return f"row {n} has {len(fields)} fields but the header names {n_fields} columns"
    return None


def _as_text(s: pd.Series) -> np.ndarray:
    """A column as an object array of cells for :mod:`csv` (blank for missing).

    Numbers are rendered here rather than cell by cell: small integers and categories go
    through a lookup table, ΔFS is rounded to 4 decimals; text passes through as read.
    """
    missing = s.isna().to_numpy()
    if isinstance(s.dtype, pd.CategoricalDtype):
        labels = np.append(np.asarray(s.cat.categories.astype(str), dtype=object), "")
        return np.asarray(labels[s.cat.codes.to_numpy()], dtype=object)
    if pd.api.types.is_integer_dtype(s.dtype):
        v = s.to_numpy(dtype=np.int64, na_value=0)
        small = not v.size or (v.min() >= 0 and v.max() <= _LOOKUP_MAX)
        text = _INT_TEXT[v] if small else v.astype(str).astype(object)
    elif pd.api.types.is_float_dtype(s.dtype):
        text = s.round(DECIMALS).to_numpy(dtype=object)
    else:
        text = s.to_numpy(dtype=object, copy=True)
    if missing.any():
        text[missing] = ""
    return np.asarray(text, dtype=object)


def write_scored_csv(frame: pd.DataFrame, out: IO[str]) -> None:
    """Write a scored table to an open text stream: blank for missing, ΔFS to 4 decimals.

    Uses the C :mod:`csv` writer (minimal quoting, like pandas) on pre-rendered columns, about
    twice as fast as ``DataFrame.to_csv`` for a million rows; input text is written as read.
    """
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([str(c) for c in frame.columns])
    writer.writerows(zip(*(_as_text(frame.iloc[:, i]) for i in range(frame.shape[1])), strict=True))


def write_csv_atomic(frame: pd.DataFrame, path: str | os.PathLike[str]) -> None:
    """Write ``frame`` to ``path`` via a temporary file renamed into place (no partial output)."""
    target = Path(path)
    if target.is_dir():
        raise AlsfrsCsvError(f"output path is a directory: {target}")
    if not target.parent.exists():
        raise AlsfrsCsvError(f"output folder does not exist: {target.parent}")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except PermissionError:
        raise AlsfrsCsvError(f"no permission to write in {target.parent}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            write_scored_csv(frame, fh)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def example_csv_text() -> str:
    """The shipped example visit table (``instruments/examples/alsfrs_example.csv``)."""
    return resources.files("alstrial.instruments").joinpath("examples", "alsfrs_example.csv").read_text("utf-8")
