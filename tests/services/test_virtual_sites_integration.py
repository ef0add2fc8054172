"""The simulator through the real services on SQLite AND PostgreSQL: the same seed gives the same trial.

`VirtualSites` is the heaviest user of the capture layer (every service, thousands of calls); run
on both engines it shows that the capture layer behaves identically on each, and that the audit
chain it leaves verifies.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from sqlalchemy import select

from alstrial.protocol import default_protocol_path, load_protocol
from alstrial.services.context import CaptureDB
from alstrial.services.setup import setup_trial
from alstrial.simulate.virtual_sites import ADMIN, VirtualSites
from alstrial.store.audit_chain import verify_chain
from alstrial.store.models import (
    AllocationSlot,
    AlsfrsAssessment,
    AuditRecord,
    EligibilityOutcome,
    LabResult,
    Participant,
    StudyWithdrawal,
    VisitRecord,
)
from conftest import PASSWORD

SEED = 7
N_RANDOMIZED = 10


def simulate(url: str) -> dict[str, Any]:
    """Run a small trial on ``url``; return what must not depend on the engine, and the chain check."""
    db = CaptureDB.from_url(url)
    try:
        setup_trial(
            db,
            default_protocol_path().read_text(encoding="utf-8"),
            seed=SEED,
            admin_username=ADMIN,
            admin_password=PASSWORD,
        )
        sites = VirtualSites(db, load_protocol(None), seed=SEED)
        sites.create_users()
        log = sites.run(n_randomized=N_RANDOMIZED)
        sites.close(PASSWORD)
        with db.sessions() as s:
            chain = verify_chain(s)
            participants = s.execute(
                select(
                    Participant.code,
                    Participant.status,
                    Participant.eligible,
                    Participant.screened_on,
                    Participant.enrolled_on,
                    Participant.day0,
                    Participant.stratum_key,
                    Participant.kit_code,
                    Participant.screening_json,
                    AllocationSlot.arm,
                )
                .outerjoin(AllocationSlot, AllocationSlot.participant_id == Participant.id)
                .order_by(Participant.code)
            ).all()
            alsfrs = s.execute(
                select(Participant.code, VisitRecord.visit_code, VisitRecord.visit_date, AlsfrsAssessment.total)
                .join(VisitRecord, VisitRecord.participant_id == Participant.id)
                .join(AlsfrsAssessment, AlsfrsAssessment.visit_record_id == VisitRecord.id)
                .order_by(Participant.code, VisitRecord.study_day)
            ).all()
            eligibility = s.execute(
                select(Participant.code, EligibilityOutcome.criterion_id, EligibilityOutcome.outcome)
                .join(Participant, Participant.id == EligibilityOutcome.participant_id)
                .where(EligibilityOutcome.passed.is_not(True))
                .order_by(Participant.code, EligibilityOutcome.criterion_id)
            ).all()
            labs = s.execute(
                select(LabResult.analyte, LabResult.value_std, LabResult.below_lloq).order_by(LabResult.id)
            ).all()
            withdrawals = s.execute(
                select(Participant.code, StudyWithdrawal.withdrawn_on, StudyWithdrawal.reason_code)
                .join(Participant, Participant.id == StudyWithdrawal.participant_id)
                .order_by(Participant.code)
            ).all()
            trail = s.execute(
                select(AuditRecord.action, AuditRecord.entity, AuditRecord.participant_code).order_by(AuditRecord.seq)
            ).all()
    finally:
        db.dispose()
    return {
        "chain": chain,
        "same": {
            "log": asdict(log),
            "participants": [tuple(r) for r in participants],
            "alsfrs": [tuple(r) for r in alsfrs],
            "eligibility": [tuple(r) for r in eligibility],
            "labs": [tuple(r) for r in labs],
            "withdrawals": [tuple(r) for r in withdrawals],
            "trail": [tuple(r) for r in trail],
        },
    }


def test_virtual_sites_build_the_same_trial_on_sqlite_and_postgresql(both_backends: dict[str, str]) -> None:
    runs = {backend: simulate(url) for backend, url in both_backends.items()}
    for backend, run in runs.items():
        chain = run["chain"]
        assert chain.ok, f"{backend}: {chain}"
        assert chain.records == len(run["same"]["trail"]) > 500
    sqlite, pg = runs["sqlite"]["same"], runs["postgresql"]["same"]
    # the trial itself is not trivial: randomized participants with both arms, run-in and screening failures
    randomized = [p for p in sqlite["participants"] if p[1] == "randomized"]
    assert len(randomized) == N_RANDOMIZED == sqlite["log"]["randomized"]
    assert {p[-1] for p in randomized} == {"MSC", "PBO"}
    assert any(p[1] == "screen_failed" for p in sqlite["participants"])
    assert len(sqlite["alsfrs"]) > 5 * N_RANDOMIZED and sqlite["labs"]
    # every run-in criterion was judged: none left pending for an enrolled or randomized participant
    statuses = {p[0]: p[1] for p in sqlite["participants"]}
    assert not [e for e in sqlite["eligibility"] if e[2] == "pending" and statuses[e[0]] != "eligible"]
    for key in sqlite:
        assert pg[key] == sqlite[key], f"{key} differs between SQLite and PostgreSQL"
