"""Any edit, deletion or reordering of audit records is detected by the chain check (both backends)."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from alstrial.store.audit_chain import canonical_json, verify_chain
from alstrial.store.audit_guard import drop_audit_guards, install_audit_guards
from conftest import make_trial

COLUMNS = (
    "seq",
    "at",
    "username",
    "role",
    "action",
    "entity",
    "entity_id",
    "participant_code",
    "changes",
    "reason",
    "prev_hash",
    "hash",
)


@pytest.fixture
def unguarded(capture_db):
    t = make_trial(capture_db)
    t.randomized()
    with capture_db.engine.begin() as conn:
        drop_audit_guards(conn)
    yield capture_db
    with capture_db.engine.begin() as conn:
        install_audit_guards(conn)


def _check(db):
    with db.engine.connect() as conn:
        return verify_chain(conn)


def _tampered_value(column: str, old: object) -> object:
    if column == "seq":
        return 10_000
    if column == "at":
        return old.replace(microsecond=(old.microsecond + 1) % 1_000_000)  # type: ignore[union-attr]
    if column == "changes":
        return canonical_json({"note": {"old": None, "new": "forged"}})
    if column in ("prev_hash", "hash"):
        return "f" * 64
    return f"{old}x" if old is not None else "forged"


@pytest.mark.parametrize("column", COLUMNS)
def test_editing_any_field_of_any_record_is_detected(unguarded, column: str) -> None:
    from sqlalchemy import select, update

    from alstrial.store.models import AuditRecord

    assert _check(unguarded).ok
    with unguarded.engine.connect() as conn:
        n = conn.execute(text("SELECT count(*) FROM audit_record")).scalar_one()
    for seq in sorted({1, n // 2, n}):
        with unguarded.engine.begin() as conn:
            old = conn.execute(select(getattr(AuditRecord, column)).where(AuditRecord.seq == seq)).scalar()
            conn.execute(
                update(AuditRecord).where(AuditRecord.seq == seq).values({column: _tampered_value(column, old)})
            )
        result = _check(unguarded)
        # renumbering a record shows as a gap where it was (or as the stray number at the end)
        expected = seq if column != "seq" else (seq + 1 if seq < n else 10_000)
        assert not result.ok and result.bad_seq == expected, (column, seq, result)
        key = 10_000 if column == "seq" else seq
        with unguarded.engine.begin() as conn:
            conn.execute(update(AuditRecord).where(AuditRecord.seq == key).values({column: old}))
        assert _check(unguarded).ok


def test_deleting_a_record_is_detected(unguarded) -> None:
    with unguarded.engine.begin() as conn:
        n = conn.execute(text("SELECT count(*) FROM audit_record")).scalar_one()
        conn.execute(text("DELETE FROM audit_record WHERE seq = 3"))
    result = _check(unguarded)
    assert not result.ok and result.bad_seq == 4 and "gap" in result.problem
    with unguarded.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_record WHERE seq >= 3"))
    result = _check(unguarded)  # removing the newest records: the head no longer matches
    assert not result.ok and "head" in result.problem and n > 3


def test_swapping_two_records_is_detected(unguarded) -> None:
    cols = [c for c in COLUMNS if c != "seq"]
    with unguarded.engine.begin() as conn:
        a = conn.execute(text(f"SELECT {', '.join(cols)} FROM audit_record WHERE seq = 4")).mappings().one()
        b = conn.execute(text(f"SELECT {', '.join(cols)} FROM audit_record WHERE seq = 5")).mappings().one()
        conn.execute(text("DELETE FROM audit_record WHERE seq IN (4, 5)"))
        ins = text(
            f"INSERT INTO audit_record (seq, {', '.join(cols)}) VALUES (:seq, {', '.join(':' + c for c in cols)})"
        )
        conn.execute(ins, {**b, "seq": 4})
        conn.execute(ins, {**a, "seq": 5})
    result = _check(unguarded)
    assert not result.ok and result.bad_seq == 4
