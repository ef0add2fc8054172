"""Analysis datasets: ADaM-like DataFrames that every analysis, report and export reads.

Two sources build them — a locked database (``from_store``) and the simulator's fast path
(``design.cohort_datasets``, for power analysis and tests) — so that the statistics always see the same
columns whatever produced the data. Column names follow CDISC ADaM where one exists.

ADSL   one row per *screened* participant (screen failures included, ``RANDFL`` false);
       ``FASFL`` marks the full analysis set (randomized, dosed, with a baseline ALSFRS-R)
ADQS   ALSFRS-R total by scheduled visit on or after day 0 (``AVISITN`` in weeks, ``CHG``)
ADQSRI ALSFRS-R totals from screening to the end (with ``ADY``) for slopes incl. run-in
ADLB   CSF analytes by visit (``PARAMCD`` = analyte code, ``BLQFL`` below LLOQ)
ADTTE  time to death or permanent assisted ventilation from day 0 (``CNSR`` 1 = censored)
ADAE   adverse events of randomized participants (``AESTDY`` onset day relative to day 0)
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from alstrial.errors import AlstrialError
from alstrial.protocol.models import Protocol

ADSL_COLUMNS = (
    "USUBJID",
    "SITEID",
    "ARM",
    "AGE",
    "SEX",
    "ONSETREG",
    "RILUZFL",
    "MOSONSET",
    "ELIGFL",
    "FAILCRIT",
    "RANDFL",
    "SAFFL",
    "FASFL",
    "COMPLFL",
    "DCSREAS",
    "SCRALS",
    "BASEALS",
    "PRESLOPE",
    "SVCBL",
    "ALSBAND",
)
ADQS_COLUMNS = ("USUBJID", "ARM", "AVISIT", "AVISITN", "ADY", "AVAL", "BASE", "CHG")
ADQSRI_COLUMNS = ("USUBJID", "ARM", "ADY", "AVAL")
ADLB_COLUMNS = ("USUBJID", "ARM", "PARAMCD", "AVISIT", "ADY", "AVAL", "BLQFL", "LLOQ")
ADTTE_COLUMNS = ("USUBJID", "ARM", "PARAMCD", "AVAL", "CNSR")
ADAE_COLUMNS = ("USUBJID", "ARM", "AETERM", "AESER", "AESEV", "AEREL", "AEOUT", "AESTDY")


class AnalysisDatasetError(AlstrialError, ValueError):
    """Data that cannot become analysis datasets: a missing column, arms the protocol lacks, ..."""


@dataclass(frozen=True)
class AnalysisDatasets:
    """The analysis datasets of one trial, after unblinding (``ARM`` holds the arm code)."""

    adsl: pd.DataFrame
    adqs: pd.DataFrame
    adqs_runin: pd.DataFrame
    adlb: pd.DataFrame
    adtte: pd.DataFrame
    adae: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=list(ADAE_COLUMNS)))

    def __post_init__(self) -> None:
        for name, frame, columns in (
            ("ADSL", self.adsl, ADSL_COLUMNS),
            ("ADQS", self.adqs, ADQS_COLUMNS),
            ("ADQSRI", self.adqs_runin, ADQSRI_COLUMNS),
            ("ADLB", self.adlb, ADLB_COLUMNS),
            ("ADTTE", self.adtte, ADTTE_COLUMNS),
            ("ADAE", self.adae, ADAE_COLUMNS),
        ):
            missing = [c for c in columns if c not in frame.columns]
            if missing:
                raise AnalysisDatasetError(f"{name} lacks required column(s) {missing}; it has {list(frame.columns)}")

    @property
    def randomized(self) -> pd.DataFrame:
        return self.adsl[self.adsl["RANDFL"]]

    @property
    def fas(self) -> pd.DataFrame:
        """The full analysis set: randomized, treated, with a baseline ALSFRS-R (the mITT of the model trial)."""
        return self.adsl[self.adsl["FASFL"]]


def primary_visit_code(protocol: Protocol) -> str:
    """The visit of the primary analysis: the primary endpoint's, else the first endpoint visit, else the last."""
    primary = protocol.primary_endpoint()
    if primary is not None and primary.visit:
        return primary.visit
    return next((e.visit for e in protocol.endpoints if e.visit), protocol.visits[-1].code)


def add_change_from_baseline(long: pd.DataFrame, *, baseline_visit: str) -> pd.DataFrame:
    """Add ``BASE`` (the value at ``baseline_visit``) and ``CHG`` to a long AVAL frame."""
    base = long.loc[long["AVISIT"] == baseline_visit, ["USUBJID", "AVAL"]].rename(columns={"AVAL": "BASE"})
    out = long.drop(columns=[c for c in ("BASE", "CHG") if c in long.columns]).merge(base, on="USUBJID", how="left")
    out["CHG"] = out["AVAL"] - out["BASE"]
    return out
