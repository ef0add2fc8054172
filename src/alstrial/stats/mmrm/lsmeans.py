"""Least-squares means and their differences, as a small frozen result."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd


@dataclass(frozen=True)
class LSMeans:
    """LS means of ``factor`` (within each level of ``by``) and differences from its reference.

    Like ``emmeans(fit, ~ factor | by)`` with ``pairs(..., reverse = TRUE)`` against the first
    level, or SAS ``LSMEANS factor*by / DIFF CL``.
    """

    factor: str
    by: str | None
    weights: str
    table: pd.DataFrame
    differences: pd.DataFrame

    def __str__(self) -> str:
        title = f"LS means of {self.factor}" + (f" by {self.by}" if self.by else "")
        with pd.option_context("display.width", 140, "display.max_columns", 20):
            return (
                f"{title} (weights: {self.weights})\n{self.table.to_string(float_format='%.4f')}\n\n"
                f"Differences from the reference level\n{self.differences.to_string(float_format='%.4f')}"
            )

    def to_dict(self) -> dict[str, Any]:
        return {
            "factor": self.factor,
            "by": self.by,
            "weights": self.weights,
            "lsmeans": self.table.reset_index().to_dict(orient="records"),
            "differences": self.differences.reset_index().to_dict(orient="records"),
        }
