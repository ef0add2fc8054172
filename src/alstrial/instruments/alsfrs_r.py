"""The ALSFRS-R (Cedarbaum et al., J Neurol Sci 1999): items, anchors, validation and scoring.

Twelve items scored 0–4 (4 = normal), total 0–48. Item 5 has two forms and exactly one is
scored per visit: 5a without gastrostomy, 5b with gastrostomy; "5b answered" is the usual
proxy for "has a gastrostomy" (King's stage 4A).

Accepted item values (the same in :func:`validate` and in
:func:`alstrial.instruments.alsfrs_frame.score_frame`): an integer 0–4 (``int`` or a numpy
integer), or a float that is exactly a whole number (``3.0``), because pandas stores an
integer column that has blanks as floats. Rejected: non-whole floats (``2.5``), infinities,
``bool`` (``True`` is not a score), strings (parse text first; ``score_frame`` does that for
CSV cells), any other type, and values outside 0–4. ``None`` and ``NaN`` mean "not answered".

Domains follow the common four-domain split (Franchignoni et al. 2013); the three-domain
variant's ``motor`` (items 4–9) is also reported.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from types import MappingProxyType
from typing import Literal

import numpy as np

from alstrial.errors import Problem, ValidationFailed

__all__ = [
    "DOMAINS",
    "ITEMS",
    "ITEMS_BY_CODE",
    "ITEM_CODES",
    "MAX_ITEM_SCORE",
    "MAX_TOTAL",
    "REQUIRED_CODES",
    "AlsfrsScore",
    "Domain",
    "Item",
    "checked_values",
    "item_reason",
    "item_value",
    "score",
    "validate",
]

Domain = Literal["bulbar", "fine_motor", "gross_motor", "respiratory"]

MAX_ITEM_SCORE = 4
MAX_TOTAL = 48


@dataclass(frozen=True)
class Item:
    """One ALSFRS-R item: its code (``q5a``), printed number (``5a``), name, domain and anchors 4..0."""

    code: str
    number: str
    name: str
    domain: Domain
    anchors: Mapping[int, str]

    def __hash__(self) -> int:  # anchors is a read-only mapping; the code identifies the item
        return hash(self.code)

    def __str__(self) -> str:
        return f"{self.number}. {self.name} ({self.domain})"


def _item(code: str, name: str, domain: Domain, *anchors: str) -> Item:
    assert len(anchors) == 5, code
    return Item(
        code=code,
        number=code[1:],
        name=name,
        domain=domain,
        anchors=MappingProxyType(dict(zip((4, 3, 2, 1, 0), anchors, strict=True))),
    )


# Anchor wording: items 1–8 and 10, 12 as transcribed in validation/reference/alsfrs_staging_encals.md [V];
# items 9 and 11 are [M].
ITEMS: tuple[Item, ...] = (
    _item("q1", "Speech", "bulbar",
          "Normal speech processes", "Detectable speech disturbance",
          "Intelligible with repeating", "Speech combined with non-vocal communication",
          "Loss of useful speech"),
    _item("q2", "Salivation", "bulbar",
          "Normal", "Slight but definite excess of saliva in mouth; may have night-time drooling",
          "Moderately excessive saliva; may have minimal drooling",
          "Marked excess of saliva with some drooling", "Marked drooling; requires constant tissue"),
    _item("q3", "Swallowing", "bulbar",
          "Normal eating habits", "Early eating problems; occasional choking",
          "Dietary consistency changes", "Needs supplemental tube feeding",
          "NPO (exclusively parenteral or enteral feeding)"),
    _item("q4", "Handwriting", "fine_motor",
          "Normal", "Slow or sloppy; all words are legible", "Not all words are legible",
          "Able to grip pen but unable to write", "Unable to grip pen"),
    _item("q5a", "Cutting food and handling utensils, without gastrostomy", "fine_motor",
          "Normal", "Somewhat slow and clumsy, but no help needed",
          "Can cut most foods, although clumsy and slow; some help needed",
          "Food must be cut by someone, but can still feed slowly", "Needs to be fed"),
    _item("q5b", "Cutting food and handling utensils, with gastrostomy", "fine_motor",
          "Normal", "Clumsy but able to perform all manipulations independently",
          "Some help needed with closures and fasteners",
          "Provides minimal assistance to caregiver", "Unable to perform any aspect of task"),
    _item("q6", "Dressing and hygiene", "fine_motor",
          "Normal function", "Independent and complete self-care with effort or decreased efficiency",
          "Intermittent assistance or substitute methods", "Needs attendant for self-care",
          "Total dependence"),
    _item("q7", "Turning in bed and adjusting bed clothes", "gross_motor",
          "Normal", "Somewhat slow and clumsy, but no help needed",
          "Can turn alone or adjust sheets, but with great difficulty",
          "Can initiate, but not turn or adjust sheets alone", "Helpless"),
    _item("q8", "Walking", "gross_motor",
          "Normal", "Early ambulation difficulties", "Walks with assistance",
          "Non-ambulatory functional movement only", "No purposeful leg movement"),
    _item("q9", "Climbing stairs", "gross_motor",
          "Normal", "Slow", "Mild unsteadiness or fatigue", "Needs assistance", "Cannot do"),
    _item("q10", "Dyspnea", "respiratory",
          "None", "Occurs when walking", "Occurs with one or more of: eating, bathing, dressing",
          "Occurs at rest, difficulty breathing when either sitting or lying",
          "Significant difficulty, considering using mechanical respiratory support"),
    _item("q11", "Orthopnea", "respiratory",
          "None", "Some difficulty sleeping at night due to shortness of breath; ≤ 2 pillows",
          "Needs extra pillows in order to sleep (more than two)", "Can only sleep sitting up",
          "Unable to sleep"),
    _item("q12", "Respiratory insufficiency", "respiratory",
          "None", "Intermittent use of BiPAP", "Continuous use of BiPAP during the night",
          "Continuous use of BiPAP during the night and day",
          "Invasive mechanical ventilation by intubation or tracheostomy"),
)  # fmt: skip

ITEMS_BY_CODE: Mapping[str, Item] = MappingProxyType({it.code: it for it in ITEMS})
ITEM_CODES: tuple[str, ...] = tuple(it.code for it in ITEMS)
#: Items every visit must answer (item 5 is checked separately: exactly one of q5a / q5b).
REQUIRED_CODES: tuple[str, ...] = tuple(c for c in ITEM_CODES if c not in ("q5a", "q5b"))

#: Item codes per four-domain subscore; item 5 counts in fine motor whichever form was used.
DOMAINS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "bulbar": ("q1", "q2", "q3"),
        "fine_motor": ("q4", "q5", "q6"),
        "gross_motor": ("q7", "q8", "q9"),
        "respiratory": ("q10", "q11", "q12"),
    }
)

_ALLOWED = "a whole number 0–4 (4 = normal)"


def _is_missing(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, float | np.floating):
        return math.isnan(value)
    # pandas.NA / NaT compare as missing without importing pandas here
    return type(value).__name__ in ("NAType", "NaTType")


#: Why an answered item value is rejected, keyed by kind (shared with ``score_frame``).
_REJECTIONS: Mapping[str, str] = MappingProxyType(
    {
        "boolean": ", not true/false",
        "fraction": ", not a fraction",
        "nonfinite": ", not infinity",
        "text": ", not text",
        "not_number": "; the value is not a number",
        "out_of_range": "; the value is out of range",
    }
)


def item_reason(code: str, kind: str) -> str:
    """The reason text for a rejected or missing value of item ``code`` (kind from ``_REJECTIONS``)."""
    item = ITEMS_BY_CODE[code]
    label = f"item {item.number} ({item.name})"
    if kind == "missing":
        return f"{label} is missing"
    return f"{label} must be {_ALLOWED}{_REJECTIONS[kind]}"


def item_value(code: str, value: object) -> tuple[int | None, Problem | None]:
    """Check one answered (non-missing) item value; return ``(score, None)`` or ``(None, problem)``."""
    if isinstance(value, bool | np.bool_):
        return None, Problem(code, value, item_reason(code, "boolean"))
    if isinstance(value, int | np.integer):
        v = int(value)
    elif isinstance(value, float | np.floating):
        if not math.isfinite(value):
            return None, Problem(code, value, item_reason(code, "nonfinite"))
        if not float(value).is_integer():
            return None, Problem(code, value, item_reason(code, "fraction"))
        v = int(value)
    else:
        kind = "text" if isinstance(value, str) else "not_number"
        return None, Problem(code, value, item_reason(code, kind))
    if not 0 <= v <= MAX_ITEM_SCORE:
        return None, Problem(code, value, item_reason(code, "out_of_range"))
    return v, None


def _check(responses: Mapping[str, object]) -> tuple[dict[str, int], list[Problem]]:
    if not isinstance(responses, Mapping):
        raise TypeError(f"responses must be a mapping of item code to score, not {type(responses).__name__}")
    values: dict[str, int] = {}
    problems: list[Problem] = []
    unknown = sorted(k for k in responses if k not in ITEMS_BY_CODE)
    for key in unknown:
        problems.append(
            Problem(str(key), responses[key], f"unknown item code; expected one of {', '.join(ITEM_CODES)}")
        )
    for code in ITEM_CODES:
        raw = responses.get(code)
        if _is_missing(raw):
            if code in REQUIRED_CODES:
                problems.append(Problem(code, raw, item_reason(code, "missing")))
            continue
        v, problem = item_value(code, raw)
        if problem is not None:
            problems.append(problem)
        elif v is not None:
            values[code] = v
    has_a = not _is_missing(responses.get("q5a"))
    has_b = not _is_missing(responses.get("q5b"))
    if has_a and has_b:
        problems.append(
            Problem(
                "q5a/q5b",
                (responses.get("q5a"), responses.get("q5b")),
                "both item 5a (without gastrostomy) and 5b (with gastrostomy) are answered; answer exactly one",
            )
        )
    elif not has_a and not has_b:
        problems.append(
            Problem(
                "q5a/q5b",
                None,
                "item 5 is missing: answer q5a (without gastrostomy) or q5b (with gastrostomy)",
            )
        )
    return values, problems


def validate(responses: Mapping[str, object]) -> list[Problem]:
    """Every problem with one visit's item responses (empty list = valid).

    ``Problem.where`` is the item code (``"q3"``, or ``"q5a/q5b"`` for the item-5 rule).
    """
    return _check(responses)[1]


@dataclass(frozen=True)
class AlsfrsScore:
    """A scored ALSFRS-R visit: total, subscores and the two derived stages."""

    total: int
    bulbar: int
    fine_motor: int
    gross_motor: int
    respiratory: int
    motor: int
    gastrostomy: bool
    kings_stage: str
    mitos_stage: int

    def to_dict(self) -> dict[str, object]:
        return asdict(self)

    def __str__(self) -> str:
        g = ", gastrostomy (5b)" if self.gastrostomy else ""
        return (
            f"ALSFRS-R {self.total}/48 — bulbar {self.bulbar}/12, fine motor {self.fine_motor}/12, "
            f"gross motor {self.gross_motor}/12, respiratory {self.respiratory}/12{g}; "
            f"King's stage {self.kings_stage}, MiToS stage {self.mitos_stage}"
        )


def checked_values(responses: Mapping[str, object]) -> dict[str, int]:
    """The integer item values, or raise :class:`ValidationFailed` listing every problem."""
    values, problems = _check(responses)
    if problems:
        raise ValidationFailed(problems, context="ALSFRS-R responses")
    return values


def score(responses: Mapping[str, object]) -> AlsfrsScore:
    """Score one visit; raises :class:`ValidationFailed` with every problem if the input is invalid."""
    from alstrial.instruments.staging import kings_stage_from_values, mitos_stage_from_values

    v = checked_values(responses)
    gastrostomy = "q5b" in v
    item5 = v["q5b"] if gastrostomy else v["q5a"]
    bulbar = v["q1"] + v["q2"] + v["q3"]
    fine = v["q4"] + item5 + v["q6"]
    gross = v["q7"] + v["q8"] + v["q9"]
    resp = v["q10"] + v["q11"] + v["q12"]
    return AlsfrsScore(
        total=bulbar + fine + gross + resp,
        bulbar=bulbar,
        fine_motor=fine,
        gross_motor=gross,
        respiratory=resp,
        motor=fine + gross,
        gastrostomy=gastrostomy,
        kings_stage=kings_stage_from_values(v),
        mitos_stage=mitos_stage_from_values(v),
    )
