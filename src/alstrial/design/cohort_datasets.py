"""Analysis datasets from the simulator's fast path (no database): for power and tests."""

from __future__ import annotations

import numpy as np
import pandas as pd

from alstrial.analysis.datasets import (
    ADLB_COLUMNS,
    AnalysisDatasetError,
    AnalysisDatasets,
    add_change_from_baseline,
    primary_visit_code,
)
from alstrial.analysis.estimands import ADICE_COLUMNS, empty_adice
from alstrial.analysis.slope_rule import slope_rule
from alstrial.protocol.models import Protocol
from alstrial.simulate.cohort import Cohort
from alstrial.simulate.intercurrent import EVENT_KINDS, recorded, study_day
from alstrial.stats.responder_slopes import pre_treatment_slopes


def visit_code(protocol: Protocol, day: int) -> str:
    """The protocol visit whose window contains ``day`` (nearest target day otherwise)."""
    return min(protocol.visits, key=lambda v: abs(v.day - day)).code


def visit_codes(protocol: Protocol, days: pd.Series) -> list[str]:
    """:func:`visit_code` of every day (looked up once per distinct day)."""
    days = days.astype(int)
    code = {d: visit_code(protocol, d) for d in days.unique().tolist()}
    return [code[d] for d in days.tolist()]


def datasets_from_cohort(cohort: Cohort, protocol: Protocol) -> AnalysisDatasets:
    """Map a simulated cohort onto the analysis dataset contract.

    The cohort must be simulated with the protocol's arm codes (``arms=`` and ``control_arm=`` of
    ``simulate_cohort``): the analysis plan compares arms by those codes.
    """
    p = cohort.participants
    codes = {a.code for a in protocol.arms}
    unknown = sorted(set(p["arm"].astype(str)) - codes)
    if unknown:
        raise AnalysisDatasetError(
            f"cohort arms {unknown!r} are not arms of protocol {protocol.id!r} (expected some of {sorted(codes)!r}); "
            "simulate the cohort with arms= and control_arm= set to the protocol's arm codes"
        )
    primary_day = protocol.visit(primary_visit_code(protocol)).day
    completed = p["dropout_day"].isna() | (p["dropout_day"] > primary_day)
    v = cohort.visits
    pre = v.loc[(v["day"] <= 0) & v["total"].notna(), ["id", "day", "total"]]
    pre_slope = pre_treatment_slopes(
        pre,
        slope_rule(protocol),
        subject="id",
        day="day",
        score="total",
        months_since_onset=pd.Series(p["months_since_onset"].to_numpy(float), index=p["id"].to_numpy()),
    )
    adsl = pd.DataFrame(
        {
            "USUBJID": p["id"],
            "SITEID": "S" + p["site"].astype(int).astype(str).str.zfill(2),
            "ARM": p["arm"],
            "AGE": p["age"].astype(float).round(0).astype(int),
            "SEX": p["sex"],
            "ONSETREG": p["onset_region"],
            "RILUZFL": p["riluzole"].astype(bool),
            "MOSONSET": p["months_since_onset"].astype(float),
            "ELIGFL": True,
            "FAILCRIT": "",
            "RANDFL": True,
            "SAFFL": True,
            "FASFL": p["baseline_total"].notna().to_numpy(),
            "COMPLFL": completed.to_numpy(),
            "DCSREAS": np.where(completed, "", p["dropout_reason"].fillna("").astype(str)),
            "SCRALS": p["screening_total"].astype(float),
            "BASEALS": p["baseline_total"].astype(float),
            "PRESLOPE": p["id"].map(pre_slope).astype(float).to_numpy(),
            "SVCBL": p["baseline_svc"].astype(float),
        }
    )
    adsl["ALSBAND"] = np.where(adsl["BASEALS"] >= 35, "ge35", "lt35")
    arm_of = dict(zip(adsl["USUBJID"], adsl["ARM"], strict=True))

    on_study = v[v["day"] >= 0]
    adqs = pd.DataFrame(
        {
            "USUBJID": on_study["id"],
            "ARM": on_study["id"].map(arm_of),
            "AVISIT": visit_codes(protocol, on_study["day"]),
            "AVISITN": on_study["day"].to_numpy() / 7.0,
            "ADY": on_study["day"].to_numpy(),
            "AVAL": on_study["total"].astype(float).to_numpy(),
        }
    )
    adqs = add_change_from_baseline(adqs, baseline_visit=visit_code(protocol, 0))
    adqs_runin = pd.DataFrame(
        {"USUBJID": v["id"], "ARM": v["id"].map(arm_of), "ADY": v["day"], "AVAL": v["total"].astype(float)}
    )

    lb_frames = []
    for analyte in protocol.analytes:
        col = analyte.code.lower()
        if col not in v.columns:
            continue
        rows = v[v[col].notna() | v[f"{col}_blq"].eq(True)]
        lb_frames.append(
            pd.DataFrame(
                {
                    "USUBJID": rows["id"],
                    "ARM": rows["id"].map(arm_of),
                    "PARAMCD": analyte.code,
                    "AVISIT": visit_codes(protocol, rows["day"]),
                    "ADY": rows["day"],
                    "AVAL": rows[col].astype(float),
                    "BLQFL": rows[f"{col}_blq"].eq(True).to_numpy(),
                    "LLOQ": analyte.lloq,
                }
            )
        )
    adlb = pd.concat(lb_frames, ignore_index=True) if lb_frames else pd.DataFrame(columns=list(ADLB_COLUMNS))

    # Only events on or after day 0 count: follow-up for the time-to-event endpoint starts at first dose.
    events = p[["death_day", "pav_day", "tracheostomy_day"]]
    event_day = events.where(events >= 0).min(axis=1)
    last_contact = p["dropout_day"].fillna(primary_day).clip(upper=primary_day)
    has_event = event_day.notna() & (event_day <= last_contact)
    adtte = pd.DataFrame(
        {
            "USUBJID": p["id"],
            "ARM": p["arm"],
            "PARAMCD": "DTHPAV",
            "AVAL": np.where(has_event, event_day, last_contact).astype(float),
            "CNSR": np.where(has_event, 0, 1),
        }
    )
    return AnalysisDatasets(adsl=adsl, adqs=adqs.reset_index(drop=True), adqs_runin=adqs_runin, adlb=adlb, adtte=adtte)


def adice_from_cohort(cohort: Cohort, protocol: Protocol) -> pd.DataFrame:
    """The intercurrent events (ADICE) the sites would have recorded for a simulated cohort.

    The same events, kinds and study days as a trial captured by the virtual sites: events from
    day 0 while the participant is on study (``simulate.intercurrent``), so that an analysis
    plan given this ADICE applies the protocol's estimand strategies to a simulated trial as it
    would to the real one (values after permanent ventilation set aside, death a non-response).
    """
    p = cohort.participants
    last_visit = float(max(v.day for v in protocol.visits))
    left = p["dropout_day"].to_numpy(dtype=float)
    frames = []
    for name, kind in EVENT_KINDS.items():
        column = f"{name}_day"
        if column not in p:
            continue
        day = p[column].to_numpy(dtype=float)
        keep = recorded(day, left, last_visit)
        if keep.any():
            frames.append(
                pd.DataFrame(
                    {"USUBJID": p["id"].to_numpy()[keep], "EVENT": kind, "ADY": study_day(day[keep]).astype(int)}
                )
            )
    if not frames:
        return empty_adice()
    out = pd.concat(frames, ignore_index=True)[list(ADICE_COLUMNS)]
    return out.sort_values(["USUBJID", "ADY", "EVENT"]).reset_index(drop=True)
