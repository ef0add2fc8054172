"""Stratum keys: canonical order, inverse, Cartesian product, errors for unknown factors and levels."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alstrial.domain.randomization import (
    UNSTRATIFIED,
    InvalidRandomizationSpec,
    UnknownStratum,
    all_strata,
    parse_stratum_key,
    stratum_key,
)

FACTORS = [("site", ["S01", "S02", "S03"]), ("alsfrs_r_baseline", ["lt35", "ge35"])]
NAMES = ["site", "alsfrs_r_baseline"]


def test_key_follows_factor_order_not_mapping_order():
    a = stratum_key({"alsfrs_r_baseline": "ge35", "site": "S01"}, NAMES)
    b = stratum_key({"site": "S01", "alsfrs_r_baseline": "ge35"}, FACTORS)
    assert a == b == "site=S01|alsfrs_r_baseline=ge35"


def test_all_strata_is_the_cartesian_product_first_factor_slowest():
    keys = all_strata(FACTORS)
    assert len(keys) == 6 and len(set(keys)) == 6
    assert keys[:2] == ["site=S01|alsfrs_r_baseline=lt35", "site=S01|alsfrs_r_baseline=ge35"]
    assert keys[-1] == "site=S03|alsfrs_r_baseline=ge35"


def test_unstratified_design_has_one_stratum():
    assert all_strata([]) == [UNSTRATIFIED]
    assert stratum_key({}, []) == UNSTRATIFIED
    assert parse_stratum_key(UNSTRATIFIED, []) == {}
    with pytest.raises(UnknownStratum):
        parse_stratum_key("site=S01", [])


@given(st.data())
def test_parse_inverts_stratum_key(data):
    values = {name: data.draw(st.sampled_from(levels)) for name, levels in FACTORS}
    key = stratum_key(values, FACTORS)
    assert parse_stratum_key(key, FACTORS) == values
    assert list(parse_stratum_key(key, NAMES)) == NAMES


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"site": "S01", "alsfrs_r_baseline": "ge35", "sex": "F"}, r"unknown stratification factor\(s\) \['sex'\]"),
        ({"site": "S01"}, r"no value for stratification factor\(s\) \['alsfrs_r_baseline'\]"),
        ({"site": "S09", "alsfrs_r_baseline": "ge35"}, r"unknown level 'S09' for stratification factor 'site'"),
    ],
)
def test_stratum_key_errors_name_the_bad_factor_or_level(values, message):
    with pytest.raises(UnknownStratum, match=message):
        stratum_key(values, FACTORS)


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("site=S01", "no value"),
        ("alsfrs_r_baseline=ge35|site=S01", "canonical factor order"),
        ("site=S01|alsfrs_r_baseline", "not 'factor=level'"),
        ("site=S01|site=S02", "appears twice"),
        ("site=S01|alsfrs_r_baseline=mid", "unknown level 'mid'"),
    ],
)
def test_parse_refuses_malformed_or_unknown_keys(key, message):
    with pytest.raises(UnknownStratum, match=message):
        parse_stratum_key(key, FACTORS)


@pytest.mark.parametrize(
    "factors",
    [
        [("si|te", ["a"])],
        [("site", ["a=b"])],
        [("site", [])],
        [("site", ["a", "a"])],
        [("site", ["a"]), ("site", ["b"])],
        ["site", 3],
    ],
)
def test_factor_specs_that_would_make_ambiguous_keys_are_refused(factors):
    with pytest.raises(InvalidRandomizationSpec):
        all_strata(factors) if all(isinstance(f, tuple) for f in factors) else stratum_key({}, factors)


def test_unknown_stratum_message_is_not_wrapped_in_quotes():
    with pytest.raises(UnknownStratum) as info:
        stratum_key({"site": "S09", "alsfrs_r_baseline": "ge35"}, FACTORS)
    assert str(info.value).startswith("unknown level")


def test_each_refusal_of_a_key_says_what_was_wrong():
    def message(call, *args) -> str:
        with pytest.raises((UnknownStratum, InvalidRandomizationSpec)) as err:
            call(*args)
        return f"{type(err.value).__name__}: {err.value}"

    assert message(parse_stratum_key, 5, ["site"]) == "UnknownStratum: invalid stratum key, expected a string (not 5)"
    assert message(parse_stratum_key, "site=S01", []) == (
        "UnknownStratum: unknown stratum 'site=S01'; an unstratified design has only 'all'"
    )
    # the first '=' separates factor from level, so a level holding '=' is named as the bad level
    assert message(parse_stratum_key, "site=S=01", ["site"]) == (
        "InvalidRandomizationSpec: invalid level of factor 'site' 'S=01': it may not contain '=', "
        "which separate parts of a stratum key"
    )
    assert message(stratum_key, {"site": " S01"}, ["site"]) == (
        "InvalidRandomizationSpec: invalid level of factor 'site', expected a non-empty string without "
        "surrounding spaces (not ' S01')"
    )
    assert message(all_strata, ["site"]) == (
        "InvalidRandomizationSpec: all_strata needs (name, levels) pairs for every factor"
    )


def test_unknown_stratum_prints_its_message_without_keyerror_quotes():
    assert str(UnknownStratum("no stratum 'x'")) == "no stratum 'x'"
    assert str(UnknownStratum()) == ""
