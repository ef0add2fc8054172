"""Eligibility: every criterion evaluated, failures kept with their values."""

from __future__ import annotations

import pytest

from alstrial.domain.eligibility import coerce_screening_values, evaluate_eligibility
from alstrial.errors import ValidationFailed
from alstrial.protocol import load_protocol

PROTOCOL = load_protocol()

ELIGIBLE = {
    "age_years": 48,
    "sex": "M",
    "el_escorial": "probable",
    "months_since_onset": 14.5,
    "onset_region": "limb",
    "alsfrs_r_total": 33,
    "svc_percent_predicted": 76.0,
    "alsfrs_r_runin_decline": 4,
    "riluzole": True,
    "prior_stem_cell_therapy": False,
    "edaravone_within_30_days": False,
    "experimental_agent_within_30_days": False,
}


def test_eligible_participant_passes_every_criterion() -> None:
    result = evaluate_eligibility(PROTOCOL, ELIGIBLE)
    assert result.eligible
    assert len(result.outcomes) == len(PROTOCOL.eligibility)
    assert str(result).startswith("eligible")


@pytest.mark.parametrize(
    ("field", "value", "criterion"),
    [
        ("age_years", 17, "IN1"),
        ("age_years", 61, "IN1"),
        ("el_escorial", "suspected", "IN2"),
        ("months_since_onset", 24.1, "IN3"),
        ("alsfrs_r_total", 24, "IN4"),
        ("svc_percent_predicted", 64.9, "IN5"),
        ("alsfrs_r_runin_decline", 2, "IN6"),
        ("prior_stem_cell_therapy", True, "EX1"),
        ("edaravone_within_30_days", "yes", "EX2"),
    ],
)
def test_each_criterion_fails_on_its_boundary(field: str, value: object, criterion: str) -> None:
    result = evaluate_eligibility(PROTOCOL, {**ELIGIBLE, field: value})
    assert not result.eligible
    assert [o.criterion_id for o in result.failed] == [criterion]
    (failed,) = result.failed
    # an inclusion criterion fails when not met, an exclusion criterion when met
    assert failed.outcome == ("not_met" if criterion.startswith("IN") else "met")
    assert failed.kind == ("inclusion" if criterion.startswith("IN") else "exclusion")
    text = next(c.text for c in PROTOCOL.eligibility if c.id == criterion)
    assert failed.text == text
    assert str(result) == f"not eligible: {criterion} {text} (value {failed.value!r})"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("age_years", 18),
        ("age_years", 60),
        ("months_since_onset", 24),
        ("alsfrs_r_total", 25),
        ("svc_percent_predicted", 65),
        ("alsfrs_r_runin_decline", 3),
    ],
)
def test_boundaries_are_inclusive(field: str, value: object) -> None:
    assert evaluate_eligibility(PROTOCOL, {**ELIGIBLE, field: value}).eligible


def test_all_failures_are_recorded_and_missing_values_fail() -> None:
    values = {**ELIGIBLE, "age_years": 70, "alsfrs_r_total": 20}
    del values["svc_percent_predicted"]
    result = evaluate_eligibility(PROTOCOL, values)
    failed = {o.criterion_id: o for o in result.failed}
    assert set(failed) == {"IN1", "IN4", "IN5"}
    assert failed["IN5"].outcome == "missing"
    assert failed["IN1"].value == 70
    texts = {c.id: c.text for c in PROTOCOL.eligibility}
    assert str(result) == (
        f"not eligible: IN1 {texts['IN1']} (value 70); IN4 {texts['IN4']} (value 20); IN5 {texts['IN5']} (value None)"
    )


def test_bad_values_are_all_reported_by_field() -> None:
    with pytest.raises(ValidationFailed) as info:
        evaluate_eligibility(PROTOCOL, {**ELIGIBLE, "age_years": "forty", "sex": "X", "riluzole": "maybe", "height": 1})
    where = {p.where for p in info.value.problems}
    assert where == {"age_years", "sex", "riluzole", "height"}


def test_strings_from_forms_are_coerced() -> None:
    values = {k: str(v) for k, v in ELIGIBLE.items()}
    assert evaluate_eligibility(PROTOCOL, values).eligible
    with pytest.raises(ValidationFailed, match="expected an integer"):
        evaluate_eligibility(PROTOCOL, {**values, "age_years": "40.5"})


def test_every_outcome_is_recorded_for_an_eligible_participant() -> None:
    outcomes = {o.criterion_id: o.outcome for o in evaluate_eligibility(PROTOCOL, ELIGIBLE).outcomes}
    assert outcomes == {"IN1": "met", "IN2": "met", "IN3": "met", "IN4": "met", "IN5": "met", "IN6": "met"} | {
        "EX1": "not_met",
        "EX2": "not_met",
        "EX3": "not_met",
    }
    assert str(evaluate_eligibility(PROTOCOL, ELIGIBLE)) == "eligible (9 criteria passed)"


def test_a_non_finite_number_is_refused_with_its_unit_when_it_has_one() -> None:
    with pytest.raises(ValidationFailed) as info:
        evaluate_eligibility(PROTOCOL, {**ELIGIBLE, "svc_percent_predicted": "inf", "age_years": "nan"})
    reasons = {p.where: p.reason for p in info.value.problems}
    assert reasons == {
        "svc_percent_predicted": "expected a finite number (% predicted)",
        "age_years": "expected a finite integer (years)",
    }
    fields = [
        f.model_copy(update={"unit": ""}) if f.name == "svc_percent_predicted" else f for f in PROTOCOL.screening_fields
    ]
    unitless = PROTOCOL.model_copy(update={"screening_fields": fields})
    with pytest.raises(ValidationFailed) as info:
        evaluate_eligibility(unitless, {**ELIGIBLE, "svc_percent_predicted": "inf"})
    assert [p.reason for p in info.value.problems] == ["expected a finite number"]


def test_blank_or_absent_values_are_missing_and_fail_inclusion_and_exclusion_alike() -> None:
    values = {**ELIGIBLE, "age_years": "", "alsfrs_r_total": "  ", "riluzole": None}
    del values["prior_stem_cell_therapy"]
    result = evaluate_eligibility(PROTOCOL, values)
    failed = {o.criterion_id: o.outcome for o in result.failed}
    assert failed == {"IN1": "missing", "IN4": "missing", "EX1": "missing"}


@pytest.mark.parametrize(
    ("text", "value"),
    [
        *[("true", True), ("Yes", True), ("y", True), ("Y", True), ("1", True)],
        *[("false", False), ("no", False), ("NO", False), ("n", False), ("N", False), ("0", False)],
    ],
)
def test_boolean_spellings(text: str, value: bool) -> None:
    assert coerce_screening_values(PROTOCOL, {"riluzole": text}) == {"riluzole": value}


def test_every_bad_value_is_reported_with_its_reason_and_raw_value() -> None:
    raw = {"height": 180, "age_years": "forty", "sex": "X", "riluzole": "maybe", "alsfrs_r_total": True}
    with pytest.raises(ValidationFailed) as info:
        coerce_screening_values(PROTOCOL, raw)
    assert str(info.value).startswith("screening values: 5 problem(s)")
    known = sorted(f.name for f in PROTOCOL.screening_fields)
    assert [(p.where, p.value, p.reason) for p in info.value.problems] == [
        ("height", 180, f"unknown screening field; expected one of {known}"),
        ("age_years", "forty", "expected an integer"),
        ("sex", "X", "expected one of ['F', 'M']"),
        ("riluzole", "maybe", "expected a boolean (true/false, yes/no, 1/0)"),
        ("alsfrs_r_total", True, "expected an integer, not a boolean"),
    ]
    with pytest.raises(ValidationFailed) as info:
        coerce_screening_values(PROTOCOL, {"age_years": "40.5"})
    assert [p.reason for p in info.value.problems] == ["expected an integer"]
    with pytest.raises(ValidationFailed) as info:
        coerce_screening_values(PROTOCOL, {"svc_percent_predicted": "high", "months_since_onset": False})
    assert [p.reason for p in info.value.problems] == ["expected a number", "expected a number, not a boolean"]


@pytest.mark.parametrize(
    ("field", "typo", "reason"),
    [
        # the seed protocol's ranges (protocol/defaults/msc_als_phase3.toml: age 0 to 120 years,
        # ALSFRS-R 0 to 48 points, run-in decline -48 to 48 points)
        ("age_years", 250, "outside the possible range: expected 0 to 120 (years)"),
        ("age_years", -1, "outside the possible range: expected 0 to 120 (years)"),
        ("age_years", 10**19, "outside the possible range: expected 0 to 120 (years)"),
        ("alsfrs_r_total", "49", "outside the possible range: expected 0 to 48 (points)"),
        ("alsfrs_r_runin_decline", -49, "outside the possible range: expected -48 to 48 (points)"),
    ],
)
def test_a_value_outside_the_field_range_is_a_typo_refused_not_a_screen_failure(
    field: str, typo: object, reason: str
) -> None:
    with pytest.raises(ValidationFailed) as info:
        evaluate_eligibility(PROTOCOL, {**ELIGIBLE, field: typo})
    assert [(p.where, p.reason) for p in info.value.problems] == [(field, reason)]


@pytest.mark.parametrize(("field", "edge"), [("age_years", 0), ("age_years", 120), ("alsfrs_r_runin_decline", -48)])
def test_the_range_ends_are_values_a_field_can_take(field: str, edge: int) -> None:
    assert coerce_screening_values(PROTOCOL, {field: edge}) == {field: edge}


def test_a_one_sided_range_says_which_side() -> None:
    fields = [f.model_copy(update={"max": None}) if f.name == "age_years" else f for f in PROTOCOL.screening_fields]
    open_ended = PROTOCOL.model_copy(update={"screening_fields": fields})
    with pytest.raises(ValidationFailed, match=r"expected at least 0 \(years\)"):
        coerce_screening_values(open_ended, {"age_years": -3})
    assert coerce_screening_values(open_ended, {"age_years": 10**6}) == {"age_years": 10**6}
