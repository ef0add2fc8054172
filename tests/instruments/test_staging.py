"""King's (Balendra 2014) and MiToS (Chiò 2015) edge cases, one published rule per row (the rules are
transcribed in validation/reference/alsfrs_staging_encals.md)."""

from __future__ import annotations

import pytest

from alstrial.errors import ValidationFailed
from alstrial.instruments.alsfrs_r import ITEM_CODES, score
from alstrial.instruments.staging import KINGS_ORDER, kings_stage, mitos_domains_lost, mitos_stage

NORMAL = {c: 4 for c in ITEM_CODES if c != "q5b"}


def visit(**changes: int | None) -> dict[str, int]:
    r = dict(NORMAL)
    for k, v in changes.items():
        if v is None:
            r.pop(k, None)
        else:
            r[k] = v
    return r


GASTRO = {"q5a": None, "q5b": 4}

KINGS_CASES = [
    ("normal -> no region", {}, "0"),
    ("dyspnea 0 -> 4B", {"q10": 0}, "4B"),
    ("dyspnea 1 is not 4B", {"q10": 1}, "0"),
    ("respiratory insufficiency 3 (intermittent BiPAP) -> 4B", {"q12": 3}, "4B"),
    ("respiratory insufficiency 0 -> 4B", {"q12": 0}, "4B"),
    ("gastrostomy (5b answered, even 4) -> 4A", GASTRO, "4A"),
    ("gastrostomy with 5b 0 -> 4A", {"q5a": None, "q5b": 0}, "4A"),
    ("4B beats 4A: gastrostomy + q12 < 4", {**GASTRO, "q12": 3}, "4B"),
    ("4B beats 4A: gastrostomy + q10 == 0", {**GASTRO, "q10": 0}, "4B"),
    ("4A beats 3 regions", {**GASTRO, "q1": 2, "q4": 2, "q8": 2}, "4A"),
    ("bulbar via speech", {"q1": 3}, "1"),
    ("bulbar via salivation", {"q2": 3}, "1"),
    ("bulbar via swallowing", {"q3": 3}, "1"),
    ("upper limb via handwriting", {"q4": 3}, "1"),
    ("upper limb via cutting food (5a)", {"q5a": 3}, "1"),
    ("lower limb via walking", {"q8": 3}, "1"),
    ("two upper-limb items are one region", {"q4": 1, "q5a": 0}, "1"),
    ("all bulbar items are one region", {"q1": 0, "q2": 0, "q3": 0}, "1"),
    ("bulbar + upper", {"q1": 3, "q4": 3}, "2"),
    ("bulbar + lower", {"q2": 2, "q8": 2}, "2"),
    ("upper + lower", {"q5a": 2, "q8": 1}, "2"),
    ("three regions", {"q3": 3, "q4": 3, "q8": 3}, "3"),
    ("dressing (q6) is not a region item", {"q6": 0}, "0"),
    ("turning in bed (q7) is not a region item", {"q7": 0}, "0"),
    ("stairs (q9) is not a region item", {"q9": 0}, "0"),
    ("orthopnea (q11) is not used", {"q11": 0}, "0"),
    ("dyspnea 1..3 not used outside 4B", {"q10": 2}, "0"),
]


@pytest.mark.parametrize(("label", "changes", "expected"), KINGS_CASES, ids=[c[0] for c in KINGS_CASES])
def test_kings_stage(label: str, changes: dict[str, int | None], expected: str) -> None:
    r = visit(**changes)
    assert kings_stage(r) == expected
    assert score(r).kings_stage == expected


MITOS_CASES = [
    ("normal", {}, 0),
    ("walking 1 -> walking/self-care lost", {"q8": 1}, 1),
    ("walking 2 is not lost", {"q8": 2}, 0),
    ("dressing 1 -> walking/self-care lost", {"q6": 1}, 1),
    ("dressing 2 is not lost", {"q6": 2}, 0),
    ("walking and dressing lost are one domain", {"q8": 0, "q6": 0}, 1),
    ("swallowing 1 -> lost", {"q3": 1}, 1),
    ("swallowing 2 is not lost", {"q3": 2}, 0),
    ("speech 1 alone is NOT communicating lost (AND)", {"q1": 1}, 0),
    ("handwriting 0 alone is NOT communicating lost (AND)", {"q4": 0}, 0),
    ("speech 1 AND handwriting 1 -> communicating lost", {"q1": 1, "q4": 1}, 1),
    ("speech 0 AND handwriting 1 -> lost", {"q1": 0, "q4": 1}, 1),
    ("speech 2 AND handwriting 0 is not lost", {"q1": 2, "q4": 0}, 0),
    ("dyspnea 1 -> breathing lost", {"q10": 1}, 1),
    ("dyspnea 2 is not lost", {"q10": 2}, 0),
    ("resp insufficiency 2 -> breathing lost", {"q12": 2}, 1),
    ("resp insufficiency 3 is not lost", {"q12": 3}, 0),
    ("dyspnea and resp insufficiency are one domain", {"q10": 0, "q12": 0}, 1),
    ("orthopnea is not used", {"q11": 0}, 0),
    ("item 5a is not used", {"q5a": 0}, 0),
    ("item 5b / gastrostomy is not used", {"q5a": None, "q5b": 0}, 0),
    ("stairs and turning are not used", {"q7": 0, "q9": 0}, 0),
    ("all four lost", {"q8": 0, "q3": 0, "q1": 0, "q4": 0, "q10": 0}, 4),
    ("three lost", {"q6": 1, "q3": 1, "q12": 2}, 3),
]


@pytest.mark.parametrize(("label", "changes", "expected"), MITOS_CASES, ids=[c[0] for c in MITOS_CASES])
def test_mitos_stage(label: str, changes: dict[str, int | None], expected: int) -> None:
    r = visit(**changes)
    assert mitos_stage(r) == expected
    assert score(r).mitos_stage == expected


def test_mitos_domains_are_named() -> None:
    lost = mitos_domains_lost(visit(q1=1, q4=1, q12=2))
    assert lost == {"walking_selfcare": False, "swallowing": False, "communicating": True, "breathing": True}


def test_kings_order_is_clinical_severity() -> None:
    assert KINGS_ORDER == ("0", "1", "2", "3", "4A", "4B")


def test_staging_validates_input() -> None:
    with pytest.raises(ValidationFailed) as exc:
        kings_stage(visit(q10=5))
    assert exc.value.problems[0].where == "q10"
    with pytest.raises(ValidationFailed):
        mitos_stage(visit(q3=None))
