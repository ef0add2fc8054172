"""Evaluate a participant's screening data against the protocol's eligibility criteria.

Every criterion is evaluated (not only up to the first failure) because screen failures are kept
with all their reasons: they feed the CONSORT diagram and the screening log.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from alstrial.errors import Problem, ValidationFailed
from alstrial.protocol.models import EligibilityCriterion, Protocol, ScreeningField, describe_range

Outcome = Literal["met", "not_met", "missing"]


@dataclass(frozen=True)
class CriterionOutcome:
    """How one criterion came out for one participant.

    ``passed`` is the eligibility meaning: an inclusion criterion passes when met, an exclusion
    criterion passes when *not* met. A missing value never passes.
    """

    criterion_id: str
    kind: Literal["inclusion", "exclusion"]
    text: str
    value: object
    outcome: Outcome
    passed: bool


@dataclass(frozen=True)
class EligibilityResult:
    """All criterion outcomes of one screening; ``eligible`` only when every criterion passes."""

    outcomes: tuple[CriterionOutcome, ...]

    @property
    def eligible(self) -> bool:
        return all(o.passed for o in self.outcomes)

    @property
    def failed(self) -> tuple[CriterionOutcome, ...]:
        return tuple(o for o in self.outcomes if not o.passed)

    def __str__(self) -> str:
        if self.eligible:
            return f"eligible ({len(self.outcomes)} criteria passed)"
        reasons = "; ".join(f"{o.criterion_id} {o.text} (value {o.value!r})" for o in self.failed)
        return f"not eligible: {reasons}"


def coerce_screening_values(protocol: Protocol, values: Mapping[str, object]) -> dict[str, object]:
    """Check and convert raw screening values (strings from forms or CSV included) by field type.

    Unknown field names and values of the wrong type are reported together; blank values
    become ``None`` (recorded as missing, which fails any criterion that needs them).
    """
    known = {f.name: f for f in protocol.screening_fields}
    problems: list[Problem] = []
    out: dict[str, object] = {}
    for name, raw in values.items():
        field = known.get(name)
        if field is None:
            problems.append(Problem(name, raw, f"unknown screening field; expected one of {sorted(known)}"))
            continue
        try:
            out[name] = _coerce(field, raw)
        except ValueError as exc:
            problems.append(Problem(name, raw, str(exc)))
    if problems:
        raise ValidationFailed(problems, context="screening values")
    return out


def _coerce(field: ScreeningField, raw: object) -> object:
    if raw is None or (isinstance(raw, str) and raw.strip() == ""):
        return None
    if field.type == "boolean":
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in {"true", "yes", "y", "1"}:
            return True
        if text in {"false", "no", "n", "0"}:
            return False
        raise ValueError("expected a boolean (true/false, yes/no, 1/0)")
    if field.type == "category":
        text = str(raw).strip()
        if text not in field.levels:
            raise ValueError(f"expected one of {field.levels}")
        return text
    if isinstance(raw, bool):
        raise ValueError(f"expected {_a(field.type)}, not a boolean")
    try:
        number = raw if isinstance(raw, int | float) else float(str(raw))
    except (TypeError, ValueError):
        raise ValueError(f"expected {_a(field.type)}") from None
    if not math.isfinite(number):
        raise ValueError(f"expected a finite {field.type}{_unit(field)}")
    if (field.min is not None and number < field.min) or (field.max is not None and number > field.max):
        raise ValueError(f"outside the possible range: expected {describe_range(field.min, field.max)}{_unit(field)}")
    if field.type == "integer":
        if float(number) != int(number):
            raise ValueError("expected an integer")
        return int(number)
    return float(number)


def _a(kind: str) -> str:
    """'an integer', 'a number'."""
    return f"an {kind}" if kind[0] in "aeiou" else f"a {kind}"


def _unit(field: ScreeningField) -> str:
    return f" ({field.unit})" if field.unit else ""


def evaluate_criterion(criterion: EligibilityCriterion, value: object) -> CriterionOutcome:
    """Evaluate one criterion on one (already coerced) value."""
    outcome: Outcome
    if value is None:
        outcome = "missing"
    elif criterion.rule == "between":
        assert isinstance(value, int | float)
        ok = (criterion.min is None or value >= criterion.min) and (criterion.max is None or value <= criterion.max)
        outcome = "met" if ok else "not_met"
    elif criterion.rule == "in":
        outcome = "met" if value in criterion.values else "not_met"
    else:
        outcome = "met" if bool(value) is (criterion.rule == "is_true") else "not_met"
    passed = outcome != "missing" and ((outcome == "met") == (criterion.kind == "inclusion"))
    return CriterionOutcome(criterion.id, criterion.kind, criterion.text, value, outcome, passed)


def evaluate_eligibility(protocol: Protocol, values: Mapping[str, object]) -> EligibilityResult:
    """Evaluate every criterion of the protocol on a participant's screening values."""
    coerced = coerce_screening_values(protocol, values)
    return EligibilityResult(tuple(evaluate_criterion(c, coerced.get(c.field)) for c in protocol.eligibility))
