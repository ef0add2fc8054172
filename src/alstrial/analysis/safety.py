"""Adverse-event summary by arm: participants (not events) with each kind of AE, as in a CSR table."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

#: relatedness terms counted as "related" (possibly, probably or definitely)
RELATED = ("POSSIBLY RELATED", "PROBABLY RELATED", "RELATED")


@dataclass(frozen=True)
class SafetySummary:
    """Participants with AEs by arm, over the safety set (participants who received any dose)."""

    arms: tuple[str, ...]
    overview: pd.DataFrame  # index: category; columns: arms; values: participants
    by_term: pd.DataFrame  # index: AE term; columns: arms; values: participants
    n: dict[str, int]

    def to_dict(self) -> dict[str, Any]:
        return {
            "safety_set": self.n,
            "overview": {cat: {a: int(v) for a, v in row.items()} for cat, row in self.overview.iterrows()},
            "by_term": {term: {a: int(v) for a, v in row.items()} for term, row in self.by_term.iterrows()},
        }

    def __str__(self) -> str:
        head = "Participants with adverse events (safety set: " + ", ".join(f"{a} {self.n[a]}" for a in self.arms) + ")"
        return f"{head}\n{self.overview.to_string()}\n\nBy term\n{self.by_term.to_string()}"


def safety_summary(adsl: pd.DataFrame, adae: pd.DataFrame, arms: list[str]) -> SafetySummary:
    """Count participants with any, serious, related and fatal AEs, and with each term, per arm."""
    safety_set = adsl[adsl["SAFFL"].astype(bool) & adsl["RANDFL"].astype(bool)]
    n = {arm: int((safety_set["ARM"] == arm).sum()) for arm in arms}
    ae = adae[adae["USUBJID"].isin(safety_set["USUBJID"])]
    categories = {
        "any adverse event": ae,
        "serious adverse event": ae[ae["AESER"].astype(bool)],
        "related adverse event": ae[ae["AEREL"].isin(RELATED)],
        "severe adverse event": ae[ae["AESEV"] == "SEVERE"],
        "fatal adverse event": ae[ae["AEOUT"] == "FATAL"],
    }
    overview = pd.DataFrame(
        {arm: [sub.loc[sub["ARM"] == arm, "USUBJID"].nunique() for sub in categories.values()] for arm in arms},
        index=pd.Index(list(categories), name="category"),
    )
    by_term = (
        ae.groupby(["AETERM", "ARM"])["USUBJID"].nunique().unstack(fill_value=0).reindex(columns=arms, fill_value=0)
        if len(ae)
        else pd.DataFrame(columns=arms)
    )
    by_term = by_term.loc[by_term.sum(axis=1).sort_values(ascending=False, kind="stable").index]
    by_term.index.name = "term"
    return SafetySummary(tuple(arms), overview, by_term, n)
