"""A long DataFrame checked against an MMRM spec and turned into design and padded arrays.

The checks and the coding are :func:`.prepare_core.prepare_table`'s, on the DataFrame's columns;
this keeps the used rows as a DataFrame for the LS means and type III hypotheses.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from alstrial.stats.mmrm.arrays import RepeatedArrays
from alstrial.stats.mmrm.errors import MMRMDataError
from alstrial.stats.mmrm.formula import Design
from alstrial.stats.mmrm.prepare_core import PreparedArrays, needed_columns, prepare_table
from alstrial.stats.mmrm.spec import MMRMSpec
from alstrial.stats.table_frame import table_from_frame


@dataclass(frozen=True)
class PreparedData:
    """The rows used in the fit and everything derived from them."""

    frame: pd.DataFrame  # used rows (response observed, covariates complete), visits as text
    core: PreparedArrays

    @property
    def design(self) -> Design:
        return self.core.design

    @property
    def x(self) -> np.ndarray:
        return self.core.x

    @property
    def arrays(self) -> RepeatedArrays:
        return self.core.arrays

    @property
    def visits(self) -> tuple[str, ...]:
        return self.core.visits


def prepare(spec: MMRMSpec, data: pd.DataFrame) -> PreparedData:
    """Validate columns and values, drop incomplete rows, code the design, build arrays."""
    if not isinstance(data, pd.DataFrame):
        raise MMRMDataError(f"data must be a pandas DataFrame (not {type(data).__name__})")
    core = prepare_table(spec, table_from_frame(data, needed_columns(spec)))
    frame = data[core.rows].copy()
    frame[spec.visit] = core.visit_text
    return PreparedData(frame, core)
