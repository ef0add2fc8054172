"""Replay the audit trail against the clinical tables: tampering with the data itself is found.

The hash chain (``audit_chain.verify_chain``) proves the trail was not edited; this module proves
the *data* still says what the trail says was written. Every clinical row must have its creation
record in the trail, every field the trail mentions must hold the value it last wrote, every row
the trail created must still exist, and the concealed allocation list must still hash to the
digest recorded when it was generated. Each difference is reported as table, row, field,
expected, found.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from alstrial.store.audit_chain import canonical_json
from alstrial.store.base import Base
from alstrial.store.models import AllocationSlot, AuditRecord, Participant

#: Tables whose every row is created through an audited service, with audit field → column aliases.
CLINICAL: Mapping[str, Mapping[str, str]] = {
    "participant": {"stratum": "stratum_key"},
    "visit_record": {"visit": "visit_code"},
    "alsfrs_assessment": {},
    "vital_capacity": {},
    "weight_measurement": {},
    "csf_sample": {"visit": "visit_code"},
    "lab_result": {},
    "adverse_event": {},
    "intercurrent_event": {},
    "bone_marrow_aspiration": {},
    "product_lot": {},
    "administration": {},
    "treatment_discontinuation": {},
    "study_withdrawal": {},
    "data_query": {},
}
#: Columns the services change without an audit field of the same name (bookkeeping, not data).
UNTRACKED = {"id", "version"}


@dataclass(frozen=True)
class Difference:
    table: str
    row: str
    field: str
    expected: object
    found: object

    def __str__(self) -> str:
        where = f"{self.table} {self.row} {self.field}"
        return f"{where}: the audit trail says {self.expected!r}, the table has {self.found!r}"


@dataclass(frozen=True)
class ReplayResult:
    """What the replay found; ``ok`` only when every row and field matches the trail."""

    records: int
    rows: int
    differences: tuple[Difference, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return not self.differences

    def __str__(self) -> str:
        if self.ok:
            return f"data match the audit trail: {self.rows} row(s) explained by {self.records} record(s)"
        lines = [f"data DO NOT match the audit trail: {len(self.differences)} difference(s)"]
        lines += [f"  {d}" for d in self.differences[:200]]
        if len(self.differences) > 200:
            lines.append(f"  ... and {len(self.differences) - 200} more")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "records": self.records,
            "rows": self.rows,
            "differences": [
                {"table": d.table, "row": d.row, "field": d.field, "expected": d.expected, "found": d.found}
                for d in self.differences
            ],
        }


def _same(expected: object, found: object) -> bool:
    """Equal once the audit trail's JSON form and the column's Python value are put side by side."""
    if expected is None or found is None:
        return expected is None and found is None
    try:
        if isinstance(found, bool):
            return bool(expected) is found and isinstance(expected, bool | int)
        if isinstance(found, datetime):
            return datetime.fromisoformat(str(expected)) == found
        if isinstance(found, date):
            return date.fromisoformat(str(expected)) == found
        if isinstance(found, int | float):
            return not isinstance(expected, bool) and float(expected) == float(found)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False
    return str(expected) == str(found)


def _shown(value: object) -> object:
    return value.isoformat() if isinstance(value, date | datetime) else value


def replay(conn: Connection | Session) -> ReplayResult:
    """Compare every clinical table with the state the audit trail describes (see the module docstring)."""
    expected: dict[tuple[str, str], dict[str, object]] = {}
    list_digest: str | None = None
    minimization = False
    decision_digests: dict[str, str] = {}
    records = 0
    for entity, entity_id, action, changes in conn.execute(
        select(AuditRecord.entity, AuditRecord.entity_id, AuditRecord.action, AuditRecord.changes).order_by(
            AuditRecord.seq
        )
    ):
        records += 1
        parsed = json.loads(changes)
        if action == "allocation_list.generate":
            list_digest = parsed.get("list_sha256", {}).get("new")
        elif action == "randomization.minimization":
            minimization = True
        elif action == "participant.randomize" and "decision_sha256" in parsed:
            decision_digests[str(entity_id)] = parsed["decision_sha256"]["new"]
        if entity not in CLINICAL or action.endswith("refused_chain_of_identity"):
            continue
        state = expected.setdefault((entity, str(entity_id)), {})
        for name, change in parsed.items():
            state[CLINICAL[entity].get(name, name)] = change.get("new") if isinstance(change, dict) else change
    differences: list[Difference] = []
    rows = 0
    seen: set[tuple[str, str]] = set()
    for name in CLINICAL:
        table = Base.metadata.tables[name]
        columns = set(table.columns.keys()) - UNTRACKED
        for row in conn.execute(select(table)).mappings():
            rows += 1
            key = (name, str(row["id"]))
            seen.add(key)
            if key not in expected:
                differences.append(Difference(name, key[1], "(row)", "no record of its creation", "a row"))
                continue
            for column, value in expected[key].items():
                if column in columns and not _same(value, row[column]):
                    differences.append(Difference(name, key[1], column, value, _shown(row[column])))
    for key in sorted(set(expected) - seen):
        differences.append(Difference(key[0], key[1], "(row)", "a row created in the audit trail", "missing"))
    differences += _allocation_differences(conn, list_digest, decision_digests if minimization else None)
    return ReplayResult(records, rows, tuple(differences))


def allocation_digest(rows: list[dict[str, object]]) -> str:
    """SHA-256 of the concealed list as set-up recorded it (stratum, sequence, block, size, arm, kit code)."""
    return hashlib.sha256(canonical_json(rows).encode("utf-8")).hexdigest()


def _allocation_differences(
    conn: Connection | Session, recorded: str | None, decision_digests: Mapping[str, str] | None = None
) -> list[Difference]:
    slots = conn.execute(select(AllocationSlot.__table__).order_by(AllocationSlot.id)).mappings().all()
    out: list[Difference] = []
    if not slots:
        return out
    rows = [{k: s[k] for k in ("stratum_key", "sequence", "block", "block_size", "arm", "kit_code")} for s in slots]
    if decision_digests is not None:  # minimization: each slot is made at randomization from its decision
        out += _minimization_differences(conn, slots, decision_digests)
    elif recorded is None or allocation_digest(rows) != recorded:
        out.append(
            Difference("allocation_slot", "all", "(list)", recorded or "a digest recorded at set-up", "another list")
        )
    kits = dict(
        conn.execute(select(Participant.id, Participant.kit_code).where(Participant.kit_code.is_not(None))).all()
    )
    for s in slots:
        if s["participant_id"] is not None and kits.get(s["participant_id"]) != s["kit_code"]:
            who = "the participant given this kit"
            out.append(Difference("allocation_slot", str(s["id"]), "participant_id", who, s["participant_id"]))
    assigned = {s["participant_id"] for s in slots if s["participant_id"] is not None}
    for pid in sorted(set(kits) - assigned):
        out.append(Difference("participant", str(pid), "kit_code", "an allocation slot with this kit", "none"))
    return out


def _minimization_differences(
    conn: Connection | Session, slots: Any, decision_digests: Mapping[str, str]
) -> list[Difference]:
    """Each slot's arm must be its minimization decision's, and each decision must hash to the digest
    the audit trail recorded when the participant was randomized (the decision row carries its nonce)."""
    from alstrial.store.models import MinimizationDecision

    decisions = {
        d["participant_id"]: d
        for d in conn.execute(select(MinimizationDecision.__table__, Participant.code).join(Participant)).mappings()
    }
    out: list[Difference] = []
    for s in slots:
        d = decisions.get(s["participant_id"])
        if d is None:
            out.append(Difference("allocation_slot", str(s["id"]), "(row)", "a minimization decision", "none"))
            continue
        if d["arm"] != s["arm"]:
            out.append(Difference("allocation_slot", str(s["id"]), "arm", d["arm"], s["arm"]))
        record = {
            "sequence": d["sequence"],
            "participant": d["code"],
            "factors": json.loads(d["factors_json"]),
            "scores": json.loads(d["scores_json"]),
            "probabilities": json.loads(d["probabilities_json"]),
            "draw": d["draw"],
            "arm": d["arm"],
            "nonce": d["nonce"],
        }
        found = hashlib.sha256(canonical_json(record).encode("utf-8")).hexdigest()
        audited = decision_digests.get(str(d["participant_id"]))
        if found != audited:
            out.append(Difference("minimization_decision", str(d["id"]), "decision_sha256", audited, found))
    return out
