"""Virtual sites push a small simulated trial through the real capture services.

Every kind of event the virtual sites produce is checked twice: in the ``VirtualTrialLog`` and in
what the services stored (with the audit trail's reasons), so neither can drift from the other.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from alstrial.protocol import default_protocol_path, load_protocol
from alstrial.services.context import CaptureDB
from alstrial.services.setup import setup_trial
from alstrial.simulate.virtual_sites import ADMIN, VirtualSites, VirtualTrialLog
from alstrial.store.audit_chain import verify_chain
from alstrial.store.migrate import init_db
from alstrial.store.models import (
    Administration,
    AdverseEvent,
    AllocationSlot,
    AuditRecord,
    EligibilityOutcome,
    LabResult,
    Participant,
    StudyWithdrawal,
    Trial,
    VisitRecord,
)
from alstrial.store.models.product import ProductLot
from alstrial.store.models.query import DataQuery
from conftest import PASSWORD

N = 30


@pytest.fixture(scope="module")
def trial(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[CaptureDB, VirtualTrialLog]]:
    path: Path = tmp_path_factory.mktemp("virtual-sites") / "trial.db"
    db = CaptureDB(init_db(str(path)))
    setup_trial(
        db, default_protocol_path().read_text(encoding="utf-8"), seed=11, admin_username=ADMIN, admin_password=PASSWORD
    )
    sites = VirtualSites(db, load_protocol(), seed=11, out_of_window_rate=0.2, correction_rate=0.25)
    log = sites.run(n_randomized=N)
    sites.close(PASSWORD)
    yield db, log
    db.dispose()


def _count(db: CaptureDB, stmt: object) -> int:
    with db.sessions() as s:
        return int(s.execute(stmt).scalar_one())  # type: ignore[call-overload]


def test_the_log_saw_every_kind_of_event(trial: tuple[CaptureDB, VirtualTrialLog]) -> None:
    _, log = trial
    assert log.randomized == N
    assert log.screened == log.randomized + log.screen_failed
    for name in ("screen_failed", "doses", "visits", "out_of_window", "lab_results", "adverse_events"):
        assert getattr(log, name) > 0, name
    for name in ("withdrawals", "corrections", "queries"):
        assert getattr(log, name) > 0, name
    assert log.refused == {}


def test_screen_failures_are_stored_with_the_failed_criteria(trial: tuple[CaptureDB, VirtualTrialLog]) -> None:
    db, log = trial
    with db.sessions() as s:
        failed = s.execute(select(Participant.id).where(Participant.status == "screen_failed")).scalars().all()
        assert len(failed) == log.screen_failed
        for pid in failed:
            reasons = s.execute(
                select(EligibilityOutcome.criterion_id).where(
                    EligibilityOutcome.participant_id == pid, ~EligibilityOutcome.passed
                )
            ).all()
            assert reasons, f"screen failure {pid} has no failed criterion"
    assert _count(db, select(func.count()).select_from(Participant)) == log.screened


def test_randomization_doses_and_chain_of_identity(trial: tuple[CaptureDB, VirtualTrialLog]) -> None:
    db, log = trial
    assert _count(db, select(func.count()).where(AllocationSlot.participant_id.is_not(None))) == N
    with db.sessions() as s:
        doses = s.execute(
            select(Administration.label_coi_id, ProductLot.coi_id, Participant.coi_id, ProductLot.status)
            .join(ProductLot, ProductLot.id == Administration.lot_id)
            .join(Participant, Participant.id == Administration.participant_id)
        ).all()
    assert len(doses) == log.doses
    for label, lot, participant, status in doses:
        assert label == lot == participant  # every label, lot and participant agree
        assert status == "administered"


def test_visits_labs_aes_and_withdrawals_are_stored(trial: tuple[CaptureDB, VirtualTrialLog]) -> None:
    db, log = trial
    bma_visits = _count(db, select(func.count()).where(VisitRecord.visit_code == "BMA"))
    assert bma_visits == N  # recorded besides the logged assessment visits
    assert _count(db, select(func.count()).select_from(VisitRecord)) == log.visits + bma_visits
    assert _count(db, select(func.count()).select_from(LabResult)) == log.lab_results
    assert _count(db, select(func.count()).select_from(AdverseEvent)) == log.adverse_events
    assert _count(db, select(func.count()).select_from(StudyWithdrawal)) == log.withdrawals


def test_out_of_window_visits_carry_a_reason(trial: tuple[CaptureDB, VirtualTrialLog]) -> None:
    db, log = trial
    with db.sessions() as s:
        late = s.execute(
            select(VisitRecord.out_of_window_reason, VisitRecord.deviation_days).where(~VisitRecord.in_window)
        ).all()
    assert len(late) == log.out_of_window
    assert all(reason and reason.strip() and days != 0 for reason, days in late)


def test_corrections_are_audited_with_a_reason_and_their_queries_closed(
    trial: tuple[CaptureDB, VirtualTrialLog],
) -> None:
    db, log = trial
    with db.sessions() as s:
        corrections = s.execute(
            select(AuditRecord.reason, AuditRecord.username).where(AuditRecord.action.like("%.correct"))
        ).all()
        queries = s.execute(select(DataQuery.status, DataQuery.answer)).all()
        actions = set(s.execute(select(AuditRecord.action)).scalars())
    assert len(corrections) == log.corrections
    assert all(reason and reason.strip() for reason, _ in corrections)
    assert all(user.startswith("coord_") for _, user in corrections)  # the site corrects, not the data manager
    assert len(queries) == log.queries
    assert all(status == "closed" and answer for status, answer in queries)
    assert {"query.close", "database.lock", "trial.unblind"} <= actions


def test_the_trial_is_locked_unblinded_and_the_audit_chain_intact(trial: tuple[CaptureDB, VirtualTrialLog]) -> None:
    db, _ = trial
    with db.sessions() as s:
        t = s.execute(select(Trial)).scalar_one()
        assert t.locked and t.unblinded_at is not None
        assert verify_chain(s).ok
