"""Analysis datasets derived from a locked, unblinded demo database agree with what the services stored."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import select

from alstrial.analysis.datasets import AnalysisDatasets
from alstrial.analysis.from_store import TTE_EVENTS, TrialStillBlinded, datasets_from_store
from alstrial.protocol import default_protocol_path, load_protocol
from alstrial.services import lock, randomization
from alstrial.services.context import CaptureDB
from alstrial.services.setup import bootstrap_actor, setup_trial
from alstrial.store.migrate import init_db
from alstrial.store.models import (
    Administration,
    AlsfrsAssessment,
    IntercurrentEvent,
    Participant,
    StudyWithdrawal,
    VisitRecord,
)
from alstrial.workflows.demo import run_demo

N = 20
PRIMARY_DAY = 196


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CaptureDB]:
    run = run_demo(tmp_path_factory.mktemp("demo"), seed=31, n_randomized=N)
    db = CaptureDB.from_url(str(run.database))
    yield db
    db.dispose()


@pytest.fixture(scope="module")
def ds(demo_db: CaptureDB) -> AnalysisDatasets:
    with demo_db.sessions() as s:
        return datasets_from_store(s, load_protocol())


@pytest.fixture(scope="module")
def stored(demo_db: CaptureDB) -> dict[str, pd.DataFrame]:
    """What the services stored, read straight from the tables."""
    with demo_db.sessions() as s:

        def frame(stmt: object) -> pd.DataFrame:
            r = s.execute(stmt)  # type: ignore[call-overload]
            return pd.DataFrame(r.fetchall(), columns=list(r.keys()))

        return {
            "participants": frame(select(Participant.id, Participant.code, Participant.status, Participant.day0)),
            "alsfrs": frame(
                select(Participant.code, VisitRecord.visit_code, VisitRecord.study_day, AlsfrsAssessment.total)
                .join(VisitRecord, VisitRecord.participant_id == Participant.id)
                .join(AlsfrsAssessment, AlsfrsAssessment.visit_record_id == VisitRecord.id)
            ),
            "visits": frame(
                select(Participant.code, VisitRecord.study_day).join(
                    VisitRecord, VisitRecord.participant_id == Participant.id
                )
            ),
            "doses": frame(
                select(Participant.code).join(Administration, Administration.participant_id == Participant.id)
            ),
            "withdrawals": frame(
                select(Participant.code, StudyWithdrawal.reason_code).join(
                    StudyWithdrawal, StudyWithdrawal.participant_id == Participant.id
                )
            ),
            "events": frame(
                select(Participant.code, Participant.day0, IntercurrentEvent.kind, IntercurrentEvent.event_date).join(
                    IntercurrentEvent, IntercurrentEvent.participant_id == Participant.id
                )
            ),
        }


def test_adsl_has_every_screened_participant(ds: AnalysisDatasets, stored: dict[str, pd.DataFrame]) -> None:
    p = stored["participants"]
    assert sorted(ds.adsl["USUBJID"]) == sorted(p["code"])
    assert int(ds.adsl["RANDFL"].sum()) == N
    failed = set(p.loc[p["status"] == "screen_failed", "code"])
    assert set(ds.adsl.loc[~ds.adsl["ELIGFL"], "USUBJID"]) == failed
    assert (ds.adsl.loc[~ds.adsl["ELIGFL"], "FAILCRIT"] != "").all()  # every screen failure has its reasons
    assert ds.adsl.loc[ds.adsl["RANDFL"], "ELIGFL"].all()


def test_arm_is_the_allocation_an_unblinded_role_sees(demo_db: CaptureDB, ds: AnalysisDatasets) -> None:
    ustat = bootstrap_actor(demo_db, "ustat")
    for code, arm in zip(ds.randomized["USUBJID"], ds.randomized["ARM"], strict=True):
        assert arm == randomization.participant_arm(demo_db, ustat, code), code
    assert ds.adsl.loc[~ds.adsl["RANDFL"], "ARM"].isna().all()
    assert set(ds.randomized["ARM"]) == {"MSC", "PBO"}


def test_alsfrs_rows_per_participant_equal_the_assessments_recorded(
    ds: AnalysisDatasets, stored: dict[str, pd.DataFrame]
) -> None:
    a = stored["alsfrs"]
    randomized = set(ds.randomized["USUBJID"])
    a = a[a["code"].isin(randomized)]
    assert ds.adqs_runin.groupby("USUBJID").size().to_dict() == a.groupby("code").size().to_dict()
    on_study = a[a["study_day"] >= 0]
    assert ds.adqs.groupby("USUBJID").size().to_dict() == on_study.groupby("code").size().to_dict()
    # values and change from baseline
    merged = ds.adqs.merge(on_study, left_on=["USUBJID", "AVISIT"], right_on=["code", "visit_code"])
    assert len(merged) == len(ds.adqs)
    assert (merged["AVAL"] == merged["total"]).all() and (merged["ADY"] == merged["study_day"]).all()
    w0 = ds.adqs.set_index("USUBJID").query("AVISIT == 'W0'")["AVAL"]
    assert (ds.adqs["BASE"] == ds.adqs["USUBJID"].map(w0)).all()
    assert (ds.adqs["CHG"] == ds.adqs["AVAL"] - ds.adqs["BASE"]).all()


def test_flags_follow_their_definitions(ds: AnalysisDatasets, stored: dict[str, pd.DataFrame]) -> None:
    a = ds.adsl
    dosed = set(stored["doses"]["code"])
    assert (a["SAFFL"] == a["USUBJID"].isin(dosed)).all()
    assert (a["FASFL"] == (a["RANDFL"] & a["SAFFL"] & a["BASEALS"].notna())).all()
    completers = set(ds.adqs.loc[ds.adqs["AVISIT"] == "W28", "USUBJID"])
    assert set(a.loc[a["COMPLFL"], "USUBJID"]) == completers
    left = a[a["RANDFL"] & ~a["COMPLFL"]]
    assert (left["DCSREAS"] != "").all()
    w = stored["withdrawals"].set_index("code")["reason_code"]
    for code, reason in zip(left["USUBJID"], left["DCSREAS"], strict=True):
        expected = w[code].lower().replace(" ", "_").replace("-", "_") if code in w else "missed_primary_visit"
        assert reason == expected
    assert set(left["DCSREAS"]) <= {
        "withdrawal_by_subject",
        "adverse_event",
        "lost_to_follow_up",
        "physician_decision",
        "death",
        "other",
        "missed_primary_visit",
    }


def test_time_to_event_counts_from_day0_and_censors_at_the_last_visit(
    ds: AnalysisDatasets, stored: dict[str, pd.DataFrame]
) -> None:
    t = ds.adtte.set_index("USUBJID")
    assert set(t.index) == set(ds.fas["USUBJID"])
    ev = stored["events"]
    ev = ev[ev["kind"].isin(TTE_EVENTS)]
    ev = ev.assign(
        day=[(pd.Timestamp(e) - pd.Timestamp(d)).days for e, d in zip(ev["event_date"], ev["day0"], strict=True)]
    )
    first = ev.groupby("code")["day"].min()
    last_visit = stored["visits"].groupby("code")["study_day"].max()
    for code, row in t.iterrows():
        if code in first.index:
            assert row["CNSR"] == 0 and row["AVAL"] == first[str(code)], code
        else:
            assert row["CNSR"] == 1 and row["AVAL"] == last_visit[str(code)], code
    assert (t["AVAL"] >= 0).all()


def test_labs_belong_to_randomized_participants_at_csf_visits(ds: AnalysisDatasets) -> None:
    protocol = load_protocol()
    csf_visits = {v.code for v in protocol.visits if "csf" in v.assessments}
    assert set(ds.adlb["AVISIT"]) <= csf_visits
    assert set(ds.adlb["PARAMCD"]) == {a.code for a in protocol.analytes}
    assert set(ds.adlb["USUBJID"]) <= set(ds.randomized["USUBJID"])
    assert (ds.adlb["AVAL"].isna() == ds.adlb["BLQFL"]).all()  # below LLOQ: no value, flagged


def test_deriving_before_lock_and_unblinding_is_refused(tmp_path: Path) -> None:
    db = CaptureDB(init_db(str(tmp_path / "blind.db")))
    setup_trial(
        db,
        default_protocol_path().read_text(encoding="utf-8"),
        seed=1,
        admin_username="admin",
        admin_password="a-long-password",
    )
    protocol = load_protocol()
    with db.sessions() as s, pytest.raises(TrialStillBlinded, match="lock and unblind"):
        datasets_from_store(s, protocol)
    admin = bootstrap_actor(db, "admin")
    lock.lock_database(db, admin, reason="interim look", password="a-long-password")
    with db.sessions() as s, pytest.raises(TrialStillBlinded):  # locked, still blinded
        datasets_from_store(s, protocol)
    db.dispose()


def test_preslope_is_the_protocol_rule_on_the_stored_totals(
    ds: AnalysisDatasets, stored: dict[str, pd.DataFrame]
) -> None:
    # the store path and the plan use one pre-treatment slope: least squares over SCR, RUNIN, W0
    import numpy as np

    from alstrial.analysis.plan import AnalysisPlan

    adsl = ds.adsl.set_index("USUBJID")["PRESLOPE"]
    plan = AnalysisPlan(load_protocol()).slopes(ds)["pre_slope"]
    np.testing.assert_allclose(adsl.reindex(plan.index).to_numpy(), plan.to_numpy())
    a = stored["alsfrs"]
    for code, g in a[a["study_day"] <= 0].groupby("code"):
        if g["study_day"].nunique() >= 2:
            expect = np.polyfit(g["study_day"] / (365.25 / 12), g["total"].astype(float), 1)[0]
            assert adsl[code] == pytest.approx(expect, abs=1e-9)
        else:
            assert np.isnan(adsl[code])
