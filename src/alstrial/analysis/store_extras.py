"""What the report shows beyond the analysis datasets, read from the capture database (read-only).

ALSFRS-R domain scores by visit, who was seen at which visit, and the data-quality facts a
monitor and a DSMB ask for: out-of-window visits, queries opened and closed, corrections.
None of these frames carries an arm; a report joins arms only when its audience may see them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from alstrial.store.models import AlsfrsAssessment, Participant, VisitRecord
from alstrial.store.models.audit import AuditRecord
from alstrial.store.models.query import DataQuery

DOMAINS = ("bulbar", "fine_motor", "gross_motor", "respiratory")


def _frame(session: Session, stmt: Any) -> pd.DataFrame:
    result = session.execute(stmt)
    return pd.DataFrame(result.fetchall(), columns=list(result.keys()))


def visits_from_store(session: Session) -> pd.DataFrame:
    """One row per recorded visit: USUBJID, AVISIT, ADY, in-window flag, deviation and ALSFRS-R domains."""
    stmt = (
        select(
            Participant.code.label("USUBJID"),
            VisitRecord.visit_code.label("AVISIT"),
            VisitRecord.study_day.label("ADY"),
            VisitRecord.in_window.label("INWINDOW"),
            VisitRecord.deviation_days.label("DEVDAYS"),
            VisitRecord.out_of_window_reason.label("OOWREAS"),
            *(getattr(AlsfrsAssessment, d).label(d.upper()) for d in DOMAINS),
            AlsfrsAssessment.total.label("TOTAL"),
        )
        .join(Participant, Participant.id == VisitRecord.participant_id)
        .outerjoin(AlsfrsAssessment, AlsfrsAssessment.visit_record_id == VisitRecord.id)
        .order_by(Participant.code, VisitRecord.study_day)
    )
    return _frame(session, stmt)


@dataclass(frozen=True)
class DataQuality:
    """Counts for the data-quality appendix (no arms)."""

    visits: int
    out_of_window: pd.DataFrame  # USUBJID, AVISIT, DEVDAYS, OOWREAS
    queries: dict[str, int]
    query_days_to_close_median: float | None
    corrections: pd.DataFrame  # entity, corrections
    imports: int
    signatures: dict[str, Any] | None  # filled by the report workflow from the signature services

    def to_dict(self) -> dict[str, Any]:
        return {
            "visits": self.visits,
            "out_of_window": len(self.out_of_window),
            "queries": self.queries,
            "query_days_to_close_median": self.query_days_to_close_median,
            "corrections": {str(r["entity"]): int(r["corrections"]) for _, r in self.corrections.iterrows()},
            "imports": self.imports,
            "signatures": self.signatures,
        }


def data_quality_from_store(session: Session) -> DataQuality:
    visits = visits_from_store(session)
    oow = visits.loc[~visits["INWINDOW"].astype(bool), ["USUBJID", "AVISIT", "DEVDAYS", "OOWREAS"]].reset_index(
        drop=True
    )
    q = _frame(session, select(DataQuery.status, DataQuery.opened_at, DataQuery.closed_at))
    queries = {"opened": len(q), **{str(k): int(v) for k, v in q["status"].value_counts().sort_index().items()}}
    closed = q[q["closed_at"].notna()]
    days = (
        (
            (
                pd.to_datetime(closed["closed_at"], utc=True) - pd.to_datetime(closed["opened_at"], utc=True)
            ).dt.total_seconds()
            / 86400
        )
        if len(closed)
        else pd.Series(dtype=float)
    )
    corrections = _frame(
        session,
        select(AuditRecord.entity, func.count().label("corrections"))
        .where(AuditRecord.action.like("%.correct"))
        .group_by(AuditRecord.entity)
        .order_by(AuditRecord.entity),
    )
    imports = session.execute(select(func.count()).where(AuditRecord.action == "import")).scalar_one()
    return DataQuality(
        visits=len(visits),
        out_of_window=oow,
        queries=queries,
        query_days_to_close_median=float(days.median()) if len(days) else None,
        corrections=corrections,
        imports=int(imports),
        signatures=None,
    )
