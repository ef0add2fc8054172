"""REDCap record exports (flat or EAV) into a trial, through the services' all-or-nothing import.

A mapping file (TOML) says which alstrial import table the records feed, which REDCap event is
which visit and which REDCap field is which column; choice codes are translated back to terms.
Every value is checked first — against the form definition of its field when alstrial knows it
(choices, integer/number/date validation, min/max) — and then by the services themselves inside
one transaction. Any rejected value fails the whole file: nothing is written and each rejection
is reported as (record, event, field, value, reason).

Mapping file::

    table = "alsfrs"                 # an alstrial import table (see `alstrial import --help`)
    record_column = "participant"    # the column the REDCap record ID fills
    event_column = "visit"           # the column the mapped event fills ("" when not longitudinal)

    [events]                          # redcap_event_name -> visit code
    week_0_arm_1 = "W0"

    [fields]                          # REDCap field -> alstrial column
    alsfrs_date = "visit_date"
    alsfrs_q1 = "q1"

    [values.ae_severity]              # optional code -> value translations (choices of alstrial's
    1 = "MILD"                        # own forms are translated without being listed here)
"""

from __future__ import annotations

import csv
import io
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Literal

from alstrial.errors import Problem, ValidationFailed
from alstrial.interop.forms import FormField, alsfrs_field_name, choice_code, protocol_forms
from alstrial.interop.redcap_dictionary import decode, read_rows
from alstrial.protocol.models import Protocol
from alstrial.services.actor import Actor
from alstrial.services.context import CaptureDB
from alstrial.services.imports import TABLES, ImportResult, import_rows
from alstrial.services.visits import ALSFRS_ITEMS

EAV_COLUMNS = ("record", "field_name", "value")
_SYSTEM = re.compile(
    r"^redcap_(repeat_instrument|repeat_instance|data_access_group|survey_identifier)$|_complete$|_timestamp$"
)


class RecordsRejected(ValidationFailed):
    """A REDCap records file with rejected values; nothing was written (``problems`` lists every value)."""


@dataclass(frozen=True)
class RecordMapping:
    table: str
    fields: dict[str, str]
    events: dict[str, str] = field(default_factory=dict)
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    record_column: str = "participant"
    event_column: str = "visit"


def parse_mapping(text: str, *, source: str = "mapping file") -> RecordMapping:
    """A mapping from TOML text; every problem is listed."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValidationFailed([Problem(source, None, f"is not valid TOML: {exc}")]) from None
    problems = []
    table = data.get("table")
    if table not in TABLES:
        problems.append(Problem(f"{source}: table", table, f"expected one of {', '.join(TABLES)}"))
    fields = data.get("fields")
    if not isinstance(fields, dict) or not fields or not all(isinstance(v, str) for v in fields.values()):
        problems.append(Problem(f"{source}: [fields]", fields, "expected a table of REDCap field = alstrial column"))
    unknown = set(data) - {"table", "fields", "events", "values", "record_column", "event_column"}
    if unknown:
        problems.append(Problem(source, sorted(unknown), "unknown keys"))
    if problems:
        raise ValidationFailed(problems, context="mapping file")
    return RecordMapping(
        table=str(table),
        fields=dict(fields),  # type: ignore[arg-type]
        events={str(k): str(v) for k, v in data.get("events", {}).items()},
        values={str(k): {str(c): str(v) for c, v in m.items()} for k, m in data.get("values", {}).items()},
        record_column=str(data.get("record_column", "participant")),
        event_column=str(data.get("event_column", "visit")),
    )


def alsfrs_mapping(protocol: Protocol) -> RecordMapping:
    """The mapping for records of the ALSFRS-R form alstrial's dictionary export defines (events ``<visit>_arm_1``)."""
    fields = {alsfrs_field_name(code): code for code in ALSFRS_ITEMS} | {"alsfrs_date": "visit_date"}
    # carried along but not stored: the services derive gastrostomy status and the total from the items
    fields |= {"alsfrs_gastrostomy": "gastrostomy", "alsfrs_total": "total"}
    events = {f"{v.code.lower()}_arm_1": v.code for v in protocol.visits if "alsfrs_r" in v.assessments}
    return RecordMapping("alsfrs", fields, events)


# -- reading the two export layouts ------------------------------------------------------------------
Key = tuple[str, str]  # (record, event)


def _no_repeating_instances(header: list[str], rows: list[list[str]], what: str) -> None:
    """Repeating instruments (several instances per record and event) would merge silently: refuse them."""
    if "redcap_repeat_instance" not in header:
        return
    col = header.index("redcap_repeat_instance")
    lines = [i for i, r in enumerate(rows, start=2) if r[col].strip() not in ("", "1")]
    if lines:
        raise ValidationFailed(
            [
                Problem(
                    f"{what} line {i}",
                    rows[i - 2][col],
                    "repeating instrument instances are not supported yet: import one instance per record and event",
                )
                for i in lines[:20]
            ],
            context=f"{what}: nothing was written",
        )


def _records_flat(header: list[str], rows: list[list[str]]) -> dict[Key, dict[str, str]]:
    event_col = "redcap_event_name" in header
    out: dict[Key, dict[str, str]] = {}
    for row in rows:
        values = dict(zip(header, row, strict=True))
        key = (row[0], values.get("redcap_event_name", "") if event_col else "")
        merged = out.setdefault(key, {})
        merged.update({k: v for k, v in values.items() if k not in (header[0], "redcap_event_name") and v != ""})
    return out


def _records_eav(header: list[str], rows: list[list[str]]) -> dict[Key, dict[str, str]]:
    out: dict[Key, dict[str, str]] = {}
    for row in rows:
        values = dict(zip(header, row, strict=True))
        key = (values["record"], values.get("redcap_event_name", ""))
        name, value = values["field_name"], values["value"]
        fields = out.setdefault(key, {})
        if name in fields and value != fields[name] and "___" not in name:
            fields[name] = fields[name] + "," + value  # EAV repeats checkbox fields, one row per ticked option
        else:
            fields[name] = value
    return out


def read_records(data: bytes, what: str = "records file") -> tuple[Literal["flat", "eav"], dict[Key, dict[str, str]]]:
    """Records of a REDCap CSV export, keyed by (record, event); the layout is recognised from the header."""
    text = decode(data, what)
    header, rows = read_rows(text, what)
    _no_repeating_instances(header, rows, what)
    if set(EAV_COLUMNS) <= set(header) and set(header) <= {
        *EAV_COLUMNS,
        "redcap_event_name",
        "redcap_repeat_instrument",
        "redcap_repeat_instance",
    }:
        return "eav", _records_eav(header, rows)
    if not header or not header[0] or "field_name" in header:
        raise ValidationFailed(
            [
                Problem(
                    f"{what} header",
                    header[:4],
                    "expected a flat export (record ID first) or EAV (record, field_name, value)",
                )
            ]
        )
    if len(set(header)) != len(header):
        dupes = sorted({h for h in header if header.count(h) > 1})
        raise ValidationFailed([Problem(f"{what} header", dupes, "column names appear twice")])
    return "flat", _records_flat(header, rows)


# -- checking values ----------------------------------------------------------------------------------
def _check(f: FormField, value: str) -> str | None:
    """Why a value breaks its field's definition, or None."""
    if f.type in ("radio", "dropdown"):
        codes = [c for c, _ in f.choices]
        return None if value in codes else f"not a choice of {f.name}; expected one of {', '.join(codes)}"
    if f.type in ("yesno", "truefalse"):
        return None if value in ("0", "1") else "expected 1 (yes) or 0 (no)"
    if f.type == "checkbox":
        options = {c for c, _ in f.choices}
        bad = [v for v in value.split(",") if v and v not in options]
        return f"not a choice of {f.name}: {', '.join(bad)}" if bad else None
    try:
        if f.validation == "integer":
            number: float = int(value)
        elif f.validation.startswith("number"):
            number = float(value)
        elif f.validation == "date_ymd":
            date.fromisoformat(value)
            return None
        elif f.validation.startswith("datetime"):
            datetime.fromisoformat(value)
            return None
        else:
            return None
    except ValueError:
        return f"expected {f.validation.replace('_', ' ')} (REDCap validation of {f.name})"
    if (f.min and number < float(f.min)) or (f.max and number > float(f.max)):
        return f"outside {f.min or '-inf'}..{f.max or 'inf'} (REDCap validation of {f.name})"
    return None


def _translate(f: FormField | None, value: str, extra: Mapping[str, str]) -> str:
    if value in extra:
        return extra[value]
    if f is None:
        return value
    if f.type in ("yesno", "truefalse"):
        return "true" if value == "1" else "false"
    # choices whose code is the slug of a controlled term (``not_related`` for NOT RELATED) go back to the
    # term the services expect; other codes (ALSFRS-R scores, site codes, levels) are the values themselves
    terms = {code: label for code, label in f.choices if choice_code(label) == code and code != label}
    if f.type in ("radio", "dropdown"):
        return terms.get(value, value)
    if f.type == "checkbox":
        return ";".join(terms.get(v, v) for v in value.split(",") if v)
    return value


@dataclass(frozen=True)
class RecordsImport:
    layout: str
    records: int
    result: ImportResult

    def __str__(self) -> str:
        return f"{self.records} REDCap record-event(s) ({self.layout}) -> {self.result}"

    def to_dict(self) -> dict[str, object]:
        return {"layout": self.layout, "records": self.records, "result": self.result.to_dict()}


def _where(key: Key, name: str) -> str:
    record, event = key
    return f"record {record}" + (f", event {event}" if event else "") + f", field {name}"


def import_records(
    db: CaptureDB, actor: Actor, data: bytes, mapping: RecordMapping, *, what: str = "records file"
) -> RecordsImport:
    """Import a REDCap records export: all records or none (raises :class:`RecordsRejected`)."""
    layout, records = read_records(data, what)
    known = {f.name: f for form in protocol_forms(db.protocol()) for f in form.fields}
    problems: list[Problem] = []
    rows: list[dict[str, str | None]] = []
    origin: list[tuple[Key, dict[str, str]]] = []  # per alstrial row: its record and column -> REDCap field
    for key, values in records.items():
        record, event = key
        row: dict[str, str | None] = {}
        source: dict[str, str] = {}
        if mapping.record_column:
            row[mapping.record_column], source[mapping.record_column] = record, "record_id"
        if mapping.events:
            if event not in mapping.events:
                problems.append(
                    Problem(
                        _where(key, "redcap_event_name"),
                        event,
                        f"no visit is mapped to this event; mapped: {', '.join(mapping.events)}",
                    )
                )
                continue
            row[mapping.event_column], source[mapping.event_column] = mapping.events[event], "redcap_event_name"
        checkbox: dict[str, list[str]] = {}
        for name, value in values.items():
            base, _, option = name.partition("___")
            if option:
                if value not in ("0", "1", ""):
                    problems.append(Problem(_where(key, name), value, "checkbox options are 1 (ticked) or 0"))
                elif value == "1":
                    checkbox.setdefault(base, []).append(option)
                else:
                    checkbox.setdefault(base, [])
                continue
            if name not in mapping.fields:
                if not _SYSTEM.search(name):
                    problems.append(Problem(_where(key, name), value, "field is not in the mapping file's [fields]"))
                continue
            f = known.get(name)
            reason = _check(f, value) if f is not None and value not in mapping.values.get(name, {}) else None
            if reason:
                problems.append(Problem(_where(key, name), value, reason))
                continue
            row[mapping.fields[name]] = _translate(f, value, mapping.values.get(name, {}))
            source[mapping.fields[name]] = name
        for name, options in checkbox.items():
            if name in mapping.fields:
                value = ",".join(options)
                f = known.get(name)
                reason = _check(f, value) if f is not None else None
                if reason:
                    problems.append(Problem(_where(key, name), value, reason))
                    continue
                row[mapping.fields[name]] = _translate(f, value, mapping.values.get(name, {}))
                source[mapping.fields[name]] = name
        rows.append(row)
        origin.append((key, source))
    if problems:
        raise RecordsRejected(problems, context=f"{what}: nothing was written")
    try:
        result = import_rows(db, actor, mapping.table, rows)
    except ValidationFailed as exc:
        raise RecordsRejected(
            [_from_service(p, origin, rows) for p in exc.problems], context=f"{what}: nothing was written"
        ) from None
    return RecordsImport(layout, len(records), result)


_ROW = re.compile(r"^row (\d+), column (.+)$")


def _from_service(p: Problem, origin: list[tuple[Key, dict[str, str]]], rows: list[dict[str, str | None]]) -> Problem:
    """A service problem ("row N, column C") restated as the REDCap record, event and field it came from."""
    m = _ROW.match(p.where)
    if not m:
        return p
    index, column = int(m.group(1)) - 2, m.group(2)
    if not 0 <= index < len(origin):
        return p
    key, source = origin[index]
    name = source.get(column, column)
    value = p.value if p.value is not None else rows[index].get(column)
    return Problem(_where(key, name), value, p.reason)


def rejection_report(exc: ValidationFailed) -> str:
    """The rejected values as CSV (record, event, field, value, reason) for the data manager."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["record", "event", "field", "value", "reason"])
    pattern = re.compile(r"^record (.*?)(?:, event (.*?))?, field (.*)$")
    for p in exc.problems:
        m = pattern.match(p.where)
        record, event, name = (m.group(1), m.group(2) or "", m.group(3)) if m else ("", "", p.where)
        writer.writerow([record, event, name, "" if p.value is None else p.value, p.reason])
    return out.getvalue()


def read_mapping(path: Path) -> RecordMapping:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValidationFailed([Problem("mapping file", str(path), f"cannot be read: {exc}")]) from None
    return parse_mapping(text, source=Path(path).name)
