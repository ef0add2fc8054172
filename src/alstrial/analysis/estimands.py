"""Estimands (ICH E9(R1)): the intercurrent events of each participant and how a strategy uses the data.

``ADICE`` holds one row per participant and intercurrent event (``EVENT``, study day ``ADY``
from the first dose). For an analysis of ALSFRS-R values (``ADQS``):

- treatment policy: every value is used, whatever happened;
- hypothetical / while on treatment: values recorded *after* the event are set aside, so the
  likelihood-based model treats them as missing at random (hypothetical) or the variable stops
  at the event (while on treatment);
- composite: the event is part of the variable; the endpoint's engine handles it (CAFS ranks
  death first, the time-to-event endpoint counts it, the responder rule counts it as failure),
  so the values are not changed here;
- principal stratum: not estimable by these engines; the analysis says so and uses all values.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from alstrial.protocol.models import Estimand
from alstrial.store.models import IntercurrentEvent, Participant, TreatmentDiscontinuation

ADICE_COLUMNS = ("USUBJID", "EVENT", "ADY")


def empty_adice() -> pd.DataFrame:
    return pd.DataFrame({"USUBJID": pd.Series(dtype=object), "EVENT": pd.Series(dtype=object), "ADY": []})


def adice_from_store(session: Session) -> pd.DataFrame:
    """Every recorded intercurrent event and treatment discontinuation, as a study day from day 0."""
    events = session.execute(
        select(Participant.code, Participant.day0, IntercurrentEvent.kind, IntercurrentEvent.event_date).join(
            Participant, Participant.id == IntercurrentEvent.participant_id
        )
    ).all()
    stops = session.execute(
        select(Participant.code, Participant.day0, TreatmentDiscontinuation.discontinued_on).join(
            Participant, Participant.id == TreatmentDiscontinuation.participant_id
        )
    ).all()
    rows = [(code, kind, (on - day0).days) for code, day0, kind, on in events if day0 is not None]
    rows += [(code, "treatment_discontinuation", (on - day0).days) for code, day0, on in stops if day0 is not None]
    if not rows:
        return empty_adice()
    out = pd.DataFrame(rows, columns=list(ADICE_COLUMNS))
    return out.sort_values(["USUBJID", "ADY", "EVENT"]).reset_index(drop=True)


@dataclass(frozen=True)
class StrategyLog:
    """What applying an estimand's strategies did to the data, for results.json and the report."""

    estimand: str
    handled: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"estimand": self.estimand, "intercurrent_events": self.handled}


def apply_strategies(
    adqs: pd.DataFrame, adice: pd.DataFrame, estimand: Estimand | None
) -> tuple[pd.DataFrame, StrategyLog]:
    """``adqs`` with the values each strategy sets aside removed, and a log of what was done."""
    if estimand is None:
        return adqs, StrategyLog("none")
    log = StrategyLog(estimand.id)
    keep = pd.Series(True, index=adqs.index)
    for h in estimand.intercurrent_events:
        ev = adice[adice["EVENT"] == h.event].groupby("USUBJID")["ADY"].min()
        participants = int(ev.index.isin(adqs["USUBJID"]).sum())
        after = adqs["USUBJID"].map(ev)
        hit = after.notna() & (adqs["ADY"] > after)
        entry: dict[str, Any] = {"event": h.event, "strategy": h.strategy, "participants": participants}
        if h.strategy in ("hypothetical", "while_on_treatment"):
            keep &= ~hit
            entry["values_set_aside"] = int(hit.sum())
        elif h.strategy == "principal_stratum":
            entry["note"] = "principal stratum is not estimable by this analysis; all values are used"
        else:
            entry["values_set_aside"] = 0
        log.handled.append(entry)
    return adqs[keep].reset_index(drop=True), log
