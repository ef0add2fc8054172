"""Analysis datasets from a locked, unblinded capture database (read-only).

The arm is joined here and only here, and only once the trial is unblinded: before that the
datasets cannot be built, so no analysis can leak the allocation.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from alstrial.analysis.datasets import AnalysisDatasets, add_change_from_baseline, primary_visit_code
from alstrial.analysis.slope_rule import slope_rule
from alstrial.errors import AlstrialError
from alstrial.instruments.progression import MONTH_DAYS
from alstrial.protocol.models import Protocol
from alstrial.stats.responder_slopes import pre_treatment_slopes
from alstrial.store.models import (
    Administration,
    AdverseEvent,
    AllocationSlot,
    AlsfrsAssessment,
    CsfSample,
    EligibilityOutcome,
    IntercurrentEvent,
    LabResult,
    Participant,
    Site,
    StudyWithdrawal,
    Trial,
    VisitRecord,
    VitalCapacity,
)

TTE_EVENTS = ("death", "permanent_assisted_ventilation", "tracheostomy")


class TrialStillBlinded(AlstrialError):
    """Analysis datasets with arms need a locked and unblinded database."""


def _frame(session: Session, stmt: object) -> pd.DataFrame:
    result = session.execute(stmt)  # type: ignore[call-overload]
    return pd.DataFrame(result.fetchall(), columns=list(result.keys()))


def datasets_from_store(session: Session, protocol: Protocol, *, interim: bool = False) -> AnalysisDatasets:
    """Derive ADSL, ADQS, ADLB and ADTTE from the capture database.

    ``interim=True`` builds them from an unlocked or still-blinded database for an interim look; the
    caller must have checked that its user may see arms (``workflows.analyze`` does).
    """
    trial = session.execute(select(Trial)).scalar_one()
    if not interim and (not trial.locked or trial.unblinded_at is None):
        raise TrialStillBlinded("lock and unblind the database before deriving analysis datasets with arms")
    part = _frame(
        session,
        select(
            Participant.id,
            Participant.code,
            Site.code.label("site"),
            Participant.status,
            Participant.eligible,
            Participant.screening_json,
            Participant.day0,
            AllocationSlot.arm,
        )
        .join(Site, Site.id == Participant.site_id)
        .outerjoin(AllocationSlot, AllocationSlot.participant_id == Participant.id)
        .order_by(Participant.id),
    )
    screening = pd.DataFrame([json.loads(s) for s in part["screening_json"]])
    failed = _frame(
        session,
        select(EligibilityOutcome.participant_id, EligibilityOutcome.criterion_id).where(~EligibilityOutcome.passed),
    )
    failcrit = failed.groupby("participant_id")["criterion_id"].agg(lambda c: ";".join(sorted(c)))
    visits = _frame(
        session,
        select(VisitRecord.id, VisitRecord.participant_id, VisitRecord.visit_code, VisitRecord.study_day).order_by(
            VisitRecord.participant_id, VisitRecord.study_day
        ),
    )
    alsfrs = _frame(session, select(AlsfrsAssessment.visit_record_id, AlsfrsAssessment.total))
    svc = _frame(session, select(VitalCapacity.visit_record_id, VitalCapacity.percent_predicted))
    doses = _frame(session, select(Administration.participant_id, Administration.dose_number))
    withdrawals = _frame(
        session, select(StudyWithdrawal.participant_id, StudyWithdrawal.withdrawn_on, StudyWithdrawal.reason_code)
    )
    events = _frame(
        session, select(IntercurrentEvent.participant_id, IntercurrentEvent.kind, IntercurrentEvent.event_date)
    )

    arm_of = dict(zip(part["id"], part["arm"], strict=True))
    code_of = dict(zip(part["id"], part["code"], strict=True))
    v = visits.merge(alsfrs, left_on="id", right_on="visit_record_id", how="left").merge(
        svc, left_on="id", right_on="visit_record_id", how="left", suffixes=("", "_svc")
    )
    baseline_visit = protocol.dose_visits()[0].code
    primary_visit = primary_visit_code(protocol)
    first_visit = protocol.visits[0].code
    base = v[v["visit_code"] == baseline_visit].set_index("participant_id")
    scr = v[v["visit_code"] == first_visit].set_index("participant_id")
    completed_ids = set(v.loc[v["visit_code"] == primary_visit, "participant_id"])
    randomized = part["arm"].notna().to_numpy()
    # months from onset to first dose = at screening + the planned screening-to-dose gap
    months_at_dose = screening["months_since_onset"] - protocol.visits[0].day / MONTH_DAYS
    pre_treatment = v[(v["study_day"] <= 0) & v["total"].notna()]
    pre_slope_of = pre_treatment_slopes(
        pre_treatment,
        slope_rule(protocol),
        subject="participant_id",
        day="study_day",
        score="total",
        months_since_onset=pd.Series(months_at_dose.to_numpy(), index=part["id"].to_numpy()),
    )
    pre_slope = part["id"].map(pre_slope_of).astype(float)
    reasons = withdrawals.set_index("participant_id")["reason_code"]
    adsl = pd.DataFrame(
        {
            "USUBJID": part["code"],
            "SITEID": part["site"],
            "ARM": part["arm"],
            "AGE": screening["age_years"],
            "SEX": screening["sex"],
            "ONSETREG": screening["onset_region"],
            "RILUZFL": screening["riluzole"].astype(bool),
            "MOSONSET": months_at_dose,
            "ELIGFL": part["status"] != "screen_failed",
            "FAILCRIT": part["id"].map(failcrit).fillna(""),
            "RANDFL": randomized,
            "SAFFL": part["id"].isin(doses["participant_id"]).to_numpy(),
            "COMPLFL": part["id"].isin(completed_ids).to_numpy() & randomized,
            # "LOST TO FOLLOW-UP" -> "lost_to_follow_up": the simulator's (and CDISC-like) reason codes
            "DCSREAS": part["id"].map(reasons).fillna("").str.lower().str.replace(r"[ -]", "_", regex=True),
            "SCRALS": part["id"].map(scr["total"]).astype(float),
            "BASEALS": part["id"].map(base["total"]).astype(float),
            "PRESLOPE": pre_slope.to_numpy(),
            "SVCBL": part["id"].map(base["percent_predicted"]).astype(float),
        }
    )
    adsl["FASFL"] = adsl["RANDFL"] & adsl["SAFFL"] & adsl["BASEALS"].notna()
    adsl.loc[adsl["RANDFL"] & ~adsl["COMPLFL"] & (adsl["DCSREAS"] == ""), "DCSREAS"] = "missed_primary_visit"
    adsl["ALSBAND"] = np.where(adsl["BASEALS"] >= 35, "ge35", "lt35")

    on = v[(v["study_day"] >= 0) & v["total"].notna() & v["participant_id"].map(arm_of).notna()]
    day_of = {vis.code: vis.day for vis in protocol.visits}
    adqs = pd.DataFrame(
        {
            "USUBJID": on["participant_id"].map(code_of),
            "ARM": on["participant_id"].map(arm_of),
            "AVISIT": on["visit_code"],
            "AVISITN": on["visit_code"].map(day_of) / 7.0,
            "ADY": on["study_day"],
            "AVAL": on["total"].astype(float),
        }
    )
    adqs = add_change_from_baseline(adqs, baseline_visit=baseline_visit)
    ri = v[v["total"].notna() & v["participant_id"].map(arm_of).notna()]
    adqs_runin = pd.DataFrame(
        {
            "USUBJID": ri["participant_id"].map(code_of),
            "ARM": ri["participant_id"].map(arm_of),
            "ADY": ri["study_day"],
            "AVAL": ri["total"].astype(float),
        }
    )

    lab = _frame(
        session,
        select(
            CsfSample.participant_id,
            CsfSample.visit_code,
            LabResult.analyte,
            LabResult.value_std,
            LabResult.below_lloq,
            LabResult.lloq_std,
        ).join(CsfSample, CsfSample.id == LabResult.sample_pk),
    )
    lab = lab[lab["participant_id"].map(arm_of).notna()]
    adlb = pd.DataFrame(
        {
            "USUBJID": lab["participant_id"].map(code_of),
            "ARM": lab["participant_id"].map(arm_of),
            "PARAMCD": lab["analyte"],
            "AVISIT": lab["visit_code"],
            "ADY": lab["visit_code"].map(day_of),
            "AVAL": lab["value_std"].astype(float),
            "BLQFL": lab["below_lloq"].astype(bool),
            "LLOQ": lab["lloq_std"].astype(float),
        }
    )

    # time to event counts from the first dose, so only the full analysis set has one
    rand = part[part["code"].isin(adsl.loc[adsl["FASFL"], "USUBJID"])]
    day0 = dict(zip(rand["id"], pd.to_datetime(rand["day0"]), strict=True))
    last_day = v[v["participant_id"].isin(rand["id"])].groupby("participant_id")["study_day"].max()
    ev = events[events["kind"].isin(TTE_EVENTS) & events["participant_id"].isin(rand["id"])].copy()
    ev["day"] = [(pd.Timestamp(d) - day0[p]).days for p, d in zip(ev["participant_id"], ev["event_date"], strict=True)]
    first_event = ev.groupby("participant_id")["day"].min()
    has_event = rand["id"].isin(first_event.index).to_numpy()
    adtte = pd.DataFrame(
        {
            "USUBJID": rand["code"],
            "ARM": rand["arm"],
            "PARAMCD": "DTHPAV",
            "AVAL": np.where(has_event, rand["id"].map(first_event), rand["id"].map(last_day)).astype(float),
            "CNSR": np.where(has_event, 0, 1),
        }
    )
    ae = _frame(
        session,
        select(
            AdverseEvent.participant_id, AdverseEvent.term, AdverseEvent.serious, AdverseEvent.severity,
            AdverseEvent.relatedness, AdverseEvent.outcome, AdverseEvent.onset_date,
        ).order_by(AdverseEvent.id),
    )  # fmt: skip
    ae = ae[ae["participant_id"].map(arm_of).notna()]
    anchor = dict(zip(part["id"], pd.to_datetime(part["day0"]), strict=True))
    adae = pd.DataFrame(
        {
            "USUBJID": ae["participant_id"].map(code_of),
            "ARM": ae["participant_id"].map(arm_of),
            "AETERM": ae["term"],
            "AESER": ae["serious"].astype(bool),
            "AESEV": ae["severity"],
            "AEREL": ae["relatedness"],
            "AEOUT": ae["outcome"],
            "AESTDY": [
                (pd.Timestamp(d) - anchor[p]).days if pd.notna(anchor.get(p)) else None
                for p, d in zip(ae["participant_id"], ae["onset_date"], strict=True)
            ],
        }
    )
    return AnalysisDatasets(
        adsl=adsl, adqs=adqs.reset_index(drop=True), adqs_runin=adqs_runin, adlb=adlb, adtte=adtte, adae=adae
    )
