"""SDTM subject-level domains (DM, DS, EX, AE, SV, QS, LB, RE, VS and their SUPP--) from the capture database.

Reads the store read-only, the way ``analysis.from_store`` does. The allocation is joined only
when ``with_arms`` is true (the caller decides that with ``services.policy.sees_arm``): otherwise
the query never touches ``allocation_slot`` and the arm-revealing variables are not built at all.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from alstrial.interop.sdtm_spec import ALSFRS_TESTS, SPECS, supp_spec
from alstrial.interop.sdtm_timing import EpochClock, iso, study_day
from alstrial.protocol.models import Protocol
from alstrial.store.models import (
    Administration,
    AdverseEvent,
    AllocationSlot,
    AlsfrsAssessment,
    CsfSample,
    IntercurrentEvent,
    LabResult,
    Participant,
    ProductLot,
    Site,
    StudyWithdrawal,
    TreatmentDiscontinuation,
    VisitRecord,
    VitalCapacity,
    WeightMeasurement,
)

#: ISO 3166-1 alpha-2 -> alpha-3 for the countries sites are most often in (COUNTRY must be alpha-3)
_ALPHA3 = {
    "US": "USA", "CA": "CAN", "GB": "GBR", "UK": "GBR", "IE": "IRL", "FR": "FRA", "DE": "DEU", "NL": "NLD",
    "BE": "BEL", "IT": "ITA", "ES": "ESP", "PT": "PRT", "CH": "CHE", "AT": "AUT", "SE": "SWE", "NO": "NOR",
    "DK": "DNK", "FI": "FIN", "PL": "POL", "IL": "ISR", "AU": "AUS", "NZ": "NZL", "JP": "JPN", "CN": "CHN",
    "KR": "KOR", "IN": "IND", "BR": "BRA", "MX": "MEX", "AR": "ARG", "ZA": "ZAF",
}  # fmt: skip
_DEATH = "death"


def country3(code: str) -> str:
    code = code.upper()
    return _ALPHA3.get(code, code)


@dataclass(frozen=True)
class SubjectData:
    """What the subject-level domains are built from, one DataFrame per stored concept."""

    participants: pd.DataFrame
    visits: pd.DataFrame
    alsfrs: pd.DataFrame
    vital_capacity: pd.DataFrame
    weight: pd.DataFrame
    labs: pd.DataFrame
    doses: pd.DataFrame
    adverse_events: pd.DataFrame
    withdrawals: pd.DataFrame
    discontinuations: pd.DataFrame
    deaths: pd.DataFrame
    with_arms: bool


def _frame(session: Session, stmt: Any) -> pd.DataFrame:
    result = session.execute(stmt)
    return pd.DataFrame(result.fetchall(), columns=list(result.keys()))


def read_subject_data(session: Session, *, with_arms: bool) -> SubjectData:
    """Read every stored row the subject domains need (one query per concept)."""
    cols = [
        Participant.id,
        Participant.code,
        Participant.status,
        Participant.consent_date,
        Participant.screened_on,
        Participant.screening_json,
        Participant.randomized_at,
        Participant.day0,
        Site.code.label("site"),
        Site.country,
    ]
    stmt = select(*cols).join(Site, Site.id == Participant.site_id)
    if with_arms:
        stmt = stmt.add_columns(AllocationSlot.arm).outerjoin(
            AllocationSlot, AllocationSlot.participant_id == Participant.id
        )
    participants = _frame(session, stmt.order_by(Participant.code))
    if not with_arms:
        participants["arm"] = None
    visit_cols = (VisitRecord.id, VisitRecord.participant_id, VisitRecord.visit_code, VisitRecord.visit_date)
    visits = _frame(session, select(*visit_cols))
    alsfrs = _frame(
        session,
        select(
            AlsfrsAssessment.visit_record_id,
            AlsfrsAssessment.assessed_on,
            AlsfrsAssessment.total,
            *[getattr(AlsfrsAssessment, code) for code in ALSFRS_TESTS if code != "total"],
        ),
    )
    vc = _frame(
        session,
        select(
            VitalCapacity.visit_record_id,
            VitalCapacity.test,
            VitalCapacity.liters,
            VitalCapacity.percent_predicted,
            VitalCapacity.position,
        ),
    )
    weight = _frame(session, select(WeightMeasurement.visit_record_id, WeightMeasurement.weight_kg))
    labs = _frame(
        session,
        select(
            CsfSample.participant_id,
            CsfSample.sample_id,
            CsfSample.visit_code,
            CsfSample.collected_at,
            LabResult.analyte,
            LabResult.value_original,
            LabResult.unit_original,
            LabResult.value_std,
            LabResult.unit_std,
            LabResult.lloq_std,
            LabResult.below_lloq,
            LabResult.assay,
        )
        .join(CsfSample, CsfSample.id == LabResult.sample_pk)
        .order_by(CsfSample.collected_at, LabResult.analyte),
    )
    doses = _frame(
        session,
        select(
            Administration.participant_id,
            Administration.dose_number,
            Administration.visit_code,
            Administration.administered_at,
            Administration.route,
            ProductLot.lot_number,
        )
        .join(ProductLot, ProductLot.id == Administration.lot_id)
        .order_by(Administration.participant_id, Administration.dose_number),
    )
    aes = _frame(session, select(*AdverseEvent.__table__.columns).order_by(AdverseEvent.id))
    withdrawals = _frame(
        session,
        select(
            StudyWithdrawal.participant_id,
            StudyWithdrawal.withdrawn_on,
            StudyWithdrawal.reason_code,
            StudyWithdrawal.reason_text,
        ),
    )
    deaths = _frame(
        session,
        select(IntercurrentEvent.participant_id, IntercurrentEvent.event_date).where(IntercurrentEvent.kind == _DEATH),
    )
    discontinuations = _frame(
        session,
        select(
            TreatmentDiscontinuation.participant_id,
            TreatmentDiscontinuation.discontinued_on,
            TreatmentDiscontinuation.reason_code,
            TreatmentDiscontinuation.reason_text,
        ),
    )
    return SubjectData(
        participants, visits, alsfrs, vc, weight, labs, doses, aes, withdrawals, discontinuations, deaths, with_arms
    )


def ordered(frame: pd.DataFrame, domain: str, *, with_arms: bool) -> pd.DataFrame:
    spec = SPECS[domain] if domain in SPECS else supp_spec(domain[4:])
    names = [v.name for v in spec.variables if with_arms or not v.arm_revealing]
    for v in spec.variables:
        if v.name not in frame.columns and v.name in names:
            frame[v.name] = np.nan if v.type == "Num" else ""
    out = frame[names].copy()
    for v in spec.variables:
        if v.name in out.columns:
            if v.type == "Num":
                out[v.name] = pd.to_numeric(out[v.name], errors="raise").astype(float)
            else:
                out[v.name] = out[v.name].fillna("").astype(str)
    return out.reset_index(drop=True)


def with_seq(frame: pd.DataFrame, prefix: str, sort: list[str]) -> pd.DataFrame:
    """Sort within subject and number the records: --SEQ is unique within USUBJID."""
    frame = frame.sort_values(["USUBJID", *sort], kind="stable").reset_index(drop=True)
    frame[f"{prefix}SEQ"] = frame.groupby("USUBJID").cumcount() + 1.0
    return frame


class SubjectDomains:
    """Builds DM, DS, EX, AE, SV, QS, LB, RE, VS and SUPPDM/SUPPLB for one trial."""

    def __init__(self, data: SubjectData, protocol: Protocol) -> None:
        self.data = data
        self.protocol = protocol
        self.studyid = protocol.id
        self.clock = EpochClock(protocol)
        self.visitnum = {v.code: float(i + 1) for i, v in enumerate(protocol.visits)}
        self.visitname = {v.code: v.name.upper() for v in protocol.visits}
        self.visitdy = {v.code: float(v.day) for v in protocol.visits}
        p = data.participants
        self.code_of = dict(zip(p["id"], p["code"], strict=True))
        self.day0_of: dict[int, date | None] = {
            k: (None if pd.isna(v) else v) for k, v in zip(p["id"], p["day0"], strict=True)
        }
        first_dose = data.doses.groupby("participant_id")["administered_at"].min()
        self.rfst_of: dict[int, date] = {int(k): v.date() for k, v in first_dose.items()}  # type: ignore[call-overload]
        visit_index = data.visits.set_index("id")
        self._visit_of = visit_index
        self.first_dose_visit = protocol.dose_visits()[0].code

    # -- helpers ------------------------------------------------------------------------------------
    def _usubjid(self, pid: Iterable[int]) -> list[str]:
        return [self.code_of[p] for p in pid]

    def _dy(self, pid: int, value: Any) -> float:
        return study_day(None if value is None or pd.isna(value) else value, self.rfst_of.get(pid))

    def _epoch(self, pid: int, value: Any) -> str:
        return self.clock.at(None if value is None or pd.isna(value) else value, self.day0_of.get(pid))

    def _base(self, domain: str, pids: Iterable[int]) -> dict[str, Any]:
        return {"STUDYID": self.studyid, "DOMAIN": domain, "USUBJID": self._usubjid(pids)}

    def _visit_rows(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Join the visit (participant, code, date) onto rows keyed by ``visit_record_id``."""
        return frame.merge(self.data.visits, left_on="visit_record_id", right_on="id", how="inner")

    def _lobxfl(self, frame: pd.DataFrame, date_col: str, key: list[str]) -> pd.Series:
        """'Y' on each subject's last record on or before the first dose's date (per test).

        Same-day records count: the protocol takes the first-dose visit's assessments before dosing.
        """
        rfst = frame["_pid"].map(self.rfst_of)
        dates = pd.to_datetime(frame[date_col]).dt.date
        before = [r is not None and not pd.isna(r) and d <= r for d, r in zip(dates, rfst, strict=True)]
        cand = frame[before].assign(_d=dates[before])
        flag = pd.Series("", index=frame.index)
        if len(cand):
            last = cand.sort_values("_d").groupby(["_pid", *key]).tail(1).index
            flag.loc[last] = "Y"
        return flag

    # -- special purpose ------------------------------------------------------------------------------
    def dm(self) -> pd.DataFrame:
        d, p = self.data, self.data.participants
        screening = [json.loads(s) for s in p["screening_json"]]
        last_dose = d.doses.groupby("participant_id")["administered_at"].max().to_dict()
        first_dose = d.doses.groupby("participant_id")["administered_at"].min().to_dict()
        last_visit = d.visits.groupby("participant_id")["visit_date"].max().to_dict()
        withdrawn = dict(zip(d.withdrawals["participant_id"], d.withdrawals["withdrawn_on"], strict=True))
        death = d.deaths.groupby("participant_id")["event_date"].min().to_dict()
        arm_name = {a.code: a.name.upper() for a in self.protocol.arms}
        dosed = set(d.doses["participant_id"])

        def last_of(pid: int) -> date | None:
            dates = [x for x in (last_visit.get(pid), withdrawn.get(pid), death.get(pid)) if x is not None]
            if pid in last_dose:
                dates.append(last_dose[pid].date())
            return max(dates) if dates else None

        def armnrs(pid: int, status: str) -> str:
            if status == "screen_failed":
                return "SCREEN FAILURE"
            if status != "randomized":
                return "NOT ASSIGNED"
            return "" if pid in dosed else "ASSIGNED, NOT TREATED"

        out = pd.DataFrame(
            {
                **self._base("DM", p["id"]),
                "SUBJID": p["code"],
                "RFSTDTC": [iso(self.rfst_of.get(i)) for i in p["id"]],
                "RFENDTC": [iso(last_of(i)) if i in self.rfst_of else "" for i in p["id"]],
                "RFXSTDTC": [iso(first_dose.get(i)) for i in p["id"]],
                "RFXENDTC": [iso(last_dose.get(i)) for i in p["id"]],
                "RFICDTC": [iso(c) for c in p["consent_date"]],
                "RFPENDTC": [iso(last_of(i) or s) for i, s in zip(p["id"], p["screened_on"], strict=True)],
                "DTHDTC": [iso(death.get(i)) for i in p["id"]],
                "DTHFL": ["Y" if i in death else "" for i in p["id"]],
                "SITEID": p["site"],
                "AGE": [float(s.get("age_years", np.nan)) for s in screening],
                "AGEU": "YEARS",
                "SEX": [str(s.get("sex", "")).upper() or "U" for s in screening],
                "ARMNRS": [armnrs(i, s) for i, s in zip(p["id"], p["status"], strict=True)],
                "COUNTRY": [country3(c) for c in p["country"]],
            }
        )
        if d.with_arms:
            treated = p["id"].isin(dosed)
            planned = p["arm"].where(p["status"] == "randomized")
            out["ARMCD"] = planned.fillna("")
            out["ARM"] = planned.map(arm_name).fillna("")
            out["ACTARMCD"] = planned.where(treated).fillna("")
            out["ACTARM"] = planned.where(treated).map(arm_name).fillna("")
        return ordered(out, "DM", with_arms=d.with_arms)

    def suppdm(self) -> pd.DataFrame:
        p = self.data.participants
        fields = {f.name: f for f in self.protocol.screening_fields}
        wanted = [("onset_region", "ONSETREG", "Site of ALS Onset"), ("el_escorial", "ELESCOR", "El Escorial Category")]
        rows = []
        for code, raw in zip(p["code"], p["screening_json"], strict=True):
            values = json.loads(raw)
            for field, qnam, qlabel in wanted:
                if field in fields and values.get(field) not in (None, ""):
                    rows.append((code, qnam, qlabel, str(values[field]).upper()))
        out = pd.DataFrame(rows, columns=["USUBJID", "QNAM", "QLABEL", "QVAL"])
        out["STUDYID"], out["RDOMAIN"], out["IDVAR"], out["IDVARVAL"] = self.studyid, "DM", "", ""
        out["QORIG"], out["QEVAL"] = "CRF", ""
        return ordered(out.sort_values(["USUBJID", "QNAM"]), "SUPPDM", with_arms=True)

    def sv(self) -> pd.DataFrame:
        v = self.data.visits.copy()
        v["_pid"] = v["participant_id"]
        day = {x.code: float(x.day) for x in self.protocol.visits}
        out = pd.DataFrame(
            {
                **self._base("SV", v["participant_id"]),
                "VISITNUM": v["visit_code"].map(self.visitnum),
                "VISIT": v["visit_code"].map(self.visitname),
                "VISITDY": v["visit_code"].map(day),
                "EPOCH": v["visit_code"].map(self.clock.by_visit),
                "SVSTDTC": [iso(x) for x in v["visit_date"]],
                "SVENDTC": [iso(x) for x in v["visit_date"]],
                "SVSTDY": [self._dy(i, x) for i, x in zip(v["participant_id"], v["visit_date"], strict=True)],
            }
        )
        out["SVENDY"] = out["SVSTDY"]
        return ordered(out.sort_values(["USUBJID", "VISITNUM"]), "SV", with_arms=True)

    # -- events --------------------------------------------------------------------------------------
    def ds(self) -> pd.DataFrame:
        d, p = self.data, self.data.participants
        # (participant, DSTERM, DSDECOD, DSCAT, DSSCAT, date): treatment and study disposition kept apart (ICH E9(R1))
        rows: list[tuple[int, str, str, str, str, Any]] = []
        for pid, status, consent, screened, rand_at in zip(
            p["id"], p["status"], p["consent_date"], p["screened_on"], p["randomized_at"], strict=True
        ):
            consented = "INFORMED CONSENT OBTAINED"
            rows.append((pid, consented, consented, "PROTOCOL MILESTONE", "", consent))
            if status == "screen_failed":
                rows.append(
                    (pid, "SCREEN FAILURE", "SCREEN FAILURE", "DISPOSITION EVENT", "STUDY PARTICIPATION", screened)
                )
            if rand_at is not None and not pd.isna(rand_at):
                rows.append((pid, "RANDOMIZED", "RANDOMIZED", "PROTOCOL MILESTONE", "", rand_at))
        for pid, on, reason, text in d.discontinuations.itertuples(index=False):
            rows.append((pid, text or reason, reason, "DISPOSITION EVENT", "STUDY TREATMENT", on))
        withdrawn = set()
        for pid, on, reason, text in d.withdrawals.itertuples(index=False):
            withdrawn.add(pid)
            rows.append((pid, text or reason, reason, "DISPOSITION EVENT", "STUDY PARTICIPATION", on))
        last_visit_code = self.protocol.visits[-1].code
        completers = d.visits.loc[d.visits["visit_code"] == last_visit_code, ["participant_id", "visit_date"]]
        for pid, on in completers.itertuples(index=False):
            if pid not in withdrawn:
                rows.append((pid, "COMPLETED", "COMPLETED", "DISPOSITION EVENT", "STUDY PARTICIPATION", on))
        frame = pd.DataFrame(rows, columns=["_pid", "DSTERM", "DSDECOD", "DSCAT", "DSSCAT", "_dt"])
        out = pd.DataFrame(
            {
                **self._base("DS", frame["_pid"]),
                "DSTERM": frame["DSTERM"].str.upper(),
                "DSDECOD": frame["DSDECOD"],
                "DSCAT": frame["DSCAT"],
                "DSSCAT": frame["DSSCAT"],
                "EPOCH": [self._epoch(i, x) for i, x in zip(frame["_pid"], frame["_dt"], strict=True)],
                "DSSTDTC": [iso(x) for x in frame["_dt"]],
                "DSSTDY": [self._dy(i, x) for i, x in zip(frame["_pid"], frame["_dt"], strict=True)],
            }
        )
        return ordered(with_seq(out, "DS", ["DSSTDTC"]), "DS", with_arms=True)

    def ex(self) -> pd.DataFrame:
        d = self.data
        x = d.doses
        arm_of = dict(zip(d.participants["id"], d.participants["arm"], strict=True))
        control = {a.code for a in self.protocol.arms if a.is_control}
        dosing = self.protocol.dosing
        if d.with_arms:
            trt = [dosing.placebo if arm_of.get(i) in control else dosing.product for i in x["participant_id"]]
        else:
            trt = [f"{dosing.product} OR {dosing.placebo} (BLINDED)"] * len(x)
        out = pd.DataFrame(
            {
                **self._base("EX", x["participant_id"]),
                "EXTRT": [t.upper() for t in trt],
                "EXDOSTXT": ["0" if arm_of.get(i) in control else dosing.amount.upper() for i in x["participant_id"]]
                if d.with_arms
                else "",
                "EXDOSFRM": "SUSPENSION",
                "EXROUTE": x["route"].str.upper(),
                "EXLOT": x["lot_number"],
                "VISITNUM": x["visit_code"].map(self.visitnum),
                "VISIT": x["visit_code"].map(self.visitname),
                "VISITDY": x["visit_code"].map(self.visitdy),
                "EPOCH": x["visit_code"].map(self.clock.by_visit),
                "EXSTDTC": [iso(t) for t in x["administered_at"]],
                "EXENDTC": [iso(t) for t in x["administered_at"]],
                "EXSTDY": [self._dy(i, t) for i, t in zip(x["participant_id"], x["administered_at"], strict=True)],
            }
        )
        out["EXENDY"] = out["EXSTDY"]
        return ordered(with_seq(out, "EX", ["EXSTDTC"]), "EX", with_arms=d.with_arms)

    def ae(self) -> pd.DataFrame:
        a = self.data.adverse_events

        def yn(col: str) -> list[str]:
            return [("Y" if v else "N") if s else "" for v, s in zip(a[col], a["serious"], strict=True)]

        out = pd.DataFrame(
            {
                **self._base("AE", a["participant_id"]),
                "AETERM": a["term"],
                # not MedDRA-coded: the verbatim term in upper case until a dictionary is attached (define.xml says so)
                "AEDECOD": a["term"].str.upper(),
                "AESEV": a["severity"],
                "AESER": ["Y" if s else "N" for s in a["serious"]],
                "AEACN": a["action_taken"],
                "AEREL": a["relatedness"],
                "AEOUT": a["outcome"],
                "AESCONG": yn("sae_congenital_anomaly"),
                "AESDISAB": yn("sae_disability"),
                "AESDTH": yn("sae_death"),
                "AESHOSP": yn("sae_hospitalization"),
                "AESLIFE": yn("sae_life_threatening"),
                "AESMIE": yn("sae_medically_important"),
                "EPOCH": [self._epoch(i, x) for i, x in zip(a["participant_id"], a["onset_date"], strict=True)],
                "AESTDTC": [iso(x) for x in a["onset_date"]],
                "AEENDTC": [iso(None if pd.isna(x) else x) for x in a["resolution_date"]],
                "AESTDY": [self._dy(i, x) for i, x in zip(a["participant_id"], a["onset_date"], strict=True)],
                "AEENDY": [self._dy(i, x) for i, x in zip(a["participant_id"], a["resolution_date"], strict=True)],
            }
        )
        return ordered(with_seq(out, "AE", ["AESTDTC", "AETERM"]), "AE", with_arms=True)
