"""Protocol files: the seed trial loads, and broken files report every problem at once."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from alstrial.protocol import ProtocolError, default_protocol_path, load_protocol, parse_protocol


def _seed_text() -> str:
    return default_protocol_path().read_text(encoding="utf-8")


def _replace(text: str, old: str, new: str) -> str:
    assert old in text, f"fixture text {old!r} not found in the seed protocol"
    return text.replace(old, new, 1)


def test_seed_trial_matches_the_published_design() -> None:
    p = load_protocol()
    assert p.sample_size == 189
    assert [(a.code, a.ratio) for a in p.arms] == [("MSC", 1), ("PBO", 1)]
    age = next(c for c in p.eligibility if c.field == "age_years")
    assert (age.min, age.max) == (18, 60)
    assert [v.code for v in p.dose_visits()] == ["W0", "W8", "W16"]
    assert [v.day for v in p.dose_visits()] == [0, 56, 112]
    assert p.visit("W28").day == 196
    assert p.primary_endpoint() is not None and p.primary_endpoint().visit == "W28"  # type: ignore[union-attr]
    assert p.primary_endpoint().parameters["threshold_points_per_month"] == 1.25  # type: ignore[union-attr]
    alsfrs_visits = [v.code for v in p.visits if "alsfrs_r" in v.assessments and v.day >= 0]
    assert alsfrs_visits == ["W0", "W4", "W8", "W12", "W16", "W20", "W24", "W28"]  # monthly
    assert {a.code for a in p.analytes} >= {"NFL", "VEGF", "MCP1"}
    assert p.strata_levels()[0] == ("site", ["S01", "S02", "S03", "S04", "S05", "S06"])


def test_several_errors_are_all_reported_with_path_value_and_reason() -> None:
    text = _seed_text()
    text = _replace(text, "ratio = 1\n", "ratio = 0\n")
    text = _replace(text, "window_before = 14", "window_before = -3")
    text = _replace(text, 'values = ["possible"', 'values = ["likely"')
    text = _replace(text, 'visit = "W8"', 'visit = "W9"')
    text = _replace(text, "sample_size = 189", "sample_size = 189\nsponsor = 'x'")
    with pytest.raises(ProtocolError) as info:
        parse_protocol(text, source="broken.toml")
    message = str(info.value)
    where = {p.where for p in info.value.problems}
    assert {
        "arms[0].ratio",
        "visits[0].window_before",
        "eligibility[1].values[0]",
        "dosing.doses[1].visit",
        "sponsor",
    } <= where
    assert "broken.toml: arms[0].ratio: value 0" in message
    assert "'likely'" in message and "levels" in message
    assert "unknown field" in message
    assert "5 problem(s)" in message


def test_unknown_references_are_reported() -> None:
    text = _replace(_seed_text(), 'assessments = ["bma", "weight"]', 'assessments = ["bma", "mri"]')
    text = _replace(text, 'field = "alsfrs_r_total"\nrule', 'field = "alsfrs_total"\nrule')
    with pytest.raises(ProtocolError) as info:
        parse_protocol(text)
    reasons = {(p.where, p.value) for p in info.value.problems}
    assert ("visits[2].assessments[1]", "mri") in reasons
    assert ("eligibility[3].field", "alsfrs_total") in reasons


def test_rule_must_fit_the_field_type() -> None:
    text = _replace(
        _seed_text(), 'field = "prior_stem_cell_therapy"\nrule = "is_true"', 'field = "age_years"\nrule = "is_true"'
    )
    with pytest.raises(
        ProtocolError, match=r"eligibility\[6\]\.rule: value 'is_true' — 'is_true' needs a boolean field"
    ):
        parse_protocol(text)


def test_duplicate_codes_and_unordered_visits() -> None:
    text = _replace(_seed_text(), 'code = "S02"', 'code = "S01"')
    text = _replace(text, "day = 28\n", "day = -1\n")
    with pytest.raises(ProtocolError) as info:
        parse_protocol(text)
    where = {p.where for p in info.value.problems}
    assert {"sites[0].code", "sites[1].code", "visits[4].day"} <= where


def test_toml_syntax_error_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ProtocolError, match="TOML syntax"):
        parse_protocol("id = [", source="x.toml")
    with pytest.raises(ProtocolError, match="no such file"):
        load_protocol(tmp_path / "absent.toml")


def test_missing_required_section_is_named() -> None:
    data = tomllib.loads(_seed_text())
    del data["dosing"]
    del data["arms"][0]["name"]
    from alstrial.protocol import protocol_from_mapping

    with pytest.raises(ProtocolError) as info:
        protocol_from_mapping(data, source="m")
    assert {"dosing", "arms[0].name"} <= {p.where for p in info.value.problems}
    assert all(
        "required field is missing" in p.reason for p in info.value.problems if p.where in {"dosing", "arms[0].name"}
    )


def test_numeric_stratum_needs_one_more_level_than_cutpoints() -> None:
    text = _replace(_seed_text(), "cutpoints = [35]", "cutpoints = [30, 35]")
    with pytest.raises(ProtocolError, match=r"strata\[1\]\.levels"):
        parse_protocol(text)


@pytest.mark.parametrize(
    ("seed", "typo", "where"),
    [
        ("cutpoints = [35]", "cutpoints = [true]", "strata[1].cutpoints"),
        ("block_multiples = [1, 2, 3]", "block_multiples = [1, false, 3]", "randomization.block_multiples"),
    ],
)
def test_true_or_false_in_a_list_of_numbers_is_refused(seed: str, typo: str, where: str) -> None:
    """TOML's ``true`` would otherwise be read as 1: a cut point of 1 on ALSFRS-R nobody wrote."""
    with pytest.raises(ProtocolError) as info:
        parse_protocol(_replace(_seed_text(), seed, typo))
    found = [p for p in info.value.problems if p.where.startswith(where)]
    assert found and "not true/false" in found[0].reason, info.value.problems


def test_protocol_is_immutable() -> None:
    p = load_protocol()
    with pytest.raises(Exception, match="frozen"):
        p.arms[0].ratio = 3  # type: ignore[misc]


@pytest.mark.parametrize(
    ("seed", "typo", "where", "words"),
    [
        # the age criterion's lower bound below the field's range (0 to 120 years)
        ("min = 18\nmax = 60", "min = -1\nmax = 60", "eligibility[0].min", "range of 'age_years' (0 to 120)"),
        ("min = 18\nmax = 60", "min = 18\nmax = 1e19", "eligibility[0].max", "no recorded value could reach it"),
        ("cutpoints = [35]", "cutpoints = [60]", "strata[1].cutpoints[0]", "outside the range of 'alsfrs_r_total'"),
        ('unit = "years"\n', 'unit = "years"\n', "", ""),  # unchanged: the seed protocol itself is valid
    ],
)
def test_a_bound_outside_its_field_range_is_refused(seed: str, typo: str, where: str, words: str) -> None:
    text = _replace(_seed_text(), seed, typo)
    if not where:
        parse_protocol(text)
        return
    with pytest.raises(ProtocolError) as info:
        parse_protocol(text)
    found = {p.where: p.reason for p in info.value.problems}
    assert where in found and words in found[where], found


def test_a_field_range_must_be_ordered_and_numeric() -> None:
    text = _replace(_seed_text(), 'unit = "years"\n', 'unit = "years"\nmin_dummy = 0\n')
    with pytest.raises(ProtocolError):  # unknown keys are refused, so a misspelt range is not ignored
        parse_protocol(text)
    text = _replace(_seed_text(), "min = 0\nmax = 120", "min = 120\nmax = 0")
    with pytest.raises(ProtocolError, match=r"screening_fields\[0\]\.min: value 120.*must not exceed max"):
        parse_protocol(text)
    text = _replace(_seed_text(), 'levels = ["F", "M"]', 'levels = ["F", "M"]\nmin = 0')
    with pytest.raises(ProtocolError, match=r"screening_fields\[1\]\.min.*numeric fields"):
        parse_protocol(text)
