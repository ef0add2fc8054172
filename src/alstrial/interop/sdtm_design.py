"""SDTM trial design datasets (TA, TE, TV, TI, TS) from the protocol alone.

They describe the planned design (both arms are public in any protocol), so blinded users get
them too: nothing here says which participant got which arm.
"""

from __future__ import annotations

import pandas as pd

from alstrial.interop.sdtm_timing import EPOCHS
from alstrial.protocol.models import Protocol


def _elements(protocol: Protocol) -> list[tuple[str, str, str, str, str]]:
    """(ETCD, ELEMENT, TESTRL, TEENRL, TEDUR) in schedule order; one treatment element per arm."""
    first_dose = protocol.dose_visits()[0]
    last = protocol.visits[-1]
    weeks_treated = (max(v.day for v in protocol.dose_visits()) - first_dose.day) // 7 + 8
    out = [("SCRN", "Screening", "Informed consent", "Enrolment into the run-in", "")]
    if any(v.phase == "run_in" for v in protocol.visits):
        out.append(("RUNIN", "Run-in", "Enrolment", "First dose of study treatment", ""))
    for arm in protocol.arms:
        out.append(
            (
                arm.code[:8].upper(),
                arm.name,
                f"First intrathecal dose of {arm.name.lower()}",
                f"{weeks_treated} weeks after the first dose",
                f"P{weeks_treated}W",
            )
        )
    if any(v.phase == "follow_up" for v in protocol.visits):
        out.append(("FU", "Follow-up", "End of the treatment element", f"Visit {last.code} (day {last.day})", ""))
    return out


def ta(protocol: Protocol) -> pd.DataFrame:
    rows = []
    elements = _elements(protocol)
    arm_codes = {a.code[:8].upper() for a in protocol.arms}
    for arm in protocol.arms:
        order = 0
        for etcd, element, *_ in elements:
            if etcd in arm_codes and etcd != arm.code[:8].upper():
                continue
            order += 1
            epoch = {"SCRN": "SCREENING", "RUNIN": "RUN-IN", "FU": "FOLLOW-UP"}.get(etcd, "TREATMENT")
            branch = "Randomized to " + arm.name if etcd == "RUNIN" else ""
            rows.append((arm.code, arm.name.upper(), float(order), etcd, element, branch, "", epoch))
    cols = ["ARMCD", "ARM", "TAETORD", "ETCD", "ELEMENT", "TABRANCH", "TATRANS", "EPOCH"]
    return _finish(pd.DataFrame(rows, columns=cols), protocol, "TA")


def te(protocol: Protocol) -> pd.DataFrame:
    cols = ["ETCD", "ELEMENT", "TESTRL", "TEENRL", "TEDUR"]
    return _finish(pd.DataFrame(_elements(protocol), columns=cols), protocol, "TE")


def tv(protocol: Protocol) -> pd.DataFrame:
    rows = []
    for i, v in enumerate(protocol.visits, start=1):
        rule = f"Day {v.day} relative to the first dose (window -{v.window_before}/+{v.window_after} days)"
        rows.append((float(i), v.name.upper(), float(v.day), rule, ""))
    cols = ["VISITNUM", "VISIT", "VISITDY", "TVSTRL", "TVENRL"]
    return _finish(pd.DataFrame(rows, columns=cols), protocol, "TV")


def ti(protocol: Protocol) -> pd.DataFrame:
    rows = [(c.id, c.text[:200], c.kind.upper(), "1") for c in protocol.eligibility]
    return _finish(pd.DataFrame(rows, columns=["IETESTCD", "IETEST", "IECAT", "TIVERS"]), protocol, "TI")


def ts(protocol: Protocol) -> pd.DataFrame:
    """Trial summary parameters (TSPARMCD from the CDISC TSPARMCD codelist)."""
    control = next((a for a in protocol.arms if a.is_control), None)
    params: list[tuple[str, str, str]] = [
        ("TITLE", "Trial Title", protocol.title),
        ("TPHASE", "Trial Phase Classification", f"PHASE {protocol.phase} TRIAL".upper()),
        ("TTYPE", "Trial Type", "EFFICACY"),
        ("TTYPE", "Trial Type", "SAFETY"),
        ("RANDOM", "Trial is Randomized", "Y"),
        ("TBLIND", "Trial Blinding Schema", "DOUBLE BLIND"),
        ("TCNTRL", "Control Type", "PLACEBO" if control else "NONE"),
        ("INTMODEL", "Intervention Model", "PARALLEL"),
        ("NARMS", "Planned Number of Arms", str(len(protocol.arms))),
        ("PLANSUB", "Planned Number of Subjects", str(protocol.sample_size)),
        ("INDIC", "Trial Disease/Condition Indication", "Amyotrophic Lateral Sclerosis"),
        ("TRT", "Investigational Therapy or Treatment", protocol.dosing.product),
        ("ROUTE", "Route of Administration", protocol.dosing.route.upper()),
        ("STYPE", "Study Type", "INTERVENTIONAL"),
        ("SDTIGVER", "SDTM IG Version", "3.4"),
        ("SDTMVER", "SDTM Version", "2.0"),
    ]
    ages = [c for c in protocol.eligibility if c.field == "age_years" and c.rule == "between"]
    if ages and ages[0].min is not None:
        params.append(("AGEMIN", "Planned Minimum Age of Subjects", f"P{int(ages[0].min)}Y"))
    if ages and ages[0].max is not None:
        params.append(("AGEMAX", "Planned Maximum Age of Subjects", f"P{int(ages[0].max)}Y"))
    if protocol.registry_id.startswith("NCT"):
        params.append(("REGID", "Registry Identifier", protocol.registry_id))
    primary = protocol.primary_endpoint()
    if primary is not None:
        params.append(("OUTMSPRI", "Primary Outcome Measure", primary.name))
    rows: list[tuple[object, ...]] = []
    seq_of: dict[str, int] = {}
    for code, name, value in params:
        seq_of[code] = seq_of.get(code, 0) + 1
        rows.append((float(seq_of[code]), code, name, value[:200], "", "", "", ""))
    cols = ["TSSEQ", "TSPARMCD", "TSPARM", "TSVAL", "TSVALNF", "TSVALCD", "TSVCDREF", "TSVCDVER"]
    return _finish(pd.DataFrame(rows, columns=cols), protocol, "TS")


def _finish(frame: pd.DataFrame, protocol: Protocol, domain: str) -> pd.DataFrame:
    frame.insert(0, "DOMAIN", domain)
    frame.insert(0, "STUDYID", protocol.id)
    return frame


def design_domains(protocol: Protocol) -> dict[str, pd.DataFrame]:
    return {"TA": ta(protocol), "TE": te(protocol), "TV": tv(protocol), "TI": ti(protocol), "TS": ts(protocol)}


__all__ = ["EPOCHS", "design_domains", "ta", "te", "ti", "ts", "tv"]
