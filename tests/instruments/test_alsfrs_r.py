"""Items, validation and scoring of one ALSFRS-R visit (the scale: validation/reference/alsfrs_staging_encals.md)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from alstrial.errors import ValidationFailed
from alstrial.instruments.alsfrs_r import DOMAINS, ITEM_CODES, ITEMS, ITEMS_BY_CODE, AlsfrsScore, score, validate

NORMAL = {c: 4 for c in ITEM_CODES if c != "q5b"}


def visit(**changes: object) -> dict[str, object]:
    r: dict[str, object] = dict(NORMAL)
    r.update(changes)
    return {k: v for k, v in r.items() if v is not ...}


def test_items_are_the_thirteen_codes_in_order_with_five_anchors_each() -> None:
    assert ITEM_CODES == ("q1", "q2", "q3", "q4", "q5a", "q5b", "q6", "q7", "q8", "q9", "q10", "q11", "q12")
    for item in ITEMS:
        assert sorted(item.anchors) == [0, 1, 2, 3, 4]
        assert all(isinstance(a, str) and a for a in item.anchors.values())
        assert item.number == item.code[1:]
    assert "without gastrostomy" in ITEMS_BY_CODE["q5a"].name
    assert "with gastrostomy" in ITEMS_BY_CODE["q5b"].name
    assert ITEMS_BY_CODE["q1"].anchors[0] == "Loss of useful speech"
    assert ITEMS_BY_CODE["q12"].anchors[0].startswith("Invasive mechanical ventilation")


def test_items_are_immutable_and_hashable() -> None:
    item = ITEMS[0]
    with pytest.raises(AttributeError):
        item.code = "x"  # type: ignore[misc]
    with pytest.raises(TypeError):
        item.anchors[4] = "changed"  # type: ignore[index]
    assert len({*ITEMS}) == 13


def test_domains_match_items() -> None:
    for domain, codes in DOMAINS.items():
        for code in codes:
            if code != "q5":
                assert ITEMS_BY_CODE[code].domain == domain
    assert ITEMS_BY_CODE["q5a"].domain == ITEMS_BY_CODE["q5b"].domain == "fine_motor"


def test_score_of_an_advanced_visit_by_hand() -> None:
    # Bulbar 1+2+1=4, fine 1+1(5b)+1=3, gross 0+0+0=0, respiratory 1+2+1=4 → total 11.
    r = {"q1": 1, "q2": 2, "q3": 1, "q4": 1, "q5b": 1, "q6": 1, "q7": 0, "q8": 0, "q9": 0, "q10": 1, "q11": 2,
         "q12": 1}  # fmt: skip
    s = score(r)
    assert (s.total, s.bulbar, s.fine_motor, s.gross_motor, s.respiratory, s.motor) == (11, 4, 3, 0, 4, 3)
    assert s.gastrostomy is True
    assert s.kings_stage == "4B"  # q12 < 4 beats the gastrostomy (4A)
    assert s.mitos_stage == 4


def test_score_normal_visit_and_result_object() -> None:
    s = score(NORMAL)
    assert s == AlsfrsScore(48, 12, 12, 12, 12, 24, False, "0", 0)
    assert s.to_dict()["total"] == 48
    assert set(s.to_dict()) == {"total", "bulbar", "fine_motor", "gross_motor", "respiratory", "motor",
                                "gastrostomy", "kings_stage", "mitos_stage"}  # fmt: skip
    assert "48/48" in str(s) and "King's stage 0" in str(s)
    with pytest.raises(AttributeError):
        s.total = 1  # type: ignore[misc]


def test_accepts_numpy_integers_and_whole_floats_and_treats_nan_as_blank() -> None:
    r = visit(q1=np.int8(3), q2=np.int64(2), q3=3.0, q5b=float("nan"))
    assert score(r).bulbar == 8


@pytest.mark.parametrize(
    ("value", "reason_part"),
    [
        (2.5, "not a fraction"),
        (True, "not true/false"),
        (False, "not true/false"),
        ("3", "not text"),
        (5, "out of range"),
        (-1, "out of range"),
        (math.inf, "not infinity"),
        ([3], "not a number"),
        (np.float64(3.5), "not a fraction"),
    ],
)
def test_invalid_values_are_rejected_with_item_named(value: object, reason_part: str) -> None:
    problems = validate(visit(q7=value))
    assert len(problems) == 1
    (p,) = problems
    assert p.where == "q7"
    assert p.value is value
    assert "item 7 (Turning in bed" in p.reason and reason_part in p.reason
    assert "0–4" in p.reason


def test_missing_items_are_each_reported_by_name() -> None:
    problems = validate(visit(q2=..., q11=None))
    assert [p.where for p in problems] == ["q2", "q11"]
    assert problems[0].reason == "item 2 (Salivation) is missing"
    assert problems[1].reason == "item 11 (Orthopnea) is missing"


def test_item5_needs_exactly_one_form() -> None:
    both = validate(visit(q5b=3))
    assert [p.where for p in both] == ["q5a/q5b"]
    assert both[0].reason == (
        "both item 5a (without gastrostomy) and 5b (with gastrostomy) are answered; answer exactly one"
    )
    neither = validate(visit(q5a=...))
    assert [p.where for p in neither] == ["q5a/q5b"]
    assert "item 5 is missing" in neither[0].reason
    assert validate(visit(q5a=..., q5b=2)) == []


def test_unknown_keys_are_reported() -> None:
    problems = validate(visit(q13=4))
    assert [p.where for p in problems] == ["q13"]
    assert problems[0].reason == f"unknown item code; expected one of {', '.join(ITEM_CODES)}"
    assert problems[0].reason.endswith("q4, q5a, q5b, q6, q7, q8, q9, q10, q11, q12")


def test_score_raises_with_every_problem() -> None:
    with pytest.raises(ValidationFailed) as exc:
        score(visit(q1=7, q3="x", q9=..., q5b=1))
    wheres = [p.where for p in exc.value.problems]
    assert wheres == ["q1", "q3", "q9", "q5a/q5b"]
    assert str(exc.value).startswith("ALSFRS-R responses: 4 problem(s)")
    assert "value 7" in str(exc.value)


def test_non_mapping_input_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="mapping"):
        validate([4] * 12)  # type: ignore[arg-type]


def test_printed_score_names_every_domain_and_the_gastrostomy() -> None:
    normal = score({c: 4 for c in ITEM_CODES if c != "q5b"})
    assert str(normal) == (
        "ALSFRS-R 48/48 — bulbar 12/12, fine motor 12/12, gross motor 12/12, respiratory 12/12; "
        "King's stage 0, MiToS stage 0"
    )
    # every item 3 with the gastrostomy form of item 5: 36/48, 9 per domain; item 12 < 4 makes King's 4B
    fed = score({c: 3 for c in ITEM_CODES if c != "q5a"})
    assert str(fed) == (
        "ALSFRS-R 36/48 — bulbar 9/12, fine motor 9/12, gross motor 9/12, respiratory 9/12, gastrostomy (5b); "
        "King's stage 4B, MiToS stage 0"
    )
