"""Stratified permuted blocks: balance at block ends, ratios, reproducibility, stratum independence."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alstrial.domain.randomization import (
    AllocationList,
    InvalidRandomizationSpec,
    all_strata,
    balance_report,
    generate_block_list,
)

ONE_TO_ONE = [("MSC", 1), ("PBO", 1)]
STRATA = all_strata([("site", ["S01", "S02", "S03"]), ("alsfrs_r_band", ["lt35", "ge35"])])


def _blocks(entries):
    """Group a stratum's entries by block number, in order."""
    out: dict[int, list] = {}
    for e in entries:
        out.setdefault(e.block, []).append(e)
    return list(out.values())


arms_strategy = st.lists(st.integers(min_value=1, max_value=4), min_size=2, max_size=4).map(
    lambda ratios: [(f"A{i}", r) for i, r in enumerate(ratios)]
)
multiples_strategy = st.lists(st.integers(min_value=1, max_value=4), min_size=1, max_size=3, unique=True)


@settings(max_examples=60, deadline=None)
@given(
    arms=arms_strategy,
    multiples=multiples_strategy,
    seed=st.integers(min_value=0, max_value=2**64),
    per_stratum=st.integers(min_value=1, max_value=40),
)
def test_every_block_end_is_exactly_balanced_in_every_stratum(arms, multiples, seed, per_stratum):
    strata = ["site=S01", "site=S02", "site=S03"]
    allocation = generate_block_list(arms, strata, per_stratum=per_stratum, seed=seed, block_multiples=multiples)
    ratio_sum = sum(r for _, r in arms)
    allowed_sizes = {m * ratio_sum for m in multiples}
    for stratum in strata:
        entries = allocation.for_stratum(stratum)
        # at least per_stratum entries, ending at a block boundary, never a whole block too many
        assert per_stratum <= len(entries) < per_stratum + max(allowed_sizes)
        assert [e.sequence for e in entries] == list(range(1, len(entries) + 1))
        running = Counter()
        for number, block in enumerate(_blocks(entries), start=1):
            assert all(e.block == number for e in block)
            size = block[0].block_size
            assert size in allowed_sizes and len(block) == size
            running.update(e.arm for e in block)
            # after each complete block, counts are exactly in the allocation ratio
            multiple = sum(running.values()) // ratio_sum
            assert {a: running[a] for a, _ in arms} == {a: multiple * r for a, r in arms}
    report = balance_report(allocation)
    assert report.max_block_end_imbalance == 0
    assert all(row.imbalance == 0 for row in report.strata)


@pytest.mark.parametrize(
    ("arms", "block_multiples"),
    [
        ([("MSC", 1), ("PBO", 1)], (1, 2, 3)),
        ([("MSC", 2), ("PBO", 1)], (1, 2, 3)),
        ([("A", 1), ("B", 1), ("C", 1)], (1, 2)),
        ([("A", 3), ("B", 2)], (1, 2)),
    ],
    ids=["1:1", "2:1", "1:1:1", "3:2"],
)
def test_each_complete_block_holds_the_allocation_ratio(arms, block_multiples):
    allocation = generate_block_list(arms, STRATA, per_stratum=50, seed=7, block_multiples=block_multiples)
    ratio_sum = sum(r for _, r in arms)
    sizes_seen = set()
    for stratum in STRATA:
        for block in _blocks(allocation.for_stratum(stratum)):
            size = block[0].block_size
            sizes_seen.add(size)
            counts = Counter(e.arm for e in block)
            assert {a: counts[a] for a, _ in arms} == {a: r * size // ratio_sum for a, r in arms}
    # block sizes really vary, and only over the allowed multiples
    assert sizes_seen == {m * ratio_sum for m in block_multiples}


def test_block_sizes_are_chosen_roughly_uniformly():
    allocation = generate_block_list(ONE_TO_ONE, ["all"], per_stratum=6000, seed=3)
    sizes = Counter(block[0].block_size for block in _blocks(allocation.for_stratum("all")))
    n_blocks = sum(sizes.values())
    for size in (2, 4, 6):
        # ~1/3 each; 5 standard errors of a binomial proportion
        assert abs(sizes[size] / n_blocks - 1 / 3) < 5 * (1 / 3 * 2 / 3 / n_blocks) ** 0.5


def test_arm_sequence_within_blocks_is_not_fixed():
    allocation = generate_block_list(ONE_TO_ONE, ["all"], per_stratum=3000, seed=11, block_multiples=(1,))
    first_of_block = Counter(block[0].arm for block in _blocks(allocation.for_stratum("all")))
    n = sum(first_of_block.values())
    assert abs(first_of_block["MSC"] / n - 0.5) < 5 * (0.25 / n) ** 0.5


def test_same_seed_gives_identical_list_and_different_seeds_differ():
    a = generate_block_list(ONE_TO_ONE, STRATA, per_stratum=30, seed=2024)
    b = generate_block_list(ONE_TO_ONE, STRATA, per_stratum=30, seed=2024)
    assert a.entries == b.entries
    assert a.to_frame().equals(b.to_frame())
    others = [generate_block_list(ONE_TO_ONE, STRATA, per_stratum=30, seed=s) for s in range(2025, 2030)]
    arm_lists = {tuple(e.arm for e in x.entries) for x in [a, *others]}
    assert len(arm_lists) == 6
    kit_lists = {tuple(e.kit_code for e in x.entries) for x in [a, *others]}
    assert len(kit_lists) == 6


def _digest_in_subprocess(hash_seed: str) -> list[list]:
    code = (
        "import json\n"
        "from alstrial.domain.randomization import generate_block_list\n"
        "a = generate_block_list([('MSC', 1), ('PBO', 1)], ['site=S01', 'site=S02'], per_stratum=12, seed=99)\n"
        "print(json.dumps([[e.stratum, e.sequence, e.block, e.block_size, e.arm, e.kit_code] for e in a]))\n"
    )
    env = {**os.environ, "PYTHONHASHSEED": hash_seed}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def test_reproducible_across_processes_whatever_the_hash_salt():
    here = generate_block_list(ONE_TO_ONE, ["site=S01", "site=S02"], per_stratum=12, seed=99)
    expected = [[e.stratum, e.sequence, e.block, e.block_size, e.arm, e.kit_code] for e in here]
    assert _digest_in_subprocess("1") == expected
    assert _digest_in_subprocess("12345") == expected


def test_a_stratum_list_does_not_change_when_other_strata_are_added():
    small = generate_block_list(ONE_TO_ONE, ["site=S02"], per_stratum=20, seed=5)
    large = generate_block_list(ONE_TO_ONE, ["site=S01", "site=S02", "site=S03"], per_stratum=20, seed=5)
    assert small.for_stratum("site=S02") == large.for_stratum("site=S02")


def test_a_longer_list_extends_a_shorter_one_without_changing_it():
    short = generate_block_list(ONE_TO_ONE, STRATA, per_stratum=10, seed=8)
    long = generate_block_list(ONE_TO_ONE, STRATA, per_stratum=40, seed=8)
    for stratum in STRATA:
        head = long.for_stratum(stratum)[: short.length(stratum)]
        assert head == short.for_stratum(stratum)


def test_different_strata_get_different_sequences():
    allocation = generate_block_list(ONE_TO_ONE, STRATA, per_stratum=30, seed=1)
    sequences = {tuple(e.arm for e in allocation.for_stratum(s)) for s in STRATA}
    assert len(sequences) == len(STRATA)


def test_per_stratum_at_a_block_boundary_is_exact_with_a_single_block_size():
    allocation = generate_block_list(ONE_TO_ONE, ["all"], per_stratum=24, seed=1, block_multiples=(2,))
    assert allocation.length("all") == 24


def test_result_is_an_allocation_list_with_its_parameters():
    allocation = generate_block_list([("MSC", 2), ("PBO", 1)], ["all"], per_stratum=9, seed=4)
    assert isinstance(allocation, AllocationList)
    assert allocation.arms == (("MSC", 2), ("PBO", 1))
    assert allocation.per_stratum == 9 and allocation.block_multiples == (1, 2, 3)
    text = str(allocation)
    assert "MSC:PBO = 2:1" in text and "3, 6, 9" in text
    assert "seed" not in repr(allocation)  # the seed regenerates the list: keep it out of logs


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"per_stratum": 0}, "per_stratum"),
        ({"per_stratum": -3}, "per_stratum"),
        ({"per_stratum": 2.5}, "per_stratum"),
        ({"per_stratum": 10**7}, "at most"),
        ({"seed": -1}, "seed"),
        ({"seed": 1.5}, "seed"),
        ({"seed": True}, "seed"),
        ({"block_multiples": ()}, "block_multiples"),
        ({"block_multiples": (0, 1)}, "block multiple 0"),
        ({"block_multiples": (2, 2)}, "distinct"),
        ({"arms": [("MSC", 1)]}, "at least two"),
        ({"arms": [("MSC", 1), ("MSC", 1)]}, "duplicate arm code 'MSC'"),
        ({"arms": [("MSC", 0), ("PBO", 1)]}, "ratio for arm 'MSC'"),
        ({"arms": [("", 1), ("PBO", 1)]}, "arm code"),
        ({"strata": []}, "strata"),
        ({"strata": ["a", "a"]}, "duplicate stratum"),
        ({"kit_code_length": 2}, "kit_code_length"),
    ],
)
def test_invalid_parameters_are_refused_with_the_bad_value_quoted(kwargs, message):
    params = {"arms": ONE_TO_ONE, "strata": ["all"], "per_stratum": 10, "seed": 1, **kwargs}
    arms = params.pop("arms")
    strata = params.pop("strata")
    with pytest.raises(InvalidRandomizationSpec, match=message):
        generate_block_list(arms, strata, **params)


def test_refuses_a_list_too_large_for_the_kit_code_space():
    with pytest.raises(InvalidRandomizationSpec, match="kit_code_length 4"):
        generate_block_list(ONE_TO_ONE, [f"s{i}" for i in range(100)], per_stratum=10_000, seed=1, kit_code_length=4)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"strata": "ab"}, "invalid value for strata, expected a non-empty sequence of stratum keys (not 'ab')"),
        ({"strata": {"a"}}, "invalid value for strata, expected a non-empty sequence of stratum keys (not {'a'})"),
        ({"strata": ["a", 5]}, "invalid stratum key, expected a non-empty string (not 5)"),
        ({"strata": ["a", ""]}, "invalid stratum key, expected a non-empty string (not '')"),
        (
            {"block_multiples": {1, 2}},
            "invalid value for block_multiples, expected a sequence of integers ≥ 1 (not {1, 2})",
        ),
        ({"block_multiples": ()}, "invalid value for block_multiples, expected at least one multiple (not [])"),
        (
            {"block_multiples": (1, True)},
            "invalid block multiple True in block_multiples [1, True], expected integers ≥ 1",
        ),
        ({"kit_code_length": True}, "invalid value for kit_code_length, expected an integer from 4 to 32 (not True)"),
        ({"kit_code_length": 33}, "invalid value for kit_code_length, expected an integer from 4 to 32 (not 33)"),
        # 1 stratum × (524,287 asked + one block of 2 over) = 524,289 codes > half of 32**4 = 1,048,576
        (
            {"per_stratum": 524_287, "block_multiples": (1,), "kit_code_length": 4},
            "kit_code_length 4 allows 1,048,576 codes, too few for up to 524,289 unique kit codes; "
            "use a longer kit_code_length",
        ),
    ],
)
def test_each_refusal_quotes_the_whole_rule_and_value(kwargs, message):
    params = {"strata": ["all"], "per_stratum": 10, "seed": 1, **kwargs}
    strata = params.pop("strata")
    with pytest.raises(InvalidRandomizationSpec) as err:
        generate_block_list(ONE_TO_ONE, strata, **params)
    assert str(err.value) == message


def test_kit_codes_have_the_requested_length_up_to_32():
    for length in (8, 32):
        allocation = generate_block_list(ONE_TO_ONE, ["s"], per_stratum=4, seed=2, kit_code_length=length)
        assert {len(e.kit_code) for e in allocation} == {len("K-") + length}


def test_the_list_records_its_seed_and_request():
    allocation = generate_block_list(ONE_TO_ONE, ["s"], per_stratum=5, seed=2**100 + 7, block_multiples=(1, 3))
    assert (allocation.seed, allocation.per_stratum, allocation.block_multiples) == (2**100 + 7, 5, (1, 3))
