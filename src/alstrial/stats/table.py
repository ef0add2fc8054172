"""Columns of a data table as numpy arrays: what the statistics read from a DataFrame or a CSV file.

The engines' checks and coding run on this, so that ``alstrial stats`` can hand them a small CSV
file without importing pandas (:mod:`alstrial.stats.table_csv`), and the library hands them a
DataFrame (:mod:`alstrial.stats.table_frame`) through the same code.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

Kind = Literal["int", "float", "bool", "other"]


@dataclass(frozen=True)
class Column:
    """One column: ``values`` float64 for "int"/"float" (NaN = missing), else an object array of the
    values as held; ``text`` is each value as ``str`` (pandas' ``astype(str)``); ``categories``
    the declared order of a categorical column."""

    kind: Kind
    values: np.ndarray
    missing: np.ndarray  # bool
    text: np.ndarray  # object array of str
    categories: tuple[str, ...] | None = None

    @property
    def numeric(self) -> bool:
        """Numbers a model can use as a covariate (booleans are not)."""
        return self.kind in ("int", "float")

    def item(self, i: int) -> object:
        """The value in position ``i`` as a plain Python object (for error messages)."""
        value = self.values[i]
        if self.kind == "int" and not self.missing[i]:
            return int(value)
        return value.item() if isinstance(value, np.generic) else value


@dataclass(frozen=True)
class Table:
    """The columns an analysis asked for, the names of all columns, and the row labels."""

    names: tuple[object, ...]
    columns: Mapping[str, Column]
    index: Any  # row labels for messages: a range, or a DataFrame's index (len() and [i])

    @property
    def n_rows(self) -> int:
        return len(self.index)
