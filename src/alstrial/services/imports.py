"""CSV imports through the services: all-or-nothing, every bad row reported.

Each table's rows are parsed and passed to the same service cores the forms use, inside ONE
transaction (a savepoint per row so later rows are still checked after a bad one). If any row
fails, nothing is written and :class:`ValidationFailed` lists every problem as
``row N, column C: value V — reason`` (N is the line of the CSV file; the header is line 1).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from alstrial.domain.randomization.errors import RandomizationError
from alstrial.errors import Problem, ValidationFailed
from alstrial.services import policy
from alstrial.services.actor import Actor
from alstrial.services.context import CaptureDB, Tx, unit_of_work
from alstrial.services.disposition import discontinue_treatment_step, withdraw_participant_step
from alstrial.services.exceptions import CaptureError, ChainOfIdentityMismatch, NotFound
from alstrial.services.labs import record_csf_sample_step, record_lab_result_step
from alstrial.services.product import (
    administer_dose_step,
    manufacture_lot_step,
    record_aspiration_step,
    release_lot_step,
)
from alstrial.services.runin import complete_runin_step
from alstrial.services.safety import record_adverse_event_step, record_intercurrent_event_step
from alstrial.services.screening import enrol_step, screen_step
from alstrial.services.visits import ALSFRS_ITEMS, record_alsfrs_step, record_visit_step

TABLES = (
    "screening",
    "alsfrs",
    "runin",
    "aspirations",
    "lots",
    "labs",
    "doses",
    "adverse_events",
    "intercurrent_events",
    "discontinuations",
    "withdrawals",
)


class _RowError(Exception):
    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems


class _Row:
    """Typed access to one CSV row that collects every parsing problem instead of stopping."""

    def __init__(self, line: int, data: Mapping[str, str | None]) -> None:
        self.line, self.data = line, data
        self.problems: list[Problem] = []

    def problem(self, column: str, value: object, reason: str) -> None:
        self.problems.append(Problem(f"row {self.line}, column {column}", value, reason))

    def raw(self, column: str, *, required: bool = True) -> str | None:
        value = (self.data.get(column) or "").strip()
        if not value:
            if required:
                self.problem(column, self.data.get(column), "required")
            return None
        return value

    def _parse(self, column: str, parse: Callable[[str], Any], what: str, required: bool) -> Any:
        value = self.raw(column, required=required)
        if value is None:
            return None
        try:
            return parse(value)
        except (TypeError, ValueError):
            self.problem(column, value, f"expected {what}")
            return None

    def date(self, column: str, *, required: bool = True) -> date | None:
        return self._parse(column, date.fromisoformat, "a date YYYY-MM-DD", required)

    def datetime(self, column: str, *, required: bool = True) -> datetime | None:
        def parse(v: str) -> datetime:
            d = datetime.fromisoformat(v.replace("Z", "+00:00"))
            if d.tzinfo is None:
                raise ValueError
            return d

        return self._parse(column, parse, "a date-time with a time zone, e.g. 2025-04-06T10:00:00Z", required)

    def int(self, column: str, *, required: bool = True) -> int | None:
        return self._parse(column, int, "a whole number", required)

    def float(self, column: str, *, required: bool = True) -> float | None:
        return self._parse(column, float, "a number", required)

    def bool(self, column: str, *, default: bool = False) -> bool:
        value = self.raw(column, required=False)
        if value is None:
            return default
        if value.lower() in ("true", "yes", "y", "1"):
            return True
        if value.lower() in ("false", "no", "n", "0"):
            return False
        self.problem(column, value, "expected true/false (yes/no, 1/0)")
        return default

    def done(self) -> None:
        if self.problems:
            raise _RowError(self.problems)


def _screening(tx: Tx, r: _Row) -> None:
    screened_on, consent = r.date("screened_on"), r.date("consent_date")
    fixed = {"screened_on", "consent_date", "site"}
    values = {k: v for k, v in r.data.items() if k not in fixed and k is not None}
    r.done()
    assert screened_on is not None and consent is not None
    screen_step(tx, screened_on=screened_on, consent_date=consent, values=values, site=r.raw("site", required=False))


def _check_screening_header(tx: Tx, first: Mapping[str, str | None]) -> None:
    """Every field an eligibility criterion judges at screening must be a column: a missing column
    would make every row a screen failure without a word."""
    from alstrial.services.runin import RUNIN_FIELD

    judged = {c.field for c in tx.protocol.eligibility if c.field != RUNIN_FIELD}
    missing = sorted(({"screened_on", "consent_date"} | judged) - set(first))
    if missing:
        raise ValidationFailed(
            [
                Problem(
                    "header", ", ".join(missing), "the file has no column for these; add them (blank cells are allowed)"
                )
            ],
            context="import of screening: nothing was written",
        )


def _alsfrs(tx: Tx, r: _Row) -> None:
    code, visit, visit_date = r.raw("participant"), r.raw("visit"), r.date("visit_date")
    items = {k: r.int(k, required=False) for k in ALSFRS_ITEMS}
    r.done()
    assert code and visit and visit_date
    from sqlalchemy import select

    from alstrial.store.models import VisitRecord

    p = tx.participant(code)
    if (
        tx.session.execute(
            select(VisitRecord.id).where(VisitRecord.participant_id == p.id, VisitRecord.visit_code == visit)
        ).scalar()
        is None
    ):
        record_visit_step(tx, code, visit, visit_date, r.raw("out_of_window_reason", required=False))
    record_alsfrs_step(tx, code, visit, items, r.date("assessed_on", required=False))


def _runin(tx: Tx, r: _Row) -> str:
    """End the run-in of one participant (enrolling first when ``enrolled_on`` is given for an eligible one).

    The decline is computed from the ALSFRS-R at the run-in visits (import them with the ``alsfrs``
    table first); a run-in failure is not an import error: it is recorded as a screen failure and
    reported in the result.
    """
    code, enrolled_on = r.raw("participant"), r.date("enrolled_on", required=False)
    r.done()
    assert code
    if tx.participant(code).status == "eligible":
        if enrolled_on is None:
            r.problem("enrolled_on", None, f"required: {code} is not enrolled yet (the run-in starts at enrolment)")
            r.done()
        assert enrolled_on is not None
        policy.require(tx.actor, policy.Permission.ENROL)
        enrol_step(tx, code, enrolled_on)
    return str(complete_runin_step(tx, code))


def _aspirations(tx: Tx, r: _Row) -> str:
    code, at, volume = r.raw("participant"), r.datetime("aspirated_at"), r.float("volume_ml")
    r.done()
    assert code and at and volume is not None
    return f"{code}: aspiration {record_aspiration_step(tx, code, at, volume)}"


def _lots(tx: Tx, r: _Row) -> str:
    """One lot per row, made from the participant's latest aspiration; the note gives its number and COI id
    (what the dose import's ``lot_number`` and ``label_coi_id`` columns need)."""
    from sqlalchemy import select

    from alstrial.store.models import BoneMarrowAspiration

    code, number = r.raw("participant"), r.int("dose_number")
    made, expires, release = r.date("manufactured_on"), r.date("expires_on"), r.bool("release")
    r.done()
    assert code and number is not None and made and expires
    aspiration = tx.session.execute(
        select(BoneMarrowAspiration.id)
        .where(BoneMarrowAspiration.participant_id == tx.participant(code).id)
        .order_by(BoneMarrowAspiration.aspirated_at.desc(), BoneMarrowAspiration.id.desc())
    ).scalar()
    if aspiration is None:
        r.problem("participant", code, "no bone-marrow aspiration recorded: import aspirations first")
        r.done()
    assert aspiration is not None
    lot = manufacture_lot_step(tx, aspiration, number, made, expires)
    if release:
        lot = release_lot_step(tx, lot.lot_number)
    return f"{code} dose {number}: {lot.lot_number} (COI {lot.coi_id}, {lot.status})"


def _labs(tx: Tx, r: _Row) -> None:
    code, visit, sample = r.raw("participant"), r.raw("visit"), r.raw("sample_id")
    collected_at, analyte, unit = r.datetime("collected_at"), r.raw("analyte"), r.raw("unit")
    value, assay, below = r.float("value", required=False), r.raw("assay"), r.bool("below_lloq")
    r.done()
    assert code and visit and sample and collected_at and analyte and unit and assay
    from sqlalchemy import select

    from alstrial.store.models import CsfSample

    owner = tx.session.execute(select(CsfSample.participant_id).where(CsfSample.sample_id == sample)).scalar()
    if owner is None:
        record_csf_sample_step(tx, code, visit, sample, collected_at)
    elif owner != tx.participant(code).id:
        r.problem("sample_id", sample, f"this sample belongs to another participant, not {code}")
        r.done()
    record_lab_result_step(tx, sample, analyte, value, unit, assay, below or None)


def _doses(tx: Tx, r: _Row) -> None:
    code, lot, label = r.raw("participant"), r.raw("lot_number"), r.raw("label_coi_id")
    at, number = r.datetime("administered_at"), r.int("dose_number")
    r.done()
    assert code and lot and label and at and number is not None
    administer_dose_step(tx, code, lot, label, at, number)


def _adverse_events(tx: Tx, r: _Row) -> None:
    code, term, onset = r.raw("participant"), r.raw("term"), r.date("onset_date")
    resolution, serious = r.date("resolution_date", required=False), r.bool("serious")
    criteria = tuple(c.strip() for c in (r.raw("criteria", required=False) or "").split(";") if c.strip())
    fields: dict[str, Any] = {k: r.raw(k) for k in ("severity", "relatedness", "action_taken", "outcome")}
    r.done()
    assert code and term and onset
    record_adverse_event_step(
        tx, code, term=term, onset_date=onset, serious=serious, criteria=criteria, resolution_date=resolution, **fields
    )


def _intercurrent_events(tx: Tx, r: _Row) -> None:
    code, kind, on = r.raw("participant"), r.raw("kind"), r.date("event_date")
    hours, days = r.float("hours_per_day", required=False), r.int("consecutive_days", required=False)
    r.done()
    assert code and kind and on
    record_intercurrent_event_step(tx, code, kind, on, hours, days, r.raw("details", required=False))


def _discontinuations(tx: Tx, r: _Row) -> None:
    code, on = r.raw("participant"), r.date("discontinued_on")
    reason, by = r.raw("reason_code"), r.raw("decided_by")
    assessments, vital = r.bool("assessments_continue", default=True), r.bool("vital_status_followup", default=True)
    r.done()
    assert code and on and reason and by
    discontinue_treatment_step(tx, code, on, reason, by, assessments, vital, r.raw("reason_text", required=False))


def _withdrawals(tx: Tx, r: _Row) -> None:
    code, on = r.raw("participant"), r.date("withdrawn_on")
    reason, by = r.raw("reason_code"), r.raw("decided_by")
    vital = r.bool("vital_status_followup")
    r.done()
    assert code and on and reason and by
    withdraw_participant_step(tx, code, on, reason, by, vital, r.raw("reason_text", required=False))


_HANDLERS: dict[str, tuple[policy.Permission, Callable[[Tx, _Row], str | None]]] = {
    "screening": (policy.Permission.SCREEN, _screening),
    "alsfrs": (policy.Permission.RECORD_ASSESSMENT, _alsfrs),
    "runin": (policy.Permission.RANDOMIZE, _runin),
    "aspirations": (policy.Permission.RECORD_ASPIRATION, _aspirations),
    "lots": (policy.Permission.MANUFACTURE, _lots),
    "labs": (policy.Permission.RECORD_LAB, _labs),
    "doses": (policy.Permission.ADMINISTER, _doses),
    "adverse_events": (policy.Permission.RECORD_SAFETY, _adverse_events),
    "intercurrent_events": (policy.Permission.RECORD_SAFETY, _intercurrent_events),
    "discontinuations": (policy.Permission.RECORD_DISPOSITION, _discontinuations),
    "withdrawals": (policy.Permission.RECORD_DISPOSITION, _withdrawals),
}


@dataclass(frozen=True)
class ImportResult:
    """What an import wrote; ``notes`` are per-row outcomes worth reading (e.g. run-in verdicts)."""

    table: str
    rows: int
    notes: tuple[str, ...] = ()

    def __str__(self) -> str:
        return "\n".join([f"imported {self.rows} {self.table} row(s)", *(f"  {n}" for n in self.notes)])

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


#: The longest cell accepted (a free-text comment fits many times over; a corrupt file does not).
MAX_CELL = 10_000


def read_csv(path: str | Path) -> list[dict[str, str | None]]:
    """Rows of a UTF-8 CSV file (a byte-order mark is accepted); a malformed file is :class:`ValidationFailed`.

    Blank lines are skipped; a row with more cells than the header, a cell over ``MAX_CELL``
    characters, a NUL byte, a file that is not UTF-8 or has no header are refused with their line.
    """
    where = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValidationFailed(
            [Problem(where, f"byte {exc.start}", "not UTF-8 text; save the file as UTF-8 CSV")], context="CSV file"
        ) from None
    except OSError as exc:
        raise ValidationFailed([Problem(where, None, f"cannot be read: {exc.strerror}")], context="CSV file") from None
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        raise ValidationFailed([Problem(f"line {line}", "NUL", "the file holds a NUL byte")], context="CSV file")
    reader = csv.DictReader(io.StringIO(text))
    old_limit = csv.field_size_limit(MAX_CELL)
    rows: list[dict[str, str | None]] = []
    try:
        if not reader.fieldnames or not any(h.strip() for h in reader.fieldnames if h):
            raise ValidationFailed([Problem(where, None, "no header line")], context="CSV file")
        for row in reader:
            if None in row:  # more cells than header columns
                raise ValidationFailed(
                    [Problem(f"row {reader.line_num}", row[None], "more cells than the header has columns")],
                    context="CSV file",
                )
            rows.append(row)
    except csv.Error as exc:
        raise ValidationFailed([Problem(f"row {reader.line_num}", None, str(exc))], context="CSV file") from None
    finally:
        csv.field_size_limit(old_limit)
    return rows


def import_rows(db: CaptureDB, actor: Actor, table: str, rows: Iterable[Mapping[str, str | None]]) -> ImportResult:
    """Import rows of one table as one transaction; raise :class:`ValidationFailed` naming every bad row."""
    if table not in _HANDLERS:
        raise ValidationFailed([Problem("table", table, f"expected one of {', '.join(TABLES)}")], context="import")
    permission, handler = _HANDLERS[table]
    policy.require(actor, permission)
    problems: list[Problem] = []
    notes: list[str] = []
    rows = list(rows)
    if not rows:
        raise ValidationFailed([Problem("rows", 0, "the file has no data rows; nothing to import")], context="import")
    with unit_of_work(db, actor) as tx:
        tx.require(permission)
        if table == "screening":
            _check_screening_header(tx, rows[0])
        for i, data in enumerate(rows):
            row = _Row(i + 2, data)
            try:
                with tx.session.begin_nested():
                    note = handler(tx, row)
                if note:
                    notes.append(note)
            except _RowError as exc:
                problems += exc.problems
            except ValidationFailed as exc:
                problems += [_located(row, p) for p in exc.problems]
            except ChainOfIdentityMismatch as exc:  # its refusal is audited by the unit of work
                problems.append(Problem(f"row {row.line}, column label_coi_id", data.get("label_coi_id"), str(exc)))
            except (CaptureError, RandomizationError) as exc:
                column = "participant" if isinstance(exc, NotFound) and "participant" in str(exc) else "-"
                problems.append(Problem(f"row {row.line}, column {column}", data.get(column), str(exc)))
        if problems:
            raise ValidationFailed(problems, context=f"import of {table}: nothing was written")
        tx.audit("import", table, "csv", {"rows": (None, len(rows))})
    return ImportResult(table, len(rows), tuple(notes))


def _located(row: _Row, p: Problem) -> Problem:
    column = p.where if p.where in row.data else p.where.split("/")[0] if "/" in p.where else p.where
    return Problem(f"row {row.line}, column {column}", p.value, p.reason)
