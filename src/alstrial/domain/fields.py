"""One definition per editable field: type, range, unit and allowed values.

Entry services, CSV imports, corrections and data queries all check values here, so a value
refused at entry is refused as a correction too, and a query can name only a field that exists.
Fields derived by the system (ALSFRS-R totals, standard lab units, the LLOQ flag) are defined so
that queries can point at them, but are not ``correctable``: they follow from what was entered.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Literal

from alstrial.errors import Problem

FieldKind = Literal["int", "float", "date", "text", "choice", "bool"]

SEVERITIES = ("MILD", "MODERATE", "SEVERE")
RELATEDNESS = ("NOT RELATED", "UNLIKELY RELATED", "POSSIBLY RELATED", "PROBABLY RELATED", "RELATED")
ACTIONS = ("DOSE NOT CHANGED", "DRUG INTERRUPTED", "DRUG WITHDRAWN", "NOT APPLICABLE", "UNKNOWN")
OUTCOMES = (
    "RECOVERED/RESOLVED",
    "RECOVERING/RESOLVING",
    "NOT RECOVERED/NOT RESOLVED",
    "RECOVERED/RESOLVED WITH SEQUELAE",
    "FATAL",
    "UNKNOWN",
)
#: SDTM's --TERM is at most 200 characters; free texts get a generous but finite limit.
TERM_LENGTH, TEXT_LENGTH = 200, 4000
#: No trial event of ours happened before this; anything earlier is a typo (1900, 0025 ...).
EARLIEST = date(1990, 1, 1)


def date_problem(value: object, where: str, *, today: date | None = None) -> Problem | None:
    """A trial event's date must be a real date between ``EARLIEST`` and today (events are not in the future)."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            return Problem(where, value, "expected a date-time with a time zone (e.g. ...Z)")
        day = value.astimezone(UTC).date()
    elif isinstance(value, date):
        day = value
    else:
        return Problem(where, value, "expected a date (YYYY-MM-DD)")
    latest = (today or datetime.now(UTC).date()) + timedelta(days=1)  # one day of time-zone slack
    if not EARLIEST <= day <= latest:
        return Problem(
            where, day.isoformat(), f"not a plausible date for a trial event: expected {EARLIEST} to {latest}"
        )
    return None


class FieldValueError(ValueError):
    """A value that breaks its field's definition; the message says what is allowed."""


@dataclass(frozen=True)
class FieldSpec:
    """What one stored field accepts."""

    name: str
    kind: FieldKind
    label: str
    unit: str | None = None
    minimum: float | None = None
    maximum: float | None = None
    allowed: tuple[str, ...] = ()
    required: bool = True
    max_length: int = TEXT_LENGTH
    correctable: bool = True

    def describe(self) -> str:
        """What the field accepts, in words for the person typing the value."""
        if self.kind == "choice":
            return "one of " + ", ".join(repr(a) for a in self.allowed)
        if self.kind in ("int", "float"):
            what = "a whole number" if self.kind == "int" else "a number"
            unit = f" {self.unit}" if self.unit else ""
            if self.minimum is not None and self.maximum is not None:
                return f"{what} from {self.minimum:g} to {self.maximum:g}{unit}"
            if self.minimum is not None:
                return f"{what} ≥ {self.minimum:g}{unit}"
            return what + unit
        if self.kind == "date":
            return "a date YYYY-MM-DD"
        if self.kind == "bool":
            return "true or false"
        return f"a text of at most {self.max_length} characters"

    def parse(self, raw: object) -> object:
        """The stored value for ``raw``, or :class:`FieldValueError` saying what is allowed."""
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            if self.required:
                raise FieldValueError(f"required: {self.describe()}")
            return None
        if self.kind == "int":
            return self._number(raw, integer=True)
        if self.kind == "float":
            return self._number(raw, integer=False)
        if self.kind == "date":
            try:
                day = raw if isinstance(raw, date) else date.fromisoformat(str(raw).strip())
            except ValueError:
                raise FieldValueError(f"expected {self.describe()}") from None
            if found := date_problem(day, self.name):
                raise FieldValueError(found.reason)
            return day
        if self.kind == "bool":
            if isinstance(raw, bool):
                return raw
            text = str(raw).strip().lower()
            if text in ("true", "yes", "y", "1"):
                return True
            if text in ("false", "no", "n", "0"):
                return False
            raise FieldValueError("expected true or false")
        text = raw if isinstance(raw, str) else str(raw)
        if "\x00" in text or any(ord(ch) < 32 and ch not in "\t\n\r" for ch in text):
            raise FieldValueError("contains control characters (e.g. NUL); type plain text")
        text = text.strip()
        if self.kind == "choice":
            if text not in self.allowed:
                raise FieldValueError(f"expected {self.describe()}")
            return text
        if len(text) > self.max_length:
            raise FieldValueError(f"too long: {len(text)} characters, at most {self.max_length}")
        return text

    def _number(self, raw: object, *, integer: bool) -> int | float:
        if isinstance(raw, bool):
            raise FieldValueError(f"expected {self.describe()}")
        try:
            value = float(raw) if not isinstance(raw, int | float) else raw  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise FieldValueError(f"expected {self.describe()}") from None
        if not math.isfinite(value):
            raise FieldValueError(f"expected a finite number: {self.describe()}")
        if integer:
            if not float(value).is_integer():
                raise FieldValueError(f"expected {self.describe()}")
            value = int(value)
        if (self.minimum is not None and value < self.minimum) or (self.maximum is not None and value > self.maximum):
            raise FieldValueError(f"out of range: expected {self.describe()}")
        return value if integer else float(value)

    def problem(self, raw: object, where: str | None = None) -> Problem | None:
        """The :class:`Problem` with ``raw``, or None when it is acceptable."""
        try:
            self.parse(raw)
        except FieldValueError as exc:
            return Problem(where or self.name, raw, str(exc))
        return None


def _item(code: str, label: str, *, required: bool = True) -> FieldSpec:
    return FieldSpec(code, "int", label, "points", 0, 4, required=required)


#: entity (table) → field → definition. Entities are the records a user may correct or query.
FIELDS: Mapping[str, Mapping[str, FieldSpec]] = {
    "alsfrs_assessment": {
        **{f"q{i}": _item(f"q{i}", f"ALSFRS-R item {i}") for i in (1, 2, 3, 4)},
        "q5a": _item("q5a", "ALSFRS-R item 5a (cutting food, no gastrostomy)", required=False),
        "q5b": _item("q5b", "ALSFRS-R item 5b (cutting food, with gastrostomy)", required=False),
        **{f"q{i}": _item(f"q{i}", f"ALSFRS-R item {i}") for i in range(6, 13)},
        "assessed_on": FieldSpec("assessed_on", "date", "date of the assessment"),
        "total": FieldSpec("total", "int", "ALSFRS-R total", "points", 0, 48, correctable=False),
    },
    "vital_capacity": {
        "percent_predicted": FieldSpec("percent_predicted", "float", "vital capacity", "% predicted", 0, 250),
        "liters": FieldSpec("liters", "float", "vital capacity", "L", 0, 10, required=False),
        "test": FieldSpec("test", "choice", "test", allowed=("SVC", "FVC")),
        "position": FieldSpec("position", "choice", "position", allowed=("upright", "supine")),
    },
    "weight_measurement": {
        "weight_kg": FieldSpec("weight_kg", "float", "body weight", "kg", 20, 300),
    },
    "lab_result": {
        "value_original": FieldSpec("value_original", "float", "result as reported", minimum=0, required=False),
        "assay": FieldSpec("assay", "text", "assay or platform", max_length=100),
        "value_std": FieldSpec("value_std", "float", "result in the standard unit", minimum=0, correctable=False),
        "below_lloq": FieldSpec("below_lloq", "bool", "below the LLOQ", correctable=False),
    },
    "adverse_event": {
        "term": FieldSpec("term", "text", "verbatim term", max_length=TERM_LENGTH),
        "onset_date": FieldSpec("onset_date", "date", "onset date"),
        "resolution_date": FieldSpec("resolution_date", "date", "resolution date", required=False),
        "severity": FieldSpec("severity", "choice", "severity", allowed=SEVERITIES),
        "relatedness": FieldSpec("relatedness", "choice", "relationship to study treatment", allowed=RELATEDNESS),
        "action_taken": FieldSpec("action_taken", "choice", "action taken", allowed=ACTIONS),
        "outcome": FieldSpec("outcome", "choice", "outcome", allowed=OUTCOMES),
        "serious": FieldSpec("serious", "bool", "serious", correctable=False),
    },
    "intercurrent_event": {
        "event_date": FieldSpec("event_date", "date", "date of the event"),
        "details": FieldSpec("details", "text", "details", required=False),
    },
    "visit_record": {
        "visit_date": FieldSpec("visit_date", "date", "visit date", correctable=False),
        "out_of_window_reason": FieldSpec("out_of_window_reason", "text", "reason the visit was out of window"),
    },
}


def field_spec(entity: str, name: str) -> FieldSpec:
    """The definition of ``entity.name``; :class:`KeyError` when the field is not defined."""
    return FIELDS[entity][name]


def check_fields(entity: str, values: Mapping[str, object], *, prefix: str = "") -> list[Problem]:
    """Every problem with ``values`` (field → raw value) against the entity's definitions."""
    problems = []
    for name, raw in values.items():
        found = FIELDS[entity][name].problem(raw, f"{prefix}{name}")
        if found is not None:
            problems.append(found)
    return problems
