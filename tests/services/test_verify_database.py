"""`alstrial verify`: the audit trail replayed against every clinical table finds tampering with the data.

Each case tampers with a trial through raw SQL (what someone with database access could do),
then checks that verification names what changed; the untouched trial verifies clean first.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta

import pytest
from capture_calls import AT0, DAY0, prepare
from sqlalchemy import Connection, text
from typer.testing import CliRunner

from alstrial import services as sv
from alstrial.cli import app
from alstrial.services.audit import verify_database
from alstrial.store.audit_chain import GENESIS_HASH, keyed_genesis, record_hash
from alstrial.store.audit_guard import drop_audit_guards
from conftest import alsfrs_items


def _filled(trial) -> dict[str, object]:
    ctx = prepare(trial)
    inv, code = trial["investigator"], ctx["rand"]
    sv.record_alsfrs(trial.db, inv, code, "W0", alsfrs_items(40))
    sv.record_lab_result(
        trial.db, trial["lab_technician"], sample_id="CSF-1", analyte="NFL", value=2.5, unit="ng/mL", assay="Simoa"
    )
    sv.administer_dose(
        trial.db, inv, code, lot_number=ctx["lot_released"], label_coi_id=ctx["coi"], administered_at=AT0, dose_number=1
    )
    sv.record_adverse_event(
        trial.db,
        inv,
        code,
        term="Meningitis",
        onset_date=DAY0 + timedelta(days=3),
        severity="SEVERE",
        relatedness="POSSIBLY RELATED",
        action_taken="DRUG INTERRUPTED",
        outcome="RECOVERING/RESOLVING",
        serious=True,
        criteria=("hospitalization",),
    )
    return ctx


def _rehash_chain(conn: Connection, key: bytes | None = None) -> None:
    """Rewrite every record's hash links so that the chain verifies again (an insider covering tracks).

    Without ``key`` as a plain SHA-256 chain; with one, as a keyed chain under that key.
    """
    rows = conn.execute(text("SELECT * FROM audit_record ORDER BY seq")).mappings().all()
    prev = GENESIS_HASH if key is None else keyed_genesis(key)
    for r in rows:
        digest = record_hash(
            seq=r["seq"],
            at=_aware(r["at"]),
            username=r["username"],
            role=r["role"],
            action=r["action"],
            entity=r["entity"],
            entity_id=r["entity_id"],
            participant_code=r["participant_code"],
            changes=r["changes"],
            reason=r["reason"],
            prev_hash=prev,
            key=key,
        )
        conn.execute(
            text("UPDATE audit_record SET prev_hash = :p, hash = :h WHERE seq = :s"),
            {"p": prev, "h": digest, "s": r["seq"]},
        )
        prev = digest
    conn.execute(text("UPDATE audit_head SET seq = :s, hash = :h"), {"s": rows[-1]["seq"] if rows else 0, "h": prev})


def _aware(value: object):  # SQLite returns the stored naive UTC text/datetime
    from datetime import UTC, datetime

    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)  # type: ignore[union-attr]


def _tamper(trial, sql: Callable[[Connection], None]) -> None:
    with trial.db.engine.begin() as conn:
        drop_audit_guards(conn)
        sql(conn)


def _edit_item(conn: Connection) -> None:
    conn.execute(text("UPDATE alsfrs_assessment SET q1 = 4 - q1"))


def _flip_arms(conn: Connection) -> None:
    conn.execute(text("UPDATE allocation_slot SET arm = CASE arm WHEN 'MSC' THEN 'PBO' ELSE 'MSC' END"))


def _delete_saes(conn: Connection) -> None:
    conn.execute(text("DELETE FROM data_query WHERE entity = 'adverse_event'"))
    conn.execute(text("DELETE FROM adverse_event WHERE serious"))


def _truncate_tail_and_head(conn: Connection) -> None:
    last = conn.execute(text("SELECT max(seq) FROM audit_record")).scalar_one()
    conn.execute(text("DELETE FROM audit_record WHERE seq > :n"), {"n": last - 3})
    row = conn.execute(text("SELECT seq, hash FROM audit_record ORDER BY seq DESC LIMIT 1")).one()
    conn.execute(text("UPDATE audit_head SET seq = :s, hash = :h"), {"s": row[0], "h": row[1]})


def _delete_trail(conn: Connection) -> None:
    conn.execute(text("DELETE FROM audit_record"))
    conn.execute(text("UPDATE audit_head SET seq = 0, hash = :h"), {"h": GENESIS_HASH})


def _insert_unaudited_row(conn: Connection) -> None:
    conn.execute(
        text(
            "INSERT INTO adverse_event (participant_id, term, onset_date, serious, sae_death, sae_life_threatening, "
            "sae_hospitalization, sae_disability, sae_congenital_anomaly, sae_medically_important, severity, "
            "relatedness, action_taken, outcome, version) SELECT participant_id, 'Invented', onset_date, false, false, "
            "false, false, false, false, false, 'MILD', 'NOT RELATED', 'NOT APPLICABLE', 'UNKNOWN', 1 "
            "FROM adverse_event LIMIT 1"
        )
    )


def _swap_allocation(conn: Connection) -> None:
    slot = conn.execute(text("SELECT id, stratum_key FROM allocation_slot WHERE participant_id IS NOT NULL")).first()
    other = conn.execute(
        text(
            "SELECT id FROM allocation_slot WHERE participant_id IS NULL AND stratum_key = :k ORDER BY sequence LIMIT 1"
        ),
        {"k": slot[1]},
    ).scalar_one()
    pid = conn.execute(text("SELECT participant_id FROM allocation_slot WHERE id = :i"), {"i": slot[0]}).scalar_one()
    conn.execute(text("UPDATE allocation_slot SET participant_id = NULL WHERE id = :i"), {"i": slot[0]})
    conn.execute(text("UPDATE allocation_slot SET participant_id = :p WHERE id = :i"), {"p": pid, "i": other})


#: case -> (tampering, what the report must name)
CASES: dict[str, tuple[Callable[[Connection], None], str]] = {
    "an ALSFRS-R item changed": (_edit_item, "alsfrs_assessment 1 q1"),
    "every arm flipped": (_flip_arms, "allocation_slot all (list)"),
    "serious adverse events deleted": (_delete_saes, "adverse_event 2 (row)"),
    "tail and head truncated together": (
        _truncate_tail_and_head,
        "(row): the audit trail says 'no record of its creation'",
    ),
    "the whole trail deleted": (_delete_trail, "audit trail is empty"),
    "a row inserted without its audit record": (_insert_unaudited_row, "adverse_event 3 (row)"),
    "a participant moved to another allocation slot": (_swap_allocation, "allocation_slot"),
}


def test_an_untouched_trial_verifies(trial) -> None:
    _filled(trial)
    result = verify_database(trial.db.engine)
    assert result.ok, str(result)
    assert result.data.rows > 20 and result.chain.records > 40


@pytest.mark.parametrize("case", sorted(CASES))
def test_tampering_is_detected(trial, case: str) -> None:
    _filled(trial)
    tamper, named = CASES[case]
    _tamper(trial, tamper)
    result = verify_database(trial.db.engine)
    assert not result.ok
    assert named in str(result), str(result)


def _rewrite_history(conn: Connection, key: bytes | None = None) -> None:
    """Change a value AND the audit record that wrote it, then re-hash the whole chain."""
    _edit_item(conn)
    for seq, raw in conn.execute(text("SELECT seq, changes FROM audit_record WHERE action = 'alsfrs.record'")).all():
        changes = json.loads(raw)
        changes["q1"]["new"] = 4 - changes["q1"]["new"]
        conn.execute(
            text("UPDATE audit_record SET changes = :c WHERE seq = :s"),
            {"c": json.dumps(changes, sort_keys=True, separators=(",", ":"), ensure_ascii=False), "s": seq},
        )
    _rehash_chain(conn, key)


def test_a_rewritten_chain_is_caught_by_the_anchor_kept_outside(trial) -> None:
    _filled(trial)
    anchor = verify_database(trial.db.engine).chain.head_hash

    _tamper(trial, _rewrite_history)
    unanchored = verify_database(trial.db.engine)
    assert unanchored.ok  # without an anchor a full rewrite cannot be told from the truth (documented)
    anchored = verify_database(trial.db.engine, expect_head=anchor)
    assert not anchored.ok and anchored.anchored is False


def test_verify_command(trial, db_url: str) -> None:
    _filled(trial)
    runner = CliRunner()
    good = runner.invoke(app, ["verify", "--db", db_url])
    assert good.exit_code == 0 and "VERIFIED" in good.output
    _tamper(trial, _edit_item)
    bad = runner.invoke(app, ["verify", "--db", db_url, "--json"])
    assert bad.exit_code == 1
    diffs = json.loads(bad.output)["data"]["differences"]
    assert {(d["table"], d["field"]) for d in diffs} == {("alsfrs_assessment", "q1")}
    assert runner.invoke(app, ["verify", "--db", db_url, "--expect-head", "nothex"]).exit_code == 2


def test_verify_refuses_a_missing_file_and_creates_nothing(tmp_path) -> None:
    runner = CliRunner()
    missing = tmp_path / "nope.db"
    for args in (["verify", "--db", str(missing)], ["audit", "verify", "--db", str(missing)]):
        out = runner.invoke(app, args)
        assert out.exit_code == 2 and "no database file" in out.output and "Traceback" not in out.output
    assert not missing.exists()
    junk = tmp_path / "junk.db"
    junk.write_text("not a database")
    out = runner.invoke(app, ["verify", "--db", str(junk)])
    assert out.exit_code == 2 and "not a SQLite database" in out.output
