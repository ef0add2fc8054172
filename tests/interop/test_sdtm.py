"""SDTM export of a simulated trial on SQLite and PostgreSQL: files, order, derivations, blinding, and
structure against the PHUSE Test Data Factory's XPTs for the same domains."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from exported_trial import ExportedTrial, exported_fixture, pg_trial_fixture, sqlite_trial_fixture  # noqa: F401
from sqlalchemy import func, select

from alstrial.interop.sdtm import ORDER
from alstrial.interop.sdtm_spec import SPECS
from alstrial.interop.xpt import read_xpt
from alstrial.services.context import CaptureDB
from alstrial.store.models import AlsfrsAssessment, Participant, TreatmentDiscontinuation

PHUSE = Path(__file__).resolve().parents[1] / "data" / "sdtm_phuse"
ISO = re.compile(r"^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}:\d{2})?$")
EPOCHS = {"SCREENING", "RUN-IN", "TREATMENT", "FOLLOW-UP"}
ARM_VARS = {"ARMCD", "ARM", "ACTARMCD", "ACTARM"}


def _read(folder: Path, name: str) -> pd.DataFrame:
    return read_xpt(folder / f"{name.lower()}.xpt")[0]


def _scalar(url: str, stmt: object) -> object:
    db = CaptureDB.from_url(url)
    try:
        with db.sessions() as s:
            return s.execute(stmt).scalar()  # type: ignore[call-overload]
    finally:
        db.dispose()


def test_every_domain_is_written_with_define_xml(exported: ExportedTrial) -> None:
    names = {p.name for p in exported.sdtm.iterdir()}
    dm = pd.read_sas(exported.sdtm / "dm.xpt", format="xport", encoding="ascii")  # an independent reader
    assert list(dm.columns) == list(_read(exported.sdtm, "DM").columns)
    assert names == {f"{n.lower()}.xpt" for n in ORDER} | {"define.xml"}
    assert (
        len(_read(exported.sdtm, "DM")) > 0
        and len(_read(exported.sdtm, "QS")) > 0
        and len(_read(exported.sdtm, "LB")) > 0
    )


def test_variables_follow_the_sdtmig_order(exported: ExportedTrial) -> None:
    for name, spec in SPECS.items():
        columns = list(_read(exported.sdtm, name).columns)
        assert columns == [v for v in spec.names if v in columns], name
        assert columns[:2] == ["STUDYID", "DOMAIN"]


def test_structure_matches_files_written_by_others(exported: ExportedTrial) -> None:
    """Shared variables appear in the same relative order and with the same type as in the PHUSE files."""
    for ours_name, ref_name in (("DM", "dm"), ("DS", "ds"), ("EX", "ex"), ("QS", "qsgi")):
        ours, _, _ = read_xpt(exported.sdtm / f"{ours_name.lower()}.xpt")
        ref, _, _ = read_xpt(PHUSE / f"{ref_name}.xpt")
        shared = [c for c in ref.columns if c in ours.columns]
        assert len(shared) >= 8, (ours_name, shared)
        assert [c for c in ours.columns if c in shared] == shared, ours_name
        for c in shared:
            assert pd.api.types.is_numeric_dtype(ours[c]) == pd.api.types.is_numeric_dtype(ref[c]), (ours_name, c)


def test_seq_is_unique_within_subject_and_dates_are_iso(exported: ExportedTrial) -> None:
    for name in ("DS", "EX", "AE", "QS", "LB", "RE", "VS"):
        frame = _read(exported.sdtm, name)
        assert not frame.duplicated(["USUBJID", f"{name}SEQ"]).any(), name
        for col in [c for c in frame.columns if c.endswith("DTC")]:
            values = [v for v in frame[col] if v]
            assert all(ISO.match(v) for v in values), (name, col, values[:3])
        if "EPOCH" in frame:
            assert set(frame["EPOCH"]) <= EPOCHS, name


def test_study_day_has_no_day_zero_and_counts_from_rfstdtc(exported: ExportedTrial) -> None:
    dm = _read(exported.sdtm, "DM").set_index("USUBJID")
    qs = _read(exported.sdtm, "QS")
    qs = qs[qs["QSDY"].notna()]
    assert (qs["QSDY"] != 0).all()
    for usubjid, dtc, dy in qs[["USUBJID", "QSDTC", "QSDY"]].itertuples(index=False):
        delta = (date.fromisoformat(dtc[:10]) - date.fromisoformat(dm.loc[usubjid, "RFSTDTC"][:10])).days
        assert dy == (delta + 1 if delta >= 0 else delta)
    assert {"RUN-IN", "TREATMENT"} <= set(qs["EPOCH"])


def test_qs_holds_items_and_the_derived_total(exported: ExportedTrial) -> None:
    qs = _read(exported.sdtm, "QS")
    assert set(qs["QSCAT"]) == {"ALSFRS-R"}
    assert qs["QSTESTCD"].str.len().max() <= 8 and qs["QSTEST"].str.len().max() <= 40
    totals = qs[qs["QSTESTCD"] == "ALSRTOT"]
    assert set(totals["QSDRVFL"]) == {"Y"}
    items = qs[qs["QSTESTCD"] != "ALSRTOT"].groupby(["USUBJID", "VISITNUM"])["QSSTRESN"].agg(["sum", "count"])
    merged = totals.set_index(["USUBJID", "VISITNUM"])["QSSTRESN"]
    assert (items["count"] == 12).all()  # one of 5a/5b per visit, never both
    assert (items["sum"] == merged.loc[items.index]).all()
    assert len(totals) == _scalar(exported.url, select(func.count(AlsfrsAssessment.id)))
    baseline = qs[(qs["QSLOBXFL"] == "Y") & (qs["QSTESTCD"] == "ALSRTOT")]
    assert not baseline.duplicated("USUBJID").any() and len(baseline) > 0


def test_lb_uses_cdisc_terms_and_the_lloq_convention(exported: ExportedTrial) -> None:
    lb = _read(exported.sdtm, "LB")
    assert set(lb["LBSPEC"]) == {"CEREBROSPINAL FLUID"}
    assert set(lb["LBTESTCD"]) <= {"NFLP", "VEGF", "MCP1"}
    below = lb[lb["LBSTRESC"].str.startswith("<")]
    assert below["LBSTRESN"].isna().all()
    assert all(float(s[1:]) == q for s, q in zip(below["LBSTRESC"], below["LBLLOQ"], strict=True))
    above = lb[~lb["LBSTRESC"].str.startswith("<")]
    assert above["LBSTRESN"].notna().all()
    supp = _read(exported.sdtm, "SUPPLB")
    assert set(supp["QNAM"]) == {"LBASSAY"} and len(supp) == len(lb)


def test_ds_keeps_treatment_and_study_disposition_apart(exported: ExportedTrial) -> None:
    ds = _read(exported.sdtm, "DS")
    treatment = ds[ds["DSSCAT"] == "STUDY TREATMENT"]
    assert len(treatment) == _scalar(exported.url, select(func.count(TreatmentDiscontinuation.id))) == 1
    assert treatment["DSDECOD"].tolist() == ["ADVERSE EVENT"] and treatment["EPOCH"].tolist() == ["TREATMENT"]
    milestones = ds[ds["DSCAT"] == "PROTOCOL MILESTONE"]
    assert set(milestones["DSDECOD"]) == {"INFORMED CONSENT OBTAINED", "RANDOMIZED"}
    assert (milestones["DSSCAT"] == "").all()
    assert (ds.loc[ds["DSDECOD"] == "SCREEN FAILURE", "DSSCAT"] == "STUDY PARTICIPATION").all()


def test_dm_has_one_row_per_screened_participant(exported: ExportedTrial) -> None:
    dm = _read(exported.sdtm, "DM")
    assert len(dm) == _scalar(exported.url, select(func.count(Participant.id))) and dm["USUBJID"].is_unique
    randomized = dm[dm["ARMCD"] != ""]
    assert set(randomized["ARMCD"]) <= {"MSC", "PBO"} and len(randomized) == 4
    assert set(dm.loc[dm["ARMCD"] == "", "ARMNRS"]) <= {"SCREEN FAILURE", "NOT ASSIGNED"}
    assert set(dm["COUNTRY"]) == {"USA"}


def test_blinded_users_get_no_arm_revealing_variables(exported: ExportedTrial) -> None:
    dm = _read(exported.blinded, "DM")
    assert not ARM_VARS & set(dm.columns)
    ex = _read(exported.blinded, "EX")
    assert "EXDOSTXT" not in ex.columns and ex["EXTRT"].nunique() == 1 and "BLINDED" in ex["EXTRT"].iloc[0]
    define = (exported.blinded / "define.xml").read_text()
    assert 'Name="ARMCD"' not in define.split('ItemGroupDef OID="IG.DM"')[1].split("</ItemGroupDef>")[0]
    # an unblinded role (pharmacist, unblinded statistician) sees them before unblinding, as the policy says
    assert set(_read(exported.unblinded_role, "DM").columns) >= ARM_VARS
    # ... and each dose names its real treatment: one name per arm, different between arms, never
    # the blinded label (which arms have been dosed by export time depends on the simulated trial)
    ex_u, dm_u = _read(exported.unblinded_role, "EX"), _read(exported.unblinded_role, "DM")
    arm = ex_u["USUBJID"].map(dict(zip(dm_u["USUBJID"], dm_u["ARMCD"], strict=True)))
    assert not ex_u["EXTRT"].str.contains("BLINDED").any()
    assert (ex_u.groupby(arm)["EXTRT"].nunique() == 1).all()
    assert ex_u["EXTRT"].nunique() == arm.nunique() >= 1


def test_trial_design_datasets_describe_the_protocol(exported: ExportedTrial) -> None:
    ta, tv, ts = (_read(exported.sdtm, n) for n in ("TA", "TV", "TS"))
    assert set(ta["ARMCD"]) == {"MSC", "PBO"} and set(ta["EPOCH"]) == EPOCHS
    assert len(tv) == 11 and tv["VISITNUM"].is_monotonic_increasing
    params = dict(zip(ts["TSPARMCD"], ts["TSVAL"], strict=False))
    assert params["PLANSUB"] == "189" and params["AGEMIN"] == "P18Y" and params["TBLIND"] == "DOUBLE BLIND"
    assert len(_read(exported.sdtm, "TI")) == 9


@pytest.mark.parametrize("role_user", ["x_coord", "x_inv"])
def test_site_roles_may_not_export(sqlite_trial: ExportedTrial, tmp_path: Path, role_user: str) -> None:
    from alstrial.interop.sdtm import export_sdtm
    from alstrial.services.exceptions import PermissionDenied
    from alstrial.services.users import authenticate

    db = CaptureDB.from_url(sqlite_trial.url)
    try:
        with pytest.raises(PermissionDenied, match="every site"):
            export_sdtm(db, authenticate(db, role_user, sqlite_trial.password), tmp_path / "x")
    finally:
        db.dispose()
    assert not (tmp_path / "x").exists()
