"""Electronic signatures: meanings, the broken-signature check, password re-entry, and the signed lifecycle steps
(lock needs clean data, unlock, full and emergency unblinding) on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from capture_calls import DAY0, prepare
from sqlalchemy import select, text

from alstrial import services as sv
from alstrial.services import users
from alstrial.services.signatures import MEANINGS
from alstrial.store.models import AlsfrsAssessment, AuditRecord, Signature, VisitRecord
from conftest import PASSWORD, Trial, changed_tables, no_trace, snapshot, table_digests


def _alsfrs_id(trial: Trial, code: str, visit: str) -> int:
    from alstrial.store.models import Participant

    with trial.db.sessions() as s:
        return s.execute(
            select(AlsfrsAssessment.id)
            .join(VisitRecord, AlsfrsAssessment.visit_record_id == VisitRecord.id)
            .join(Participant, VisitRecord.participant_id == Participant.id)
            .where(Participant.code == code, VisitRecord.visit_code == visit)
        ).scalar_one()


def _only_audit_grew(before: dict[str, object], after: dict[str, object], entries: int) -> None:
    """No row added or removed except ``entries`` audit records (a failed password re-entry also
    updates the signer's failure count, which row counts do not show: see ``table_digests``)."""
    changed = {k for k in before if before[k] != after[k]}
    assert changed <= {"audit_record", "audit_head", "audit_last"}, changed
    assert after["audit_record"] == before["audit_record"] + entries  # type: ignore[operator]


def test_each_meaning_is_recorded_with_printed_name_time_and_hash(trial) -> None:
    code = trial.randomized()
    inv = trial["investigator"]
    views = [
        sv.sign_casebook(trial.db, inv, code, password=PASSWORD, meaning=m, visit="SCR" if i % 2 else None)
        for i, m in enumerate(MEANINGS)
    ]
    assert [v.meaning for v in views] == list(MEANINGS)
    listed = sv.list_signatures(trial.db, trial["monitor"], participant=code)
    assert [(s.meaning, s.target, s.valid) for s in listed] == [
        ("authorship", f"participant/{code}", True),
        ("review", f"participant/{code}/visit/SCR", True),
        ("approval", f"participant/{code}", True),
        ("responsibility", f"participant/{code}/visit/SCR", True),
    ]
    first = listed[0]
    assert (first.username, first.printed_name, first.role) == ("investigator", "investigator", "investigator")
    assert first.signed_at.tzinfo is not None and len(first.content_sha256) == 64
    assert "authorship by investigator" in str(first) and "[valid]" in str(first)
    # the audit trail (and so `alstrial audit log`) shows each signature with its manifestation
    log = [
        line for line in sv.audit_log(trial.db, trial["monitor"], participant=code) if line.action == "signature.sign"
    ]
    assert [line.changes["meaning"]["new"] for line in log] == list(MEANINGS)
    assert log[0].changes["content_sha256"]["new"] == first.content_sha256
    assert log[0].changes["printed_name"]["new"] == "investigator"
    status = sv.signature_status(trial.db, trial["monitor"], code)
    assert status.state == "signed" and status.content_sha256 == first.content_sha256
    assert [s.meaning for s in status.signatures] == ["authorship", "approval"]


def test_a_correction_after_signing_breaks_the_signature_and_says_what_changed(trial) -> None:
    code = trial.randomized()
    inv = trial["investigator"]
    whole = sv.sign_casebook(trial.db, inv, code, password=PASSWORD, meaning="approval")
    scr = sv.sign_casebook(trial.db, inv, code, password=PASSWORD, meaning="review", visit="SCR")
    runin = sv.sign_casebook(trial.db, inv, code, password=PASSWORD, meaning="review", visit="RUNIN")
    sv.correct_value(
        trial.db,
        trial["data_manager"],
        entity="alsfrs_assessment",
        entity_id=_alsfrs_id(trial, code, "SCR"),
        field="q1",
        new_value=3,
        reason="source document shows 3",
        version=1,
    )
    by_id = {s.id: s for s in sv.list_signatures(trial.db, trial["monitor"], participant=code)}
    assert not by_id[whole.id].valid and not by_id[scr.id].valid
    assert by_id[runin.id].valid  # the other visit's page is untouched
    assert any("alsfrs.q1" in p and "→ 3" in p for p in by_id[scr.id].problems), by_id[scr.id].problems
    assert "[broken]" in str(by_id[whole.id])
    assert sv.signature_status(trial.db, inv, code).state == "broken"
    assert sv.signature_status(trial.db, inv, code, visit="RUNIN").state == "signed"
    # signing again covers the corrected casebook
    sv.sign_casebook(trial.db, inv, code, password=PASSWORD, meaning="approval")
    assert sv.signature_status(trial.db, inv, code).state == "signed"


def test_tampering_with_the_data_or_the_signature_row_is_detected(trial) -> None:
    code = trial.randomized()
    view = sv.sign_casebook(trial.db, trial["investigator"], code, password=PASSWORD, meaning="approval")
    with trial.db.engine.begin() as conn:  # edits outside the services leave no audit trace ...
        conn.execute(text("UPDATE signature SET printed_name = 'Someone Else' WHERE id = :i"), {"i": view.id})
    [after] = sv.list_signatures(trial.db, trial["monitor"], participant=code)
    assert not after.valid and any("manifest" in p for p in after.problems)
    # ... even when the forger recomputes the row's own hashes: the audit trail recorded the original
    from alstrial.services.signatures import manifest_sha256

    with trial.db.sessions.begin() as s:
        row = s.get(Signature, view.id)
        row.manifest_sha256 = manifest_sha256(row)
    [after] = sv.list_signatures(trial.db, trial["monitor"], participant=code)
    assert not after.valid and after.problems == (
        "the signature does not match the manifest hash recorded in the audit trail when it was made",
    )
    with trial.db.engine.begin() as conn:
        conn.execute(
            text("UPDATE signature SET printed_name = 'investigator', manifest_sha256 = :m WHERE id = :i"),
            {"i": view.id, "m": view.manifest_sha256},
        )
        conn.execute(text("UPDATE weight_measurement SET weight_kg = 1"))  # no rows: nothing changes
        conn.execute(text("UPDATE participant SET consent_date = :d WHERE code = :c"), {"d": DAY0, "c": code})
    [after] = sv.list_signatures(trial.db, trial["monitor"], participant=code)
    assert not after.valid and any("participant.consent_date" in p for p in after.problems)


def test_signing_refusals(trial) -> None:
    code = trial.randomized()
    inv = trial["investigator"]
    with no_trace(trial.db), pytest.raises(sv.ValidationFailed, match="meaning"):
        sv.sign_casebook(trial.db, inv, code, password=PASSWORD, meaning="agreement")
    with no_trace(trial.db), pytest.raises(sv.ValidationFailed, match="re-enter your password"):
        sv.sign_casebook(trial.db, inv, code, password="", meaning="approval")
    for role in ("site_coordinator", "data_manager", "monitor", "admin"):
        with no_trace(trial.db), pytest.raises(sv.PermissionDenied):
            sv.sign_casebook(trial.db, trial[role], code, password=PASSWORD, meaning="approval")
    with no_trace(trial.db), pytest.raises(sv.NotFound, match="no participant"):
        sv.sign_casebook(trial.db, trial.other_site, code, password=PASSWORD, meaning="approval")
    with no_trace(trial.db), pytest.raises(sv.NotFound, match="no visit 'W12'"):
        sv.sign_casebook(trial.db, inv, code, password=PASSWORD, meaning="approval", visit="W12")
    # a wrong password: refused, the refusal audited in its own transaction, and counted like a failed
    # sign-in on the account; nothing else written
    before, digests = snapshot(trial.db), table_digests(trial.db)
    with pytest.raises(sv.AuthenticationFailed, match="wrong"):
        sv.sign_casebook(trial.db, inv, code, password="not-the-password", meaning="approval")
    _only_audit_grew(before, snapshot(trial.db), 1)
    assert changed_tables(digests, table_digests(trial.db)) == {"audit_record", "audit_head", "app_user"}
    assert next(u for u in sv.list_users(trial.db, trial["admin"]) if u.username == "investigator").failed_sign_ins == 1
    last = sv.audit_log(trial.db, trial["monitor"])[-1]
    assert (last.action, last.username, last.reason) == (
        "signature.refused",
        "investigator",
        "password re-entry failed",
    )
    assert last.changes["target"]["new"] == f"participant/{code}"
    assert last.changes["failed_sign_ins"] == {"old": 0, "new": 1}
    with trial.db.sessions() as s:
        assert s.execute(select(Signature)).first() is None


def test_lock_needs_clean_data_unless_an_admin_overrides(trial) -> None:
    ctx = prepare(trial)  # a randomized participant (unsigned) and an open query
    rand, query = ctx["rand"], ctx["query"]
    second = trial.randomized()
    dm, admin = trial["data_manager"], trial["admin"]
    with no_trace(trial.db), pytest.raises(sv.InvalidState) as err:
        sv.lock_database(trial.db, dm, reason="LPLV", password=PASSWORD)
    message = str(err.value)
    assert f"ids {query}" in message and "2 unsigned casebooks" in message and rand in message and second in message
    # a data manager may not override; an admin's override needs a reason
    with no_trace(trial.db), pytest.raises(sv.PermissionDenied, match="only an admin"):
        sv.lock_database(trial.db, dm, reason="LPLV", password=PASSWORD, override_reason="deadline")
    with no_trace(trial.db), pytest.raises(sv.ValidationFailed, match="override_reason"):
        sv.lock_database(trial.db, admin, reason="LPLV", password=PASSWORD, override_reason=" ")
    # signing both casebooks and resolving the query clears the way ...
    inv = trial["investigator"]
    sv.sign_casebook(trial.db, inv, rand, password=PASSWORD, meaning="approval")
    sv.sign_casebook(trial.db, inv, second, password=PASSWORD, meaning="approval")
    sv.answer_query(trial.db, inv, query, answer="term is fine")
    with no_trace(trial.db), pytest.raises(sv.InvalidState, match="1 unresolved queries"):
        sv.lock_database(trial.db, dm, reason="LPLV", password=PASSWORD)  # answered is not closed
    sv.close_query(trial.db, dm, query, note="ok")
    # ... until a change after the signature breaks it
    sv.correct_value(
        trial.db,
        dm,
        entity="adverse_event",
        entity_id=ctx["ae"],
        field="term",
        new_value="Post-LP headache",
        reason="coding",
        version=1,
    )
    with no_trace(trial.db), pytest.raises(sv.InvalidState, match="changed since they were signed") as err:
        sv.lock_database(trial.db, dm, reason="LPLV", password=PASSWORD)
    assert rand in str(err.value) and second not in str(err.value)
    sv.sign_casebook(trial.db, inv, rand, password=PASSWORD, meaning="approval")
    result = sv.lock_database(trial.db, dm, reason="LPLV", password=PASSWORD)
    assert result.overridden is None and result.signature.kind == "database_lock" and result.signature.valid
    assert result.signature.meaning == "approval" and "database locked" in str(result)


def test_admin_override_is_recorded_and_signed(trial) -> None:
    ctx = prepare(trial)
    result = sv.lock_database(
        trial.db,
        trial["admin"],
        reason="DSMB-requested freeze",
        password=PASSWORD,
        meaning="responsibility",
        override_reason="DSMB meeting tomorrow; open query is cosmetic",
    )
    assert result.overridden is not None and result.overridden.open_queries == (ctx["query"],)
    assert "override by admin" in str(result)
    with trial.db.sessions() as s:
        signed = s.execute(select(Signature).where(Signature.kind == "database_lock")).scalar_one()
        assert "DSMB meeting tomorrow" in signed.content_json and ctx["rand"] in signed.content_json
        audited = s.execute(select(AuditRecord).where(AuditRecord.action == "database.lock")).scalar_one()
        assert "override_reason" in audited.changes and str(ctx["query"]) in audited.changes
    # unlocking and changing data afterwards shows the lock signature as broken, naming the casebook
    sv.unlock_database(trial.db, trial["admin"], reason="late AE update", password=PASSWORD)
    sv.correct_value(
        trial.db,
        trial["investigator"],
        entity="adverse_event",
        entity_id=ctx["ae"],
        field="term",
        new_value="Post-LP headache",
        reason="coding",
        version=1,
    )
    kinds = {s.kind: s for s in sv.list_signatures(trial.db, trial["statistician"])}
    assert kinds["database_unlock"].valid
    assert not kinds["database_lock"].valid
    assert any(f"casebooks.{ctx['rand']}" in p for p in kinds["database_lock"].problems)


def test_lifecycle_steps_refuse_a_missing_or_wrong_password(trial) -> None:
    ctx = prepare(trial)
    admin, ustat, inv = trial["admin"], trial["unblinded_statistician"], trial["investigator"]
    lock_kw = {"reason": "LPLV", "override_reason": "test"}
    steps = [
        lambda pw: sv.lock_database(trial.db, admin, password=pw, **lock_kw),
        lambda pw: sv.emergency_unblind(trial.db, inv, ctx["rand"], reason="SAE", password=pw),
    ]
    for step in steps:
        with no_trace(trial.db), pytest.raises(sv.ValidationFailed, match="re-enter your password"):
            step("")
        before = snapshot(trial.db)
        with pytest.raises(sv.AuthenticationFailed):
            step("wrong-password")
        _only_audit_grew(before, snapshot(trial.db), 1)
    sv.lock_database(trial.db, admin, password=PASSWORD, **lock_kw)
    for step in (
        lambda pw: sv.unblind_trial(trial.db, ustat, reason="final analysis", password=pw),
        lambda pw: sv.unlock_database(trial.db, admin, reason="late query", password=pw),
    ):
        with no_trace(trial.db), pytest.raises(sv.ValidationFailed, match="re-enter your password"):
            step(None)
        before = snapshot(trial.db)
        with pytest.raises(sv.AuthenticationFailed):
            step("wrong-password")
        _only_audit_grew(before, snapshot(trial.db), 1)
    emergency = sv.emergency_unblind(trial.db, inv, ctx["rand"], reason="SAE", password=PASSWORD)
    assert emergency.signature.kind == "emergency_unblind" and emergency.signature.participant == ctx["rand"]
    full = sv.unblind_trial(trial.db, ustat, reason="final analysis", password=PASSWORD, meaning="approval")
    assert full.signature.kind == "unblind_trial" and full.signature.meaning == "approval"
    listed = sv.list_signatures(trial.db, trial["monitor"])
    assert [s.kind for s in listed] == ["database_lock", "emergency_unblind", "unblind_trial"]
    assert all(s.valid for s in listed)
    assert [s.kind for s in sv.list_signatures(trial.db, trial.other_site)] == ["database_lock", "unblind_trial"]
    # no signature content ever holds an arm: blinded roles read them
    from test_blinding import arm_values

    with trial.db.sessions() as s:
        contents = [json.loads(c) for c in s.scalars(select(Signature.content_json))]
    assert len(contents) == 3 and arm_values(contents) == []


def test_a_deactivated_signer_cannot_sign_and_their_signatures_still_hold(trial) -> None:
    code = trial.randomized()
    view = sv.sign_casebook(trial.db, trial["investigator"], code, password=PASSWORD, meaning="approval")
    sv.deactivate_user(trial.db, trial["admin"], "investigator", reason="left the trial")
    before = snapshot(trial.db)
    with pytest.raises(sv.AuthenticationFailed):
        sv.sign_casebook(trial.db, trial["investigator"], code, password=PASSWORD, meaning="approval")
    _only_audit_grew(before, snapshot(trial.db), 1)
    [still] = sv.list_signatures(trial.db, trial["monitor"], participant=code)
    assert still.id == view.id and still.valid


def test_list_signatures_checks_its_filters(trial) -> None:
    with pytest.raises(sv.ValidationFailed, match="kind"):
        sv.list_signatures(trial.db, trial["monitor"], kind="notarised")
    with pytest.raises(sv.NotFound):
        sv.list_signatures(trial.db, trial["monitor"], participant="S01-9999")
    assert sv.list_signatures(trial.db, trial["monitor"], kind="casebook") == []
    code = trial.randomized()
    sv.record_visit(trial.db, trial["investigator"], code, "W0", DAY0 + timedelta(days=0))
    sv.sign_casebook(trial.db, trial["investigator"], code, password=PASSWORD, meaning="authorship", visit="W0")
    assert [s.visit for s in sv.list_signatures(trial.db, trial["monitor"], kind="casebook")] == ["W0"]


def test_wrong_password_reentries_lock_the_account_like_failed_sign_ins(trial) -> None:
    """A session left open must not become a password-guessing oracle: re-entries count towards the lockout."""
    code = trial.randomized()
    inv = trial["investigator"]
    for _ in range(users.MAX_FAILED_SIGN_INS):
        with pytest.raises(sv.AuthenticationFailed):
            sv.sign_casebook(trial.db, inv, code, password="guess", meaning="approval")
    # locked now: the right password neither signs nor signs in
    with pytest.raises(sv.AuthenticationFailed):
        sv.sign_casebook(trial.db, inv, code, password=PASSWORD, meaning="approval")
    with pytest.raises(sv.AuthenticationFailed):
        sv.authenticate(trial.db, "investigator", PASSWORD)
    view = next(u for u in sv.list_users(trial.db, trial["admin"]) if u.username == "investigator")
    assert view.locked_until is not None
    refusals = [e for e in sv.audit_log(trial.db, trial["monitor"]) if e.action == "signature.refused"]
    assert [e.reason for e in refusals] == ["password re-entry failed"] * users.MAX_FAILED_SIGN_INS + ["account locked"]
    assert "locked_until" in refusals[users.MAX_FAILED_SIGN_INS - 1].changes
    with trial.db.sessions() as s:
        assert s.execute(select(Signature)).first() is None
