"""Every refusal of the randomization rules says what was wrong, where, and what is allowed, in full.

Each expected message is the rule in words with the bad value quoted; they are pinned whole because
a statistician reads them when a generated or uploaded allocation list, a design or a minimizer
setting is refused (a truncated or wrong message is a defect, and mutation testing showed that
matching a fragment let wrong wording and wrong counts through)."""

from __future__ import annotations

import pytest

from alstrial.domain.randomization import (
    AllocationEntry,
    AllocationList,
    Minimizer,
    RandomizationError,
    stratum_key,
)
from alstrial.domain.randomization.arms import ArmRatios
from alstrial.domain.randomization.strata import normalise_factors

ONE_TO_ONE = (("A", 1), ("B", 1))
FACTORS = [("sex", ["F", "M"])]


def _message(call, *args, **kwargs) -> str:
    with pytest.raises(RandomizationError) as err:
        call(*args, **kwargs)
    return str(err.value)


@pytest.mark.parametrize(
    ("factors", "message"),
    [
        ("sex", "invalid value for factors, expected a sequence (not 'sex')"),
        ({"sex"}, "invalid value for factors, expected a sequence (not {'sex'})"),
        ([" sex"], "invalid factor name, expected a non-empty string without surrounding spaces (not ' sex')"),
        ([("", ["F"])], "invalid factor name, expected a non-empty string without surrounding spaces (not '')"),
        ([("sex", "FM")], "invalid levels for factor 'sex', expected a non-empty sequence of strings (not 'FM')"),
        ([("sex", {"F"})], "invalid levels for factor 'sex', expected a non-empty sequence of strings (not {'F'})"),
        ([("sex", [])], "invalid levels for factor 'sex', expected a non-empty sequence of strings (not [])"),
        (
            [("sex", ["F", 5])],
            "invalid level of factor 'sex', expected a non-empty string without surrounding spaces (not 5)",
        ),
        ([("sex", ["F", "F"])], "duplicate levels for factor 'sex': ['F', 'F']"),
        ([("sex", ["F"], 1)], "invalid factor, expected a name or a (name, levels) pair (not ('sex', ['F'], 1))"),
        (["sex", ("sex", ["F"])], "duplicate stratification factor 'sex'"),
        (["a|b"], "invalid factor name 'a|b': it may not contain '|', which separate parts of a stratum key"),
        (["a|=b"], "invalid factor name 'a|=b': it may not contain '|' or '=', which separate parts of a stratum key"),
    ],
)
def test_factor_refusals(factors, message) -> None:
    assert _message(normalise_factors, factors) == message


@pytest.mark.parametrize(
    ("arms", "message"),
    [
        ("AB", "invalid value for arms, expected a sequence of (code, ratio) pairs (not 'AB')"),
        (
            set(),
            "invalid value for arms, expected a sequence of (code, ratio) pairs (not set())",
        ),
        ([("A", 1), "B"], "invalid arm, expected a (code, ratio) pair (not 'B')"),
        ([("A", 1), ("B", 1, 2)], "invalid arm, expected a (code, ratio) pair (not ('B', 1, 2))"),
        ([("A", 1), ("B", True)], "invalid allocation ratio for arm 'B', expected an integer ≥ 1 (not True)"),
    ],
)
def test_arm_refusals(arms, message) -> None:
    assert _message(ArmRatios.of, arms) == message


def _entries(stratum: str, rows: list[tuple[int, int, int, str]]) -> tuple[AllocationEntry, ...]:
    """(sequence, block, block_size, arm) rows with made-up, unique kit codes."""
    return tuple(AllocationEntry(stratum, q, b, n, arm, f"K-{stratum.upper()}{q + 1}AAAA") for q, b, n, arm in rows)


@pytest.mark.parametrize(
    ("strata", "rows", "message"),
    [
        (("s", "s"), [], "duplicate strata in ['s', 's']"),
        # a block size that is not a multiple of the ratio sum (2), then a short block, then a block
        # whose second entry claims another size
        (
            ("s",),
            [(1, 1, 3, "A"), (2, 1, 3, "B"), (3, 1, 3, "A")],
            "stratum 's', block 1: block size 3 is not a multiple of the ratio sum 2",
        ),
        (
            ("s",),
            [(1, 1, 2, "A"), (2, 1, 2, "B"), (3, 2, 4, "A"), (4, 2, 4, "B")],
            "stratum 's', block 2: expected 4 entries with block_size 4, found 2",
        ),
        (
            ("s",),
            [(1, 1, 2, "A"), (2, 1, 4, "B")],
            "stratum 's', block 1: expected 2 entries with block_size 2, found 2",
        ),
        (
            ("s",),
            [(1, 1, 2, "A"), (2, 2, 2, "B")],
            "stratum 's', block 1: expected 2 entries with block_size 2, found 1",
        ),
    ],
)
def test_allocation_list_refusals(strata, rows, message) -> None:
    entries = _entries("s", rows)
    assert _message(AllocationList, arms=ONE_TO_ONE, strata=strata, entries=entries) == message


def test_repeated_kit_codes_are_named_once_each() -> None:
    entries = (
        AllocationEntry("s", 1, 1, 2, "A", "K-AAAA2"),
        AllocationEntry("s", 2, 1, 2, "B", "K-AAAA2"),
        AllocationEntry("t", 1, 1, 2, "A", "K-AAAA3"),
        AllocationEntry("t", 2, 1, 2, "B", "K-AAAA4"),
    )
    assert _message(AllocationList, arms=ONE_TO_ONE, strata=("s", "t"), entries=entries) == (
        "kit codes must be unique across the list; repeated: ['K-AAAA2']"
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"p": 0.4},
            "invalid value for p, expected a probability from 1/2 to 1 for 2 arms (not 0.4); "
            "below 1/k the rule would favour imbalance",
        ),
        ({"weights": {"sex": True}}, "invalid weight for factor 'sex', expected a positive finite number (not True)"),
        (
            {"weights": {"sex": float("inf")}},
            "invalid weight for factor 'sex', expected a positive finite number (not inf)",
        ),
        ({"weights": {"sex": "2"}}, "invalid weight for factor 'sex', expected a positive finite number (not '2')"),
    ],
)
def test_minimizer_setting_refusals(kwargs, message) -> None:
    assert _message(Minimizer, ONE_TO_ONE, FACTORS, seed=1, **kwargs) == message


def test_minimizer_keeps_exact_weights_and_its_arms() -> None:
    """A weight of 0.5 stays the exact fraction 1/2 (so ties stay exact); the arms are kept as pairs."""
    m = Minimizer([("A", 1), ("B", 1)], [("sex", ["F", "M"]), ("age", ["y", "o"])], seed=1, weights={"sex": 0.5})
    assert m.arms == (("A", 1), ("B", 1))
    m.record({"sex": "F", "age": "y"}, "A")
    # to A: sex F 2 − 0 = 2 (× 1/2) + age y 2 − 0 = 2 → 3; to B: 1 − 1 = 0 + 0 → 0
    assert m.scores({"sex": "F", "age": "y"}) == {"A": 3, "B": 0}


@pytest.mark.parametrize("participant", [["F"], {"sex": "X"}, {"sex": "F", "age": "y"}])
def test_minimizer_refuses_a_participant_that_is_not_one_level_per_factor(participant) -> None:
    m = Minimizer(ONE_TO_ONE, FACTORS, seed=1)
    with pytest.raises(RandomizationError) as err:
        m.decide(participant)
    with pytest.raises(RandomizationError) as again:  # the minimizer words it as stratum_key does
        stratum_key(participant, FACTORS)
    expected = str(again.value)
    assert str(err.value) == expected
    assert len(m) == 0


def test_a_participant_with_the_right_number_of_factors_but_a_wrong_name_is_refused_by_name() -> None:
    m = Minimizer(ONE_TO_ONE, FACTORS, seed=1)
    with pytest.raises(RandomizationError) as err:
        m.decide({"age": "F"})
    assert str(err.value) == "unknown stratification factor(s) ['age']; the design's factors are ['sex']"


@pytest.mark.parametrize("measure", ["range", "variance"])
def test_decision_scores_are_the_exact_scores_before_the_assignment(measure: str) -> None:
    """A:B = 2:1 (so counts are scaled by the ratio) and both measures: the decision reports the
    scores the minimizer computed for this participant, in the units of ``scores()``."""
    m = Minimizer([("A", 2), ("B", 1)], FACTORS, seed=3, measure=measure)
    m.record({"sex": "F"}, "A")
    m.record({"sex": "F"}, "B")
    before = {a: float(s) for a, s in m.scores({"sex": "F"}).items()}
    assert m.decide({"sex": "F"}).scores == before
    # range, by hand: F holds A 1, B 1 → ratio-adjusted 1/2, 1; to A: 1 − 1 = 0; to B: 2 − 1/2 = 3/2
    if measure == "range":
        assert before == {"A": 0.0, "B": 1.5}


def test_the_list_keeps_its_normalised_arms_strata_and_entries() -> None:
    entries = [AllocationEntry("s", 1, 1, 2, "A", "K-AAAA2"), AllocationEntry("s", 2, 1, 2, "B", "K-AAAA3")]
    allocation = AllocationList(arms=[["A", 1], ["B", 1]], strata=["s"], entries=entries)  # type: ignore[arg-type]
    assert allocation.arms == (("A", 1), ("B", 1))
    assert allocation.strata == ("s",)
    assert allocation.entries == tuple(entries)
